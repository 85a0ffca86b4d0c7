//! Metadata stores behind keel-core's store traits. SQLite is the embedded default.

mod search_sql;
pub mod sqlite;

use std::path::PathBuf;
use std::sync::Arc;

use keel_core::{Error, Result, TrackingStore};

/// Where metadata lives, parsed from a `--backend-store-uri`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUri {
    /// `sqlite:///relative/path.db`, `sqlite:////absolute/path.db` or `sqlite://:memory:`.
    Sqlite(PathBuf),
}

impl StoreUri {
    /// Parses a backend store URI, naming the supported schemes when it is not one of them.
    pub fn parse(uri: &str) -> Result<Self> {
        if let Some(rest) = uri.strip_prefix("sqlite://") {
            let path = rest.strip_prefix('/').unwrap_or(rest);
            if path.is_empty() {
                return Err(Error::invalid(format!(
                    "Invalid SQLite URI '{uri}': no database path"
                )));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        Err(Error::invalid(format!(
            "Unsupported backend store URI '{uri}'. Supported: sqlite:///<path>"
        )))
    }
}

/// Opens (creating and migrating as needed) the tracking store at `uri`.
pub async fn open_tracking_store(uri: &StoreUri) -> Result<Arc<dyn TrackingStore>> {
    match uri {
        StoreUri::Sqlite(path) => Ok(Arc::new(sqlite::SqliteStore::open(path).await?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sqlite_uris() {
        assert_eq!(
            StoreUri::parse("sqlite:///keel-data/keel.db").ok(),
            Some(StoreUri::Sqlite(PathBuf::from("keel-data/keel.db")))
        );
        assert_eq!(
            StoreUri::parse("sqlite:////tmp/k.db").ok(),
            Some(StoreUri::Sqlite(PathBuf::from("/tmp/k.db")))
        );
        assert!(StoreUri::parse("mysql://x").is_err());
        assert!(StoreUri::parse("sqlite:///").is_err());
    }
}

//! Metadata stores behind keel-core's store traits: SQLite (the embedded default) and
//! PostgreSQL (shared by several Keel processes).

mod assessment_rows;
mod audit_nodes;
mod gateway_rows;
pub mod postgres;
mod search_sql;
mod span_rows;
pub mod sqlite;
pub(crate) mod workspace_tables;

use std::path::PathBuf;
use std::sync::Arc;

use keel_auth::store::IdentityStore;
use keel_core::audit::AuditStore;
use keel_core::traces::TraceStore;
use keel_core::{Error, RegistryStore, Result, TrackingStore, WebhookStore, WorkspaceStore};

pub use postgres::{PoolOptions, PostgresConfig, PostgresStore};

/// Where metadata lives, parsed from a `--backend-store-uri`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUri {
    /// `sqlite:///relative/path.db`, `sqlite:////absolute/path.db` or `sqlite://:memory:`.
    Sqlite(PathBuf),
    /// `postgresql://user:password@host:port/database?pool_size=10` (or `postgres://`); see
    /// [`PostgresConfig`] for the query parameters. Its `Debug` and `Display` hide the password.
    Postgres(PostgresConfig),
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
        if uri.starts_with("postgresql://") || uri.starts_with("postgres://") {
            return PostgresConfig::parse(uri).map(Self::Postgres);
        }
        // The URI is not echoed: an unsupported one may still carry a password.
        let scheme = uri.split_once("://").map_or("", |(scheme, _)| scheme);
        Err(Error::invalid(format!(
            "Unsupported backend store URI scheme '{scheme}'. Supported: sqlite:///<path>, \
             postgresql://<user>:<password>@<host>:<port>/<database>"
        )))
    }
}

/// The stores of one metadata database, sharing its connections.
#[derive(Clone)]
pub struct Stores {
    pub tracking: Arc<dyn TrackingStore>,
    pub registry: Arc<dyn RegistryStore>,
    pub webhooks: Arc<dyn WebhookStore>,
    pub traces: Arc<dyn TraceStore>,
    pub identity: Arc<dyn IdentityStore>,
    pub workspaces: Arc<dyn WorkspaceStore>,
    pub audit: Arc<dyn AuditStore>,
    pub gateway: Arc<dyn keel_gateway::GatewayStore>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores").finish_non_exhaustive()
    }
}

impl Stores {
    /// Every store trait served by one store value.
    pub fn of<
        S: TrackingStore
            + RegistryStore
            + WebhookStore
            + TraceStore
            + IdentityStore
            + WorkspaceStore
            + AuditStore
            + keel_gateway::GatewayStore,
    >(
        store: S,
    ) -> Self {
        let store = Arc::new(store);
        Self {
            tracking: store.clone(),
            registry: store.clone(),
            webhooks: store.clone(),
            traces: store.clone(),
            identity: store.clone(),
            workspaces: store.clone(),
            audit: store.clone(),
            gateway: store,
        }
    }
}

/// Opens (creating and migrating as needed) the metadata database at `uri`.
pub async fn open_stores(uri: &StoreUri) -> Result<Stores> {
    match uri {
        StoreUri::Sqlite(path) => Ok(Stores::of(sqlite::SqliteStore::open(path).await?)),
        StoreUri::Postgres(config) => Ok(Stores::of(PostgresStore::open(config).await?)),
    }
}

/// Opens (creating and migrating as needed) the tracking store at `uri`.
pub async fn open_tracking_store(uri: &StoreUri) -> Result<Arc<dyn TrackingStore>> {
    Ok(open_stores(uri).await?.tracking)
}

/// Brings the schema of the store at `uri` up to this binary's version (for `keel db upgrade`)
/// and returns the `(version, name)` of each migration it applied. Opening a store does the same;
/// this does it without serving.
pub async fn upgrade(uri: &StoreUri) -> Result<Vec<(i64, &'static str)>> {
    match uri {
        StoreUri::Sqlite(path) => sqlite::SqliteStore::upgrade(path).await,
        StoreUri::Postgres(config) => Ok(postgres::upgrade(config)
            .await?
            .into_iter()
            .map(|m| (m.version, m.name))
            .collect()),
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

    #[test]
    fn parses_postgres_uris_of_both_schemes() {
        for uri in [
            "postgresql://keel:pw@db:5433/tracking?pool_size=3",
            "postgres://keel:pw@db:5433/tracking?pool_size=3",
        ] {
            let Ok(StoreUri::Postgres(config)) = StoreUri::parse(uri) else {
                panic!("{uri} should parse as PostgreSQL");
            };
            assert_eq!(config.pool.pool_size, 3);
            assert!(!format!("{config:?}").contains("pw"));
        }
        assert!(StoreUri::parse("postgresql://db/x?nonsense=1").is_err());
    }

    #[test]
    fn unsupported_schemes_are_not_echoed() {
        let e = StoreUri::parse("mysql://root:hunter2@db/x").expect_err("unsupported");
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        assert!(e.message.contains("'mysql'"), "{}", e.message);
    }
}

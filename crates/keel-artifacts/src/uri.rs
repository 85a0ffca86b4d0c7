//! Artifact URIs (`mlflow-artifacts:/...`) mapped to paths in the proxied artifact store.

use keel_core::{Error, Result};

use crate::path::ArtifactPath;

/// The store path an `mlflow-artifacts:` URI names, e.g. `mlflow-artifacts:/1/abc/artifacts`
/// → `1/abc/artifacts`. The authority form `mlflow-artifacts://host/path` names the same path.
pub fn proxied_path(uri: &str) -> Result<ArtifactPath> {
    let rest = uri.strip_prefix("mlflow-artifacts:").ok_or_else(|| {
        Error::invalid(format!(
            "Artifact URI '{uri}' is not served by this server's artifact proxy (mlflow-artifacts:)"
        ))
    })?;
    let path = match rest.strip_prefix("//") {
        Some(with_authority) => with_authority.split_once('/').map(|(_, p)| p).unwrap_or(""),
        None => rest.trim_start_matches('/'),
    };
    ArtifactPath::parse(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxied_uris_map_to_store_paths() {
        let path = |u: &str| proxied_path(u).map(|p| p.as_string()).ok();
        assert_eq!(
            path("mlflow-artifacts:/1/abc/artifacts").as_deref(),
            Some("1/abc/artifacts")
        );
        assert_eq!(
            path("mlflow-artifacts://host:5000/1/x").as_deref(),
            Some("1/x")
        );
        assert_eq!(path("mlflow-artifacts:/").as_deref(), Some(""));
        assert!(proxied_path("s3://bucket/x").is_err());
        assert!(proxied_path("file:///etc/passwd").is_err());
        assert!(proxied_path("mlflow-artifacts:/1/../../etc").is_err());
    }
}

//! Opening the configured stores, shared by every command that touches data.

use std::path::Path;

use keel_artifacts::LocalArtifactStore;
use keel_core::Tracking;

use crate::config::Config;

/// The tracking service over the backend store (migrated, with the default experiment) and the
/// artifact store.
pub async fn open(config: &Config) -> anyhow::Result<(Tracking, LocalArtifactStore)> {
    let uri = keel_store::StoreUri::parse(&config.backend_store_uri)
        .map_err(|e| anyhow::anyhow!("invalid backend_store_uri: {e}"))?;
    if config.artifacts_destination.contains("://") {
        anyhow::bail!(
            "artifacts_destination '{}': only local directories are supported so far",
            config.artifacts_destination
        );
    }
    let artifacts = LocalArtifactStore::open(Path::new(&config.artifacts_destination))
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the artifact store: {e}"))?;
    let store = keel_store::open_tracking_store(&uri)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open backend store: {e}"))?;
    let tracking = Tracking::new(store);
    tracking
        .ensure_default_experiment()
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the default experiment: {e}"))?;
    Ok((tracking, artifacts))
}

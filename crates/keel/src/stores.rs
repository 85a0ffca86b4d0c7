//! Opening the configured stores, shared by every command that touches data.

use std::sync::Arc;

use keel_artifacts::ArtifactStore;
use keel_core::Tracking;

use crate::config::Config;

/// The tracking service over the backend store (migrated, with the default experiment) and the
/// artifact store (a local directory or object storage, by the destination's scheme).
pub async fn open(config: &Config) -> anyhow::Result<(Tracking, Arc<dyn ArtifactStore>)> {
    let uri = keel_store::StoreUri::parse(&config.backend_store_uri)
        .map_err(|e| anyhow::anyhow!("invalid backend_store_uri: {e}"))?;
    let artifacts = keel_artifacts::open(
        &config.artifacts_destination,
        &config.object_store_options(),
    )
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

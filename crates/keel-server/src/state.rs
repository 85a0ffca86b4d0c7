//! Shared state handed to every handler.

use std::sync::Arc;

use keel_artifacts::ArtifactStore;
use keel_core::traces::Traces;
use keel_core::{Registry, Tracking, Webhooks};

/// What handlers need: the domain services and the artifact store.
#[derive(Debug, Clone)]
pub struct AppState {
    pub tracking: Tracking,
    pub registry: Registry,
    pub webhooks: Webhooks,
    pub traces: Traces,
    pub artifacts: Arc<dyn ArtifactStore>,
}

//! Shared state handed to every handler.

use std::sync::Arc;

use keel_artifacts::ArtifactStore;
use keel_core::traces::Traces;
use keel_core::{Registry, Tracking, Webhooks};

use crate::ui::UiAssets;

/// What handlers need: the domain services, the artifact store and the web UI's files.
#[derive(Debug, Clone)]
pub struct AppState {
    pub tracking: Tracking,
    pub registry: Registry,
    pub webhooks: Webhooks,
    pub traces: Traces,
    pub artifacts: Arc<dyn ArtifactStore>,
    /// The built web UI (empty in a build without it: `/` then answers 503).
    pub ui: UiAssets,
}

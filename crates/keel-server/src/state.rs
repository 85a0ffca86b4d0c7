//! Shared state handed to every handler.

use std::sync::Arc;

use keel_artifacts::ArtifactStore;
use keel_core::traces::Traces;
use keel_core::{Registry, Tracking, Webhooks};

use crate::ui::UiAssets;

/// How large request bodies may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// A JSON request body (every MLflow API call).
    pub max_json_body_bytes: usize,
    /// An OTLP export body once decompressed (the OTLP specification suggests 20 MiB).
    pub max_otlp_body_bytes: usize,
    /// The limits of a GraphQL query the operator may change (the reference's defaults).
    pub graphql: crate::graphql::limits::QueryLimits,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            max_json_body_bytes: 16 * 1024 * 1024,
            max_otlp_body_bytes: 20 * 1024 * 1024,
            graphql: Default::default(),
        }
    }
}

/// What handlers need, shared: every request (and every layer that takes the state) holds one
/// reference to the same [`Services`], so handing the state on costs one atomic increment, not
/// a clone of each service.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Services>);

impl From<Services> for AppState {
    fn from(services: Services) -> Self {
        Self(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// The domain services, identity and access, the artifact store, the web UI's files and the
/// request limits.
#[derive(Debug)]
pub struct Services {
    pub tracking: Tracking,
    pub registry: Registry,
    pub webhooks: Webhooks,
    /// The AI gateway: its provider secrets (and later endpoints and invocations).
    pub gateway: keel_gateway::Gateway,
    pub traces: Traces,
    /// The workspace catalogue, and whether requests may choose a workspace.
    pub workspaces: keel_core::Workspaces,
    /// Authentication and authorization of every request.
    pub auth: keel_auth::service::Auth,
    /// The experiments of runs, traces and logged models, as authorization looked them up.
    pub parents: Arc<crate::authz::locate::ParentCache>,
    /// Workspaces and experiments' workspaces, as requests looked them up.
    pub workspace_cache: Arc<crate::workspace::WorkspaceCache>,
    pub artifacts: Arc<dyn ArtifactStore>,
    /// Signs the part URLs of proxied multipart uploads.
    pub part_urls: crate::upload_urls::PartUrlSigner,
    /// The built web UI (empty in a build without it: `/` then answers 503).
    pub ui: UiAssets,
    pub limits: RequestLimits,
    /// The audit log, unless it is turned off.
    pub audit: Option<crate::audit::AuditTrail>,
    /// Whether the artifact proxy, the tracking service or both are served.
    pub serve_mode: crate::serve_mode::ServeMode,
    /// Whether requests are counted and `/metrics` serves the process's metrics.
    pub expose_metrics: bool,
    /// The path every route is served under (`--static-prefix`, e.g. `/mlflow`); empty at the
    /// root. Redirects and URLs the server writes for clients carry it.
    pub static_prefix: String,
}

impl Services {
    /// `path` (absolute, as the route table writes it) as clients reach it: under the prefix.
    pub fn public_path(&self, path: &str) -> String {
        format!("{}{path}", self.static_prefix)
    }
}

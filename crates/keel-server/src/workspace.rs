//! Which workspace a request acts in, and keeping it there.
//!
//! The `X-MLFLOW-WORKSPACE` header names it (blank or absent: `default`). Authorization
//! resolves it right after authenticating the caller (so a caller who cannot sign in learns
//! nothing about which workspaces exist), decides in it, and refuses requests whose resources
//! are in another one: administrators get the resource's "not found", everyone else the same
//! 403 as for a resource that does not exist. Handlers take it as [`ActiveWorkspace`].

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use keel_auth::ResourceKind;
use keel_auth::ttl::TtlMap;
use keel_core::workspaces::{DEFAULT_WORKSPACE, WORKSPACE_HEADER, validate_workspace_name};
use keel_core::{Error, ErrorCode, Workspace};

use crate::authz::locate::Located;
use crate::error::ApiError;
use crate::state::AppState;

/// How long a workspace read from the catalogue, or an experiment's workspace, is reused. A
/// workspace deleted or changed on another replica is seen there within this time.
const CACHE_TTL: Duration = Duration::from_secs(5);
const CACHE_CAPACITY: usize = 100_000;

/// The workspace a request acts in.
#[derive(Debug, Clone)]
pub struct ActiveWorkspace(pub Arc<Workspace>);

impl ActiveWorkspace {
    pub fn name(&self) -> &str {
        &self.0.name
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ActiveWorkspace {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<ActiveWorkspace>()
            .cloned()
            .ok_or_else(|| {
                ApiError(Error::internal(
                    "The request's workspace was not resolved before its handler ran.",
                ))
            })
    }
}

/// The model registry (with prompts) acting in the request's workspace.
pub struct WorkspaceRegistry(pub keel_core::Registry);

impl FromRequestParts<AppState> for WorkspaceRegistry {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let workspace = ActiveWorkspace::from_request_parts(parts, state).await?;
        Ok(Self(state.registry.in_workspace(workspace.name())))
    }
}

/// The webhook service acting in the request's workspace.
pub struct WorkspaceWebhooks(pub keel_core::webhooks::Webhooks);

impl FromRequestParts<AppState> for WorkspaceWebhooks {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let workspace = ActiveWorkspace::from_request_parts(parts, state).await?;
        Ok(Self(state.webhooks.in_workspace(workspace.name())))
    }
}

/// Catalogue entries and experiments' workspaces, as looked up for recent requests.
#[derive(Debug)]
pub struct WorkspaceCache {
    by_name: TtlMap<String, Arc<Workspace>>,
    of_experiment: TtlMap<String, String>,
    default: Arc<Workspace>,
}

impl Default for WorkspaceCache {
    fn default() -> Self {
        Self {
            by_name: TtlMap::new(CACHE_TTL, CACHE_CAPACITY),
            of_experiment: TtlMap::new(CACHE_TTL, CACHE_CAPACITY),
            default: Arc::new(Workspace::default()),
        }
    }
}

impl WorkspaceCache {
    /// `default` as it is when workspaces are off.
    pub fn default_workspace(&self) -> Arc<Workspace> {
        self.default.clone()
    }

    /// Forgets everything (after a workspace is changed or deleted here).
    pub fn clear(&self) {
        self.by_name.clear();
        self.of_experiment.clear();
    }

    /// The workspace experiment `id` is in; `None` when there is no such experiment.
    pub async fn of_experiment(&self, state: &AppState, id: &str) -> Option<String> {
        let find = async {
            let experiment = state.tracking.get_experiment(id).await.ok();
            experiment.map(|e| e.workspace)
        };
        self.of_experiment.get_or_find(id.to_owned(), find).await
    }
}

/// The header's workspace name: trimmed, `None` when absent or blank.
fn named(headers: &HeaderMap) -> Result<Option<String>, Error> {
    let Some(value) = headers.get(WORKSPACE_HEADER) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| {
        Error::invalid("The X-MLFLOW-WORKSPACE header is not valid text.".to_owned())
    })?;
    let name = text.trim();
    Ok((!name.is_empty()).then(|| name.to_owned()))
}

/// The workspace the request names (checked against the catalogue), or `default`. With
/// workspaces off, naming one is refused as the reference refuses it.
pub async fn resolve(state: &AppState, headers: &HeaderMap) -> Result<Arc<Workspace>, Error> {
    let name = named(headers)?;
    let cache = &state.workspace_cache;
    if !state.workspaces.enabled() {
        if name.is_some() {
            return Err(Error::new(
                ErrorCode::FeatureDisabled,
                "Workspace APIs are not available: workspaces are not enabled on this server",
            ));
        }
        return Ok(cache.default_workspace());
    }
    let name = name.unwrap_or_else(|| DEFAULT_WORKSPACE.to_owned());
    if name != DEFAULT_WORKSPACE {
        validate_workspace_name(&name)?;
    }
    let lookup = async { state.workspaces.get(&name).await.map(|w| Some(Arc::new(w))) };
    let found = cache.by_name.get_or_lookup(name.clone(), lookup).await?;
    found.ok_or_else(|| keel_core::workspaces::not_found(&name))
}

/// The experiment a located resource belongs to, and what to call it when it is not found.
fn experiment_of(located: &Located) -> Option<(&str, String)> {
    let experiment_missing = |id: &str| format!("No Experiment with id={id} exists");
    match located {
        Located::Experiment(id) | Located::CreateInExperiment { experiment: id, .. } => {
            Some((id, experiment_missing(id)))
        }
        Located::InExperiment {
            experiment,
            resource: (kind, id),
            ..
        } => Some((
            experiment,
            match kind {
                ResourceKind::Run => format!("Run with id={id} not found"),
                ResourceKind::Trace => format!("Trace with ID '{id}' not found."),
                ResourceKind::LoggedModel => format!("Logged model with ID '{id}' not found."),
                _ => experiment_missing(experiment),
            },
        )),
        Located::Workspace { .. } | Located::Model { .. } | Located::Version { .. } => None,
    }
}

/// Whether `located` is outside `workspace`: the "not found" to answer if so. Resources that
/// do not exist are left to authorization and the handler.
pub async fn outside(state: &AppState, workspace: &Workspace, located: &Located) -> Option<Error> {
    let (experiment, missing) = experiment_of(located)?;
    if experiment.is_empty() {
        return None;
    }
    let theirs = state
        .workspace_cache
        .of_experiment(state, experiment)
        .await?;
    (theirs != workspace.name).then(|| Error::not_found(missing))
}

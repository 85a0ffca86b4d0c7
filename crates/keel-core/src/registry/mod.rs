//! The model registry service: registered models, their versions, tags, aliases and stages.
//!
//! Every public method validates its input (with the reference server's messages), takes
//! timestamps from the clock and calls the [`RegistryStore`]. Sources of new versions are checked
//! by a [`SourcePolicy`] and against the run or logged model they claim to come from, which is
//! why the service also holds the tracking service.
//!
//! A `Registry` acts in one workspace (`default` unless made with [`Registry::in_workspace`]):
//! models are named within it, and runs and logged models of other workspaces are not found.

mod entities;
mod events;
mod models;
pub mod rules;
mod search;
mod source;
mod store;
mod versions;

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::tracking::Tracking;

pub use entities::{
    ModelVersion, ModelVersionStatus, RegisteredModel, RegisteredModelAlias, Stage,
};
pub use models::CreateRegisteredModel;
pub use search::{
    DEFAULT_MODEL_VERSION_RESULTS, DEFAULT_REGISTERED_MODEL_RESULTS, MAX_MODEL_VERSION_RESULTS,
    MAX_REGISTERED_MODEL_RESULTS, SearchModelVersions, SearchRegisteredModels,
};
pub use source::{Source, SourcePolicy, VersionRef};
pub use store::{
    LoggedModelLink, ModelVersionQuery, NewModelVersion, RegisteredModelQuery, RegistryStore,
    VersionsTagUpdate,
};
pub use versions::{CreateModelVersion, MODEL_VERSIONS_TAG};

/// The tag that marks a registered model (and its versions) as a prompt.
pub const IS_PROMPT_TAG: &str = "mlflow.prompt.is_prompt";

/// Whether tags mark a prompt (the last `mlflow.prompt.is_prompt` wins, as in a Python dict).
pub(crate) fn is_prompt(tags: &[crate::entities::Tag]) -> bool {
    tags.iter()
        .rev()
        .find(|t| t.key == IS_PROMPT_TAG)
        .is_some_and(|t| t.value.eq_ignore_ascii_case("true"))
}
/// The placeholder sources MLflow's clients and UI send for prompt versions (whose source is
/// never read); the only sources a prompt version may have.
pub const PROMPT_SOURCE_PLACEHOLDERS: &[&str] = &["dummy-source", "prompt-template"];

/// Domain functions of the model registry.
#[derive(Clone)]
pub struct Registry {
    store: Arc<dyn RegistryStore>,
    tracking: Tracking,
    clock: Arc<dyn Clock>,
    sources: SourcePolicy,
    /// Where the registry's webhook events go, when webhooks are on.
    webhooks: Option<crate::webhooks::Webhooks>,
    /// The workspace it acts in.
    workspace: String,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("sources", &self.sources)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// A registry over `store`; `tracking` resolves the runs and logged models sources name,
    /// `sources` says which other URIs a source may be.
    pub fn new(store: Arc<dyn RegistryStore>, tracking: Tracking, sources: SourcePolicy) -> Self {
        Self::with_clock(store, tracking, sources, Arc::new(SystemClock))
    }

    pub fn with_clock(
        store: Arc<dyn RegistryStore>,
        tracking: Tracking,
        sources: SourcePolicy,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            tracking,
            clock,
            sources,
            webhooks: None,
            workspace: crate::workspaces::DEFAULT_WORKSPACE.to_owned(),
        }
    }

    /// The same registry acting in `workspace` (cheap: the services are shared).
    pub fn in_workspace(&self, workspace: &str) -> Self {
        Self {
            workspace: workspace.to_owned(),
            webhooks: self.webhooks.as_ref().map(|w| w.in_workspace(workspace)),
            ..self.clone()
        }
    }

    /// Which URIs model-version sources may be.
    pub fn sources(&self) -> &SourcePolicy {
        &self.sources
    }

    fn now(&self) -> i64 {
        self.clock.now_millis()
    }
}

/// RESOURCE_DOES_NOT_EXIST for a registered model, as the reference words it.
pub fn registered_model_not_found(name: &str) -> Error {
    Error::not_found(format!("Registered Model with name={name} not found"))
}

/// RESOURCE_DOES_NOT_EXIST for a model version, as the reference words it.
pub fn model_version_not_found(name: &str, version: i64) -> Error {
    Error::not_found(format!(
        "Model Version (name={name}, version={version}) not found"
    ))
}

/// RESOURCE_ALREADY_EXISTS for a registered model name, as the reference words it.
pub fn registered_model_exists(name: &str) -> Error {
    Error::already_exists(format!("Registered Model (name={name}) already exists."))
}

//! Keel's domain layer: entities, validation rules, store traits and the services that use them
//! (tracking in [`tracking`], the model registry in [`registry`], webhooks in [`webhooks`]).
//!
//! Nothing here knows about HTTP or SQL. Services create IDs and timestamps; stores persist what
//! they are given.

pub mod audit;
pub mod clock;
pub mod entities;
pub mod error;
mod keyed;
pub mod names;
pub mod paging;
pub mod promptlab;
pub mod pyjson;
pub mod registry;
pub mod store;
pub mod traces;
pub mod tracking;
pub mod uri;
pub mod validation;
pub mod webhooks;
pub mod workspaces;

pub use entities::*;
pub use error::{Error, ErrorCode, Result};
pub use registry::{
    ModelVersion, ModelVersionStatus, RegisteredModel, RegisteredModelAlias, Registry,
    RegistryStore, Stage,
};
pub use store::TrackingStore;
pub use tracking::Tracking;
pub use webhooks::{WebhookStore, Webhooks};
pub use workspaces::{Workspace, WorkspaceStore, Workspaces};

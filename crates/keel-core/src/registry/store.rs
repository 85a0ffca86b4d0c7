//! The registry store trait: what a metadata backend must provide for the model registry.
//!
//! Like [`crate::TrackingStore`], stores persist what they are given and each write method is
//! one transaction. The one value a store allocates is a new version's number: it must be
//! `max + 1` for its model even when creations race, which only the database can decide
//! atomically (the registered model's row keeps the last number handed out, so numbers are
//! never reused after a version is deleted).
//!
//! Models are named within a workspace: every method naming one takes the workspace too, and a
//! model of another workspace is as absent as one that does not exist. Methods naming a model or
//! version that does not exist fail with RESOURCE_DOES_NOT_EXIST and the messages of
//! [`super::registered_model_not_found`] and [`super::model_version_not_found`].

use async_trait::async_trait;
use keel_filter::{Comparison, OrderBy};

use super::entities::*;
use crate::entities::Tag;
use crate::error::Result;

/// Computes the new value of a logged model's `mlflow.modelVersions` tag from its current value
/// and the number the new version got, inside the store's write transaction. A store may call it
/// again when it retries the transaction.
pub type VersionsTagUpdate = Box<dyn Fn(Option<&str>, i64) -> Result<String> + Send + Sync>;

/// The logged model a new version is registered from, and the update of its tag that lists its
/// registered versions (written in the same transaction as the version).
pub struct LoggedModelLink {
    pub model_id: String,
    pub tag_key: String,
    pub update: VersionsTagUpdate,
}

impl std::fmt::Debug for LoggedModelLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoggedModelLink")
            .field("model_id", &self.model_id)
            .field("tag_key", &self.tag_key)
            .finish_non_exhaustive()
    }
}

/// A version to create: everything but its number, which the store allocates.
#[derive(Debug)]
pub struct NewModelVersion {
    /// The workspace of the registered model.
    pub workspace: String,
    pub name: String,
    /// Creation time; also the registered model's new last-update time.
    pub creation_timestamp: i64,
    pub description: Option<String>,
    pub user_id: Option<String>,
    pub source: String,
    pub storage_location: Option<String>,
    pub run_id: Option<String>,
    pub run_link: Option<String>,
    pub status: ModelVersionStatus,
    pub status_message: Option<String>,
    pub tags: Vec<Tag>,
    pub model_id: Option<String>,
    /// Written when the logged model still exists; skipped when it is gone.
    pub link: Option<LoggedModelLink>,
}

/// A page request for registered models, with the filter already parsed.
#[derive(Debug, Clone, Default)]
pub struct RegisteredModelQuery {
    /// The workspace searched.
    pub workspace: String,
    /// Which models the caller may see.
    pub visible: crate::store::ModelVisibility,
    /// Attribute `name` and `Tag` comparisons.
    pub filter: Vec<Comparison>,
    /// False hides prompts (models tagged `mlflow.prompt.is_prompt = 'true'`).
    pub include_prompts: bool,
    /// Canonical keys `name` and `last_updated_timestamp`.
    pub order_by: Vec<OrderBy>,
    pub offset: i64,
    pub limit: i64,
}

/// A page request for model versions, with the filter already parsed.
#[derive(Debug, Clone, Default)]
pub struct ModelVersionQuery {
    /// The workspace searched.
    pub workspace: String,
    /// Which models' versions the caller may see.
    pub visible: crate::store::ModelVisibility,
    /// Attributes `name`, `version_number`, `run_id`, `source_path`, and tags.
    pub filter: Vec<Comparison>,
    /// False hides versions of prompts.
    pub include_prompts: bool,
    /// Canonical keys `name`, `version_number`, `creation_timestamp`,
    /// `last_updated_timestamp`; empty means the reference's default order.
    pub order_by: Vec<OrderBy>,
    pub offset: i64,
    pub limit: i64,
}

/// The persistence operations behind the model registry API.
#[async_trait]
pub trait RegistryStore: Send + Sync + 'static {
    /// Inserts a model with its tags. Fails with RESOURCE_ALREADY_EXISTS when the name is taken.
    async fn insert_registered_model(&self, model: &RegisteredModel) -> Result<()>;
    /// A model with its tags, aliases and latest versions.
    async fn get_registered_model(
        &self,
        workspace: &str,
        name: &str,
    ) -> Result<Option<RegisteredModel>>;
    /// Renames a model; its versions, tags and aliases follow. Fails with
    /// RESOURCE_ALREADY_EXISTS when another model has the new name.
    async fn rename_registered_model(
        &self,
        workspace: &str,
        name: &str,
        new_name: &str,
        now: i64,
    ) -> Result<()>;
    async fn update_registered_model(
        &self,
        workspace: &str,
        name: &str,
        description: Option<&str>,
        now: i64,
    ) -> Result<()>;
    /// Deletes a model with its versions, tags and aliases.
    async fn delete_registered_model(&self, workspace: &str, name: &str) -> Result<()>;
    /// Sets (inserts or replaces) a tag.
    async fn set_registered_model_tag(&self, workspace: &str, name: &str, tag: &Tag) -> Result<()>;
    /// Deletes a tag if it exists.
    async fn delete_registered_model_tag(
        &self,
        workspace: &str,
        name: &str,
        key: &str,
    ) -> Result<()>;
    /// One page of models (with tags, aliases and latest versions).
    async fn search_registered_models(
        &self,
        query: &RegisteredModelQuery,
    ) -> Result<Vec<RegisteredModel>>;

    /// Points `alias` at an existing version, replacing where it pointed before.
    async fn set_registered_model_alias(
        &self,
        workspace: &str,
        name: &str,
        alias: &str,
        version: i64,
    ) -> Result<()>;
    /// Deletes an alias if it exists (the model must exist).
    async fn delete_registered_model_alias(
        &self,
        workspace: &str,
        name: &str,
        alias: &str,
    ) -> Result<()>;
    /// The version an alias points at.
    async fn alias_version(&self, workspace: &str, name: &str, alias: &str) -> Result<Option<i64>>;

    /// Creates a version with the next number of its model, bumps the model's last-update
    /// time and applies `link`, atomically; returns the number.
    async fn insert_model_version(&self, version: NewModelVersion) -> Result<i64>;
    /// A version with its tags and aliases.
    async fn get_model_version(
        &self,
        workspace: &str,
        name: &str,
        version: i64,
    ) -> Result<Option<ModelVersion>>;
    async fn update_model_version(
        &self,
        workspace: &str,
        name: &str,
        version: i64,
        description: Option<&str>,
        now: i64,
    ) -> Result<()>;
    /// Moves a version to `stage`; with `archive_existing`, the model's other versions in that
    /// stage move to `Archived`. Bumps the model's last-update time.
    async fn transition_model_version_stage(
        &self,
        workspace: &str,
        name: &str,
        version: i64,
        stage: Stage,
        archive_existing: bool,
        now: i64,
    ) -> Result<()>;
    /// Deletes a version with its tags and the aliases pointing at it; bumps the model's
    /// last-update time.
    async fn delete_model_version(
        &self,
        workspace: &str,
        name: &str,
        version: i64,
        now: i64,
    ) -> Result<()>;
    async fn set_model_version_tag(
        &self,
        workspace: &str,
        name: &str,
        version: i64,
        tag: &Tag,
    ) -> Result<()>;
    /// Deletes a tag if it exists (the version must exist).
    async fn delete_model_version_tag(
        &self,
        workspace: &str,
        name: &str,
        version: i64,
        key: &str,
    ) -> Result<()>;
    /// One page of versions (with tags, without aliases, as the reference sends them).
    async fn search_model_versions(&self, query: &ModelVersionQuery) -> Result<Vec<ModelVersion>>;
}

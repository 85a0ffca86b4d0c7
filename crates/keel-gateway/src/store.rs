//! The gateway's storage, implemented in `keel-store` for SQLite and PostgreSQL. Every call
//! names its workspace: a secret of another workspace does not exist for it.

use async_trait::async_trait;
use keel_core::Result;

use crate::model_definitions::{DefinitionWrite, ModelDefinition};
use crate::secrets::GatewaySecret;

#[async_trait]
pub trait GatewayStore: Send + Sync + std::fmt::Debug {
    /// Inserts `secret`; `false` when its workspace already has a secret of that name.
    async fn insert_secret(&self, secret: &GatewaySecret) -> Result<bool>;

    async fn get_secret(&self, workspace: &str, secret_id: &str) -> Result<Option<GatewaySecret>>;

    /// The workspace's secrets (of `provider`, if given), oldest first.
    async fn list_secrets(
        &self,
        workspace: &str,
        provider: Option<&str>,
    ) -> Result<Vec<GatewaySecret>>;

    /// Writes `secret`'s mutable fields (values, masks, auth config, update time and author);
    /// `false` when it no longer exists.
    async fn update_secret(&self, secret: &GatewaySecret) -> Result<bool>;

    /// `false` when there was no such secret.
    async fn delete_secret(&self, workspace: &str, secret_id: &str) -> Result<bool>;

    /// Inserts `definition` if its secret exists in its workspace and its name is free there
    /// (the secret cannot be deleted meanwhile).
    async fn insert_model_definition(
        &self,
        definition: &ModelDefinition,
    ) -> Result<DefinitionWrite>;

    /// A definition with its secret's name.
    async fn get_model_definition(
        &self,
        workspace: &str,
        id: &str,
    ) -> Result<Option<ModelDefinition>>;

    /// The workspace's definitions (of `provider`, using `secret_id`, if given), oldest first.
    async fn list_model_definitions(
        &self,
        workspace: &str,
        provider: Option<&str>,
        secret_id: Option<&str>,
    ) -> Result<Vec<ModelDefinition>>;

    /// Writes `definition`'s name, secret, provider, model and update time and author, with the
    /// same checks as an insert.
    async fn update_model_definition(
        &self,
        definition: &ModelDefinition,
    ) -> Result<DefinitionWrite>;

    /// `false` when there was no such definition.
    async fn delete_model_definition(&self, workspace: &str, id: &str) -> Result<bool>;
}

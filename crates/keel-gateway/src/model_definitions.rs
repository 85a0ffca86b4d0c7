//! Model definitions (`d-...`): a provider's model (`gpt-4o-mini`) reached with one secret's
//! credentials, named so endpoints can route to it. As the reference's
//! `gateway/model-definitions/*` routes; deleting a secret leaves its definitions without one.

use keel_core::{Error, Result};

use crate::Gateway;

/// Keel's bounds (the reference's column sizes).
pub const MAX_NAME_CHARS: usize = 255;
pub const MAX_PROVIDER_CHARS: usize = 64;
pub const MAX_MODEL_NAME_CHARS: usize = 256;

/// A stored model definition; `secret_name` is read with it (`None` once the secret is gone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelDefinition {
    pub model_definition_id: String,
    pub name: String,
    pub workspace: String,
    pub secret_id: Option<String>,
    pub secret_name: Option<String>,
    pub provider: String,
    pub model_name: String,
    pub created_at: i64,
    pub last_updated_at: i64,
    pub created_by: Option<String>,
    pub last_updated_by: Option<String>,
}

/// `model-definitions/create`: every field but `created_by` is required.
#[derive(Debug, Clone, Default)]
pub struct CreateModelDefinition {
    pub name: Option<String>,
    pub secret_id: Option<String>,
    pub provider: Option<String>,
    pub model_name: Option<String>,
    pub created_by: Option<String>,
}

/// `model-definitions/update`: an empty or absent field is left as it is.
#[derive(Debug, Clone, Default)]
pub struct UpdateModelDefinition {
    pub model_definition_id: String,
    pub name: Option<String>,
    pub secret_id: Option<String>,
    pub provider: Option<String>,
    pub model_name: Option<String>,
    pub updated_by: Option<String>,
}

/// What deleting a definition did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefinitionDelete {
    Deleted,
    NotFound,
    /// An endpoint routes to it: nothing was deleted.
    InUse,
}

/// What a store write of a definition did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefinitionWrite {
    Done,
    /// Another definition of the workspace has the name.
    NameTaken,
    /// The secret does not exist (in the workspace).
    NoSecret,
    /// The definition does not exist (updates only).
    NotFound,
}

fn given(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

fn required(field: &str, value: Option<String>) -> Result<String> {
    given(value).ok_or_else(|| Error::missing_parameter(field))
}

fn bounded(field: &str, value: &str, max: usize) -> Result<()> {
    if value.chars().count() > max {
        return Err(Error::invalid(format!(
            "{field} must be at most {max} characters long."
        )));
    }
    Ok(())
}

fn check(d: &ModelDefinition) -> Result<()> {
    bounded("name", &d.name, MAX_NAME_CHARS)?;
    bounded("provider", &d.provider, MAX_PROVIDER_CHARS)?;
    bounded("model_name", &d.model_name, MAX_MODEL_NAME_CHARS)
}

pub(crate) fn not_found(id: &str) -> Error {
    Error::not_found(format!(
        "GatewayModelDefinition not found (model_definition_id='{id}')"
    ))
}

fn outcome(write: DefinitionWrite, d: &ModelDefinition) -> Result<()> {
    match write {
        DefinitionWrite::Done => Ok(()),
        DefinitionWrite::NameTaken => Err(Error::already_exists(format!(
            "Model definition with name '{}' already exists",
            d.name
        ))),
        DefinitionWrite::NoSecret => Err(crate::secrets::not_found(
            d.secret_id.as_deref().unwrap_or_default(),
        )),
        DefinitionWrite::NotFound => Err(not_found(&d.model_definition_id)),
    }
}

impl Gateway {
    pub async fn create_model_definition(
        &self,
        workspace: &str,
        req: CreateModelDefinition,
    ) -> Result<ModelDefinition> {
        let now = self.now();
        let mut definition = ModelDefinition {
            model_definition_id: format!("d-{}", uuid::Uuid::new_v4().simple()),
            name: required("name", req.name)?,
            workspace: workspace.to_owned(),
            secret_id: Some(required("secret_id", req.secret_id)?),
            secret_name: None,
            provider: required("provider", req.provider)?,
            model_name: required("model_name", req.model_name)?,
            created_at: now,
            last_updated_at: now,
            last_updated_by: req.created_by.clone(),
            created_by: req.created_by,
        };
        check(&definition)?;
        outcome(
            self.store.insert_model_definition(&definition).await?,
            &definition,
        )?;
        definition.secret_name = self.secret_name(workspace, &definition).await?;
        Ok(definition)
    }

    async fn secret_name(&self, workspace: &str, d: &ModelDefinition) -> Result<Option<String>> {
        match &d.secret_id {
            None => Ok(None),
            Some(id) => Ok(self
                .store
                .get_secret(workspace, id)
                .await?
                .map(|s| s.secret_name)),
        }
    }

    pub async fn get_model_definition(&self, workspace: &str, id: &str) -> Result<ModelDefinition> {
        if id.is_empty() {
            return Err(Error::missing_parameter("model_definition_id"));
        }
        self.store
            .get_model_definition(workspace, id)
            .await?
            .ok_or_else(|| not_found(id))
    }

    pub async fn list_model_definitions(
        &self,
        workspace: &str,
        provider: Option<&str>,
        secret_id: Option<&str>,
    ) -> Result<Vec<ModelDefinition>> {
        self.store
            .list_model_definitions(
                workspace,
                provider.filter(|p| !p.is_empty()),
                secret_id.filter(|s| !s.is_empty()),
            )
            .await
    }

    /// `last_updated_by` changes only when the update names its author (as the reference).
    pub async fn update_model_definition(
        &self,
        workspace: &str,
        req: UpdateModelDefinition,
    ) -> Result<ModelDefinition> {
        let mut definition = self
            .get_model_definition(workspace, &req.model_definition_id)
            .await?;
        if let Some(name) = given(req.name) {
            definition.name = name;
        }
        if let Some(secret_id) = given(req.secret_id) {
            definition.secret_id = Some(secret_id);
        }
        if let Some(provider) = given(req.provider) {
            definition.provider = provider;
        }
        if let Some(model_name) = given(req.model_name) {
            definition.model_name = model_name;
        }
        if let Some(author) = given(req.updated_by) {
            definition.last_updated_by = Some(author);
        }
        definition.last_updated_at = self.now();
        check(&definition)?;
        let written = self.store.update_model_definition(&definition).await?;
        self.changed();
        outcome(written, &definition)?;
        definition.secret_name = self.secret_name(workspace, &definition).await?;
        Ok(definition)
    }

    pub async fn delete_model_definition(&self, workspace: &str, id: &str) -> Result<()> {
        if id.is_empty() {
            return Err(Error::missing_parameter("model_definition_id"));
        }
        match self.store.delete_model_definition(workspace, id).await? {
            DefinitionDelete::Deleted => {
                self.changed();
                Ok(())
            }
            DefinitionDelete::NotFound => Err(not_found(id)),
            DefinitionDelete::InUse => Err(Error::new(
                keel_core::ErrorCode::InvalidState,
                "Cannot delete model definition that is currently in use by endpoints. Detach \
                 it from all endpoints first.",
            )),
        }
    }
}

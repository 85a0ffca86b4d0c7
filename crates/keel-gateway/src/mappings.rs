//! A model attached to an endpoint after it was made, or detached from it
//! (`endpoints/models/attach|detach`), as the reference's routes do: the endpoint and the
//! definition must exist in the workspace, a definition is attached once per linkage, and
//! detaching removes its first mapping. Attaching a fallback model to an endpoint without
//! fallback settings turns fallbacks on (the reference attaches it and then never uses it).

use keel_core::{Error, ErrorCode, Result};

use crate::Gateway;
use crate::endpoints::{
    EndpointKey, FallbackConfig, Linkage, MAX_MODELS_PER_ENDPOINT, ModelConfigIn, ModelMapping,
    not_found,
};
use crate::model_definitions::{self, ModelDefinition};

/// What a store attach did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachOutcome {
    Attached,
    EndpointNotFound,
    DefinitionNotFound,
    /// The definition is attached with this linkage already.
    AlreadyAttached,
    /// The endpoint has as many models as it may.
    Full,
}

/// What a store detach did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetachOutcome {
    Detached,
    EndpointNotFound,
    NotAttached,
}

/// `endpoints/models/attach`.
#[derive(Debug, Clone, Default)]
pub struct AttachModel {
    pub endpoint_id: String,
    pub model_config: Option<ModelConfigIn>,
    pub created_by: Option<String>,
}

impl Gateway {
    pub async fn attach_model(&self, workspace: &str, req: AttachModel) -> Result<ModelMapping> {
        if req.endpoint_id.is_empty() {
            return Err(Error::missing_parameter("endpoint_id"));
        }
        let config = req
            .model_config
            .ok_or_else(|| Error::missing_parameter("model_config"))?;
        let linkage = config
            .linkage_type
            .as_deref()
            .and_then(Linkage::parse)
            .ok_or_else(|| {
                Error::invalid(
                    "Invalid or missing value for required parameter 'linkage_type' in \
                     model_config. Must be one of: PRIMARY, FALLBACK.",
                )
            })?;
        let definition_id = config
            .model_definition_id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| Error::missing_parameter("model_config.model_definition_id"))?;
        let weight = config.weight.unwrap_or(1.0);
        if !weight.is_finite() || weight < 0.0 {
            return Err(Error::invalid(format!(
                "model_config.weight must be a non-negative number, got {weight}."
            )));
        }
        let author = req.created_by.filter(|a| !a.is_empty());
        let mapping = ModelMapping {
            mapping_id: format!("m-{}", uuid::Uuid::new_v4().simple()),
            endpoint_id: req.endpoint_id.clone(),
            model_definition: ModelDefinition {
                model_definition_id: definition_id.clone(),
                ..ModelDefinition::default()
            },
            weight,
            linkage,
            fallback_order: config.fallback_order,
            created_at: self.now(),
            created_by: author.clone(),
        };
        let fallbacks_on = FallbackConfig {
            strategy: Some("SEQUENTIAL".to_owned()),
            max_attempts: None,
        };
        let outcome = self
            .store
            .attach_model(
                workspace,
                &mapping,
                (linkage == Linkage::Fallback).then_some(&fallbacks_on),
                author.as_deref(),
                MAX_MODELS_PER_ENDPOINT,
            )
            .await?;
        match outcome {
            AttachOutcome::Attached => {
                self.changed();
                let definition = self.get_model_definition(workspace, &definition_id).await?;
                Ok(ModelMapping {
                    model_definition: definition,
                    ..mapping
                })
            }
            AttachOutcome::EndpointNotFound => Err(not_found(EndpointKey::Id(&req.endpoint_id))),
            AttachOutcome::DefinitionNotFound => Err(model_definitions::not_found(&definition_id)),
            AttachOutcome::AlreadyAttached => Err(Error::already_exists(format!(
                "Model definition '{definition_id}' is already attached to endpoint '{}'",
                req.endpoint_id
            ))),
            AttachOutcome::Full => Err(Error::invalid(format!(
                "An endpoint may have at most {MAX_MODELS_PER_ENDPOINT} model configurations."
            ))),
        }
    }

    pub async fn detach_model(
        &self,
        workspace: &str,
        endpoint_id: &str,
        model_definition_id: &str,
    ) -> Result<()> {
        if endpoint_id.is_empty() {
            return Err(Error::missing_parameter("endpoint_id"));
        }
        if model_definition_id.is_empty() {
            return Err(Error::missing_parameter("model_definition_id"));
        }
        match self
            .store
            .detach_model(workspace, endpoint_id, model_definition_id)
            .await?
        {
            DetachOutcome::Detached => {
                self.changed();
                Ok(())
            }
            DetachOutcome::EndpointNotFound => Err(not_found(EndpointKey::Id(endpoint_id))),
            DetachOutcome::NotAttached => Err(Error::new(
                ErrorCode::ResourceDoesNotExist,
                format!(
                    "Model definition '{model_definition_id}' is not attached to endpoint \
                     '{endpoint_id}'"
                ),
            )),
        }
    }
}

//! Wire shapes of the model registry API (`registered-models/...`, `model-versions/...`),
//! requests and responses, and their conversions to and from domain types.
//!
//! Responses follow the reference's proto2 messages: a version's `description`, `run_id` and
//! `run_link` are sent even when empty (the reference stores empty strings), version numbers are
//! strings, and a registered model's `description` only when it has one.

use keel_core::registry::{
    CreateModelVersion, CreateRegisteredModel, SearchModelVersions, SearchRegisteredModels,
};
use keel_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::entities::Tag;
use super::proto::{Stringish, one_or_many, opt_i64, opt_string};
use super::requests::{TagIn, need, tags};

/// A required string field: absent and empty both count as missing, as in the reference.
pub fn required(field: &str, value: Option<String>) -> Result<String> {
    need(field, value.filter(|v| !v.is_empty()))
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// Requests naming a registered model.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct NameIn {
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct CreateRegisteredModelIn {
    pub name: Option<String>,
    #[serde(default)]
    pub tags: Vec<TagIn>,
    pub description: Option<String>,
}

impl CreateRegisteredModelIn {
    pub fn into_domain(self) -> Result<CreateRegisteredModel> {
        Ok(CreateRegisteredModel {
            name: required("name", self.name)?,
            tags: tags(self.tags)?,
            description: non_empty(self.description),
        })
    }
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct RenameRegisteredModelIn {
    pub name: Option<String>,
    pub new_name: Option<String>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct UpdateDescriptionIn {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub version: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct SearchIn {
    pub filter: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub order_by: Vec<String>,
    pub page_token: Option<String>,
}

impl SearchIn {
    pub fn into_registered_models(self) -> SearchRegisteredModels {
        SearchRegisteredModels {
            visible: Default::default(),
            filter: non_empty(self.filter),
            max_results: self.max_results,
            order_by: self.order_by,
            page_token: non_empty(self.page_token),
        }
    }

    pub fn into_model_versions(self) -> SearchModelVersions {
        SearchModelVersions {
            visible: Default::default(),
            filter: non_empty(self.filter),
            max_results: self.max_results,
            order_by: self.order_by,
            page_token: non_empty(self.page_token),
        }
    }
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct LatestVersionsIn {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub stages: Vec<String>,
}

/// `set-tag` / `delete-tag` of a registered model or (with `version`) of a model version.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct TagRequestIn {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub version: Option<String>,
    pub key: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub value: Option<String>,
}

impl TagRequestIn {
    pub fn into_tag(self) -> Result<keel_core::Tag> {
        Ok(keel_core::Tag {
            key: required("key", self.key)?,
            value: self.value.unwrap_or_default(),
        })
    }
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct AliasIn {
    pub name: Option<String>,
    pub alias: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub version: Option<String>,
}

/// Requests naming one model version.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct VersionIn {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub version: Option<String>,
}

impl VersionIn {
    pub fn into_parts(self) -> Result<(String, String)> {
        Ok((
            required("name", self.name)?,
            required("version", self.version)?,
        ))
    }
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct CreateModelVersionIn {
    pub name: Option<String>,
    pub source: Option<String>,
    pub run_id: Option<String>,
    #[serde(default)]
    pub tags: Vec<TagIn>,
    pub run_link: Option<String>,
    pub description: Option<String>,
    pub model_id: Option<String>,
}

impl CreateModelVersionIn {
    pub fn into_domain(self) -> Result<CreateModelVersion> {
        Ok(CreateModelVersion {
            name: required("name", self.name)?,
            source: required("source", self.source)?,
            run_id: self.run_id,
            tags: tags(self.tags)?,
            run_link: non_empty(self.run_link),
            description: non_empty(self.description),
            model_id: self.model_id,
        })
    }
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct TransitionStageIn {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub version: Option<String>,
    pub stage: Option<String>,
    pub archive_existing_versions: Option<Stringish>,
}

impl TransitionStageIn {
    /// Name, version, stage and whether to archive the versions already in the stage.
    pub fn into_parts(self) -> Result<(String, String, String, bool)> {
        let archive = match self.archive_existing_versions.map(|s| s.0) {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(other) => {
                return Err(Error::invalid(format!(
                    "Invalid value '{other}' for parameter 'archive_existing_versions': \
                     expected a boolean"
                )));
            }
        };
        Ok((
            required("name", self.name)?,
            required("version", self.version)?,
            required("stage", self.stage)?,
            archive,
        ))
    }
}

/// `GET /model-versions/get-artifact?name=&version=&path=`.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct VersionArtifactIn {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub version: Option<String>,
    pub path: Option<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ModelVersion {
    pub name: String,
    pub version: String,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub current_stage: &'static str,
    pub description: String,
    pub source: String,
    pub run_id: String,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    pub run_link: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

impl From<keel_core::ModelVersion> for ModelVersion {
    fn from(v: keel_core::ModelVersion) -> Self {
        Self {
            name: v.name,
            version: v.version.to_string(),
            creation_timestamp: v.creation_timestamp,
            last_updated_timestamp: v.last_updated_timestamp,
            user_id: v.user_id,
            current_stage: v.current_stage.as_str(),
            description: v.description.unwrap_or_default(),
            source: v.source,
            run_id: v.run_id.unwrap_or_default(),
            status: v.status.as_str(),
            status_message: v.status_message.filter(|m| !m.is_empty()),
            tags: v.tags.into_iter().map(Tag::from).collect(),
            run_link: v.run_link.unwrap_or_default(),
            aliases: v.aliases,
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RegisteredModelAlias {
    pub alias: String,
    pub version: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RegisteredModel {
    pub name: String,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub latest_versions: Vec<ModelVersion>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<RegisteredModelAlias>,
}

impl From<keel_core::RegisteredModel> for RegisteredModel {
    fn from(m: keel_core::RegisteredModel) -> Self {
        Self {
            name: m.name,
            creation_timestamp: m.creation_timestamp,
            last_updated_timestamp: m.last_updated_timestamp,
            description: m.description.filter(|d| !d.is_empty()),
            latest_versions: m
                .latest_versions
                .into_iter()
                .map(ModelVersion::from)
                .collect(),
            tags: m.tags.into_iter().map(Tag::from).collect(),
            aliases: m
                .aliases
                .into_iter()
                .map(|a| RegisteredModelAlias {
                    alias: a.alias,
                    version: a.version.to_string(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::{ModelVersionStatus, Stage};

    fn version() -> keel_core::ModelVersion {
        keel_core::ModelVersion {
            name: "m".into(),
            version: 3,
            creation_timestamp: 1,
            last_updated_timestamp: 2,
            description: None,
            user_id: None,
            current_stage: Stage::Staging,
            source: "runs:/r/m".into(),
            storage_location: Some("mlflow-artifacts:/x".into()),
            run_id: None,
            run_link: None,
            status: ModelVersionStatus::Ready,
            status_message: None,
            tags: Vec::new(),
            aliases: Vec::new(),
            model_id: Some("m-1".into()),
        }
    }

    #[test]
    fn versions_have_the_reference_shape() {
        let json = serde_json::to_value(ModelVersion::from(version())).expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "name": "m", "version": "3", "creation_timestamp": 1,
                "last_updated_timestamp": 2, "current_stage": "Staging", "description": "",
                "source": "runs:/r/m", "run_id": "", "status": "READY", "run_link": ""
            })
        );
    }

    #[test]
    fn archive_flag_accepts_booleans_and_their_names() {
        let parse = |v: serde_json::Value| {
            let m: TransitionStageIn = serde_json::from_value(serde_json::json!({
                "name": "m", "version": 1, "stage": "Staging", "archive_existing_versions": v
            }))
            .expect("parses");
            m.into_parts().map(|p| p.3)
        };
        assert_eq!(parse(serde_json::json!(true)).ok(), Some(true));
        assert_eq!(parse(serde_json::json!("False")).ok(), Some(false));
        assert!(parse(serde_json::json!("maybe")).is_err());
    }
}

//! Model registry entities as the domain sees them: registered models, their versions, stages,
//! statuses and aliases.

use crate::entities::Tag;
use crate::error::{Error, Result};

/// A model version's deployment stage (deprecated in the client, still served).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    None,
    Staging,
    Production,
    Archived,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Self::None, Self::Staging, Self::Production, Self::Archived];

    /// The canonical name, stored and sent on the wire (`None`, `Staging`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Staging => "Staging",
            Self::Production => "Production",
            Self::Archived => "Archived",
        }
    }

    /// Parses a stage name in any letter case, as the reference's `get_canonical_stage`.
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|stage| stage.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "Invalid Model Version stage: {s}. Value must be one of None, Staging, \
                     Production, Archived."
                ))
            })
    }

    /// Whether versions can be archived out of this stage by a transition into it.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Staging | Self::Production)
    }
}

/// Whether a model version is usable. Keel registers versions synchronously, so new versions
/// are `Ready`; the other states exist for the wire format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelVersionStatus {
    PendingRegistration,
    FailedRegistration,
    Ready,
}

impl ModelVersionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingRegistration => "PENDING_REGISTRATION",
            Self::FailedRegistration => "FAILED_REGISTRATION",
            Self::Ready => "READY",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "PENDING_REGISTRATION" => Self::PendingRegistration,
            "FAILED_REGISTRATION" => Self::FailedRegistration,
            "READY" => Self::Ready,
            _ => return None,
        })
    }
}

/// An alias (`champion`) pointing at one version of a registered model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredModelAlias {
    pub alias: String,
    pub version: i64,
}

/// A named model in the registry, with its tags, aliases and the latest version of each stage.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredModel {
    /// The workspace it belongs to (names are unique per workspace).
    pub workspace: String,
    pub name: String,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    pub description: Option<String>,
    /// The highest version in each stage, by version number (without their aliases, as the
    /// reference sends them).
    pub latest_versions: Vec<ModelVersion>,
    pub tags: Vec<Tag>,
    pub aliases: Vec<RegisteredModelAlias>,
}

/// One version of a registered model: where its files are and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelVersion {
    pub name: String,
    /// 1, 2, ... per registered model, never reused.
    pub version: i64,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    pub description: Option<String>,
    pub user_id: Option<String>,
    pub current_stage: Stage,
    /// The URI the client registered (`models:/m-...`, `runs:/...`, `mlflow-artifacts:/...`).
    pub source: String,
    /// Where the files are when `source` is a `models:/` URI: what the download URI returns.
    pub storage_location: Option<String>,
    pub run_id: Option<String>,
    pub run_link: Option<String>,
    pub status: ModelVersionStatus,
    pub status_message: Option<String>,
    pub tags: Vec<Tag>,
    /// The aliases pointing at this version (filled where the reference fills them).
    pub aliases: Vec<String>,
    /// The MLflow 3 logged model this version was registered from.
    pub model_id: Option<String>,
}

impl ModelVersion {
    /// The URI the version's files are downloaded from.
    pub fn download_uri(&self) -> &str {
        self.storage_location.as_deref().unwrap_or(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_parse_in_any_case() {
        assert_eq!(Stage::parse("production").ok(), Some(Stage::Production));
        assert_eq!(Stage::parse("NONE").ok(), Some(Stage::None));
        let e = Stage::parse("bogus").expect_err("unknown stage");
        assert_eq!(
            e.message,
            "Invalid Model Version stage: bogus. Value must be one of None, Staging, Production, \
             Archived."
        );
        assert!(Stage::Staging.is_active() && !Stage::Archived.is_active());
    }

    #[test]
    fn statuses_round_trip() {
        for s in [
            ModelVersionStatus::PendingRegistration,
            ModelVersionStatus::FailedRegistration,
            ModelVersionStatus::Ready,
        ] {
            assert_eq!(ModelVersionStatus::parse(s.as_str()), Some(s));
        }
    }
}

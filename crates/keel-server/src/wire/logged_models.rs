//! Wire shapes of the MLflow 3 logged-model API (`/api/2.0/mlflow/logged-models`), requests and
//! responses, and their conversions to and from domain types.

use keel_core::store::DatasetFilter;
use keel_core::tracking::{CreateLoggedModel, LoggedModelOrderBy, SearchLoggedModels};
use keel_core::{Error, LoggedModelStatus, Result};
use serde::{Deserialize, Serialize};

use super::entities::{Metric, Param, Tag};
use super::proto::{Stringish, one_or_many, opt_i64, opt_string};
use super::requests::{ParamIn, TagIn, need, tags};

/// The proto enum name of a status.
fn status_name(s: LoggedModelStatus) -> &'static str {
    match s {
        LoggedModelStatus::Unspecified => "LOGGED_MODEL_STATUS_UNSPECIFIED",
        LoggedModelStatus::Pending => "LOGGED_MODEL_PENDING",
        LoggedModelStatus::Ready => "LOGGED_MODEL_READY",
        LoggedModelStatus::Failed => "LOGGED_MODEL_UPLOAD_FAILED",
    }
}

/// A status as proto JSON sends it: the enum name or its number.
fn parse_status(s: &str) -> Result<LoggedModelStatus> {
    Ok(match s {
        "LOGGED_MODEL_STATUS_UNSPECIFIED" | "0" => LoggedModelStatus::Unspecified,
        "LOGGED_MODEL_PENDING" | "1" => LoggedModelStatus::Pending,
        "LOGGED_MODEL_READY" | "2" => LoggedModelStatus::Ready,
        "LOGGED_MODEL_UPLOAD_FAILED" | "3" => LoggedModelStatus::Failed,
        other => {
            return Err(Error::invalid(format!(
                "Invalid value '{other}' for parameter 'status'. Expected one of \
                 LOGGED_MODEL_PENDING, LOGGED_MODEL_READY, LOGGED_MODEL_UPLOAD_FAILED."
            )));
        }
    })
}

fn params(params: Vec<ParamIn>) -> Result<Vec<keel_core::Param>> {
    params.into_iter().map(ParamIn::into_domain).collect()
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct CreateLoggedModelIn {
    #[serde(default, deserialize_with = "opt_string")]
    pub experiment_id: Option<String>,
    pub name: Option<String>,
    pub model_type: Option<String>,
    pub source_run_id: Option<String>,
    #[serde(default)]
    pub params: Vec<ParamIn>,
    #[serde(default)]
    pub tags: Vec<TagIn>,
}

impl CreateLoggedModelIn {
    pub fn into_domain(self) -> Result<CreateLoggedModel> {
        Ok(CreateLoggedModel {
            experiment_id: need("experiment_id", self.experiment_id)?,
            name: self.name,
            model_type: self.model_type,
            source_run_id: self.source_run_id,
            params: params(self.params)?,
            tags: tags(self.tags)?,
        })
    }
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct GetLoggedModelIn {
    #[serde(default, deserialize_with = "opt_string")]
    pub allow_deleted: Option<String>,
}

impl GetLoggedModelIn {
    pub fn allow_deleted(&self) -> bool {
        self.allow_deleted
            .as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct FinalizeLoggedModelIn {
    pub status: Option<Stringish>,
}

impl FinalizeLoggedModelIn {
    pub fn status(self) -> Result<LoggedModelStatus> {
        parse_status(&need("status", self.status)?.0)
    }
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct LoggedModelTagsIn {
    #[serde(default)]
    pub tags: Vec<TagIn>,
}

impl LoggedModelTagsIn {
    pub fn into_domain(self) -> Result<Vec<keel_core::Tag>> {
        tags(self.tags)
    }
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct LoggedModelParamsIn {
    #[serde(default)]
    pub params: Vec<ParamIn>,
}

impl LoggedModelParamsIn {
    pub fn into_domain(self) -> Result<Vec<keel_core::Param>> {
        params(self.params)
    }
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct DatasetIn {
    pub dataset_name: Option<String>,
    pub dataset_digest: Option<String>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct OrderByIn {
    pub field_name: Option<String>,
    pub ascending: Option<bool>,
    pub dataset_name: Option<String>,
    pub dataset_digest: Option<String>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct SearchLoggedModelsIn {
    #[serde(default, deserialize_with = "one_or_many")]
    pub experiment_ids: Vec<Stringish>,
    pub filter: Option<String>,
    #[serde(default)]
    pub datasets: Vec<DatasetIn>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub order_by: Vec<OrderByIn>,
    pub page_token: Option<String>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

impl SearchLoggedModelsIn {
    pub fn into_domain(self) -> Result<SearchLoggedModels> {
        if self.experiment_ids.is_empty() {
            return Err(keel_core::Error::missing_parameter("experiment_ids"));
        }
        Ok(SearchLoggedModels {
            experiment_ids: self.experiment_ids.into_iter().map(|s| s.0).collect(),
            filter: non_empty(self.filter),
            datasets: self
                .datasets
                .into_iter()
                .map(|d| DatasetFilter {
                    name: d.dataset_name.unwrap_or_default(),
                    digest: non_empty(d.dataset_digest),
                })
                .collect(),
            max_results: self.max_results.filter(|n| *n != 0),
            order_by: self
                .order_by
                .into_iter()
                .map(|o| {
                    Ok(LoggedModelOrderBy {
                        field_name: need("order_by.field_name", o.field_name)?,
                        ascending: o.ascending.unwrap_or(true),
                        dataset_name: non_empty(o.dataset_name),
                        dataset_digest: non_empty(o.dataset_digest),
                    })
                })
                .collect::<Result<_>>()?,
            page_token: non_empty(self.page_token),
        })
    }
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct ListLoggedModelArtifactsIn {
    pub artifact_directory_path: Option<String>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct LoggedModelArtifactFileIn {
    pub artifact_file_path: Option<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LoggedModelInfo {
    pub model_id: String,
    pub experiment_id: String,
    pub name: String,
    pub creation_timestamp_ms: i64,
    pub last_updated_timestamp_ms: i64,
    pub artifact_uri: String,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_run_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LoggedModelData {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<Param>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LoggedModel {
    pub info: LoggedModelInfo,
    pub data: LoggedModelData,
}

impl From<keel_core::LoggedModel> for LoggedModel {
    fn from(m: keel_core::LoggedModel) -> Self {
        Self {
            info: LoggedModelInfo {
                model_id: m.model_id,
                experiment_id: m.experiment_id,
                name: m.name,
                creation_timestamp_ms: m.creation_timestamp_ms,
                last_updated_timestamp_ms: m.last_updated_timestamp_ms,
                artifact_uri: m.artifact_location,
                status: status_name(m.status),
                model_type: m.model_type,
                source_run_id: m.source_run_id,
                status_message: m.status_message,
                tags: m.tags.into_iter().map(Tag::from).collect(),
            },
            data: LoggedModelData {
                params: m
                    .params
                    .into_iter()
                    .map(|p| Param {
                        key: p.key,
                        value: p.value,
                    })
                    .collect(),
                metrics: m
                    .metrics
                    .into_iter()
                    .map(|m| Metric {
                        run_id: Some(m.run_id),
                        ..Metric::from(m.metric)
                    })
                    .collect(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_by_name_and_number() {
        assert_eq!(
            parse_status("LOGGED_MODEL_READY").expect("valid"),
            LoggedModelStatus::Ready
        );
        assert_eq!(parse_status("3").expect("valid"), LoggedModelStatus::Failed);
        assert!(parse_status("READY").is_err());
        for s in [
            LoggedModelStatus::Unspecified,
            LoggedModelStatus::Pending,
            LoggedModelStatus::Ready,
            LoggedModelStatus::Failed,
        ] {
            assert_eq!(parse_status(status_name(s)).expect("round trip"), s);
        }
    }
}

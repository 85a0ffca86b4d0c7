//! Request-side wire shapes of the MLflow tracking API and their conversion to domain inputs.
//!
//! Every field is optional on the wire; presence of required fields is checked where the request
//! is converted, so a missing field gets MLflow's "Missing value for required parameter" error.

use keel_core::tracking::{
    BulkHistoryRequest, CreateExperiment, CreateRun, HistoryRequest, IntervalRequest, LogMetric,
    SearchExperiments, SearchRuns,
};
use keel_core::{Error, Result, RunStatus, ViewType};
use serde::Deserialize;

use super::proto::{Stringish, one_or_many, opt_f64, opt_i64, opt_string};

/// Unwraps a required field or fails with MLflow's message for it.
pub fn need<T>(field: &str, value: Option<T>) -> Result<T> {
    value.ok_or_else(|| Error::missing_parameter(field))
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct TagIn {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub value: Option<String>,
}

impl TagIn {
    pub fn into_tag(self) -> Result<keel_core::Tag> {
        Ok(keel_core::Tag {
            key: need("key", self.key)?,
            value: self.value.unwrap_or_default(),
        })
    }
}

pub(crate) fn tags(tags: Vec<TagIn>) -> Result<Vec<keel_core::Tag>> {
    tags.into_iter().map(TagIn::into_tag).collect()
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct CreateExperimentIn {
    pub name: Option<String>,
    pub artifact_location: Option<String>,
    #[serde(default)]
    pub tags: Vec<TagIn>,
}

impl CreateExperimentIn {
    /// The create request, in `workspace`.
    pub fn into_domain(self, workspace: &keel_core::Workspace) -> Result<CreateExperiment> {
        Ok(CreateExperiment {
            workspace: workspace.clone(),
            name: need("name", self.name)?,
            artifact_location: self.artifact_location,
            tags: tags(self.tags)?,
        })
    }
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct ExperimentIdIn {
    #[serde(default, deserialize_with = "opt_string")]
    pub experiment_id: Option<String>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct ExperimentNameIn {
    pub experiment_name: Option<String>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct UpdateExperimentIn {
    #[serde(default, deserialize_with = "opt_string")]
    pub experiment_id: Option<String>,
    pub new_name: Option<String>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct ExperimentTagIn {
    #[serde(default, deserialize_with = "opt_string")]
    pub experiment_id: Option<String>,
    pub key: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub value: Option<String>,
}

fn view_type(v: Option<Stringish>) -> Result<ViewType> {
    v.map(|s| ViewType::parse(&s.0))
        .transpose()
        .map(Option::unwrap_or_default)
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct SearchExperimentsIn {
    #[serde(default, deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
    pub page_token: Option<String>,
    pub filter: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub order_by: Vec<String>,
    pub view_type: Option<Stringish>,
}

impl SearchExperimentsIn {
    /// The search, over `workspace`.
    pub fn into_domain(self, workspace: &str) -> Result<SearchExperiments> {
        Ok(SearchExperiments {
            workspace: workspace.to_owned(),
            visible: Default::default(),
            filter: self.filter,
            view: view_type(self.view_type)?,
            max_results: self.max_results,
            order_by: self.order_by,
            page_token: self.page_token,
        })
    }
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct CreateRunIn {
    /// A string, as the reference requires (a number is a 400).
    pub experiment_id: Option<String>,
    pub user_id: Option<String>,
    pub run_name: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub start_time: Option<i64>,
    #[serde(default)]
    pub tags: Vec<TagIn>,
}

impl CreateRunIn {
    pub fn into_domain(self) -> Result<CreateRun> {
        Ok(CreateRun {
            experiment_id: self.experiment_id,
            user_id: self.user_id,
            run_name: self.run_name,
            start_time: self.start_time,
            tags: tags(self.tags)?,
        })
    }
}

/// Requests naming a run accept `run_id` and the deprecated `run_uuid`.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct RunIdIn {
    pub run_id: Option<String>,
    pub run_uuid: Option<String>,
}

impl RunIdIn {
    pub fn get(self) -> Result<String> {
        pick_run_id(self.run_id, self.run_uuid)
    }
}

/// `run_id`, or the deprecated `run_uuid` when `run_id` is absent or empty.
pub fn pick_run_id(run_id: Option<String>, run_uuid: Option<String>) -> Result<String> {
    need(
        "run_id",
        run_id
            .filter(|s| !s.is_empty())
            .or(run_uuid)
            .filter(|s| !s.is_empty()),
    )
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct UpdateRunIn {
    pub run_id: Option<String>,
    pub run_uuid: Option<String>,
    pub status: Option<Stringish>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub end_time: Option<i64>,
    pub run_name: Option<String>,
}

impl UpdateRunIn {
    pub fn status(&self) -> Result<Option<RunStatus>> {
        self.status
            .as_ref()
            .map(|s| RunStatus::parse(&s.0))
            .transpose()
    }
}

/// A metric point: an item of `runs/log-batch`, or the whole body of `runs/log-metric` (which
/// also names the run).
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct MetricIn {
    pub run_id: Option<String>,
    pub run_uuid: Option<String>,
    pub key: Option<String>,
    #[serde(default, deserialize_with = "opt_f64")]
    pub value: Option<f64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub timestamp: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub step: Option<i64>,
    pub model_id: Option<String>,
    pub dataset_name: Option<String>,
    pub dataset_digest: Option<String>,
}

impl MetricIn {
    pub fn into_domain(self) -> Result<LogMetric> {
        Ok(LogMetric {
            key: need("key", self.key)?,
            value: need("value", self.value)?,
            timestamp: need("timestamp", self.timestamp)?,
            step: self.step.unwrap_or(0),
            model_id: self.model_id,
            dataset_name: self.dataset_name,
            dataset_digest: self.dataset_digest,
        })
    }

    /// For `runs/log-metric`: the run ID and the metric.
    pub fn into_run_and_metric(mut self) -> Result<(String, LogMetric)> {
        let run_id = pick_run_id(self.run_id.take(), self.run_uuid.take())?;
        Ok((run_id, self.into_domain()?))
    }
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct ParamIn {
    pub key: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub value: Option<String>,
}

impl ParamIn {
    pub fn into_domain(self) -> Result<keel_core::Param> {
        Ok(keel_core::Param {
            key: need("key", self.key)?,
            value: self.value.unwrap_or_default(),
        })
    }
}

/// Body of `runs/log-parameter` and `runs/set-tag`: a run and one key/value pair.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct RunKeyValueIn {
    pub run_id: Option<String>,
    pub run_uuid: Option<String>,
    pub key: Option<String>,
    /// A string, as the reference requires here (a number is a 400, though `log-batch` takes it).
    pub value: Option<String>,
}

impl RunKeyValueIn {
    /// The run ID, the key and the value (absent values are empty, as in the reference).
    pub fn into_parts(self) -> Result<(String, String, String)> {
        let run_id = pick_run_id(self.run_id, self.run_uuid)?;
        Ok((
            run_id,
            need("key", self.key)?,
            self.value.unwrap_or_default(),
        ))
    }
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct DeleteTagIn {
    pub run_id: Option<String>,
    pub key: Option<String>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct LogBatchIn {
    pub run_id: Option<String>,
    #[serde(default)]
    pub metrics: Vec<MetricIn>,
    #[serde(default)]
    pub params: Vec<ParamIn>,
    #[serde(default)]
    pub tags: Vec<TagIn>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct DatasetIn {
    pub name: Option<String>,
    pub digest: Option<String>,
    pub source_type: Option<String>,
    pub source: Option<String>,
    pub schema: Option<String>,
    pub profile: Option<String>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct DatasetInputIn {
    #[serde(default)]
    pub tags: Vec<TagIn>,
    pub dataset: Option<DatasetIn>,
}

impl DatasetInputIn {
    pub fn into_domain(self) -> Result<keel_core::DatasetInput> {
        let d = need("dataset", self.dataset)?;
        Ok(keel_core::DatasetInput {
            tags: tags(self.tags)?,
            dataset: keel_core::Dataset {
                name: need("dataset.name", d.name)?,
                digest: need("dataset.digest", d.digest)?,
                source_type: need("dataset.source_type", d.source_type)?,
                source: need("dataset.source", d.source)?,
                schema: d.schema,
                profile: d.profile,
            },
        })
    }
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct ModelInputIn {
    pub model_id: Option<String>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct LogInputsIn {
    pub run_id: Option<String>,
    #[serde(default)]
    pub datasets: Vec<DatasetInputIn>,
    #[serde(default)]
    pub models: Vec<ModelInputIn>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct ModelOutputIn {
    pub model_id: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub step: Option<i64>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct LogOutputsIn {
    pub run_id: Option<String>,
    #[serde(default)]
    pub models: Vec<ModelOutputIn>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct SearchRunsIn {
    #[serde(default, deserialize_with = "one_or_many")]
    pub experiment_ids: Vec<Stringish>,
    pub filter: Option<String>,
    pub run_view_type: Option<Stringish>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub order_by: Vec<String>,
    pub page_token: Option<String>,
}

impl SearchRunsIn {
    pub fn into_domain(self) -> Result<SearchRuns> {
        Ok(SearchRuns {
            experiment_ids: self.experiment_ids.into_iter().map(|s| s.0).collect(),
            workspace: None,
            filter: self.filter,
            view: view_type(self.run_view_type)?,
            max_results: self.max_results,
            order_by: self.order_by,
            page_token: self.page_token,
        })
    }
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct GetHistoryIn {
    pub run_id: Option<String>,
    pub run_uuid: Option<String>,
    pub metric_key: Option<String>,
    pub page_token: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
}

impl GetHistoryIn {
    pub fn into_domain(self) -> Result<HistoryRequest> {
        let id = RunIdIn {
            run_id: self.run_id,
            run_uuid: self.run_uuid,
        }
        .get()?;
        Ok(HistoryRequest {
            run_id: id,
            metric_key: need("metric_key", self.metric_key)?,
            max_results: self.max_results,
            page_token: self.page_token,
        })
    }
}

/// `metrics/get-history-bulk`: `run_id` repeated in the query string.
#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct GetHistoryBulkIn {
    #[serde(default, deserialize_with = "one_or_many")]
    pub run_id: Vec<String>,
    pub metric_key: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
}

impl GetHistoryBulkIn {
    pub fn into_domain(self) -> BulkHistoryRequest {
        BulkHistoryRequest {
            run_ids: self.run_id,
            metric_key: self.metric_key,
            max_results: self.max_results,
        }
    }
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct GetHistoryIntervalIn {
    #[serde(default, deserialize_with = "one_or_many")]
    pub run_ids: Vec<String>,
    pub metric_key: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub start_step: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub end_step: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
}

impl GetHistoryIntervalIn {
    pub fn into_domain(self) -> Result<IntervalRequest> {
        // The reference names `run_ids` first.
        if self.run_ids.is_empty() {
            return Err(Error::missing_parameter("run_ids"));
        }
        Ok(IntervalRequest {
            run_ids: self.run_ids,
            metric_key: need("metric_key", self.metric_key)?,
            start_step: self.start_step,
            end_step: self.end_step,
            max_results: self.max_results,
        })
    }
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct SearchDatasetsIn {
    #[serde(default, deserialize_with = "one_or_many")]
    pub experiment_ids: Vec<Stringish>,
}

//! Response-side wire shapes of MLflow entities (snake_case, empty fields omitted, enums by name).

use keel_core as core;
use serde::Serialize;

use super::proto::ser_f64;

fn is_empty<T>(v: &[T]) -> bool {
    v.is_empty()
}

fn is_empty_str(s: &str) -> bool {
    s.is_empty()
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

impl From<core::Tag> for Tag {
    fn from(t: core::Tag) -> Self {
        Self {
            key: t.key,
            value: t.value,
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Experiment {
    pub experiment_id: String,
    pub name: String,
    pub artifact_location: String,
    pub lifecycle_stage: &'static str,
    pub last_update_time: i64,
    pub creation_time: i64,
    #[serde(skip_serializing_if = "is_empty")]
    pub tags: Vec<Tag>,
}

impl From<core::Experiment> for Experiment {
    fn from(e: core::Experiment) -> Self {
        Self {
            experiment_id: e.experiment_id,
            name: e.name,
            artifact_location: e.artifact_location,
            lifecycle_stage: e.lifecycle_stage.as_str(),
            last_update_time: e.last_update_time,
            creation_time: e.creation_time,
            tags: e.tags.into_iter().map(Tag::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Metric {
    pub key: String,
    #[serde(serialize_with = "ser_f64")]
    #[schemars(with = "super::proto::ProtoDouble")]
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset_digest: Option<String>,
    /// Set where a metric is shown away from its run (a logged model's metrics).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

impl From<core::Metric> for Metric {
    fn from(m: core::Metric) -> Self {
        Self {
            key: m.key,
            value: m.value,
            timestamp: m.timestamp,
            step: m.step,
            model_id: m.model_id,
            dataset_name: m.dataset_name,
            dataset_digest: m.dataset_digest,
            run_id: None,
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct MetricWithRunId {
    pub key: String,
    #[serde(serialize_with = "ser_f64")]
    #[schemars(with = "super::proto::ProtoDouble")]
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
    pub run_id: String,
}

impl From<core::MetricWithRunId> for MetricWithRunId {
    fn from(m: core::MetricWithRunId) -> Self {
        Self {
            key: m.metric.key,
            value: m.metric.value,
            timestamp: m.metric.timestamp,
            step: m.metric.step,
            run_id: m.run_id,
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Param {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RunInfo {
    pub run_id: String,
    pub run_uuid: String,
    pub run_name: String,
    pub experiment_id: String,
    #[serde(skip_serializing_if = "is_empty_str")]
    pub user_id: String,
    pub status: &'static str,
    pub start_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    pub artifact_uri: String,
    pub lifecycle_stage: &'static str,
}

impl From<core::RunInfo> for RunInfo {
    fn from(i: core::RunInfo) -> Self {
        Self {
            run_uuid: i.run_id.clone(),
            run_id: i.run_id,
            run_name: i.run_name,
            experiment_id: i.experiment_id,
            user_id: i.user_id,
            status: i.status.as_str(),
            start_time: i.start_time,
            end_time: i.end_time,
            artifact_uri: i.artifact_uri,
            lifecycle_stage: i.lifecycle_stage.as_str(),
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RunData {
    #[serde(skip_serializing_if = "is_empty")]
    pub metrics: Vec<Metric>,
    #[serde(skip_serializing_if = "is_empty")]
    pub params: Vec<Param>,
    #[serde(skip_serializing_if = "is_empty")]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Dataset {
    pub name: String,
    pub digest: String,
    pub source_type: String,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DatasetInput {
    #[serde(skip_serializing_if = "is_empty")]
    pub tags: Vec<Tag>,
    pub dataset: Dataset,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ModelInput {
    pub model_id: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ModelOutput {
    pub model_id: String,
    pub step: i64,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RunInputs {
    #[serde(skip_serializing_if = "is_empty")]
    pub dataset_inputs: Vec<DatasetInput>,
    #[serde(skip_serializing_if = "is_empty")]
    pub model_inputs: Vec<ModelInput>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RunOutputs {
    #[serde(skip_serializing_if = "is_empty")]
    pub model_outputs: Vec<ModelOutput>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Run {
    pub info: RunInfo,
    pub data: RunData,
    pub inputs: RunInputs,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<RunOutputs>,
}

impl From<core::Run> for Run {
    fn from(r: core::Run) -> Self {
        let outputs = (!r.outputs.model_outputs.is_empty()).then(|| RunOutputs {
            model_outputs: r
                .outputs
                .model_outputs
                .into_iter()
                .map(|m| ModelOutput {
                    model_id: m.model_id,
                    step: m.step,
                })
                .collect(),
        });
        Self {
            info: r.info.into(),
            data: RunData {
                metrics: r.data.metrics.into_iter().map(Metric::from).collect(),
                params: r
                    .data
                    .params
                    .into_iter()
                    .map(|p| Param {
                        key: p.key,
                        value: p.value,
                    })
                    .collect(),
                tags: r.data.tags.into_iter().map(Tag::from).collect(),
            },
            inputs: RunInputs {
                dataset_inputs: r
                    .inputs
                    .dataset_inputs
                    .into_iter()
                    .map(|d| DatasetInput {
                        tags: d.tags.into_iter().map(Tag::from).collect(),
                        dataset: Dataset {
                            name: d.dataset.name,
                            digest: d.dataset.digest,
                            source_type: d.dataset.source_type,
                            source: d.dataset.source,
                            schema: d.dataset.schema,
                            profile: d.dataset.profile,
                        },
                    })
                    .collect(),
                model_inputs: r
                    .inputs
                    .model_inputs
                    .into_iter()
                    .map(|m| ModelInput {
                        model_id: m.model_id,
                    })
                    .collect(),
            },
            outputs,
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DatasetSummary {
    pub experiment_id: String,
    pub name: String,
    pub digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

impl From<core::DatasetSummary> for DatasetSummary {
    fn from(d: core::DatasetSummary) -> Self {
        Self {
            experiment_id: d.experiment_id,
            name: d.name,
            digest: d.digest,
            context: d.context,
        }
    }
}

//! The GraphQL object types of the reference's schema (`MlflowRunExtension`, `MlflowExperiment`,
//! ...), built from domain values the way the reference builds them from its protobuf messages:
//! an unset scalar is its protobuf default (`""`, `"0"`, `false`), an unset message is an empty
//! object and an unset list is `[]`, never `null`. 64-bit integers are `LongString`s.

use async_graphql::{
    ComplexObject, Context, Enum, InputValueError, InputValueResult, Scalar, ScalarType,
    SimpleObject, Value,
};
use keel_core::{self as core, LifecycleStage};

use super::resolvers::{nullable, run_experiment, run_model_versions};

/// A 64-bit integer written as a decimal string, so JavaScript keeps every digit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LongString(pub i64);

/// LongString Scalar type to prevent truncation to max integer in JavaScript.
#[Scalar(name = "LongString")]
impl ScalarType for LongString {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::Number(n) => n
                .as_i64()
                .map(Self)
                .ok_or_else(|| InputValueError::custom(format!("{n} is not a 64-bit integer"))),
            Value::String(s) => s.trim().parse().map(Self).map_err(|_| {
                InputValueError::custom(format!("invalid literal for int() with base 10: '{s}'"))
            }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

fn long(v: i64) -> Option<LongString> {
    Some(LongString(v))
}

fn text(s: impl Into<String>) -> Option<String> {
    Some(s.into())
}

fn stage(s: LifecycleStage) -> Option<String> {
    text(s.as_str())
}

/// A tag or a parameter; one Rust type behind the schema's several key-value types.
macro_rules! key_value {
    ($name:ident, $graphql:literal) => {
        #[derive(Debug, Clone, SimpleObject)]
        #[graphql(name = $graphql)]
        pub struct $name {
            pub key: Option<String>,
            pub value: Option<String>,
        }

        impl $name {
            fn list<I, K>(items: I, parts: impl Fn(K) -> (String, String)) -> Option<Vec<Self>>
            where
                I: IntoIterator<Item = K>,
            {
                Some(
                    items
                        .into_iter()
                        .map(|item| {
                            let (key, value) = parts(item);
                            Self {
                                key: Some(key),
                                value: Some(value),
                            }
                        })
                        .collect(),
                )
            }
        }
    };
}

key_value!(ExperimentTag, "MlflowExperimentTag");
key_value!(RunTag, "MlflowRunTag");
key_value!(RunParam, "MlflowParam");
key_value!(InputTag, "MlflowInputTag");
key_value!(ModelVersionTag, "MlflowModelVersionTag");

fn tag_parts(t: core::Tag) -> (String, String) {
    (t.key, t.value)
}

/// `ApiError`: in the schema, but never set (errors go to the response's `errors`).
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "ApiError")]
pub struct ApiError {
    pub code: Option<String>,
    pub message: Option<String>,
    pub help_url: Option<String>,
    pub trace_id: Option<String>,
    pub error_details: Option<Vec<Option<ErrorDetail>>>,
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "ErrorDetail")]
pub struct ErrorDetail {
    pub field: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "MlflowExperiment")]
pub struct Experiment {
    pub experiment_id: Option<String>,
    pub name: Option<String>,
    pub artifact_location: Option<String>,
    pub lifecycle_stage: Option<String>,
    pub last_update_time: Option<LongString>,
    pub creation_time: Option<LongString>,
    pub tags: Option<Vec<ExperimentTag>>,
    pub effective_trace_archival_retention: Option<String>,
    pub workspace: Option<String>,
}

impl From<core::Experiment> for Experiment {
    fn from(e: core::Experiment) -> Self {
        Self {
            experiment_id: text(e.experiment_id),
            name: text(e.name),
            artifact_location: text(e.artifact_location),
            lifecycle_stage: stage(e.lifecycle_stage),
            last_update_time: long(e.last_update_time),
            creation_time: long(e.creation_time),
            tags: ExperimentTag::list(e.tags, tag_parts),
            // Keel does not archive traces.
            effective_trace_archival_retention: text(""),
            workspace: text(e.workspace),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(name = "MlflowRunStatus", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    Running,
    Scheduled,
    Finished,
    Failed,
    Killed,
}

impl From<core::RunStatus> for RunStatus {
    fn from(s: core::RunStatus) -> Self {
        match s {
            core::RunStatus::Running => Self::Running,
            core::RunStatus::Scheduled => Self::Scheduled,
            core::RunStatus::Finished => Self::Finished,
            core::RunStatus::Failed => Self::Failed,
            core::RunStatus::Killed => Self::Killed,
        }
    }
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "MlflowRunInfo")]
pub struct RunInfo {
    pub run_id: Option<String>,
    pub run_uuid: Option<String>,
    pub run_name: Option<String>,
    pub experiment_id: Option<String>,
    pub user_id: Option<String>,
    pub status: Option<RunStatus>,
    pub start_time: Option<LongString>,
    pub end_time: Option<LongString>,
    pub artifact_uri: Option<String>,
    pub lifecycle_stage: Option<String>,
}

impl From<core::RunInfo> for RunInfo {
    fn from(i: core::RunInfo) -> Self {
        Self {
            run_uuid: text(i.run_id.clone()),
            run_id: text(i.run_id),
            run_name: text(i.run_name),
            experiment_id: text(i.experiment_id),
            user_id: text(i.user_id),
            status: Some(i.status.into()),
            start_time: long(i.start_time),
            end_time: long(i.end_time.unwrap_or(0)),
            artifact_uri: text(i.artifact_uri),
            lifecycle_stage: stage(i.lifecycle_stage),
        }
    }
}

/// A run's latest value of a metric (`MlflowMetricExtension`): NaN reads as `null`, without
/// an error, as the reference's extension resolves it.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "MlflowMetricExtension")]
pub struct RunMetric {
    pub key: Option<String>,
    pub value: Option<f64>,
    pub timestamp: Option<LongString>,
    pub step: Option<LongString>,
    pub dataset_name: Option<String>,
    pub dataset_digest: Option<String>,
    pub model_id: Option<String>,
    pub run_id: Option<String>,
}

impl From<core::Metric> for RunMetric {
    fn from(m: core::Metric) -> Self {
        Self {
            key: text(m.key),
            value: (!m.value.is_nan()).then(|| clamped(m.value)),
            timestamp: long(m.timestamp),
            step: long(m.step),
            dataset_name: text(m.dataset_name.unwrap_or_default()),
            dataset_digest: text(m.dataset_digest.unwrap_or_default()),
            model_id: text(m.model_id.unwrap_or_default()),
            run_id: text(""),
        }
    }
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "MlflowRunData")]
pub struct RunData {
    pub metrics: Option<Vec<RunMetric>>,
    pub params: Option<Vec<RunParam>>,
    pub tags: Option<Vec<RunTag>>,
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "MlflowDataset")]
pub struct Dataset {
    pub name: Option<String>,
    pub digest: Option<String>,
    pub source_type: Option<String>,
    pub source: Option<String>,
    pub schema: Option<String>,
    pub profile: Option<String>,
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "MlflowDatasetInput")]
pub struct DatasetInput {
    pub tags: Option<Vec<InputTag>>,
    pub dataset: Option<Dataset>,
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "MlflowModelInput")]
pub struct ModelInput {
    pub model_id: Option<String>,
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "MlflowRunInputs")]
pub struct RunInputs {
    pub dataset_inputs: Option<Vec<DatasetInput>>,
    pub model_inputs: Option<Vec<ModelInput>>,
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "MlflowModelOutput")]
pub struct ModelOutput {
    pub model_id: Option<String>,
    pub step: Option<LongString>,
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "MlflowRunOutputs")]
pub struct RunOutputs {
    pub model_outputs: Option<Vec<ModelOutput>>,
}

/// A run with the two fields the reference adds to its protobuf `Run`: its experiment and the
/// model versions registered from it, each looked up only when selected (a search looks them
/// up for its whole page at once and hands them in).
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "MlflowRunExtension", complex)]
pub struct Run {
    pub info: Option<RunInfo>,
    pub data: Option<RunData>,
    pub inputs: Option<RunInputs>,
    pub outputs: Option<RunOutputs>,
    #[graphql(skip)]
    pub run_id: String,
    #[graphql(skip)]
    pub experiment_id: String,
    #[graphql(skip)]
    pub known_experiment: Option<Experiment>,
    #[graphql(skip)]
    pub known_versions: Option<Vec<ModelVersion>>,
}

#[ComplexObject]
impl Run {
    async fn experiment(&self, ctx: &Context<'_>) -> Option<Experiment> {
        if let Some(known) = &self.known_experiment {
            return Some(known.clone());
        }
        nullable(ctx, run_experiment(ctx, &self.experiment_id).await)
    }

    async fn model_versions(&self, ctx: &Context<'_>) -> Option<Vec<ModelVersion>> {
        if let Some(known) = &self.known_versions {
            return Some(known.clone());
        }
        nullable(ctx, run_model_versions(ctx, &self.run_id).await)
    }
}

impl From<core::Run> for Run {
    fn from(r: core::Run) -> Self {
        let datasets = r
            .inputs
            .dataset_inputs
            .into_iter()
            .map(|d| DatasetInput {
                tags: InputTag::list(d.tags, tag_parts),
                dataset: Some(Dataset {
                    name: text(d.dataset.name),
                    digest: text(d.dataset.digest),
                    source_type: text(d.dataset.source_type),
                    source: text(d.dataset.source),
                    schema: text(d.dataset.schema.unwrap_or_default()),
                    profile: text(d.dataset.profile.unwrap_or_default()),
                }),
            })
            .collect();
        let model_inputs = r
            .inputs
            .model_inputs
            .into_iter()
            .map(|m| ModelInput {
                model_id: text(m.model_id),
            })
            .collect();
        let model_outputs = r
            .outputs
            .model_outputs
            .into_iter()
            .map(|m| ModelOutput {
                model_id: text(m.model_id),
                step: long(m.step),
            })
            .collect();
        Self {
            run_id: r.info.run_id.clone(),
            experiment_id: r.info.experiment_id.clone(),
            info: Some(r.info.into()),
            data: Some(RunData {
                metrics: Some(r.data.metrics.into_iter().map(RunMetric::from).collect()),
                params: RunParam::list(r.data.params, |p| (p.key, p.value)),
                tags: RunTag::list(r.data.tags, tag_parts),
            }),
            inputs: Some(RunInputs {
                dataset_inputs: Some(datasets),
                model_inputs: Some(model_inputs),
            }),
            outputs: Some(RunOutputs {
                model_outputs: Some(model_outputs),
            }),
            known_experiment: None,
            known_versions: None,
        }
    }
}

/// A point of a sampled metric history. Its value is a plain GraphQL `Float`, so NaN is
/// `null` with an error, as the reference answers.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "MlflowMetricWithRunId", complex)]
pub struct MetricWithRunId {
    pub key: Option<String>,
    #[graphql(skip)]
    pub raw_value: f64,
    pub timestamp: Option<LongString>,
    pub step: Option<LongString>,
    pub run_id: Option<String>,
}

#[ComplexObject]
impl MetricWithRunId {
    async fn value(&self, ctx: &Context<'_>) -> Option<f64> {
        let value = if self.raw_value.is_nan() {
            Err("Float cannot represent non numeric value: nan".into())
        } else {
            Ok(Some(clamped(self.raw_value)))
        };
        nullable(ctx, value)
    }
}

/// A metric value as the reference's store returns it: ±infinity is stored as the largest
/// finite double.
fn clamped(v: f64) -> f64 {
    v.clamp(f64::MIN, f64::MAX)
}

impl From<core::MetricWithRunId> for MetricWithRunId {
    fn from(m: core::MetricWithRunId) -> Self {
        Self {
            key: text(m.metric.key),
            raw_value: m.metric.value,
            timestamp: long(m.metric.timestamp),
            step: long(m.metric.step),
            run_id: text(m.run_id),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(
    name = "MlflowModelVersionStatus",
    rename_items = "SCREAMING_SNAKE_CASE"
)]
pub enum ModelVersionStatus {
    PendingRegistration,
    FailedRegistration,
    Ready,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(
    name = "MlflowDeploymentJobConnectionState",
    rename_items = "SCREAMING_SNAKE_CASE"
)]
pub enum DeploymentJobConnectionState {
    DeploymentJobConnectionStateUnspecified,
    NotSetUp,
    Connected,
    NotFound,
    RequiredParametersChanged,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(
    name = "MlflowModelVersionDeploymentJobStateDeploymentJobRunState",
    rename_items = "SCREAMING_SNAKE_CASE"
)]
pub enum DeploymentJobRunState {
    DeploymentJobRunStateUnspecified,
    NoValidDeploymentJobFound,
    Running,
    Succeeded,
    Failed,
    Pending,
    Approval,
}

/// A version's deployment job. Keel runs none, so the states are protobuf's unset `0`, which
/// the schema's enums cannot show: selecting one is `null` with the reference's error.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "MlflowModelVersionDeploymentJobState", complex)]
pub struct DeploymentJobState {
    pub job_id: Option<String>,
    pub run_id: Option<String>,
    pub current_task_name: Option<String>,
}

#[ComplexObject]
impl DeploymentJobState {
    async fn job_state(&self, ctx: &Context<'_>) -> Option<DeploymentJobConnectionState> {
        let message = "Enum 'MlflowDeploymentJobConnectionState' cannot represent value: 0";
        nullable(ctx, Err(message.into()))
    }

    async fn run_state(&self, ctx: &Context<'_>) -> Option<DeploymentJobRunState> {
        let message = "Enum 'MlflowModelVersionDeploymentJobStateDeploymentJobRunState' cannot \
                       represent value: 0";
        nullable(ctx, Err(message.into()))
    }
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "MlflowModelParam")]
pub struct ModelParam {
    pub name: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "MlflowModelMetric")]
pub struct ModelMetric {
    pub key: Option<String>,
    pub value: Option<f64>,
    pub timestamp: Option<LongString>,
    pub step: Option<LongString>,
    pub dataset_name: Option<String>,
    pub dataset_digest: Option<String>,
    pub model_id: Option<String>,
    pub run_id: Option<String>,
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "MlflowModelVersion")]
pub struct ModelVersion {
    pub name: Option<String>,
    pub version: Option<String>,
    pub creation_timestamp: Option<LongString>,
    pub last_updated_timestamp: Option<LongString>,
    pub user_id: Option<String>,
    pub current_stage: Option<String>,
    pub description: Option<String>,
    pub source: Option<String>,
    pub run_id: Option<String>,
    pub status: Option<ModelVersionStatus>,
    pub status_message: Option<String>,
    pub tags: Option<Vec<ModelVersionTag>>,
    pub run_link: Option<String>,
    pub aliases: Option<Vec<Option<String>>>,
    pub model_id: Option<String>,
    /// The reference's search leaves a version's logged-model parameters and metrics unset.
    pub model_params: Option<Vec<ModelParam>>,
    pub model_metrics: Option<Vec<ModelMetric>>,
    pub deployment_job_state: Option<DeploymentJobState>,
}

impl From<core::ModelVersion> for ModelVersion {
    fn from(v: core::ModelVersion) -> Self {
        let status = match v.status {
            core::ModelVersionStatus::PendingRegistration => {
                ModelVersionStatus::PendingRegistration
            }
            core::ModelVersionStatus::FailedRegistration => ModelVersionStatus::FailedRegistration,
            core::ModelVersionStatus::Ready => ModelVersionStatus::Ready,
        };
        Self {
            name: text(v.name),
            version: text(v.version.to_string()),
            creation_timestamp: long(v.creation_timestamp),
            last_updated_timestamp: long(v.last_updated_timestamp),
            user_id: text(v.user_id.unwrap_or_default()),
            current_stage: text(v.current_stage.as_str()),
            description: text(v.description.unwrap_or_default()),
            source: text(v.source),
            run_id: text(v.run_id.unwrap_or_default()),
            status: Some(status),
            status_message: text(v.status_message.unwrap_or_default()),
            tags: ModelVersionTag::list(v.tags, tag_parts),
            run_link: text(v.run_link.unwrap_or_default()),
            aliases: Some(v.aliases.into_iter().map(Some).collect()),
            model_id: text(v.model_id.unwrap_or_default()),
            model_params: Some(Vec::new()),
            model_metrics: Some(Vec::new()),
            deployment_job_state: Some(DeploymentJobState {
                job_id: text(""),
                run_id: text(""),
                current_task_name: text(""),
            }),
        }
    }
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "MlflowFileInfo")]
pub struct FileInfo {
    pub path: Option<String>,
    pub is_dir: Option<bool>,
    pub file_size: Option<LongString>,
}

impl FileInfo {
    pub fn new(path: String, is_dir: bool, size: Option<i64>) -> Self {
        Self {
            path: Some(path),
            is_dir: Some(is_dir),
            file_size: long(size.unwrap_or(0)),
        }
    }
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "MlflowDatasetSummary")]
pub struct DatasetSummary {
    pub experiment_id: Option<String>,
    pub name: Option<String>,
    pub digest: Option<String>,
    pub context: Option<String>,
}

impl From<core::DatasetSummary> for DatasetSummary {
    fn from(d: core::DatasetSummary) -> Self {
        Self {
            experiment_id: text(d.experiment_id),
            name: text(d.name),
            digest: text(d.digest),
            context: text(d.context.unwrap_or_default()),
        }
    }
}

/// The responses: each root field's payload with its (always `null`) `apiError`.
macro_rules! response {
    ($name:ident, $graphql:literal, { $($field:ident: $ty:ty),* $(,)? }) => {
        #[derive(Debug, Clone, SimpleObject)]
        #[graphql(name = $graphql)]
        pub struct $name {
            $(pub $field: $ty,)*
            pub api_error: Option<ApiError>,
        }
    };
}

response!(GetExperimentResponse, "MlflowGetExperimentResponse", {
    experiment: Option<Experiment>,
});
response!(GetRunResponse, "MlflowGetRunResponse", { run: Option<Run> });
response!(SearchRunsResponse, "MlflowSearchRunsResponse", {
    runs: Option<Vec<Run>>,
    next_page_token: Option<String>,
});
response!(ListArtifactsResponse, "MlflowListArtifactsResponse", {
    root_uri: Option<String>,
    files: Option<Vec<FileInfo>>,
    next_page_token: Option<String>,
});
response!(
    GetMetricHistoryBulkIntervalResponse,
    "MlflowGetMetricHistoryBulkIntervalResponse",
    { metrics: Option<Vec<MetricWithRunId>> }
);
response!(SearchModelVersionsResponse, "MlflowSearchModelVersionsResponse", {
    model_versions: Option<Vec<ModelVersion>>,
    next_page_token: Option<String>,
});
response!(SearchDatasetsResponse, "MlflowSearchDatasetsResponse", {
    dataset_summaries: Option<Vec<DatasetSummary>>,
});

/// `test` and `testMutation`'s echo.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "Test")]
pub struct Test {
    /// Echoes the input string
    pub output: Option<String>,
}

#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "TestMutation")]
pub struct TestMutation {
    /// Echoes the input string
    pub output: Option<String>,
}

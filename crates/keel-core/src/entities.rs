//! Tracking entities as the domain sees them: experiments, runs and what is logged to runs.

use crate::error::{Error, Result};

/// Whether an experiment or run is live or in the trash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleStage {
    Active,
    Deleted,
}

impl LifecycleStage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Deleted => "deleted",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "deleted" => Some(Self::Deleted),
            _ => None,
        }
    }
}

/// Which lifecycle stages a search returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ViewType {
    #[default]
    ActiveOnly,
    DeletedOnly,
    All,
}

impl ViewType {
    /// Parses MLflow's `ViewType` enum names (`ACTIVE_ONLY`, `DELETED_ONLY`, `ALL`) and numbers.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "ACTIVE_ONLY" | "1" => Ok(Self::ActiveOnly),
            "DELETED_ONLY" | "2" => Ok(Self::DeletedOnly),
            "ALL" | "3" => Ok(Self::All),
            other => Err(Error::invalid(format!(
                "Invalid view type '{other}'. Expected one of ACTIVE_ONLY, DELETED_ONLY, ALL"
            ))),
        }
    }
}

/// Run status, named as in MLflow's `RunStatus` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Scheduled,
    Finished,
    Failed,
    Killed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Scheduled => "SCHEDULED",
            Self::Finished => "FINISHED",
            Self::Failed => "FAILED",
            Self::Killed => "KILLED",
        }
    }
    /// Parses the enum name or its proto number.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "RUNNING" | "1" => Ok(Self::Running),
            "SCHEDULED" | "2" => Ok(Self::Scheduled),
            "FINISHED" | "3" => Ok(Self::Finished),
            "FAILED" | "4" => Ok(Self::Failed),
            "KILLED" | "5" => Ok(Self::Killed),
            other => Err(Error::invalid(format!(
                "Invalid run status '{other}'. Expected one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED"
            ))),
        }
    }
}

/// A key/value tag on an experiment or a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

impl Tag {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    pub experiment_id: String,
    pub name: String,
    /// The workspace it belongs to ([`crate::workspaces::DEFAULT_WORKSPACE`] unless workspaces
    /// are served).
    pub workspace: String,
    pub artifact_location: String,
    pub lifecycle_stage: LifecycleStage,
    pub creation_time: i64,
    pub last_update_time: i64,
    pub tags: Vec<Tag>,
}

/// One metric point.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub key: String,
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
    pub model_id: Option<String>,
    pub dataset_name: Option<String>,
    pub dataset_digest: Option<String>,
}

/// A metric point together with the run it belongs to (bulk history responses).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricWithRunId {
    pub run_id: String,
    pub metric: Metric,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    pub run_id: String,
    pub run_name: String,
    pub experiment_id: String,
    pub user_id: String,
    pub status: RunStatus,
    pub start_time: i64,
    pub end_time: Option<i64>,
    pub artifact_uri: String,
    pub lifecycle_stage: LifecycleStage,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunData {
    pub metrics: Vec<Metric>,
    pub params: Vec<Param>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    pub name: String,
    pub digest: String,
    pub source_type: String,
    pub source: String,
    pub schema: Option<String>,
    pub profile: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetInput {
    pub tags: Vec<Tag>,
    pub dataset: Dataset,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInput {
    pub model_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelOutput {
    pub model_id: String,
    pub step: i64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunInputs {
    pub dataset_inputs: Vec<DatasetInput>,
    pub model_inputs: Vec<ModelInput>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunOutputs {
    pub model_outputs: Vec<ModelOutput>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub info: RunInfo,
    pub data: RunData,
    pub inputs: RunInputs,
    pub outputs: RunOutputs,
}

/// Whether a logged model's files are fully uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoggedModelStatus {
    Unspecified,
    /// Created; files may still be uploading.
    Pending,
    Ready,
    /// Uploading the files failed.
    Failed,
}

impl LoggedModelStatus {
    /// The name stored and matched by search filters (`status = 'READY'`), as the client's
    /// `LoggedModelStatus` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "UNSPECIFIED",
            Self::Pending => "PENDING",
            Self::Ready => "READY",
            Self::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "UNSPECIFIED" => Self::Unspecified,
            "PENDING" => Self::Pending,
            "READY" => Self::Ready,
            "FAILED" => Self::Failed,
            _ => return None,
        })
    }
}

/// An MLflow 3 logged model: a model's files plus its metadata, owned by an experiment and
/// usually produced by a run.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedModel {
    /// `m-` followed by 32 hex characters.
    pub model_id: String,
    pub experiment_id: String,
    pub name: String,
    /// `<experiment artifact location>/models/<model_id>/artifacts`.
    pub artifact_location: String,
    pub creation_timestamp_ms: i64,
    pub last_updated_timestamp_ms: i64,
    pub status: LoggedModelStatus,
    pub status_message: Option<String>,
    pub model_type: Option<String>,
    pub source_run_id: Option<String>,
    pub lifecycle_stage: LifecycleStage,
    pub tags: Vec<Tag>,
    pub params: Vec<Param>,
    /// Every metric point logged for this model, by any run.
    pub metrics: Vec<MetricWithRunId>,
}

/// A dataset used by runs of an experiment, with the context it was used in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetSummary {
    pub experiment_id: String,
    pub name: String,
    pub digest: String,
    pub context: Option<String>,
}

/// One page of results and the token for the next page, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: Option<String>,
}

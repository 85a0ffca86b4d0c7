//! The tracking service: the domain functions behind the MLflow tracking API.
//!
//! Every public method validates its input, creates IDs and timestamps, and calls the store.

mod experiments;
mod gc;
mod history;
mod logged_models;
mod runs;
mod search;

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::store::TrackingStore;

pub use experiments::CreateExperiment;
pub(crate) use experiments::dedup_tags;
pub use history::{
    BulkHistoryRequest, HistoryReader, HistoryRequest, IntervalRequest, MetricHistory,
    sample_evenly, sampled_positions,
};
pub use logged_models::{
    CreateLoggedModel, DEFAULT_LOGGED_MODEL_RESULTS, LOGGED_MODELS_HISTORY_TAG, LoggedModelOrderBy,
    SearchLoggedModels,
};
pub use runs::{CreateRun, LogMetric};
pub use search::{SearchExperiments, SearchRuns, check_dataset_search};
pub(crate) use search::{parse_filter, parse_order_by};

/// The ID and name of the experiment every store starts with.
pub const DEFAULT_EXPERIMENT_ID: &str = "0";
pub const DEFAULT_EXPERIMENT_NAME: &str = "Default";
/// The tag that mirrors a run's name.
pub const RUN_NAME_TAG: &str = "mlflow.runName";
/// The tag that names a run's parent run.
pub const PARENT_RUN_TAG: &str = "mlflow.parentRunId";

/// Domain functions for experiments, runs and their logged data.
#[derive(Clone)]
pub struct Tracking {
    store: Arc<dyn TrackingStore>,
    clock: Arc<dyn Clock>,
    /// Prefix of default experiment artifact locations, e.g. `mlflow-artifacts:`.
    artifact_root: String,
}

impl std::fmt::Debug for Tracking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracking")
            .field("artifact_root", &self.artifact_root)
            .finish()
    }
}

impl Tracking {
    /// A service over `store`, giving new experiments artifact locations under `mlflow-artifacts:/`.
    pub fn new(store: Arc<dyn TrackingStore>) -> Self {
        Self::with_clock(store, Arc::new(SystemClock))
    }

    pub fn with_clock(store: Arc<dyn TrackingStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            artifact_root: "mlflow-artifacts:".to_owned(),
        }
    }

    /// New experiments' artifact locations go under `root` (the experiment's ID appended)
    /// instead of the server's proxy, as with the reference's `--default-artifact-root`.
    pub fn with_artifact_root(mut self, root: impl Into<String>) -> Self {
        self.artifact_root = root.into();
        self
    }

    fn now(&self) -> i64 {
        self.clock.now_millis()
    }

    /// The default artifact location of an experiment.
    fn experiment_artifact_location(&self, experiment_id: &str) -> String {
        format!("{}/{experiment_id}", self.artifact_root)
    }
}

/// Parses an experiment ID; anything but a non-negative integer names no experiment.
pub(crate) fn parse_experiment_id(experiment_id: &str) -> Result<i64> {
    experiment_id
        .parse::<i64>()
        .ok()
        .filter(|id| *id >= 0)
        .ok_or_else(|| {
            Error::invalid(format!(
                "Invalid experiment ID '{experiment_id}'. Experiment ID must be a valid integer."
            ))
        })
}

pub(crate) fn experiment_not_found(experiment_id: &str) -> Error {
    Error::not_found(format!("No Experiment with id={experiment_id} exists"))
}

pub(crate) fn run_not_found(run_id: &str) -> Error {
    Error::not_found(format!("Run with id={run_id} not found"))
}

/// Fails with INVALID_PARAMETER_VALUE when a required string field is missing or empty.
pub(crate) fn required<'a>(field: &str, value: &'a str) -> Result<&'a str> {
    if value.is_empty() {
        return Err(Error::missing_parameter(field));
    }
    Ok(value)
}

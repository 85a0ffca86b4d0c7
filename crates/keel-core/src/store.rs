//! The tracking store trait: what a metadata backend (SQLite, PostgreSQL) must provide.
//!
//! Stores persist exactly what they are given; the service layer validates input and creates IDs
//! and timestamps. Each write method is one transaction: it lands whole or not at all.

use async_trait::async_trait;
use keel_filter::{Comparison, Key, OrderBy};

use crate::entities::*;
use crate::error::Result;

/// A page request for experiments, with the filter already parsed.
#[derive(Debug, Clone, Default)]
pub struct ExperimentQuery {
    /// The workspace searched.
    pub workspace: String,
    /// Which experiments the caller may see.
    pub visible: Visible,
    pub view: ViewType,
    pub filter: Vec<Comparison>,
    pub order_by: Vec<OrderBy>,
    pub offset: i64,
    pub limit: i64,
}

/// Which resources (by ID, or by name for registered models) a search may return: those the
/// caller may read. Stores apply it in SQL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Visible {
    #[default]
    All,
    /// Only these.
    Only(Vec<String>),
    /// All but these.
    AllExcept(Vec<String>),
}

impl Visible {
    /// Keeps the visible IDs of `ids`, in time linear in both lists (a request may name many
    /// IDs and a caller hold many grants).
    pub fn retain_visible(&self, ids: &mut Vec<String>) {
        let (listed, keep_listed) = match self {
            Self::All => return,
            Self::Only(listed) => (listed, true),
            Self::AllExcept(listed) => (listed, false),
        };
        let listed: std::collections::HashSet<&str> = listed.iter().map(String::as_str).collect();
        ids.retain(|id| listed.contains(id.as_str()) == keep_listed);
    }
}

/// Which registered models a search may return, by name: models and prompts (models tagged as
/// prompts) are granted separately.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelVisibility {
    pub models: Visible,
    pub prompts: Visible,
}

/// A page request for runs, with the filter already parsed.
#[derive(Debug, Clone, Default)]
pub struct RunQuery {
    pub experiment_ids: Vec<String>,
    /// When set, only the runs of those experiments that are in this workspace.
    pub workspace: Option<String>,
    pub view: ViewType,
    pub filter: Vec<Comparison>,
    pub order_by: Vec<OrderBy>,
    pub offset: i64,
    pub limit: i64,
}

/// Changes to a run's info; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct RunUpdate {
    pub run_id: String,
    pub status: Option<RunStatus>,
    pub end_time: Option<i64>,
    pub run_name: Option<String>,
}

/// Everything logged by one log-batch (or log-metric, log-param, set-tag) request.
#[derive(Debug, Clone, Default)]
pub struct LogBatch {
    pub run_id: String,
    pub metrics: Vec<Metric>,
    pub params: Vec<Param>,
    pub tags: Vec<Tag>,
    /// Set when a `mlflow.runName` tag renames the run in the same transaction.
    pub run_name: Option<String>,
}

/// A dataset input to record, with the ID to use if the dataset is new to the experiment.
#[derive(Debug, Clone)]
pub struct NewDatasetInput {
    pub dataset_uuid: String,
    pub input: DatasetInput,
}

/// Inputs to record on a run.
#[derive(Debug, Clone, Default)]
pub struct LogInputs {
    pub run_id: String,
    pub datasets: Vec<NewDatasetInput>,
    pub models: Vec<ModelInput>,
}

/// How logged-model search results are ordered: an attribute or a metric's latest value
/// (optionally only the metric points of one dataset).
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedModelOrder {
    pub key: Key,
    pub ascending: bool,
    pub dataset_name: Option<String>,
    pub dataset_digest: Option<String>,
}

/// A dataset that metric filters are restricted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetFilter {
    pub name: String,
    pub digest: Option<String>,
}

/// A page request for active logged models, with the filter already parsed.
#[derive(Debug, Clone, Default)]
pub struct LoggedModelQuery {
    pub experiment_ids: Vec<String>,
    pub filter: Vec<Comparison>,
    /// When non-empty, metric comparisons only consider points of these datasets, and models
    /// without any metric on them are left out.
    pub datasets: Vec<DatasetFilter>,
    pub order_by: Vec<LoggedModelOrder>,
    pub offset: i64,
    pub limit: i64,
}

/// Computes a run tag's new value from its current one, inside the store's write transaction.
/// A store may call it again when it retries the transaction.
pub type TagUpdate = Box<dyn Fn(Option<&str>) -> Result<String> + Send + Sync>;

/// Runs, experiments and logged models in the trash long enough to be removed for good, with the artifact
/// locations that go with them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Garbage {
    /// `(experiment_id, artifact_location)` of deleted experiments.
    pub experiments: Vec<(String, String)>,
    /// `(run_id, artifact_uri)` of deleted runs, including every run of those experiments.
    pub runs: Vec<(String, String)>,
    /// `(model_id, artifact_location)` of deleted logged models (deleted when last updated),
    /// including every logged model of those experiments.
    pub logged_models: Vec<(String, String)>,
}

/// The persistence operations behind the tracking API.
#[async_trait]
pub trait TrackingStore: Send + Sync + 'static {
    /// Fails with RESOURCE_ALREADY_EXISTS when the name is taken.
    async fn insert_experiment(&self, experiment: &Experiment) -> Result<()>;
    async fn get_experiment(&self, experiment_id: &str) -> Result<Option<Experiment>>;
    /// The experiment named `name` in `workspace` (names are unique per workspace).
    async fn get_experiment_by_name(
        &self,
        workspace: &str,
        name: &str,
    ) -> Result<Option<Experiment>>;
    /// Returns up to `query.limit` experiments starting at `query.offset`.
    async fn search_experiments(&self, query: &ExperimentQuery) -> Result<Vec<Experiment>>;
    /// Fails with RESOURCE_ALREADY_EXISTS when the new name is taken in its workspace.
    async fn rename_experiment(&self, experiment_id: &str, new_name: &str, now: i64) -> Result<()>;
    /// Moves an experiment and all of its runs to `stage`.
    async fn set_experiment_lifecycle(
        &self,
        experiment_id: &str,
        stage: LifecycleStage,
        now: i64,
    ) -> Result<()>;
    async fn set_experiment_tag(&self, experiment_id: &str, tag: &Tag, now: i64) -> Result<()>;
    /// Returns whether the tag existed.
    async fn delete_experiment_tag(&self, experiment_id: &str, key: &str, now: i64)
    -> Result<bool>;

    /// Inserts a run with its initial tags.
    async fn insert_run(&self, run: &Run) -> Result<()>;
    async fn get_run(&self, run_id: &str) -> Result<Option<Run>>;
    async fn get_run_info(&self, run_id: &str) -> Result<Option<RunInfo>>;
    /// Applies the update (and keeps the `mlflow.runName` tag in sync) and returns the new info.
    async fn update_run(&self, update: &RunUpdate) -> Result<RunInfo>;
    async fn set_run_lifecycle(
        &self,
        run_id: &str,
        stage: LifecycleStage,
        deleted_time: Option<i64>,
    ) -> Result<()>;
    /// Logs metrics, params and tags atomically. Fails with INVALID_PARAMETER_VALUE when a param
    /// already holds a different value, or when the run is not active.
    async fn log_batch(&self, batch: &LogBatch) -> Result<()>;
    /// Returns whether the tag existed.
    async fn delete_run_tag(&self, run_id: &str, key: &str) -> Result<bool>;
    async fn log_inputs(&self, inputs: &LogInputs) -> Result<()>;
    async fn log_outputs(&self, run_id: &str, models: &[ModelOutput]) -> Result<()>;

    /// Every point of one metric of one run, ordered by (timestamp, step, value).
    async fn metric_history(
        &self,
        run_id: &str,
        key: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Metric>>;
    /// The points of one metric of one run with `start_step <= step <= end_step` (unbounded
    /// when `None`) in (step, timestamp, value) order, downsampled to at most `max_points` with
    /// `tracking::sample_evenly`'s rule.
    async fn metric_history_sampled(
        &self,
        run_id: &str,
        key: &str,
        steps: (Option<i64>, Option<i64>),
        max_points: usize,
    ) -> Result<Vec<Metric>>;
    async fn search_runs(&self, query: &RunQuery) -> Result<Vec<Run>>;
    /// Deleted experiments and runs whose deletion time is at or before `cutoff` (ms).
    async fn garbage(&self, cutoff: i64) -> Result<Garbage>;
    /// Permanently removes those of these runs and experiments that are still deleted (one may
    /// have been restored meanwhile), with everything logged to them; returns what it removed.
    async fn purge(&self, garbage: &Garbage) -> Result<Garbage>;
    async fn search_datasets(&self, experiment_ids: &[String]) -> Result<Vec<DatasetSummary>>;
    /// Sets a run tag to `update(current value)` atomically (no concurrent update is lost).
    /// Fails with INVALID_PARAMETER_VALUE when the run is not active.
    async fn update_run_tag(&self, run_id: &str, key: &str, update: TagUpdate) -> Result<()>;

    /// Inserts a logged model with its params and tags.
    async fn insert_logged_model(&self, model: &LoggedModel) -> Result<()>;
    /// A logged model in any lifecycle stage.
    async fn get_logged_model(&self, model_id: &str) -> Result<Option<LoggedModel>>;
    /// Adds params; fails with INVALID_PARAMETER_VALUE when one already holds another value.
    async fn log_logged_model_params(
        &self,
        model_id: &str,
        params: &[Param],
        now: i64,
    ) -> Result<()>;
    async fn set_logged_model_status(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
        now: i64,
    ) -> Result<()>;
    async fn set_logged_model_lifecycle(
        &self,
        model_id: &str,
        stage: LifecycleStage,
        now: i64,
    ) -> Result<()>;
    /// Sets (inserts or replaces) tags.
    async fn set_logged_model_tags(&self, model_id: &str, tags: &[Tag], now: i64) -> Result<()>;
    /// Returns whether the tag existed.
    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> Result<bool>;
    /// Active logged models of the query's experiments, one page.
    async fn search_logged_models(&self, query: &LoggedModelQuery) -> Result<Vec<LoggedModel>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_is_visible_is_kept_in_order() {
        let ids = || -> Vec<String> { ["3", "1", "2", "1"].map(String::from).to_vec() };
        let kept = |v: Visible| {
            let mut ids = ids();
            v.retain_visible(&mut ids);
            ids
        };
        assert_eq!(kept(Visible::All), ids());
        assert_eq!(
            kept(Visible::Only(vec!["1".into(), "9".into()])),
            ["1", "1"]
        );
        assert_eq!(kept(Visible::AllExcept(vec!["1".into()])), ["3", "2"]);
        assert!(kept(Visible::Only(Vec::new())).is_empty());
    }
}

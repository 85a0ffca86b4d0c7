//! Conversions between PostgreSQL column values and domain values.

use keel_core::{Error, LifecycleStage, LoggedModelStatus, Metric, RunStatus};

use super::error::PgResult;

/// Experiment IDs are TEXT in the domain and BIGINT in the schema.
pub(crate) fn experiment_id_to_i64(experiment_id: &str) -> PgResult<i64> {
    experiment_id.parse().map_err(|_| {
        Error::not_found(format!("No Experiment with id={experiment_id} exists")).into()
    })
}

/// Experiment IDs that are numbers; any other cannot name an experiment.
pub(crate) fn experiment_ids(ids: &[String]) -> Vec<i64> {
    ids.iter().filter_map(|id| id.parse().ok()).collect()
}

fn unexpected(what: String) -> Error {
    Error::internal(format!("unexpected {what} in database"))
}

pub(crate) fn lifecycle(s: &str) -> PgResult<LifecycleStage> {
    LifecycleStage::parse(s).ok_or_else(|| unexpected(format!("lifecycle stage '{s}'")).into())
}

pub(crate) fn status(s: &str) -> PgResult<RunStatus> {
    RunStatus::parse(s).map_err(|_| unexpected(format!("run status '{s}'")).into())
}

pub(crate) fn model_status(s: &str) -> PgResult<LoggedModelStatus> {
    LoggedModelStatus::parse(s)
        .ok_or_else(|| unexpected(format!("logged model status '{s}'")).into())
}

/// NaN is stored as value 0 with `is_nan = 1`, as in SQLite, so that latest values, filters and
/// ordering treat it the same on both backends.
pub(crate) fn metric_value_to_db(value: f64) -> (f64, i16) {
    if value.is_nan() { (0.0, 1) } else { (value, 0) }
}

pub(crate) fn metric_value_from_db(value: f64, is_nan: i16) -> f64 {
    if is_nan != 0 { f64::NAN } else { value }
}

/// Whether `a` replaces `b` as the latest value, compared exactly as the `latest_metrics` upsert
/// compares rows: by (step, timestamp, stored value), where NaN is stored as 0.
pub(crate) fn supersedes_stored(a: &Metric, b: &Metric) -> bool {
    let stored = |m: &Metric| metric_value_to_db(m.value).0;
    (a.step, a.timestamp)
        .cmp(&(b.step, b.timestamp))
        .then_with(|| {
            stored(a)
                .partial_cmp(&stored(b))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
        .is_gt()
}

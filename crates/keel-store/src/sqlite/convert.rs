//! Conversions between SQLite column values and domain values.

use keel_core::{Error, LifecycleStage, Result, RunStatus};

/// Experiment IDs are TEXT in the domain and INTEGER in the schema.
pub(crate) fn experiment_id_to_i64(experiment_id: &str) -> Result<i64> {
    experiment_id
        .parse()
        .map_err(|_| Error::not_found(format!("No Experiment with id={experiment_id} exists")))
}

pub(crate) fn lifecycle(s: &str) -> rusqlite::Result<LifecycleStage> {
    LifecycleStage::parse(s).ok_or_else(|| invalid_column(format!("lifecycle stage '{s}'")))
}

pub(crate) fn status(s: &str) -> rusqlite::Result<RunStatus> {
    RunStatus::parse(s).map_err(|_| invalid_column(format!("run status '{s}'")))
}

fn invalid_column(what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("unexpected {what} in database").into(),
    )
}

/// NaN is stored as value 0 with `is_nan = 1` (SQLite REAL columns cannot hold NaN).
pub(crate) fn metric_value_to_db(value: f64) -> (f64, bool) {
    if value.is_nan() {
        (0.0, true)
    } else {
        (value, false)
    }
}

pub(crate) fn metric_value_from_db(value: f64, is_nan: bool) -> f64 {
    if is_nan { f64::NAN } else { value }
}

/// Wraps a list of strings for `rarray(?)` parameters.
pub(crate) fn text_array<'a>(
    items: impl IntoIterator<Item = &'a str>,
) -> std::rc::Rc<Vec<rusqlite::types::Value>> {
    std::rc::Rc::new(
        items
            .into_iter()
            .map(|s| rusqlite::types::Value::Text(s.to_owned()))
            .collect(),
    )
}

pub(crate) fn int_array(
    items: impl IntoIterator<Item = i64>,
) -> std::rc::Rc<Vec<rusqlite::types::Value>> {
    std::rc::Rc::new(
        items
            .into_iter()
            .map(rusqlite::types::Value::Integer)
            .collect(),
    )
}

//! SQL for reading a metric's history: paged in (timestamp, step, value) order, or a step range.
//!
//! Histories run to tens of thousands of points per page, so the statements select only what
//! varies per point (the key is the one asked for) and decode rows straight into tuples.

use keel_core::Metric;
use sqlx::PgConnection;

use super::convert::metric_value_from_db;
use super::error::PgResult;

const METRIC_COLUMNS: &str =
    "step, timestamp, value, is_nan, model_id, dataset_name, dataset_digest";

type PointRow = (
    i64,
    i64,
    f64,
    i16,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn metrics(key: &str, rows: Vec<PointRow>) -> Vec<Metric> {
    rows.into_iter()
        .map(
            |(step, timestamp, value, is_nan, model_id, dataset_name, dataset_digest)| Metric {
                key: key.to_owned(),
                step,
                timestamp,
                value: metric_value_from_db(value, is_nan),
                model_id,
                dataset_name,
                dataset_digest,
            },
        )
        .collect()
}

/// One page of a metric's points. `is_nan` breaks the last tie (a NaN point and a 0 point at
/// the same step and time), so pages never overlap or skip.
pub(crate) async fn history(
    conn: &mut PgConnection,
    run_id: &str,
    key: &str,
    offset: i64,
    limit: i64,
) -> PgResult<Vec<Metric>> {
    let rows: Vec<PointRow> = sqlx::query_as(&format!(
        "SELECT {METRIC_COLUMNS} FROM metrics \
         WHERE run_key = (SELECT run_key FROM runs WHERE run_uuid = $1) AND key = $2 \
         ORDER BY timestamp, step, value, is_nan LIMIT $3 OFFSET $4"
    ))
    .bind(run_id)
    .bind(key)
    // As in SQLite, a negative limit means no limit (NULL) and a negative offset none.
    .bind((limit >= 0).then_some(limit))
    .bind(offset.max(0))
    .fetch_all(&mut *conn)
    .await?;
    Ok(metrics(key, rows))
}

/// The points with `start <= step <= end` (unbounded when `None`), in (step, timestamp, value)
/// order.
pub(crate) async fn history_range(
    conn: &mut PgConnection,
    run_id: &str,
    key: &str,
    start: Option<i64>,
    end: Option<i64>,
) -> PgResult<Vec<Metric>> {
    let rows: Vec<PointRow> = sqlx::query_as(&format!(
        "SELECT {METRIC_COLUMNS} FROM metrics \
         WHERE run_key = (SELECT run_key FROM runs WHERE run_uuid = $1) AND key = $2 \
         AND step >= $3 AND step <= $4 ORDER BY step, timestamp, value, is_nan"
    ))
    .bind(run_id)
    .bind(key)
    .bind(start.unwrap_or(i64::MIN))
    .bind(end.unwrap_or(i64::MAX))
    .fetch_all(&mut *conn)
    .await?;
    Ok(metrics(key, rows))
}

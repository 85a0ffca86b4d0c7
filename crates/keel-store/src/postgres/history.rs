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

/// Keeps the history page on the primary key's range scan, which is already in page order. The
/// run's `run_key` is only known at run time, so the planner estimates a run's points from the
/// table's averages; once the table holds many small runs, that estimate is a handful of rows, and
/// it picks a bitmap scan plus a sort instead. For a long history that sort spills to disk
/// (`work_mem`) and the page takes about three times as long (measured: 28 ms instead of 11 ms for
/// 25,000 of 50,000 points). Local to the read's transaction.
const HISTORY_PLAN: &str = "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off";

/// One page of a metric's points. `is_nan` breaks the last tie (a NaN point and a 0 point at
/// the same step and time), so pages never overlap or skip. Runs in a transaction (see
/// [`HISTORY_PLAN`]).
pub(crate) async fn history(
    conn: &mut PgConnection,
    run_id: &str,
    key: &str,
    offset: i64,
    limit: i64,
) -> PgResult<Vec<Metric>> {
    // A plain string goes over the simple protocol, which takes both statements at once.
    sqlx::Executor::execute(&mut *conn, HISTORY_PLAN).await?;
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

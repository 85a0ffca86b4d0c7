//! SQL for reading a metric's history: paged in (timestamp, step, value) order, or a step range.

use keel_core::Metric;
use sqlx::PgConnection;
use sqlx::postgres::PgRow;

use super::convert::metric_value_from_db;
use super::error::PgResult;

const METRIC_COLUMNS: &str =
    "key, step, timestamp, value, is_nan, model_id, dataset_name, dataset_digest";

fn metric_from_row(r: &PgRow) -> PgResult<Metric> {
    use sqlx::Row;
    Ok(Metric {
        key: r.try_get(0)?,
        step: r.try_get(1)?,
        timestamp: r.try_get(2)?,
        value: metric_value_from_db(r.try_get(3)?, r.try_get(4)?),
        model_id: r.try_get(5)?,
        dataset_name: r.try_get(6)?,
        dataset_digest: r.try_get(7)?,
    })
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
    let rows = sqlx::query(&format!(
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
    rows.iter().map(metric_from_row).collect()
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
    let rows = sqlx::query(&format!(
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
    rows.iter().map(metric_from_row).collect()
}

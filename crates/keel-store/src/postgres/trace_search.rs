//! Trace search on PostgreSQL: one compiled statement for the page of traces, then their tags
//! and metadata in one query each, all in the read's snapshot.

use std::collections::BTreeMap;

use keel_core::Result;
use keel_core::traces::metrics::{Aggregator, MetricItem, MetricQuery, MetricRow};
use keel_core::traces::{TraceInfo, TraceQuery};
use keel_filter::traces::TraceComparison;
use sqlx::PgConnection;

use super::convert::experiment_ids;
use super::error::PgResult;
use super::search::arguments;
use crate::search_sql::{self, Dialect};
use crate::span_rows::{TraceColumns, trace_info_from_columns};

type Pairs = BTreeMap<i64, BTreeMap<String, String>>;

async fn pairs(conn: &mut PgConnection, table: &str, keys: &[i64]) -> PgResult<Pairs> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(&format!(
        "SELECT trace_key, key, value FROM {table} WHERE trace_key = ANY($1)"
    ))
    .bind(keys)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Pairs::new();
    for (key, k, v) in rows {
        out.entry(key).or_default().insert(k, v);
    }
    Ok(out)
}

pub(crate) async fn search_traces(
    conn: &mut PgConnection,
    q: &TraceQuery,
) -> PgResult<Vec<TraceInfo>> {
    let compiled =
        search_sql::trace_search_sql(Dialect::Postgres, &experiment_ids(&q.experiment_ids), q);
    // An invalid RLIKE pattern is bad input (see `error.rs`), and not retried.
    let rows: Vec<TraceColumns> = sqlx::query_as_with(&compiled.sql, arguments(&compiled.params)?)
        .persistent(false)
        .fetch_all(&mut *conn)
        .await?;
    let keys: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut tags = pairs(conn, "trace_tags", &keys).await?;
    let mut metadata = pairs(conn, "trace_metadata", &keys).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let key = r.0;
            let tags = tags.remove(&key).unwrap_or_default();
            let metadata = metadata.remove(&key).unwrap_or_default();
            trace_info_from_columns(r, tags, metadata).map(|(_, info)| info)
        })
        .collect::<Result<Vec<_>>>()?)
}

/// How many traces of the experiments match each filter, in the read's snapshot.
pub(crate) async fn count_traces(
    conn: &mut PgConnection,
    ids: &[String],
    filters: &[Vec<TraceComparison>],
) -> PgResult<Vec<u64>> {
    let experiments = experiment_ids(ids);
    let mut counts = Vec::with_capacity(filters.len());
    for filter in filters {
        let compiled = search_sql::trace_count_sql(Dialect::Postgres, &experiments, filter);
        let n: i64 = sqlx::query_scalar_with(&compiled.sql, arguments(&compiled.params)?)
            .persistent(false)
            .fetch_one(&mut *conn)
            .await?;
        counts.push(u64::try_from(n).unwrap_or(0));
    }
    Ok(counts)
}

/// The rows of a trace-metrics query: its items streamed into the aggregator.
pub(crate) async fn trace_metrics(
    conn: &mut PgConnection,
    q: &MetricQuery,
) -> PgResult<Vec<MetricRow>> {
    use futures_util::TryStreamExt;
    use sqlx::Row;
    let compiled = search_sql::trace_metric_items_sql(
        Dialect::Postgres,
        &experiment_ids(&q.experiment_ids),
        q,
    );
    let mut aggregator = Aggregator::new(q);
    let mut rows = sqlx::query_with(&compiled.sql, arguments(&compiled.params)?)
        .persistent(false)
        .fetch(&mut *conn);
    while let Some(row) = rows.try_next().await? {
        let dimensions = (0..q.dimensions.len())
            .map(|i| row.try_get::<Option<String>, _>(3 + i))
            .collect::<Result<Vec<_>, _>>()?;
        aggregator.push(MetricItem::from_row(
            q,
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            dimensions,
        ));
    }
    Ok(aggregator.finish())
}

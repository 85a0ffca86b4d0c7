//! Trace search on SQLite: one compiled statement for the page of traces, then their tags and
//! metadata in one query each.

use std::rc::Rc;

use keel_core::Result;
use keel_core::traces::metrics::{Aggregator, MetricItem, MetricQuery, MetricRow};
use keel_core::traces::{TraceInfo, TraceQuery};
use keel_filter::traces::TraceComparison;

use rusqlite::Connection;
use rusqlite::types::Value;

use super::db_err;
use super::traces::{pairs, trace_columns};
use crate::search_sql::{self, Dialect};
use crate::span_rows::{TraceColumns, trace_info_from_columns};

/// The experiment IDs that can name one (those that are not numbers name none).
fn numeric_ids(ids: &[String]) -> Vec<i64> {
    ids.iter().filter_map(|id| id.parse().ok()).collect()
}

pub(crate) fn search_traces(conn: &Connection, q: &TraceQuery) -> Result<Vec<TraceInfo>> {
    let experiments = numeric_ids(&q.experiment_ids);
    let compiled = search_sql::trace_search_sql(Dialect::Sqlite, &experiments, q);
    let mut stmt = conn.prepare(&compiled.sql).map_err(db_err)?;
    let rows: Vec<TraceColumns> = stmt
        .query_map(
            rusqlite::params_from_iter(compiled.params.iter()),
            trace_columns,
        )
        .map_err(db_err)?
        .collect::<rusqlite::Result<_>>()
        .map_err(db_err)?;
    let keys: Rc<Vec<Value>> = Rc::new(rows.iter().map(|r| Value::Integer(r.0)).collect());
    let mut tags = pairs(conn, "trace_tags", &keys)?;
    let mut metadata = pairs(conn, "trace_metadata", &keys)?;
    rows.into_iter()
        .map(|r| {
            let key = r.0;
            let tags = tags.remove(&key).unwrap_or_default();
            let metadata = metadata.remove(&key).unwrap_or_default();
            trace_info_from_columns(r, tags, metadata).map(|(_, info)| info)
        })
        .collect()
}

/// How many traces of the experiments match each filter.
pub(crate) fn count_traces(
    conn: &Connection,
    experiment_ids: &[String],
    filters: &[Vec<TraceComparison>],
) -> Result<Vec<u64>> {
    let experiments = numeric_ids(experiment_ids);
    filters
        .iter()
        .map(|filter| {
            let compiled = search_sql::trace_count_sql(Dialect::Sqlite, &experiments, filter);
            let n: i64 = conn
                .prepare(&compiled.sql)
                .and_then(|mut s| {
                    s.query_row(rusqlite::params_from_iter(compiled.params.iter()), |r| {
                        r.get(0)
                    })
                })
                .map_err(db_err)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .collect()
}

/// The rows of a trace-metrics query: its items streamed into the aggregator.
pub(crate) fn trace_metrics(conn: &Connection, q: &MetricQuery) -> Result<Vec<MetricRow>> {
    let experiments = numeric_ids(&q.experiment_ids);
    let compiled = search_sql::trace_metric_items_sql(Dialect::Sqlite, &experiments, q);
    let mut stmt = conn.prepare(&compiled.sql).map_err(db_err)?;
    let mut rows = stmt
        .query(rusqlite::params_from_iter(compiled.params.iter()))
        .map_err(db_err)?;
    let mut aggregator = Aggregator::new(q);
    while let Some(row) = rows.next().map_err(db_err)? {
        let text: Option<String> = row.get(2).map_err(db_err)?;
        let dimensions = (0..q.dimensions.len())
            .map(|i| row.get::<_, Option<String>>(3 + i))
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db_err)?;
        aggregator.push(MetricItem::from_row(
            q,
            row.get(0).map_err(db_err)?,
            row.get(1).map_err(db_err)?,
            text,
            dimensions,
        ));
    }
    Ok(aggregator.finish())
}

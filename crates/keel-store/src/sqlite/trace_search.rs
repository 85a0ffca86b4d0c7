//! Trace search on SQLite: one compiled statement for the page of traces, then their tags and
//! metadata in one query each.

use std::rc::Rc;

use keel_core::Result;
use keel_core::traces::{TraceInfo, TraceQuery};
use rusqlite::Connection;
use rusqlite::types::Value;

use super::db_err;
use super::traces::{pairs, trace_columns};
use crate::search_sql::{self, Dialect};
use crate::span_rows::{TraceColumns, trace_info_from_columns};

pub(crate) fn search_traces(conn: &Connection, q: &TraceQuery) -> Result<Vec<TraceInfo>> {
    // IDs that are not numbers name no experiment.
    let experiments: Vec<i64> = q
        .experiment_ids
        .iter()
        .filter_map(|id| id.parse().ok())
        .collect();
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

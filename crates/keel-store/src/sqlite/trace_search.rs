//! Trace search on SQLite: one compiled statement for the page of traces, then their tags and
//! metadata in one query each.

use std::collections::BTreeMap;
use std::rc::Rc;

use keel_core::Result;
use keel_core::traces::{TraceInfo, TraceQuery};
use regex_automata::meta::Regex;
use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value;

use super::db_err;
use crate::search_sql::{self, Dialect};
use crate::span_rows::{TraceColumns, trace_info_from_columns};

/// `regexp(pattern, text)`: whether the regular expression finds a match anywhere in `text`, as
/// the reference's SQLite function (Python's `re.search`) does; an invalid pattern or a NULL
/// matches nothing. The compiled pattern is cached per statement.
fn register_regexp(conn: &Connection) -> Result<()> {
    conn.create_scalar_function(
        "regexp",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let regex = ctx.get_or_create_aux(0, |v| -> rusqlite::Result<Option<Regex>> {
                Ok(v.as_str().ok().and_then(|p| Regex::new(p).ok()))
            })?;
            let text: Option<String> = ctx.get(1)?;
            Ok(match (regex.as_ref(), text) {
                (Some(r), Some(t)) => r.is_match(&t),
                _ => false,
            })
        },
    )
    .map_err(db_err)
}

type Pairs = BTreeMap<i64, BTreeMap<String, String>>;

/// The `(key, value)` rows of `table` for the traces `keys`, by trace.
fn pairs(conn: &Connection, table: &str, keys: &Rc<Vec<Value>>) -> Result<Pairs> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT trace_key, key, value FROM {table} WHERE trace_key IN rarray(?1)"
        ))
        .map_err(db_err)?;
    let mut rows = stmt.query([keys.clone()]).map_err(db_err)?;
    let mut out = Pairs::new();
    while let Some(r) = rows.next().map_err(db_err)? {
        let key: i64 = r.get(0).map_err(db_err)?;
        out.entry(key)
            .or_default()
            .insert(r.get(1).map_err(db_err)?, r.get(2).map_err(db_err)?);
    }
    Ok(out)
}

pub(crate) fn search_traces(conn: &Connection, q: &TraceQuery) -> Result<Vec<TraceInfo>> {
    if search_sql::uses_regexp(&q.filter) {
        register_regexp(conn)?;
    }
    // IDs that are not numbers name no experiment.
    let experiments: Vec<i64> = q
        .experiment_ids
        .iter()
        .filter_map(|id| id.parse().ok())
        .collect();
    let compiled = search_sql::trace_search_sql(Dialect::Sqlite, &experiments, q);
    let mut stmt = conn.prepare(&compiled.sql).map_err(db_err)?;
    let rows: Vec<TraceColumns> = stmt
        .query_map(rusqlite::params_from_iter(compiled.params.iter()), |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
            ))
        })
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

//! SQL for traces on SQLite: trace info with its tags and metadata, and spans.
//!
//! Write functions run on the writer connection and do every check that can reject the request
//! before their first write (see `writer.rs`).

use std::collections::BTreeMap;
use std::rc::Rc;

use rusqlite::types::Value;

use keel_core::traces::{
    CompleteTrace, TraceEndV2, TraceId, TraceInfo, TraceSpan, TraceSpans, refresh_trace_info,
    store::trace_in_other_experiment, trace_artifact_location, trace_not_found,
};
use keel_core::{Error, Result};
use rusqlite::{Connection, OptionalExtension, params};

use super::convert::experiment_id_to_i64;
use super::db_err;
use super::trace_edits::adopt_pending_links;
use crate::span_rows::{
    SPAN_COLUMNS, SpanRow, TRACE_COLUMNS, TraceColumns, span_from_columns, summary_from_columns,
    trace_info_from_columns,
};

fn require_experiment(conn: &Connection, experiment_id: i64) -> Result<()> {
    let found = conn
        .prepare_cached("SELECT 1 FROM experiments WHERE experiment_id = ?1")
        .and_then(|mut s| s.exists([experiment_id]))
        .map_err(db_err)?;
    if found {
        Ok(())
    } else {
        Err(Error::not_found(format!(
            "No Experiment with id={experiment_id} exists"
        )))
    }
}

pub(crate) type Pairs = BTreeMap<i64, BTreeMap<String, String>>;

/// The `(key, value)` rows of `table` for the traces `keys`, by trace.
pub(crate) fn pairs(conn: &Connection, table: &str, keys: &Rc<Vec<Value>>) -> Result<Pairs> {
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

/// A trace's row as [`TRACE_COLUMNS`] selects it.
pub(crate) fn trace_columns(r: &rusqlite::Row<'_>) -> rusqlite::Result<TraceColumns> {
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
}

/// The stored info of a trace and its key.
pub(crate) fn load_info(conn: &Connection, trace_id: &TraceId) -> Result<Option<(i64, TraceInfo)>> {
    let row: Option<TraceColumns> = conn
        .prepare_cached(&format!(
            "SELECT {TRACE_COLUMNS} FROM traces WHERE trace_id = ?1"
        ))
        .and_then(|mut s| s.query_row([trace_id.as_str()], trace_columns).optional())
        .map_err(db_err)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let keys = Rc::new(vec![Value::Integer(row.0)]);
    let tags = pairs(conn, "trace_tags", &keys)?
        .remove(&row.0)
        .unwrap_or_default();
    let metadata = pairs(conn, "trace_metadata", &keys)?
        .remove(&row.0)
        .unwrap_or_default();
    trace_info_from_columns(row, tags, metadata).map(Some)
}

/// Writes `info` (inserting the trace when `key` is `None`) with its tags and metadata;
/// returns the trace's key.
fn save_info(conn: &Connection, key: Option<i64>, info: &TraceInfo) -> Result<i64> {
    let experiment_id = experiment_id_to_i64(&info.experiment_id)?;
    let values = params![
        experiment_id,
        info.client_request_id,
        info.request_time_ms,
        info.execution_duration_ms,
        info.state.as_str(),
        info.request_preview,
        info.response_preview,
        info.trace_id.as_str(),
    ];
    let key = match key {
        Some(key) => {
            conn.prepare_cached(
                "UPDATE traces SET experiment_id = ?1, client_request_id = ?2, request_time = ?3, \
                 execution_duration = ?4, state = ?5, request_preview = ?6, \
                 response_preview = ?7 WHERE trace_id = ?8",
            )
            .and_then(|mut s| s.execute(values))
            .map_err(db_err)?;
            for table in ["trace_tags", "trace_metadata"] {
                conn.prepare_cached(&format!("DELETE FROM {table} WHERE trace_key = ?1"))
                    .and_then(|mut s| s.execute([key]))
                    .map_err(db_err)?;
            }
            key
        }
        // The writer is single and the caller found no such trace: the ID is free.
        None => insert_row(conn, experiment_id, info)?
            .ok_or_else(|| Error::internal("a new trace's ID was taken"))?,
    };
    insert_pairs(conn, key, info)?;
    Ok(key)
}

/// Inserts the trace's row unless its ID is stored already; its key when inserted (with the
/// links that waited for it).
fn insert_row(conn: &Connection, experiment_id: i64, info: &TraceInfo) -> Result<Option<i64>> {
    let key: Option<i64> = conn
        .prepare_cached(
            "INSERT INTO traces (experiment_id, client_request_id, request_time, \
             execution_duration, state, request_preview, response_preview, trace_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (trace_id) DO NOTHING RETURNING trace_key",
        )
        .and_then(|mut s| {
            s.query_row(
                params![
                    experiment_id,
                    info.client_request_id,
                    info.request_time_ms,
                    info.execution_duration_ms,
                    info.state.as_str(),
                    info.request_preview,
                    info.response_preview,
                    info.trace_id.as_str(),
                ],
                |r| r.get(0),
            )
            .optional()
        })
        .map_err(db_err)?;
    if let Some(key) = key {
        adopt_pending_links(conn, key, &info.trace_id, experiment_id)?;
    }
    Ok(key)
}

/// Inserts the tags and metadata of `info` for the trace `key` (which has none yet).
fn insert_pairs(conn: &Connection, key: i64, info: &TraceInfo) -> Result<()> {
    for (table, entries) in [
        ("trace_tags", &info.tags),
        ("trace_metadata", &info.metadata),
    ] {
        let mut stmt = conn
            .prepare_cached(&format!(
                "INSERT INTO {table} (trace_key, key, value) VALUES (?1, ?2, ?3)"
            ))
            .map_err(db_err)?;
        for (k, v) in entries {
            stmt.execute(params![key, k, v]).map_err(db_err)?;
        }
    }
    Ok(())
}

/// Inserts whole new traces (see `TraceStore::insert_complete_traces`); a trace whose ID is
/// stored already is skipped. The experiment is checked before the first write.
pub(crate) fn insert_complete_traces(
    conn: &Connection,
    experiment_id: &str,
    traces: &[CompleteTrace],
) -> Result<u64> {
    let experiment = experiment_id_to_i64(experiment_id)?;
    require_experiment(conn, experiment)?;
    let mut inserted = 0;
    for trace in traces {
        let info = &trace.info;
        let Some(key) = insert_row(conn, experiment, info)? else {
            continue;
        };
        insert_pairs(conn, key, info)?;
        upsert_spans(conn, key, &trace.spans)?;
        inserted += 1;
    }
    Ok(inserted)
}

fn upsert_spans(conn: &Connection, trace_key: i64, spans: &[TraceSpan]) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO spans (trace_key, span_id, parent_span_id, name, span_type, status, \
             start_time, end_time, token_usage, content) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
             ON CONFLICT (trace_key, span_id) DO UPDATE SET parent_span_id = excluded.parent_span_id, \
             name = excluded.name, span_type = excluded.span_type, status = excluded.status, \
             start_time = excluded.start_time, end_time = excluded.end_time, \
             token_usage = excluded.token_usage, content = excluded.content",
        )
        .map_err(db_err)?;
    for span in spans {
        let row = SpanRow::from(span);
        stmt.execute(params![
            trace_key,
            row.span_id,
            row.parent_span_id,
            row.name,
            row.span_type,
            row.status,
            row.start_time,
            row.end_time,
            row.token_usage,
            row.content,
        ])
        .map_err(db_err)?;
    }
    Ok(())
}

fn summaries(conn: &Connection, trace_key: i64) -> Result<Vec<keel_core::traces::SpanSummary>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT span_id, parent_span_id, status, start_time, end_time, token_usage \
             FROM spans WHERE trace_key = ?1",
        )
        .map_err(db_err)?;
    let mut rows = stmt.query([trace_key]).map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(db_err)? {
        let span: String = r.get(0).map_err(db_err)?;
        let parent: Option<String> = r.get(1).map_err(db_err)?;
        let status: String = r.get(2).map_err(db_err)?;
        let usage: Option<String> = r.get(5).map_err(db_err)?;
        out.push(summary_from_columns(
            &span,
            parent.as_deref(),
            &status,
            r.get(3).map_err(db_err)?,
            r.get(4).map_err(db_err)?,
            usage.as_deref(),
        )?);
    }
    Ok(out)
}

fn spans_page(
    conn: &Connection,
    trace_id: &TraceId,
    trace_key: i64,
    extra: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<TraceSpan>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {SPAN_COLUMNS} FROM spans WHERE trace_key = ?1 {extra} \
             ORDER BY parent_span_id IS NOT NULL, start_time, span_id LIMIT ?2 OFFSET ?3"
        ))
        .map_err(db_err)?;
    let mut rows = stmt
        .query(params![trace_key, limit, offset])
        .map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(db_err)? {
        out.push(span_from_row(r, trace_id)?);
    }
    Ok(out)
}

/// A span from a row of [`SPAN_COLUMNS`].
pub(crate) fn span_from_row(r: &rusqlite::Row<'_>, trace_id: &TraceId) -> Result<TraceSpan> {
    let span: String = r.get(0).map_err(db_err)?;
    let parent: Option<String> = r.get(1).map_err(db_err)?;
    let status: String = r.get(3).map_err(db_err)?;
    let content: String = r.get(6).map_err(db_err)?;
    span_from_columns(
        trace_id.clone(),
        &span,
        parent.as_deref(),
        r.get(2).map_err(db_err)?,
        &status,
        r.get(4).map_err(db_err)?,
        r.get(5).map_err(db_err)?,
        &content,
    )
}

pub(crate) fn log_spans(
    conn: &Connection,
    experiment_id: &str,
    experiment_location: &str,
    traces: &[TraceSpans],
) -> Result<()> {
    require_experiment(conn, experiment_id_to_i64(experiment_id)?)?;
    // Checks first: every trace is new or already in this experiment.
    let mut stored = Vec::with_capacity(traces.len());
    for batch in traces {
        let existing = load_info(conn, &batch.trace_id)?;
        if let Some((_, info)) = &existing {
            if info.experiment_id != experiment_id {
                return Err(trace_in_other_experiment(
                    &batch.trace_id,
                    &info.experiment_id,
                ));
            }
        }
        stored.push(existing);
    }
    for (batch, existing) in traces.iter().zip(stored) {
        let (key, mut info) = match existing {
            Some((key, info)) => (key, info),
            None => {
                let info = TraceInfo::new_from_spans(
                    batch.trace_id.clone(),
                    experiment_id,
                    trace_artifact_location(experiment_location, &batch.trace_id),
                );
                (save_info(conn, None, &info)?, info)
            }
        };
        upsert_spans(conn, key, &batch.spans)?;
        let root = spans_page(
            conn,
            &batch.trace_id,
            key,
            "AND parent_span_id IS NULL",
            1,
            0,
        )?;
        refresh_trace_info(&mut info, &summaries(conn, key)?, root.first(), batch);
        save_info(conn, Some(key), &info)?;
    }
    Ok(())
}

pub(crate) fn start_trace(conn: &Connection, info: TraceInfo) -> Result<TraceInfo> {
    require_experiment(conn, experiment_id_to_i64(&info.experiment_id)?)?;
    let (key, merged) = match load_info(conn, &info.trace_id)? {
        Some((key, mut stored)) => {
            stored.merge_client_info(info);
            (Some(key), stored)
        }
        None => {
            let mut fresh = info;
            fresh.metadata.insert(
                keel_core::traces::trace_metadata::INFO_FINALIZED.to_owned(),
                "true".to_owned(),
            );
            (None, fresh)
        }
    };
    save_info(conn, key, &merged)?;
    Ok(merged)
}

pub(crate) fn end_trace(
    conn: &Connection,
    trace_id: &TraceId,
    end: TraceEndV2,
) -> Result<TraceInfo> {
    let (key, mut info) =
        load_info(conn, trace_id)?.ok_or_else(|| trace_not_found(trace_id.as_str()))?;
    info.end(end);
    save_info(conn, Some(key), &info)?;
    Ok(info)
}

pub(crate) fn count_spans(conn: &Connection, trace_id: &TraceId) -> Result<u64> {
    conn.prepare_cached(
        "SELECT count(*) FROM spans WHERE trace_key = (SELECT trace_key FROM traces WHERE trace_id = ?1)",
    )
    .and_then(|mut s| s.query_row([trace_id.as_str()], |r| r.get::<_, i64>(0)))
    .map(|n| u64::try_from(n).unwrap_or(0))
    .map_err(db_err)
}

/// The key of a stored trace.
pub(crate) fn trace_key(conn: &Connection, trace_id: &TraceId) -> Result<Option<i64>> {
    conn.prepare_cached("SELECT trace_key FROM traces WHERE trace_id = ?1")
        .and_then(|mut s| s.query_row([trace_id.as_str()], |r| r.get(0)).optional())
        .map_err(db_err)
}

pub(crate) fn get_spans(
    conn: &Connection,
    trace_id: &TraceId,
    offset: u64,
    limit: u64,
) -> Result<Vec<TraceSpan>> {
    let Some(key) = trace_key(conn, trace_id)? else {
        return Ok(Vec::new());
    };
    let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    spans_page(conn, trace_id, key, "", clamp(limit), clamp(offset))
}

//! SQL for a trace's span skeleton (the span columns only, never `content`) and for one whole
//! span, on SQLite.

use keel_core::Result;
use keel_core::traces::{SpanId, SpanOutline, TraceId, TraceSpan};
use rusqlite::{Connection, params};

use super::db_err;
use super::traces::{span_from_row, trace_key};
use crate::span_rows::{OUTLINE_COLUMNS, SPAN_COLUMNS, outline_from_columns};

/// Every span of the trace as an outline, in read order; `None` when the trace does not exist.
pub(crate) fn span_outlines(
    conn: &Connection,
    trace_id: &TraceId,
) -> Result<Option<Vec<SpanOutline>>> {
    let Some(key) = trace_key(conn, trace_id)? else {
        return Ok(None);
    };
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {OUTLINE_COLUMNS} FROM spans WHERE trace_key = ?1 \
             ORDER BY parent_span_id IS NOT NULL, start_time, span_id"
        ))
        .map_err(db_err)?;
    let mut rows = stmt.query([key]).map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(db_err)? {
        let span: String = r.get(0).map_err(db_err)?;
        let parent: Option<String> = r.get(1).map_err(db_err)?;
        let status: String = r.get(4).map_err(db_err)?;
        out.push(outline_from_columns(
            &span,
            parent.as_deref(),
            r.get(2).map_err(db_err)?,
            r.get(3).map_err(db_err)?,
            &status,
            r.get(5).map_err(db_err)?,
            r.get(6).map_err(db_err)?,
        )?);
    }
    Ok(Some(out))
}

/// One span of the trace, whole.
pub(crate) fn get_span(
    conn: &Connection,
    trace_id: &TraceId,
    span_id: &SpanId,
) -> Result<Option<TraceSpan>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {SPAN_COLUMNS} FROM spans WHERE span_id = ?2 \
             AND trace_key = (SELECT trace_key FROM traces WHERE trace_id = ?1)"
        ))
        .map_err(db_err)?;
    let mut rows = stmt
        .query(params![trace_id.as_str(), span_id.hex()])
        .map_err(db_err)?;
    rows.next()
        .map_err(db_err)?
        .map(|r| span_from_row(r, trace_id))
        .transpose()
}

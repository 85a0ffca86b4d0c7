//! SQL for a trace's span skeleton (the span columns only, never `content`) and for one whole
//! span, on PostgreSQL.

use keel_core::traces::{SpanId, SpanOutline, TraceId, TraceSpan};
use sqlx::PgConnection;

use super::error::PgResult;
use super::traces::{SpanColumns, span_from_row};
use crate::span_rows::{OUTLINE_COLUMNS, SPAN_COLUMNS, outline_from_columns};

type OutlineColumns = (
    String,
    Option<String>,
    String,
    String,
    String,
    i64,
    Option<i64>,
);
/// Every span of the trace as an outline, in read order; `None` when the trace does not exist.
pub(crate) async fn span_outlines(
    conn: &mut PgConnection,
    trace_id: &TraceId,
) -> PgResult<Option<Vec<SpanOutline>>> {
    let key: Option<i64> = sqlx::query_scalar("SELECT trace_key FROM traces WHERE trace_id = $1")
        .bind(trace_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(key) = key else {
        return Ok(None);
    };
    let rows: Vec<OutlineColumns> = sqlx::query_as(&format!(
        "SELECT {OUTLINE_COLUMNS} FROM spans WHERE trace_key = $1 \
         ORDER BY (parent_span_id IS NOT NULL), start_time, span_id"
    ))
    .bind(key)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (span, parent, name, span_type, status, start, end) in rows {
        out.push(outline_from_columns(
            &span,
            parent.as_deref(),
            name,
            span_type,
            &status,
            start,
            end,
        )?);
    }
    Ok(Some(out))
}

/// One span of the trace, whole.
pub(crate) async fn get_span(
    conn: &mut PgConnection,
    trace_id: &TraceId,
    span_id: &SpanId,
) -> PgResult<Option<TraceSpan>> {
    let row: Option<SpanColumns> = sqlx::query_as(&format!(
        "SELECT {SPAN_COLUMNS} FROM spans WHERE span_id = $2 \
         AND trace_key = (SELECT trace_key FROM traces WHERE trace_id = $1)"
    ))
    .bind(trace_id.as_str())
    .bind(span_id.hex())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| span_from_row(trace_id.clone(), row))
        .transpose()
}

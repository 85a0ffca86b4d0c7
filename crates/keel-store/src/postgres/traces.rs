//! SQL for traces on PostgreSQL: trace info with its tags and metadata, and spans.
//!
//! A trace's row is created with `ON CONFLICT DO NOTHING` and then locked `FOR UPDATE`, so span
//! batches and the client's `StartTraceV3` for the same trace, arriving at once from several
//! threads or replicas, apply one after another. A batch locks its traces in ID order.

use std::collections::BTreeMap;

use keel_core::Error;
use keel_core::traces::{
    CompleteTrace, SpanSummary, TraceEndV2, TraceId, TraceInfo, TraceSpan, TraceSpans,
    refresh_trace_info, store::trace_in_other_experiment, trace_artifact_location, trace_metadata,
    trace_not_found,
};
use sqlx::PgConnection;

use super::convert::experiment_id_to_i64;
use super::error::PgResult;
use crate::span_rows::{
    SPAN_COLUMNS, SpanRow, TRACE_COLUMNS, TraceColumns, span_from_columns, summary_from_columns,
    trace_info_from_columns,
};

type SummaryColumns = (
    String,
    Option<String>,
    String,
    i64,
    Option<i64>,
    Option<String>,
);
/// A whole span's columns, read as [`SPAN_COLUMNS`].
pub(crate) type SpanColumns = (
    String,
    Option<String>,
    String,
    String,
    i64,
    Option<i64>,
    String,
);

/// The span of a `SPAN_COLUMNS` row.
pub(crate) fn span_from_row(
    trace_id: TraceId,
    (span, parent, name, status, start, end, content): SpanColumns,
) -> PgResult<TraceSpan> {
    Ok(span_from_columns(
        trace_id,
        &span,
        parent.as_deref(),
        name,
        &status,
        start,
        end,
        &content,
    )?)
}

async fn require_experiment(conn: &mut PgConnection, experiment_id: i64) -> PgResult<()> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT experiment_id FROM experiments WHERE experiment_id = $1")
            .bind(experiment_id)
            .fetch_optional(&mut *conn)
            .await?;
    match found {
        Some(_) => Ok(()),
        None => {
            Err(Error::not_found(format!("No Experiment with id={experiment_id} exists")).into())
        }
    }
}

async fn pairs(
    conn: &mut PgConnection,
    table: &str,
    trace_key: i64,
) -> PgResult<BTreeMap<String, String>> {
    let rows: Vec<(String, String)> = sqlx::query_as(&format!(
        "SELECT key, value FROM {table} WHERE trace_key = $1"
    ))
    .bind(trace_key)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().collect())
}

/// The stored info of a trace and its key; `lock` takes the row `FOR UPDATE`.
pub(crate) async fn load_info(
    conn: &mut PgConnection,
    trace_id: &TraceId,
    lock: bool,
) -> PgResult<Option<(i64, TraceInfo)>> {
    let row: Option<TraceColumns> = sqlx::query_as(&format!(
        "SELECT {TRACE_COLUMNS} FROM traces WHERE trace_id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    ))
    .bind(trace_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let key = row.0;
    let tags = pairs(conn, "trace_tags", key).await?;
    let metadata = pairs(conn, "trace_metadata", key).await?;
    Ok(Some(trace_info_from_columns(row, tags, metadata)?))
}

/// Inserts a placeholder row for the trace unless it exists; returns its key when inserted (with
/// the links that waited for it).
async fn claim(
    conn: &mut PgConnection,
    trace_id: &TraceId,
    experiment_id: i64,
) -> PgResult<Option<i64>> {
    let key: Option<i64> = sqlx::query_scalar(
        "INSERT INTO traces (trace_id, experiment_id, request_time, state) \
         VALUES ($1, $2, 0, 'IN_PROGRESS') ON CONFLICT (trace_id) DO NOTHING RETURNING trace_key",
    )
    .bind(trace_id.as_str())
    .bind(experiment_id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(key) = key {
        super::trace_edits::adopt_pending_links(conn, key, trace_id, experiment_id).await?;
    }
    Ok(key)
}

/// Writes `info` over the trace's row, tags and metadata.
async fn save_info(conn: &mut PgConnection, key: i64, info: &TraceInfo) -> PgResult<()> {
    sqlx::query(
        "UPDATE traces SET experiment_id = $1, client_request_id = $2, request_time = $3, \
         execution_duration = $4, state = $5, request_preview = $6, response_preview = $7 \
         WHERE trace_key = $8",
    )
    .bind(experiment_id_to_i64(&info.experiment_id)?)
    .bind(&info.client_request_id)
    .bind(info.request_time_ms)
    .bind(info.execution_duration_ms)
    .bind(info.state.as_str())
    .bind(&info.request_preview)
    .bind(&info.response_preview)
    .bind(key)
    .execute(&mut *conn)
    .await?;
    for table in ["trace_tags", "trace_metadata"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE trace_key = $1"))
            .bind(key)
            .execute(&mut *conn)
            .await?;
    }
    insert_pairs(conn, key, info).await
}

/// Inserts the tags and metadata of `info` for the trace `key` (which has none).
async fn insert_pairs(conn: &mut PgConnection, key: i64, info: &TraceInfo) -> PgResult<()> {
    for (table, entries) in [
        ("trace_tags", &info.tags),
        ("trace_metadata", &info.metadata),
    ] {
        let (keys, values): (Vec<&str>, Vec<&str>) = entries
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .unzip();
        sqlx::query(&format!(
            "INSERT INTO {table} (trace_key, key, value) \
             SELECT $1, k, v FROM UNNEST($2::text[], $3::text[]) AS t (k, v)"
        ))
        .bind(key)
        .bind(keys)
        .bind(values)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn upsert_spans(
    conn: &mut PgConnection,
    trace_key: i64,
    spans: &[TraceSpan],
) -> PgResult<()> {
    // A batch may repeat a span; the last copy wins, and ON CONFLICT must see each key once.
    let mut rows: BTreeMap<String, SpanRow> = BTreeMap::new();
    for span in spans {
        let row = SpanRow::from(span);
        rows.insert(row.span_id.clone(), row);
    }
    let rows: Vec<SpanRow> = rows.into_values().collect();
    sqlx::query(
        "INSERT INTO spans (trace_key, span_id, parent_span_id, name, span_type, status, \
         start_time, end_time, token_usage, content) \
         SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
             $7::bigint[], $8::bigint[], $9::text[], $10::text[]) \
         ON CONFLICT (trace_key, span_id) DO UPDATE SET parent_span_id = excluded.parent_span_id, \
         name = excluded.name, span_type = excluded.span_type, status = excluded.status, \
         start_time = excluded.start_time, end_time = excluded.end_time, \
         token_usage = excluded.token_usage, content = excluded.content",
    )
    .bind(trace_key)
    .bind(rows.iter().map(|r| r.span_id.as_str()).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.parent_span_id.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.span_type.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.status).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.start_time).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.end_time).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.token_usage.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.content.as_str()).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn summaries(conn: &mut PgConnection, trace_key: i64) -> PgResult<Vec<SpanSummary>> {
    let rows: Vec<SummaryColumns> = sqlx::query_as(
        "SELECT span_id, parent_span_id, status, start_time, end_time, token_usage \
             FROM spans WHERE trace_key = $1",
    )
    .bind(trace_key)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (span, parent, status, start, end, usage) in rows {
        out.push(summary_from_columns(
            &span,
            parent.as_deref(),
            &status,
            start,
            end,
            usage.as_deref(),
        )?);
    }
    Ok(out)
}

async fn spans_page(
    conn: &mut PgConnection,
    trace_id: &TraceId,
    trace_key: i64,
    roots_only: bool,
    limit: i64,
    offset: i64,
) -> PgResult<Vec<TraceSpan>> {
    let rows: Vec<SpanColumns> = sqlx::query_as(&format!(
        "SELECT {SPAN_COLUMNS} FROM spans WHERE trace_key = $1{} \
         ORDER BY (parent_span_id IS NOT NULL), start_time, span_id LIMIT $2 OFFSET $3",
        if roots_only {
            " AND parent_span_id IS NULL"
        } else {
            ""
        }
    ))
    .bind(trace_key)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|row| span_from_row(trace_id.clone(), row))
        .collect()
}

pub(crate) async fn log_spans(
    conn: &mut PgConnection,
    experiment_id: &str,
    experiment_location: &str,
    traces: &[TraceSpans],
) -> PgResult<()> {
    let experiment = experiment_id_to_i64(experiment_id)?;
    require_experiment(conn, experiment).await?;
    let mut ordered: Vec<&TraceSpans> = traces.iter().collect();
    ordered.sort_by(|a, b| a.trace_id.cmp(&b.trace_id));
    for batch in ordered {
        let (key, mut info) = match claim(conn, &batch.trace_id, experiment).await? {
            Some(key) => (
                key,
                TraceInfo::new_from_spans(
                    batch.trace_id.clone(),
                    experiment_id,
                    trace_artifact_location(experiment_location, &batch.trace_id),
                ),
            ),
            None => load_info(conn, &batch.trace_id, true)
                .await?
                .ok_or_else(|| Error::internal("a claimed trace row vanished"))?,
        };
        if info.experiment_id != experiment_id {
            return Err(trace_in_other_experiment(&batch.trace_id, &info.experiment_id).into());
        }
        upsert_spans(conn, key, &batch.spans).await?;
        let root = spans_page(conn, &batch.trace_id, key, true, 1, 0).await?;
        let stored = summaries(conn, key).await?;
        refresh_trace_info(&mut info, &stored, root.first(), batch);
        save_info(conn, key, &info).await?;
    }
    Ok(())
}

/// Inserts whole new traces (see `TraceStore::insert_complete_traces`), in trace ID order; a
/// trace whose ID is stored already is skipped.
pub(crate) async fn insert_complete_traces(
    conn: &mut PgConnection,
    experiment_id: &str,
    traces: &[CompleteTrace],
) -> PgResult<u64> {
    let experiment = experiment_id_to_i64(experiment_id)?;
    require_experiment(conn, experiment).await?;
    let mut ordered: Vec<&CompleteTrace> = traces.iter().collect();
    ordered.sort_by(|a, b| a.info.trace_id.cmp(&b.info.trace_id));
    let mut inserted = 0;
    for trace in ordered {
        let info = &trace.info;
        let key: Option<i64> = sqlx::query_scalar(
            "INSERT INTO traces (trace_id, experiment_id, client_request_id, request_time, \
             execution_duration, state, request_preview, response_preview) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (trace_id) DO NOTHING RETURNING trace_key",
        )
        .bind(info.trace_id.as_str())
        .bind(experiment)
        .bind(&info.client_request_id)
        .bind(info.request_time_ms)
        .bind(info.execution_duration_ms)
        .bind(info.state.as_str())
        .bind(&info.request_preview)
        .bind(&info.response_preview)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(key) = key else { continue };
        super::trace_edits::adopt_pending_links(conn, key, &info.trace_id, experiment).await?;
        insert_pairs(conn, key, info).await?;
        upsert_spans(conn, key, &trace.spans).await?;
        inserted += 1;
    }
    Ok(inserted)
}

pub(crate) async fn start_trace(conn: &mut PgConnection, info: &TraceInfo) -> PgResult<TraceInfo> {
    let experiment = experiment_id_to_i64(&info.experiment_id)?;
    require_experiment(conn, experiment).await?;
    let (key, merged) = match claim(conn, &info.trace_id, experiment).await? {
        Some(key) => {
            let mut fresh = info.clone();
            fresh
                .metadata
                .insert(trace_metadata::INFO_FINALIZED.to_owned(), "true".to_owned());
            (key, fresh)
        }
        None => {
            let (key, mut stored) = load_info(conn, &info.trace_id, true)
                .await?
                .ok_or_else(|| Error::internal("a claimed trace row vanished"))?;
            stored.merge_client_info(info.clone());
            (key, stored)
        }
    };
    save_info(conn, key, &merged).await?;
    Ok(merged)
}

pub(crate) async fn end_trace(
    conn: &mut PgConnection,
    trace_id: &TraceId,
    end: TraceEndV2,
) -> PgResult<TraceInfo> {
    let (key, mut info) = load_info(conn, trace_id, true)
        .await?
        .ok_or_else(|| trace_not_found(trace_id.as_str()))?;
    info.end(end);
    save_info(conn, key, &info).await?;
    Ok(info)
}

pub(crate) async fn count_spans(conn: &mut PgConnection, trace_id: &TraceId) -> PgResult<u64> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM spans WHERE trace_key = \
         (SELECT trace_key FROM traces WHERE trace_id = $1)",
    )
    .bind(trace_id.as_str())
    .fetch_one(&mut *conn)
    .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(crate) async fn get_spans(
    conn: &mut PgConnection,
    trace_id: &TraceId,
    offset: u64,
    limit: u64,
) -> PgResult<Vec<TraceSpan>> {
    let key: Option<i64> = sqlx::query_scalar("SELECT trace_key FROM traces WHERE trace_id = $1")
        .bind(trace_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(key) = key else {
        return Ok(Vec::new());
    };
    let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    spans_page(conn, trace_id, key, false, clamp(limit), clamp(offset)).await
}

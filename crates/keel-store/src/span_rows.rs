//! How both backends store a span (searchable columns plus one JSON `content` document holding
//! what is only ever read whole: attributes, events, the status message) and read a trace's row.

use std::collections::BTreeMap;

use keel_core::traces::{
    SpanEvent, SpanId, SpanOutline, SpanStatus, SpanStatusCode, SpanSummary, TokenUsage, TraceId,
    TraceInfo, TraceSpan, TraceState, span_keys,
};
use keel_core::{Error, Result};
use serde_json::{Map, Value, json};

/// A span's columns, ready to bind.
pub(crate) struct SpanRow {
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub name: String,
    pub span_type: String,
    pub status: &'static str,
    pub start_time: i64,
    pub end_time: Option<i64>,
    /// `mlflow.chat.tokenUsage` as JSON, for trace-level sums without loading the content.
    pub token_usage: Option<String>,
    pub content: String,
}

impl From<&TraceSpan> for SpanRow {
    fn from(s: &TraceSpan) -> Self {
        let events: Vec<Value> = s
            .events
            .iter()
            .map(|e| json!({"name": e.name, "time_unix_nano": e.time_unix_nano, "attributes": e.attributes}))
            .collect();
        Self {
            span_id: s.span_id.hex(),
            parent_span_id: s.parent_span_id.map(|p| p.hex()),
            name: s.name.clone(),
            span_type: s.span_type().to_owned(),
            status: s.status.code.as_str(),
            start_time: s.start_time_unix_nano,
            end_time: s.end_time_unix_nano,
            token_usage: s
                .attributes
                .get(span_keys::TOKEN_USAGE)
                .and_then(TokenUsage::from_attribute)
                .map(|u| u.to_json().to_string()),
            content: json!({
                "attributes": s.attributes,
                "events": events,
                "status_message": s.status.message,
            })
            .to_string(),
        }
    }
}

fn corrupt(what: &str) -> Error {
    Error::internal(format!("stored trace data has an invalid {what}"))
}

fn span_id(hex: &str) -> Result<SpanId> {
    SpanId::parse(hex).map_err(|_| corrupt("span ID"))
}

fn status_code(s: &str) -> Result<SpanStatusCode> {
    match s {
        "UNSET" => Ok(SpanStatusCode::Unset),
        "OK" => Ok(SpanStatusCode::Ok),
        "ERROR" => Ok(SpanStatusCode::Error),
        _ => Err(corrupt("status")),
    }
}

/// A span read back from its columns (`span_id, parent_span_id, name, status, start_time,
/// end_time, content`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn span_from_columns(
    trace_id: TraceId,
    span: &str,
    parent: Option<&str>,
    name: String,
    status: &str,
    start_time: i64,
    end_time: Option<i64>,
    content: &str,
) -> Result<TraceSpan> {
    let mut doc: Map<String, Value> =
        serde_json::from_str(content).map_err(|_| corrupt("content"))?;
    let attributes = match doc.remove("attributes") {
        Some(Value::Object(a)) => a,
        _ => Map::new(),
    };
    let events = match doc.remove("events") {
        Some(Value::Array(events)) => events
            .into_iter()
            .map(|mut e| SpanEvent {
                name: e["name"].as_str().unwrap_or_default().to_owned(),
                time_unix_nano: e["time_unix_nano"].as_i64().unwrap_or_default(),
                attributes: match e.get_mut("attributes").map(Value::take) {
                    Some(Value::Object(a)) => a,
                    _ => Map::new(),
                },
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(TraceSpan {
        trace_id,
        span_id: span_id(span)?,
        parent_span_id: parent.map(span_id).transpose()?,
        name,
        start_time_unix_nano: start_time,
        end_time_unix_nano: end_time,
        status: SpanStatus {
            code: status_code(status)?,
            message: doc
                .get("status_message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        },
        attributes,
        events,
    })
}

/// The columns a whole span is read from, in [`span_from_columns`]' order.
pub(crate) const SPAN_COLUMNS: &str =
    "span_id, parent_span_id, name, status, start_time, end_time, content";

/// The columns a span's outline is read from, in [`outline_from_columns`]' order; never the
/// content.
pub(crate) const OUTLINE_COLUMNS: &str =
    "span_id, parent_span_id, name, span_type, status, start_time, end_time";

/// A span's outline from [`OUTLINE_COLUMNS`].
pub(crate) fn outline_from_columns(
    span: &str,
    parent: Option<&str>,
    name: String,
    span_type: String,
    status: &str,
    start_time: i64,
    end_time: Option<i64>,
) -> Result<SpanOutline> {
    Ok(SpanOutline {
        span_id: span_id(span)?,
        parent_span_id: parent.map(span_id).transpose()?,
        name,
        span_type,
        status: status_code(status)?,
        start_time_unix_nano: start_time,
        end_time_unix_nano: end_time,
    })
}

/// A span's summary from its columns (`span_id, parent_span_id, status, start_time, end_time,
/// token_usage`).
pub(crate) fn summary_from_columns(
    span: &str,
    parent: Option<&str>,
    status: &str,
    start_time: i64,
    end_time: Option<i64>,
    token_usage: Option<&str>,
) -> Result<SpanSummary> {
    Ok(SpanSummary {
        span_id: span_id(span)?,
        parent_span_id: parent.map(span_id).transpose()?,
        start_time_unix_nano: start_time,
        end_time_unix_nano: end_time,
        status: status_code(status)?,
        token_usage: token_usage
            .and_then(|u| serde_json::from_str::<Value>(u).ok())
            .and_then(|u| TokenUsage::from_attribute(&u)),
    })
}

/// The columns of a trace's row every read selects, in [`TraceColumns`]' order.
pub(crate) const TRACE_COLUMNS: &str = "trace_key, trace_id, experiment_id, client_request_id, \
     request_time, execution_duration, state, request_preview, response_preview";

/// A trace's row as [`TRACE_COLUMNS`] selects it.
pub(crate) type TraceColumns = (
    i64,
    String,
    i64,
    Option<String>,
    i64,
    Option<i64>,
    String,
    Option<String>,
    Option<String>,
);

/// A trace's info from its row and its tags and metadata; also returns the row's key.
pub(crate) fn trace_info_from_columns(
    row: TraceColumns,
    tags: BTreeMap<String, String>,
    metadata: BTreeMap<String, String>,
) -> Result<(i64, TraceInfo)> {
    let (key, id, experiment, client_request_id, time, duration, state, req, resp) = row;
    Ok((
        key,
        TraceInfo {
            trace_id: TraceId::parse(&id).map_err(|_| corrupt("trace ID"))?,
            experiment_id: experiment.to_string(),
            client_request_id,
            request_time_ms: time,
            execution_duration_ms: duration,
            state: TraceState::parse(&state).map_err(|_| corrupt("trace state"))?,
            request_preview: req,
            response_preview: resp,
            metadata,
            tags,
        },
    ))
}

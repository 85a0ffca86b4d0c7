//! A trace's span skeleton (each span's columns without its content) and single spans, so a
//! viewer can draw a trace of tens of thousands of spans and load one span's details on demand.

use super::entities::{SpanId, SpanStatusCode, TraceId, TraceSpan};
use super::service::{Traces, trace_not_found};
use crate::error::{Error, Result};

/// One span without its attributes and events: what a trace's tree and timeline need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanOutline {
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    pub name: String,
    /// The MLflow span type (`LLM`, `CHAIN`, ..., `UNKNOWN`).
    pub span_type: String,
    pub status: SpanStatusCode,
    pub start_time_unix_nano: i64,
    /// `None` while the span is open.
    pub end_time_unix_nano: Option<i64>,
}

/// A trace's span outlines in read order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanSkeleton {
    pub trace_id: TraceId,
    pub spans: Vec<SpanOutline>,
}

impl Traces {
    /// Every stored span of the trace as an outline, in read order (the root first, then by
    /// start time). A trace still receiving spans answers with what is stored now.
    pub async fn span_skeleton(&self, trace_id: &str) -> Result<SpanSkeleton> {
        let id = Self::parse_id(trace_id)?;
        let spans = self
            .store
            .span_outlines(&id)
            .await?
            .ok_or_else(|| trace_not_found(trace_id))?;
        Ok(SpanSkeleton {
            trace_id: id,
            spans,
        })
    }

    /// One span of the trace with its attributes and events. A malformed span ID is invalid;
    /// an unknown trace or span is not found.
    pub async fn get_span(&self, trace_id: &str, span_id: &str) -> Result<TraceSpan> {
        let id = Self::parse_id(trace_id)?;
        let span = SpanId::parse(span_id)?;
        if let Some(found) = self.store.get_span(&id, &span).await? {
            return Ok(found);
        }
        // Only a miss pays for telling a missing trace from a missing span.
        match self.store.get_trace_info(&id).await? {
            None => Err(trace_not_found(trace_id)),
            Some(_) => Err(Error::not_found(format!(
                "Span with ID '{span_id}' not found in trace '{trace_id}'."
            ))),
        }
    }
}

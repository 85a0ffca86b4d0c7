//! Wire types of Keel's Ajax-only span endpoints: a trace's span skeleton as compact rows, and
//! one span as `traces/get` renders it.
//!
//! Skeleton times are microseconds since the epoch: nanoseconds past 2^53 lose precision in a
//! JavaScript number, microseconds stay exact for the next few centuries.

use keel_core::traces::{SpanOutline, SpanSkeleton, TraceSpan};
use serde::Serialize;
use serde_json::Value;

use super::traces::otel_span;

/// `{"trace_id": "tr-...", "spans": [row, ...]}`, rows in read order (root first, then by start
/// time).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SpanSkeletonOut {
    pub trace_id: String,
    pub spans: Vec<OutlineRow>,
}

impl From<SpanSkeleton> for SpanSkeletonOut {
    fn from(s: SpanSkeleton) -> Self {
        Self {
            trace_id: s.trace_id.to_string(),
            spans: s.spans.into_iter().map(OutlineRow::from).collect(),
        }
    }
}

/// `[span_id, parent_span_id | null, name, span_type, status, start_us, end_us | null]`, span IDs
/// as 16 lowercase hex digits, status `UNSET`, `OK` or `ERROR`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct OutlineRow(
    String,
    Option<String>,
    String,
    String,
    &'static str,
    i64,
    Option<i64>,
);

/// Nanoseconds to whole microseconds, rounding down (also before 1970).
pub fn micros(nanos: i64) -> i64 {
    nanos.div_euclid(1_000)
}

impl From<SpanOutline> for OutlineRow {
    fn from(o: SpanOutline) -> Self {
        Self(
            o.span_id.hex(),
            o.parent_span_id.map(|p| p.hex()),
            o.name,
            o.span_type,
            o.status.as_str(),
            micros(o.start_time_unix_nano),
            o.end_time_unix_nano.map(micros),
        )
    }
}

/// `{"span": <one element of traces/get's span list>}`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SpanOut {
    pub span: Value,
}

impl From<&TraceSpan> for SpanOut {
    fn from(span: &TraceSpan) -> Self {
        Self {
            span: otel_span(span),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::traces::{SpanId, SpanStatusCode};

    #[test]
    fn rows_are_compact_arrays_with_microseconds() {
        let row = OutlineRow::from(SpanOutline {
            span_id: SpanId([0xab; 8]),
            parent_span_id: None,
            name: "root".into(),
            span_type: "LLM".into(),
            status: SpanStatusCode::Error,
            start_time_unix_nano: 1_700_000_000_123_456_789,
            end_time_unix_nano: None,
        });
        assert_eq!(
            serde_json::to_string(&row).expect("json"),
            r#"["abababababababab",null,"root","LLM","ERROR",1700000000123456,null]"#
        );
        assert_eq!(micros(-1), -1);
        assert_eq!(micros(1_999), 1);
    }
}

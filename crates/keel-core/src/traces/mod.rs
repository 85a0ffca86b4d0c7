//! LLM tracing as the domain sees it: traces, their spans and what is derived from them.
//!
//! Spans arrive from OpenTelemetry exporters (the official client sends its spans over OTLP too)
//! and trace summaries from the client's `StartTraceV3`, in either order. Attribute values are
//! kept as decoded JSON values (never JSON-in-a-string), so the wire layer can render them as
//! OTLP `AnyValue`s or as MLflow's JSON-encoded span attributes.

pub mod annotations;
pub mod assessments;
pub mod correlation;
pub mod entities;
pub mod info;
pub mod metrics;
pub mod retention;
pub mod search;
pub mod service;
pub mod skeleton;
pub mod store;
pub mod summary;
pub mod translate;

pub use assessments::{Assessment, AssessmentUpdate, AssessmentValue, SourceType};
pub use correlation::{FilterCorrelation, FilterCorrelationRequest};
pub use entities::{
    SpanEvent, SpanId, SpanStatus, SpanStatusCode, TraceId, TraceSpan, TraceState, attribute_text,
    span_keys,
};
pub use info::{TraceEndV2, TraceInfo, TraceStartV2, trace_metadata, trace_tags};
pub use search::{SearchTraces, TraceQuery};
pub use service::{IncomingSpan, Resource, Trace, Traces, parse_trace_id, trace_not_found};
pub use skeleton::{SpanOutline, SpanSkeleton};
pub use store::{
    CompleteTrace, TraceDeletion, TraceSpans, TraceStore, refresh_trace_info,
    trace_artifact_location,
};
pub use summary::{SpanSummary, TokenUsage, TraceSummary, aggregate_token_usage};

//! The storage a trace service needs, implemented by each backend in `keel-store`, and the
//! pure steps a backend runs inside its transaction so both backends behave the same.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::assessments::Assessment;
use super::entities::{SpanId, TraceId, TraceSpan, attribute_text, span_keys};
use super::info::{TraceEndV2, TraceInfo};
use super::skeleton::SpanOutline;
use super::summary::{SpanSummary, TraceSummary};
use crate::error::{Error, Result};

/// The spans of one trace from one OTLP batch, with their resource's attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSpans {
    pub trace_id: TraceId,
    pub spans: Vec<TraceSpan>,
    pub resource: super::service::Resource,
}

/// Where the client would upload a trace's `traces.json`.
pub fn trace_artifact_location(experiment_location: &str, trace_id: &TraceId) -> String {
    crate::uri::append_to_uri(
        experiment_location,
        &format!("traces/{}/artifacts", trace_id.as_str()),
    )
}

/// Trace tags a root span carries as `mlflow.traceTag.<key>` attributes.
pub(crate) fn root_trace_tags(spans: &[TraceSpan]) -> BTreeMap<String, String> {
    spans
        .iter()
        .filter(|s| s.is_root())
        .flat_map(|s| s.attributes.iter())
        .filter_map(|(k, v)| {
            let key = k.strip_prefix(span_keys::TRACE_TAG_PREFIX)?;
            Some((key.to_owned(), attribute_text(v)))
        })
        .collect()
}

/// The step a store runs after storing a batch's spans of one trace: `info` (as stored, or new)
/// absorbs what every stored span (`stored`) and the root span (`root`, if stored) now say.
pub fn refresh_trace_info(
    info: &mut TraceInfo,
    stored: &[SpanSummary],
    root: Option<&TraceSpan>,
    batch: &TraceSpans,
) {
    if let Some(summary) = TraceSummary::derive(stored, root) {
        info.absorb_spans(&summary, &root_trace_tags(&batch.spans), &batch.resource);
    }
}

/// A whole trace written at once by the server itself (a gateway call's trace): its final info
/// ([`TraceInfo::of_complete_trace`]) and every span.
#[derive(Debug, Clone, PartialEq)]
pub struct CompleteTrace {
    pub info: TraceInfo,
    pub spans: Vec<TraceSpan>,
}

/// Which traces of an experiment `delete_traces` removes: those named, or the oldest (by request
/// time) at or before `max_timestamp_ms`, at most `max_traces` of them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceDeletion {
    pub trace_ids: Vec<TraceId>,
    pub max_timestamp_ms: Option<i64>,
    pub max_traces: Option<u64>,
}

/// The error for spans sent to a trace of another experiment.
pub fn trace_in_other_experiment(trace_id: &TraceId, experiment_id: &str) -> Error {
    Error::invalid(format!(
        "Trace '{}' belongs to experiment '{experiment_id}'; its spans cannot be logged to \
         another experiment.",
        trace_id.as_str()
    ))
}

#[async_trait]
pub trait TraceStore: Send + Sync {
    /// In one transaction: checks the experiment is active, then for each trace stores its spans
    /// (a span stored before under the same ID is replaced), creates its info if it is new
    /// ([`TraceInfo::new_from_spans`] with [`trace_artifact_location`] under
    /// `experiment_location`) and refreshes it with [`refresh_trace_info`].
    async fn log_spans(
        &self,
        experiment_id: &str,
        experiment_location: &str,
        traces: Vec<TraceSpans>,
    ) -> Result<()>;

    /// In one transaction: checks the experiment exists, then inserts each new, whole trace —
    /// its info as given, tags, metadata and spans — with no read-back or merge (the caller
    /// computed the final info). A trace whose ID is already stored is left as it is and not
    /// counted. Returns how many traces were inserted.
    async fn insert_complete_traces(
        &self,
        experiment_id: &str,
        traces: Vec<CompleteTrace>,
    ) -> Result<u64>;

    /// Stores the client's info of a trace, merged into the stored info when spans came first
    /// ([`TraceInfo::merge_client_info`]); returns the stored result.
    async fn start_trace(&self, info: TraceInfo) -> Result<TraceInfo>;

    /// Applies the client's v2 `EndTrace` ([`TraceInfo::end`]) to the stored info; returns the
    /// result. Fails if the trace does not exist.
    async fn end_trace(&self, trace_id: &TraceId, end: TraceEndV2) -> Result<TraceInfo>;

    async fn get_trace_info(&self, trace_id: &TraceId) -> Result<Option<TraceInfo>>;

    /// How many spans of the trace are stored.
    async fn count_spans(&self, trace_id: &TraceId) -> Result<u64>;

    /// A page of the trace's spans: the root first, then by start time (and span ID).
    async fn get_spans(
        &self,
        trace_id: &TraceId,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<TraceSpan>>;

    /// Every span of the trace as an outline read from the span columns only (never the
    /// content), in [`TraceStore::get_spans`]' order; `None` when the trace does not exist.
    async fn span_outlines(&self, trace_id: &TraceId) -> Result<Option<Vec<SpanOutline>>>;

    /// One span of the trace, whole; `None` when the trace or the span does not exist.
    async fn get_span(&self, trace_id: &TraceId, span_id: &SpanId) -> Result<Option<TraceSpan>>;

    /// Sets a trace tag; fails if the trace does not exist.
    async fn set_trace_tag(&self, trace_id: &TraceId, key: &str, value: &str) -> Result<()>;

    /// Deletes a trace tag; fails if the trace or the tag does not exist.
    async fn delete_trace_tag(&self, trace_id: &TraceId, key: &str) -> Result<()>;

    /// Deletes traces of the experiment (with everything that hangs off them); returns how many.
    async fn delete_traces(&self, experiment_id: &str, which: &TraceDeletion) -> Result<u64>;

    /// Links the traces to the run (links that exist already are kept). A trace that does not
    /// exist yet is linked when it is created in the run's experiment: the client sends traces
    /// asynchronously, so the link often comes first. A run deleted before then drops the link.
    async fn link_traces_to_run(&self, trace_ids: &[TraceId], run_id: &str) -> Result<()>;

    /// Links prompt versions (`(name, version)`) to the trace; fails if it does not exist.
    async fn link_prompts_to_trace(
        &self,
        trace_id: &TraceId,
        prompts: &[(String, String)],
    ) -> Result<()>;

    /// Stores a new assessment; when it overrides another one of the same trace, that one is
    /// marked invalid in the same transaction. Fails if the trace or the overridden assessment
    /// does not exist.
    async fn create_assessment(&self, assessment: &Assessment) -> Result<()>;

    /// Replaces a stored assessment (same ID and trace) with `assessment`.
    async fn update_assessment(&self, assessment: &Assessment) -> Result<()>;

    /// Deletes an assessment (a missing one is not an error); one it overrode becomes valid
    /// again. Returns whether it existed.
    async fn delete_assessment(&self, trace_id: &TraceId, assessment_id: &str) -> Result<bool>;

    async fn get_assessment(
        &self,
        trace_id: &TraceId,
        assessment_id: &str,
    ) -> Result<Option<Assessment>>;

    /// The assessments of each trace, oldest first.
    async fn list_assessments(&self, trace_ids: &[TraceId]) -> Result<Vec<Assessment>>;

    /// Up to `limit` traces (of any experiment) requested before `cutoff_ms`, oldest first, with
    /// their `mlflow.artifactLocation` tag.
    async fn traces_before(
        &self,
        cutoff_ms: i64,
        limit: u64,
    ) -> Result<Vec<(TraceId, Option<String>)>>;

    /// Deletes the traces (with everything that hangs off them); returns how many existed.
    async fn purge_traces(&self, trace_ids: &[TraceId]) -> Result<u64>;

    /// The infos of the traces matching `query`, in its order, `query.limit` at most.
    async fn search_traces(&self, query: &super::search::TraceQuery) -> Result<Vec<TraceInfo>>;

    /// The grouped, aggregated rows of a trace-metrics query (items read in one pass and fed
    /// to [`super::metrics::Aggregator`]).
    async fn trace_metrics(
        &self,
        query: &super::metrics::MetricQuery,
    ) -> Result<Vec<super::metrics::MetricRow>>;

    /// How many traces of the experiments match each of `filters` (counted in one read).
    async fn count_traces(
        &self,
        experiment_ids: &[String],
        filters: &[Vec<keel_filter::traces::TraceComparison>],
    ) -> Result<Vec<u64>>;
}

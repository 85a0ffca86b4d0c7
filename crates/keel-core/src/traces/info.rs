//! A trace's info (`TraceInfoV3`): what the client's `StartTraceV3` says about a trace and what
//! the server derives from its spans, merged by the reference's rules whichever arrives first.

use std::collections::BTreeMap;

use super::entities::{TraceId, TraceSpan, TraceState};
use super::store::root_trace_tags;
use super::summary::{SpanSummary, TraceSummary};

/// Trace tag keys with a meaning to the server.
pub mod trace_tags {
    /// Where the client would upload `traces.json`: `<experiment location>/traces/<id>/artifacts`.
    pub const ARTIFACT_LOCATION: &str = "mlflow.artifactLocation";
    pub const TRACE_NAME: &str = "mlflow.traceName";
    /// `TRACKING_STORE` once spans are stored in the database; tells the client not to upload
    /// `traces.json` and to read spans through the API.
    pub const SPANS_LOCATION: &str = "mlflow.trace.spansLocation";
    pub const SPANS_IN_TRACKING_STORE: &str = "TRACKING_STORE";
}

/// Trace metadata keys with a meaning to the server.
pub mod trace_metadata {
    /// Set once the client's `StartTraceV3` has arrived: later spans no longer move the trace's
    /// times, state or previews.
    pub const INFO_FINALIZED: &str = "mlflow.trace.infoFinalized";
    pub const TOKEN_USAGE: &str = "mlflow.trace.tokenUsage";
    /// `{"num_spans": N, ...}`: how many spans a complete trace has.
    pub const SIZE_STATS: &str = "mlflow.trace.sizeStats";
    pub const SOURCE_RUN: &str = "mlflow.sourceRun";
    pub const SCHEMA_VERSION: &str = "mlflow.trace_schema.version";
}

/// Resource attributes that never become trace tags: the SDK's own, MLflow's, and those a
/// trace tag cannot hold (keys over MLflow's 250 characters; values are cut to 8,000).
fn is_internal_resource_attribute(key: &str) -> bool {
    key.starts_with("telemetry.sdk.")
        || key.starts_with("mlflow.")
        || key.chars().count() > MAX_RESOURCE_TAG_KEY_CHARS
}

const MAX_RESOURCE_TAG_KEY_CHARS: usize = 250;
const MAX_RESOURCE_TAG_VALUE_CHARS: usize = 8000;

/// A resource attribute's value as a trace tag: cut to MLflow's trace-tag limit.
fn resource_tag_value(value: &str) -> String {
    let mut value = value.to_owned();
    crate::validation::truncate_value(&mut value, MAX_RESOURCE_TAG_VALUE_CHARS);
    value
}

/// How many bytes of a resource's attributes become each trace's tags (at most).
pub fn resource_tag_bytes(resource: &BTreeMap<String, String>) -> usize {
    resource
        .iter()
        .filter(|(k, _)| !is_internal_resource_attribute(k))
        .map(|(k, v)| k.len() + v.len().min(MAX_RESOURCE_TAG_VALUE_CHARS * 4))
        .sum()
}

/// What the client's v2 `StartTrace` says about a new trace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceStartV2 {
    pub experiment_id: String,
    pub request_time_ms: i64,
    pub metadata: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

/// What the client's v2 `EndTrace` says about a trace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceEndV2 {
    pub end_time_ms: i64,
    pub state: TraceState,
    pub metadata: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

/// A trace's info as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceInfo {
    pub trace_id: TraceId,
    pub experiment_id: String,
    pub client_request_id: Option<String>,
    pub request_time_ms: i64,
    pub execution_duration_ms: Option<i64>,
    pub state: TraceState,
    pub request_preview: Option<String>,
    pub response_preview: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

impl TraceInfo {
    /// The info of a trace first seen through its spans.
    pub fn new_from_spans(
        trace_id: TraceId,
        experiment_id: &str,
        artifact_location: String,
    ) -> Self {
        Self {
            trace_id,
            experiment_id: experiment_id.to_owned(),
            client_request_id: None,
            request_time_ms: 0,
            execution_duration_ms: None,
            state: TraceState::InProgress,
            request_preview: None,
            response_preview: None,
            metadata: BTreeMap::from([(trace_metadata::SCHEMA_VERSION.to_owned(), "3".to_owned())]),
            tags: BTreeMap::from([(trace_tags::ARTIFACT_LOCATION.to_owned(), artifact_location)]),
        }
    }

    /// The final info of a whole trace the server writes at once: exactly what storing its
    /// spans ([`crate::traces::refresh_trace_info`]) and then `client`'s info
    /// ([`TraceInfo::merge_client_info`]) one after another would leave, computed in memory.
    pub fn of_complete_trace(
        client: TraceInfo,
        spans: &[TraceSpan],
        artifact_location: String,
    ) -> Self {
        let mut info = Self::new_from_spans(
            client.trace_id.clone(),
            &client.experiment_id,
            artifact_location,
        );
        let summaries: Vec<SpanSummary> = spans.iter().map(SpanSummary::from).collect();
        let root = spans.iter().find(|s| s.is_root());
        if let Some(summary) = TraceSummary::derive(&summaries, root) {
            info.absorb_spans(&summary, &root_trace_tags(spans), &BTreeMap::new());
        }
        info.merge_client_info(client);
        info
    }

    pub fn is_finalized(&self) -> bool {
        self.metadata
            .get(trace_metadata::INFO_FINALIZED)
            .is_some_and(|v| v == "true")
    }

    /// Folds in what the stored spans say (after a batch of spans was stored): the spans'
    /// location always; times, state and previews only until the client's own info arrives
    /// (previews only where none is set); the trace name, token usage and tags the root span
    /// carries (`mlflow.traceTag.<key>`) and the resource's attributes where not set already.
    pub fn absorb_spans(
        &mut self,
        summary: &TraceSummary,
        root_trace_tags: &BTreeMap<String, String>,
        resource: &BTreeMap<String, String>,
    ) {
        self.tags.insert(
            trace_tags::SPANS_LOCATION.to_owned(),
            trace_tags::SPANS_IN_TRACKING_STORE.to_owned(),
        );
        if !self.is_finalized() {
            self.request_time_ms = summary.request_time_ms;
            self.execution_duration_ms = summary.execution_duration_ms;
            if matches!(self.state, TraceState::InProgress | TraceState::Unspecified) {
                self.state = summary.state;
            }
            if self.request_preview.is_none() {
                self.request_preview.clone_from(&summary.request_preview);
            }
            if self.response_preview.is_none() {
                self.response_preview.clone_from(&summary.response_preview);
            }
        }
        if let Some(name) = &summary.trace_name {
            self.tags
                .entry(trace_tags::TRACE_NAME.to_owned())
                .or_insert_with(|| name.clone());
        }
        if let Some(usage) = &summary.token_usage {
            self.metadata
                .entry(trace_metadata::TOKEN_USAGE.to_owned())
                .or_insert_with(|| crate::pyjson::dumps(&usage.to_json(), false));
        }
        for (k, v) in root_trace_tags {
            self.tags.insert(k.clone(), v.clone());
        }
        for (k, v) in resource
            .iter()
            .filter(|(k, _)| !is_internal_resource_attribute(k))
        {
            self.tags
                .entry(k.clone())
                .or_insert_with(|| resource_tag_value(v));
        }
    }

    /// Merges the client's `StartTraceV3` into a trace whose spans arrived first: the client's
    /// fields win, tags and metadata are merged (the client's values win, but the spans'
    /// location stays), and the info is marked final.
    pub fn merge_client_info(&mut self, client: TraceInfo) {
        let spans_location = self.tags.get(trace_tags::SPANS_LOCATION).cloned();
        let artifact_location = self.tags.get(trace_tags::ARTIFACT_LOCATION).cloned();
        self.experiment_id = client.experiment_id;
        self.client_request_id = client.client_request_id.or(self.client_request_id.take());
        self.request_time_ms = client.request_time_ms;
        self.execution_duration_ms = client.execution_duration_ms;
        self.state = client.state;
        if client.request_preview.is_some() {
            self.request_preview = client.request_preview;
        }
        if client.response_preview.is_some() {
            self.response_preview = client.response_preview;
        }
        self.tags.extend(client.tags);
        self.metadata.extend(client.metadata);
        for (key, kept) in [
            (trace_tags::SPANS_LOCATION, spans_location),
            (trace_tags::ARTIFACT_LOCATION, artifact_location),
        ] {
            if let Some(value) = kept {
                self.tags.insert(key.to_owned(), value);
            }
        }
        self.metadata
            .insert(trace_metadata::INFO_FINALIZED.to_owned(), "true".to_owned());
    }

    /// Applies the v2 `EndTrace` of a trace the client started with the v2 `StartTrace`: the
    /// execution time runs from the start to `end.end_time_ms`; tags and metadata are merged
    /// (the client's values win, but the artifact location stays).
    pub fn end(&mut self, end: TraceEndV2) {
        let artifact_location = self.tags.get(trace_tags::ARTIFACT_LOCATION).cloned();
        self.execution_duration_ms = Some(end.end_time_ms.saturating_sub(self.request_time_ms));
        self.state = end.state;
        self.metadata.extend(end.metadata);
        self.tags.extend(end.tags);
        if let Some(location) = artifact_location {
            self.tags
                .insert(trace_tags::ARTIFACT_LOCATION.to_owned(), location);
        }
    }

    /// Whether `stored` spans are all the client said the trace has (true when it said nothing).
    pub fn is_complete(&self, stored: u64) -> bool {
        self.expected_span_count().is_none_or(|n| stored >= n)
    }

    /// How many spans the client says the trace has (`mlflow.trace.sizeStats`), if it said.
    pub fn expected_span_count(&self) -> Option<u64> {
        let stats: serde_json::Value =
            serde_json::from_str(self.metadata.get(trace_metadata::SIZE_STATS)?).ok()?;
        stats.get("num_spans")?.as_u64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traces::summary::TokenUsage;

    fn summary() -> TraceSummary {
        TraceSummary {
            request_time_ms: 100,
            execution_duration_ms: Some(50),
            state: TraceState::Error,
            request_preview: Some("q".into()),
            response_preview: Some("a".into()),
            trace_name: Some("agent".into()),
            token_usage: Some(TokenUsage {
                input_tokens: 1,
                output_tokens: 2,
                total_tokens: 3,
                ..Default::default()
            }),
        }
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn spans_fill_a_new_trace() {
        let mut info = TraceInfo::new_from_spans(
            TraceId::from_otel([1; 16]),
            "7",
            "s3://b/7/traces/x/artifacts".into(),
        );
        info.absorb_spans(
            &summary(),
            &map(&[("team", "search")]),
            &map(&[
                ("service.name", "shop"),
                ("telemetry.sdk.name", "otel"),
                ("mlflow.x", "y"),
            ]),
        );
        assert_eq!(
            (info.request_time_ms, info.execution_duration_ms),
            (100, Some(50))
        );
        assert_eq!(info.state, TraceState::Error);
        assert_eq!(info.request_preview.as_deref(), Some("q"));
        assert_eq!(
            info.tags,
            map(&[
                ("mlflow.artifactLocation", "s3://b/7/traces/x/artifacts"),
                ("mlflow.trace.spansLocation", "TRACKING_STORE"),
                ("mlflow.traceName", "agent"),
                ("service.name", "shop"),
                ("team", "search"),
            ])
        );
        assert_eq!(
            info.metadata["mlflow.trace.tokenUsage"],
            r#"{"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}"#
        );
    }

    #[test]
    fn client_info_wins_and_later_spans_keep_it() {
        let mut info = TraceInfo::new_from_spans(TraceId::from_otel([1; 16]), "7", "loc".into());
        info.absorb_spans(&summary(), &BTreeMap::new(), &BTreeMap::new());
        let client = TraceInfo {
            trace_id: TraceId::from_otel([1; 16]),
            experiment_id: "7".into(),
            client_request_id: Some("req-1".into()),
            request_time_ms: 90,
            execution_duration_ms: Some(70),
            state: TraceState::Ok,
            request_preview: None,
            response_preview: Some("final answer".into()),
            metadata: map(&[("mlflow.trace.sizeStats", r#"{"num_spans": 4, "max": 10}"#)]),
            tags: map(&[
                ("mlflow.traceName", "renamed"),
                ("mlflow.trace.spansLocation", "ARTIFACT_REPO"),
            ]),
        };
        info.merge_client_info(client);
        assert!(info.is_finalized());
        assert_eq!(info.expected_span_count(), Some(4));
        assert_eq!(info.tags["mlflow.trace.spansLocation"], "TRACKING_STORE");
        assert_eq!(info.tags["mlflow.traceName"], "renamed");
        assert_eq!(
            info.request_preview.as_deref(),
            Some("q"),
            "kept: the client sent none"
        );
        assert_eq!(info.response_preview.as_deref(), Some("final answer"));

        let late = TraceSummary {
            request_time_ms: 1,
            state: TraceState::Error,
            ..summary()
        };
        info.absorb_spans(&late, &BTreeMap::new(), &BTreeMap::new());
        assert_eq!(
            (info.request_time_ms, info.execution_duration_ms, info.state),
            (90, Some(70), TraceState::Ok)
        );
    }
}

//! Wire types of the trace API (`TraceInfoV3`, `Trace`) and their conversions.
//!
//! The client reads responses with protobuf's JSON parser, so timestamps must be RFC 3339
//! strings and durations `"1.500s"`; span IDs inside a `Trace` are base64 bytes and span
//! attributes typed OpenTelemetry `AnyValue`s (the client re-serializes each one to JSON).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, SecondsFormat, Utc};
use keel_core::traces::{
    Assessment, SearchTraces, Trace, TraceId, TraceInfo, TraceSpan, TraceState,
};
use keel_core::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::assessments::assessment_json;
use super::proto::opt_string;

/// Milliseconds since the epoch as RFC 3339 (UTC, millisecond precision).
pub fn rfc3339_from_ms(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An RFC 3339 timestamp as milliseconds since the epoch.
pub fn ms_from_rfc3339(field: &str, s: &str) -> Result<i64> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            Error::invalid(format!(
                "Invalid value '{s}' for '{field}': expected an RFC 3339 timestamp."
            ))
        })
}

/// Milliseconds as a protobuf JSON duration (`"1.500s"`, `"2s"`).
pub fn duration_from_ms(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let (secs, millis) = (ms.unsigned_abs() / 1000, ms.unsigned_abs() % 1000);
    if millis == 0 {
        format!("{sign}{secs}s")
    } else {
        format!("{sign}{secs}.{millis:03}s")
    }
}

/// A protobuf JSON duration (`"1.5s"`, `"0.000001s"`, `"-2s"`) as whole milliseconds.
pub fn ms_from_duration(field: &str, s: &str) -> Result<i64> {
    let bad = || {
        Error::invalid(format!(
            "Invalid value '{s}' for '{field}': expected a duration such as '1.5s'."
        ))
    };
    let body = s.strip_suffix('s').ok_or_else(bad)?;
    let (negative, body) = match body.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, body),
    };
    let (secs, frac) = body.split_once('.').unwrap_or((body, ""));
    if secs.is_empty()
        || !secs.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 9
    {
        return Err(bad());
    }
    let secs: i64 = secs.parse().map_err(|_| bad())?;
    let nanos: i64 = format!("{frac:0<9}").parse().map_err(|_| bad())?;
    let ms = secs
        .checked_mul(1000)
        .and_then(|m| m.checked_add(nanos / 1_000_000))
        .ok_or_else(bad)?;
    Ok(if negative { -ms } else { ms })
}

#[derive(Debug, Default, Deserialize, Serialize, schemars::JsonSchema)]
pub struct MlflowExperimentLocation {
    #[serde(default)]
    pub experiment_id: String,
}

#[derive(Debug, Default, Deserialize, Serialize, schemars::JsonSchema)]
pub struct TraceLocation {
    #[serde(
        default,
        rename = "type",
        deserialize_with = "opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mlflow_experiment: Option<MlflowExperimentLocation>,
}

/// `TraceInfoV3` on the wire.
#[derive(Debug, Default, Deserialize, Serialize, schemars::JsonSchema)]
pub struct TraceInfoV3 {
    #[serde(default)]
    pub trace_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_id: Option<String>,
    #[serde(default)]
    pub trace_location: TraceLocation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_preview: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_preview: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_duration: Option<String>,
    /// The state's name (or number, as protobuf JSON allows).
    #[serde(
        default,
        deserialize_with = "opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub state: Option<String>,
    #[serde(default)]
    pub trace_metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub assessments: Vec<Value>,
}

impl TraceInfoV3 {
    /// The client's info of a trace. Only experiment locations exist here.
    pub fn into_domain(self) -> Result<TraceInfo> {
        if self.trace_id.is_empty() {
            return Err(Error::missing_parameter("trace.trace_info.trace_id"));
        }
        let trace_id = TraceId::parse(&self.trace_id)?;
        let experiment_id = self
            .trace_location
            .mlflow_experiment
            .map(|e| e.experiment_id)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                Error::invalid(
                    "Trace location must be an MLflow experiment \
                     ('trace_location.mlflow_experiment.experiment_id').",
                )
            })?;
        Ok(TraceInfo {
            trace_id,
            experiment_id,
            client_request_id: self.client_request_id.filter(|c| !c.is_empty()),
            request_time_ms: self
                .request_time
                .as_deref()
                .map(|t| ms_from_rfc3339("request_time", t))
                .transpose()?
                .unwrap_or(0),
            execution_duration_ms: self
                .execution_duration
                .as_deref()
                .map(|d| ms_from_duration("execution_duration", d))
                .transpose()?,
            state: self
                .state
                .as_ref()
                .map(|s| TraceState::parse(s))
                .transpose()?
                .unwrap_or_default(),
            request_preview: self.request_preview,
            response_preview: self.response_preview,
            metadata: self.trace_metadata,
            tags: self.tags,
        })
    }
}

impl TraceInfoV3 {
    /// The info with its assessments, as every read returns it.
    pub fn with_assessments(info: TraceInfo, assessments: &[Assessment]) -> Self {
        let mut out = Self::from(info);
        out.assessments = assessments.iter().map(assessment_json).collect();
        out
    }
}

impl From<TraceInfo> for TraceInfoV3 {
    fn from(info: TraceInfo) -> Self {
        Self {
            trace_id: info.trace_id.to_string(),
            client_request_id: info.client_request_id,
            trace_location: TraceLocation {
                kind: Some("MLFLOW_EXPERIMENT".to_owned()),
                mlflow_experiment: Some(MlflowExperimentLocation {
                    experiment_id: info.experiment_id,
                }),
            },
            request_preview: info.request_preview,
            response_preview: info.response_preview,
            request_time: Some(rfc3339_from_ms(info.request_time_ms)),
            execution_duration: info.execution_duration_ms.map(duration_from_ms),
            state: Some(info.state.as_str().to_owned()),
            trace_metadata: info.metadata,
            tags: info.tags,
            assessments: Vec::new(),
        }
    }
}

/// A JSON value as an OpenTelemetry `AnyValue` in protobuf JSON (snake_case field names).
pub fn any_value(value: &Value) -> Value {
    match value {
        Value::Null => json!({}),
        Value::Bool(b) => json!({"bool_value": b}),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({"int_value": n}),
        Value::Number(n) => json!({"double_value": n}),
        Value::String(s) => json!({"string_value": s}),
        Value::Array(items) => {
            json!({"array_value": {"values": items.iter().map(any_value).collect::<Vec<_>>()}})
        }
        Value::Object(map) => json!({"kvlist_value": {"values": key_values(map)}}),
    }
}

fn key_values(map: &Map<String, Value>) -> Vec<Value> {
    map.iter()
        .map(|(k, v)| json!({"key": k, "value": any_value(v)}))
        .collect()
}

/// A span's trace ID in base64, as OTLP carries it. Spans only arrive through OTLP, so their
/// trace is always named after such an ID; any other ID is encoded as its text.
fn otel_trace_id(trace_id: &TraceId) -> String {
    match trace_id.otel_bytes() {
        Some(bytes) => BASE64.encode(bytes),
        None => BASE64.encode(trace_id.as_str()),
    }
}

/// A span as an OpenTelemetry `Span` in protobuf JSON, as the reference's `Trace.spans` holds it.
pub fn otel_span(span: &TraceSpan) -> Value {
    let mut out = Map::new();
    out.insert("trace_id".into(), json!(otel_trace_id(&span.trace_id)));
    out.insert("span_id".into(), json!(BASE64.encode(span.span_id.0)));
    if let Some(parent) = span.parent_span_id {
        out.insert("parent_span_id".into(), json!(BASE64.encode(parent.0)));
    }
    out.insert("name".into(), json!(span.name));
    out.insert(
        "start_time_unix_nano".into(),
        json!(span.start_time_unix_nano),
    );
    if let Some(end) = span.end_time_unix_nano {
        out.insert("end_time_unix_nano".into(), json!(end));
    }
    out.insert(
        "attributes".into(),
        Value::Array(key_values(&span.attributes)),
    );
    if !span.events.is_empty() {
        let events = span
            .events
            .iter()
            .map(|e| json!({"time_unix_nano": e.time_unix_nano, "name": e.name, "attributes": key_values(&e.attributes)}))
            .collect();
        out.insert("events".into(), Value::Array(events));
    }
    let mut status = Map::new();
    if !span.status.message.is_empty() {
        status.insert("message".into(), json!(span.status.message));
    }
    status.insert("code".into(), json!(status_code_name(span)));
    out.insert("status".into(), Value::Object(status));
    Value::Object(out)
}

/// The OpenTelemetry name of a span's status code.
fn status_code_name(span: &TraceSpan) -> &'static str {
    match span.status.code {
        keel_core::traces::SpanStatusCode::Unset => "STATUS_CODE_UNSET",
        keel_core::traces::SpanStatusCode::Ok => "STATUS_CODE_OK",
        keel_core::traces::SpanStatusCode::Error => "STATUS_CODE_ERROR",
    }
}

/// Attributes as MLflow records them on a span: each value JSON-encoded into a string.
fn json_encoded(attributes: &Map<String, Value>) -> Map<String, Value> {
    attributes
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.to_string())))
        .collect()
}

/// A span as the reference's `Span.to_dict()` writes it into a trace's `traces.json`: IDs in
/// base64, the parent `null` for a root, attributes as MLflow records them (each value
/// JSON-encoded into a string), event attributes as they are.
pub fn span_dict(span: &TraceSpan) -> Value {
    json!({
        "trace_id": otel_trace_id(&span.trace_id),
        "span_id": BASE64.encode(span.span_id.0),
        "parent_span_id": span.parent_span_id.map(|p| BASE64.encode(p.0)),
        "name": span.name,
        "start_time_unix_nano": span.start_time_unix_nano,
        "end_time_unix_nano": span.end_time_unix_nano,
        "events": span.events.iter().map(|e| json!({
            "name": e.name,
            "time_unix_nano": e.time_unix_nano,
            "attributes": e.attributes,
        })).collect::<Vec<_>>(),
        "status": {"code": status_code_name(span), "message": span.status.message},
        "attributes": json_encoded(&span.attributes),
        "links": [],
    })
}

/// `mlflow.Trace` on the wire: the info and the spans, root first.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TraceOut {
    pub trace_info: TraceInfoV3,
    pub spans: Vec<Value>,
}

impl From<Trace> for TraceOut {
    fn from(trace: Trace) -> Self {
        Self {
            spans: trace.spans.iter().map(otel_span).collect(),
            trace_info: TraceInfoV3::with_assessments(trace.info, &trace.assessments),
        }
    }
}

/// `{"trace": {"trace_info": ...}}`: what StartTraceV3 takes and returns and GetTraceInfoV3
/// returns.
#[derive(Debug, Default, Deserialize, Serialize, schemars::JsonSchema)]
pub struct TraceInfoEnvelope {
    #[serde(default)]
    pub trace: Option<TraceInfoOnly>,
}

#[derive(Debug, Default, Deserialize, Serialize, schemars::JsonSchema)]
pub struct TraceInfoOnly {
    #[serde(default)]
    pub trace_info: Option<TraceInfoV3>,
}

impl TraceInfoEnvelope {
    pub fn of(info: TraceInfo, assessments: &[Assessment]) -> Self {
        Self {
            trace: Some(TraceInfoOnly {
                trace_info: Some(TraceInfoV3::with_assessments(info, assessments)),
            }),
        }
    }

    pub fn into_info(self) -> Result<TraceInfo> {
        self.trace
            .and_then(|t| t.trace_info)
            .ok_or_else(|| Error::missing_parameter("trace"))?
            .into_domain()
    }
}

/// `SearchTracesV3` request body.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct SearchTracesV3In {
    /// Required; only experiment locations are searched.
    #[serde(default)]
    pub locations: Option<Vec<TraceLocation>>,
    #[serde(default, deserialize_with = "crate::wire::proto::opt_string")]
    pub filter: Option<String>,
    #[serde(default, deserialize_with = "crate::wire::proto::opt_i64")]
    pub max_results: Option<i64>,
    #[serde(default, deserialize_with = "crate::wire::proto::one_or_many")]
    pub order_by: Vec<String>,
    #[serde(default, deserialize_with = "crate::wire::proto::opt_string")]
    pub page_token: Option<String>,
}

impl SearchTracesV3In {
    pub fn into_domain(self) -> Result<SearchTraces> {
        let locations = self
            .locations
            .ok_or_else(|| Error::missing_parameter("locations"))?;
        Ok(SearchTraces {
            experiment_ids: locations
                .into_iter()
                .filter_map(|l| l.mlflow_experiment.map(|e| e.experiment_id))
                .collect(),
            filter: self.filter,
            max_results: self.max_results,
            order_by: self.order_by,
            page_token: self.page_token,
        })
    }
}

/// `SearchTracesV3` response.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SearchTracesV3Out {
    pub traces: Vec<TraceInfoV3>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::traces::{SpanEvent, SpanId, SpanStatus, SpanStatusCode};

    #[test]
    fn timestamps_and_durations_round_trip_in_protobuf_json_forms() {
        assert_eq!(
            rfc3339_from_ms(1_700_000_000_123),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(
            ms_from_rfc3339("t", "2023-11-14T22:13:20Z").expect("z"),
            1_700_000_000_000
        );
        assert_eq!(
            ms_from_rfc3339("t", "2023-11-14T23:13:20.5+01:00").expect("offset"),
            1_700_000_000_500
        );
        assert!(ms_from_rfc3339("t", "yesterday").is_err());
        assert_eq!(duration_from_ms(1_500), "1.500s");
        assert_eq!(duration_from_ms(2_000), "2s");
        assert_eq!(duration_from_ms(-20), "-0.020s");
        for (s, ms) in [
            ("1.5s", 1_500),
            ("1.500s", 1_500),
            ("0.000001s", 0),
            ("2s", 2_000),
            ("-1.25s", -1_250),
        ] {
            assert_eq!(ms_from_duration("d", s).expect(s), ms, "{s}");
        }
        for bad in ["1.5", "s", "1.s5", "abc s", "1.0000000001s", "+1s"] {
            assert!(ms_from_duration("d", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_clients_start_trace_body_parses() {
        let body = json!({"trace": {"trace_info": {
            "trace_id": "tr-0123456789abcdef0123456789abcdef",
            "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "1"}},
            "request_time": "2023-11-14T22:13:20Z", "execution_duration": "1.500s", "state": "OK",
            "trace_metadata": {"mlflow.sourceRun": "abc"},
            "tags": {"mlflow.traceName": "root"},
            "request_preview": "{\"question\": \"hi\"}"}}});
        let env: TraceInfoEnvelope = serde_json::from_value(body).expect("parses");
        let info = env.into_info().expect("valid");
        assert_eq!(
            info.trace_id.as_str(),
            "tr-0123456789abcdef0123456789abcdef"
        );
        assert_eq!(info.experiment_id, "1");
        assert_eq!(
            (info.request_time_ms, info.execution_duration_ms),
            (1_700_000_000_000, Some(1_500))
        );
        assert_eq!(info.state, TraceState::Ok);
        assert_eq!(info.metadata["mlflow.sourceRun"], "abc");

        let out = serde_json::to_value(TraceInfoEnvelope::of(info, &[])).expect("json");
        assert_eq!(
            out["trace"]["trace_info"]["request_time"],
            "2023-11-14T22:13:20.000Z"
        );
        assert_eq!(out["trace"]["trace_info"]["execution_duration"], "1.500s");
        assert_eq!(
            out["trace"]["trace_info"]["trace_location"]["mlflow_experiment"]["experiment_id"],
            "1"
        );

        let no_location: TraceInfoEnvelope =
            serde_json::from_value(json!({"trace": {"trace_info": {
            "trace_id": "tr-0123456789abcdef0123456789abcdef"}}}))
            .expect("parses");
        assert!(no_location.into_info().is_err());
        assert!(TraceInfoEnvelope::default().into_info().is_err());
    }

    #[test]
    fn spans_render_as_otel_json_with_typed_values() {
        let mut attributes = Map::new();
        attributes.insert("mlflow.spanType".into(), json!("LLM"));
        attributes.insert(
            "mlflow.spanInputs".into(),
            json!([{"role": "user", "content": "hi"}]),
        );
        attributes.insert("n".into(), json!(3));
        attributes.insert("x".into(), json!(0.5));
        attributes.insert("none".into(), Value::Null);
        let span = TraceSpan {
            trace_id: TraceId::from_otel([1; 16]),
            span_id: SpanId([0x22; 8]),
            parent_span_id: Some(SpanId([0x11; 8])),
            name: "llm".into(),
            start_time_unix_nano: 1_700_000_000_100_000_000,
            end_time_unix_nano: None,
            status: SpanStatus {
                code: SpanStatusCode::Error,
                message: "boom".into(),
            },
            attributes,
            events: vec![SpanEvent {
                name: "exception".into(),
                time_unix_nano: 5,
                attributes: Map::new(),
            }],
        };
        let v = otel_span(&span);
        assert_eq!(v["span_id"], "IiIiIiIiIiI=");
        assert_eq!(v["parent_span_id"], "ERERERERERE=");
        assert_eq!(v["start_time_unix_nano"], 1_700_000_000_100_000_000_i64);
        assert!(v.get("end_time_unix_nano").is_none());
        assert_eq!(
            v["status"],
            json!({"code": "STATUS_CODE_ERROR", "message": "boom"})
        );
        let attr = |k: &str| {
            v["attributes"]
                .as_array()
                .expect("list")
                .iter()
                .find(|a| a["key"] == k)
                .expect(k)["value"]
                .clone()
        };
        assert_eq!(attr("mlflow.spanType"), json!({"string_value": "LLM"}));
        assert_eq!(attr("n"), json!({"int_value": 3}));
        assert_eq!(attr("x"), json!({"double_value": 0.5}));
        assert_eq!(attr("none"), json!({}));
        assert_eq!(
            attr("mlflow.spanInputs"),
            // Keys keep the order the client sent them in.
            json!({"array_value": {"values": [{"kvlist_value": {"values": [
                {"key": "role", "value": {"string_value": "user"}},
                {"key": "content", "value": {"string_value": "hi"}}]}}]}})
        );
        assert_eq!(v["events"][0]["name"], "exception");
    }
}

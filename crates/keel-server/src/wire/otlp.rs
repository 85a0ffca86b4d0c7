//! OTLP/HTTP trace export bodies: decoding `ExportTraceServiceRequest` (binary protobuf or
//! OTLP/JSON, optionally gzip- or deflate-compressed) into domain spans, and encoding the
//! response in the request's encoding, as the OTLP specification asks.
//!
//! A span that cannot be taken (a missing or malformed trace or span ID) is rejected alone and
//! reported through `partial_success`; the rest of the batch is kept.

use std::io::Read;
use std::sync::Arc;

use base64::Engine;
use keel_core::traces::{
    Resource, SpanEvent, SpanId, SpanStatus, SpanStatusCode, TraceId, TraceSpan, attribute_text,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{Map, Number, Value};

/// How an OTLP body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// From a `Content-Type` (parameters such as `; charset=utf-8` ignored).
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if essence.eq_ignore_ascii_case("application/x-protobuf") {
            Some(Self::Protobuf)
        } else if essence.eq_ignore_ascii_case("application/json") {
            Some(Self::Json)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Protobuf => "application/x-protobuf",
            Self::Json => "application/json",
        }
    }
}

/// Why a body could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The body is not valid (bad compression, protobuf or JSON); HTTP 400.
    Invalid(String),
    /// A `Content-Encoding` other than gzip, deflate or identity; HTTP 400, as the reference
    /// answers.
    UnsupportedEncoding(String),
    /// Larger than the limit once decompressed; HTTP 413.
    TooLarge,
}

/// Undoes `Content-Encoding`, never producing more than `max_bytes`.
pub fn decompress(
    body: &[u8],
    content_encoding: Option<&str>,
    max_bytes: usize,
) -> Result<Vec<u8>, DecodeError> {
    let max_bytes = max_bytes as u64;
    let encoding = content_encoding
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    let reader: Box<dyn Read + '_> = match encoding.as_str() {
        "" | "identity" => {
            if body.len() as u64 > max_bytes {
                return Err(DecodeError::TooLarge);
            }
            return Ok(body.to_vec());
        }
        "gzip" | "x-gzip" => Box::new(flate2::read::GzDecoder::new(body)),
        // HTTP's "deflate" is zlib-wrapped; some senders use raw deflate, which the zlib
        // header check tells apart.
        "deflate" if body.first().is_some_and(|b| b & 0x0f == 8) => {
            Box::new(flate2::read::ZlibDecoder::new(body))
        }
        "deflate" => Box::new(flate2::read::DeflateDecoder::new(body)),
        other => {
            return Err(DecodeError::UnsupportedEncoding(format!(
                "Unsupported Content-Encoding '{other}'; use gzip, deflate or none."
            )));
        }
    };
    let mut out = Vec::new();
    reader
        .take(max_bytes + 1)
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::Invalid(format!("Invalid {encoding} body: {e}")))?;
    if out.len() as u64 > max_bytes {
        return Err(DecodeError::TooLarge);
    }
    Ok(out)
}

/// Parses an (uncompressed) export request.
pub fn decode_request(
    body: &[u8],
    encoding: Encoding,
) -> Result<ExportTraceServiceRequest, DecodeError> {
    match encoding {
        Encoding::Protobuf => ExportTraceServiceRequest::decode(body)
            .map_err(|e| DecodeError::Invalid(format!("Invalid OTLP protobuf body: {e}"))),
        Encoding::Json => serde_json::from_slice(body)
            .map_err(|e| DecodeError::Invalid(format!("Invalid OTLP JSON body: {e}"))),
    }
}

/// A span as received, with its resource's attributes (service name and the like) as text,
/// shared by every span of the resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    pub span: TraceSpan,
    pub resource: Resource,
}

/// The spans of a request that could be taken, and what was rejected.
#[derive(Debug, Default)]
pub struct Received {
    pub spans: Vec<ReceivedSpan>,
    pub rejected: i64,
    /// Why the first rejected span was rejected.
    pub rejection: Option<String>,
}

/// Converts every span of the request; spans with invalid IDs or text holding NUL are counted
/// as rejected.
pub fn received_spans(request: ExportTraceServiceRequest) -> Received {
    let mut out = Received::default();
    let mut trace_ids = LastTraceId::default();
    for resource_spans in request.resource_spans {
        let resource: Resource = Arc::new(
            attributes(
                resource_spans
                    .resource
                    .map(|r| r.attributes)
                    .unwrap_or_default(),
            )
            .into_iter()
            .filter(|(k, v)| !k.contains('\0') && !json_has_nul(v))
            .map(|(k, v)| (k, attribute_text(&v)))
            .collect(),
        );
        for scope_spans in resource_spans.scope_spans {
            for span in scope_spans.spans {
                match domain_span(span, &mut trace_ids) {
                    Ok(span) => out.spans.push(ReceivedSpan {
                        span,
                        resource: Arc::clone(&resource),
                    }),
                    Err(why) => {
                        out.rejected += 1;
                        out.rejection.get_or_insert(why);
                    }
                }
            }
        }
    }
    out
}

/// The trace ID of the span before: a batch's spans mostly come trace by trace, so each of a
/// trace's spans shares its ID instead of spelling it out again.
#[derive(Default)]
struct LastTraceId(Option<(Vec<u8>, TraceId)>);

impl LastTraceId {
    fn of(&mut self, bytes: &[u8]) -> Option<TraceId> {
        if let Some((raw, id)) = &self.0 {
            if raw.as_slice() == bytes {
                return Some(id.clone());
            }
        }
        let id = TraceId::from_bytes(bytes)?;
        self.0 = Some((bytes.to_vec(), id.clone()));
        Some(id)
    }
}

fn domain_span(span: Span, trace_ids: &mut LastTraceId) -> Result<TraceSpan, String> {
    let trace_id = trace_ids
        .of(&span.trace_id)
        .ok_or_else(|| format!("span '{}' has an invalid trace ID", span.name))?;
    let span_id = SpanId::from_bytes(&span.span_id)
        .ok_or_else(|| format!("span '{}' has an invalid span ID", span.name))?;
    let parent_span_id = if span.parent_span_id.is_empty() {
        None
    } else {
        Some(
            SpanId::from_bytes(&span.parent_span_id)
                .ok_or_else(|| format!("span '{}' has an invalid parent span ID", span.name))?,
        )
    };
    if span_has_nul(&span) {
        return Err(format!(
            "span '{}' holds a NUL character (\\u0000) in its name, status, events or \
             attributes",
            span.name.replace('\0', "\\u0000")
        ));
    }
    let nanos = |t: u64| i64::try_from(t).unwrap_or(i64::MAX);
    let status = span
        .status
        .map_or_else(SpanStatus::default, |s| SpanStatus {
            code: SpanStatusCode::from_otlp(s.code),
            message: s.message,
        });
    Ok(TraceSpan {
        trace_id,
        span_id,
        parent_span_id,
        name: span.name,
        start_time_unix_nano: nanos(span.start_time_unix_nano),
        end_time_unix_nano: (span.end_time_unix_nano != 0).then(|| nanos(span.end_time_unix_nano)),
        status,
        attributes: attributes(span.attributes),
        events: span
            .events
            .into_iter()
            .map(|e| SpanEvent {
                name: e.name,
                time_unix_nano: nanos(e.time_unix_nano),
                attributes: attributes(e.attributes),
            })
            .collect(),
    })
}

/// Whether any text of a span holds NUL, which no store keeps (PostgreSQL refuses it).
fn span_has_nul(span: &Span) -> bool {
    let kvs_have_nul = |kvs: &[KeyValue]| {
        kvs.iter()
            .any(|kv| kv.key.contains('\0') || kv.value.as_ref().is_some_and(any_value_has_nul))
    };
    span.name.contains('\0')
        || span
            .status
            .as_ref()
            .is_some_and(|s| s.message.contains('\0'))
        || kvs_have_nul(&span.attributes)
        || span
            .events
            .iter()
            .any(|e| e.name.contains('\0') || kvs_have_nul(&e.attributes))
}

fn any_value_has_nul(value: &AnyValue) -> bool {
    match &value.value {
        Some(any_value::Value::StringValue(s)) => s.contains('\0'),
        Some(any_value::Value::ArrayValue(a)) => a.values.iter().any(any_value_has_nul),
        Some(any_value::Value::KvlistValue(kv)) => kv
            .values
            .iter()
            .any(|kv| kv.key.contains('\0') || kv.value.as_ref().is_some_and(any_value_has_nul)),
        _ => false,
    }
}

fn json_has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(json_has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || json_has_nul(v)),
        _ => false,
    }
}

fn attributes(kvs: Vec<KeyValue>) -> Map<String, Value> {
    kvs.into_iter()
        .map(|kv| (kv.key, kv.value.map_or(Value::Null, any_value_to_json)))
        .collect()
}

/// An `AnyValue` as JSON: lists and key-value lists nest, bytes become base64, and doubles that
/// JSON cannot hold (NaN, infinities) become their names, as Python's `json.dumps` writes them.
pub fn any_value_to_json(value: AnyValue) -> Value {
    match value.value {
        None => Value::Null,
        Some(any_value::Value::StringValue(s)) => Value::String(s),
        Some(any_value::Value::BoolValue(b)) => Value::Bool(b),
        Some(any_value::Value::IntValue(i)) => Value::from(i),
        Some(any_value::Value::DoubleValue(d)) => Number::from_f64(d).map_or_else(
            || {
                Value::String(
                    if d.is_nan() {
                        "NaN"
                    } else if d > 0.0 {
                        "Infinity"
                    } else {
                        "-Infinity"
                    }
                    .into(),
                )
            },
            Value::Number,
        ),
        Some(any_value::Value::ArrayValue(a)) => {
            Value::Array(a.values.into_iter().map(any_value_to_json).collect())
        }
        Some(any_value::Value::KvlistValue(kv)) => Value::Object(attributes(kv.values)),
        Some(any_value::Value::BytesValue(b)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        // An index into a profile's string table; traces carry no such table.
        Some(any_value::Value::StringValueStrindex(_)) => Value::Null,
    }
}

/// The response body: empty on full success, `partial_success` when spans were rejected.
pub fn encode_response(encoding: Encoding, rejected: i64, message: Option<String>) -> Vec<u8> {
    let response = ExportTraceServiceResponse {
        partial_success: (rejected > 0).then(|| ExportTracePartialSuccess {
            rejected_spans: rejected,
            error_message: message.unwrap_or_default(),
        }),
    };
    match encoding {
        Encoding::Protobuf => response.encode_to_vec(),
        // Full success is the empty message (not `{"partialSuccess": null}`).
        Encoding::Json if response.partial_success.is_none() => b"{}".to_vec(),
        // Serializing a generated message into memory cannot fail.
        Encoding::Json => serde_json::to_vec(&response).unwrap_or_else(|_| b"{}".to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status};
    use serde_json::json;
    use std::io::Write;

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv(
                        "service.name",
                        any_value::Value::StringValue("shop".into()),
                    )],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn span(trace: &[u8], id: &[u8], parent: &[u8]) -> Span {
        Span {
            trace_id: trace.to_vec(),
            span_id: id.to_vec(),
            parent_span_id: parent.to_vec(),
            name: "chat gpt-4o".into(),
            start_time_unix_nano: 1_700_000_000_000_000_000,
            end_time_unix_nano: 1_700_000_001_000_000_000,
            status: Some(Status {
                code: 2,
                message: "boom".into(),
            }),
            attributes: vec![
                kv(
                    "gen_ai.operation.name",
                    any_value::Value::StringValue("chat".into()),
                ),
                kv("n", any_value::Value::IntValue(3)),
                kv("ratio", any_value::Value::DoubleValue(f64::NAN)),
                kv(
                    "list",
                    any_value::Value::ArrayValue(ArrayValue {
                        values: vec![AnyValue {
                            value: Some(any_value::Value::BoolValue(true)),
                        }],
                    }),
                ),
                kv(
                    "obj",
                    any_value::Value::KvlistValue(KeyValueList {
                        values: vec![kv("k", any_value::Value::BytesValue(vec![1, 2]))],
                    }),
                ),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn protobuf_spans_become_domain_spans_and_bad_ids_are_rejected_alone() {
        let body = request(vec![
            span(&[7; 16], &[1; 8], &[]),
            span(&[7; 16], &[2; 8], &[1; 8]),
            span(&[0; 16], &[3; 8], &[]),
            span(&[7; 16], &[4; 4], &[]),
        ])
        .encode_to_vec();
        let got = received_spans(decode_request(&body, Encoding::Protobuf).expect("decodes"));
        assert_eq!(got.spans.len(), 2);
        assert_eq!(got.rejected, 2);
        assert!(got.rejection.expect("why").contains("trace ID"));
        let root = &got.spans[0];
        assert_eq!(root.resource["service.name"], "shop");
        // One resource, shared by its spans rather than copied into each.
        assert!(Arc::ptr_eq(&root.resource, &got.spans[1].resource));
        assert_eq!(
            root.span.trace_id.as_str(),
            format!("tr-{}", "07".repeat(16))
        );
        assert_eq!(root.span.parent_span_id, None);
        assert_eq!(got.spans[1].span.parent_span_id, Some(SpanId([1; 8])));
        assert_eq!(root.span.status.code, SpanStatusCode::Error);
        assert_eq!(
            root.span.end_time_unix_nano,
            Some(1_700_000_001_000_000_000)
        );
        assert_eq!(
            Value::Object(root.span.attributes.clone()),
            json!({"gen_ai.operation.name": "chat", "n": 3, "ratio": "NaN",
                   "list": [true], "obj": {"k": "AQI="}})
        );
    }

    #[test]
    fn otlp_json_uses_hex_ids_camel_case_and_string_int64s() {
        let body = br#"{"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"scope":{"name":"s"},
            "spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174",
            "parentSpanId":"","name":"root","kind":2,"startTimeUnixNano":"1544712660000000000",
            "endTimeUnixNano":"1544712661000000000",
            "attributes":[{"key":"input.value","value":{"stringValue":"hi"}},
                          {"key":"llm.token_count.prompt","value":{"intValue":"12"}}],
            "events":[{"timeUnixNano":"1544712660500000000","name":"exception",
                       "attributes":[{"key":"exception.message","value":{"stringValue":"x"}}]}],
            "status":{"code":1},"unknownField":true}]}]}]}"#;
        let got = received_spans(decode_request(body, Encoding::Json).expect("decodes"));
        assert_eq!(got.rejected, 0);
        let s = &got.spans[0].span;
        assert_eq!(s.trace_id.as_str(), "tr-5b8efff798038103d269b633813fc60c");
        assert_eq!(s.span_id.hex(), "eee19b7ec3c1b174");
        assert_eq!(s.start_time_unix_nano, 1_544_712_660_000_000_000);
        assert_eq!(s.status.code, SpanStatusCode::Ok);
        assert_eq!(s.attributes["llm.token_count.prompt"], 12);
        assert_eq!(s.events[0].attributes["exception.message"], "x");
    }

    const LIMIT: usize = 20 * 1024 * 1024;

    #[test]
    fn compressed_bodies_are_inflated_within_the_cap() {
        let body = request(vec![span(&[7; 16], &[1; 8], &[])]).encode_to_vec();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&body).expect("gzip");
        let gz = gz.finish().expect("gzip");
        assert_eq!(decompress(&gz, Some("gzip"), LIMIT).expect("gunzip"), body);
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        zlib.write_all(&body).expect("zlib");
        assert_eq!(
            decompress(&zlib.finish().expect("zlib"), Some("deflate"), LIMIT).expect("inflate"),
            body
        );
        assert!(matches!(
            decompress(&body, Some("br"), LIMIT),
            Err(DecodeError::UnsupportedEncoding(_))
        ));
        assert!(matches!(
            decompress(b"not gzip", Some("gzip"), LIMIT),
            Err(DecodeError::Invalid(_))
        ));

        // A small bomb: 21 MiB of zeros compresses to a few kB.
        let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        bomb.write_all(&vec![0; 21 * 1024 * 1024]).expect("gzip");
        let bomb = bomb.finish().expect("gzip");
        assert!(bomb.len() < 100_000);
        assert_eq!(
            decompress(&bomb, Some("gzip"), LIMIT),
            Err(DecodeError::TooLarge)
        );
    }

    #[test]
    fn malformed_bodies_and_content_types() {
        assert!(matches!(
            decode_request(b"\xff\xff\xff", Encoding::Protobuf),
            Err(DecodeError::Invalid(_))
        ));
        assert!(matches!(
            decode_request(b"{", Encoding::Json),
            Err(DecodeError::Invalid(_))
        ));
        assert_eq!(
            Encoding::from_content_type("application/json; charset=utf-8"),
            Some(Encoding::Json)
        );
        assert_eq!(
            Encoding::from_content_type("Application/X-Protobuf"),
            Some(Encoding::Protobuf)
        );
        assert_eq!(Encoding::from_content_type("text/plain"), None);
    }

    #[test]
    fn responses_report_partial_success_in_the_request_encoding() {
        assert!(encode_response(Encoding::Protobuf, 0, None).is_empty());
        assert_eq!(encode_response(Encoding::Json, 0, None), b"{}");
        let pb = encode_response(Encoding::Protobuf, 2, Some("bad ids".into()));
        let decoded = ExportTraceServiceResponse::decode(pb.as_slice()).expect("protobuf");
        assert_eq!(decoded.partial_success.expect("partial").rejected_spans, 2);
        let json: Value =
            serde_json::from_slice(&encode_response(Encoding::Json, 1, Some("x".into())))
                .expect("json");
        assert_eq!(json["partialSuccess"]["errorMessage"], "x");
    }
}

//! Trace and span identifiers, span status and the span itself.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// MLflow's span attribute keys (`mlflow/tracing/constant.py`).
pub mod span_keys {
    pub const TRACE_REQUEST_ID: &str = "mlflow.traceRequestId";
    pub const SPAN_TYPE: &str = "mlflow.spanType";
    pub const INPUTS: &str = "mlflow.spanInputs";
    pub const OUTPUTS: &str = "mlflow.spanOutputs";
    pub const TOKEN_USAGE: &str = "mlflow.chat.tokenUsage";
    pub const MESSAGE_FORMAT: &str = "mlflow.message.format";
    pub const CHAT_TOOLS: &str = "mlflow.chat.tools";
    pub const MODEL: &str = "mlflow.llm.model";
    pub const PROVIDER: &str = "mlflow.llm.provider";
    /// Root-span attributes `mlflow.traceTag.<key>` carry trace tags.
    pub const TRACE_TAG_PREFIX: &str = "mlflow.traceTag.";
}

/// An attribute value as text (a trace tag's value): strings as they are, anything else as JSON.
pub fn attribute_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A trace's MLflow ID. Traces that arrive through OpenTelemetry are named `tr-<32 hex>` after
/// their 16-byte OTLP trace ID; a client that starts a trace itself may choose any ID of
/// [`TraceId::MAX_LEN`] characters or fewer from `A-Z a-z 0-9 . _ -` (the reference takes e.g.
/// `tr-1234`, and its v2 API's 32 hex digits without a prefix). IDs are compared exactly.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId(Arc<str>);

/// An 8-byte OpenTelemetry span ID, written as 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanId(pub [u8; 8]);

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != N * 2 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in s.as_bytes().chunks_exact(2).enumerate() {
        let digit = |c: u8| (c as char).to_digit(16);
        out[i] = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()?;
    }
    Some(out)
}

/// The prefix of MLflow's trace IDs.
const TRACE_ID_PREFIX: &str = "tr-";

impl TraceId {
    /// The longest ID a client may choose.
    pub const MAX_LEN: usize = 128;

    /// The trace of a 16-byte OpenTelemetry trace ID: `tr-<32 lowercase hex>`.
    pub fn from_otel(id: [u8; 16]) -> Self {
        Self(format!("{TRACE_ID_PREFIX}{}", hex(&id)).into())
    }
    /// Raw bytes as OTLP carries them; all-zero and wrong-length IDs are invalid, as in OTLP.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let id: [u8; 16] = bytes.try_into().ok()?;
        (id != [0; 16]).then(|| Self::from_otel(id))
    }
    /// An ID as a client writes it (see the type's documentation for what is taken).
    pub fn parse(s: &str) -> Result<Self> {
        let valid = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.as_bytes()[0].is_ascii_alphanumeric()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if valid {
            Ok(Self(s.into()))
        } else {
            Err(Error::invalid(format!("Invalid trace ID '{s}'.")))
        }
    }
    /// The ID as MLflow writes it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The OpenTelemetry trace ID this trace was named after, when it is `tr-<32 hex>`.
    pub fn otel_bytes(&self) -> Option<[u8; 16]> {
        unhex::<16>(self.0.strip_prefix(TRACE_ID_PREFIX)?)
    }
}

impl std::fmt::Display for TraceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl SpanId {
    /// Raw bytes as OTLP carries them; all-zero and wrong-length IDs are invalid.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let id: [u8; 8] = bytes.try_into().ok()?;
        (id != [0; 8]).then_some(Self(id))
    }
    /// 16 hex digits, any case.
    pub fn parse(s: &str) -> Result<Self> {
        unhex::<8>(s)
            .filter(|id| *id != [0; 8])
            .map(Self)
            .ok_or_else(|| Error::invalid(format!("Invalid span ID '{s}'.")))
    }
    pub fn hex(&self) -> String {
        hex(&self.0)
    }
}

/// A trace's state (`TraceInfoV3.State`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TraceState {
    #[default]
    Unspecified,
    Ok,
    Error,
    InProgress,
}

impl TraceState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "STATE_UNSPECIFIED",
            Self::Ok => "OK",
            Self::Error => "ERROR",
            Self::InProgress => "IN_PROGRESS",
        }
    }
    /// The enum name or its proto number.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "STATE_UNSPECIFIED" | "0" => Ok(Self::Unspecified),
            "OK" | "1" => Ok(Self::Ok),
            "ERROR" | "2" => Ok(Self::Error),
            "IN_PROGRESS" | "3" => Ok(Self::InProgress),
            other => Err(Error::invalid(format!(
                "Invalid trace state '{other}'. Expected one of OK, ERROR, IN_PROGRESS"
            ))),
        }
    }
}

/// OpenTelemetry's span status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpanStatusCode {
    #[default]
    Unset,
    Ok,
    Error,
}

impl SpanStatusCode {
    /// OTLP's enum number; unknown numbers are `Unset`, as the OTLP spec asks.
    pub fn from_otlp(code: i32) -> Self {
        match code {
            1 => Self::Ok,
            2 => Self::Error,
            _ => Self::Unset,
        }
    }
    pub fn otlp(self) -> i32 {
        match self {
            Self::Unset => 0,
            Self::Ok => 1,
            Self::Error => 2,
        }
    }
    /// The name MLflow stores and filters on (`span.status = 'ERROR'`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unset => "UNSET",
            Self::Ok => "OK",
            Self::Error => "ERROR",
        }
    }
}

/// A span's status: code and (for errors) a message.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpanStatus {
    pub code: SpanStatusCode,
    pub message: String,
}

/// A timestamped event on a span (an exception, a streamed chunk, a GenAI message event).
#[derive(Debug, Clone, PartialEq)]
pub struct SpanEvent {
    pub name: String,
    pub time_unix_nano: i64,
    pub attributes: Map<String, Value>,
}

/// One span of a trace. Attribute values are decoded JSON values: `mlflow.spanType` is the
/// string `LLM`, `mlflow.spanInputs` the inputs' object.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSpan {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    pub name: String,
    pub start_time_unix_nano: i64,
    /// `None` while the span is open.
    pub end_time_unix_nano: Option<i64>,
    pub status: SpanStatus,
    pub attributes: Map<String, Value>,
    pub events: Vec<SpanEvent>,
}

impl TraceSpan {
    pub fn is_root(&self) -> bool {
        self.parent_span_id.is_none()
    }
    /// The MLflow span type (`LLM`, `CHAIN`, ...), `UNKNOWN` when none is set.
    pub fn span_type(&self) -> &str {
        self.attributes
            .get(span_keys::SPAN_TYPE)
            .and_then(Value::as_str)
            .unwrap_or("UNKNOWN")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_are_otel_ids_or_what_the_client_chose() {
        let otel = [
            0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 1, 35, 69, 103, 137, 171, 205, 239,
        ];
        let id = TraceId::from_bytes(&otel).expect("valid");
        assert_eq!(id.as_str(), "tr-0123456789abcdef0123456789abcdef");
        assert_eq!(id.otel_bytes(), Some(otel));
        assert_eq!(TraceId::parse(id.as_str()).expect("parses"), id);
        for chosen in [
            "tr-1234",
            "0123456789abcdef0123456789abcdef",
            "a",
            "tr-A.b_c-9",
        ] {
            let id = TraceId::parse(chosen).expect(chosen);
            assert_eq!(id.as_str(), chosen, "kept exactly");
        }
        assert_eq!(TraceId::parse("tr-1234").expect("valid").otel_bytes(), None);
        assert!(TraceId::parse(&"a".repeat(TraceId::MAX_LEN)).is_ok());
        for bad in [
            "",
            "-tr",
            ".x",
            "tr-ü",
            "tr/1",
            "tr 1",
            "tr-1?",
            &"a".repeat(TraceId::MAX_LEN + 1),
        ] {
            assert!(TraceId::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(TraceId::from_bytes(&[0; 16]), None);
        assert_eq!(TraceId::from_bytes(&[1; 8]), None);
    }

    #[test]
    fn span_ids_are_sixteen_hex_digits() {
        let id = SpanId::parse("00f067aa0ba902b7").expect("valid");
        assert_eq!(id.hex(), "00f067aa0ba902b7");
        assert_eq!(SpanId::from_bytes(&id.0), Some(id));
        assert!(SpanId::parse("00f067aa0ba902b").is_err());
        assert!(SpanId::parse("0000000000000000").is_err());
        assert_eq!(SpanId::from_bytes(&[0; 8]), None);
    }

    #[test]
    fn states_and_status_codes_parse_names_and_numbers() {
        assert_eq!(TraceState::parse("OK").expect("name"), TraceState::Ok);
        assert_eq!(
            TraceState::parse("3").expect("number"),
            TraceState::InProgress
        );
        assert!(TraceState::parse("DONE").is_err());
        assert_eq!(SpanStatusCode::from_otlp(2), SpanStatusCode::Error);
        assert_eq!(SpanStatusCode::from_otlp(7), SpanStatusCode::Unset);
        assert_eq!(SpanStatusCode::Error.otlp(), 2);
    }
}

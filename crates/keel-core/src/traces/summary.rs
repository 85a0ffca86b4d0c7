//! What a trace's summary (its `TraceInfo`) derives from its spans: request time, duration,
//! state, request/response previews and token usage. Spans may arrive in several batches, so
//! everything here works from the light [`SpanSummary`] rows a store can load for a whole trace
//! without the spans' contents, plus the root span when it is known.

use serde_json::Value;

use super::entities::{SpanId, SpanStatusCode, TraceSpan, TraceState, span_keys};

/// Longest request/response preview, in characters (the reference's limit outside Databricks).
pub const PREVIEW_MAX_CHARS: usize = 1000;

/// A span's token usage (`mlflow.chat.tokenUsage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenUsage {
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_tokens: i64,
    pub cache_read_input_tokens: Option<i64>,
    pub cache_creation_input_tokens: Option<i64>,
}

impl TokenUsage {
    /// Reads `mlflow.chat.tokenUsage`; `None` unless it is an object.
    pub fn from_attribute(value: &Value) -> Option<Self> {
        let usage = value.as_object()?;
        let get = |k: &str| usage.get(k).and_then(Value::as_i64);
        Some(Self {
            input_tokens: get("input_tokens").unwrap_or(0),
            output_tokens: get("output_tokens").unwrap_or(0),
            total_tokens: get("total_tokens").unwrap_or(0),
            cache_read_input_tokens: get("cache_read_input_tokens"),
            cache_creation_input_tokens: get("cache_creation_input_tokens"),
        })
    }

    /// The reference's JSON form, keys in its order, optional keys only when present.
    pub fn to_json(&self) -> Value {
        let mut out = serde_json::Map::new();
        out.insert("input_tokens".into(), self.input_tokens.into());
        out.insert("output_tokens".into(), self.output_tokens.into());
        out.insert("total_tokens".into(), self.total_tokens.into());
        if let Some(v) = self.cache_read_input_tokens {
            out.insert("cache_read_input_tokens".into(), v.into());
        }
        if let Some(v) = self.cache_creation_input_tokens {
            out.insert("cache_creation_input_tokens".into(), v.into());
        }
        Value::Object(out)
    }

    fn add(&mut self, other: &Self) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.total_tokens += other.total_tokens;
        let sum = |a: Option<i64>, b: Option<i64>| match (a, b) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        self.cache_read_input_tokens =
            sum(self.cache_read_input_tokens, other.cache_read_input_tokens);
        self.cache_creation_input_tokens = sum(
            self.cache_creation_input_tokens,
            other.cache_creation_input_tokens,
        );
    }
}

/// The columns of a stored span that trace-level figures need.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanSummary {
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    pub start_time_unix_nano: i64,
    pub end_time_unix_nano: Option<i64>,
    pub status: SpanStatusCode,
    pub token_usage: Option<TokenUsage>,
}

impl From<&TraceSpan> for SpanSummary {
    fn from(span: &TraceSpan) -> Self {
        Self {
            span_id: span.span_id,
            parent_span_id: span.parent_span_id,
            start_time_unix_nano: span.start_time_unix_nano,
            end_time_unix_nano: span.end_time_unix_nano,
            status: span.status.code,
            token_usage: span
                .attributes
                .get(span_keys::TOKEN_USAGE)
                .and_then(TokenUsage::from_attribute),
        }
    }
}

/// A trace's token usage: the sum over spans that report usage, skipping spans below one that
/// already does (a parent that reports its children's total is not counted twice). `None` when
/// no span reports usage. Iterative, so a 30,000-level chain cannot overflow the stack.
pub fn aggregate_token_usage(spans: &[SpanSummary]) -> Option<TokenUsage> {
    use std::collections::{HashMap, HashSet};

    let ids: HashSet<SpanId> = spans.iter().map(|s| s.span_id).collect();
    let mut children: HashMap<SpanId, Vec<&SpanSummary>> = HashMap::new();
    let mut stack: Vec<(&SpanSummary, bool)> = Vec::new();
    for span in spans {
        match span.parent_span_id.filter(|p| ids.contains(p)) {
            Some(parent) => children.entry(parent).or_default().push(span),
            None => stack.push((span, false)),
        }
    }
    let mut total: Option<TokenUsage> = None;
    while let Some((span, counted_above)) = stack.pop() {
        if let (Some(usage), false) = (&span.token_usage, counted_above) {
            total.get_or_insert_with(TokenUsage::default).add(usage);
        }
        let counted = counted_above || span.token_usage.is_some();
        if let Some(kids) = children.get(&span.span_id) {
            stack.extend(kids.iter().map(|k| (*k, counted)));
        }
    }
    total
}

/// What a trace's info derives from its spans.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSummary {
    pub request_time_ms: i64,
    /// `None` until some span has ended.
    pub execution_duration_ms: Option<i64>,
    pub state: TraceState,
    pub request_preview: Option<String>,
    pub response_preview: Option<String>,
    /// The root span's name (the trace's `mlflow.traceName`).
    pub trace_name: Option<String>,
    pub token_usage: Option<TokenUsage>,
}

impl TraceSummary {
    /// From every stored span of the trace and, when it has arrived, the root span.
    pub fn derive(spans: &[SpanSummary], root: Option<&TraceSpan>) -> Option<Self> {
        let start = spans.iter().map(|s| s.start_time_unix_nano).min()?;
        let end = spans.iter().filter_map(|s| s.end_time_unix_nano).max();
        let state = match root.map(|r| r.status.code) {
            None => TraceState::InProgress,
            Some(SpanStatusCode::Error) => TraceState::Error,
            Some(_) => TraceState::Ok,
        };
        let preview = |key: &str, role: &str| {
            root.and_then(|r| r.attributes.get(key))
                .map(|v| truncated_preview(v, role))
        };
        Some(Self {
            request_time_ms: start.div_euclid(1_000_000),
            execution_duration_ms: end.map(|e| (e - start).max(0).div_euclid(1_000_000)),
            state,
            request_preview: preview(span_keys::INPUTS, "user"),
            response_preview: preview(span_keys::OUTPUTS, "assistant"),
            trace_name: root.map(|r| r.name.clone()),
            token_usage: aggregate_token_usage(spans),
        })
    }
}

/// A preview as the reference writes it: the text of the last message of `role` when the value
/// is chat-shaped (OpenAI chat or Responses requests and responses), otherwise the value as JSON
/// with Python's separators (non-ASCII kept); cut to [`PREVIEW_MAX_CHARS`] with `...`.
pub fn truncated_preview(value: &Value, role: &str) -> String {
    let text = messages(value)
        .filter(|m| !m.is_empty())
        .and_then(|m| {
            let last = m
                .iter()
                .rev()
                .find(|msg| msg.get("role").and_then(Value::as_str) == Some(role))
                .or_else(|| m.last())?;
            message_text(last)
        })
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| crate::pyjson::dumps(value, false));
    if text.chars().count() <= PREVIEW_MAX_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(PREVIEW_MAX_CHARS - 3).collect();
    cut.push_str("...");
    cut
}

fn is_message(v: &Value) -> bool {
    v.get("role").is_some() && v.get("content").is_some()
}

fn messages(value: &Value) -> Option<Vec<&Value>> {
    let obj = value.as_object()?;
    let list = |key: &str| {
        obj.get(key)
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
            .map(|a| a.iter().filter(|v| is_message(v)).collect::<Vec<_>>())
    };
    if let Some(m) = list("messages") {
        return Some(m);
    }
    if let Some(msg) = obj
        .get("choices")
        .and_then(|c| c.get(0))
        .and_then(|c| c.get("message"))
        .filter(|m| is_message(m))
    {
        return Some(vec![msg]);
    }
    if let Some(m) = list("input").or_else(|| list("output")) {
        return Some(m);
    }
    obj.get("request").and_then(messages)
}

fn message_text(message: &Value) -> Option<String> {
    match message.get("content")? {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => parts.iter().find_map(|p| match p {
            Value::String(s) => Some(s.clone()),
            Value::Object(o)
                if matches!(
                    o.get("type").and_then(Value::as_str),
                    Some("text" | "output_text")
                ) =>
            {
                o.get("text").and_then(Value::as_str).map(str::to_owned)
            }
            _ => None,
        }),
        _ => Some(String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traces::entities::{SpanStatus, TraceId};
    use serde_json::json;

    fn summary(id: u8, parent: Option<u8>, usage: Option<(i64, i64)>) -> SpanSummary {
        SpanSummary {
            span_id: SpanId([id; 8]),
            parent_span_id: parent.map(|p| SpanId([p; 8])),
            start_time_unix_nano: i64::from(id) * 1_000_000,
            end_time_unix_nano: Some(i64::from(id) * 1_000_000 + 5_000_000),
            status: SpanStatusCode::Ok,
            token_usage: usage.map(|(i, o)| TokenUsage {
                input_tokens: i,
                output_tokens: o,
                total_tokens: i + o,
                ..Default::default()
            }),
        }
    }

    #[test]
    fn usage_counts_each_subtree_once() {
        // root(1) -> agent(2, reports 10+20 for its children) -> llm(3, 4+6), llm(4, 6+14)
        //         -> llm(5, 1+1); span 6's parent has not arrived (counted as a root).
        let spans = [
            summary(1, None, None),
            summary(2, Some(1), Some((10, 20))),
            summary(3, Some(2), Some((4, 6))),
            summary(4, Some(2), Some((6, 14))),
            summary(5, Some(1), Some((1, 1))),
            summary(6, Some(9), Some((2, 3))),
        ];
        let total = aggregate_token_usage(&spans).expect("usage");
        assert_eq!(
            (total.input_tokens, total.output_tokens, total.total_tokens),
            (13, 24, 37)
        );
        assert_eq!(total.cache_read_input_tokens, None);
        assert_eq!(aggregate_token_usage(&[summary(1, None, None)]), None);
    }

    #[test]
    fn a_deep_chain_does_not_overflow() {
        let spans: Vec<SpanSummary> = (0..30_000u32)
            .map(|i| SpanSummary {
                span_id: SpanId((u64::from(i) + 1).to_be_bytes()),
                parent_span_id: (i > 0).then(|| SpanId(u64::from(i).to_be_bytes())),
                start_time_unix_nano: 0,
                end_time_unix_nano: None,
                status: SpanStatusCode::Unset,
                token_usage: (i == 29_999).then_some(TokenUsage {
                    input_tokens: 1,
                    ..Default::default()
                }),
            })
            .collect();
        assert_eq!(
            aggregate_token_usage(&spans).expect("usage").input_tokens,
            1
        );
    }

    fn root(status: SpanStatusCode, inputs: Value, outputs: Value) -> TraceSpan {
        let mut attributes = serde_json::Map::new();
        attributes.insert(span_keys::INPUTS.into(), inputs);
        attributes.insert(span_keys::OUTPUTS.into(), outputs);
        TraceSpan {
            trace_id: TraceId::from_otel([1; 16]),
            span_id: SpanId([1; 8]),
            parent_span_id: None,
            name: "agent".into(),
            start_time_unix_nano: 1_000_000,
            end_time_unix_nano: Some(6_000_000),
            status: SpanStatus {
                code: status,
                message: String::new(),
            },
            attributes,
            events: Vec::new(),
        }
    }

    #[test]
    fn summary_takes_times_from_all_spans_and_the_rest_from_the_root() {
        let spans = [summary(1, None, None), summary(3, Some(1), Some((1, 2)))];
        let r = root(
            SpanStatusCode::Error,
            json!({"question": "hi"}),
            json!("hello"),
        );
        let s = TraceSummary::derive(&spans, Some(&r)).expect("summary");
        assert_eq!(s.request_time_ms, 1);
        assert_eq!(s.execution_duration_ms, Some(7));
        assert_eq!(s.state, TraceState::Error);
        assert_eq!(s.request_preview.as_deref(), Some("{\"question\": \"hi\"}"));
        assert_eq!(s.response_preview.as_deref(), Some("\"hello\""));
        assert_eq!(s.trace_name.as_deref(), Some("agent"));
        assert_eq!(s.token_usage.map(|u| u.total_tokens), Some(3));

        let partial = TraceSummary::derive(&spans[1..], None).expect("summary");
        assert_eq!(partial.state, TraceState::InProgress);
        assert_eq!(partial.request_preview, None);
        assert_eq!(TraceSummary::derive(&[], None), None);
    }

    #[test]
    fn chat_previews_show_the_last_message_of_the_role() {
        let request = json!({"messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": [{"type": "text", "text": "second"}]},
        ]});
        assert_eq!(truncated_preview(&request, "user"), "second");
        let response =
            json!({"choices": [{"message": {"role": "assistant", "content": "answer"}}]});
        assert_eq!(truncated_preview(&response, "assistant"), "answer");
        let responses_api =
            json!({"request": {"input": [{"role": "user", "content": "via request"}]}});
        assert_eq!(truncated_preview(&responses_api, "user"), "via request");
        let long = json!("é".repeat(2_000));
        let cut = truncated_preview(&long, "user");
        assert_eq!(cut.chars().count(), PREVIEW_MAX_CHARS);
        assert!(cut.ends_with("..."));
        assert_eq!(
            crate::pyjson::dumps(&json!({"a": [1, {"b": null}]}), false),
            "{\"a\": [1, {\"b\": null}]}"
        );
    }
}

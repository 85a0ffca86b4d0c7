//! Maps other tracing conventions onto MLflow's span attributes, so spans from any
//! OpenTelemetry-instrumented app get a span type, inputs, outputs, token usage, model and
//! provider: OpenInference (Arize/Phoenix), the OpenTelemetry GenAI semantic conventions and
//! Traceloop/OpenLLMetry, tried in that order, as the reference does. Attributes the span already
//! sets in MLflow's own keys are never overwritten (except a span type of `UNKNOWN`).

use serde_json::{Map, Value, json};

use super::entities::{TraceSpan, span_keys};

/// One convention's attribute keys.
struct Convention {
    kind_key: &'static str,
    /// (convention's kind, MLflow span type)
    kinds: &'static [(&'static str, &'static str)],
    input_keys: &'static [&'static str],
    output_keys: &'static [&'static str],
    input_tokens: &'static str,
    output_tokens: &'static str,
    total_tokens: Option<&'static str>,
    cache_read_tokens: &'static [&'static str],
    cache_write_tokens: &'static [&'static str],
    model_keys: &'static [&'static str],
    provider_key: &'static str,
    tool_definition_keys: &'static [&'static str],
}

const OPEN_INFERENCE: Convention = Convention {
    kind_key: "openinference.span.kind",
    kinds: &[
        ("TOOL", "TOOL"),
        ("CHAIN", "CHAIN"),
        ("LLM", "LLM"),
        ("RETRIEVER", "RETRIEVER"),
        ("EMBEDDING", "EMBEDDING"),
        ("AGENT", "AGENT"),
        ("RERANKER", "RERANKER"),
        ("UNKNOWN", "UNKNOWN"),
        ("GUARDRAIL", "GUARDRAIL"),
        ("EVALUATOR", "EVALUATOR"),
    ],
    input_keys: &["input.value"],
    output_keys: &["output.value"],
    input_tokens: "llm.token_count.prompt",
    output_tokens: "llm.token_count.completion",
    total_tokens: Some("llm.token_count.total"),
    cache_read_tokens: &["llm.token_count.prompt_details.cache_read"],
    cache_write_tokens: &["llm.token_count.prompt_details.cache_write"],
    model_keys: &[
        "llm.response.model_name",
        "llm.model_name",
        "llm.request.model_name",
        "embedding.model_name",
    ],
    provider_key: "llm.provider",
    tool_definition_keys: &[],
};

const GEN_AI: Convention = Convention {
    kind_key: "gen_ai.operation.name",
    kinds: &[
        ("chat", "CHAT_MODEL"),
        ("create_agent", "AGENT"),
        ("embeddings", "EMBEDDING"),
        ("execute_tool", "TOOL"),
        ("generate_content", "LLM"),
        ("invoke_agent", "AGENT"),
        ("text_completion", "LLM"),
        ("response", "LLM"),
    ],
    input_keys: &["gen_ai.input.messages", "gen_ai.tool.call.arguments"],
    output_keys: &["gen_ai.output.messages", "gen_ai.tool.call.result"],
    input_tokens: "gen_ai.usage.input_tokens",
    output_tokens: "gen_ai.usage.output_tokens",
    total_tokens: None,
    cache_read_tokens: &["gen_ai.usage.cache_read.input_tokens"],
    cache_write_tokens: &[
        "gen_ai.usage.cache_write.input_tokens",
        "gen_ai.usage.cache_creation.input_tokens",
    ],
    model_keys: &["gen_ai.response.model", "gen_ai.request.model"],
    provider_key: "gen_ai.provider.name",
    tool_definition_keys: &["gen_ai.tool.definitions"],
};

const TRACELOOP: Convention = Convention {
    kind_key: "traceloop.span.kind",
    kinds: &[
        ("workflow", "WORKFLOW"),
        ("task", "TASK"),
        ("agent", "AGENT"),
        ("tool", "TOOL"),
        ("unknown", "UNKNOWN"),
    ],
    input_keys: &["traceloop.entity.input"],
    output_keys: &["traceloop.entity.output"],
    input_tokens: "gen_ai.usage.prompt_tokens",
    output_tokens: "gen_ai.usage.completion_tokens",
    total_tokens: Some("llm.usage.total_tokens"),
    cache_read_tokens: &[],
    cache_write_tokens: &[],
    model_keys: &[],
    provider_key: "gen_ai.system",
    tool_definition_keys: &[],
};

const CONVENTIONS: [&Convention; 3] = [&OPEN_INFERENCE, &GEN_AI, &TRACELOOP];

/// A JSON document carried in a string attribute (`gen_ai.input.messages` is a string holding a
/// JSON list) becomes that document; other values stay as they are.
fn decoded(value: &Value) -> Value {
    match value {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(inner @ (Value::Array(_) | Value::Object(_) | Value::String(_))) => inner,
            _ => value.clone(),
        },
        _ => value.clone(),
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// The first non-empty value among `keys`.
fn first(attributes: &Map<String, Value>, keys: &[&str]) -> Option<Value> {
    keys.iter()
        .filter_map(|k| attributes.get(*k))
        .find(|v| !is_empty(v))
        .map(decoded)
}

/// A token count sent as a number or as a (possibly JSON-quoted) string.
fn count(attributes: &Map<String, Value>, key: &str) -> Option<i64> {
    match attributes.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim_matches('"').parse().ok(),
        _ => None,
    }
}

fn first_count(attributes: &Map<String, Value>, keys: &[&str]) -> Option<i64> {
    keys.iter().find_map(|k| count(attributes, k))
}

fn token_usage(attributes: &Map<String, Value>) -> Option<Value> {
    CONVENTIONS.iter().find_map(|c| {
        let input = count(attributes, c.input_tokens);
        let output = count(attributes, c.output_tokens);
        let total = c
            .total_tokens
            .and_then(|k| count(attributes, k))
            .or_else(|| Some(input? + output?));
        if input.is_none() && output.is_none() && total.is_none() {
            return None;
        }
        let mut usage = Map::new();
        for (key, value) in [
            ("input_tokens", input),
            ("output_tokens", output),
            ("total_tokens", total),
            (
                "cache_read_input_tokens",
                first_count(attributes, c.cache_read_tokens),
            ),
            (
                "cache_creation_input_tokens",
                first_count(attributes, c.cache_write_tokens),
            ),
        ] {
            if let Some(v) = value {
                usage.insert(key.to_owned(), json!(v));
            }
        }
        Some(Value::Object(usage))
    })
}

/// GenAI message events (`gen_ai.user.message`, ..., `gen_ai.choice`) as a message list.
fn messages_from_events(span: &TraceSpan, output: bool) -> Option<Value> {
    let messages: Vec<Value> = span
        .events
        .iter()
        .filter_map(|e| {
            let role = match (e.name.as_str(), output) {
                ("gen_ai.system.message", false) => json!("system"),
                ("gen_ai.user.message", false) => json!("user"),
                ("gen_ai.assistant.message", false) => json!("assistant"),
                ("gen_ai.choice", true) => e
                    .attributes
                    .get("role")
                    .map(decoded)
                    .unwrap_or(json!("assistant")),
                _ => return None,
            };
            let content = e.attributes.get("content").filter(|c| !is_empty(c))?;
            Some(json!({"role": role, "content": decoded(content)}))
        })
        .collect();
    (!messages.is_empty()).then_some(Value::Array(messages))
}

/// Fills MLflow's attributes of `span` from the conventions it uses. First, a string attribute
/// holding a JSON list, object or string is replaced by that value (producers that set
/// `input.value` or `mlflow.spanInputs` to serialized JSON mean the document, and the reference
/// strips that layer too); numbers and booleans written as strings stay strings.
pub fn translate(span: &mut TraceSpan) {
    for value in span.attributes.values_mut() {
        if value.is_string() {
            *value = decoded(value);
        }
    }
    let translated_type = CONVENTIONS.iter().find_map(|c| {
        let kind = span.attributes.get(c.kind_key)?.as_str()?;
        c.kinds.iter().find(|(k, _)| *k == kind).map(|(_, t)| *t)
    });
    if let Some(kind) = translated_type.filter(|_| span.span_type() == "UNKNOWN") {
        span.attributes
            .insert(span_keys::SPAN_TYPE.to_owned(), json!(kind));
    }
    let attrs = &span.attributes;
    let from = |keys: fn(&Convention) -> &'static [&'static str]| {
        CONVENTIONS.iter().find_map(|c| first(attrs, keys(c)))
    };
    let inputs = from(|c| c.input_keys).or_else(|| messages_from_events(span, false));
    let outputs = from(|c| c.output_keys).or_else(|| messages_from_events(span, true));
    // The model named in an OpenAI-style request, when no convention names one.
    let model = from(|c| c.model_keys).filter(Value::is_string).or_else(|| {
        let inputs = attrs.get(span_keys::INPUTS).or(inputs.as_ref())?;
        inputs.get("model").filter(|m| m.is_string()).cloned()
    });
    let found = [
        (span_keys::INPUTS, inputs),
        (span_keys::OUTPUTS, outputs),
        (span_keys::TOKEN_USAGE, token_usage(attrs)),
        (span_keys::CHAT_TOOLS, from(|c| c.tool_definition_keys)),
        (span_keys::MODEL, model),
        (
            span_keys::PROVIDER,
            CONVENTIONS
                .iter()
                .find_map(|c| first(attrs, &[c.provider_key])),
        ),
    ];
    for (key, value) in found {
        if let Some(value) = value {
            span.attributes.entry(key).or_insert(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traces::entities::{SpanEvent, SpanId, SpanStatus, TraceId};

    fn span(attributes: Value) -> TraceSpan {
        TraceSpan {
            trace_id: TraceId::from_otel([1; 16]),
            span_id: SpanId([2; 8]),
            parent_span_id: None,
            name: "s".into(),
            start_time_unix_nano: 1,
            end_time_unix_nano: Some(2),
            status: SpanStatus::default(),
            attributes: attributes.as_object().cloned().unwrap_or_default(),
            events: Vec::new(),
        }
    }

    #[test]
    fn gen_ai_chat_spans_get_type_messages_usage_model_and_provider() {
        let mut s = span(json!({
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
            "gen_ai.provider.name": "openai",
            "gen_ai.input.messages": "[{\"role\": \"user\", \"parts\": [{\"type\": \"text\", \"content\": \"hi\"}]}]",
            "gen_ai.output.messages": "[{\"role\": \"assistant\", \"parts\": []}]",
            "gen_ai.usage.input_tokens": 12,
            "gen_ai.usage.output_tokens": "30",
        }));
        translate(&mut s);
        assert_eq!(s.span_type(), "CHAT_MODEL");
        assert_eq!(s.attributes[span_keys::INPUTS][0]["role"], "user");
        assert_eq!(s.attributes[span_keys::OUTPUTS][0]["role"], "assistant");
        assert_eq!(
            s.attributes[span_keys::TOKEN_USAGE],
            json!({"input_tokens": 12, "output_tokens": 30, "total_tokens": 42})
        );
        assert_eq!(s.attributes[span_keys::MODEL], "gpt-4o-mini-2024-07-18");
        assert_eq!(s.attributes[span_keys::PROVIDER], "openai");
    }

    #[test]
    fn open_inference_spans_map_their_keys() {
        let mut s = span(json!({
            "openinference.span.kind": "RETRIEVER",
            "input.value": "what is keel?",
            "output.value": "{\"documents\": [1, 2]}",
            "llm.token_count.prompt": 5,
            "llm.token_count.completion": 7,
            "llm.token_count.total": 13,
            "llm.token_count.prompt_details.cache_read": 2,
            "llm.model_name": "llama3",
        }));
        translate(&mut s);
        assert_eq!(s.span_type(), "RETRIEVER");
        assert_eq!(s.attributes[span_keys::INPUTS], "what is keel?");
        assert_eq!(
            s.attributes[span_keys::OUTPUTS],
            json!({"documents": [1, 2]})
        );
        assert_eq!(
            s.attributes[span_keys::TOKEN_USAGE],
            json!({"input_tokens": 5, "output_tokens": 7, "total_tokens": 13, "cache_read_input_tokens": 2})
        );
        assert_eq!(s.attributes[span_keys::MODEL], "llama3");
    }

    #[test]
    fn traceloop_spans_map_kind_io_and_usage() {
        let mut s = span(json!({
            "traceloop.span.kind": "workflow",
            "traceloop.entity.input": "{\"q\": 1}",
            "gen_ai.usage.prompt_tokens": 3,
            "gen_ai.usage.completion_tokens": 4,
            "gen_ai.system": "Anthropic",
        }));
        translate(&mut s);
        assert_eq!(s.span_type(), "WORKFLOW");
        assert_eq!(s.attributes[span_keys::INPUTS], json!({"q": 1}));
        assert_eq!(s.attributes[span_keys::TOKEN_USAGE]["total_tokens"], 7);
        assert_eq!(s.attributes[span_keys::PROVIDER], "Anthropic");
    }

    #[test]
    fn mlflow_attributes_win_and_unknown_type_is_replaced() {
        let mut s = span(json!({
            "mlflow.spanType": "AGENT",
            "mlflow.spanInputs": {"x": 1},
            "gen_ai.operation.name": "chat",
            "gen_ai.input.messages": "[]",
        }));
        translate(&mut s);
        assert_eq!(s.span_type(), "AGENT");
        assert_eq!(s.attributes[span_keys::INPUTS], json!({"x": 1}));

        let mut unknown =
            span(json!({"mlflow.spanType": "UNKNOWN", "openinference.span.kind": "TOOL"}));
        translate(&mut unknown);
        assert_eq!(unknown.span_type(), "TOOL");
    }

    #[test]
    fn gen_ai_events_become_messages_and_inputs_name_the_model() {
        let mut s = span(json!({"gen_ai.operation.name": "chat"}));
        let event = |name: &str, attrs: Value| SpanEvent {
            name: name.into(),
            time_unix_nano: 1,
            attributes: attrs.as_object().cloned().unwrap_or_default(),
        };
        s.events = vec![
            event("gen_ai.system.message", json!({"content": "be brief"})),
            event("gen_ai.user.message", json!({"content": "hi"})),
            event("gen_ai.choice", json!({"content": "hello", "index": 0})),
            event("exception", json!({"exception.message": "x"})),
        ];
        translate(&mut s);
        assert_eq!(
            s.attributes[span_keys::INPUTS],
            json!([{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}])
        );
        assert_eq!(
            s.attributes[span_keys::OUTPUTS],
            json!([{"role": "assistant", "content": "hello"}])
        );

        let mut request = span(json!({"mlflow.spanInputs": {"model": "gpt-4o", "messages": []}}));
        translate(&mut request);
        assert_eq!(request.attributes[span_keys::MODEL], "gpt-4o");
    }

    #[test]
    fn plain_spans_are_left_alone() {
        let mut s = span(json!({"http.method": "GET", "input.value": "", "count": "1"}));
        let before = s.clone();
        translate(&mut s);
        assert_eq!(s, before);
    }

    #[test]
    fn serialized_json_attributes_are_stored_as_documents() {
        let mut s = span(json!({
            "mlflow.spanInputs": "{\"question\": \"hi\"}",
            "mlflow.spanType": "\"LLM\"",
            "tags": "[\"a\"]",
            "flag": "true",
        }));
        translate(&mut s);
        assert_eq!(s.attributes["mlflow.spanInputs"], json!({"question": "hi"}));
        assert_eq!(s.span_type(), "LLM");
        assert_eq!(s.attributes["tags"], json!(["a"]));
        assert_eq!(s.attributes["flag"], "true");
    }
}

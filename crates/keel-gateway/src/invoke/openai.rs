//! OpenAI's wire format (OpenAI, Azure OpenAI and every OpenAI-compatible server): the bodies
//! the gateway sends and the answers it gives back on its unified routes, shaped as the
//! reference shapes them (§11.2, §13.2 of docs/reference/gateway.md) — only the documented
//! fields, `null`s kept, and `provider` naming who served the call.

use serde_json::{Map, Value, json};

use super::provider::Target;

/// `payload` without its `null` fields, with the target's model first (Azure names its
/// deployment in the URL instead).
fn with_model(target: &Target, payload: &Map<String, Value>) -> Map<String, Value> {
    let mut body = Map::new();
    if target.names_model_in_body() {
        body.insert("model".into(), Value::String(target.model.clone()));
    }
    for (k, v) in payload {
        if !v.is_null() && k != "model" {
            body.insert(k.clone(), v.clone());
        }
    }
    body
}

/// Asks a streaming upstream for the usage chunk that ends the stream, so the tokens of a
/// stream are counted exactly.
fn ask_for_stream_usage(body: &mut Map<String, Value>) {
    let options = body
        .entry("stream_options")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(options) = options.as_object_mut() {
        options.insert("include_usage".into(), Value::Bool(true));
    }
}

/// The body of a unified chat call (`n` is 1 unless asked otherwise, as the reference sends).
pub fn chat_body(target: &Target, payload: &Map<String, Value>, stream: bool) -> Vec<u8> {
    let mut body = with_model(target, payload);
    body.entry("n").or_insert(json!(1));
    if stream {
        ask_for_stream_usage(&mut body);
    }
    Value::Object(body).to_string().into_bytes()
}

/// The body of a unified embeddings call, or of a passthrough call in OpenAI's own format
/// (`stream` asks for the usage chunk).
pub fn passthrough_body(target: &Target, payload: &Map<String, Value>, stream: bool) -> Vec<u8> {
    let mut body = with_model(target, payload);
    if stream {
        ask_for_stream_usage(&mut body);
    }
    Value::Object(body).to_string().into_bytes()
}

fn field(v: &Value, key: &str) -> Value {
    v.get(key).cloned().unwrap_or(Value::Null)
}

/// A tool call as the reference returns it: `id`, `type`, `function{name, arguments}`
/// (`index` too in stream deltas).
fn tool_call(call: &Value, in_delta: bool) -> Value {
    let mut out = Map::new();
    if in_delta {
        out.insert("index".into(), field(call, "index"));
    }
    out.insert("id".into(), field(call, "id"));
    out.insert(
        "type".into(),
        call.get("type").cloned().unwrap_or(json!("function")),
    );
    let function = call.get("function").cloned().unwrap_or(Value::Null);
    out.insert(
        "function".into(),
        json!({"name": field(&function, "name"), "arguments": field(&function, "arguments")}),
    );
    Value::Object(out)
}

fn tool_calls(message: &Value, in_delta: bool) -> Value {
    match message.get("tool_calls") {
        Some(Value::Array(calls)) => {
            Value::Array(calls.iter().map(|c| tool_call(c, in_delta)).collect())
        }
        _ => Value::Null,
    }
}

/// The items of `upstream[key]`, each shaped by `shape(position, item)`.
fn each(upstream: &Value, key: &str, shape: impl Fn(usize, &Value) -> Value) -> Vec<Value> {
    upstream
        .get(key)
        .and_then(Value::as_array)
        .map(|items| items.iter().enumerate().map(|(i, v)| shape(i, v)).collect())
        .unwrap_or_default()
}

/// An item's `index`, else its position.
fn index(item: &Value, position: usize) -> Value {
    item.get("index").cloned().unwrap_or(json!(position))
}

/// A unified chat answer from an upstream's chat completion.
pub fn chat_answer(upstream: &Value, provider: &str) -> Value {
    let choices = each(upstream, "choices", |i, c| {
        let m = c.get("message").cloned().unwrap_or(Value::Null);
        json!({
            "index": index(c, i),
            "message": {
                "role": m.get("role").cloned().unwrap_or(json!("assistant")),
                "content": field(&m, "content"),
                "tool_calls": tool_calls(&m, false),
                "refusal": field(&m, "refusal"),
            },
            "finish_reason": field(c, "finish_reason"),
        })
    });
    json!({
        "id": field(upstream, "id"),
        "object": upstream.get("object").cloned().unwrap_or(json!("chat.completion")),
        "created": field(upstream, "created"),
        "model": field(upstream, "model"),
        "choices": choices,
        "usage": upstream.get("usage").cloned().unwrap_or_else(|| json!({
            "prompt_tokens": null, "completion_tokens": null, "total_tokens": null
        })),
        "provider": provider,
    })
}

/// A unified stream chunk from an upstream's chunk.
pub fn chat_chunk(upstream: &Value, provider: &str) -> Value {
    let choices = each(upstream, "choices", |i, c| {
        let d = c.get("delta").cloned().unwrap_or(Value::Null);
        json!({
            "index": index(c, i),
            "finish_reason": field(c, "finish_reason"),
            "delta": {
                "role": field(&d, "role"),
                "content": field(&d, "content"),
                "tool_calls": tool_calls(&d, true),
            },
        })
    });
    json!({
        "id": field(upstream, "id"),
        "object": upstream.get("object").cloned().unwrap_or(json!("chat.completion.chunk")),
        "created": field(upstream, "created"),
        "model": field(upstream, "model"),
        "choices": choices,
        "usage": field(upstream, "usage"),
        "provider": provider,
    })
}

/// A unified embeddings answer: the vectors in order, the model and the usage.
pub fn embeddings_answer(upstream: &Value) -> Value {
    let data = each(upstream, "data", |i, item| {
        json!({
            "object": item.get("object").cloned().unwrap_or(json!("embedding")),
            "embedding": field(item, "embedding"),
            "index": index(item, i),
        })
    });
    json!({
        "object": upstream.get("object").cloned().unwrap_or(json!("list")),
        "data": data,
        "model": field(upstream, "model"),
        "usage": field(upstream, "usage"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn target() -> Target {
        let definition = crate::ModelDefinition {
            provider: "openai".into(),
            model_name: "gpt-4o-mini".into(),
            ..Default::default()
        };
        let values = BTreeMap::from([("api_key".to_owned(), "k".to_owned())]);
        super::super::provider::target(&definition, &values, &BTreeMap::new()).expect("target")
    }

    fn body(bytes: Vec<u8>) -> Value {
        serde_json::from_slice(&bytes).expect("json")
    }

    #[test]
    fn chat_bodies_name_the_model_drop_nulls_and_ask_streams_for_usage() {
        let payload = json!({"model": "chat-ep", "messages": [{"role": "user", "content": "Hi"}], "temperature": null, "max_tokens": 5});
        let payload = payload.as_object().expect("object");
        assert_eq!(
            body(chat_body(&target(), payload, false)),
            json!({"model": "gpt-4o-mini", "n": 1, "max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}]})
        );
        let streamed = body(chat_body(&target(), payload, true));
        assert_eq!(streamed["stream_options"], json!({"include_usage": true}));
        let passthrough = body(passthrough_body(&target(), payload, false));
        assert!(
            passthrough.get("n").is_none(),
            "passthrough sends what it was given"
        );
    }

    #[test]
    fn answers_keep_the_documented_fields_and_name_the_provider() {
        let upstream = json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-mini",
            "system_fingerprint": "fp", "choices": [{"index": 0, "logprobs": null, "finish_reason": "tool_calls",
            "message": {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
        });
        assert_eq!(
            chat_answer(&upstream, "openai"),
            json!({
                "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-mini",
                "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null, "refusal": null,
                    "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
                "provider": "openai"
            })
        );
        let chunk = json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": null}]});
        assert_eq!(
            chat_chunk(&chunk, "vllm")["choices"][0],
            json!({"index": 0, "finish_reason": null, "delta": {"role": null, "content": "Hel", "tool_calls": null}})
        );
        assert_eq!(chat_chunk(&chunk, "vllm")["usage"], Value::Null);
    }
}

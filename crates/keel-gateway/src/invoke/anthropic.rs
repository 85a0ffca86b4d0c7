//! Anthropic's messages API behind the gateway's unified chat: an OpenAI-format request
//! translated into a message request, and the message (or its event stream) translated back
//! into a chat completion (or its chunks), as the reference translates them (§13.3 of
//! docs/reference/gateway.md) — system messages joined into `system`, temperature halved,
//! tools and tool results as content blocks, structured output through `output_config`.

use serde_json::{Map, Value, json};

use super::error::CallError;
use super::provider::Target;

/// The reference's default `max_tokens` (Anthropic requires one).
const DEFAULT_MAX_TOKENS: u64 = 8192;
const MAX_MAX_TOKENS: u64 = 1_000_000;
/// What `json_object` output asks of the model.
const JSON_OBJECT_INSTRUCTION: &str = "Respond with only a single valid JSON object. Do not \
    include any explanatory text, markdown, or code fences before or after the JSON object.";

fn unprocessable(message: impl Into<String>) -> CallError {
    CallError::http(422, message)
}

/// The text of a message's content: a string, or its text parts joined.
fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// A user message's content parts as Anthropic blocks (images by data URL or URL).
fn user_content(content: &Value) -> Value {
    let Value::Array(parts) = content else {
        return Value::String(text_of(content));
    };
    let blocks = parts
        .iter()
        .map(|part| match part.get("type").and_then(Value::as_str) {
            Some("image_url") => {
                let url = part
                    .pointer("/image_url/url")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                match url
                    .strip_prefix("data:")
                    .and_then(|rest| rest.split_once(";base64,"))
                {
                    Some((media, data)) => json!({"type": "image", "source": {
                        "type": "base64", "media_type": media, "data": data}}),
                    None => json!({"type": "image", "source": {"type": "url", "url": url}}),
                }
            }
            _ => json!({"type": "text", "text": part.get("text").cloned().unwrap_or(json!(""))}),
        })
        .collect();
    Value::Array(blocks)
}

/// Every object of a JSON schema closed (`additionalProperties: false`), as Anthropic's
/// structured output requires.
fn closed(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out: Map<String, Value> =
                map.iter().map(|(k, v)| (k.clone(), closed(v))).collect();
            if out.get("type").and_then(Value::as_str) == Some("object") {
                out.entry("additionalProperties").or_insert(json!(false));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(closed).collect()),
        other => other.clone(),
    }
}

fn message_turns(messages: &[Value]) -> Result<(Vec<String>, Vec<Value>), CallError> {
    let mut system = Vec::new();
    let mut turns: Vec<Value> = Vec::new();
    for m in messages {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("user");
        let content = m.get("content").unwrap_or(&Value::Null);
        match role {
            "system" | "developer" => system.push(text_of(content)),
            "assistant" => {
                let mut blocks = Vec::new();
                let text = text_of(content);
                if !text.is_empty() {
                    blocks.push(json!({"type": "text", "text": text}));
                }
                for call in m
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let arguments = call
                        .pointer("/function/arguments")
                        .and_then(Value::as_str)
                        .unwrap_or("{}");
                    let input: Value = serde_json::from_str(arguments).map_err(|_| {
                        unprocessable("A tool call's arguments must be a JSON object.")
                    })?;
                    blocks.push(json!({"type": "tool_use", "id": call.get("id").cloned().unwrap_or(json!("")),
                        "name": call.pointer("/function/name").cloned().unwrap_or(json!("")), "input": input}));
                }
                turns.push(json!({"role": "assistant", "content": blocks}));
            }
            "tool" => {
                let result = json!({"type": "tool_result",
                    "tool_use_id": m.get("tool_call_id").cloned().unwrap_or(json!("")),
                    "content": text_of(content)});
                // Consecutive tool results answer one assistant turn: one user turn holds them.
                let merged = turns.last_mut().filter(|t| {
                    t["role"] == "user"
                        && t["content"]
                            .as_array()
                            .is_some_and(|c| c.iter().all(|b| b["type"] == "tool_result"))
                });
                match merged.and_then(|t| t["content"].as_array_mut()) {
                    Some(blocks) => blocks.push(result),
                    None => turns.push(json!({"role": "user", "content": [result]})),
                }
            }
            _ => turns.push(json!({"role": "user", "content": user_content(content)})),
        }
    }
    Ok((system, turns))
}

/// The messages request for a unified chat `payload`.
pub fn request(
    target: &Target,
    payload: &Map<String, Value>,
    stream: bool,
) -> Result<Vec<u8>, CallError> {
    let get = |k: &str| payload.get(k).filter(|v| !v.is_null());
    if get("temperature").is_some() && get("top_p").is_some() {
        return Err(unprocessable(
            "Cannot set both 'temperature' and 'top_p' parameters.",
        ));
    }
    if let Some(n) = get("n").and_then(Value::as_u64).filter(|n| *n != 1) {
        return Err(unprocessable(format!(
            "'n' must be '1' for the Anthropic provider. Received value: '{n}'."
        )));
    }
    let max_tokens = get("max_tokens")
        .or_else(|| get("max_completion_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_MAX_TOKENS);
    if max_tokens > MAX_MAX_TOKENS {
        return Err(unprocessable(format!(
            "Invalid value for max_tokens: cannot exceed {MAX_MAX_TOKENS}."
        )));
    }
    let messages = get("messages")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let (mut system, turns) = message_turns(messages)?;
    let mut body = Map::new();
    body.insert("model".into(), json!(target.model));
    body.insert("messages".into(), Value::Array(turns));
    body.insert("max_tokens".into(), json!(max_tokens));
    if let Some(t) = get("temperature").and_then(Value::as_f64) {
        body.insert("temperature".into(), json!(t / 2.0));
    }
    for key in ["top_p", "top_k", "metadata"] {
        if let Some(v) = get(key) {
            body.insert(key.into(), v.clone());
        }
    }
    match get("stop") {
        Some(Value::String(s)) => {
            body.insert("stop_sequences".into(), json!([s]));
        }
        Some(stops @ Value::Array(_)) => {
            body.insert("stop_sequences".into(), stops.clone());
        }
        _ => {}
    }
    if let Some(tools) = get("tools").and_then(Value::as_array) {
        let mut out = Vec::with_capacity(tools.len());
        for tool in tools {
            if tool.get("type").and_then(Value::as_str) != Some("function") {
                return Err(unprocessable(
                    "Only function tools are supported by Anthropic.",
                ));
            }
            let f = tool.get("function").cloned().unwrap_or(Value::Null);
            let mut t = json!({"name": f.get("name").cloned().unwrap_or(json!("")),
                "input_schema": f.get("parameters").cloned().unwrap_or(json!({"type": "object", "properties": {}}))});
            if let Some(d) = f.get("description").filter(|d| !d.is_null()) {
                t["description"] = d.clone();
            }
            out.push(t);
        }
        body.insert("tools".into(), Value::Array(out));
    }
    if let Some(choice) = get("tool_choice") {
        let mapped = match choice {
            Value::String(s) if s == "none" => json!({"type": "none"}),
            Value::String(s) if s == "required" => json!({"type": "any"}),
            Value::String(_) => json!({"type": "auto"}),
            other => {
                json!({"type": "tool", "name": other.pointer("/function/name").cloned().unwrap_or(json!(""))})
            }
        };
        body.insert("tool_choice".into(), mapped);
    }
    match get("response_format")
        .and_then(|f| f.get("type"))
        .and_then(Value::as_str)
    {
        Some("json_schema") => {
            if let Some(schema) = get("response_format")
                .and_then(|f| f.pointer("/json_schema/schema"))
                .filter(|s| s.get("properties").is_some())
            {
                body.insert(
                    "output_config".into(),
                    json!({"format": {"type": "json_schema", "schema": closed(schema)}}),
                );
            }
        }
        Some("json_object") => system.push(JSON_OBJECT_INSTRUCTION.to_owned()),
        _ => {}
    }
    if !system.is_empty() {
        body.insert("system".into(), json!(system.join("\n")));
    }
    if stream {
        body.insert("stream".into(), json!(true));
    }
    Ok(Value::Object(body).to_string().into_bytes())
}

fn finish_reason(stop: Option<&str>) -> Value {
    match stop {
        None => Value::Null,
        Some("max_tokens") => json!("length"),
        Some("tool_use") => json!("tool_calls"),
        Some(_) => json!("stop"),
    }
}

/// A chat completion's `usage` from an Anthropic `usage` (cached input counted as input).
fn chat_usage(usage: &Value) -> Value {
    let n = |k: &str| usage.get(k).and_then(Value::as_u64).unwrap_or(0);
    let prompt =
        n("input_tokens") + n("cache_read_input_tokens") + n("cache_creation_input_tokens");
    let completion = n("output_tokens");
    let mut out = json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion});
    if usage.get("cache_read_input_tokens").is_some() {
        out["prompt_tokens_details"] = json!({"cached_tokens": n("cache_read_input_tokens")});
    }
    if let Some(created) = usage.get("cache_creation_input_tokens") {
        out["cache_creation_input_tokens"] = created.clone();
    }
    out
}

/// A unified chat answer from an Anthropic message.
pub fn answer(message: &Value, created: i64) -> Value {
    let blocks = message
        .get("content")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let text: Vec<&str> = blocks
        .iter()
        .filter(|b| b["type"] == "text")
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect();
    let calls: Vec<Value> = blocks
        .iter()
        .filter(|b| b["type"] == "tool_use")
        .map(|b| {
            json!({"id": b.get("id").cloned().unwrap_or(Value::Null), "type": "function", "function": {
                "name": b.get("name").cloned().unwrap_or(Value::Null),
                "arguments": keel_core::pyjson::dumps(b.get("input").unwrap_or(&json!({})), true)}})
        })
        .collect();
    json!({
        "id": message.get("id").cloned().unwrap_or(Value::Null),
        "object": "chat.completion",
        "created": created,
        "model": message.get("model").cloned().unwrap_or(Value::Null),
        "choices": [{"index": 0, "finish_reason": finish_reason(message.get("stop_reason").and_then(Value::as_str)),
            "message": {"role": "assistant",
                "content": if text.is_empty() { Value::Null } else { json!(text.concat()) },
                "tool_calls": if calls.is_empty() { Value::Null } else { Value::Array(calls) },
                "refusal": Value::Null}}],
        "usage": chat_usage(message.get("usage").unwrap_or(&Value::Null)),
        "provider": "anthropic",
    })
}

/// Translates an Anthropic event stream into unified chunks, event by event.
#[derive(Debug, Default)]
pub struct StreamTranslator {
    id: Value,
    model: Value,
    created: i64,
    /// The usage `message_start` reported (input), completed by `message_delta` (output).
    usage: Map<String, Value>,
    /// Content block index → the index of its tool call among the message's tool calls.
    tool_blocks: Vec<(u64, u64)>,
}

impl StreamTranslator {
    pub fn new(created: i64) -> Self {
        Self {
            created,
            ..Self::default()
        }
    }

    fn chunk(&self, delta: Value, finish: Value, usage: Value) -> Value {
        json!({"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "choices": [{"index": 0, "finish_reason": finish, "delta": delta}],
            "usage": usage, "provider": "anthropic"})
    }

    /// The unified chunk for one event, if it makes one.
    pub fn event(&mut self, event: &Value) -> Option<Value> {
        let delta = |content: Value, calls: Value| json!({"role": null, "content": content, "tool_calls": calls});
        match event.get("type").and_then(Value::as_str)? {
            "message_start" => {
                let message = event.get("message")?;
                self.id = message.get("id").cloned().unwrap_or(Value::Null);
                self.model = message.get("model").cloned().unwrap_or(Value::Null);
                if let Some(usage) = message.get("usage").and_then(Value::as_object) {
                    self.usage.extend(usage.clone());
                }
                None
            }
            "content_block_start" => {
                let block = event.get("content_block")?;
                let index = event.get("index").and_then(Value::as_u64).unwrap_or(0);
                match block.get("type").and_then(Value::as_str)? {
                    "text" => Some(self.chunk(
                        delta(block.get("text").cloned().unwrap_or(json!("")), Value::Null),
                        Value::Null,
                        Value::Null,
                    )),
                    "tool_use" => {
                        let call_index = self.tool_blocks.len() as u64;
                        self.tool_blocks.push((index, call_index));
                        let call = json!([{"index": call_index, "id": block.get("id").cloned().unwrap_or(Value::Null),
                            "type": "function", "function": {"name": block.get("name").cloned().unwrap_or(Value::Null), "arguments": ""}}]);
                        Some(self.chunk(delta(Value::Null, call), Value::Null, Value::Null))
                    }
                    _ => None,
                }
            }
            "content_block_delta" => {
                let d = event.get("delta")?;
                match d.get("type").and_then(Value::as_str)? {
                    "text_delta" => Some(self.chunk(
                        delta(d.get("text").cloned().unwrap_or(json!("")), Value::Null),
                        Value::Null,
                        Value::Null,
                    )),
                    "input_json_delta" => {
                        let index = event.get("index").and_then(Value::as_u64).unwrap_or(0);
                        let call_index = self
                            .tool_blocks
                            .iter()
                            .find(|(block, _)| *block == index)
                            .map_or(0, |(_, call)| *call);
                        let call = json!([{"index": call_index, "id": null, "type": "function",
                            "function": {"name": null, "arguments": d.get("partial_json").cloned().unwrap_or(json!(""))}}]);
                        Some(self.chunk(delta(Value::Null, call), Value::Null, Value::Null))
                    }
                    _ => None,
                }
            }
            "message_delta" => {
                if let Some(usage) = event.get("usage").and_then(Value::as_object) {
                    self.usage.extend(usage.clone());
                }
                let stop = event.pointer("/delta/stop_reason").and_then(Value::as_str);
                let usage = chat_usage(&Value::Object(self.usage.clone()));
                Some(self.chunk(delta(Value::Null, Value::Null), finish_reason(stop), usage))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn target() -> Target {
        let definition = crate::ModelDefinition {
            provider: "anthropic".into(),
            model_name: "claude-3-5-haiku-20241022".into(),
            ..Default::default()
        };
        let values = BTreeMap::from([("api_key".to_owned(), "k".to_owned())]);
        super::super::provider::target(&definition, &values, &BTreeMap::new()).expect("target")
    }

    fn sent(payload: Value) -> Value {
        let bytes =
            request(&target(), payload.as_object().expect("object"), false).expect("request");
        serde_json::from_slice(&bytes).expect("json")
    }

    #[test]
    fn requests_are_translated_as_the_reference_translates_them() {
        assert_eq!(
            sent(
                json!({"messages": [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Hi"}],
                "stop": ["END"], "temperature": 1.0, "n": 1})
            ),
            json!({"model": "claude-3-5-haiku-20241022", "max_tokens": 8192, "system": "Be brief",
                "stop_sequences": ["END"], "temperature": 0.5, "messages": [{"role": "user", "content": "Hi"}]})
        );
        let tools = sent(
            json!({"messages": [{"role": "user", "content": "Weather?"}],
            "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Get weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
            "tool_choice": "required",
            "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}}}),
        );
        assert_eq!(
            tools["tools"][0]["input_schema"]["properties"]["city"],
            json!({"type": "string"})
        );
        assert_eq!(tools["tool_choice"], json!({"type": "any"}));
        assert_eq!(
            tools["output_config"]["format"]["schema"]["additionalProperties"],
            json!(false)
        );
        let conversation = sent(json!({"messages": [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "t1", "type": "function", "function": {"name": "w", "arguments": "{\"city\": \"Paris\"}"}},
                {"id": "t2", "type": "function", "function": {"name": "w", "arguments": "{\"city\": \"Rome\"}"}}]},
            {"role": "tool", "tool_call_id": "t1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "t2", "content": "rain"}]}));
        assert_eq!(
            conversation["messages"][1]["content"][1]["input"],
            json!({"city": "Rome"})
        );
        assert_eq!(
            conversation["messages"].as_array().expect("turns").len(),
            3,
            "tool results share one turn"
        );
        assert_eq!(
            conversation["messages"][2]["content"][1]["tool_use_id"],
            json!("t2")
        );
    }

    #[test]
    fn impossible_requests_are_422() {
        let both = request(
            &target(),
            json!({"messages": [], "temperature": 0.1, "top_p": 0.5})
                .as_object()
                .expect("o"),
            false,
        );
        assert_eq!(both.expect_err("both").status(), Some(422));
        let n = request(
            &target(),
            json!({"messages": [], "n": 2}).as_object().expect("o"),
            false,
        );
        assert_eq!(n.expect_err("n").status(), Some(422));
    }

    #[test]
    fn messages_and_streams_come_back_as_chat_completions() {
        let message = json!({"id": "msg_fake", "model": "claude-3-5-haiku-20241022", "stop_reason": "tool_use",
            "content": [{"type": "text", "text": "Let me check."}, {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}],
            "usage": {"input_tokens": 10, "output_tokens": 6, "cache_read_input_tokens": 2, "cache_creation_input_tokens": 0}});
        assert_eq!(
            answer(&message, 1796456823),
            json!({"id": "msg_fake", "object": "chat.completion", "created": 1796456823, "model": "claude-3-5-haiku-20241022",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Let me check.", "refusal": null,
                    "tool_calls": [{"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
                    "finish_reason": "tool_calls"}],
                "usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18, "prompt_tokens_details": {"cached_tokens": 2}, "cache_creation_input_tokens": 0},
                "provider": "anthropic"})
        );
        let mut t = StreamTranslator::new(1);
        assert!(t.event(&json!({"type": "message_start", "message": {"id": "m", "model": "c", "usage": {"input_tokens": 10, "output_tokens": 1}}})).is_none());
        let first = t.event(&json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})).expect("chunk");
        assert_eq!(
            first["choices"][0]["delta"],
            json!({"role": null, "content": "", "tool_calls": null})
        );
        let text = t.event(&json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}})).expect("chunk");
        assert_eq!(text["choices"][0]["delta"]["content"], json!("Hello"));
        let last = t.event(&json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 3}})).expect("chunk");
        assert_eq!(last["choices"][0]["finish_reason"], json!("stop"));
        assert_eq!(
            last["usage"],
            json!({"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13})
        );
        assert!(t.event(&json!({"type": "message_stop"})).is_none());
    }
}

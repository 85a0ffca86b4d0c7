//! Google Gemini's `generateContent` behind the unified chat and embeddings, translated both
//! ways as the reference translates them (§13.4 of docs/reference/gateway.md): sampling
//! settings into `generationConfig`, the system prompt into `system_instruction`, assistant
//! tool calls into `functionCall` parts and tool results into `functionResponse` parts (one
//! user turn per group), JSON schemas into `responseJsonSchema`; candidates back into
//! choices, function calls into tool calls, `usageMetadata` into usage; streams chunk by
//! chunk.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::error::CallError;

/// Unified names and the `generationConfig` names they become.
const GENERATION_KEYS: [(&str, &str); 7] = [
    ("stop", "stopSequences"),
    ("n", "candidateCount"),
    ("max_tokens", "maxOutputTokens"),
    ("top_k", "topK"),
    ("top_p", "topP"),
    ("frequency_penalty", "frequencyPenalty"),
    ("presence_penalty", "presencePenalty"),
];

fn unprocessable(message: impl Into<String>) -> CallError {
    CallError::http(422, message)
}

/// A user turn's content as Gemini parts: text, base64 images as `inlineData`, other parts
/// as given.
fn parts(content: &Value) -> Vec<Value> {
    let Some(items) = content.as_array() else {
        return vec![json!({"text": content})];
    };
    items
        .iter()
        .map(|part| match part.get("type").and_then(Value::as_str) {
            Some("text") => json!({"text": part.get("text").cloned().unwrap_or(json!(""))}),
            Some("image_url") => {
                let url = part
                    .pointer("/image_url/url")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                match data_url(url) {
                    Some((mime, data)) => json!({"inlineData": {"mimeType": mime, "data": data}}),
                    None => json!({"text": format!("[unsupported image reference: {url}]")}),
                }
            }
            _ => part.clone(),
        })
        .collect()
}

/// `data:<mime>;base64,<data>` split into its type and data.
fn data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (head, data) = rest.split_once(',')?;
    let mime = head.strip_suffix(";base64")?;
    Some((mime, data))
}

/// A tool result as Gemini's `functionResponse.response` (an object).
fn tool_response(content: &Value) -> Value {
    let parsed = content
        .as_str()
        .and_then(|text| serde_json::from_str::<Value>(text).ok());
    match parsed {
        Some(object @ Value::Object(_)) => object,
        Some(other) => json!({"result": other}),
        None => json!({"result": content}),
    }
}

/// The `generateContent` body of a unified chat `body`.
pub fn request(body: &Map<String, Value>) -> Result<Value, CallError> {
    for (unified, gemini) in GENERATION_KEYS {
        if body.contains_key(gemini) {
            return Err(unprocessable(format!(
                "Invalid parameter {gemini}. Use {unified} instead."
            )));
        }
    }
    let mut generation = Map::new();
    if let Some(t) = body.get("temperature").filter(|v| !v.is_null()) {
        generation.insert("temperature".into(), t.clone());
    }
    for (unified, gemini) in GENERATION_KEYS {
        let value = match unified {
            "max_tokens" => body
                .get("max_tokens")
                .filter(|v| !v.is_null())
                .or_else(|| body.get("max_completion_tokens")),
            _ => body.get(unified),
        };
        match value.filter(|v| !v.is_null()) {
            Some(v) => {
                generation.insert(gemini.into(), v.clone());
            }
            // The unified chat asks for one choice unless told otherwise.
            None if unified == "n" => {
                generation.insert(gemini.into(), json!(1));
            }
            None => {}
        }
    }
    let mut contents: Vec<Value> = Vec::new();
    let mut system: Vec<Value> = Vec::new();
    let mut call_names: HashMap<String, String> = HashMap::new();
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    for message in messages {
        let content = message.get("content").unwrap_or(&Value::Null);
        match message.get("role").and_then(Value::as_str) {
            Some("system" | "developer") => system.push(json!({"text": content})),
            Some(role @ ("user" | "assistant")) => {
                let calls = message
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .filter(|c| role == "assistant" && !c.is_empty());
                if let Some(calls) = calls {
                    let mut parts = Vec::with_capacity(calls.len());
                    for call in calls {
                        let id = call.get("id").and_then(Value::as_str).unwrap_or_default();
                        let name = call
                            .pointer("/function/name")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        let arguments = call
                            .pointer("/function/arguments")
                            .and_then(Value::as_str)
                            .unwrap_or("{}");
                        let args: Value = serde_json::from_str(arguments).map_err(|_| {
                            unprocessable(format!(
                                "The arguments of tool call '{id}' are not valid JSON."
                            ))
                        })?;
                        call_names.insert(id.to_owned(), name.to_owned());
                        let mut part =
                            json!({"functionCall": {"id": id, "name": name, "args": args}});
                        if let Some(signature) = call.get("thought_signature") {
                            part["thoughtSignature"] = signature.clone();
                        }
                        parts.push(part);
                    }
                    contents.push(json!({"role": "model", "parts": parts}));
                } else {
                    let role = if role == "assistant" { "model" } else { "user" };
                    contents.push(json!({"role": role, "parts": parts(content)}));
                }
            }
            Some("tool") => {
                let id = message
                    .get("tool_call_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let Some(name) = call_names.get(id) else {
                    return Err(unprocessable(format!(
                        "Invalid tool message: tool_call_id={id} does not match any tool call \
                         in a preceding assistant message."
                    )));
                };
                let part = json!({"functionResponse": {"id": id, "name": name,
                    "response": tool_response(content)}});
                // One user turn answers all of a model turn's calls.
                match contents.last_mut() {
                    Some(last)
                        if last["role"] == "user"
                            && last["parts"].as_array().is_some_and(|p| {
                                !p.is_empty()
                                    && p.iter().all(|x| x.get("functionResponse").is_some())
                            }) =>
                    {
                        if let Some(p) = last["parts"].as_array_mut() {
                            p.push(part);
                        }
                    }
                    _ => contents.push(json!({"role": "user", "parts": [part]})),
                }
            }
            _ => {}
        }
    }
    let mut out = json!({"contents": contents});
    if !system.is_empty() {
        out["system_instruction"] = json!({"parts": system});
    }
    match body.get("response_format") {
        Some(format) if format["type"] == "json_schema" && format.get("json_schema").is_some() => {
            generation.insert(
                "responseJsonSchema".into(),
                format
                    .pointer("/json_schema/schema")
                    .cloned()
                    .unwrap_or(json!({})),
            );
            generation.insert("responseMimeType".into(), json!("application/json"));
        }
        Some(format) if format["type"] == "json_object" => {
            generation.insert("responseMimeType".into(), json!("application/json"));
        }
        _ => {}
    }
    if !generation.is_empty() {
        out["generationConfig"] = Value::Object(generation);
    }
    if let Some(tools) = body.get("tools").and_then(Value::as_array) {
        let mut declarations = Vec::with_capacity(tools.len());
        for tool in tools {
            let kind = tool.get("type").and_then(Value::as_str).unwrap_or_default();
            if kind != "function" {
                return Err(unprocessable(format!(
                    "Only function calling tool is supported, but received tool type {kind}"
                )));
            }
            let f = tool.get("function").unwrap_or(&Value::Null);
            declarations.push(
                json!({"name": f.get("name").cloned().unwrap_or(Value::Null),
                "description": f.get("description").cloned().unwrap_or(Value::Null),
                "parametersJsonSchema": f.get("parameters").cloned().unwrap_or(Value::Null)}),
            );
        }
        out["tools"] = json!([{"functionDeclarations": declarations}]);
        let mode = match body.get("tool_choice") {
            Some(Value::String(s)) if s == "none" => Some(json!({"mode": "NONE"})),
            Some(Value::String(s)) if s == "required" => Some(json!({"mode": "ANY"})),
            Some(choice) if choice["type"] == "function" => choice
                .pointer("/function/name")
                .map(|name| json!({"mode": "ANY", "allowedFunctionNames": [name]})),
            _ => None,
        };
        if let Some(mode) = mode {
            out["toolConfig"] = json!({"functionCallingConfig": mode});
        }
    }
    Ok(out)
}

/// Gemini's finish reason as OpenAI names it.
fn finish_reason(reason: Option<&str>) -> Value {
    match reason {
        None => Value::Null,
        Some("MAX_TOKENS") => json!("length"),
        Some(other) => json!(other.to_ascii_lowercase()),
    }
}

/// A chat `usage` from Gemini's `usageMetadata` (its other counts kept as they are).
fn chat_usage(metadata: &Value) -> Value {
    let mut usage = Map::new();
    if let Some(m) = metadata.as_object() {
        for (k, v) in m {
            if !matches!(
                k.as_str(),
                "promptTokenCount"
                    | "candidatesTokenCount"
                    | "totalTokenCount"
                    | "cachedContentTokenCount"
            ) {
                usage.insert(k.clone(), v.clone());
            }
        }
    }
    let get = |k: &str| metadata.get(k).cloned().unwrap_or(Value::Null);
    usage.insert("prompt_tokens".into(), get("promptTokenCount"));
    usage.insert("completion_tokens".into(), get("candidatesTokenCount"));
    usage.insert("total_tokens".into(), get("totalTokenCount"));
    if let Some(cached) = metadata.get("cachedContentTokenCount") {
        usage.insert(
            "prompt_tokens_details".into(),
            json!({"cached_tokens": cached}),
        );
    }
    Value::Object(usage)
}

/// An ID for a function call Gemini gave none, the same for the same call (the reference's
/// is an MD5 of the same text; any stable ID serves).
fn call_id(name: &str, arguments: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{name}/{arguments}").as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("call_{hex}")
}

/// A candidate's text and tool calls (numbered from `offset`, as stream deltas when
/// `stream`), and its finish reason (`tool_calls` when it calls any and stopped).
fn candidate_message(
    parts: &[Value],
    finish: Value,
    stream: bool,
    offset: usize,
) -> (Value, Vec<Value>, Value) {
    let mut text = String::new();
    let mut calls = Vec::new();
    for part in parts {
        if let Some(t) = part.get("text").and_then(Value::as_str) {
            text.push_str(t);
        }
        let Some(call) = part.get("functionCall") else {
            continue;
        };
        let name = call.get("name").and_then(Value::as_str).unwrap_or_default();
        let arguments = keel_core::pyjson::dumps(call.get("args").unwrap_or(&json!({})), true);
        let id = call
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| call_id(name, &arguments));
        let signature = ["thoughtSignature", "thought_signature"]
            .iter()
            .find_map(|k| part.get(*k).or_else(|| call.get(*k)))
            .cloned()
            .unwrap_or(Value::Null);
        let mut tool_call = json!({"id": id, "type": "function",
            "function": {"name": name, "arguments": arguments}});
        if stream {
            tool_call["index"] = json!(offset + calls.len());
        }
        if !signature.is_null() {
            tool_call["thought_signature"] = signature;
        }
        calls.push(tool_call);
    }
    let finish = if !calls.is_empty() && finish == "stop" {
        json!("tool_calls")
    } else {
        finish
    };
    let content = if text.is_empty() {
        Value::Null
    } else {
        json!(text)
    };
    (content, calls, finish)
}

/// A unified chat answer from a `generateContent` answer.
pub fn answer(resp: &Value, model: &str, created: i64) -> Value {
    let empty = Vec::new();
    let candidates = resp
        .get("candidates")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let mut choices = Vec::new();
    for (i, candidate) in candidates.iter().enumerate() {
        let finish = finish_reason(Some(
            candidate
                .get("finishReason")
                .and_then(Value::as_str)
                .unwrap_or("STOP"),
        ));
        let Some(parts) = candidate
            .pointer("/content/parts")
            .and_then(Value::as_array)
            .filter(|p| !p.is_empty())
        else {
            continue;
        };
        let (content, calls, finish) = candidate_message(parts, finish, false, 0);
        if content.is_null() && calls.is_empty() {
            continue;
        }
        choices.push(json!({"index": i, "finish_reason": finish, "message": {
            "role": "assistant", "content": content,
            "tool_calls": if calls.is_empty() { Value::Null } else { Value::Array(calls) },
            "refusal": Value::Null}}));
    }
    json!({
        "id": format!("gemini-chat-{created}"),
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": choices,
        "usage": chat_usage(resp.get("usageMetadata").unwrap_or(&json!({}))),
        "provider": "gemini",
    })
}

/// Translates a `streamGenerateContent` stream into unified chunks.
#[derive(Debug)]
pub struct StreamTranslator {
    model: String,
    created: i64,
    /// Tool calls seen so far per candidate (numbering the next ones, and turning a final
    /// STOP into `tool_calls`).
    calls: HashMap<u64, usize>,
}

impl StreamTranslator {
    pub fn new(model: &str, created: i64) -> Self {
        Self {
            model: model.to_owned(),
            created,
            calls: HashMap::new(),
        }
    }

    /// The unified chunk of one streamed answer.
    pub fn event(&mut self, resp: &Value) -> Option<Value> {
        let empty = Vec::new();
        let candidates = resp
            .get("candidates")
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        let mut choices = Vec::with_capacity(candidates.len());
        for (pos, candidate) in candidates.iter().enumerate() {
            let index = candidate
                .get("index")
                .and_then(Value::as_u64)
                .unwrap_or(pos as u64);
            let parts = candidate
                .pointer("/content/parts")
                .and_then(Value::as_array)
                .unwrap_or(&empty);
            let finish = finish_reason(candidate.get("finishReason").and_then(Value::as_str));
            let seen = self.calls.get(&index).copied().unwrap_or(0);
            if parts.iter().any(|p| p.get("functionCall").is_some()) {
                let (content, calls, finish) = candidate_message(parts, finish, true, seen);
                self.calls.insert(index, seen + calls.len());
                choices.push(json!({"index": index, "finish_reason": finish,
                    "delta": {"role": "assistant", "content": content, "tool_calls": calls}}));
                continue;
            }
            let text = parts
                .first()
                .and_then(|p| p.get("text"))
                .cloned()
                .unwrap_or(json!(""));
            let finish = if finish == "stop" && seen > 0 {
                json!("tool_calls")
            } else {
                finish
            };
            choices.push(json!({"index": index, "finish_reason": finish,
                "delta": {"role": "assistant", "content": text, "tool_calls": Value::Null}}));
        }
        let usage = resp.get("usageMetadata").map_or(Value::Null, chat_usage);
        Some(json!({
            "id": format!("gemini-chat-stream-{}", self.created),
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
            "usage": usage,
            "provider": "gemini",
        }))
    }
}

/// The embeddings request of a unified `input` (one text or many) and the action it goes to
/// (`embedContent` or `batchEmbedContents`).
pub fn embeddings_request(body: &Map<String, Value>, model: &str) -> (&'static str, Value) {
    let texts: Vec<Value> = match body.get("input") {
        Some(Value::Array(items)) => items.clone(),
        Some(one) => vec![one.clone()],
        None => Vec::new(),
    };
    if texts.len() == 1 {
        return (
            "embedContent",
            json!({"content": {"parts": [{"text": texts[0]}]}}),
        );
    }
    let requests: Vec<Value> = texts
        .iter()
        .map(|t| json!({"model": format!("models/{model}"), "content": {"parts": [{"text": t}]}}))
        .collect();
    ("batchEmbedContents", json!({"requests": requests}))
}

/// A unified embeddings answer from Gemini's (`embeddings`, or one `embedding`).
pub fn embeddings_answer(resp: &Value, model: &str) -> Value {
    let items: Vec<Value> = match resp.get("embeddings").and_then(Value::as_array) {
        Some(items) if !items.is_empty() => items.clone(),
        _ => vec![resp.get("embedding").cloned().unwrap_or(json!({}))],
    };
    let data: Vec<Value> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            json!({"object": "embedding", "embedding": item.get("values").cloned().unwrap_or(json!([])), "index": i})
        })
        .collect();
    json!({"object": "list", "data": data, "model": model,
        "usage": {"prompt_tokens": null, "total_tokens": null}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn requests_are_translated_as_the_reference_translates_them() {
        let sent = request(&body(json!({
            "temperature": 0.2, "max_completion_tokens": 50, "stop": ["\n"],
            "messages": [
                {"role": "system", "content": "Be brief"},
                {"role": "user", "content": "Weather in Paris and Rome?"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "c2", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Rome\"}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "{\"t\": 20}"},
                {"role": "tool", "tool_call_id": "c2", "content": "sunny"}],
            "tools": [{"type": "function", "function": {"name": "weather", "description": "W", "parameters": {"type": "object"}}}],
            "tool_choice": {"type": "function", "function": {"name": "weather"}},
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
        })))
        .expect("request");
        assert_eq!(
            sent["system_instruction"],
            json!({"parts": [{"text": "Be brief"}]})
        );
        assert_eq!(
            sent["generationConfig"],
            json!({"temperature": 0.2, "stopSequences": ["\n"], "candidateCount": 1,
                "maxOutputTokens": 50, "responseJsonSchema": {"type": "object"},
                "responseMimeType": "application/json"})
        );
        let contents = sent["contents"].as_array().expect("contents");
        assert_eq!(
            contents.len(),
            3,
            "the two tool results share one user turn"
        );
        assert_eq!(contents[1]["role"], "model");
        assert_eq!(
            contents[1]["parts"][0]["functionCall"],
            json!({"id": "c1", "name": "weather", "args": {"city": "Paris"}})
        );
        assert_eq!(
            contents[2]["parts"][1]["functionResponse"],
            json!({"id": "c2", "name": "weather", "response": {"result": "sunny"}})
        );
        assert_eq!(
            sent["toolConfig"],
            json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["weather"]}})
        );
    }

    #[test]
    fn impossible_requests_are_422() {
        let camel = request(&body(json!({"topP": 1, "messages": []}))).expect_err("camel");
        assert_eq!(
            camel.to_string(),
            "422: Invalid parameter topP. Use top_p instead."
        );
        let orphan = request(&body(json!({"messages": [
            {"role": "tool", "tool_call_id": "x", "content": "1"}]})))
        .expect_err("orphan");
        assert!(orphan.to_string().contains("tool_call_id=x does not match"));
        let kind = request(&body(
            json!({"messages": [], "tools": [{"type": "retrieval"}]}),
        ))
        .expect_err("kind");
        assert!(kind.to_string().contains("received tool type retrieval"));
    }

    #[test]
    fn answers_and_streams_come_back_as_chat_completions() {
        let resp = json!({"candidates": [{"content": {"parts": [{"text": "Hi"}, {"functionCall": {"name": "f", "args": {"a": 1}}}]},
            "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5, "thoughtsTokenCount": 1}});
        let a = answer(&resp, "gemini-2.0-flash", 1_700_000_000);
        let choice = &a["choices"][0];
        assert_eq!(choice["finish_reason"], "tool_calls");
        assert_eq!(choice["message"]["content"], "Hi");
        let call = &choice["message"]["tool_calls"][0];
        assert_eq!(call["function"]["arguments"], "{\"a\": 1}");
        assert!(call["id"].as_str().expect("id").starts_with("call_"));
        assert_eq!(
            a["usage"],
            json!({"thoughtsTokenCount": 1, "prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5})
        );
        assert_eq!(
            (a["model"].as_str(), a["provider"].as_str()),
            (Some("gemini-2.0-flash"), Some("gemini"))
        );

        let mut t = StreamTranslator::new("g", 1);
        let first = t
            .event(&json!({"candidates": [{"content": {"parts": [{"functionCall": {"id": "c", "name": "f", "args": {}}}]}}]}))
            .expect("chunk");
        assert_eq!(first["choices"][0]["delta"]["tool_calls"][0]["index"], 0);
        let last = t
            .event(&json!({"candidates": [{"content": {"parts": [{"text": ""}]}, "finishReason": "STOP"}],
                "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 1, "totalTokenCount": 5}}))
            .expect("chunk");
        assert_eq!(last["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(last["usage"]["total_tokens"], 5);
    }

    #[test]
    fn embeddings_go_one_or_in_a_batch() {
        let (action, one) = embeddings_request(&body(json!({"input": "a"})), "text-embedding-004");
        assert_eq!(
            (action, one),
            (
                "embedContent",
                json!({"content": {"parts": [{"text": "a"}]}})
            )
        );
        let (action, many) =
            embeddings_request(&body(json!({"input": ["a", "b"]})), "text-embedding-004");
        assert_eq!(action, "batchEmbedContents");
        assert_eq!(many["requests"][1]["model"], "models/text-embedding-004");
        let a = embeddings_answer(&json!({"embedding": {"values": [0.5]}}), "m");
        assert_eq!(
            a["data"],
            json!([{"object": "embedding", "embedding": [0.5], "index": 0}])
        );
    }
}

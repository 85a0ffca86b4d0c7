//! The gateway's own request formats (the reference's unified chat and embeddings payloads),
//! checked before anything is sent: a malformed request is a 400 naming what is wrong, never
//! an upstream's puzzling answer. Fields the checks do not know are kept and forwarded.

use serde_json::{Map, Value};

use super::error::CallError;

/// What a unified call asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Chat,
    Embeddings,
}

impl Kind {
    /// `/invocations` tells them apart by their fields: `messages` is a chat, `input`
    /// embeddings.
    pub fn of(body: &Map<String, Value>) -> Result<Self, CallError> {
        if body.contains_key("messages") {
            Ok(Self::Chat)
        } else if body.contains_key("input") {
            Ok(Self::Embeddings)
        } else {
            Err(CallError::bad_request(
                "Invalid request: payload format must be either chat or embeddings",
            ))
        }
    }
}

/// Whether the call asks for a stream (`"stream": true`).
pub fn wants_stream(body: &Map<String, Value>) -> bool {
    body.get("stream").and_then(Value::as_bool) == Some(true)
}

fn invalid(kind: &str, what: String) -> CallError {
    CallError::bad_request(format!("Invalid {kind} payload: {what}"))
}

fn number_in(body: &Map<String, Value>, field: &str, low: f64, high: f64) -> Result<(), CallError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(()),
        Some(v) => match v.as_f64() {
            Some(x) if (low..=high).contains(&x) => Ok(()),
            _ => Err(invalid(
                "chat",
                format!("'{field}' must be a number from {low} to {high}"),
            )),
        },
    }
}

fn positive_integer(kind: &str, body: &Map<String, Value>, field: &str) -> Result<(), CallError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(()),
        Some(v) if v.as_u64().is_some_and(|n| n >= 1) => Ok(()),
        Some(_) => Err(invalid(
            kind,
            format!("'{field}' must be an integer of at least 1"),
        )),
    }
}

/// Checks a chat request (`messages` and the sampling settings).
pub fn check_chat(body: &Map<String, Value>) -> Result<(), CallError> {
    let messages = match body.get("messages") {
        Some(Value::Array(m)) if !m.is_empty() => m,
        Some(Value::Array(_)) => {
            return Err(invalid(
                "chat",
                "'messages' must hold at least one message".into(),
            ));
        }
        _ => {
            return Err(invalid(
                "chat",
                "'messages' must be a list of messages".into(),
            ));
        }
    };
    for (i, message) in messages.iter().enumerate() {
        let Some(message) = message.as_object() else {
            return Err(invalid("chat", format!("messages[{i}] must be an object")));
        };
        if !message.get("role").is_some_and(Value::is_string) {
            return Err(invalid(
                "chat",
                format!("messages[{i}].role must be a string"),
            ));
        }
        match message.get("content") {
            None | Some(Value::Null | Value::String(_) | Value::Array(_)) => {}
            Some(_) => {
                return Err(invalid(
                    "chat",
                    format!("messages[{i}].content must be a string, a list of parts or null"),
                ));
            }
        }
    }
    for field in ["n", "max_tokens", "max_completion_tokens", "top_k"] {
        positive_integer("chat", body, field)?;
    }
    number_in(body, "temperature", 0.0, 2.0)?;
    number_in(body, "top_p", 0.0, 1.0)?;
    number_in(body, "presence_penalty", -2.0, 2.0)?;
    number_in(body, "frequency_penalty", -2.0, 2.0)?;
    match body.get("stream") {
        None | Some(Value::Null | Value::Bool(_)) => {}
        Some(_) => return Err(invalid("chat", "'stream' must be true or false".into())),
    }
    match body.get("stop") {
        None | Some(Value::Null | Value::String(_)) => {}
        Some(Value::Array(stops)) if !stops.is_empty() && stops.iter().all(Value::is_string) => {}
        Some(_) => {
            return Err(invalid(
                "chat",
                "'stop' must be a string or a non-empty list of strings".into(),
            ));
        }
    }
    check_tools(body)?;
    check_response_format(body)
}

fn check_tools(body: &Map<String, Value>) -> Result<(), CallError> {
    let tools = match body.get("tools") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(tools)) => tools,
        Some(_) => return Err(invalid("chat", "'tools' must be a list".into())),
    };
    for (i, tool) in tools.iter().enumerate() {
        let named = tool
            .pointer("/function/name")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty());
        if !tool.get("type").is_some_and(Value::is_string) || !named {
            return Err(invalid(
                "chat",
                format!("tools[{i}] must have a 'type' and a 'function' with a 'name'"),
            ));
        }
        match tool.pointer("/function/parameters") {
            None | Some(Value::Null | Value::Object(_)) => {}
            Some(_) => {
                return Err(invalid(
                    "chat",
                    format!("tools[{i}].function.parameters must be a JSON schema object"),
                ));
            }
        }
    }
    Ok(())
}

fn check_response_format(body: &Map<String, Value>) -> Result<(), CallError> {
    let format = match body.get("response_format") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Object(f)) => f,
        Some(_) => {
            return Err(invalid(
                "chat",
                "'response_format' must be an object".into(),
            ));
        }
    };
    match format.get("type").and_then(Value::as_str) {
        Some("text" | "json_object") => Ok(()),
        Some("json_schema") => {
            let schema = format.get("json_schema").and_then(Value::as_object);
            let named = schema
                .and_then(|s| s.get("name"))
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty());
            let schema_ok = schema.is_some_and(|s| {
                matches!(
                    s.get("schema"),
                    None | Some(Value::Null | Value::Object(_) | Value::Bool(_))
                )
            });
            if named && schema_ok {
                Ok(())
            } else {
                Err(invalid(
                    "chat",
                    "'response_format.json_schema' must have a 'name' and a 'schema' object".into(),
                ))
            }
        }
        _ => Err(invalid(
            "chat",
            "'response_format.type' must be 'text', 'json_object' or 'json_schema'".into(),
        )),
    }
}

/// Checks an embeddings request: `input` is a string, a list of strings, a list of token
/// IDs or a list of lists of token IDs, never empty.
pub fn check_embeddings(body: &Map<String, Value>) -> Result<(), CallError> {
    let token = |v: &Value| v.as_u64().is_some();
    let ok = match body.get("input") {
        Some(Value::String(_)) => true,
        Some(Value::Array(items)) if !items.is_empty() => {
            items.iter().all(Value::is_string)
                || items.iter().all(token)
                || items.iter().all(|i| {
                    i.as_array()
                        .is_some_and(|t| !t.is_empty() && t.iter().all(token))
                })
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "embeddings",
            "'input' must be a string, a non-empty list of strings, or token IDs".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().expect("object").clone()
    }

    fn chat_error(v: Value) -> String {
        check_chat(&obj(v)).expect_err("refused").to_string()
    }

    #[test]
    fn chats_are_checked_field_by_field() {
        check_chat(&obj(json!({
            "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": null, "tool_calls": []}],
            "temperature": 0.2, "max_tokens": 5, "stop": ["x"], "stream": true,
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}}},
            "custom_field": 1
        })))
        .expect("valid");
        assert_eq!(
            chat_error(json!({"messages": []})),
            "400: Invalid chat payload: 'messages' must hold at least one message"
        );
        assert!(chat_error(json!({})).contains("'messages' must be a list"));
        assert!(chat_error(json!({"messages": [{"content": "x"}]})).contains("messages[0].role"));
        assert!(
            chat_error(json!({"messages": [{"role": "user"}], "temperature": 3}))
                .contains("'temperature'")
        );
        assert!(chat_error(json!({"messages": [{"role": "user"}], "n": 0})).contains("'n'"));
        assert!(
            chat_error(json!({"messages": [{"role": "user"}], "stream": "yes"}))
                .contains("'stream'")
        );
        assert!(
            chat_error(json!({"messages": [{"role": "user"}], "tools": [{"type": "function"}]}))
                .contains("tools[0]")
        );
        assert!(chat_error(json!({"messages": [{"role": "user"}], "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": "nope"}}})).contains("json_schema"));
        assert!(
            chat_error(json!({"messages": [{"role": "user"}], "response_format": {"type": "xml"}}))
                .contains("'response_format.type'")
        );
    }

    #[test]
    fn embeddings_inputs_take_the_four_shapes() {
        for input in [
            json!("a"),
            json!(["a", "b"]),
            json!([1, 2]),
            json!([[1], [2, 3]]),
        ] {
            check_embeddings(&obj(json!({ "input": input }))).expect("valid");
        }
        for input in [json!([]), json!([["a"]]), json!(3), json!([1, "a"])] {
            assert!(check_embeddings(&obj(json!({ "input": input }))).is_err());
        }
        assert_eq!(
            Kind::of(&obj(json!({"input": "a"}))).expect("kind"),
            Kind::Embeddings
        );
        assert!(Kind::of(&obj(json!({"prompt": "a"}))).is_err());
    }
}

//! Registered prompts through the gateway: a chat call may name a prompt version of the
//! registry (`"prompt": {"uri": "prompts:/<name>/<version>" or "prompts:/<name>@<alias>",
//! "variables": {...}}`); the gateway renders its template as MLflow's `PromptVersion.format`
//! does (each `{{ variable }}` replaced; every variable of the template must be given), puts
//! the result before the caller's own messages (a text prompt as one user message, a chat
//! prompt as its messages) and links the version to the call's trace
//! (`mlflow.linkedPrompts`), so which prompt version produced which answer is on record.
//! Reading the version from the registry is the server's part; this is the pure rest.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::invoke::CallError;

/// The registry's tags a prompt version keeps its template in (MLflow's names).
pub const TEXT_TAG: &str = "mlflow.prompt.text";
pub const TYPE_TAG: &str = "_mlflow_prompt_type";
/// The trace tag linking prompt versions to a trace (MLflow's `LINKED_PROMPTS`).
pub const LINKED_PROMPTS_TAG: &str = "mlflow.linkedPrompts";
/// The most bytes a rendered prompt may take (a template's variables repeated cannot make the
/// server build more than this).
pub const MAX_RENDERED_BYTES: usize = 4 * 1024 * 1024;
/// The longest placeholder (`{{ name }}` without its braces) a template may have.
const MAX_PLACEHOLDER: usize = 256;
/// The most variables one request may give.
pub const MAX_VARIABLES: usize = 256;

/// Which version of which prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptRef {
    pub name: String,
    pub selector: Selector,
}

/// A version by number, or the version an alias names (`latest`: the highest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Version(String),
    Alias(String),
}

/// The prompt a call asked for, with its variables.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptRequest {
    pub prompt: PromptRef,
    pub variables: Map<String, Value>,
}

/// A prompt version a call used (for its trace and audit entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedPrompt {
    pub name: String,
    pub version: String,
}

impl LinkedPrompt {
    /// The `mlflow.linkedPrompts` tag's value, as MLflow writes it.
    pub fn tag_value(&self) -> String {
        keel_core::pyjson::dumps(
            &json!([{"name": self.name, "version": self.version}]),
            false,
        )
    }
}

fn bad(message: impl Into<String>) -> CallError {
    CallError::bad_request(message)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// `prompts:/<name>/<version>` or `prompts:/<name>@<alias>`.
pub fn parse_uri(uri: &str) -> Result<PromptRef, CallError> {
    let invalid = || {
        bad(format!(
            "Invalid prompt URI '{}'. Expected 'prompts:/<name>/<version>' or \
             'prompts:/<name>@<alias>'.",
            uri.chars().take(300).collect::<String>()
        ))
    };
    let rest = uri.strip_prefix("prompts:/").ok_or_else(invalid)?;
    let (name, selector) = if let Some((name, alias)) = rest.split_once('@') {
        let alias_ok = !alias.is_empty()
            && alias.len() <= 256
            && alias
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
        if !alias_ok {
            return Err(invalid());
        }
        (name, Selector::Alias(alias.to_owned()))
    } else {
        let (name, version) = rest.split_once('/').ok_or_else(invalid)?;
        let number_ok = !version.is_empty()
            && version.len() <= 18
            && version.bytes().all(|b| b.is_ascii_digit());
        if !number_ok {
            return Err(invalid());
        }
        (name, Selector::Version(version.to_owned()))
    };
    if !valid_name(name) {
        return Err(invalid());
    }
    Ok(PromptRef {
        name: name.to_owned(),
        selector,
    })
}

/// Takes the call's `prompt` out of `body`, if it names one.
pub fn take_request(body: &mut Map<String, Value>) -> Result<Option<PromptRequest>, CallError> {
    // Only an object names a registered prompt: a string `prompt` is a completions payload,
    // left for the payload checks to refuse as the reference does.
    if !body.get("prompt").is_some_and(Value::is_object) {
        return Ok(None);
    }
    let Some(Value::Object(mut given)) = body.remove("prompt") else {
        return Ok(None);
    };
    let uri = given
        .remove("uri")
        .and_then(|u| u.as_str().map(str::to_owned))
        .ok_or_else(|| bad("'prompt.uri' is required: 'prompts:/<name>/<version>' or 'prompts:/<name>@<alias>'."))?;
    let variables = match given.remove("variables") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(v)) => v,
        Some(_) => return Err(bad("'prompt.variables' must be an object.")),
    };
    if let Some(other) = given.keys().next() {
        return Err(bad(format!(
            "Unknown field 'prompt.{}'.",
            other.chars().take(64).collect::<String>()
        )));
    }
    if variables.len() > MAX_VARIABLES {
        return Err(bad(format!(
            "'prompt.variables' has more than {MAX_VARIABLES} variables."
        )));
    }
    Ok(Some(PromptRequest {
        prompt: parse_uri(&uri)?,
        variables,
    }))
}

/// A prompt version's template.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    Text(String),
    /// Messages (`role`, `content`), as the registry keeps a chat prompt.
    Chat(Vec<Value>),
}

/// The template a prompt version's tags hold.
pub fn template_of(name: &str, tags: &BTreeMap<String, String>) -> Result<Template, CallError> {
    let text = tags
        .get(TEXT_TAG)
        .ok_or_else(|| bad(format!("'{name}' is not a prompt: it has no template.")))?;
    if text.contains("{%") {
        return Err(bad(format!(
            "Prompt '{name}' is a Jinja2 template, which the gateway does not render; use \
             '{{{{ variable }}}}' placeholders."
        )));
    }
    let chat = tags.get(TYPE_TAG).is_some_and(|t| t == "chat");
    if !chat {
        return Ok(Template::Text(text.clone()));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(messages))
            if messages
                .iter()
                .all(|m| m.get("role").is_some_and(Value::is_string)) =>
        {
            Ok(Template::Chat(messages))
        }
        _ => Err(bad(format!(
            "Prompt '{name}' is a chat prompt whose template is not a list of messages."
        ))),
    }
}

/// A placeholder's variable name (`{{ name }}` with MLflow's identifier rule: letters, digits
/// and `_`, dotted parts), and where the placeholder ends.
fn placeholder(text: &str, open: usize) -> Option<(&str, usize)> {
    let inner_start = open + 2;
    // A placeholder is short: its close is looked for nearby only (a template full of `{{`
    // without a close is not scanned to its end once per `{{`).
    let window = &text.as_bytes()[inner_start..text.len().min(inner_start + MAX_PLACEHOLDER)];
    let close = window.windows(2).position(|w| w == b"}}")? + inner_start;
    let name = text[inner_start..close].trim();
    let ident = |part: &str| {
        let mut bytes = part.bytes();
        bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    (!name.is_empty() && name.split('.').all(ident)).then_some((name, close + 2))
}

/// A variable's value as text (strings as they are, anything else as JSON).
fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `text` with every placeholder of a given variable replaced; the names of placeholders
/// whose variable was not given go to `missing`. `budget` is what the output may still grow
/// by (shared by every part of one prompt).
fn fill(
    text: &str,
    variables: &Map<String, Value>,
    missing: &mut Vec<String>,
    budget: &mut usize,
) -> Result<String, CallError> {
    let too_large = || {
        bad(format!(
            "The rendered prompt would be larger than {MAX_RENDERED_BYTES} bytes."
        ))
    };
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(found) = text[at..].find("{{") {
        let open = at + found;
        out.push_str(&text[at..open]);
        match placeholder(text, open) {
            Some((name, end)) => {
                match variables.get(name) {
                    Some(value) => {
                        let value = as_text(value);
                        *budget = budget.checked_sub(value.len()).ok_or_else(too_large)?;
                        out.push_str(&value);
                    }
                    None => {
                        if !missing.iter().any(|m| m == name) {
                            missing.push(name.to_owned());
                        }
                        out.push_str(&text[open..end]);
                    }
                }
                at = end;
            }
            None => {
                out.push_str("{{");
                at = open + 2;
            }
        }
    }
    out.push_str(&text[at..]);
    Ok(out)
}

/// The messages a template renders to with `variables` (every variable it names given).
pub fn render(
    name: &str,
    version: &str,
    template: &Template,
    variables: &Map<String, Value>,
) -> Result<Vec<Value>, CallError> {
    let mut missing = Vec::new();
    let mut budget = MAX_RENDERED_BYTES;
    let messages = match template {
        Template::Text(text) => {
            vec![
                json!({"role": "user", "content": fill(text, variables, &mut missing, &mut budget)?}),
            ]
        }
        Template::Chat(messages) => {
            let mut out = Vec::with_capacity(messages.len());
            for message in messages {
                let mut message = message.clone();
                if let Some(content) = message.get("content").and_then(Value::as_str) {
                    let filled = fill(content, variables, &mut missing, &mut budget)?;
                    message["content"] = Value::String(filled);
                }
                out.push(message);
            }
            out
        }
    };
    if !missing.is_empty() {
        return Err(bad(format!(
            "Missing variables for prompt '{name}' version {version}: {}.",
            missing.join(", ")
        )));
    }
    Ok(messages)
}

/// Puts `rendered` before the caller's own `messages` in `body`.
pub fn prepend(body: &mut Map<String, Value>, rendered: Vec<Value>) {
    let own = match body.remove("messages") {
        Some(Value::Array(own)) => own,
        _ => Vec::new(),
    };
    let mut messages = rendered;
    messages.extend(own);
    body.insert("messages".into(), Value::Array(messages));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("an object")
    }

    #[test]
    fn uris_name_a_version_or_an_alias() {
        assert_eq!(
            parse_uri("prompts:/qa.bot-1/3").expect("version"),
            PromptRef {
                name: "qa.bot-1".into(),
                selector: Selector::Version("3".into())
            }
        );
        assert_eq!(
            parse_uri("prompts:/qa@production").expect("alias").selector,
            Selector::Alias("production".into())
        );
        for bad in [
            "prompts:/qa",
            "models:/qa/1",
            "prompts:/qa/x",
            "prompts:/q a/1",
            "prompts:/qa@",
            "prompts://1",
        ] {
            assert!(parse_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn renders_as_mlflow_formats_and_names_missing_variables() {
        let text = Template::Text("Hello {{ title }} {{name}}! {{ not a var }} {{name}}".into());
        let out = render(
            "p",
            "1",
            &text,
            &vars(json!({"title": "Ms", "name": "Alice", "extra": 1})),
        )
        .expect("rendered");
        assert_eq!(
            out,
            [json!({"role": "user", "content": "Hello Ms Alice! {{ not a var }} Alice"})]
        );
        let chat = Template::Chat(vec![
            json!({"role": "system", "content": "You are {{style}}."}),
            json!({"role": "user", "content": "{{question}} ({{n}})"}),
        ]);
        let out = render(
            "p",
            "2",
            &chat,
            &vars(json!({"style": "terse", "question": "Why?", "n": 3})),
        )
        .expect("rendered");
        assert_eq!(out[1]["content"], "Why? (3)");
        let err = render("p", "2", &chat, &vars(json!({"style": "terse"}))).expect_err("missing");
        assert_eq!(
            err.to_string(),
            "400: Missing variables for prompt 'p' version 2: question, n."
        );
    }

    #[test]
    fn a_rendered_prompt_is_bounded_whatever_the_template_repeats() {
        let text = Template::Text("{{x}}".repeat(10_000));
        let big = "y".repeat(1_000);
        let err = render("p", "1", &text, &vars(json!({"x": big}))).expect_err("too large");
        assert!(err.to_string().contains("larger than"), "{err}");
    }

    #[test]
    fn the_prompt_field_is_checked_and_taken_out() {
        let mut body = vars(
            json!({"prompt": {"uri": "prompts:/qa/1", "variables": {"q": "hi"}}, "messages": []}),
        );
        let request = take_request(&mut body).expect("ok").expect("a prompt");
        assert_eq!(request.prompt.name, "qa");
        assert!(!body.contains_key("prompt"));
        let mut completions = vars(json!({"prompt": "prompts:/qa/1"}));
        assert_eq!(take_request(&mut completions).expect("left"), None);
        assert!(
            completions.contains_key("prompt"),
            "a string is the payload's, not a prompt"
        );
        for given in [
            json!({}),
            json!({"uri": "prompts:/qa/1", "variables": []}),
            json!({"uri": "prompts:/qa/1", "x": 1}),
        ] {
            let mut body = vars(json!({"prompt": given}));
            assert!(take_request(&mut body).is_err(), "{given}");
        }
        let mut body = vars(json!({"messages": [{"role": "user", "content": "own"}]}));
        prepend(
            &mut body,
            vec![json!({"role": "system", "content": "first"})],
        );
        assert_eq!(body["messages"][0]["content"], "first");
        assert_eq!(body["messages"][1]["content"], "own");
    }

    #[test]
    fn templates_come_from_the_registrys_tags() {
        let tags = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>()
        };
        assert_eq!(
            template_of("p", &tags(&[(TEXT_TAG, "Hi {{x}}")])).expect("text"),
            Template::Text("Hi {{x}}".into())
        );
        let chat = template_of(
            "p",
            &tags(&[
                (TEXT_TAG, r#"[{"role": "user", "content": "{{q}}"}]"#),
                (TYPE_TAG, "chat"),
            ]),
        )
        .expect("chat");
        assert!(matches!(chat, Template::Chat(m) if m.len() == 1));
        assert!(template_of("p", &tags(&[])).is_err());
        assert!(template_of("p", &tags(&[(TEXT_TAG, "{% if x %}y{% endif %}")])).is_err());
    }
}

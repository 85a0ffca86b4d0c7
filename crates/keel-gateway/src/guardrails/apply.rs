//! Running an endpoint's guardrails on a call: on the request body before the model is called
//! (BEFORE) and on a whole answer (AFTER). Text detectors look at every string of the JSON but
//! the structural ones (IDs, roles, model names, schemas: [`STRUCTURAL_KEYS`]), so they cover
//! every provider's wire format, tool arguments included; guardrails run in order, each on what
//! the ones before it left.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::detectors::{Detector, DetectorSpec, Finding, TextDetector, redact};
use super::{Action, Guardrail, Stage};

/// A guardrail ready to run on calls.
#[derive(Debug, Clone)]
pub struct ActiveGuardrail {
    pub guardrail_id: String,
    pub name: String,
    pub stage: Stage,
    pub action: Action,
    pub detector: Detector,
}

impl ActiveGuardrail {
    /// `guardrail` compiled; `Err` (the call must be refused: guardrails fail closed) when its
    /// stored detector no longer compiles.
    pub fn of(guardrail: &Guardrail) -> Result<Self, Violation> {
        let detector = DetectorSpec::compile(&guardrail.detector).map_err(|e| Violation {
            guardrail: guardrail.name.clone(),
            rationale: format!("the guardrail cannot run: {e}"),
        })?;
        Ok(Self {
            guardrail_id: guardrail.guardrail_id.clone(),
            name: guardrail.name.clone(),
            stage: guardrail.stage,
            action: guardrail.action,
            detector,
        })
    }
}

/// An endpoint's guardrails, in the order they run.
pub type Guardrails = Arc<[ActiveGuardrail]>;

/// Why a guardrail blocked a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub guardrail: String,
    pub rationale: String,
}

/// The reference's bound on a rationale in the message.
const MAX_RATIONALE_CHARS: usize = 500;

impl Violation {
    /// `Guardrail '<name>' blocked: <rationale>`, as the reference words it.
    pub fn message(&self) -> String {
        let rationale: String = self.rationale.chars().take(MAX_RATIONALE_CHARS).collect();
        format!("Guardrail '{}' blocked: {rationale}", self.guardrail)
    }
}

/// What one guardrail did on a call (for its trace).
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub name: String,
    pub stage: Stage,
    pub action: Action,
    pub passed: bool,
    /// What it found or did, in words (`None`: nothing found).
    pub rationale: Option<String>,
    pub start_ns: i64,
    pub end_ns: i64,
}

/// Keys whose string values are structure, not text a person or model wrote: never scanned.
pub const STRUCTURAL_KEYS: &[&str] = &[
    "id",
    "object",
    "model",
    "role",
    "type",
    "name",
    "index",
    "created",
    "finish_reason",
    "finishReason",
    "stop_reason",
    "stop_sequence",
    "system_fingerprint",
    "tool_call_id",
    "tool_use_id",
    "call_id",
    "provider",
    "modelVersion",
    "responseId",
    "service_tier",
    "status",
    "encoding_format",
    "tool_choice",
    "tools",
    "functions",
    "response_format",
    "format",
    "generationConfig",
    "responseSchema",
    "metadata",
];

/// Calls `f` on every non-structural string in `value` (depth-first, in order).
fn each_text(value: &mut Value, f: &mut impl FnMut(&mut String)) {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter_mut().for_each(|v| each_text(v, f)),
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if !STRUCTURAL_KEYS.contains(&key.as_str()) {
                    each_text(v, f);
                }
            }
        }
        _ => {}
    }
}

/// "The request contains an email address and a payment card number."
pub(crate) fn rationale(whose: &str, findings: &[Finding]) -> String {
    let mut what: Vec<&str> = Vec::new();
    for f in findings {
        if !what.contains(&f.what) {
            what.push(f.what);
        }
    }
    let listed = match what.as_slice() {
        [] => "nothing".to_owned(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    };
    format!("The {whose} contains {listed}.")
}

/// Runs a text detector over every text of `value`: finds (validation) or redacts
/// (sanitization). Returns what it found, in words, if anything.
fn run_text(
    detector: &TextDetector,
    action: Action,
    value: &mut Value,
    whose: &str,
) -> Option<String> {
    let mut found: Vec<Finding> = Vec::new();
    each_text(value, &mut |text| {
        let findings = detector.find(text);
        if findings.is_empty() {
            return;
        }
        if action == Action::Sanitization {
            *text = redact(text, &findings);
        }
        found.extend(findings);
    });
    (!found.is_empty()).then(|| rationale(whose, &found))
}

/// Where a request's format puts its cap on output tokens, for a sanitizing `max_tokens`
/// guardrail to add one when the request names none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapAt {
    /// A top-level key (`max_tokens`, `max_output_tokens`).
    Key(&'static str),
    /// Gemini's `generationConfig.maxOutputTokens`.
    GeminiConfig,
    /// Nowhere: the call produces no tokens (embeddings).
    Nowhere,
}

/// The keys a request names its output-token cap with, by wire format.
const TOKEN_CAP_KEYS: &[&str] = &["max_tokens", "max_completion_tokens", "max_output_tokens"];

/// Checks or caps the output tokens `body` asks for; a cap goes `cap_at` when the request
/// names none.
fn run_max_tokens(
    max: u64,
    action: Action,
    body: &mut Map<String, Value>,
    cap_at: CapAt,
) -> Option<String> {
    let mut asked: Vec<u64> = TOKEN_CAP_KEYS
        .iter()
        .filter_map(|k| body.get(*k).and_then(Value::as_u64))
        .collect();
    let gemini = body
        .get("generationConfig")
        .and_then(|c| c.get("maxOutputTokens"))
        .and_then(Value::as_u64);
    asked.extend(gemini);
    let most = asked.iter().copied().max();
    match action {
        Action::Validation => most.filter(|m| *m > max).map(|m| {
            format!("The request asks for up to {m} output tokens; at most {max} are allowed.")
        }),
        Action::Sanitization => {
            let mut capped = false;
            for key in TOKEN_CAP_KEYS {
                if let Some(v) = body
                    .get_mut(*key)
                    .filter(|v| v.as_u64().is_some_and(|n| n > max))
                {
                    *v = Value::from(max);
                    capped = true;
                }
            }
            if let Some(v) = body
                .get_mut("generationConfig")
                .and_then(|c| c.get_mut("maxOutputTokens"))
                .filter(|v| v.as_u64().is_some_and(|n| n > max))
            {
                *v = Value::from(max);
                capped = true;
            }
            if most.is_none() {
                match cap_at {
                    CapAt::Key(key) => {
                        body.insert(key.to_owned(), Value::from(max));
                        capped = true;
                    }
                    CapAt::GeminiConfig => {
                        let config = body
                            .entry("generationConfig")
                            .or_insert_with(|| Value::Object(Map::new()));
                        if let Some(config) = config.as_object_mut() {
                            config.insert("maxOutputTokens".to_owned(), Value::from(max));
                            capped = true;
                        }
                    }
                    CapAt::Nowhere => {}
                }
            }
            capped.then(|| format!("The output tokens asked for were capped at {max}."))
        }
    }
}

fn now_ns() -> i64 {
    crate::invoke::unix_nanos()
}

/// Runs the BEFORE guardrails on `body`, in order (a token cap added `cap_at`). Records each
/// check in `checks`.
pub fn check_request(
    guardrails: &[ActiveGuardrail],
    body: &mut Map<String, Value>,
    cap_at: CapAt,
    checks: &mut Vec<Check>,
) -> Result<(), Violation> {
    for g in guardrails.iter().filter(|g| g.stage == Stage::Before) {
        let start_ns = now_ns();
        let found = match &g.detector {
            Detector::Text(detector) => {
                let mut value = Value::Object(std::mem::take(body));
                let found = run_text(detector, g.action, &mut value, "request");
                if let Value::Object(map) = value {
                    *body = map;
                }
                found
            }
            Detector::MaxTokens(max) => run_max_tokens(*max, g.action, body, cap_at),
            // Refused at creation; were one stored, it could not check a request: fail closed.
            Detector::JsonSchema(_) => {
                Some("A json_schema guardrail cannot check requests.".into())
            }
        };
        record(g, found, start_ns, checks)?;
    }
    Ok(())
}

/// Records one guardrail's check; a validation that found something is the call's violation.
fn record(
    g: &ActiveGuardrail,
    found: Option<String>,
    start_ns: i64,
    checks: &mut Vec<Check>,
) -> Result<(), Violation> {
    let blocked = found.is_some() && g.action == Action::Validation;
    checks.push(Check {
        name: g.name.clone(),
        stage: g.stage,
        action: g.action,
        passed: !blocked,
        rationale: found.clone(),
        start_ns,
        end_ns: now_ns(),
    });
    match found {
        Some(rationale) if blocked => Err(Violation {
            guardrail: g.name.clone(),
            rationale,
        }),
        _ => Ok(()),
    }
}

/// The text of a whole answer, in any of the wire formats (what a JSON schema checks):
/// a chat completion's message content, Anthropic's text blocks, Gemini's text parts, or the
/// Responses API's output text.
pub fn answer_text(answer: &Value) -> Option<String> {
    if let Some(content) = answer.pointer("/choices/0/message/content") {
        return content.as_str().map(str::to_owned);
    }
    let join = |parts: Vec<&str>| (!parts.is_empty()).then(|| parts.concat());
    if let Some(blocks) = answer.get("content").and_then(Value::as_array) {
        return join(
            blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect(),
        );
    }
    if let Some(parts) = answer
        .pointer("/candidates/0/content/parts")
        .and_then(Value::as_array)
    {
        return join(
            parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect(),
        );
    }
    let output = answer.get("output").and_then(Value::as_array)?;
    join(
        output
            .iter()
            .filter_map(|item| item.get("content").and_then(Value::as_array))
            .flatten()
            .filter(|c| c.get("type").and_then(Value::as_str) == Some("output_text"))
            .filter_map(|c| c.get("text").and_then(Value::as_str))
            .collect(),
    )
}

/// Whether `text` is JSON that `schema` accepts; in words when not.
pub fn schema_problem(schema: &jsonschema::Validator, text: Option<&str>) -> Option<String> {
    let Some(text) = text else {
        return Some("The answer has no text to check against the JSON schema.".to_owned());
    };
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Some("The answer is not JSON.".to_owned());
    };
    schema.iter_errors(&value).next().map(|e| {
        let at = e.instance_path().to_string();
        let place = if at.is_empty() {
            "the answer".to_owned()
        } else {
            format!("'{at}'")
        };
        let detail: String = e.to_string().chars().take(200).collect();
        format!("The answer does not match the JSON schema at {place}: {detail}")
    })
}

/// Runs the AFTER guardrails on a whole `answer`, in order. Embeddings (`has_text` false) are
/// vectors: text detectors and schemas have nothing to check there.
pub fn check_answer(
    guardrails: &[ActiveGuardrail],
    answer: &mut Value,
    has_text: bool,
    checks: &mut Vec<Check>,
) -> Result<(), Violation> {
    if !has_text {
        return Ok(());
    }
    for g in guardrails.iter().filter(|g| g.stage == Stage::After) {
        let start_ns = now_ns();
        let found = match &g.detector {
            Detector::Text(detector) => run_text(detector, g.action, answer, "answer"),
            Detector::JsonSchema(schema) => schema_problem(schema, answer_text(answer).as_deref()),
            // Refused at creation; were one stored, it could not check an answer: fail closed.
            Detector::MaxTokens(_) => Some("A max_tokens guardrail cannot check answers.".into()),
        };
        record(g, found, start_ns, checks)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn active(name: &str, stage: Stage, action: Action, detector: Value) -> ActiveGuardrail {
        ActiveGuardrail {
            guardrail_id: format!("gr-{name}"),
            name: name.into(),
            stage,
            action,
            detector: DetectorSpec::parse(&detector)
                .expect("valid")
                .compile()
                .expect("valid"),
        }
    }

    #[test]
    fn validation_blocks_with_the_references_message() {
        let g = [active(
            "pii",
            Stage::Before,
            Action::Validation,
            json!({"type": "pii"}),
        )];
        let mut body = json!({"messages": [{"role": "user", "content": "mail a@b.example and 4111111111111111"}]})
            .as_object()
            .expect("valid")
            .clone();
        let mut checks = Vec::new();
        let v = check_request(&g, &mut body, CapAt::Key("max_tokens"), &mut checks)
            .expect_err("refused");
        assert_eq!(
            v.message(),
            "Guardrail 'pii' blocked: The request contains an email address and a payment card number."
        );
        assert!(!checks[0].passed);
    }

    #[test]
    fn sanitization_redacts_every_text_but_structure_then_later_guardrails_see_the_result() {
        let g = [
            active(
                "redact",
                Stage::Before,
                Action::Sanitization,
                json!({"type": "pii", "entities": ["EMAIL"]}),
            ),
            active(
                "block",
                Stage::Before,
                Action::Validation,
                json!({"type": "pii", "entities": ["EMAIL"]}),
            ),
        ];
        let mut body = json!({
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "I am bob@example.com"}]},
                {"role": "assistant", "tool_calls": [{"id": "bob@example.com", "type": "function",
                    "function": {"name": "send", "arguments": "{\"to\": \"bob@example.com\"}"}}]}
            ]
        })
        .as_object()
        .expect("valid")
        .clone();
        let mut checks = Vec::new();
        check_request(&g, &mut body, CapAt::Nowhere, &mut checks).expect("valid");
        let text = Value::Object(body).to_string();
        assert!(text.contains("I am [REDACTED:EMAIL]"), "{text}");
        assert!(text.contains(r#"{\"to\": \"[REDACTED:EMAIL]\"}"#), "{text}");
        assert!(
            text.contains(r#""id":"bob@example.com""#),
            "IDs are structure: {text}"
        );
        assert_eq!(checks.len(), 2);
        assert!(checks.iter().all(|c| c.passed));
    }

    #[test]
    fn max_tokens_blocks_or_caps() {
        let block = [active(
            "cap",
            Stage::Before,
            Action::Validation,
            json!({"type": "max_tokens", "max_output_tokens": 100}),
        )];
        let mut body = json!({"max_tokens": 500})
            .as_object()
            .expect("valid")
            .clone();
        assert!(
            check_request(&block, &mut body, CapAt::Key("max_tokens"), &mut Vec::new()).is_err()
        );
        let cap = [active(
            "cap",
            Stage::Before,
            Action::Sanitization,
            json!({"type": "max_tokens", "max_output_tokens": 100}),
        )];
        check_request(&cap, &mut body, CapAt::Key("max_tokens"), &mut Vec::new()).expect("valid");
        assert_eq!(body["max_tokens"], 100);
        let mut none = Map::new();
        check_request(&cap, &mut none, CapAt::GeminiConfig, &mut Vec::new()).expect("valid");
        assert_eq!(none["generationConfig"]["maxOutputTokens"], 100);
    }

    #[test]
    fn json_schema_checks_the_answer_text_in_every_format() {
        let g = [active(
            "schema",
            Stage::After,
            Action::Validation,
            json!({"type": "json_schema",
            "schema": {"type": "object", "required": ["answer"]}}),
        )];
        let ok =
            json!({"choices": [{"message": {"role": "assistant", "content": "{\"answer\": 1}"}}]});
        check_answer(&g, &mut ok.clone(), true, &mut Vec::new()).expect("valid");
        for bad in [
            json!({"choices": [{"message": {"content": "{\"other\": 1}"}}]}),
            json!({"content": [{"type": "text", "text": "not json"}]}),
            json!({"candidates": [{"content": {"parts": [{"text": "[1]"}]}}]}),
            json!({"choices": [{"message": {"content": null}}]}),
        ] {
            let v = check_answer(&g, &mut bad.clone(), true, &mut Vec::new()).expect_err("refused");
            assert!(
                v.message()
                    .starts_with("Guardrail 'schema' blocked: The answer"),
                "{}",
                v.message()
            );
        }
        let responses =
            json!({"output": [{"content": [{"type": "output_text", "text": "{\"answer\": 2}"}]}]});
        assert_eq!(answer_text(&responses).as_deref(), Some("{\"answer\": 2}"));
    }

    #[test]
    fn embeddings_answers_are_not_checked() {
        let g = [active(
            "schema",
            Stage::After,
            Action::Validation,
            json!({"type": "json_schema", "schema": {}}),
        )];
        check_answer(
            &g,
            &mut json!({"data": [{"embedding": [0.1]}]}),
            false,
            &mut Vec::new(),
        )
        .expect("valid");
    }
}

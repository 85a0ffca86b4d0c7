//! Streams relayed to the caller as the upstream sends them, never buffered whole: a
//! passthrough stream byte for byte, a unified stream event by event (each upstream chunk
//! reshaped as the reference shapes it, no `[DONE]`). Token usage is counted from the events
//! as they pass and the answer's text gathered (bounded) for the call's trace. An upstream
//! failure mid-stream ends the stream with one error event (the status line has already gone
//! out); a caller that goes away drops the upstream connection. However the stream ends, its
//! [`OnEnd`] hook runs once. When the endpoint runs guardrails on answers, each chunk's text
//! goes through a [`StreamGuard`] (held back, redacted, or the stream ended with a
//! `GuardrailViolation` event) — passthrough chat streams too, re-serialized event by event.

use bytes::Bytes;
use serde_json::{Value, json};

use super::ByteStream;
use super::anthropic::StreamTranslator;
use super::provider::Wire;
use super::sse::{self, Lines};
use super::{openai, usage};
use crate::cost::TokenUsage;
use crate::guardrails::apply::{Check, Violation};
use crate::guardrails::stream::StreamGuard;

/// The most answer text kept for a stream's trace.
const MAX_GATHERED: usize = 1024 * 1024;

/// How events are relayed.
pub enum Mode {
    /// Bytes as received (a passthrough in the provider's own format).
    Raw(Wire),
    /// Reshaped into unified chunks naming the provider.
    Unified { provider: String },
    /// Anthropic's events translated into unified chunks.
    FromAnthropic(Box<StreamTranslator>),
    /// Gemini's streamed answers translated into unified chunks.
    FromGemini(Box<super::gemini::StreamTranslator>),
}

/// How a stream ended.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEnd {
    pub usage: Option<TokenUsage>,
    /// The answer as gathered (unified streams), else `null`.
    pub output: Value,
    /// Why it ended early (an upstream failure, a guardrail, or the caller going away).
    pub error: Option<String>,
    /// What the guardrails on answers did.
    pub guardrails: Vec<Check>,
}

/// What runs when a stream ends.
pub type OnEnd = Box<dyn FnOnce(StreamEnd) + Send>;

struct Relay {
    resp: reqwest::Response,
    lines: Lines,
    mode: Mode,
    usage: Option<TokenUsage>,
    /// The unified answer's text and finish reason, as relayed.
    text: String,
    finish: Value,
    done: bool,
    error: Option<String>,
    on_end: Option<OnEnd>,
    guard: Option<StreamGuard>,
    /// A chunk relayed (the first): the shape of the one that carries the text a guard
    /// still holds when the stream ends without a finish reason.
    chunk_shape: Option<Value>,
}

/// The one event a failed stream ends with (`gateway/utils.py`'s shape).
fn error_event(message: &str) -> Bytes {
    let event = json!({"error": {"message": message, "type": "UpstreamStreamError"}});
    Bytes::from(format!("data: {event}\n\n"))
}

impl Relay {
    fn fail(&mut self, message: String) -> Bytes {
        self.done = true;
        let event = error_event(&message);
        self.error = Some(message);
        event
    }

    /// Ends the stream for a guardrail, with the reference's event.
    fn block(&mut self, violation: &Violation) -> Bytes {
        self.done = true;
        let message = violation.message();
        let event = json!({"error": {"message": message, "type": "GuardrailViolation"}});
        self.error = Some(message);
        Bytes::from(format!("data: {event}\n\n"))
    }

    /// Whether upstream bytes go out as they came (a passthrough nothing checks).
    fn verbatim(&self) -> bool {
        matches!(self.mode, Mode::Raw(_)) && self.guard.is_none()
    }

    /// Runs a chunk's text through the guard: what may go out replaces it; a finish reason
    /// releases the rest. Only the text goes out of a checked chunk: its other delta fields
    /// and log probabilities (which spell the text out token by token) are dropped, and a
    /// tool call — whose arguments a stream cannot check — ends the stream.
    fn guard_chunk(&mut self, chunk: &mut Value) -> Result<(), Violation> {
        let Some(guard) = self.guard.as_mut() else {
            return Ok(());
        };
        let Some(choices) = chunk.get_mut("choices").and_then(Value::as_array_mut) else {
            return Ok(());
        };
        if choices.len() > 1 {
            return Err(guard.refuse("The stream has several answers in one chunk."));
        }
        let Some(choice) = choices.first_mut() else {
            return Ok(());
        };
        if let Some(object) = choice.as_object_mut() {
            object.remove("logprobs");
        }
        if let Some(delta) = choice.get_mut("delta").and_then(Value::as_object_mut) {
            let calls_tool = ["tool_calls", "function_call"]
                .iter()
                .any(|k| delta.get(*k).is_some_and(|v| !v.is_null()));
            if calls_tool {
                return Err(guard.refuse(
                    "The streamed answer calls a tool, whose arguments cannot be checked as \
                     they stream.",
                ));
            }
            delta.retain(|k, _| k == "role" || k == "content");
        }
        let mut text = match choice.pointer("/delta/content").and_then(Value::as_str) {
            Some(piece) => guard.push(piece)?,
            None => String::new(),
        };
        if choice.get("finish_reason").is_some_and(|f| !f.is_null()) {
            text.push_str(&guard.finish()?);
        }
        if let Some(delta) = choice.get_mut("delta").and_then(Value::as_object_mut)
            && (delta.contains_key("content") || !text.is_empty())
        {
            delta.insert("content".into(), Value::String(text));
        }
        Ok(())
    }

    /// At the end of a stream: what a guard still holds, in one more chunk (or the event of
    /// the guardrail that blocks it).
    fn release_held(&mut self) -> Vec<u8> {
        let (Some(guard), None) = (self.guard.as_mut(), &self.error) else {
            return Vec::new();
        };
        let rest = match guard.finish() {
            Ok(rest) => rest,
            Err(violation) => return self.block(&violation).to_vec(),
        };
        let Some(mut chunk) = self.chunk_shape.take().filter(|_| !rest.is_empty()) else {
            return Vec::new();
        };
        if let Some(object) = chunk.as_object_mut() {
            object.remove("usage");
            object.insert(
                "choices".into(),
                json!([{"index": 0, "delta": {"content": rest}, "finish_reason": null}]),
            );
        }
        self.gather(&chunk);
        format!("data: {chunk}\n\n").into_bytes()
    }

    /// Counts the usage an event carries.
    fn tally(&mut self, event: &Value, wire: Wire) {
        usage::merge(&mut self.usage, usage::of_answer(wire, event));
    }

    /// Gathers a unified chunk's text and finish reason for the trace.
    fn gather(&mut self, chunk: &Value) {
        let Some(choice) = chunk.pointer("/choices/0") else {
            return;
        };
        if let Some(text) = choice.pointer("/delta/content").and_then(Value::as_str)
            && self.text.len() + text.len() <= MAX_GATHERED
        {
            self.text.push_str(text);
        }
        if let Some(finish) = choice.get("finish_reason").filter(|f| !f.is_null()) {
            self.finish = finish.clone();
        }
    }

    /// Reads the events of complete `lines`; in the unified modes returns what to send.
    fn events(&mut self, lines: Vec<Vec<u8>>) -> Vec<u8> {
        let mut out = Vec::new();
        for line in lines {
            let Some(data) = sse::data(&line) else {
                continue;
            };
            if data == b"[DONE]" {
                match self.mode {
                    // A checked passthrough ends as the upstream's did.
                    Mode::Raw(_) if self.guard.is_some() => {
                        out.extend(self.release_held());
                        if self.error.is_none() {
                            out.extend_from_slice(b"data: [DONE]\n\n");
                        }
                        self.done = true;
                        return out;
                    }
                    Mode::Raw(_) => {}
                    _ => self.done = true,
                }
                continue;
            }
            let Ok(event) = serde_json::from_slice::<Value>(data) else {
                continue;
            };
            if self.verbatim()
                && let Mode::Raw(wire) = self.mode
            {
                self.tally(&event, wire);
                continue;
            }
            if let Some(error) = event.get("error").filter(|e| !e.is_null()) {
                let message = error
                    .get("message")
                    .and_then(Value::as_str)
                    .map_or_else(|| error.to_string(), str::to_owned);
                out.extend_from_slice(&self.fail(message));
                return out;
            }
            let (mut chunk, wire) = match &mut self.mode {
                // Checked: OpenAI's own chunks, as they came.
                Mode::Raw(_) => (Some(event.clone()), Wire::OpenAi),
                Mode::Unified { provider } => {
                    (Some(openai::chat_chunk(&event, provider)), Wire::OpenAi)
                }
                Mode::FromAnthropic(translator) => (translator.event(&event), Wire::Anthropic),
                Mode::FromGemini(translator) => (translator.event(&event), Wire::Gemini),
            };
            self.tally(&event, wire);
            if let Some(chunk) = chunk.as_mut()
                && let Err(violation) = self.guard_chunk(chunk)
            {
                out.extend_from_slice(&self.block(&violation));
                return out;
            }
            if let Some(chunk) = chunk {
                self.gather(&chunk);
                // The shape (id, model, created) is every chunk's: kept once, not per chunk.
                if self.guard.is_some() && self.chunk_shape.is_none() {
                    self.chunk_shape = Some(chunk.clone());
                }
                out.extend_from_slice(b"data: ");
                out.extend_from_slice(chunk.to_string().as_bytes());
                out.extend_from_slice(b"\n\n");
            }
            if event.get("type").and_then(Value::as_str) == Some("message_stop") {
                self.done = true;
            }
        }
        out
    }

    async fn next(mut self) -> Option<(Result<Bytes, std::io::Error>, Self)> {
        loop {
            if self.done {
                return None;
            }
            match self.resp.chunk().await {
                Ok(Some(chunk)) => {
                    let lines = match self.lines.push(&chunk) {
                        Ok(lines) => lines,
                        Err(sse::LineTooLong) => {
                            let message = "The upstream sent a stream line longer than the \
                                           gateway reads."
                                .to_owned();
                            return Some((Ok(self.fail(message)), self));
                        }
                    };
                    let mut out = self.events(lines);
                    if self.verbatim() {
                        return Some((Ok(chunk), self));
                    }
                    if self.done && !matches!(self.mode, Mode::Raw(_)) {
                        out.extend(self.release_held());
                    }
                    if !out.is_empty() {
                        return Some((Ok(Bytes::from(out)), self));
                    }
                }
                Ok(None) => {
                    let was_done = self.done;
                    self.done = true;
                    let rest: Vec<Vec<u8>> = self.lines.finish().into_iter().collect();
                    let mut out = self.events(rest);
                    if !was_done {
                        out.extend(self.release_held());
                    }
                    if !out.is_empty() && !self.verbatim() {
                        return Some((Ok(Bytes::from(out)), self));
                    }
                }
                Err(e) => {
                    let message = super::upstream::failed(e).to_string();
                    return Some((Ok(self.fail(message)), self));
                }
            }
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let Some(on_end) = self.on_end.take() else {
            return;
        };
        let error = if self.done {
            self.error.take()
        } else {
            Some("The caller went away before the stream ended.".to_owned())
        };
        let output = if self.verbatim() {
            Value::Null
        } else {
            json!({"choices": [{"index": 0, "finish_reason": self.finish,
                "message": {"role": "assistant", "content": std::mem::take(&mut self.text)}}]})
        };
        on_end(StreamEnd {
            usage: self.usage,
            output,
            error,
            guardrails: self
                .guard
                .as_ref()
                .map(StreamGuard::checks)
                .unwrap_or_default(),
        });
    }
}

/// Relays `resp` in `mode` (its text through `guard`, if any), running `on_end` (if any) when
/// the stream ends.
pub fn relay(
    resp: reqwest::Response,
    mode: Mode,
    on_end: Option<OnEnd>,
    guard: Option<StreamGuard>,
) -> ByteStream {
    let relay = Relay {
        resp,
        lines: Lines::default(),
        mode,
        usage: None,
        text: String::new(),
        finish: Value::Null,
        done: false,
        error: None,
        on_end,
        guard,
        chunk_shape: None,
    };
    Box::pin(futures_util::stream::unfold(relay, Relay::next))
}

//! Streams relayed to the caller as the upstream sends them, never buffered whole: a
//! passthrough stream byte for byte, a unified stream event by event (each upstream chunk
//! reshaped as the reference shapes it, no `[DONE]`). Token usage is counted from the events
//! as they pass and the answer's text gathered (bounded) for the call's trace. An upstream
//! failure mid-stream ends the stream with one error event (the status line has already gone
//! out); a caller that goes away drops the upstream connection. However the stream ends, its
//! [`OnEnd`] hook runs once.

use bytes::Bytes;
use serde_json::{Value, json};

use super::ByteStream;
use super::anthropic::StreamTranslator;
use super::provider::Wire;
use super::sse::{self, Lines};
use super::{openai, usage};
use crate::cost::TokenUsage;

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
    /// Why it ended early (an upstream failure, or the caller going away).
    pub error: Option<String>,
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
                if !matches!(self.mode, Mode::Raw(_)) {
                    self.done = true;
                }
                continue;
            }
            let Ok(event) = serde_json::from_slice::<Value>(data) else {
                continue;
            };
            if let Mode::Raw(wire) = self.mode {
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
            let (chunk, wire) = match &mut self.mode {
                Mode::Raw(_) => (None, Wire::OpenAi),
                Mode::Unified { provider } => {
                    (Some(openai::chat_chunk(&event, provider)), Wire::OpenAi)
                }
                Mode::FromAnthropic(translator) => (translator.event(&event), Wire::Anthropic),
                Mode::FromGemini(translator) => (translator.event(&event), Wire::Gemini),
            };
            self.tally(&event, wire);
            if let Some(chunk) = chunk {
                self.gather(&chunk);
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
                    let out = self.events(lines);
                    if matches!(self.mode, Mode::Raw(_)) {
                        return Some((Ok(chunk), self));
                    }
                    if !out.is_empty() {
                        return Some((Ok(Bytes::from(out)), self));
                    }
                }
                Ok(None) => {
                    self.done = true;
                    let rest: Vec<Vec<u8>> = self.lines.finish().into_iter().collect();
                    let out = self.events(rest);
                    if !out.is_empty() && !matches!(self.mode, Mode::Raw(_)) {
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
        let output = if matches!(self.mode, Mode::Raw(_)) {
            Value::Null
        } else {
            json!({"choices": [{"index": 0, "finish_reason": self.finish,
                "message": {"role": "assistant", "content": std::mem::take(&mut self.text)}}]})
        };
        on_end(StreamEnd {
            usage: self.usage,
            output,
            error,
        });
    }
}

/// Relays `resp` in `mode`, running `on_end` (if any) when the stream ends.
pub fn relay(resp: reqwest::Response, mode: Mode, on_end: Option<OnEnd>) -> ByteStream {
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
    };
    Box::pin(futures_util::stream::unfold(relay, Relay::next))
}

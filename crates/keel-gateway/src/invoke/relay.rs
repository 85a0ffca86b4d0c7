//! Streams relayed to the caller as the upstream sends them, never buffered whole: a
//! passthrough stream byte for byte, a unified stream event by event (each upstream chunk
//! reshaped as the reference shapes it, no `[DONE]`). Token usage is counted from the events
//! as they pass. An upstream failure mid-stream ends the stream with one error event (the
//! status line has already gone out); a caller that goes away drops the upstream connection.

use bytes::Bytes;
use serde_json::{Value, json};

use super::ByteStream;
use super::anthropic::StreamTranslator;
use super::provider::Wire;
use super::sse::{self, Lines};
use super::{openai, usage};
use crate::cost::TokenUsage;

/// How events are relayed.
enum Mode {
    /// Bytes as received (a passthrough in the provider's own format).
    Raw(Wire),
    /// Reshaped into unified chunks naming the provider.
    Unified { provider: String },
    /// Anthropic's events translated into unified chunks.
    FromAnthropic(Box<StreamTranslator>),
}

struct Relay {
    resp: reqwest::Response,
    lines: Lines,
    mode: Mode,
    usage: Option<TokenUsage>,
    done: bool,
}

/// The one event a failed stream ends with (`gateway/utils.py`'s shape).
fn error_event(message: &str) -> Bytes {
    let event = json!({"error": {"message": message, "type": "UpstreamStreamError"}});
    Bytes::from(format!("data: {event}\n\n"))
}

impl Relay {
    /// Counts the usage an event carries.
    fn tally(&mut self, event: &Value, wire: Wire) {
        let seen = match wire {
            Wire::OpenAi => usage::of_openai_answer(event),
            Wire::Anthropic => usage::of_anthropic_answer(event),
        };
        usage::merge(&mut self.usage, seen);
    }

    /// Reads the events of complete `lines`; in unified mode returns what to send for them.
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
                out.extend_from_slice(&error_event(&message));
                self.done = true;
                return out;
            }
            let chunk = match &mut self.mode {
                Mode::Raw(_) => None,
                Mode::Unified { provider } => Some(openai::chat_chunk(&event, provider)),
                Mode::FromAnthropic(translator) => translator.event(&event),
            };
            let wire = match self.mode {
                Mode::FromAnthropic(_) => Wire::Anthropic,
                _ => Wire::OpenAi,
            };
            self.tally(&event, wire);
            if let Some(chunk) = chunk {
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
                if let Some(usage) = self.usage.take() {
                    tracing::debug!(?usage, "gateway stream finished");
                }
                return None;
            }
            match self.resp.chunk().await {
                Ok(Some(chunk)) => {
                    let lines = match self.lines.push(&chunk) {
                        Ok(lines) => lines,
                        Err(sse::LineTooLong) => {
                            self.done = true;
                            let message =
                                "The upstream sent a stream line longer than the gateway reads.";
                            return Some((Ok(error_event(message)), self));
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
                    if !out.is_empty() {
                        return Some((Ok(Bytes::from(out)), self));
                    }
                }
                Err(e) => {
                    self.done = true;
                    let message = super::upstream::failed(e).to_string();
                    return Some((Ok(error_event(&message)), self));
                }
            }
        }
    }
}

fn relay(resp: reqwest::Response, mode: Mode) -> ByteStream {
    let relay = Relay {
        resp,
        lines: Lines::default(),
        mode,
        usage: None,
        done: false,
    };
    Box::pin(futures_util::stream::unfold(relay, Relay::next))
}

/// A passthrough stream, relayed byte for byte.
pub fn raw(resp: reqwest::Response, wire: Wire) -> ByteStream {
    relay(resp, Mode::Raw(wire))
}

/// A unified chat stream from an OpenAI-format upstream.
pub fn unified(resp: reqwest::Response, provider: String) -> ByteStream {
    relay(resp, Mode::Unified { provider })
}

/// A unified chat stream from an Anthropic upstream's events.
pub fn from_anthropic(resp: reqwest::Response, created: i64) -> ByteStream {
    relay(
        resp,
        Mode::FromAnthropic(Box::new(StreamTranslator::new(created))),
    )
}

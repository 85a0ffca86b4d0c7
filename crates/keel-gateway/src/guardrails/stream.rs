//! Checking a streamed answer as it flows. The text of a chat stream's chunks goes through
//! [`StreamGuard`]: it holds back the last [`MAX_MATCH_BYTES`] bytes (no detector's match is
//! longer, so nothing released can later turn out to be part of a match) and never cuts inside
//! something a detector finds; what it releases goes through the guardrails in order — the
//! validating ones block before any of it is sent, the sanitizing ones redact it. A JSON schema can only be
//! checked on the whole answer, so an endpoint with one holds the whole text until the end.
//! The cost is latency, never correctness: text reaches the caller up to 512 bytes late.

use super::apply::{ActiveGuardrail, Check, Violation, rationale, schema_problem};
use super::detectors::{Detector, Finding, MAX_MATCH_BYTES, redact};
use super::{Action, Stage};

/// The most of a streamed answer held whole for a JSON schema check.
pub const MAX_HELD_BYTES: usize = 4 * 1024 * 1024;

/// The AFTER guardrails of one streamed answer, with the text they hold.
#[derive(Debug)]
pub struct StreamGuard {
    guardrails: Vec<ActiveGuardrail>,
    /// Received, not yet released (raw, not redacted).
    pending: String,
    /// Whether the whole text is held to the end (a JSON schema checks it).
    hold_all: bool,
    /// What each guardrail found, for the trace.
    found: Vec<Option<String>>,
    start_ns: i64,
}

impl StreamGuard {
    /// The guard of an answer of an endpoint with `guardrails`; `None` when none runs on
    /// answers.
    pub fn new(guardrails: &[ActiveGuardrail]) -> Option<Self> {
        let after: Vec<ActiveGuardrail> = guardrails
            .iter()
            .filter(|g| g.stage == Stage::After)
            .cloned()
            .collect();
        if after.is_empty() {
            return None;
        }
        let hold_all = after
            .iter()
            .any(|g| matches!(g.detector, Detector::JsonSchema(_)));
        Some(Self {
            found: vec![None; after.len()],
            guardrails: after,
            pending: String::new(),
            hold_all,
            start_ns: crate::invoke::unix_nanos(),
        })
    }

    /// Takes the next piece of the answer's text; returns what may be sent now. Text is
    /// released once twice the hold-back has gathered, so each byte is scanned about twice
    /// however small the pieces.
    pub fn push(&mut self, text: &str) -> Result<String, Violation> {
        self.pending.push_str(text);
        if self.hold_all {
            if self.pending.len() > MAX_HELD_BYTES {
                let index = self.schema_index().unwrap_or(0);
                let rationale = format!(
                    "The answer is longer than the {MAX_HELD_BYTES} bytes a streamed answer \
                     checked against a JSON schema may be."
                );
                return Err(self.violation(index, rationale));
            }
            return Ok(String::new());
        }
        if self.pending.len() < 2 * MAX_MATCH_BYTES {
            return Ok(String::new());
        }
        self.release(false)
    }

    fn schema_index(&self) -> Option<usize> {
        self.guardrails
            .iter()
            .position(|g| matches!(g.detector, Detector::JsonSchema(_)))
    }

    /// The answer ended: checks and returns the rest.
    pub fn finish(&mut self) -> Result<String, Violation> {
        self.release(true)
    }

    /// What each guardrail did, for the call's trace.
    pub fn checks(&self) -> Vec<Check> {
        let end_ns = crate::invoke::unix_nanos();
        self.guardrails
            .iter()
            .zip(&self.found)
            .map(|(g, found)| Check {
                name: g.name.clone(),
                stage: g.stage,
                action: g.action,
                passed: found.is_none() || g.action == Action::Sanitization,
                rationale: found.clone(),
                start_ns: self.start_ns,
                end_ns,
            })
            .collect()
    }

    /// Ends the stream in the name of its first guardrail: something in it cannot be checked.
    pub fn refuse(&mut self, rationale: &str) -> Violation {
        self.violation(0, rationale.to_owned())
    }

    fn violation(&mut self, index: usize, rationale: String) -> Violation {
        self.found[index] = Some(rationale.clone());
        Violation {
            guardrail: self.guardrails[index].name.clone(),
            rationale,
        }
    }

    fn release(&mut self, all: bool) -> Result<String, Violation> {
        // Where the released part ends: everything at the end, else all but what a match could
        // still grow into — and never inside something a detector finds.
        let mut cut = if all {
            self.pending.len()
        } else {
            floor_char_boundary(
                &self.pending,
                self.pending.len().saturating_sub(MAX_MATCH_BYTES),
            )
        };
        let findings: Vec<Finding> = self
            .guardrails
            .iter()
            .filter_map(|g| match &g.detector {
                Detector::Text(detector) => Some(detector.find(&self.pending)),
                _ => None,
            })
            .flatten()
            .collect();
        while let Some(straddling) = findings.iter().find(|f| f.start < cut && cut < f.end) {
            cut = straddling.start;
        }
        let mut released: String = self.pending.drain(..cut).collect();
        // The guardrails in order, each on what the ones before it left, before anything is
        // sent.
        for index in 0..self.guardrails.len() {
            let g = &self.guardrails[index];
            let found = match &g.detector {
                Detector::Text(detector) => {
                    let findings = detector.find(&released);
                    if !findings.is_empty() && g.action == Action::Sanitization {
                        released = redact(&released, &findings);
                    }
                    (!findings.is_empty()).then(|| rationale("answer", &findings))
                }
                Detector::JsonSchema(schema) if all => schema_problem(schema, Some(&released)),
                _ => None,
            };
            if let Some(rationale) = found {
                if g.action == Action::Validation {
                    return Err(self.violation(index, rationale));
                }
                self.found[index] = Some(rationale);
            }
        }
        Ok(released)
    }
}

/// The largest char boundary of `s` at or before `at`.
fn floor_char_boundary(s: &str, mut at: usize) -> usize {
    while at > 0 && !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guardrails::detectors::DetectorSpec;
    use serde_json::{Value, json};

    fn guard(specs: &[(Action, Value)]) -> StreamGuard {
        let guardrails: Vec<ActiveGuardrail> = specs
            .iter()
            .enumerate()
            .map(|(i, (action, detector))| ActiveGuardrail {
                guardrail_id: format!("gr-{i}"),
                name: format!("g{i}"),
                stage: Stage::After,
                action: *action,
                detector: DetectorSpec::parse(detector)
                    .expect("valid")
                    .compile()
                    .expect("valid"),
            })
            .collect();
        StreamGuard::new(&guardrails).expect("valid")
    }

    /// Feeds `text` in pieces of `size` bytes (on char boundaries) and gathers what is sent.
    fn feed(g: &mut StreamGuard, text: &str, size: usize) -> Result<String, Violation> {
        let mut out = String::new();
        let mut rest = text;
        while !rest.is_empty() {
            let at = floor_char_boundary(rest, size.min(rest.len()))
                .max(rest.char_indices().nth(1).map_or(rest.len(), |(i, _)| i));
            let (piece, tail) = rest.split_at(at);
            out.push_str(&g.push(piece)?);
            rest = tail;
        }
        out.push_str(&g.finish()?);
        Ok(out)
    }

    #[test]
    fn redacts_matches_split_across_chunks_whatever_the_chunk_size() {
        let text = format!(
            "{}Reach me at carol.jones@example.org or 4111-1111-1111-1111, thanks — ünïcode{}",
            "x".repeat(700),
            "y".repeat(900)
        );
        for size in [1, 2, 3, 7, 64, 513, 5000] {
            let mut g = guard(&[(Action::Sanitization, json!({"type": "pii"}))]);
            let out = feed(&mut g, &text, size).expect("valid");
            assert!(
                out.contains(
                    "Reach me at [REDACTED:EMAIL] or [REDACTED:CARD_NUMBER], thanks — ünïcode"
                ),
                "size {size}: {out}"
            );
            assert!(!out.contains("carol"), "size {size}");
        }
    }

    #[test]
    fn blocks_before_releasing_any_of_a_match() {
        let preamble = "safe text. ".repeat(100);
        let mut g = guard(&[(
            Action::Validation,
            json!({"type": "blocked_terms", "terms": ["launch codes"]}),
        )]);
        let mut sent = String::new();
        let mut blocked = None;
        let tail = "z".repeat(600);
        for piece in [
            preamble.as_str(),
            "The ",
            "launch",
            " co",
            "des are 1234",
            tail.as_str(),
        ] {
            match g.push(piece) {
                Ok(out) => sent.push_str(&out),
                Err(v) => {
                    blocked = Some(v);
                    break;
                }
            }
        }
        let v = blocked.expect("blocked once the match is due to be sent");
        assert_eq!(
            v.message(),
            "Guardrail 'g0' blocked: The answer contains a blocked term."
        );
        assert!(sent.starts_with("safe text."), "{sent}");
        assert!(!sent.contains("launch"), "{sent}");
        assert!(!g.checks()[0].passed);
        // A short answer is checked whole when it ends.
        let mut g = guard(&[(
            Action::Validation,
            json!({"type": "blocked_terms", "terms": ["launch codes"]}),
        )]);
        assert_eq!(g.push("the launch codes").expect("valid"), "");
        assert!(g.finish().is_err());
    }

    #[test]
    fn a_schema_holds_the_whole_text_and_checks_it_at_the_end() {
        let schema =
            json!({"type": "json_schema", "schema": {"type": "object", "required": ["a"]}});
        let mut g = guard(&[(Action::Validation, schema.clone())]);
        assert_eq!(g.push("{\"a\":").expect("valid"), "");
        assert_eq!(g.push(" 1}").expect("valid"), "");
        assert_eq!(g.finish().expect("valid"), "{\"a\": 1}");
        let mut g = guard(&[(Action::Validation, schema)]);
        g.push("{\"b\": 1}").expect("valid");
        assert!(g.finish().is_err());
    }
}

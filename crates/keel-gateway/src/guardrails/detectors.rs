//! Keel's built-in guardrail detectors: personal data (email addresses, phone numbers, card
//! numbers that pass the Luhn check, IBANs that pass the mod-97 check), secrets (provider API
//! keys, tokens, private keys), blocked terms, a cap on the tokens a request may ask for, and a
//! JSON schema the answer must follow.
//!
//! Text detectors find spans in a string in time linear in its length (finite automata:
//! `regex`, `aho-corasick`) and every span they find is at most [`MAX_MATCH_BYTES`] long, so a
//! stream can be checked while it flows by holding back only that many bytes (`stream.rs`).

use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;
use serde_json::{Value, json};

/// The longest span any text detector reports.
pub const MAX_MATCH_BYTES: usize = 512;
/// Blocked terms per guardrail, at most.
pub const MAX_TERMS: usize = 1_000;
/// A blocked term's length in bytes, at most.
pub const MAX_TERM_BYTES: usize = 128;
/// A JSON schema's size in bytes (as JSON text), at most.
pub const MAX_SCHEMA_BYTES: usize = 64 * 1024;

/// The kinds of personal data the PII detector knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PiiKind {
    Email,
    Phone,
    CardNumber,
    Iban,
}

impl PiiKind {
    pub const ALL: [Self; 4] = [Self::CardNumber, Self::Iban, Self::Email, Self::Phone];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "EMAIL",
            Self::Phone => "PHONE",
            Self::CardNumber => "CARD_NUMBER",
            Self::Iban => "IBAN",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Email => "an email address",
            Self::Phone => "a phone number",
            Self::CardNumber => "a payment card number",
            Self::Iban => "an IBAN",
        }
    }
}

/// What a guardrail checks, as configured (`detector` in the API).
#[derive(Debug, Clone, PartialEq)]
pub enum DetectorSpec {
    Pii { entities: Vec<PiiKind> },
    Secrets,
    BlockedTerms { terms: Vec<String> },
    MaxTokens { max_output_tokens: u64 },
    JsonSchema { schema: Value },
}

/// Where a detector can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    /// On requests and answers; can redact what it finds.
    Text,
    /// On requests only.
    RequestOnly,
    /// On answers only, and only to block.
    AnswerOnly,
}

fn bad(message: impl Into<String>) -> String {
    message.into()
}

impl DetectorSpec {
    /// The detector a request describes (`{"type": "pii", "entities": [...]}`, `{"type":
    /// "secrets"}`, `{"type": "blocked_terms", "terms": [...]}`, `{"type": "max_tokens",
    /// "max_output_tokens": N}`, `{"type": "json_schema", "schema": {...}}`), or why not.
    pub fn parse(value: &Value) -> Result<Self, String> {
        let object = value
            .as_object()
            .ok_or_else(|| bad("detector must be an object with a 'type'."))?;
        let kind = object
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("detector.type is required."))?;
        let allowed: &[&str] = match kind {
            "pii" => &["type", "entities"],
            "secrets" => &["type"],
            "blocked_terms" => &["type", "terms"],
            "max_tokens" => &["type", "max_output_tokens"],
            "json_schema" => &["type", "schema"],
            other => {
                return Err(format!(
                    "Unknown detector type '{}'; expected one of pii, secrets, blocked_terms, \
                     max_tokens, json_schema.",
                    truncate(other, 64)
                ));
            }
        };
        if let Some(unknown) = object.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(format!(
                "Unknown field 'detector.{}' for detector type '{kind}'.",
                truncate(unknown, 64)
            ));
        }
        match kind {
            "pii" => Ok(Self::Pii {
                entities: parse_entities(object.get("entities"))?,
            }),
            "secrets" => Ok(Self::Secrets),
            "blocked_terms" => Ok(Self::BlockedTerms {
                terms: parse_terms(object.get("terms"))?,
            }),
            "max_tokens" => {
                let max = object
                    .get("max_output_tokens")
                    .and_then(Value::as_u64)
                    .filter(|n| (1..=10_000_000).contains(n))
                    .ok_or_else(|| {
                        bad("detector.max_output_tokens must be an integer from 1 to 10000000.")
                    })?;
                Ok(Self::MaxTokens {
                    max_output_tokens: max,
                })
            }
            _ => {
                let schema = object
                    .get("schema")
                    .filter(|s| s.is_object() || s.is_boolean())
                    .ok_or_else(|| bad("detector.schema must be a JSON schema (an object)."))?;
                if schema.to_string().len() > MAX_SCHEMA_BYTES {
                    return Err(format!(
                        "detector.schema is larger than {MAX_SCHEMA_BYTES} bytes."
                    ));
                }
                compile_schema(schema)?;
                Ok(Self::JsonSchema {
                    schema: schema.clone(),
                })
            }
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            Self::Pii { entities } => json!({
                "type": "pii",
                "entities": entities.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
            }),
            Self::Secrets => json!({"type": "secrets"}),
            Self::BlockedTerms { terms } => json!({"type": "blocked_terms", "terms": terms}),
            Self::MaxTokens { max_output_tokens } => {
                json!({"type": "max_tokens", "max_output_tokens": max_output_tokens})
            }
            Self::JsonSchema { schema } => json!({"type": "json_schema", "schema": schema}),
        }
    }

    pub fn applies(&self) -> Applies {
        match self {
            Self::Pii { .. } | Self::Secrets | Self::BlockedTerms { .. } => Applies::Text,
            Self::MaxTokens { .. } => Applies::RequestOnly,
            Self::JsonSchema { .. } => Applies::AnswerOnly,
        }
    }

    /// The detector ready to run (patterns compiled once).
    pub fn compile(&self) -> Result<Detector, String> {
        Ok(match self {
            Self::Pii { entities } => Detector::Text(TextDetector::Pii(entities.clone())),
            Self::Secrets => Detector::Text(TextDetector::Secrets),
            Self::BlockedTerms { terms } => Detector::Text(TextDetector::Terms(Arc::new(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(terms)
                    .map_err(|e| format!("The blocked terms cannot be compiled: {e}"))?,
            ))),
            Self::MaxTokens { max_output_tokens } => Detector::MaxTokens(*max_output_tokens),
            Self::JsonSchema { schema } => Detector::JsonSchema(Arc::new(compile_schema(schema)?)),
        })
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn parse_entities(value: Option<&Value>) -> Result<Vec<PiiKind>, String> {
    let Some(value) = value else {
        return Ok(PiiKind::ALL.to_vec());
    };
    let items = value
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| bad("detector.entities must be a non-empty list."))?;
    let mut kinds = Vec::new();
    for item in items {
        let name = item.as_str().unwrap_or_default();
        let kind = PiiKind::parse(name).ok_or_else(|| {
            format!(
                "Unknown PII entity '{}'; expected EMAIL, PHONE, CARD_NUMBER or IBAN.",
                truncate(name, 64)
            )
        })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    kinds.sort();
    Ok(kinds)
}

fn parse_terms(value: Option<&Value>) -> Result<Vec<String>, String> {
    let items = value
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| bad("detector.terms must be a non-empty list of strings."))?;
    if items.len() > MAX_TERMS {
        return Err(format!("detector.terms has more than {MAX_TERMS} terms."));
    }
    items
        .iter()
        .map(|t| {
            let term = t
                .as_str()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| bad("Each blocked term must be a non-empty string."))?;
            if term.len() > MAX_TERM_BYTES {
                return Err(format!(
                    "A blocked term is longer than {MAX_TERM_BYTES} bytes."
                ));
            }
            Ok(term.to_owned())
        })
        .collect()
}

/// Compiles a schema with no way to fetch anything: the crate's remote and file resolving are
/// not built in, so a `$ref` to a URL fails to compile rather than reaching out.
fn compile_schema(schema: &Value) -> Result<jsonschema::Validator, String> {
    // `pattern`s run on model answers: the linear-time engine, not a backtracking one.
    jsonschema::options()
        .with_pattern_options(jsonschema::PatternOptions::regex())
        .build(schema)
        .map_err(|e| {
            format!(
                "detector.schema is not a valid JSON schema: {}",
                truncate(&e.to_string(), 300)
            )
        })
}

/// A compiled detector.
#[derive(Clone)]
pub enum Detector {
    Text(TextDetector),
    MaxTokens(u64),
    JsonSchema(Arc<jsonschema::Validator>),
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Text(t) => f.debug_tuple("Text").field(t).finish(),
            Self::MaxTokens(n) => f.debug_tuple("MaxTokens").field(n).finish(),
            Self::JsonSchema(_) => f.write_str("JsonSchema"),
        }
    }
}

/// A detector of spans in text.
#[derive(Clone)]
pub enum TextDetector {
    Pii(Vec<PiiKind>),
    Secrets,
    Terms(Arc<AhoCorasick>),
}

impl std::fmt::Debug for TextDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Pii(kinds) => f.debug_tuple("Pii").field(kinds).finish(),
            Self::Secrets => f.write_str("Secrets"),
            Self::Terms(_) => f.write_str("Terms"),
        }
    }
}

/// A span a text detector found: `text[start..end]` is `kind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub start: usize,
    pub end: usize,
    pub kind: &'static str,
    /// For the rationale: "an email address", "an API key", "a blocked term".
    pub what: &'static str,
}

struct Patterns {
    email: Regex,
    phone: Regex,
    card: Regex,
    iban: Regex,
    secrets: Vec<(&'static str, Regex)>,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: std::sync::OnceLock<Patterns> = std::sync::OnceLock::new();
    PATTERNS.get_or_init(|| {
        let re = |p: &str| Regex::new(p).expect("a built-in pattern compiles");
        Patterns {
            // ASCII classes and ASCII word boundaries throughout: a Unicode class could match a
            // multi-byte character for each repetition and take a match past MAX_MATCH_BYTES,
            // and ASCII patterns keep the fast DFA on any text.
            email: re(r"(?-u:\b)[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){0,4}\.[A-Za-z]{2,24}(?-u:\b)"),
            // Digits with the separators people write; the digit count is checked after.
            phone: re(r"(?:\+[0-9]{1,3}[ .\-]?)?(?:\([0-9]{1,4}\)[ .\-]?)?[0-9]{2,5}(?:[ .\-][0-9]{2,5}){1,4}(?-u:\b)|\+[0-9]{8,15}(?-u:\b)"),
            card: re(r"(?-u:\b)[0-9](?:[ \-]?[0-9]){12,18}(?-u:\b)"),
            iban: re(r"(?-u:\b)[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}(?-u:\b)"),
            secrets: vec![
                ("PRIVATE_KEY", re(r"-----BEGIN (?:[A-Z]{1,16} ){0,2}PRIVATE KEY-----")),
                ("ANTHROPIC_API_KEY", re(r"(?-u:\b)sk-ant-[A-Za-z0-9_\-]{20,200}")),
                ("OPENAI_API_KEY", re(r"(?-u:\b)sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,200}")),
                ("AWS_ACCESS_KEY_ID", re(r"(?-u:\b)(?:AKIA|ASIA)[A-Z0-9]{16}(?-u:\b)")),
                ("GITHUB_TOKEN", re(r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{36,200}|github_pat_[A-Za-z0-9_]{22,200})")),
                ("SLACK_TOKEN", re(r"(?-u:\b)xox[abposr]-[A-Za-z0-9\-]{10,200}")),
                ("GOOGLE_API_KEY", re(r"(?-u:\b)AIza[0-9A-Za-z_\-]{35}")),
                ("STRIPE_KEY", re(r"(?-u:\b)(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,200}")),
                // A JWT's header and the start of its payload: enough to know one (its parts
                // may be far longer than any match may be).
                ("JWT", re(r"(?-u:\b)eyJ[A-Za-z0-9_\-]{8,200}\.eyJ[A-Za-z0-9_\-]{8,200}")),
                ("KEEL_TOKEN", re(r"(?-u:\b)keel_[A-Za-z0-9_\-]{20,200}")),
            ],
        }
    })
}

/// Luhn's check over a card number's digits.
fn luhn(digits: &[u8]) -> bool {
    if digits.len() < 13 {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 {
                let twice = d * 2;
                if twice > 9 { twice - 9 } else { twice }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// ISO 13616's check: the IBAN, its first four characters moved to the end and letters as
/// numbers (A = 10), is 1 modulo 97.
fn iban_valid(compact: &[u8]) -> bool {
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    let rotated = compact[4..].iter().chain(&compact[..4]);
    let mut rest: u32 = 0;
    for &c in rotated {
        let value = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return false,
        };
        rest = if value >= 10 {
            (rest * 100 + value) % 97
        } else {
            (rest * 10 + value) % 97
        };
    }
    rest == 1
}

fn digits_of(s: &str) -> Vec<u8> {
    s.bytes().filter(u8::is_ascii_digit).collect()
}

impl TextDetector {
    /// Every span of `text` this detector finds, in order, not overlapping.
    pub fn find(&self, text: &str) -> Vec<Finding> {
        let mut found = Vec::new();
        match self {
            Self::Pii(kinds) => {
                let p = patterns();
                // Card numbers and IBANs first: a phone pattern would match their digits too.
                for kind in PiiKind::ALL.into_iter().filter(|k| kinds.contains(k)) {
                    let (regex, check): (&Regex, fn(&str) -> bool) = match kind {
                        PiiKind::CardNumber => (&p.card, |m| luhn(&digits_of(m))),
                        PiiKind::Iban => (&p.iban, |m| {
                            let compact: Vec<u8> = m.bytes().filter(|b| *b != b' ').collect();
                            iban_valid(&compact)
                        }),
                        PiiKind::Email => (&p.email, |_| true),
                        PiiKind::Phone => (&p.phone, |m| (9..=15).contains(&digits_of(m).len())),
                    };
                    found.extend(
                        regex
                            .find_iter(text)
                            .filter(|m| check(m.as_str()))
                            .map(|m| Finding {
                                start: m.start(),
                                end: m.end(),
                                kind: kind.as_str(),
                                what: kind.describe(),
                            }),
                    );
                }
            }
            Self::Secrets => {
                for (kind, regex) in &patterns().secrets {
                    found.extend(regex.find_iter(text).map(|m| Finding {
                        start: m.start(),
                        end: m.end(),
                        kind,
                        what: "a secret or API key",
                    }));
                }
            }
            Self::Terms(automaton) => {
                for m in automaton.find_iter(text) {
                    found.push(Finding {
                        start: m.start(),
                        end: m.end(),
                        kind: "BLOCKED_TERM",
                        what: "a blocked term",
                    });
                }
            }
        }
        without_overlaps(found)
    }
}

/// `found` (in the order the patterns ran, each pattern's matches in text order and apart)
/// sorted by position with overlaps resolved in favour of the pattern that ran first (a card
/// number over the phone number its digits also make): linear after the sort.
fn without_overlaps(found: Vec<Finding>) -> Vec<Finding> {
    let mut ranked: Vec<(usize, Finding)> = found.into_iter().enumerate().collect();
    ranked.sort_by_key(|(rank, f)| (f.start, *rank));
    let mut kept: Vec<(usize, Finding)> = Vec::with_capacity(ranked.len());
    for (rank, finding) in ranked {
        match kept.last_mut() {
            Some((last_rank, last)) if finding.start < last.end => {
                // Overlapping the last kept: the earlier pattern's match stays.
                if rank < *last_rank {
                    *last_rank = rank;
                    *last = finding;
                }
            }
            _ => kept.push((rank, finding)),
        }
    }
    kept.into_iter().map(|(_, f)| f).collect()
}

/// `text` with each finding (sorted, not overlapping) replaced by `[REDACTED:<KIND>]`.
pub fn redact(text: &str, findings: &[Finding]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in findings {
        out.push_str(&text[at..f.start]);
        out.push_str("[REDACTED:");
        out.push_str(f.kind);
        out.push(']');
        at = f.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pii() -> TextDetector {
        TextDetector::Pii(PiiKind::ALL.to_vec())
    }

    fn kinds(d: &TextDetector, text: &str) -> Vec<&'static str> {
        d.find(text).into_iter().map(|f| f.kind).collect()
    }

    #[test]
    fn finds_each_kind_of_personal_data_and_checks_numbers() {
        let d = pii();
        assert_eq!(
            kinds(&d, "write to alice.smith+x@example.co.uk today"),
            ["EMAIL"]
        );
        assert_eq!(kinds(&d, "card 4111 1111 1111 1111 exp"), ["CARD_NUMBER"]);
        // Fails Luhn: not a card; its digit groups are no phone number either (16 digits).
        assert!(kinds(&d, "card 4111 1111 1111 1112").is_empty());
        assert_eq!(kinds(&d, "IBAN GB82 WEST 1234 5698 7654 32 ok"), ["IBAN"]);
        assert_eq!(kinds(&d, "IBAN DE89370400440532013000."), ["IBAN"]);
        assert!(!kinds(&d, "IBAN GB82 WEST 1234 5698 7654 33").contains(&"IBAN"));
        assert_eq!(kinds(&d, "call +1 415-555-0132 now"), ["PHONE"]);
        assert_eq!(kinds(&d, "call (415) 555-0132"), ["PHONE"]);
        assert!(kinds(&d, "in 2024-05-06 we had 12 items").is_empty());
    }

    #[test]
    fn redacts_in_place_and_only_the_kinds_asked_for() {
        let d = TextDetector::Pii(vec![PiiKind::Email]);
        let text = "mail bob@example.com or call +1 415 555 0132";
        let found = d.find(text);
        assert_eq!(
            redact(text, &found),
            "mail [REDACTED:EMAIL] or call +1 415 555 0132"
        );
    }

    #[test]
    fn finds_secrets() {
        let d = TextDetector::Secrets;
        let key = format!("sk-proj-{}", "a1B2".repeat(10));
        assert_eq!(kinds(&d, &format!("key={key}")), ["OPENAI_API_KEY"]);
        assert_eq!(
            kinds(&d, &format!("sk-ant-{}", "x".repeat(30))),
            ["ANTHROPIC_API_KEY"]
        );
        assert_eq!(kinds(&d, "AKIAIOSFODNN7EXAMPLE"), ["AWS_ACCESS_KEY_ID"]);
        assert_eq!(
            kinds(&d, "-----BEGIN RSA PRIVATE KEY-----\nMII"),
            ["PRIVATE_KEY"]
        );
        assert_eq!(
            kinds(&d, &format!("ghp_{}", "A".repeat(36))),
            ["GITHUB_TOKEN"]
        );
        assert!(kinds(&d, "a sketch of skills").is_empty());
    }

    #[test]
    fn blocked_terms_ignore_case_and_prefer_the_longest() {
        let spec =
            DetectorSpec::parse(&json!({"type": "blocked_terms", "terms": ["hunter", "Hunter2"]}))
                .expect("valid");
        let Detector::Text(d) = spec.compile().expect("valid") else {
            panic!("a text detector")
        };
        let found = d.find("my password is HUNTER2!");
        assert_eq!(
            redact("my password is HUNTER2!", &found),
            "my password is [REDACTED:BLOCKED_TERM]!"
        );
    }

    #[test]
    fn no_pattern_can_match_more_than_the_hold_back() {
        let p = patterns();
        let all = [&p.email, &p.phone, &p.card, &p.iban]
            .into_iter()
            .chain(p.secrets.iter().map(|(_, r)| r));
        for regex in all {
            let hir = regex_syntax::parse(regex.as_str()).expect("parses");
            let most = hir.properties().maximum_len().expect("bounded");
            assert!(
                most <= MAX_MATCH_BYTES,
                "{} may match {most} bytes",
                regex.as_str()
            );
        }
    }

    #[test]
    fn many_findings_cost_linear_time() {
        let text = "a@b.cc ".repeat(200_000);
        let found = pii().find(&text);
        assert_eq!(found.len(), 200_000);
    }

    #[test]
    fn every_pattern_match_is_bounded() {
        let long = format!(
            "sk-{} {}@{}.com",
            "a".repeat(5_000),
            "b".repeat(5_000),
            "c".repeat(5_000)
        );
        for d in [TextDetector::Secrets, pii()] {
            for f in d.find(&long) {
                assert!(f.end - f.start <= MAX_MATCH_BYTES, "{f:?}");
            }
        }
    }

    #[test]
    fn parse_rejects_bad_detectors_clearly() {
        for (value, message) in [
            (json!("pii"), "detector must be an object"),
            (json!({"type": "regex"}), "Unknown detector type 'regex'"),
            (
                json!({"type": "pii", "entities": ["SSN"]}),
                "Unknown PII entity 'SSN'",
            ),
            (json!({"type": "pii", "entities": []}), "non-empty list"),
            (
                json!({"type": "secrets", "x": 1}),
                "Unknown field 'detector.x'",
            ),
            (
                json!({"type": "blocked_terms", "terms": [""]}),
                "non-empty string",
            ),
            (
                json!({"type": "max_tokens", "max_output_tokens": 0}),
                "from 1 to",
            ),
            (
                json!({"type": "json_schema", "schema": {"type": 12}}),
                "not a valid JSON schema",
            ),
            (
                json!({"type": "json_schema", "schema": {"$ref": "http://169.254.169.254/x"}}),
                "not a valid JSON schema",
            ),
        ] {
            let err = DetectorSpec::parse(&value).expect_err("refused");
            assert!(err.contains(message), "{value}: {err}");
        }
        let many: Vec<String> = (0..=MAX_TERMS).map(|i| format!("t{i}")).collect();
        assert!(DetectorSpec::parse(&json!({"type": "blocked_terms", "terms": many})).is_err());
    }

    #[test]
    fn specs_round_trip() {
        for value in [
            json!({"type": "pii", "entities": ["EMAIL", "IBAN"]}),
            json!({"type": "secrets"}),
            json!({"type": "blocked_terms", "terms": ["a", "b"]}),
            json!({"type": "max_tokens", "max_output_tokens": 100}),
            json!({"type": "json_schema", "schema": {"type": "object"}}),
        ] {
            assert_eq!(DetectorSpec::parse(&value).expect("valid").to_json(), value);
        }
    }
}

//! A call as it goes on record: who called which endpoint, what was asked and answered, and
//! each model tried (provider, model, time, tokens, cost, error) — turned into a trace in the
//! endpoint's experiment as the reference writes it (§12.2 of docs/reference/gateway.md): root
//! span `gateway/<endpoint>`, one `provider/<provider>/<model>` LLM span per attempt, and the
//! gateway's metadata, token usage and cost on the trace.

use std::collections::BTreeMap;

use keel_core::traces::{
    SpanId, SpanStatus, SpanStatusCode, TraceId, TraceInfo, TraceSpan, TraceState,
};
use serde_json::{Map, Value, json};

use crate::cost::{Cost, TokenUsage, cost};
use crate::guardrails::apply::Check;
use crate::prices::PriceTable;

/// Who made a call, as the request said.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    /// `X-MLflow-Gateway-Caller`, else the User-Agent's product (`python-requests`).
    pub caller: Option<String>,
    pub username: Option<String>,
    pub user_id: Option<String>,
    /// The request's `Host`.
    pub server_url: Option<String>,
    /// The caller's trace and span, from a W3C `traceparent` header: the call's trace names
    /// them, so the caller's trace and the gateway's are found from each other.
    pub caller_trace: Option<CallerTrace>,
    /// The registered prompt version the call was rendered from, if any.
    pub prompt: Option<crate::prompts::LinkedPrompt>,
}

/// Where in the caller's trace a call was made (`traceparent`'s trace and parent IDs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerTrace {
    /// MLflow's ID of the caller's trace (`tr-` and the 32 hex digits).
    pub trace_id: String,
    /// The caller's span (16 hex digits).
    pub span_id: String,
}

impl CallerTrace {
    /// A W3C `traceparent` (`00-<trace>-<span>-<flags>`), if well formed: known version
    /// digits, lowercase hex, neither ID all zeros.
    pub fn parse(header: &str) -> Option<Self> {
        let mut parts = header.trim().split('-');
        let (version, trace, span, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let hex = |s: &str, len: usize| {
            s.len() == len
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        let version_ok = hex(version, 2) && version != "ff";
        // Version 00 has exactly four fields; later versions may add more.
        let fields_ok = version != "00" || parts.next().is_none();
        let nonzero = |s: &str| s.bytes().any(|b| b != b'0');
        (version_ok
            && fields_ok
            && hex(trace, 32)
            && hex(span, 16)
            && hex(flags, 2)
            && nonzero(trace)
            && nonzero(span))
        .then(|| Self {
            trace_id: format!("tr-{trace}"),
            span_id: span.to_owned(),
        })
    }
}

impl CallContext {
    /// The caller named by `X-MLflow-Gateway-Caller`, else by the User-Agent's first product.
    pub fn caller_of(explicit: Option<&str>, user_agent: Option<&str>) -> Option<String> {
        explicit
            .filter(|c| !c.trim().is_empty())
            .map(|c| c.trim().to_owned())
            .or_else(|| {
                let product = user_agent?.split(['/', ' ']).next()?.trim();
                (!product.is_empty()).then(|| product.to_owned())
            })
            .map(|c| c.chars().take(256).collect())
    }
}

/// One model a call tried, for its span.
#[derive(Debug, Clone)]
pub struct AttemptSpan {
    pub provider: String,
    pub model: String,
    /// `chat`, `chat_stream`, `embeddings` or a passthrough's action.
    pub method: &'static str,
    pub streaming: bool,
    pub start_ns: i64,
    pub end_ns: i64,
    pub error: Option<String>,
    pub usage: Option<TokenUsage>,
}

/// A finished call.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub experiment_id: String,
    pub endpoint_id: String,
    pub endpoint_name: String,
    pub request_type: &'static str,
    pub context: CallContext,
    pub inputs: Value,
    pub outputs: Value,
    pub start_ns: i64,
    pub end_ns: i64,
    /// Why the call failed (`None`: it was served).
    pub error: Option<String>,
    pub attempts: Vec<AttemptSpan>,
    /// Answered from the response cache (no model was called).
    pub cache_hit: bool,
    /// What the endpoint's guardrails did, in the order they ran.
    pub guardrails: Vec<Check>,
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if getrandom::fill(&mut bytes).is_err() || bytes == [0; N] {
        // Never all zero (an invalid ID); the time makes a collision as unlikely.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos());
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (now >> ((i % 16) * 8)) as u8 | 1;
        }
    }
    bytes
}

/// About how many bytes `value` takes as JSON text (strings and keys by their length, every
/// other node a few bytes). Recursive: parsed JSON is at most 128 levels deep.
fn json_size(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len() + 2,
        Value::Array(items) => items.iter().map(json_size).sum::<usize>() + 2,
        Value::Object(map) => {
            map.iter()
                .map(|(k, v)| k.len() + 4 + json_size(v))
                .sum::<usize>()
                + 2
        }
        _ => 8,
    }
}

fn status(error: Option<&str>) -> SpanStatus {
    match error {
        None => SpanStatus {
            code: SpanStatusCode::Ok,
            message: String::new(),
        },
        Some(message) => SpanStatus {
            code: SpanStatusCode::Error,
            message: message.to_owned(),
        },
    }
}

fn usage_json(usage: &TokenUsage) -> Value {
    let mut out = json!({
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
    });
    if usage.cache_read_input_tokens > 0 {
        out["cache_read_input_tokens"] = json!(usage.cache_read_input_tokens);
    }
    if usage.cache_creation_input_tokens > 0 {
        out["cache_creation_input_tokens"] = json!(usage.cache_creation_input_tokens);
    }
    out
}

fn cost_json(c: &Cost) -> Value {
    json!({"input_cost": c.input_cost, "output_cost": c.output_cost, "total_cost": c.total_cost})
}

/// The cost of `attempts` at `prices` (the sum over those priced; `None` when none was).
pub fn attempts_cost(prices: &PriceTable, attempts: &[AttemptSpan]) -> Option<Cost> {
    attempts
        .iter()
        .filter_map(|a| cost(&prices.price(&a.provider, &a.model)?, a.usage.as_ref()?))
        .reduce(|a, b| Cost {
            input_cost: a.input_cost + b.input_cost,
            output_cost: a.output_cost + b.output_cost,
            total_cost: a.total_cost + b.total_cost,
        })
}

impl CallRecord {
    /// The call's cost at `prices` (the sum over its attempts; `None` when none was priced).
    pub fn cost(&self, prices: &PriceTable) -> Option<Cost> {
        attempts_cost(prices, &self.attempts)
    }

    /// About how many bytes the record holds: its request and answer (as JSON text, roughly)
    /// and a little per attempt. Linear in what it holds.
    pub fn approximate_size(&self) -> usize {
        const BASE: usize = 512;
        BASE + json_size(&self.inputs) + json_size(&self.outputs) + self.attempts.len() * BASE
    }

    /// The call's token usage (the attempt that served it).
    pub fn usage(&self) -> Option<TokenUsage> {
        self.attempts.iter().rev().find_map(|a| a.usage)
    }

    /// The call as a trace: its spans and its info.
    pub fn into_trace(self, prices: &PriceTable) -> (Vec<TraceSpan>, TraceInfo) {
        let trace_id = TraceId::from_otel(random_bytes());
        let root_id = SpanId(random_bytes());
        let total_cost = self.cost(prices);
        let total_usage = self.usage();
        let mut root_attributes = Map::from_iter([
            ("mlflow.spanType".to_owned(), json!("UNKNOWN")),
            ("endpoint_id".to_owned(), json!(self.endpoint_id)),
            ("endpoint_name".to_owned(), json!(self.endpoint_name)),
            ("mlflow.spanInputs".to_owned(), self.inputs.clone()),
            ("mlflow.spanOutputs".to_owned(), self.outputs.clone()),
        ]);
        if let Some(url) = &self.context.server_url {
            root_attributes.insert("server_url".into(), json!(url));
        }
        if let Some(served) = self.attempts.iter().rev().find(|a| a.error.is_none()) {
            root_attributes.insert("mlflow.llm.model".into(), json!(served.model));
        }
        let mut spans = vec![TraceSpan {
            trace_id: trace_id.clone(),
            span_id: root_id,
            parent_span_id: None,
            name: format!("gateway/{}", self.endpoint_name),
            start_time_unix_nano: self.start_ns,
            end_time_unix_nano: Some(self.end_ns.max(self.start_ns)),
            status: status(self.error.as_deref()),
            attributes: root_attributes,
            events: Vec::new(),
        }];
        for attempt in &self.attempts {
            let mut attributes = Map::from_iter([
                ("mlflow.spanType".to_owned(), json!("LLM")),
                ("mlflow.llm.provider".to_owned(), json!(attempt.provider)),
                ("mlflow.llm.model".to_owned(), json!(attempt.model)),
                ("method".to_owned(), json!(attempt.method)),
            ]);
            if attempt.streaming {
                attributes.insert("streaming".into(), json!(true));
            }
            if let Some(usage) = &attempt.usage {
                attributes.insert("mlflow.chat.tokenUsage".into(), usage_json(usage));
                if let Some(c) = prices
                    .price(&attempt.provider, &attempt.model)
                    .and_then(|p| cost(&p, usage))
                {
                    attributes.insert("mlflow.llm.cost".into(), cost_json(&c));
                }
            }
            spans.push(TraceSpan {
                trace_id: trace_id.clone(),
                span_id: SpanId(random_bytes()),
                parent_span_id: Some(root_id),
                name: format!("provider/{}/{}", attempt.provider, attempt.model),
                start_time_unix_nano: attempt.start_ns,
                end_time_unix_nano: Some(attempt.end_ns.max(attempt.start_ns)),
                status: status(attempt.error.as_deref()),
                attributes,
                events: Vec::new(),
            });
        }
        // One GUARDRAIL span per check (the reference's `guardrail/<name>`), with its verdict.
        for check in &self.guardrails {
            let mut attributes = Map::from_iter([
                ("mlflow.spanType".to_owned(), json!("GUARDRAIL")),
                ("stage".to_owned(), json!(check.stage.as_str())),
                ("action".to_owned(), json!(check.action.as_str())),
                (
                    "mlflow.spanOutputs".to_owned(),
                    json!({"passed": check.passed, "rationale": check.rationale}),
                ),
            ]);
            if !check.passed {
                attributes.insert("blocked".into(), json!(true));
            }
            spans.push(TraceSpan {
                trace_id: trace_id.clone(),
                span_id: SpanId(random_bytes()),
                parent_span_id: Some(root_id),
                name: format!("guardrail/{}", check.name),
                start_time_unix_nano: check.start_ns,
                end_time_unix_nano: Some(check.end_ns.max(check.start_ns)),
                status: status((!check.passed).then_some("blocked by the guardrail")),
                attributes,
                events: Vec::new(),
            });
        }
        let mut metadata = BTreeMap::from([
            (
                "mlflow.gateway.endpointId".to_owned(),
                self.endpoint_id.clone(),
            ),
            (
                "mlflow.gateway.requestType".to_owned(),
                self.request_type.to_owned(),
            ),
        ]);
        let context = self.context;
        for (key, value) in [
            ("mlflow.gateway.caller", context.caller),
            ("mlflow.auth.username", context.username),
            ("mlflow.auth.userId", context.user_id),
        ] {
            if let Some(value) = value {
                metadata.insert(key.to_owned(), value);
            }
        }
        if self.cache_hit {
            metadata.insert("keel.gateway.cacheHit".into(), "true".into());
        }
        if let Some(caller) = &context.caller_trace {
            metadata.insert("keel.gateway.callerTraceId".into(), caller.trace_id.clone());
            metadata.insert("keel.gateway.callerSpanId".into(), caller.span_id.clone());
        }
        if let Some(usage) = &total_usage {
            metadata.insert(
                "mlflow.trace.tokenUsage".into(),
                keel_core::pyjson::dumps(&usage_json(usage), false),
            );
        }
        if let Some(c) = &total_cost {
            metadata.insert(
                "mlflow.trace.cost".into(),
                keel_core::pyjson::dumps(&cost_json(c), false),
            );
        }
        let mut tags = BTreeMap::from([(
            "mlflow.traceName".to_owned(),
            format!("gateway/{}", self.endpoint_name),
        )]);
        if let Some(prompt) = &context.prompt {
            tags.insert(
                crate::prompts::LINKED_PROMPTS_TAG.to_owned(),
                prompt.tag_value(),
            );
        }
        let info = TraceInfo {
            trace_id,
            experiment_id: self.experiment_id,
            client_request_id: None,
            request_time_ms: self.start_ns.div_euclid(1_000_000),
            execution_duration_ms: Some((self.end_ns - self.start_ns).max(0) / 1_000_000),
            state: if self.error.is_none() {
                TraceState::Ok
            } else {
                TraceState::Error
            },
            request_preview: None,
            response_preview: None,
            metadata,
            tags,
        };
        (spans, info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> CallRecord {
        CallRecord {
            experiment_id: "1".into(),
            endpoint_id: "e-1".into(),
            endpoint_name: "chat-ep".into(),
            request_type: "unified/chat",
            context: CallContext {
                caller: Some("test-client".into()),
                username: Some("app".into()),
                user_id: Some("7".into()),
                server_url: Some("127.0.0.1:5000".into()),
                caller_trace: CallerTrace::parse(
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                ),
                prompt: Some(crate::prompts::LinkedPrompt {
                    name: "qa".into(),
                    version: "3".into(),
                }),
            },
            inputs: json!({"messages": []}),
            outputs: json!({"choices": []}),
            start_ns: 1_000_000_000,
            end_ns: 1_250_000_000,
            error: None,
            cache_hit: false,
            guardrails: Vec::new(),
            attempts: vec![
                AttemptSpan {
                    provider: "openai".into(),
                    model: "fail500".into(),
                    method: "chat",
                    streaming: false,
                    start_ns: 1_000_000_000,
                    end_ns: 1_100_000_000,
                    error: Some("500: upstream exploded".into()),
                    usage: None,
                },
                AttemptSpan {
                    provider: "openai".into(),
                    model: "gpt-4o-mini".into(),
                    method: "chat",
                    streaming: false,
                    start_ns: 1_100_000_000,
                    end_ns: 1_240_000_000,
                    error: None,
                    usage: Some(TokenUsage {
                        input_tokens: 12,
                        output_tokens: 5,
                        ..TokenUsage::default()
                    }),
                },
            ],
        }
    }

    #[test]
    fn a_call_becomes_the_references_trace() {
        let (spans, info) = record().into_trace(&PriceTable::shipped());
        assert_eq!(spans.len(), 3);
        assert_eq!(spans[0].name, "gateway/chat-ep");
        assert_eq!(spans[0].attributes["mlflow.llm.model"], "gpt-4o-mini");
        assert_eq!(spans[1].name, "provider/openai/fail500");
        assert_eq!(spans[1].status.code, SpanStatusCode::Error);
        assert_eq!(spans[2].parent_span_id, Some(spans[0].span_id));
        assert_eq!(
            spans[2].attributes["mlflow.llm.cost"],
            json!({"input_cost": 1.8e-06, "output_cost": 3e-06, "total_cost": 4.8e-06})
        );
        assert_eq!(info.metadata["mlflow.gateway.caller"], "test-client");
        assert_eq!(
            info.tags["mlflow.linkedPrompts"],
            r#"[{"name": "qa", "version": "3"}]"#
        );
        assert_eq!(
            info.metadata["keel.gateway.callerTraceId"],
            "tr-4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(
            info.metadata["keel.gateway.callerSpanId"],
            "00f067aa0ba902b7"
        );
        assert_eq!(info.metadata["mlflow.gateway.requestType"], "unified/chat");
        assert_eq!(
            info.metadata["mlflow.trace.cost"],
            r#"{"input_cost": 1.8e-06, "output_cost": 3e-06, "total_cost": 4.8e-06}"#
        );
        assert_eq!(
            info.metadata["mlflow.trace.tokenUsage"],
            r#"{"input_tokens": 12, "output_tokens": 5, "total_tokens": 17}"#
        );
        assert_eq!(
            (info.request_time_ms, info.execution_duration_ms),
            (1000, Some(250))
        );
        assert_eq!(info.state, TraceState::Ok);
        assert!(info.trace_id.as_str().starts_with("tr-"));
    }

    #[test]
    fn only_a_well_formed_traceparent_links_the_callers_trace() {
        let ok = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert!(CallerTrace::parse(ok).is_some());
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        ] {
            assert_eq!(CallerTrace::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_caller_is_the_header_or_the_user_agents_product() {
        assert_eq!(
            CallContext::caller_of(Some("batch-job"), Some("x/1")).as_deref(),
            Some("batch-job")
        );
        assert_eq!(
            CallContext::caller_of(None, Some("python-requests/2.32")).as_deref(),
            Some("python-requests")
        );
        assert_eq!(CallContext::caller_of(Some(" "), None), None);
    }
}

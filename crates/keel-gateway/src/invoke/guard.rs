//! A call's guardrails: the endpoint's loaded with its route, run on the request before
//! anything else (a blocked request reaches no cache, limit or model), on whole answers
//! before they are cached or returned (cached ones too: the guardrails may have changed
//! since), and handed to the relay for streams. A blocked call answers 400 `Guardrail '<name>'
//! blocked: <rationale>`, is audited as `rejected` by that guardrail, and is traced without
//! what was blocked.

use serde_json::{Map, Value};

use super::record::CallRecord;
use super::{Call, CallContext, CallError, Outcome, Route, unix_nanos};
use crate::Gateway;
use crate::guardrails::Stage;
use crate::guardrails::apply::{self, ActiveGuardrail, CapAt, Check, Guardrails, Violation};
use crate::guardrails::stream::StreamGuard;

impl Call {
    /// Where this call's request puts its output-token cap.
    fn cap_at(self) -> CapAt {
        match self {
            Self::UnifiedEmbeddings | Self::OpenAiEmbeddings => CapAt::Nowhere,
            Self::OpenAiResponses | Self::OpenAiResponsesCompact => CapAt::Key("max_output_tokens"),
            Self::GeminiGenerateContent | Self::GeminiStreamGenerateContent => CapAt::GeminiConfig,
            Self::UnifiedChat | Self::OpenAiChat | Self::AnthropicMessages => {
                CapAt::Key("max_tokens")
            }
        }
    }

    /// Whether the answer has text (embeddings are vectors).
    pub(super) fn answers_text(self) -> bool {
        !matches!(self, Self::UnifiedEmbeddings | Self::OpenAiEmbeddings)
    }

    /// Whether a stream of this call is made of chat-completion chunks, whose text the
    /// guardrails check as it flows.
    fn stream_checkable(self) -> bool {
        matches!(self, Self::UnifiedChat | Self::OpenAiChat)
    }
}

impl Route {
    fn guards(&self, stage: Stage) -> bool {
        self.guardrails.iter().any(|g| g.stage == stage)
    }
}

/// An endpoint's guardrails compiled for its route; one that cannot run makes every call
/// fail (guardrails fail closed).
pub(super) fn compile(configs: &[crate::GuardrailConfig]) -> Result<Guardrails, CallError> {
    configs
        .iter()
        .map(|c| ActiveGuardrail::of(&c.guardrail))
        .collect::<Result<Vec<_>, _>>()
        .map(Into::into)
        .map_err(|v| CallError::http(503, v.message()))
}

/// A call blocked by a guardrail, as its caller hears it.
fn refusal(violation: &Violation) -> CallError {
    CallError::bad_request(violation.message())
}

impl Gateway {
    /// Runs the route's BEFORE guardrails: `None` when the body goes on as it is, else the
    /// body they rewrote — or the refusal of a call one blocked (audited and traced here).
    pub(super) fn guard_request(
        &self,
        route: &Route,
        call: Call,
        body: &Map<String, Value>,
        context: &CallContext,
        checks: &mut Vec<Check>,
    ) -> Result<Option<Map<String, Value>>, CallError> {
        if route.guards(Stage::After) && call.streams(body) {
            let unchecked = if !call.stream_checkable() {
                Some("in streamed chat completions only")
            } else if body.get("n").and_then(Value::as_u64).is_some_and(|n| n > 1) {
                Some("in a stream of one answer only (n = 1)")
            } else if ["tools", "functions"].iter().any(|k| body.contains_key(*k)) {
                Some(
                    "in streams without tools (a tool's arguments cannot be checked as they stream)",
                )
            } else {
                None
            };
            if let Some(only) = unchecked {
                return Err(CallError::bad_request(format!(
                    "Endpoint '{}' runs guardrails on answers, which Keel checks {only}; ask \
                     for this answer without streaming.",
                    route.name
                )));
            }
        }
        if !route.guards(Stage::Before) {
            return Ok(None);
        }
        let started = unix_nanos();
        let mut checked = body.clone();
        match apply::check_request(&route.guardrails, &mut checked, call.cap_at(), checks) {
            Ok(()) => Ok(Some(checked)),
            Err(violation) => Err(self.blocked(route, call, context, started, &violation, checks)),
        }
    }

    /// Runs the route's AFTER guardrails on a whole answer (rewriting it when they sanitize).
    pub(super) fn guard_answer(
        &self,
        route: &Route,
        call: Call,
        answer: &mut Value,
        checks: &mut Vec<Check>,
    ) -> Result<(), Violation> {
        if !route.guards(Stage::After) {
            return Ok(());
        }
        // Log probabilities spell the answer out token by token, past any redaction.
        if let Some(choices) = answer.get_mut("choices").and_then(Value::as_array_mut) {
            for choice in choices.iter_mut().filter_map(Value::as_object_mut) {
                choice.remove("logprobs");
            }
        }
        apply::check_answer(&route.guardrails, answer, call.answers_text(), checks)
    }

    /// The guard of a streamed answer, when the route checks answers.
    pub(super) fn stream_guard(&self, route: &Route) -> Option<StreamGuard> {
        StreamGuard::new(&route.guardrails)
    }

    /// Records a request a guardrail blocked (audit decision, ledger, a trace without the
    /// request) and returns its refusal.
    pub(super) fn blocked(
        &self,
        route: &Route,
        call: Call,
        context: &CallContext,
        started: i64,
        violation: &Violation,
        checks: &[Check],
    ) -> CallError {
        keel_core::audit::scope::note_detail(serde_json::json!({
            "decision": "rejected",
            "endpoint": route.name,
            "guardrail": violation.guardrail,
        }));
        self.account_call(route, context, None, None, Outcome::Failed);
        let refusal = refusal(violation);
        if let Some(mut record) = self.record_of(route, call, &Map::new(), context, started) {
            record.inputs = Value::Null;
            record.end_ns = unix_nanos();
            record.error = Some(refusal.to_string());
            record.guardrails = checks.to_vec();
            self.trace(record);
        }
        refusal
    }

    /// Traces a call whose answer a guardrail blocked (the model was called and is paid for:
    /// the caller's limits were settled already) and returns its refusal.
    pub(super) fn answer_blocked(
        &self,
        route: &Route,
        record: Option<CallRecord>,
        violation: &Violation,
        checks: Vec<Check>,
    ) -> CallError {
        keel_core::audit::scope::note_detail(serde_json::json!({
            "decision": "rejected",
            "endpoint": route.name,
            "guardrail": violation.guardrail,
            "stage": "AFTER",
        }));
        let refusal = refusal(violation);
        if let Some(mut record) = record {
            record.outputs = Value::Null;
            record.end_ns = unix_nanos();
            record.error = Some(refusal.to_string());
            record.guardrails = checks;
            self.trace(record);
        }
        refusal
    }
}

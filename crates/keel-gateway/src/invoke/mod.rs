//! Calling an endpoint: its configuration resolved into ready-to-call provider targets
//! (cached, dropped on every configuration change), the chain of models one call tries
//! (traffic split, fallbacks), the upstream call in the provider's wire format, and the answer
//! — whole, or a stream relayed chunk by chunk as it arrives, with its token usage counted.

pub mod anthropic;
pub mod breaker;
pub mod cache;
pub mod error;
pub mod gemini;
mod guard;
pub mod openai;
pub mod provider;
pub mod record;
mod relay;
pub mod sse;
pub mod timeouts;
pub mod tracer;
pub mod unified;
pub mod upstream;
pub mod usage;

use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::Stream;
use keel_core::{Error, ErrorCode};
use reqwest::header::HeaderMap;
use serde_json::{Map, Value};

use crate::cost::TokenUsage;
use crate::endpoints::{EndpointKey, Linkage};
use crate::limits::Used;
use crate::routing::{fallback_order, max_calls, traffic_pick};
use crate::{Gateway, guardrails};
use breaker::Admit;
pub use error::CallError;
use provider::{Target, Wire};
pub use record::{AttemptSpan, CallContext, CallRecord, CallerTrace};

/// A resolved endpoint: the models a call may go to, ready to call.
#[derive(Debug)]
pub struct Route {
    pub workspace: String,
    pub endpoint_id: String,
    pub name: String,
    pub experiment_id: Option<String>,
    pub usage_tracking: bool,
    /// The primary models with their weights, in configured order.
    primaries: Vec<(f64, Arc<Target>)>,
    traffic_split: bool,
    /// The fallback models in the order they are tried (empty without a fallback config).
    fallbacks: Vec<Arc<Target>>,
    max_calls: usize,
    /// How long whole answers are kept (the endpoint's `keel.cache.ttl_seconds`).
    pub cache_ttl: Option<Duration>,
    /// The guardrails calls run, in order.
    pub guardrails: crate::guardrails::apply::Guardrails,
}

impl Route {
    /// The models one call tries, in order, given a uniform draw in `[0, 1)` for the split.
    pub fn chain(&self, draw: f64) -> Vec<Arc<Target>> {
        let weights: Vec<f64> = self.primaries.iter().map(|(w, _)| *w).collect();
        let first = if self.traffic_split {
            traffic_pick(&weights, draw).unwrap_or(0)
        } else {
            0
        };
        let mut chain = vec![self.primaries[first].1.clone()];
        chain.extend(self.fallbacks.iter().cloned());
        chain.truncate(self.max_calls);
        chain
    }

    /// Whether failures fall back to other models (and are reported as a fallback's).
    pub fn falls_back(&self) -> bool {
        !self.fallbacks.is_empty()
    }
}

/// Resolved endpoints by workspace and name, each kept for a short time: a change made
/// through this process drops them all at once; one made through another replica is seen
/// within [`RouteCache::ttl`].
#[derive(Debug)]
pub struct RouteCache {
    entries: Mutex<RouteEntries>,
    ttl: Duration,
}

/// Each resolved endpoint by workspace and name, with when it was resolved.
type RouteEntries = HashMap<(String, String), (Instant, Arc<Route>)>;

/// At most this many endpoints are kept resolved.
const MAX_CACHED_ROUTES: usize = 10_000;
/// How long a resolved endpoint is used before its configuration is read again.
pub const DEFAULT_ROUTE_TTL: Duration = Duration::from_secs(5);

impl RouteCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            ttl,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RouteEntries> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, workspace: &str, name: &str) -> Option<Arc<Route>> {
        let entries = self.lock();
        let (at, route) = entries.get(&(workspace.to_owned(), name.to_owned()))?;
        (at.elapsed() < self.ttl).then(|| route.clone())
    }

    fn put(&self, workspace: &str, name: &str, route: Arc<Route>) {
        let mut entries = self.lock();
        if entries.len() >= MAX_CACHED_ROUTES {
            entries.clear();
        }
        entries.insert(
            (workspace.to_owned(), name.to_owned()),
            (Instant::now(), route),
        );
    }

    /// Forgets every resolved endpoint (after any configuration change).
    pub fn clear(&self) {
        self.lock().clear();
    }
}

/// What a call asks of its endpoint, and in which format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// The gateway's unified chat (`/gateway/mlflow/v1/chat/completions`, `/invocations`).
    UnifiedChat,
    /// The gateway's unified embeddings (`/invocations` with `input`).
    UnifiedEmbeddings,
    /// OpenAI's chat completions, passed through (`/gateway/openai/v1/chat/completions`).
    OpenAiChat,
    /// OpenAI's embeddings, passed through.
    OpenAiEmbeddings,
    /// OpenAI's Responses API, passed through.
    OpenAiResponses,
    /// OpenAI's Responses compaction, passed through (never streamed).
    OpenAiResponsesCompact,
    /// Anthropic's messages, passed through (`/gateway/anthropic/v1/messages`).
    AnthropicMessages,
    /// Gemini's `generateContent`, passed through
    /// (`/gateway/gemini/v1beta/models/{endpoint}:generateContent`).
    GeminiGenerateContent,
    /// Gemini's `streamGenerateContent`, passed through (always streamed).
    GeminiStreamGenerateContent,
}

impl Call {
    /// The trace's `mlflow.gateway.requestType`.
    pub fn request_type(self) -> &'static str {
        match self {
            Self::UnifiedChat => "unified/chat",
            Self::UnifiedEmbeddings => "unified/embeddings",
            Self::OpenAiChat => "passthrough/model/openai-chat",
            Self::OpenAiEmbeddings => "passthrough/model/openai-embeddings",
            Self::OpenAiResponses | Self::OpenAiResponsesCompact => {
                "passthrough/model/openai-responses"
            }
            Self::AnthropicMessages => "passthrough/model/anthropic-messages",
            // Both Gemini actions, as the reference names them.
            Self::GeminiGenerateContent | Self::GeminiStreamGenerateContent => {
                "passthrough/model/gemini-generateContent"
            }
        }
    }

    fn passthrough(self) -> Option<(Wire, &'static str, &'static str)> {
        match self {
            Self::UnifiedChat | Self::UnifiedEmbeddings => None,
            Self::OpenAiChat => Some((
                Wire::OpenAi,
                "chat/completions",
                "/gateway/openai/v1/chat/completions",
            )),
            Self::OpenAiEmbeddings => {
                Some((Wire::OpenAi, "embeddings", "/gateway/openai/v1/embeddings"))
            }
            Self::OpenAiResponses => {
                Some((Wire::OpenAi, "responses", "/gateway/openai/v1/responses"))
            }
            Self::OpenAiResponsesCompact => Some((
                Wire::OpenAi,
                "responses/compact",
                "/gateway/openai/v1/responses/compact",
            )),
            Self::AnthropicMessages => Some((
                Wire::Anthropic,
                "messages",
                "/gateway/anthropic/v1/messages",
            )),
            Self::GeminiGenerateContent => Some((
                Wire::Gemini,
                "generateContent",
                "/gemini/v1beta/models/{endpoint_name}:generateContent",
            )),
            Self::GeminiStreamGenerateContent => Some((
                Wire::Gemini,
                "streamGenerateContent",
                "/gemini/v1beta/models/{endpoint_name}:streamGenerateContent",
            )),
        }
    }

    /// A provider span's `method`: what was asked of the model.
    fn method(self, stream: bool) -> &'static str {
        match self {
            Self::UnifiedChat if stream => "chat_stream",
            Self::UnifiedChat => "chat",
            Self::UnifiedEmbeddings => "embeddings",
            Self::OpenAiChat => "openai_chat",
            Self::OpenAiEmbeddings => "openai_embeddings",
            Self::OpenAiResponses => "openai_responses",
            Self::OpenAiResponsesCompact => "openai_responses_compact",
            Self::AnthropicMessages => "anthropic_messages",
            Self::GeminiGenerateContent => "gemini_generate_content",
            Self::GeminiStreamGenerateContent => "gemini_stream_generate_content",
        }
    }

    /// Whether `body` asks this call for a stream (embeddings never stream).
    pub fn streams(self, body: &Map<String, Value>) -> bool {
        match self {
            Self::GeminiStreamGenerateContent => true,
            Self::UnifiedEmbeddings
            | Self::OpenAiEmbeddings
            | Self::OpenAiResponsesCompact
            | Self::GeminiGenerateContent => false,
            _ => unified::wants_stream(body),
        }
    }
}

/// A stream of answer bytes, relayed as they arrive.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// A call's answer.
pub enum Reply {
    /// A whole JSON answer.
    Json(Value),
    /// Server-sent events.
    Stream(ByteStream),
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Json(v) => f.debug_tuple("Json").field(v).finish(),
            Self::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// A served call.
#[derive(Debug)]
pub struct Served {
    pub reply: Reply,
    /// Who served it.
    pub provider: String,
    pub model: String,
    /// The tokens used (for streams, counted as the stream is relayed and not known here).
    pub usage: Option<TokenUsage>,
    /// Time spent waiting on providers (for the overhead header; zero for streams).
    pub provider_time: Duration,
    pub attempts: Vec<AttemptSpan>,
}

/// A uniform draw in `[0, 1)` for the traffic split.
fn draw() -> f64 {
    let bits = getrandom::u64().unwrap_or(0) >> 11;
    bits as f64 / (1u64 << 53) as f64
}

impl Gateway {
    /// The endpoint `name` of `workspace`, resolved (from the cache when fresh).
    pub async fn route(&self, workspace: &str, name: &str) -> Result<Arc<Route>, CallError> {
        if let Some(route) = self.routes.get(workspace, name) {
            return Ok(route);
        }
        let route = Arc::new(self.resolve(workspace, name).await?);
        self.routes.put(workspace, name, route.clone());
        Ok(route)
    }

    async fn resolve(&self, workspace: &str, name: &str) -> Result<Route, CallError> {
        let endpoint = self
            .store
            .get_endpoint(workspace, EndpointKey::Name(name))
            .await?
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::ResourceDoesNotExist,
                    format!("GatewayEndpoint not found (name='{name}')"),
                )
            })?;
        // Each secret opened once, however many models use it (`None`: deleted meanwhile).
        type Opened = Option<(BTreeMap<String, String>, BTreeMap<String, String>)>;
        let mut opened: HashMap<String, Opened> = HashMap::new();
        let mut primaries = Vec::new();
        let mut fallbacks = Vec::new();
        for mapping in &endpoint.mappings {
            let definition = &mapping.model_definition;
            // A definition whose secret was deleted cannot be called (the reference drops it).
            let Some(secret_id) = definition.secret_id.as_deref() else {
                continue;
            };
            if !opened.contains_key(secret_id) {
                let pair = match self.store.get_secret(workspace, secret_id).await? {
                    Some(secret) => Some((self.open_secret(&secret)?, secret.auth_config)),
                    None => None,
                };
                opened.insert(secret_id.to_owned(), pair);
            }
            let Some((values, auth)) = &opened[secret_id] else {
                continue;
            };
            let mut target = provider::target(definition, values, auth)?;
            target.timeout = timeouts::of(&endpoint.tags, &definition.model_name);
            let target = Arc::new(target);
            match mapping.linkage {
                Linkage::Primary => primaries.push((mapping.weight, target)),
                Linkage::Fallback => fallbacks.push((mapping.fallback_order, target)),
            }
        }
        if primaries.is_empty() {
            return Err(Error::new(
                ErrorCode::ResourceDoesNotExist,
                format!("Endpoint '{name}' has no PRIMARY models configured"),
            )
            .into());
        }
        let fallbacks = match &endpoint.fallback_config {
            Some(_) => fallback_order(fallbacks),
            None => Vec::new(),
        };
        let max_attempts = endpoint
            .fallback_config
            .as_ref()
            .and_then(|c| c.max_attempts);
        let guardrails = guard::compile(
            &self
                .store
                .endpoint_guardrails(workspace, &endpoint.endpoint_id)
                .await?,
        )?;
        Ok(Route {
            workspace: workspace.to_owned(),
            endpoint_id: endpoint.endpoint_id,
            name: endpoint.name,
            experiment_id: endpoint.experiment_id,
            usage_tracking: endpoint.usage_tracking,
            traffic_split: endpoint.routing_strategy.as_deref()
                == Some(crate::endpoints::TRAFFIC_SPLIT),
            primaries,
            max_calls: max_calls(max_attempts, fallbacks.len()),
            fallbacks,
            cache_ttl: cache::ttl_of(&endpoint.tags),
            guardrails,
        })
    }

    /// Makes `call` on `route` with `body` (its `model` already taken out). `forwarded` are
    /// the client's headers a passthrough call sends on (unified calls send none). With usage
    /// tracking, the call (served or not) is traced in the endpoint's experiment — a stream
    /// once it ends.
    pub async fn call(
        &self,
        route: &Route,
        call: Call,
        body: &Map<String, Value>,
        forwarded: &HeaderMap,
        context: &CallContext,
    ) -> Result<Served, CallError> {
        let started = unix_nanos();
        let mut checks = Vec::new();
        let sanitized = self.guard_request(route, call, body, context, &mut checks)?;
        let body = sanitized.as_ref().unwrap_or(body);
        let stream = call.streams(body);
        let cache_key = route
            .cache_ttl
            .filter(|_| !stream)
            .and_then(|_| cache::ResponseCache::key(&route.endpoint_id, call, body));
        if let Some(hit) = cache_key.as_ref().and_then(|key| self.cache.get(key)) {
            return self.answer_from_cache(route, call, body, context, started, &hit, checks);
        }
        let chain = route.chain(draw());
        let tries = chain.len();
        let hold = match self.hold(route, call, body, context, &chain).await {
            Ok(hold) => hold,
            Err(refused) => {
                self.account_call(route, context, None, None, Outcome::Failed);
                if let Some(mut record) = self.record_of(route, call, body, context, started) {
                    record.end_ns = unix_nanos();
                    record.error = Some(refused.to_string());
                    record.guardrails = checks;
                    self.trace(record);
                }
                return Err(refused);
            }
        };
        let mut attempts: Vec<AttemptSpan> = Vec::with_capacity(tries);
        let mut provider_time = Duration::ZERO;
        let mut last = None;
        // Failures in a row of models actually called: each waits a little longer first.
        let mut upstream_failures = 0u32;
        for target in chain {
            let admit = self.breakers.admit(target.key(), Instant::now());
            if let Admit::Skip(wait) = admit {
                last = Some(CallError::http(
                    503,
                    format!(
                        "Model '{}' of provider '{}' is failing and is skipped for {} more \
                         seconds.",
                        target.model,
                        target.provider,
                        wait.as_secs()
                    ),
                ));
                continue;
            }
            if upstream_failures > 0 {
                tokio::time::sleep(backoff(upstream_failures)).await;
            }
            let clock = Instant::now();
            let start_ns = unix_nanos();
            let result = self.attempt(&target, call, body, forwarded, stream).await;
            match &result {
                Ok(_) => self.breakers.succeeded(target.key()),
                Err(e) if breaker::counts(e) => {
                    upstream_failures += 1;
                    self.breakers.failed(target.key(), Instant::now());
                }
                Err(_) if admit == Admit::Probe => self.breakers.release(target.key()),
                Err(_) => {}
            }
            if !stream {
                provider_time += clock.elapsed();
            }
            let mut attempt = AttemptSpan {
                provider: target.provider.clone(),
                model: target.model.clone(),
                method: call.method(stream),
                streaming: stream,
                start_ns,
                end_ns: unix_nanos(),
                error: None,
                usage: None,
            };
            match result {
                Ok(Answer::Whole(mut answer, usage)) => {
                    attempt.usage = usage;
                    attempts.push(attempt);
                    let verdict = self.guard_answer(route, call, &mut answer, &mut checks);
                    let outcome = match verdict {
                        Ok(()) => Outcome::Served,
                        Err(_) => Outcome::Failed,
                    };
                    let used = usage.map(|_| attempts_used(&self.prices, &attempts));
                    self.account_call(route, context, Some(&target), used, outcome);
                    if let Some(hold) = hold {
                        self.settle(hold, used);
                    }
                    let mut record = self.record_of(route, call, body, context, started);
                    if let Some(record) = record.as_mut() {
                        record.attempts.clone_from(&attempts);
                    }
                    if let Err(violation) = verdict {
                        return Err(self.answer_blocked(route, record, &violation, checks));
                    }
                    note_served(route, &target, attempts.len(), usage);
                    if let (Some(key), Some(ttl)) = (cache_key, route.cache_ttl) {
                        self.cache
                            .put(key, &answer, &target.provider, &target.model, ttl);
                    }
                    if let Some(mut record) = record {
                        record.outputs = answer.clone();
                        record.end_ns = unix_nanos();
                        record.guardrails = checks;
                        self.trace(record);
                    }
                    return Ok(Served {
                        reply: Reply::Json(answer),
                        provider: target.provider.clone(),
                        model: target.model.clone(),
                        usage,
                        provider_time,
                        attempts,
                    });
                }
                Ok(Answer::Stream(resp, mode)) => {
                    attempts.push(attempt);
                    note_served(route, &target, attempts.len(), None);
                    let on_end = self.on_stream_end(
                        route, call, body, context, started, &attempts, hold, &target, checks,
                    );
                    let guard = self.stream_guard(route);
                    return Ok(Served {
                        reply: Reply::Stream(relay::relay(resp, mode, on_end, guard)),
                        provider: target.provider.clone(),
                        model: target.model.clone(),
                        usage: None,
                        provider_time,
                        attempts,
                    });
                }
                Err(e) => {
                    tracing::info!(endpoint = %route.name, provider = %target.provider,
                        model = %target.model, error = %e, "gateway call attempt failed");
                    attempt.error = Some(e.to_string());
                    attempts.push(attempt);
                    last = Some(e);
                }
            }
        }
        let last = last.unwrap_or_else(|| CallError::http(500, "The endpoint has no model."));
        let error = if route.falls_back() {
            CallError::http(
                last.status().unwrap_or(500),
                format!("All {tries} fallback attempts failed. Last error: {last}"),
            )
        } else {
            last
        };
        keel_core::audit::scope::note_detail(serde_json::json!({
            "decision": "failed",
            "endpoint": route.name,
            "attempts": attempts.len(),
        }));
        let used = attempts_used(&self.prices, &attempts);
        self.account_call(route, context, None, Some(used), Outcome::Failed);
        if let Some(hold) = hold {
            // Failed attempts used nothing, unless a provider says otherwise.
            self.settle(hold, Some(used));
        }
        if let Some(mut record) = self.record_of(route, call, body, context, started) {
            record.end_ns = unix_nanos();
            record.error = Some(error.to_string());
            record.attempts = attempts;
            record.guardrails = checks;
            self.trace(record);
        }
        Err(error)
    }

    /// A call answered from the cache: no provider, no limit, no cost; checked by the
    /// guardrails on answers as they are now; traced and audited as a hit.
    #[allow(clippy::too_many_arguments)]
    fn answer_from_cache(
        &self,
        route: &Route,
        call: Call,
        body: &Map<String, Value>,
        context: &CallContext,
        started: i64,
        hit: &cache::Cached,
        mut checks: Vec<guardrails::apply::Check>,
    ) -> Result<Served, CallError> {
        let mut answer = hit.answer.clone();
        if let Err(violation) = self.guard_answer(route, call, &mut answer, &mut checks) {
            self.account_call(route, context, None, None, Outcome::Failed);
            let record = self.record_of(route, call, body, context, started);
            return Err(self.answer_blocked(route, record, &violation, checks));
        }
        keel_core::audit::scope::note_detail(serde_json::json!({
            "decision": "cache_hit",
            "endpoint": route.name,
            "provider": hit.provider,
            "model": hit.model,
        }));
        let key = self.usage_key(
            &route.workspace,
            &route.endpoint_id,
            Some((&hit.provider, &hit.model)),
            context.username.as_deref(),
        );
        self.account(key, counts(None, Outcome::CacheHit));
        if let Some(mut record) = self.record_of(route, call, body, context, started) {
            record.outputs = answer.clone();
            record.end_ns = unix_nanos();
            record.cache_hit = true;
            record.guardrails = checks;
            self.trace(record);
        }
        Ok(Served {
            reply: Reply::Json(answer),
            provider: hit.provider.clone(),
            model: hit.model.clone(),
            usage: None,
            provider_time: Duration::ZERO,
            attempts: Vec::new(),
        })
    }

    /// What runs when a served stream ends: its trace written (with usage tracking) and its
    /// hold settled — at its cost when the stream reported its usage, else at its worst case.
    #[allow(clippy::too_many_arguments)]
    fn on_stream_end(
        &self,
        route: &Route,
        call: Call,
        body: &Map<String, Value>,
        context: &CallContext,
        started: i64,
        attempts: &[AttemptSpan],
        hold: Option<crate::limits::Hold>,
        target: &Target,
        checks: Vec<guardrails::apply::Check>,
    ) -> Option<relay::OnEnd> {
        let mut record = self.record_of(route, call, body, context, started);
        if let Some(record) = record.as_mut() {
            record.attempts = attempts.to_vec();
            record.guardrails = checks;
        }
        let mut spent = attempts.to_vec();
        let gateway = self.clone();
        let key = self.usage_key(
            &route.workspace,
            &route.endpoint_id,
            Some((&target.provider, &target.model)),
            context.username.as_deref(),
        );
        Some(Box::new(move |end: relay::StreamEnd| {
            let now = unix_nanos();
            if let Some(last) = spent.last_mut() {
                last.usage = end.usage;
            }
            let used = end.usage.map(|_| attempts_used(&gateway.prices, &spent));
            let outcome = if end.error.is_some() {
                Outcome::Failed
            } else {
                Outcome::Served
            };
            gateway.account(key, counts(used, outcome));
            if let Some(hold) = hold {
                gateway.settle(hold, used);
            }
            if let Some(mut record) = record {
                if let Some(last) = record.attempts.last_mut() {
                    last.end_ns = now;
                    last.usage = end.usage;
                    last.error.clone_from(&end.error);
                }
                record.end_ns = now;
                record.outputs = end.output;
                record.error = end.error;
                record.guardrails.extend(end.guardrails);
                gateway.trace(record);
            }
        }))
    }

    /// The start of a call's record, when its endpoint tracks usage and traces are written.
    fn record_of(
        &self,
        route: &Route,
        call: Call,
        body: &Map<String, Value>,
        context: &CallContext,
        start_ns: i64,
    ) -> Option<CallRecord> {
        self.tracer.as_ref()?;
        let experiment_id = route
            .experiment_id
            .clone()
            .filter(|_| route.usage_tracking)?;
        Some(CallRecord {
            experiment_id,
            endpoint_id: route.endpoint_id.clone(),
            endpoint_name: route.name.clone(),
            request_type: call.request_type(),
            context: context.clone(),
            inputs: Value::Object(body.clone()),
            outputs: Value::Null,
            start_ns,
            end_ns: start_ns,
            error: None,
            attempts: Vec::new(),
            cache_hit: false,
            guardrails: Vec::new(),
        })
    }

    fn trace(&self, record: CallRecord) {
        if let Some(tracer) = &self.tracer {
            tracer.record(record);
        }
    }

    /// One model's try: the body in its wire format, the upstream call, the answer.
    async fn attempt(
        &self,
        target: &Arc<Target>,
        call: Call,
        body: &Map<String, Value>,
        forwarded: &HeaderMap,
        stream: bool,
    ) -> Result<Answer, CallError> {
        if let Some((wire, path, route_path)) = call.passthrough() {
            if target.wire != wire {
                return Err(CallError::bad_request(format!(
                    "Unsupported passthrough endpoint '{route_path}' for provider '{}'.",
                    target.provider
                )));
            }
            let mut headers = forwarded.clone();
            for (name, value) in target.headers() {
                if let Some(name) = name {
                    headers.insert(name, value);
                }
            }
            let sent = match wire {
                Wire::OpenAi => openai::passthrough_body(target, body, stream),
                Wire::Anthropic => with_model_field(target, body),
                // Gemini names the model in the path; the body is sent as it came.
                Wire::Gemini => Value::Object(body.clone()).to_string().into_bytes(),
            };
            let url = match wire {
                Wire::Gemini => target.gemini_url(path, stream),
                _ => target.url(path),
            };
            if stream {
                let resp = self
                    .upstream
                    .open_stream(url, headers, sent, target.timeout)
                    .await?;
                return Ok(Answer::Stream(resp, relay::Mode::Raw(wire)));
            }
            let answer = self
                .upstream
                .post_json(url, headers, sent, target.timeout)
                .await?;
            let usage = usage::of_answer(wire, &answer);
            return Ok(Answer::Whole(answer, usage));
        }
        if body.contains_key("model") {
            return Err(CallError::http(
                422,
                "The parameter 'model' is not permitted to be passed. The route being queried \
                 already defines a model instance.",
            ));
        }
        match target.wire {
            Wire::Anthropic => return self.anthropic_chat(target, call, body, stream).await,
            Wire::Gemini => return self.gemini_call(target, call, body, stream).await,
            Wire::OpenAi => {}
        }
        let (path, sent) = match call {
            Call::UnifiedEmbeddings => {
                ("embeddings", openai::passthrough_body(target, body, false))
            }
            _ => ("chat/completions", openai::chat_body(target, body, stream)),
        };
        let url = target.url(path);
        let headers = target.headers();
        if stream {
            let resp = self
                .upstream
                .open_stream(url, headers, sent, target.timeout)
                .await?;
            let mode = relay::Mode::Unified {
                provider: target.provider.clone(),
            };
            return Ok(Answer::Stream(resp, mode));
        }
        let answer = self
            .upstream
            .post_json(url, headers, sent, target.timeout)
            .await?;
        let usage = usage::of_openai_answer(&answer);
        let reply = match call {
            Call::UnifiedEmbeddings => openai::embeddings_answer(&answer),
            _ => openai::chat_answer(&answer, &target.provider),
        };
        Ok(Answer::Whole(reply, usage))
    }

    /// A unified call to an Anthropic model, translated both ways.
    async fn anthropic_chat(
        &self,
        target: &Arc<Target>,
        call: Call,
        body: &Map<String, Value>,
        stream: bool,
    ) -> Result<Answer, CallError> {
        if call == Call::UnifiedEmbeddings {
            return Err(CallError::http(
                501,
                "The embeddings route is not implemented for Anthropic models.",
            ));
        }
        let sent = anthropic::request(target, body, stream)?;
        let url = target.url("messages");
        let created = self.now().div_euclid(1000);
        if stream {
            let resp = self
                .upstream
                .open_stream(url, target.headers(), sent, target.timeout)
                .await?;
            let translator = anthropic::StreamTranslator::new(created);
            return Ok(Answer::Stream(
                resp,
                relay::Mode::FromAnthropic(Box::new(translator)),
            ));
        }
        let message = self
            .upstream
            .post_json(url, target.headers(), sent, target.timeout)
            .await?;
        let usage = usage::of_anthropic_answer(&message);
        Ok(Answer::Whole(anthropic::answer(&message, created), usage))
    }
}

/// How a call ended, for the usage ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Served,
    Failed,
    CacheHit,
}

/// One call's line in the usage ledger.
fn counts(used: Option<Used>, outcome: Outcome) -> crate::ledger::UsageCounts {
    let used = used.unwrap_or(Used {
        cost_usd: 0.0,
        input_tokens: 0,
        output_tokens: 0,
    });
    let int = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    crate::ledger::UsageCounts {
        calls: 1,
        failures: i64::from(outcome == Outcome::Failed),
        cache_hits: i64::from(outcome == Outcome::CacheHit),
        input_tokens: int(used.input_tokens),
        output_tokens: int(used.output_tokens),
        cost_nanos: crate::limits::nanos(used.cost_usd),
    }
}

impl Gateway {
    /// Adds a call to the usage ledger: who served it (if any model did) and what it used.
    fn account_call(
        &self,
        route: &Route,
        context: &CallContext,
        served_by: Option<&Target>,
        used: Option<Used>,
        outcome: Outcome,
    ) {
        let key = self.usage_key(
            &route.workspace,
            &route.endpoint_id,
            served_by.map(|t| (t.provider.as_str(), t.model.as_str())),
            context.username.as_deref(),
        );
        self.account(key, counts(used, outcome));
    }
}

/// Puts the call's decision in its audit entry: the model that served it, after how many
/// tries, with how many tokens (a stream's are in its trace).
fn note_served(route: &Route, target: &Target, tries: usize, usage: Option<TokenUsage>) {
    let mut detail = serde_json::json!({
        "decision": if tries > 1 { "served_after_fallback" } else { "served" },
        "endpoint": route.name,
        "provider": target.provider,
        "model": target.model,
        "attempts": tries,
    });
    if let Some(u) = usage {
        detail["input_tokens"] = u.input_tokens.into();
        detail["output_tokens"] = u.output_tokens.into();
    }
    keel_core::audit::scope::note_detail(detail);
}

/// What `attempts` used: their tokens, and their cost at `prices` (models without a price
/// cost nothing).
fn attempts_used(prices: &crate::prices::PriceTable, attempts: &[AttemptSpan]) -> Used {
    let (input_tokens, output_tokens) =
        attempts
            .iter()
            .filter_map(|a| a.usage)
            .fold((0u64, 0u64), |(i, o), u| {
                (
                    i.saturating_add(u.input_tokens),
                    o.saturating_add(u.output_tokens),
                )
            });
    Used {
        cost_usd: record::attempts_cost(prices, attempts).map_or(0.0, |c| c.total_cost),
        input_tokens,
        output_tokens,
    }
}

impl Gateway {
    /// A unified call (chat or embeddings) to a Gemini model, translated both ways.
    async fn gemini_call(
        &self,
        target: &Arc<Target>,
        call: Call,
        body: &Map<String, Value>,
        stream: bool,
    ) -> Result<Answer, CallError> {
        let created = self.now().div_euclid(1000);
        if call == Call::UnifiedEmbeddings {
            let (action, sent) = gemini::embeddings_request(body, &target.model);
            let url = target.gemini_url(action, false);
            let sent = sent.to_string().into_bytes();
            let answer = self
                .upstream
                .post_json(url, target.headers(), sent, target.timeout)
                .await?;
            return Ok(Answer::Whole(
                gemini::embeddings_answer(&answer, &target.model),
                None,
            ));
        }
        let sent = gemini::request(body)?.to_string().into_bytes();
        if stream {
            let url = target.gemini_url("streamGenerateContent", true);
            let resp = self
                .upstream
                .open_stream(url, target.headers(), sent, target.timeout)
                .await?;
            let translator = gemini::StreamTranslator::new(&target.model, created);
            return Ok(Answer::Stream(
                resp,
                relay::Mode::FromGemini(Box::new(translator)),
            ));
        }
        let url = target.gemini_url("generateContent", false);
        let answer = self
            .upstream
            .post_json(url, target.headers(), sent, target.timeout)
            .await?;
        let usage = usage::of_gemini_answer(&answer);
        Ok(Answer::Whole(
            gemini::answer(&answer, &target.model, created),
            usage,
        ))
    }
}

/// What one model answered: whole (with its usage), or a stream to relay.
enum Answer {
    Whole(Value, Option<TokenUsage>),
    Stream(reqwest::Response, relay::Mode),
}

/// The wait before trying the next model after `failures` upstream failures in a row:
/// 25 ms, doubling, at most a second.
fn backoff(failures: u32) -> Duration {
    Duration::from_millis(25u64 << failures.saturating_sub(1).min(6)).min(Duration::from_secs(1))
}

/// Now, in nanoseconds since the Unix epoch.
pub(crate) fn unix_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// `body` with the target's model as its `model` (a passthrough in a format other than
/// OpenAI's).
fn with_model_field(target: &Target, body: &Map<String, Value>) -> Vec<u8> {
    let mut sent = body.clone();
    sent.insert("model".into(), Value::String(target.model.clone()));
    Value::Object(sent).to_string().into_bytes()
}

//! The AI gateway's call routes (`/gateway/...`): OpenAI-format chat through any endpoint
//! (`/gateway/mlflow/v1/chat/completions`, `model` = endpoint name), the endpoint list in
//! OpenAI's model-list format, an endpoint's own `/mlflow/invocations` (chat or embeddings),
//! and passthroughs in the providers' own formats (OpenAI's, Anthropic's, Gemini's). Answers and errors are shaped as the
//! reference's (`{"detail": ...}`); streams go out as server-sent events as they arrive.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use keel_gateway::invoke::unified::{self, Kind};
use keel_gateway::invoke::{Call, CallContext, CallError, CallerTrace, Reply, Route, Served};
use keel_gateway::prompts::{self, LinkedPrompt, Selector};
use serde_json::{Map, Value, json};

use crate::authz::Caller;
use crate::authz::locate::Located;
use crate::error::{shown_message, status_for};
use crate::state::AppState;
use crate::workspace::ActiveWorkspace;

/// The whole call's time, from the moment the route was matched (as the reference's).
pub const DURATION_HEADER: &str = "x-mlflow-gateway-duration-ms";
/// The part of it not spent waiting on providers (non-streamed calls that reached one).
pub const OVERHEAD_HEADER: &str = "x-mlflow-gateway-overhead-duration-ms";

/// Time a handler spent waiting on providers, handed to [`timed`] with its response.
#[derive(Debug, Clone, Copy)]
struct ProviderTime(Duration);

/// Adds the timing headers to every answer of a call route.
pub async fn timed(req: axum::extract::Request, next: Next) -> Response {
    let started = Instant::now();
    let mut resp = next.run(req).await;
    let total = started.elapsed();
    let provider = resp.extensions_mut().remove::<ProviderTime>();
    let headers = resp.headers_mut();
    headers.insert(DURATION_HEADER, HeaderValue::from(millis(total)));
    if let Some(ProviderTime(p)) = provider.filter(|p| !p.0.is_zero()) {
        headers.insert(
            OVERHEAD_HEADER,
            HeaderValue::from(millis(total.saturating_sub(p))),
        );
    }
    resp
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `{"detail": detail}` with `status`.
fn detail(status: StatusCode, detail: Value) -> Response {
    (status, axum::Json(json!({ "detail": detail }))).into_response()
}

/// A failed call as the reference answers it.
fn failure(e: CallError) -> Response {
    match e {
        CallError::Http { status, detail: d } => detail(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
            d,
        ),
        CallError::Keel(e) => {
            let status = status_for(e.code);
            let code = e.code.as_str();
            let message = shown_message(e);
            detail(status, json!({"error_code": code, "message": message}))
        }
    }
}

/// A served call: its JSON, or its stream as server-sent events.
fn served(served: Served) -> Response {
    let provider_time = ProviderTime(served.provider_time);
    let mut resp = match served.reply {
        Reply::Json(answer) => axum::Json(answer).into_response(),
        Reply::Stream(stream) => {
            let mut resp = Body::from_stream(stream).into_response();
            let headers = resp.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream; charset=utf-8"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            headers.insert(
                HeaderName::from_static("x-accel-buffering"),
                HeaderValue::from_static("no"),
            );
            resp
        }
    };
    resp.extensions_mut().insert(provider_time);
    resp
}

/// The request body as a JSON object, within the server's request size limit.
async fn json_body(s: &AppState, body: Body) -> Result<Map<String, Value>, CallError> {
    let limit = s.limits.max_json_body_bytes;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        CallError::http(
            413,
            format!("The request body is larger than the server's limit of {limit} bytes."),
        )
    })?;
    // Parsing is CPU work proportional to the body: a large one is parsed off the async workers.
    let parsed = if bytes.len() > 64 * 1024 {
        tokio::task::spawn_blocking(move || serde_json::from_slice::<Value>(&bytes))
            .await
            .map_err(|_| CallError::http(500, "The request body could not be parsed."))?
    } else {
        serde_json::from_slice::<Value>(&bytes)
    };
    match parsed {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(CallError::bad_request(
            "Invalid JSON payload: the body must be a JSON object",
        )),
        Err(e) => Err(CallError::bad_request(format!("Invalid JSON payload: {e}"))),
    }
}

/// Takes the endpoint name out of the body's `model`.
fn take_model(body: &mut Map<String, Value>) -> Result<String, CallError> {
    match body.remove("model") {
        Some(Value::String(name)) if !name.is_empty() => Ok(name),
        _ => Err(CallError::bad_request(
            "Missing required 'model' parameter in request body",
        )),
    }
}

/// Headers of the caller a passthrough sends on: not its credentials for Keel (nor
/// cookies), not the connection's own, not the encodings the gateway negotiates itself.
fn forwarded(headers: &HeaderMap) -> HeaderMap {
    const DROPPED: [&str; 19] = [
        "host",
        "content-length",
        "content-type",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "proxy-connection",
        "authorization",
        "x-api-key",
        "x-goog-api-key",
        "api-key",
        "cookie",
        "accept-encoding",
        "content-encoding",
        "x-mlflow-authorization",
    ];
    let mut out = HeaderMap::new();
    for (name, value) in headers {
        if !DROPPED.contains(&name.as_str()) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// Who is calling, for the call's trace (and the prompt version the call was rendered from).
fn context(caller: &Caller, headers: &HeaderMap, prompt: Option<LinkedPrompt>) -> CallContext {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let user = &caller.0.user;
    CallContext {
        caller: CallContext::caller_of(header("x-mlflow-gateway-caller"), header("user-agent")),
        username: Some(user.username.clone()),
        user_id: Some(user.id.to_string()),
        server_url: header("host").map(|h| h.chars().take(256).collect()),
        caller_trace: header("traceparent").and_then(CallerTrace::parse),
        prompt,
    }
}

/// A request to the gateway's call routes: the server, the caller's workspace and identity,
/// and the request's headers.
pub struct GatewayRequest {
    s: AppState,
    workspace: ActiveWorkspace,
    caller: Caller,
    /// The request's head (for its headers, and to authorize what the call reads).
    head: axum::http::request::Parts,
}

impl axum::extract::FromRequestParts<AppState> for GatewayRequest {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let workspace = ActiveWorkspace::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let caller = Caller::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            s: state.clone(),
            workspace,
            caller,
            head: parts.clone(),
        })
    }
}

impl crate::openapi::DocArg for GatewayRequest {}

impl GatewayRequest {
    /// The endpoint `name` of the caller's workspace (resolved before the payload is checked,
    /// as the reference does).
    async fn route(&self, name: &str) -> Result<Arc<Route>, CallError> {
        self.s.gateway.route(self.workspace.name(), name).await
    }

    /// Renders the registered prompt `body` names (if any) in front of its messages, once it is
    /// known the caller may read it; returns the version used.
    async fn render_prompt(
        &self,
        body: &mut Map<String, Value>,
    ) -> Result<Option<LinkedPrompt>, CallError> {
        let Some(request) = prompts::take_request(body)? else {
            return Ok(None);
        };
        let name = request.prompt.name;
        let registry = self.s.registry.in_workspace(self.workspace.name());
        // A prompt is a registered model tagged so, decided as its own routes decide it.
        let prompt = registry
            .get_registered_model(&name)
            .await
            .is_ok_and(|m| crate::authz::locate::is_prompt(&m.tags));
        let located = Located::Version {
            prompt,
            name: name.clone(),
        };
        let allowed = crate::authz::permits(
            &self.s,
            &self.caller.0,
            &self.workspace.0,
            "model_versions.read",
            keel_auth::ResourceKind::ModelVersion,
            &located,
            &self.head,
        )
        .await?;
        if !allowed {
            return Err(CallError::Keel(keel_core::Error::new(
                keel_core::ErrorCode::PermissionDenied,
                format!("Permission denied: the caller may not read prompt '{name}'."),
            )));
        }
        if !prompt {
            return Err(CallError::bad_request(format!(
                "'{name}' is a registered model, not a prompt."
            )));
        }
        let version = match &request.prompt.selector {
            Selector::Version(v) => registry.get_model_version(&name, v).await?,
            Selector::Alias(a) => registry.get_model_version_by_alias(&name, a).await?,
        };
        let tags: BTreeMap<String, String> = version
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect();
        let number = version.version.to_string();
        let template = prompts::template_of(&name, &tags)?;
        let rendered = prompts::render(&name, &number, &template, &request.variables)?;
        prompts::prepend(body, rendered);
        Ok(Some(LinkedPrompt {
            name,
            version: number,
        }))
    }

    async fn call(
        &self,
        route: &Route,
        kind: Call,
        body: &Map<String, Value>,
        forward: bool,
        prompt: Option<LinkedPrompt>,
    ) -> Result<Served, CallError> {
        let forwarded = if forward {
            forwarded(&self.head.headers)
        } else {
            HeaderMap::new()
        };
        let context = context(&self.caller, &self.head.headers, prompt);
        self.s
            .gateway
            .call(route, kind, body, &forwarded, &context)
            .await
    }
}

/// `POST /gateway/mlflow/v1/chat/completions`: OpenAI-format chat, `model` naming the
/// endpoint.
pub async fn chat_completions(request: GatewayRequest, body: Body) -> Response {
    let result = async {
        let mut body = json_body(&request.s, body).await?;
        let name = take_model(&mut body)?;
        let route = request.route(&name).await?;
        let prompt = request.render_prompt(&mut body).await?;
        unified::check_chat(&body)?;
        request
            .call(&route, Call::UnifiedChat, &body, false, prompt)
            .await
    }
    .await;
    result.map_or_else(failure, served)
}

/// `POST /gateway/{endpoint_name}/mlflow/invocations`: chat (`messages`) or embeddings
/// (`input`) through the endpoint in the path.
pub async fn invocations(
    request: GatewayRequest,
    Path(name): Path<String>,
    body: Body,
) -> Response {
    let result = async {
        let mut body = json_body(&request.s, body).await?;
        let route = request.route(&name).await?;
        let prompt = request.render_prompt(&mut body).await?;
        let kind = match Kind::of(&body)? {
            Kind::Chat => {
                unified::check_chat(&body)?;
                Call::UnifiedChat
            }
            Kind::Embeddings => {
                unified::check_embeddings(&body)?;
                Call::UnifiedEmbeddings
            }
        };
        request.call(&route, kind, &body, false, prompt).await
    }
    .await;
    result.map_or_else(failure, served)
}

/// A passthrough in a provider's own format, `model` naming the endpoint.
async fn passthrough(request: GatewayRequest, body: Body, kind: Call) -> Response {
    let result = async {
        let mut body = json_body(&request.s, body).await?;
        if kind == Call::OpenAiResponsesCompact && unified::wants_stream(&body) {
            return Err(CallError::bad_request(
                "stream=true is not supported on /responses/compact; compaction is a unary \
                 request.",
            ));
        }
        let name = take_model(&mut body)?;
        let route = request.route(&name).await?;
        if kind == Call::OpenAiEmbeddings {
            unified::check_embeddings(&body)?;
        }
        request.call(&route, kind, &body, true, None).await
    }
    .await;
    result.map_or_else(failure, served)
}

/// `POST /gateway/openai/v1/chat/completions`.
pub async fn openai_chat(request: GatewayRequest, body: Body) -> Response {
    passthrough(request, body, Call::OpenAiChat).await
}

/// `POST /gateway/openai/v1/embeddings`.
pub async fn openai_embeddings(request: GatewayRequest, body: Body) -> Response {
    passthrough(request, body, Call::OpenAiEmbeddings).await
}

/// `POST /gateway/openai/v1/responses`.
pub async fn openai_responses(request: GatewayRequest, body: Body) -> Response {
    passthrough(request, body, Call::OpenAiResponses).await
}

/// `POST /gateway/openai/v1/responses/compact` (never streamed).
pub async fn openai_responses_compact(request: GatewayRequest, body: Body) -> Response {
    passthrough(request, body, Call::OpenAiResponsesCompact).await
}

/// `POST /gateway/anthropic/v1/messages`.
pub async fn anthropic_messages(request: GatewayRequest, body: Body) -> Response {
    passthrough(request, body, Call::AnthropicMessages).await
}

/// `POST /gateway/gemini/v1beta/models/{endpoint}:generateContent` and
/// `...:streamGenerateContent` (always streamed): Gemini's own format, the endpoint in the
/// path.
pub async fn gemini_models(
    request: GatewayRequest,
    Path(endpoint_action): Path<String>,
    body: Body,
) -> Response {
    let result = async {
        let body = json_body(&request.s, body).await?;
        let (name, kind) = match endpoint_action.rsplit_once(':') {
            Some((name, "generateContent")) => (name, Call::GeminiGenerateContent),
            Some((name, "streamGenerateContent")) => (name, Call::GeminiStreamGenerateContent),
            _ => {
                return Err(CallError::http(
                    404,
                    format!(
                        "Unknown Gemini action in '{endpoint_action}'. Use                          '{{endpoint}}:generateContent' or '{{endpoint}}:streamGenerateContent'."
                    ),
                ));
            }
        };
        let route = request.route(name).await?;
        request.call(&route, kind, &body, true, None).await
    }
    .await;
    result.map_or_else(failure, served)
}

/// `GET /gateway/mlflow/v1/models`: the endpoints (those with a model), by name, in OpenAI's
/// model-list format.
pub async fn list_models(State(s): State<AppState>, workspace: ActiveWorkspace) -> Response {
    match s.gateway.list_endpoints(workspace.name(), None).await {
        Ok(endpoints) => {
            let data: Vec<Value> = endpoints
                .iter()
                .map(|e| {
                    json!({
                        "id": e.name,
                        "object": "model",
                        "created": e.created_at.div_euclid(1000),
                        "owned_by": "mlflow",
                    })
                })
                .collect();
            axum::Json(json!({"object": "list", "data": data})).into_response()
        }
        Err(e) => failure(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passthroughs_never_forward_the_callers_credentials_or_cookies() {
        let mut headers = HeaderMap::new();
        for (k, v) in [
            ("authorization", "Bearer keel-token"),
            ("cookie", "keel_session=1"),
            ("x-api-key", "k"),
            ("host", "keel"),
            ("anthropic-beta", "tools-2024"),
            ("user-agent", "sdk/1"),
        ] {
            headers.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        let out = forwarded(&headers);
        let names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(out.contains_key("anthropic-beta") && out.contains_key("user-agent"));
    }

    #[test]
    fn keel_errors_and_upstream_errors_keep_the_references_shapes() {
        let not_found = failure(CallError::Keel(keel_core::Error::new(
            keel_core::ErrorCode::ResourceDoesNotExist,
            "GatewayEndpoint not found (name='nope')",
        )));
        assert_eq!(not_found.status(), StatusCode::NOT_FOUND);
        let upstream = failure(CallError::http(429, "rate limited upstream"));
        assert_eq!(upstream.status(), StatusCode::TOO_MANY_REQUESTS);
    }
}

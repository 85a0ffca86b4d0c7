//! The request pipeline's identity-and-access step: every routed request is authenticated
//! (unless its action is public) and authorized by one Cedar decision per resource it names,
//! before its handler runs. Deny-by-default and fail-closed: a route whose action is not in
//! the catalogue, a resource that cannot be located, or any error while deciding is refused.
//!
//! The authenticated principal travels to handlers as the [`Caller`] extension; every
//! decision goes to [`record`], which hands denials to the audit log. Requests the audit log
//! records then run under its scope ([`crate::audit::run`]).

pub mod credentials;
pub mod locate;
pub mod searchable;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, RawPathParams, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use keel_auth::Action;
use keel_auth::policy::Decision;
use keel_auth::service::{AuthFailure, Principal};
use keel_core::{Error, ErrorCode};

use crate::audit::{self, BodyDigest};
use crate::connections::ClientAddr;
use crate::error::ApiError;
use crate::routes::RouteMeta;
use crate::state::AppState;
use crate::workspace::ActiveWorkspace;
use locate::{Ids, Located};

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub Arc<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError(Error::new(ErrorCode::Unauthenticated, "Not authenticated.")))
    }
}

/// The middleware (layered on every route, inside the layer that attaches its [`RouteMeta`]).
pub async fn enforce(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(meta) = req.extensions().get::<RouteMeta>().copied() else {
        return forbidden();
    };
    let Some(action) = keel_auth::actions::find(meta.action) else {
        tracing::error!(
            action = meta.action,
            "a route declares an action outside the catalogue"
        );
        return forbidden();
    };
    let trail = state
        .audit
        .as_ref()
        .filter(|t| t.records(action, meta.resource));
    if action.is_public() {
        let (mut parts, body) = req.into_parts();
        parts
            .extensions
            .insert(ActiveWorkspace(state.workspace_cache.default_workspace()));
        return match trail {
            None => next.run(Request::from_parts(parts, body)).await,
            Some(trail) => {
                let pending = audit::Pending {
                    action,
                    kind: meta.resource,
                    resource_id: None,
                    workspace: None,
                    actor: keel_core::audit::Actor::anonymous(),
                };
                audit::run(trail, pending, parts, body, BodyDigest::Streamed, next).await
            }
        };
    }
    let ajax = req.uri().path().starts_with("/ajax-api/");
    let gateway_call = action.name == "gateway.invoke";
    let (parts, body) = req.into_parts();
    let presented = match credentials::presented(&parts.headers, gateway_call) {
        Ok(p) => p,
        Err(reason) => {
            failed_authentication(
                &state,
                action,
                meta,
                None,
                ErrorCode::Unauthenticated,
                &parts,
            )
            .await;
            return unauthenticated(reason, ajax);
        }
    };
    let client = parts.extensions.get::<ClientAddr>().map(|c| c.0.ip());
    let principal = match state
        .auth
        .authenticate(presented.as_credentials(), client)
        .await
    {
        Ok(p) => Arc::new(p),
        Err(AuthFailure::Unauthenticated(reason)) => {
            let code = ErrorCode::Unauthenticated;
            failed_authentication(&state, action, meta, Some(&presented), code, &parts).await;
            return unauthenticated(&reason, ajax);
        }
        Err(AuthFailure::Throttled { retry_after }) => {
            let code = ErrorCode::RequestLimitExceeded;
            failed_authentication(&state, action, meta, Some(&presented), code, &parts).await;
            return throttled(retry_after);
        }
        Err(AuthFailure::Store(e)) => return ApiError(e).into_response(),
    };
    drop(presented);
    // A request refused from here on is a failed attempt the audit log records (denials have
    // entries of their own).
    let refuse =
        async |parts: &axum::http::request::Parts, ids: Option<&Ids>, response: Response| {
            if let Some(trail) = trail {
                let pending = audit::Pending {
                    action,
                    kind: meta.resource,
                    resource_id: ids.and_then(|ids| locate::subject(meta.locate, ids, |_| None)),
                    workspace: parts
                        .extensions
                        .get::<ActiveWorkspace>()
                        .map(|w| w.0.name.clone()),
                    actor: audit::actor_of(&principal),
                };
                audit::refused(trail, pending, parts, audit::error_code_of(&response)).await;
            }
            response
        };
    // As the reference, the feature probe answers whatever the header says.
    let workspace = if action.name == "server.info" {
        Ok(state.workspace_cache.default_workspace())
    } else {
        crate::workspace::resolve(&state, &parts.headers).await
    };
    let workspace = match workspace {
        Ok(w) => w,
        Err(e) => return refuse(&parts, None, ApiError(e).into_response()).await,
    };
    let mut parts = parts;
    parts.extensions.insert(Caller(principal.clone()));
    parts.extensions.insert(ActiveWorkspace(workspace.clone()));
    // Administrators may do everything unless an operator's policy says otherwise: without
    // such policies (and with one workspace) their decision needs no resource, so nothing is
    // parsed or looked up (unless the request is audited: its entry names the resource).
    let fast = principal.user.is_admin
        && !state.auth.engine().has_operator_policies()
        && !state.workspaces.enabled();
    let read = if fast && trail.is_none() {
        RequestIds::unread(body)
    } else {
        // An audited request's entry names its resource, so its body is read for IDs even
        // when authorization needs none (audit_reads_body covers every reads_body route).
        let reads = if trail.is_some() {
            locate::audit_reads_body(meta.locate)
        } else {
            locate::reads_body(meta.locate)
        };
        match RequestIds::read(&state, reads, &parts, body).await {
            Ok(read) => read,
            Err(e) => return refuse(&parts, None, ApiError(e).into_response()).await,
        }
    };
    let params = path_params(&state, &mut parts).await;
    let path_param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let located = if fast {
        vec![Located::Workspace { creates: None }]
    } else {
        match locate::locate(
            &state,
            meta.locate,
            &workspace.name,
            &parts,
            path_param,
            &read.ids,
        )
        .await
        {
            Ok(found) => found,
            Err(e) => return refuse(&parts, Some(&read.ids), ApiError(e).into_response()).await,
        }
    };
    if state.workspaces.enabled() {
        for l in &located {
            if let Some(missing) = crate::workspace::outside(&state, &workspace, l).await {
                // Only administrators learn that it exists elsewhere.
                let response = if principal.user.is_admin {
                    ApiError(missing).into_response()
                } else {
                    forbidden()
                };
                return refuse(&parts, Some(&read.ids), response).await;
            }
        }
    }
    let located = if located.is_empty() {
        vec![Located::Workspace { creates: None }]
    } else {
        located
    };
    for l in &located {
        match decide(
            &state,
            &principal,
            action,
            meta.resource,
            l,
            &workspace.name,
            &parts,
        )
        .await
        {
            Ok(true) => {}
            Ok(false) => return forbidden(),
            Err(e) => return refuse(&parts, Some(&read.ids), ApiError(e).into_response()).await,
        }
    }
    match trail {
        None => next.run(Request::from_parts(parts, read.body)).await,
        Some(trail) => {
            let pending = audit::Pending {
                action,
                kind: meta.resource,
                resource_id: locate::subject(meta.locate, &read.ids, path_param),
                workspace: Some(workspace.name.clone()),
                actor: audit::actor_of(&principal),
            };
            audit::run(trail, pending, parts, read.body, read.digest, next).await
        }
    }
}

/// The decision [`enforce`] makes for a route's resource, for a handler that serves several
/// objects in one request and authorizes each itself (GraphQL): whether the caller may do
/// `action` on `located`, in the request's workspace. A resource in another workspace is not
/// permitted; denials are recorded as the middleware records them; a failure to decide is an
/// error (fail closed).
pub(crate) async fn permits(
    state: &AppState,
    principal: &Principal,
    workspace: &keel_core::workspaces::Workspace,
    action: &'static str,
    kind: keel_auth::ResourceKind,
    located: &Located,
    parts: &axum::http::request::Parts,
) -> Result<bool, Error> {
    let action = keel_auth::actions::find(action)
        .ok_or_else(|| Error::internal(format!("{action} is not in the action catalogue")))?;
    if state.workspaces.enabled()
        && crate::workspace::outside(state, workspace, located)
            .await
            .is_some()
    {
        return Ok(false);
    }
    decide(
        state,
        principal,
        action,
        kind,
        located,
        &workspace.name,
        parts,
    )
    .await
}

/// One Cedar decision on a located resource, recorded; a failure to decide is an error.
async fn decide(
    state: &AppState,
    principal: &Principal,
    action: &Action,
    kind: keel_auth::ResourceKind,
    located: &Located,
    workspace: &str,
    parts: &axum::http::request::Parts,
) -> Result<bool, Error> {
    let resource = located.resource(kind, workspace);
    let decision = state
        .auth
        .authorize(principal, action, located.target(), &resource, workspace)
        .await
        .map_err(|e| {
            tracing::error!(action = action.name, error = %e, "authorization failed; denying");
            Error::unavailable("Authorization could not be decided; retry later.")
        })?;
    record(
        state, principal, action, &resource, &decision, workspace, parts,
    )
    .await;
    Ok(decision.allowed)
}

/// Records credentials that did not authenticate, naming the account a password was for.
async fn failed_authentication(
    state: &AppState,
    action: &Action,
    meta: RouteMeta,
    presented: Option<&credentials::Presented>,
    code: ErrorCode,
    parts: &axum::http::request::Parts,
) {
    let Some(trail) = &state.audit else {
        return;
    };
    let name = match presented {
        Some(credentials::Presented::Password { username, .. }) => Some(username.as_str()),
        _ => None,
    };
    audit::authentication_failed(trail, action, meta.resource, name, code, parts).await;
}

/// The request's path parameters.
async fn path_params(
    state: &AppState,
    parts: &mut axum::http::request::Parts,
) -> Vec<(String, String)> {
    RawPathParams::from_request_parts(parts, state)
        .await
        .ok()
        .map(|p| {
            p.iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
}

/// The IDs a request names and its body (handed on; buffered when it was read for IDs).
struct RequestIds {
    ids: Ids,
    body: Body,
    digest: BodyDigest,
}

impl RequestIds {
    fn unread(body: Body) -> Self {
        Self {
            ids: Ids::default(),
            body,
            digest: BodyDigest::Streamed,
        }
    }

    /// Reads the IDs from the query string (GET, or a body not to be read) or the JSON body
    /// (buffered, then handed on).
    async fn read(
        state: &AppState,
        reads_body: bool,
        parts: &axum::http::request::Parts,
        body: Body,
    ) -> Result<Self, Error> {
        let query = || Ids::from_query(parts.uri.query().unwrap_or(""));
        if parts.method == Method::GET || parts.method == Method::HEAD || !reads_body {
            return Ok(Self {
                ids: query()?,
                body,
                digest: BodyDigest::Streamed,
            });
        }
        let limit = state.limits.max_json_body_bytes;
        let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
            Error::invalid(format!(
                "Request body is too large or could not be read; the limit is {limit} bytes."
            ))
        })?;
        let ids = if bytes.len() > 64 * 1024 {
            let b = bytes.clone();
            tokio::task::spawn_blocking(move || Ids::from_body(&b))
                .await
                .map_err(|_| Error::internal("The request body could not be parsed."))??
        } else {
            Ids::from_body(&bytes)?
        };
        let digest = BodyDigest::Known(audit::body::digest(&bytes));
        Ok(Self {
            ids,
            body: Body::from(bytes),
            digest,
        })
    }
}

/// Every decision, in one place: to the log, and denials to the audit log.
pub async fn record(
    state: &AppState,
    principal: &Principal,
    action: &Action,
    resource: &keel_auth::policy::PolicyResource,
    decision: &Decision,
    workspace: &str,
    parts: &axum::http::request::Parts,
) {
    if decision.allowed {
        tracing::debug!(
            target: "keel::authz",
            user = %principal.user.username,
            action = action.name,
            resource_kind = resource.kind.cedar_type(),
            resource = %resource.id,
            policies = ?decision.policy_ids,
            "allowed"
        );
        return;
    }
    tracing::info!(
        target: "keel::authz",
        user = %principal.user.username,
        action = action.name,
        resource_kind = resource.kind.cedar_type(),
        resource = %resource.id,
        policies = ?decision.policy_ids,
        errors = ?decision.errors,
        "denied"
    );
    if let Some(trail) = &state.audit {
        audit::denied(trail, principal, action, resource, workspace, parts).await;
    }
}

fn forbidden() -> Response {
    ApiError(Error::new(ErrorCode::PermissionDenied, "Permission denied")).into_response()
}

/// A 401. The Basic challenge is left off the web UI's Ajax calls, so a browser does not pop
/// its own login dialog over Keel's login page.
pub(crate) fn unauthenticated(reason: &str, ajax: bool) -> Response {
    let mut response = ApiError(Error::new(ErrorCode::Unauthenticated, reason)).into_response();
    if !ajax {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"mlflow\""),
        );
    }
    response
}

pub(crate) fn throttled(retry_after: std::time::Duration) -> Response {
    let secs = retry_after.as_secs().max(1);
    let mut response = ApiError(Error::new(
        ErrorCode::RequestLimitExceeded,
        format!("Too many failed logins; retry in {secs} seconds."),
    ))
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

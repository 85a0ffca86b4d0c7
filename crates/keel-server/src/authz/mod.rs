//! The request pipeline's identity-and-access step: every routed request is authenticated
//! (unless its action is public) and authorized by one Cedar decision per resource it names,
//! before its handler runs. Deny-by-default and fail-closed: a route whose action is not in
//! the catalogue, a resource that cannot be located, or any error while deciding is refused.
//!
//! The authenticated principal travels to handlers as the [`Caller`] extension; every
//! decision goes to [`record`], the one place the audit log will take it from.

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
    if action.is_public() {
        let mut req = req;
        req.extensions_mut()
            .insert(ActiveWorkspace(state.workspace_cache.default_workspace()));
        return next.run(req).await;
    }
    let ajax = req.uri().path().starts_with("/ajax-api/");
    let presented = match credentials::presented(req.headers()) {
        Ok(p) => p,
        Err(reason) => return unauthenticated(reason, ajax),
    };
    let client = req.extensions().get::<ClientAddr>().map(|c| c.0.ip());
    let principal = match state
        .auth
        .authenticate(presented.as_credentials(), client)
        .await
    {
        Ok(p) => Arc::new(p),
        Err(AuthFailure::Unauthenticated(reason)) => return unauthenticated(&reason, ajax),
        Err(AuthFailure::Throttled { retry_after }) => return throttled(retry_after),
        Err(AuthFailure::Store(e)) => return ApiError(e).into_response(),
    };
    // As the reference, the feature probe answers whatever the header says.
    let workspace = if action.name == "server.info" {
        Ok(state.workspace_cache.default_workspace())
    } else {
        crate::workspace::resolve(&state, req.headers()).await
    };
    let workspace = match workspace {
        Ok(w) => w,
        Err(e) => return ApiError(e).into_response(),
    };
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(Caller(principal.clone()));
    parts.extensions.insert(ActiveWorkspace(workspace.clone()));
    // Administrators may do everything unless an operator's policy says otherwise: without
    // such policies (and with one workspace) their decision needs no resource, so nothing is
    // parsed or looked up.
    let fast = principal.user.is_admin
        && !state.auth.engine().has_operator_policies()
        && !state.workspaces.enabled();
    let (located, body) = if fast {
        (vec![Located::Workspace { creates: None }], body)
    } else {
        match locate_request(&state, meta.locate, &workspace.name, &mut parts, body).await {
            Ok(found) => found,
            Err(e) => return ApiError(e).into_response(),
        }
    };
    if state.workspaces.enabled() {
        for l in &located {
            if let Some(missing) = crate::workspace::outside(&state, &workspace, l).await {
                // Only administrators learn that it exists elsewhere.
                return if principal.user.is_admin {
                    ApiError(missing).into_response()
                } else {
                    forbidden()
                };
            }
        }
    }
    let located = if located.is_empty() {
        vec![Located::Workspace { creates: None }]
    } else {
        located
    };
    for l in &located {
        let resource = l.resource(meta.resource, &workspace.name);
        let decision = match state
            .auth
            .authorize(&principal, action, l.target(), &resource, &workspace.name)
            .await
        {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(action = action.name, error = %e, "authorization failed; denying");
                return ApiError(Error::unavailable(
                    "Authorization could not be decided; retry later.",
                ))
                .into_response();
            }
        };
        record(&principal, action, &resource, &decision);
        if !decision.allowed {
            return forbidden();
        }
    }
    next.run(Request::from_parts(parts, body)).await
}

/// Reads the IDs the route's locator needs (buffering a JSON body, which is handed on) and
/// resolves them.
async fn locate_request(
    state: &AppState,
    how: locate::Locate,
    workspace: &str,
    parts: &mut axum::http::request::Parts,
    body: Body,
) -> Result<(Vec<Located>, Body), Error> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .ok()
        .map(|p| {
            p.iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let path_param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let (ids, body) = if parts.method == Method::GET || parts.method == Method::HEAD {
        (Ids::from_query(parts.uri.query().unwrap_or(""))?, body)
    } else if locate::reads_body(how) {
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
        (ids, Body::from(bytes))
    } else {
        (Ids::from_query(parts.uri.query().unwrap_or(""))?, body)
    };
    let located = locate::locate(state, how, workspace, parts, path_param, &ids).await?;
    Ok((located, body))
}

/// Every decision, in one place (the audit log takes them from here).
pub fn record(
    principal: &Principal,
    action: &Action,
    resource: &keel_auth::policy::PolicyResource,
    decision: &Decision,
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
    } else {
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

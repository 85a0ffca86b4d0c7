//! The audit step of the request pipeline: each request that changes state (and each read of
//! a kind the operator chose) runs under an audit scope, so its entry commits in the same
//! transaction as its write; what no write committed — a failure, a change outside the
//! database — is recorded right after, with the request's outcome. Denials and failed
//! authentications are recorded as they happen.

pub mod body;
pub mod outlets;

use axum::body::Body;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use keel_auth::policy::PolicyResource;
use keel_auth::service::{Method as AuthMethod, Principal};
use keel_auth::{Action, ResourceKind};
use keel_core::ErrorCode;
use keel_core::audit::scope::{self, Scope};
use keel_core::audit::{Actor, AuditLog, AuditRecord, EventKind, Outcome, RequestFacts, Resource};
use keel_core::clock::{Clock, SystemClock};

use crate::connections::ClientAddr;

/// Longest request ID, user agent and path kept in an entry (longer ones are cut).
const MAX_REQUEST_ID: usize = 128;
const MAX_USER_AGENT: usize = 512;
const MAX_PATH: usize = 2048;
const MAX_RESOURCE_ID: usize = 1024;
/// The request ID header: taken from the client when usable, always sent back.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The audit log as the request pipeline uses it.
#[derive(Debug, Clone)]
pub struct AuditTrail {
    pub log: AuditLog,
    /// Resource kinds whose reads are recorded too.
    reads: Vec<ResourceKind>,
}

impl AuditTrail {
    pub fn new(log: AuditLog, reads: Vec<ResourceKind>) -> Self {
        Self { log, reads }
    }

    /// Whether requests of `action` on `kind` are recorded.
    pub fn records(&self, action: &Action, kind: ResourceKind) -> bool {
        !action.only_reads() || self.reads.contains(&kind)
    }
}

/// Who a principal is, for an entry.
pub fn actor_of(principal: &Principal) -> Actor {
    let kind = match principal.method {
        AuthMethod::LocalAdministrator => "local_administrator",
        _ => principal.user.kind.as_str(),
    };
    Actor {
        id: (principal.method != AuthMethod::LocalAdministrator)
            .then(|| principal.user.id.to_string()),
        kind,
        name: principal.user.username.clone(),
    }
}

/// The request's facts for an entry (the body's digest is added once it is read).
pub fn request_facts(parts: &Parts) -> RequestFacts {
    let header = |name: &str, max: usize| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| cut(v, max))
    };
    let id = header(REQUEST_ID_HEADER, MAX_REQUEST_ID)
        .filter(|id| {
            !id.is_empty()
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .unwrap_or_else(new_request_id);
    RequestFacts {
        body_sha256: None,
        client: parts
            .extensions
            .get::<ClientAddr>()
            .map(|c| c.0.ip().to_string()),
        id,
        method: parts.method.as_str().to_owned(),
        path: cut(parts.uri.path(), MAX_PATH),
        user_agent: header("user-agent", MAX_USER_AGENT),
    }
}

/// A request ID unique to this process's lifetime and across processes: a random prefix drawn
/// once per process and a counter (no system call per request).
fn new_request_id() -> String {
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| keel_core::names::new_uuid()[..16].to_owned());
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}-{n:x}")
}

/// What a request's entry says before it runs.
pub struct Pending<'a> {
    pub action: &'a Action,
    pub kind: ResourceKind,
    pub resource_id: Option<String>,
    pub workspace: Option<String>,
    pub actor: Actor,
}

impl Pending<'_> {
    fn record(self, event: EventKind, outcome: Outcome, request: RequestFacts) -> AuditRecord {
        let mut record = AuditRecord::new(
            event,
            SystemClock.now_millis(),
            self.actor,
            self.action.name,
            Resource {
                id: self.resource_id.map(|id| cut(&id, MAX_RESOURCE_ID)),
                kind: self.kind.cedar_type().to_owned(),
            },
            outcome,
        );
        record.request = Some(request);
        record.workspace = self.workspace;
        record
    }
}

/// The request body's digest: known (it was buffered), or to be taken as it streams.
#[derive(Debug)]
pub enum BodyDigest {
    Known(Option<String>),
    Streamed,
}

/// Runs the rest of the pipeline for a recorded request.
pub async fn run(
    trail: &AuditTrail,
    pending: Pending<'_>,
    parts: Parts,
    body: Body,
    digest: BodyDigest,
    next: Next,
) -> Response {
    let mut request = request_facts(&parts);
    let request_id = request.id.clone();
    let streamed = match digest {
        BodyDigest::Known(d) => {
            request.body_sha256 = d;
            false
        }
        BodyDigest::Streamed => true,
    };
    let audit_scope = Scope::new(pending.record(EventKind::Request, Outcome::Failure, request));
    let body = if streamed {
        body::HashingBody::wrap(body, audit_scope.clone())
    } else {
        body
    };
    let req = axum::extract::Request::from_parts(parts, body);
    let mut response = scope::run(audit_scope.clone(), next.run(req)).await;
    let failed = !response.status().is_success() && !response.status().is_redirection();
    if failed || !audit_scope.committed() {
        let mut record = audit_scope.record();
        if failed {
            record.outcome = Outcome::Failure;
            record.error_code = Some(error_code_of(&response));
        } else {
            record.outcome = Outcome::Success;
        }
        if let Err(e) = trail.log.append(&[record]).await {
            tracing::error!(error = %e, request_id = %request_id, "cannot record an audit entry");
        }
    }
    if let Ok(v) = axum::http::HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    response
}

/// Records a request refused before its handler ran (a bad ID, a resource of another
/// workspace, an undecidable authorization): a failed attempt.
pub async fn refused(trail: &AuditTrail, pending: Pending<'_>, parts: &Parts, error_code: String) {
    let mut record = pending.record(EventKind::Request, Outcome::Failure, request_facts(parts));
    record.error_code = Some(error_code);
    append(trail, record).await;
}

/// The MLflow error code a failed response carries (`HTTP_<status>` when it has none).
pub fn error_code_of(response: &Response) -> String {
    response.extensions().get::<ErrorCode>().map_or_else(
        || status_code_name(response.status()),
        |c| c.as_str().to_owned(),
    )
}

/// Records a denied authorization.
pub async fn denied(
    trail: &AuditTrail,
    principal: &Principal,
    action: &Action,
    resource: &PolicyResource,
    workspace: &str,
    parts: &Parts,
) {
    let pending = Pending {
        action,
        kind: resource.kind,
        resource_id: Some(resource.id.clone()),
        workspace: Some(workspace.to_owned()),
        actor: actor_of(principal),
    };
    let mut record = pending.record(EventKind::Denial, Outcome::Denied, request_facts(parts));
    record.error_code = Some(ErrorCode::PermissionDenied.as_str().to_owned());
    append(trail, record).await;
}

/// Records credentials that did not authenticate (or were throttled).
pub async fn authentication_failed(
    trail: &AuditTrail,
    action: &Action,
    kind: ResourceKind,
    presented_name: Option<&str>,
    code: ErrorCode,
    parts: &Parts,
) {
    let pending = Pending {
        action,
        kind,
        resource_id: None,
        workspace: None,
        actor: Actor {
            id: None,
            kind: "anonymous",
            name: presented_name
                .map(|n| cut(n, MAX_REQUEST_ID))
                .unwrap_or_default(),
        },
    };
    let mut record = pending.record(
        EventKind::Authentication,
        Outcome::Denied,
        request_facts(parts),
    );
    record.error_code = Some(code.as_str().to_owned());
    append(trail, record).await;
}

async fn append(trail: &AuditTrail, record: AuditRecord) {
    if let Err(e) = trail.log.append(&[record]).await {
        tracing::error!(error = %e, "cannot record an audit entry");
    }
}

/// An error code for a failed response that carries none (e.g. a 404 of the router).
fn status_code_name(status: axum::http::StatusCode) -> String {
    format!("HTTP_{}", status.as_u16())
}

/// `s` cut to at most `max` bytes on a character boundary.
fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

//! The web UI's sign-in: `auth/login` checks a username and password (throttled like every
//! password check) and starts a session held in an HttpOnly, SameSite=Strict cookie (Secure
//! over HTTPS); `auth/oidc/login` and `auth/oidc/callback` do the same through single sign-on;
//! `auth/logout` ends it; `auth/session` says who is signed in and how, `auth/options` how one
//! may sign in.

use std::net::IpAddr;

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use keel_auth::service::{AuthFailure, Method, Session};
use serde::{Deserialize, Serialize};

use crate::authz::Caller;
use crate::authz::credentials::{SESSION_COOKIE, cookie_value, session_cookie};
use crate::connections::{ClientAddr, ServedOverTls};
use crate::error::{ApiError, ApiResult};
use crate::extract::MlflowRequest;
use crate::state::AppState;
use crate::wire::auth::UserOut;

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct LoginIn {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct SessionOut {
    user: UserOut,
    /// How the caller is signed in: `session`, `password`, `token`, `oidc`, or
    /// `local_administrator` (no account exists yet).
    method: &'static str,
    /// When a session ends (milliseconds since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

/// Where a request comes from: the client's address and whether the page is served securely
/// (over Keel's own TLS, or a proxy in front says `X-Forwarded-Proto: https`; a forged header
/// only makes the cookie stricter).
pub struct Origin {
    client: Option<IpAddr>,
    secure: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let forwarded_https = parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
        Ok(Self {
            client: parts.extensions.get::<ClientAddr>().map(|c| c.0.ip()),
            secure: forwarded_https || parts.extensions.get::<ServedOverTls>().is_some(),
        })
    }
}

pub async fn login(
    State(s): State<AppState>,
    origin: Origin,
    req: MlflowRequest<LoginIn>,
) -> Response {
    let m = req.message;
    let (Some(username), Some(password)) = (m.username.as_deref(), m.password.as_deref()) else {
        return ApiError(keel_core::Error::missing_parameter("username and password"))
            .into_response();
    };
    // The sign-in's audit entry names the account it is for.
    keel_core::audit::scope::note_actor(keel_core::audit::Actor {
        id: None,
        kind: "user",
        name: username.chars().take(256).collect(),
    });
    match s.auth.login(username, password, origin.client).await {
        Ok((principal, session)) => {
            let out = SessionOut {
                user: (&principal.user).into(),
                method: "session",
                expires_at: Some(session.expires_at),
            };
            with_cookies(
                Json(out).into_response(),
                &[session_cookie_for(&session, &origin, &s)],
            )
        }
        Err(AuthFailure::Unauthenticated(reason)) => crate::authz::unauthenticated(&reason, true),
        Err(AuthFailure::Throttled { retry_after }) => crate::authz::throttled(retry_after),
        Err(AuthFailure::Store(e)) => ApiError(e).into_response(),
    }
}

/// Ends the session of the cookie sent, if any, and clears the cookie; answers `{}` either way
/// (signing out twice, or with an expired session, is not an error).
pub async fn logout(
    State(s): State<AppState>,
    origin: Origin,
    headers: axum::http::HeaderMap,
    // No parameters; a body, if sent, must still be a JSON object.
    _req: MlflowRequest<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult<Response> {
    if let Some(text) = session_cookie(&headers) {
        s.auth.end_session(text).await?;
    }
    let cleared = Cookie::session(&origin, &s).expire();
    Ok(with_cookies(super::empty().into_response(), &[cleared]))
}

pub async fn current(caller: Caller) -> Json<SessionOut> {
    let principal = &caller.0;
    let method = match &principal.method {
        Method::LocalAdministrator => "local_administrator",
        Method::Password => "password",
        Method::Token { .. } => "token",
        Method::Oidc => "oidc",
        Method::Session { .. } => "session",
    };
    Json(SessionOut {
        user: (&principal.user).into(),
        method,
        expires_at: None,
    })
}

/// A `Set-Cookie` value: HttpOnly always, Secure when the page is served securely.
struct Cookie {
    name: &'static str,
    value: String,
    path: String,
    same_site: &'static str,
    max_age: u64,
    secure: bool,
}

impl Cookie {
    /// The session cookie (its value and lifetime still to set), for every path the server
    /// serves (`/`, or its `--static-prefix`).
    fn session(origin: &Origin, s: &AppState) -> Self {
        Self {
            name: SESSION_COOKIE,
            value: String::new(),
            path: if s.static_prefix.is_empty() {
                "/".to_owned()
            } else {
                s.static_prefix.clone()
            },
            same_site: "Strict",
            max_age: 0,
            secure: origin.secure,
        }
    }

    /// The cookie of a single sign-on in progress: sent only to the callback, and `Lax`, since
    /// the browser comes back from the identity provider by a cross-site redirect.
    fn sso(origin: &Origin, s: &AppState) -> Self {
        Self {
            name: SSO_COOKIE,
            path: s.public_path(SSO_CALLBACK_PATH),
            same_site: "Lax",
            ..Self::session(origin, s)
        }
    }

    fn with(self, value: String, max_age: u64) -> Self {
        Self {
            value,
            max_age,
            ..self
        }
    }

    /// This cookie, cleared in the browser.
    fn expire(self) -> Self {
        self.with(String::new(), 0)
    }

    fn header(&self) -> String {
        format!(
            "{}={}; Path={}; HttpOnly; SameSite={}; Max-Age={}{}",
            self.name,
            self.value,
            self.path,
            self.same_site,
            self.max_age,
            if self.secure { "; Secure" } else { "" }
        )
    }
}

fn session_cookie_for(session: &Session, origin: &Origin, s: &AppState) -> Cookie {
    let max_age = s.auth.settings().session_ttl.as_secs();
    Cookie::session(origin, s).with(session.text.clone(), max_age)
}

/// `response` with `cookies` set, never cached by the browser or a proxy.
fn with_cookies(mut response: Response, cookies: &[Cookie]) -> Response {
    for cookie in cookies {
        if let Ok(v) = HeaderValue::from_str(&cookie.header()) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The cookie remembering a single sign-on in progress.
const SSO_COOKIE: &str = "keel_sso";
/// Where the identity provider sends the browser back (under `/api/`, as registered there).
const SSO_CALLBACK_PATH: &str = "/api/3.0/keel/auth/oidc/callback";

#[derive(Serialize, schemars::JsonSchema)]
pub struct SignInOptionsOut {
    /// Whether the page offers single sign-on (OpenID Connect).
    sso: bool,
}

/// How one may sign in (public: the sign-in page asks before anyone is signed in).
pub async fn options(State(s): State<AppState>) -> Json<SignInOptionsOut> {
    Json(SignInOptionsOut {
        sso: s.auth.sso().is_some(),
    })
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct SsoLoginIn {
    /// The UI route to show once signed in (`#/...`).
    #[serde(default)]
    return_to: Option<String>,
}

/// Sends the browser to the identity provider, remembering the sign-in in a cookie.
pub async fn sso_login(
    State(s): State<AppState>,
    origin: Origin,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    req: MlflowRequest<SsoLoginIn>,
) -> ApiResult<Response> {
    let sso = s.auth.sso().ok_or_else(sso_not_configured)?;
    let redirect_uri = callback_url(&s, sso, &uri, &headers, origin.secure);
    let return_to = req.message.return_to.unwrap_or_default();
    let begun = sso.begin(&redirect_uri, &return_to, now_secs(&s))?;
    let pending =
        Cookie::sso(&origin, &s).with(begun.cookie, keel_auth::oidc::sso::SIGN_IN_LIFETIME_SECS);
    Ok(with_cookies(redirect(&begun.authorize_url), &[pending]))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct SsoCallbackIn {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    /// Set by the provider when the sign-in failed (RFC 6749 §4.1.2.1).
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// Where the identity provider sends the browser back: the code is exchanged, the ID token
/// checked, the account found or created, and a session started; the browser goes to the UI
/// route it started from, or to the sign-in page with the reason.
pub async fn sso_callback(
    State(s): State<AppState>,
    origin: Origin,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    req: MlflowRequest<SsoCallbackIn>,
) -> ApiResult<Response> {
    let sso = s.auth.sso().ok_or_else(sso_not_configured)?;
    let m = req.message;
    let outcome = match (&m.error, &m.code, &m.state) {
        (Some(error), _, _) => Err(format!(
            "The identity provider refused the sign-in: {}",
            m.error_description.as_deref().unwrap_or(error)
        )),
        (None, Some(code), Some(state)) => {
            let pending = cookie_value(&headers, SSO_COOKIE);
            let redirect_uri = callback_url(&s, sso, &uri, &headers, origin.secure);
            sso.finish(code, state, pending, &redirect_uri, now_secs(&s))
                .await
        }
        _ => Err("The identity provider sent no authorization code.".to_owned()),
    };
    let signed_in = match outcome {
        Ok(signed_in) => signed_in,
        Err(reason) => {
            tracing::info!(reason = %reason, "a single sign-on failed");
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("sso_error", &reason)
                .finish();
            let cleared = Cookie::sso(&origin, &s).expire();
            let page = s.public_path(&format!("/?{query}#/"));
            return Ok(with_cookies(redirect(&page), &[cleared]));
        }
    };
    let (principal, session) = s.auth.sso_login(&signed_in.identity).await?;
    tracing::info!(user = %principal.user.username, "signed in with single sign-on");
    let cookies = [
        session_cookie_for(&session, &origin, &s),
        Cookie::sso(&origin, &s).expire(),
    ];
    Ok(with_cookies(
        redirect(&s.public_path(&format!("/{}", signed_in.return_to))),
        &cookies,
    ))
}

fn sso_not_configured() -> ApiError {
    ApiError(keel_core::Error::new(
        keel_core::ErrorCode::ResourceDoesNotExist,
        "Single sign-on is not configured (set oidc_client_id).",
    ))
}

/// The callback URL: configured, or this server as the request reached it (HTTP/1.1's Host,
/// or HTTP/2's `:authority`, which hyper puts in the URI).
fn callback_url(
    s: &AppState,
    sso: &keel_auth::oidc::sso::SsoClient,
    uri: &axum::http::Uri,
    headers: &axum::http::HeaderMap,
    secure: bool,
) -> String {
    if let Some(url) = sso.redirect_url() {
        return url.to_owned();
    }
    // Either passed the host allow-list before any handler runs.
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or("localhost");
    let scheme = if secure { "https" } else { "http" };
    format!("{scheme}://{host}{}", s.public_path(SSO_CALLBACK_PATH))
}

fn redirect(location: &str) -> Response {
    let mut response = axum::http::StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// Now, in seconds since the epoch, by the service's clock.
fn now_secs(s: &AppState) -> u64 {
    u64::try_from(s.auth.now_millis() / 1000).unwrap_or(0)
}

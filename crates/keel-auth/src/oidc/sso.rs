//! Single sign-on for the web UI: the OpenID Connect authorization code flow with PKCE
//! (RFC 7636, S256). A sign-in's state, nonce and code verifier travel in a short-lived cookie
//! signed with a key derived from the secrets key, so any replica can finish a sign-in another
//! began. The ID token is checked like a bearer JWT (signature, issuer, audience = the client
//! ID, expiry) and must carry the nonce of this sign-in.
//!
//! Hand-written rather than with the `openidconnect` crate: the flow is two requests on top of
//! the JWT verification Keel already has, and that crate would bring its own HTTP and JOSE
//! stacks beside reqwest and jsonwebtoken.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keel_core::{Error, Result};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::{JwtVerifier, TokenIdentity, discover};

/// How long a browser has to come back from the identity provider.
pub const SIGN_IN_LIFETIME_SECS: u64 = 600;
/// The longest authorization code or state accepted from the callback.
const MAX_CALLBACK_PARAM_BYTES: usize = 4096;

/// The client Keel is registered as at the identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoSettings {
    pub client_id: String,
    /// Sent as HTTP Basic client authentication when set (a confidential client); a public
    /// client relies on PKCE alone.
    pub client_secret: Option<String>,
    /// The scopes asked for, space-separated (`openid` is always included).
    pub scopes: String,
    /// The callback URL registered at the provider; unset: derived from each request's host.
    pub redirect_url: Option<String>,
}

/// A sign-in just begun: where to send the browser, and the cookie that remembers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    pub authorize_url: String,
    pub cookie: String,
}

/// What the cookie holds.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    state: String,
    nonce: String,
    verifier: String,
    return_to: String,
    expires: u64,
}

/// A finished sign-in: who signed in and where the browser goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub identity: TokenIdentity,
    pub return_to: String,
}

/// Signs browsers in at one identity provider.
pub struct SsoClient {
    authorization_endpoint: String,
    token_endpoint: String,
    settings: SsoSettings,
    verifier: Arc<JwtVerifier>,
    key: hmac::Key,
    http: reqwest::Client,
    rng: SystemRandom,
}

impl std::fmt::Debug for SsoClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoClient")
            .field("authorization_endpoint", &self.authorization_endpoint)
            .field("client_id", &self.settings.client_id)
            .finish_non_exhaustive()
    }
}

impl SsoClient {
    /// Reads the issuer's endpoints from its discovery document; `signing_key` signs the
    /// sign-in cookie (derive it from the secrets key so every replica shares it).
    pub async fn new(
        settings: SsoSettings,
        verifier: Arc<JwtVerifier>,
        signing_key: &[u8; 32],
    ) -> Result<Self> {
        if settings.client_id.trim().is_empty() {
            return Err(Error::invalid("oidc_client_id must not be empty"));
        }
        if !verifier.accepts_audience(&settings.client_id) {
            return Err(Error::invalid(
                "oidc_client_id must be one of oidc_audience (ID tokens are issued to the client)",
            ));
        }
        let http = super::http_client()?;
        let discovery = discover(&http, verifier.issuer()).await?;
        let endpoint = |value: Option<String>, name: &str| {
            value.filter(|v| !v.is_empty()).ok_or_else(|| {
                Error::invalid(format!(
                    "the issuer's discovery document has no {name}, needed for single sign-on"
                ))
            })
        };
        Ok(Self {
            authorization_endpoint: endpoint(
                discovery.authorization_endpoint,
                "authorization_endpoint",
            )?,
            token_endpoint: endpoint(discovery.token_endpoint, "token_endpoint")?,
            settings,
            verifier,
            key: hmac::Key::new(hmac::HMAC_SHA256, signing_key),
            http,
            rng: SystemRandom::new(),
        })
    }

    /// The configured callback URL, if any.
    pub fn redirect_url(&self) -> Option<&str> {
        self.settings.redirect_url.as_deref()
    }

    /// Begins a sign-in that comes back to `redirect_uri` and then shows `return_to` (a UI
    /// route, `#/...`; anything else becomes `#/`, so the flow cannot redirect elsewhere).
    pub fn begin(&self, redirect_uri: &str, return_to: &str, now: u64) -> Result<SignIn> {
        let pending = Pending {
            state: self.random()?,
            nonce: self.random()?,
            verifier: self.random()?,
            return_to: safe_return_to(return_to).to_owned(),
            expires: now + SIGN_IN_LIFETIME_SECS,
        };
        let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(
            &ring::digest::SHA256,
            pending.verifier.as_bytes(),
        ));
        let scopes = if self.settings.scopes.split(' ').any(|s| s == "openid") {
            self.settings.scopes.clone()
        } else {
            format!("openid {}", self.settings.scopes).trim().to_owned()
        };
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &scopes)
            .append_pair("state", &pending.state)
            .append_pair("nonce", &pending.nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .finish();
        let separator = if self.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        Ok(SignIn {
            authorize_url: format!("{}{separator}{query}", self.authorization_endpoint),
            cookie: self.seal(&pending)?,
        })
    }

    /// Finishes a sign-in: checks the callback's `state` against the cookie, exchanges the
    /// code (with the PKCE verifier) and checks the ID token and its nonce. The error is a
    /// message for the person signing in.
    pub async fn finish(
        &self,
        code: &str,
        state: &str,
        cookie: Option<&str>,
        redirect_uri: &str,
        now: u64,
    ) -> std::result::Result<SignedIn, String> {
        let pending = cookie.and_then(|c| self.open(c)).ok_or(
            "This sign-in was not started here, or it was started in another browser; start again.",
        )?;
        if pending.expires < now {
            return Err("This sign-in took too long; start again.".into());
        }
        if code.is_empty() || code.len() > MAX_CALLBACK_PARAM_BYTES {
            return Err("The identity provider sent no usable authorization code.".into());
        }
        if !bool::from(pending.state.as_bytes().ct_eq(state.as_bytes())) {
            return Err("The sign-in's state does not match; start again.".into());
        }
        let id_token = self
            .exchange(code, &pending.verifier, redirect_uri)
            .await
            .map_err(|e| e.message)?;
        let identity = self.verifier.verify(&id_token).await?;
        let nonce_matches = identity
            .nonce
            .as_deref()
            .is_some_and(|n| bool::from(n.as_bytes().ct_eq(pending.nonce.as_bytes())));
        if !nonce_matches {
            return Err("The ID token was not issued for this sign-in (nonce).".into());
        }
        Ok(SignedIn {
            identity,
            return_to: pending.return_to,
        })
    }

    /// Exchanges an authorization code for the ID token.
    async fn exchange(&self, code: &str, verifier: &str, redirect_uri: &str) -> Result<String> {
        // Built in one expression: the serializer is not `Send` and must not live across an await.
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("code_verifier", verifier)
            .append_pair("client_id", &self.settings.client_id)
            .finish();
        let mut request = self
            .http
            .post(&self.token_endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(form);
        if let Some(secret) = &self.settings.client_secret {
            // RFC 6749 §2.3.1: the ID and secret are form-encoded before Basic encoding.
            let encode =
                |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let credentials = format!("{}:{}", encode(&self.settings.client_id), encode(secret));
            request = request.header(
                "authorization",
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(credentials)
                ),
            );
        }
        let body = super::read_document(request.send().await, &self.token_endpoint).await?;
        #[derive(Deserialize)]
        struct TokenResponse {
            id_token: Option<String>,
        }
        let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|_| {
            Error::invalid("The identity provider's token response is not valid JSON.")
        })?;
        parsed.id_token.ok_or_else(|| {
            Error::invalid("The identity provider's token response has no ID token.")
        })
    }

    fn random(&self) -> Result<String> {
        let mut bytes = [0u8; 32];
        self.rng
            .fill(&mut bytes)
            .map_err(|_| Error::internal("the system's random source failed"))?;
        Ok(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// `base64url(json).base64url(hmac)`.
    fn seal(&self, pending: &Pending) -> Result<String> {
        let json = serde_json::to_vec(pending).map_err(|e| Error::internal(e.to_string()))?;
        let payload = URL_SAFE_NO_PAD.encode(json);
        let tag = hmac::sign(&self.key, payload.as_bytes());
        Ok(format!(
            "{payload}.{}",
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        ))
    }

    fn open(&self, cookie: &str) -> Option<Pending> {
        let (payload, tag) = cookie.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        hmac::verify(&self.key, payload.as_bytes(), &tag).ok()?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
    }
}

/// A UI route to show after signing in: `#/` followed by printable ASCII, else `#/`.
fn safe_return_to(asked: &str) -> &str {
    let ok = asked.starts_with("#/")
        && asked.len() <= 2048
        && asked.bytes().all(|b| b.is_ascii_graphic());
    if ok { asked } else { "#/" }
}

/// How long a request to the identity provider may take.
pub(crate) const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests;

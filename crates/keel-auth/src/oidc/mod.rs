//! OpenID Connect bearer tokens: JWTs signed by a configured issuer (RS256 or ES256), checked
//! against the issuer's JSON Web Key Set (from a file, a URL, or the issuer's discovery
//! document) for signature, issuer, audience, expiry and not-before (with a clock-skew
//! allowance), and mapped to a username and groups by configured claims.
//!
//! Keys fetched from a URL are refreshed periodically and when a token names a key not yet
//! known, at most once per [`MIN_REFETCH_INTERVAL`]: a flood of tokens with made-up key IDs
//! costs the issuer one request per interval, never one per token. A verified token's claims
//! are remembered (keyed by the token's SHA-256, until it expires or for [`VERIFIED_TTL`]) so
//! steady-state requests do not re-verify the signature.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use keel_core::{Error, Result};
use serde::Deserialize;

use crate::ttl::TtlMap;

pub mod sso;

/// How often keys fetched from a URL are refreshed.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(15 * 60);
/// The least time between two fetches of the key set.
pub const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// How long a verified token's claims are remembered at most.
pub const VERIFIED_TTL: Duration = Duration::from_secs(60);
/// The most groups taken from one token (more are ignored, with a warning).
pub const MAX_GROUPS: usize = 256;
/// The longest group name taken from a token.
pub const MAX_GROUP_BYTES: usize = 256;
/// The most bytes of a key set or discovery document read from the issuer.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// Where the issuer's signing keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// A JWKS document on disk (read at start).
    File(PathBuf),
    /// A JWKS URL (fetched at start and refreshed).
    Url(String),
    /// The `jwks_uri` of the issuer's `/.well-known/openid-configuration`.
    Discover,
}

/// How bearer JWTs are accepted and mapped to accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSettings {
    /// The exact `iss` tokens must carry (and where discovery looks).
    pub issuer: String,
    /// Tokens must name at least one of these in `aud`.
    pub audiences: Vec<String>,
    pub jwks: JwksSource,
    /// The claim whose value is the Keel username (`sub` by default).
    pub username_claim: String,
    /// The claim listing the caller's groups (`groups` by default).
    pub groups_claim: String,
    /// Members of these groups are administrators.
    pub admin_groups: Vec<String>,
    /// Clock-skew allowance for `exp` and `nbf`.
    pub leeway: Duration,
}

impl OidcSettings {
    pub fn new(issuer: impl Into<String>, audiences: Vec<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audiences,
            jwks: JwksSource::Discover,
            username_claim: "sub".into(),
            groups_claim: "groups".into(),
            admin_groups: Vec::new(),
            leeway: Duration::from_secs(60),
        }
    }
}

/// Who a verified token says the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenIdentity {
    pub username: String,
    pub groups: Vec<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    /// Whether a group of the token is an administrators' group.
    pub is_admin: bool,
    /// The `nonce` an ID token carries back from a sign-in request.
    pub nonce: Option<String>,
}

/// What Keel reads of an issuer's discovery document.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Discovery {
    pub issuer: String,
    pub jwks_uri: String,
    /// Where browsers sign in (single sign-on).
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// Where an authorization code is exchanged for tokens (single sign-on).
    #[serde(default)]
    pub token_endpoint: Option<String>,
}

/// One usable signing key.
struct Key {
    algorithm: Algorithm,
    key: DecodingKey,
}

/// The keys of a key set, by key ID (keys without one under the empty ID).
#[derive(Default)]
struct KeySet {
    by_id: HashMap<String, Vec<Key>>,
}

impl KeySet {
    /// The usable keys of a JWKS document: RSA keys for RS256 and P-256 keys for ES256 that
    /// are not marked for encryption; others are skipped.
    fn parse(document: &[u8]) -> Result<Self> {
        let set: JwkSet = serde_json::from_slice(document)
            .map_err(|e| Error::invalid(format!("the JSON Web Key Set does not parse: {e}")))?;
        let mut by_id: HashMap<String, Vec<Key>> = HashMap::new();
        for jwk in &set.keys {
            if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
                continue;
            }
            let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
                (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
                (AlgorithmParameters::EllipticCurve(p), None | Some(KeyAlgorithm::ES256))
                    if p.curve == EllipticCurve::P256 =>
                {
                    Algorithm::ES256
                }
                _ => continue,
            };
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                continue;
            };
            by_id
                .entry(jwk.common.key_id.clone().unwrap_or_default())
                .or_default()
                .push(Key { algorithm, key });
        }
        if by_id.is_empty() {
            return Err(Error::invalid(
                "the JSON Web Key Set has no RS256 or ES256 signing key",
            ));
        }
        Ok(Self { by_id })
    }

    /// The key a token's header names: by `kid`, or the only key for its algorithm when the
    /// header names none.
    fn find(&self, kid: Option<&str>, algorithm: Algorithm) -> Option<&DecodingKey> {
        if let Some(kid) = kid {
            return self
                .by_id
                .get(kid)?
                .iter()
                .find(|k| k.algorithm == algorithm)
                .map(|k| &k.key);
        }
        let mut all = self
            .by_id
            .values()
            .flatten()
            .filter(|k| k.algorithm == algorithm);
        match (all.next(), all.next()) {
            (Some(only), None) => Some(&only.key),
            _ => None,
        }
    }
}

/// Verifies bearer JWTs for one issuer.
pub struct JwtVerifier {
    settings: OidcSettings,
    /// Where keys are fetched from, when they are (resolved from discovery at start).
    jwks_url: Option<String>,
    keys: RwLock<Arc<KeySet>>,
    /// When keys were last fetched (or a fetch was last tried).
    fetched: tokio::sync::Mutex<Option<Instant>>,
    http: reqwest::Client,
    verified: TtlMap<[u8; 32], (TokenIdentity, u64)>,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("issuer", &self.settings.issuer)
            .field("jwks_url", &self.jwks_url)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// Sets up verification: reads the key file, or fetches discovery and keys. An issuer that
    /// cannot be reached at start is not fatal for a URL (keys are fetched again when a token
    /// needs them); a key file that cannot be read is.
    pub async fn new(settings: OidcSettings) -> Result<Self> {
        if settings.issuer.trim().is_empty() {
            return Err(Error::invalid("oidc.issuer must be set"));
        }
        if settings.audiences.is_empty() {
            return Err(Error::invalid(
                "oidc.audience must name at least one audience",
            ));
        }
        let http = http_client()?;
        let (keys, jwks_url) = match &settings.jwks {
            JwksSource::File(path) => {
                let bytes = std::fs::read(path).map_err(|e| {
                    Error::invalid(format!("cannot read the JWKS file {}: {e}", path.display()))
                })?;
                (KeySet::parse(&bytes)?, None)
            }
            JwksSource::Url(url) => (KeySet::default(), Some(url.clone())),
            JwksSource::Discover => {
                let d = discover(&http, &settings.issuer).await?;
                (KeySet::default(), Some(d.jwks_uri))
            }
        };
        let mut verifier = Self {
            settings,
            jwks_url,
            keys: RwLock::new(Arc::new(keys)),
            fetched: tokio::sync::Mutex::new(None),
            http,
            verified: TtlMap::new(VERIFIED_TTL, 10_000),
        };
        verifier.refetch().await;
        // The fetch at start does not count against the refetch interval: a key the issuer
        // rotated in around the start is fetched as soon as a token names it.
        *verifier.fetched.get_mut() = None;
        Ok(verifier)
    }

    /// Checks a token and says who it names; the error is a message for a 401.
    pub async fn verify(&self, token: &str) -> std::result::Result<TokenIdentity, String> {
        let digest: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, token.as_bytes())
            .as_ref()
            .try_into()
            .map_err(|_| "digest".to_owned())?;
        let now = unix_now();
        if let Some((identity, exp)) = self.verified.get(&digest)
            && now < exp.saturating_add(self.settings.leeway.as_secs())
        {
            return Ok(identity);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| match declared_alg(token) {
            Some(alg) => {
                format!("The token's algorithm '{alg}' is not accepted: it must be RS256 or ES256.")
            }
            None => "The bearer token is not a valid JWT.".to_owned(),
        })?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(format!(
                "The token's algorithm {:?} is not accepted: it must be RS256 or ES256.",
                header.alg
            ));
        }
        let kid = header.kid.as_deref();
        let mut key = self.key(kid, header.alg);
        if key.is_none() && self.refetch().await {
            key = self.key(kid, header.alg);
        }
        let Some(key) = key else {
            return Err("The token is signed by a key the issuer does not publish.".into());
        };
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.settings.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&self.settings.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &key,
            &validation,
        )
        .map_err(|e| token_error(e.kind()))?;
        let claims = data.claims;
        let exp = claims
            .get("exp")
            .and_then(serde_json::Value::as_u64)
            .ok_or("The token has no valid expiry (exp).")?;
        let identity = self.identity(&claims)?;
        self.verified.insert(digest, (identity.clone(), exp));
        Ok(identity)
    }

    /// The issuer whose tokens are accepted.
    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    /// Whether tokens issued to `audience` are accepted.
    pub fn accepts_audience(&self, audience: &str) -> bool {
        self.settings.audiences.iter().any(|a| a == audience)
    }

    fn key(&self, kid: Option<&str>, algorithm: Algorithm) -> Option<DecodingKey> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner()).clone();
        keys.find(kid, algorithm).cloned()
    }

    /// Fetches the key set if it comes from a URL and was not fetched (or tried) within
    /// [`MIN_REFETCH_INTERVAL`]; returns whether new keys were installed.
    async fn refetch(&self) -> bool {
        let Some(url) = &self.jwks_url else {
            return false;
        };
        let mut fetched = self.fetched.lock().await;
        if fetched.is_some_and(|t| t.elapsed() < MIN_REFETCH_INTERVAL) {
            return false;
        }
        *fetched = Some(Instant::now());
        match fetch(&self.http, url).await.and_then(|b| KeySet::parse(&b)) {
            Ok(keys) => {
                *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys);
                true
            }
            Err(e) => {
                tracing::warn!(url = %url, error = %e, "cannot fetch the OIDC signing keys");
                false
            }
        }
    }

    /// Refreshes keys fetched from a URL every [`REFRESH_INTERVAL`], for as long as the
    /// verifier lives.
    pub fn spawn_refresh(self: &Arc<Self>) {
        if self.jwks_url.is_none() {
            return;
        }
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(REFRESH_INTERVAL).await;
                let Some(verifier) = weak.upgrade() else {
                    return;
                };
                verifier.refetch().await;
            }
        });
    }

    fn identity(
        &self,
        claims: &serde_json::Map<String, serde_json::Value>,
    ) -> std::result::Result<TokenIdentity, String> {
        let s = &self.settings;
        let username = claims
            .get(&s.username_claim)
            .and_then(serde_json::Value::as_str)
            .filter(|u| crate::service::check_username(u).is_ok())
            .ok_or_else(|| {
                format!(
                    "The token has no usable '{}' claim to name the user.",
                    s.username_claim
                )
            })?
            .to_owned();
        let mut groups: Vec<String> = match claims.get(&s.groups_claim) {
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(serde_json::Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(serde_json::Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        };
        groups.retain(|g| is_group_name(g));
        if groups.len() > MAX_GROUPS {
            tracing::warn!(
                user = %username,
                groups = groups.len(),
                "a token lists more groups than Keel takes; the first {MAX_GROUPS} are used"
            );
            groups.truncate(MAX_GROUPS);
        }
        groups.sort();
        groups.dedup();
        let is_admin = groups.iter().any(|g| s.admin_groups.contains(g));
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(serde_json::Value::as_str)
                .filter(|v| v.len() <= 255)
                .map(str::to_owned)
        };
        Ok(TokenIdentity {
            username,
            groups,
            display_name: text("name"),
            email: text("email"),
            is_admin,
            nonce: text("nonce"),
        })
    }
}

/// Whether a group from a token is usable: not empty, not too long, no control characters,
/// and never the name of a user's own role (`__user_<id>__`), so a group claim cannot borrow
/// another account's grants.
pub fn is_group_name(g: &str) -> bool {
    !g.is_empty()
        && g.len() <= MAX_GROUP_BYTES
        && !g.chars().any(char::is_control)
        && !g.starts_with("__user_")
}

/// The `alg` a token's header declares, read leniently (to name an algorithm the JWT library
/// has no name for, such as `none`).
fn declared_alg(token: &str) -> Option<String> {
    use base64::Engine as _;
    let header = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let alg = value.get("alg")?.as_str()?;
    Some(alg.chars().take(32).filter(|c| !c.is_control()).collect())
}

fn token_error(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "The token has expired.".into(),
        ErrorKind::ImmatureSignature => "The token is not valid yet (nbf).".into(),
        ErrorKind::InvalidIssuer => "The token's issuer is not accepted.".into(),
        ErrorKind::InvalidAudience => "The token's audience is not accepted.".into(),
        ErrorKind::InvalidSignature => "The token's signature is invalid.".into(),
        ErrorKind::InvalidAlgorithm => {
            "The token's algorithm does not match its signing key.".into()
        }
        ErrorKind::MissingRequiredClaim(c) => format!("The token has no '{c}' claim."),
        _ => "The bearer token is not a valid JWT.".into(),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Reads an issuer's discovery document, which must name that same issuer.
pub async fn discover(http: &reqwest::Client, issuer: &str) -> Result<Discovery> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let body = fetch(http, &url).await?;
    let d: Discovery = serde_json::from_slice(&body).map_err(|e| {
        Error::invalid(format!(
            "the OIDC discovery document at {url} does not parse: {e}"
        ))
    })?;
    if d.issuer != issuer {
        return Err(Error::invalid(format!(
            "the OIDC discovery document at {url} names issuer '{}', not '{issuer}'",
            d.issuer
        )));
    }
    Ok(d)
}

/// GETs a document of at most [`MAX_DOCUMENT_BYTES`].
pub(crate) async fn fetch(http: &reqwest::Client, url: &str) -> Result<Vec<u8>> {
    let sent = http
        .get(url)
        .header("accept", "application/json")
        .send()
        .await;
    read_document(sent, url).await
}

/// The body of a successful response, of at most [`MAX_DOCUMENT_BYTES`].
pub(crate) async fn read_document(
    sent: std::result::Result<reqwest::Response, reqwest::Error>,
    url: &str,
) -> Result<Vec<u8>> {
    let unreachable = |e: reqwest::Error| Error::invalid(format!("cannot fetch {url}: {e}"));
    let mut response = sent.map_err(unreachable)?;
    if !response.status().is_success() {
        return Err(Error::invalid(format!(
            "cannot fetch {url}: HTTP {}",
            response.status()
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(Error::invalid(format!(
                "{url} sent more than {MAX_DOCUMENT_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The HTTP client for requests to the identity provider: bounded in time and redirects.
pub(crate) fn http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(sso::PROVIDER_TIMEOUT)
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
        .map_err(|e| Error::internal(format!("HTTP client: {e}")))
}

#[cfg(test)]
mod tests;

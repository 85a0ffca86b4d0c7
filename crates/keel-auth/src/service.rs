//! The identity-and-access service: authenticates credentials, decides requests, and manages
//! accounts and tokens. One value per server, shared by every request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keel_core::clock::Clock;
use keel_core::{Error, ErrorCode, Result};

use crate::actions::Action;
use crate::assess::{Target, assess, container, version_of};
use crate::cache::{CredentialCache, CredentialKey};
use crate::entities::{AccountKind, ApiToken, NewUser, User};
use crate::grants::{Defaults, GrantType, Holdings, Key};
use crate::oidc::sso::SsoClient;
use crate::oidc::{JwtVerifier, TokenIdentity};
use crate::password;
use crate::permission::{Capability, Permission};
use crate::policy::{Decision, PolicyEngine, PolicyPrincipal, PolicyResource, Query};
use crate::scope::Scopes;
use crate::store::{Holder, IdentityStore};
use crate::throttle::{LoginThrottle, ThrottleLimits};
use crate::token;

/// When requests must authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// While no account exists and the server listens on loopback only, local requests act as
    /// a local administrator; otherwise every request authenticates.
    Auto,
    /// Every request authenticates, always.
    Required,
}

/// How the service is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthSettings {
    pub mode: AuthMode,
    /// Whether every address the server listens on is a loopback address.
    pub loopback_only: bool,
    /// The level of a resource nobody granted (deny-by-default: NO_PERMISSIONS).
    pub default_permission: Permission,
    pub throttle: ThrottleLimits,
    /// How long a web UI session lasts after its login.
    pub session_ttl: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            mode: AuthMode::Auto,
            loopback_only: true,
            default_permission: Permission::NoPermissions,
            throttle: ThrottleLimits::default(),
            session_ttl: Duration::from_secs(12 * 3600),
        }
    }
}

/// Credentials as a request presents them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials<'a> {
    None,
    /// HTTP Basic.
    Password {
        username: &'a str,
        password: &'a str,
    },
    /// A bearer token.
    Token(&'a str),
    /// A web UI session (the token held by the session cookie).
    Session(&'a str),
}

/// How a principal proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// No account exists yet and the server listens on loopback only.
    LocalAdministrator,
    Password,
    Token {
        token_id: String,
        scopes: Vec<String>,
    },
    /// A JWT from the configured OpenID Connect issuer.
    Oidc,
    /// A web UI session cookie.
    Session {
        token_id: String,
    },
}

pub use crate::entities::SESSION_SCOPE;
/// A session's scopes also carry what single sign-on said at sign-in: each group as
/// `group:<name>`, and membership of an administrators' group.
const SESSION_GROUP_PREFIX: &str = "group:";
const SESSION_IDP_ADMIN: &str = "idp-admin";

/// A session just started: the cookie's value (shown only now) and when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token_id: String,
    pub text: String,
    pub expires_at: i64,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The account (a synthetic administrator with ID 0 for [`Method::LocalAdministrator`]).
    pub user: User,
    pub method: Method,
    /// Groups from the identity provider.
    pub groups: Vec<String>,
}

impl Principal {
    /// Whose grants apply: the account's, and its groups' roles.
    pub fn holder(&self) -> Holder<'_> {
        Holder {
            user_id: self.user.id,
            groups: &self.groups,
        }
    }

    /// What the credential may be used for: a token's scopes, else everything.
    pub fn scopes(&self) -> Scopes {
        match &self.method {
            Method::Token { scopes, .. } => Scopes::of(scopes),
            _ => Scopes::UNLIMITED,
        }
    }

    fn policy_view(&self) -> PolicyPrincipal {
        PolicyPrincipal {
            id: self.user.id.to_string(),
            username: self.user.username.clone(),
            is_admin: self.user.is_admin,
            kind: self.user.kind.as_str(),
            groups: self.groups.clone(),
        }
    }
}

/// Why authentication failed.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthFailure {
    /// No or wrong credentials (401); the message says which, without telling whether an
    /// account exists.
    Unauthenticated(String),
    /// Too many failed logins from this user or address (429).
    Throttled { retry_after: Duration },
    /// The store failed.
    Store(Error),
}

/// Password checks in progress, by credential.
type Flights = std::sync::Mutex<HashMap<CredentialKey, Arc<tokio::sync::OnceCell<bool>>>>;

/// One request's share in the password check of its credentials. The check leaves the table
/// when its last request is done with it, finished or not (a request that went away must not
/// leave its entry behind).
struct Flight<'a> {
    flights: &'a Flights,
    key: CredentialKey,
    cell: Arc<tokio::sync::OnceCell<bool>>,
}

impl<'a> Flight<'a> {
    fn join(flights: &'a Flights, key: CredentialKey) -> Self {
        let mut table = flights.lock().unwrap_or_else(|e| e.into_inner());
        let cell = table.entry(key).or_default().clone();
        Self { flights, key, cell }
    }
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        let mut table = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        // The table's reference and this one: nobody else waits on the check.
        let last = Arc::strong_count(&self.cell) <= 2;
        if (last || self.cell.initialized())
            && table
                .get(&self.key)
                .is_some_and(|c| Arc::ptr_eq(c, &self.cell))
        {
            table.remove(&self.key);
        }
    }
}

/// How long a token's last use may lag before it is written again.
const TOKEN_TOUCH_INTERVAL_MS: i64 = 60_000;

/// The service.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

/// Everything a decision depends on: with the same engine, the same inputs decide the same.
type DecisionKey = (
    PolicyPrincipal,
    &'static str,
    PolicyResource,
    crate::assess::Assessment,
    bool,
);

struct Inner {
    store: Arc<dyn IdentityStore>,
    engine: PolicyEngine,
    /// Decisions already taken (a decision is a pure function of its inputs and the engine's
    /// policies, which are fixed for the process's life).
    decisions: crate::ttl::TtlMap<DecisionKey, Decision>,
    settings: AuthSettings,
    cache: CredentialCache,
    /// Password checks in progress, by credential: requests presenting the same pair wait
    /// for the one check.
    verifying: Flights,
    throttle: LoginThrottle,
    clock: Arc<dyn Clock>,
    /// Bearer JWTs are accepted when an OpenID Connect issuer is configured.
    oidc: std::sync::OnceLock<Arc<JwtVerifier>>,
    /// The web UI signs in at the issuer when a client ID is configured too.
    sso: std::sync::OnceLock<Arc<SsoClient>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl Auth {
    pub fn new(
        store: Arc<dyn IdentityStore>,
        engine: PolicyEngine,
        settings: AuthSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        // What every request reads is cached briefly; every write through here clears it.
        let store: Arc<dyn IdentityStore> =
            Arc::new(crate::cached_store::CachedIdentityStore::new(store));
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                engine,
                decisions: crate::ttl::TtlMap::new(Duration::from_secs(3600), 100_000),
                cache: CredentialCache::new(
                    crate::cache::DEFAULT_TTL,
                    crate::cache::DEFAULT_CAPACITY,
                )?,
                verifying: std::sync::Mutex::default(),
                throttle: LoginThrottle::new(settings.throttle),
                settings,
                clock,
                oidc: std::sync::OnceLock::new(),
                sso: std::sync::OnceLock::new(),
            }),
        })
    }

    /// Accepts bearer JWTs from an OpenID Connect issuer (set once, at start).
    pub fn set_oidc(&self, verifier: Arc<JwtVerifier>) -> Result<()> {
        self.inner
            .oidc
            .set(verifier)
            .map_err(|_| Error::internal("the OpenID Connect issuer is already set"))
    }

    /// Lets the web UI sign in at the OpenID Connect issuer (set once, at start).
    pub fn set_sso(&self, client: Arc<SsoClient>) -> Result<()> {
        self.inner
            .sso
            .set(client)
            .map_err(|_| Error::internal("single sign-on is already set up"))
    }

    /// Single sign-on, when set up.
    pub fn sso(&self) -> Option<&Arc<SsoClient>> {
        self.inner.sso.get()
    }

    /// The service's clock (tests pin it), in milliseconds since the epoch.
    pub fn now_millis(&self) -> i64 {
        self.inner.clock.now_millis()
    }

    /// Revokes a token now.
    pub async fn revoke_token(&self, id: &str) -> Result<()> {
        self.inner.store.revoke_token(id, self.now_millis()).await
    }

    pub fn settings(&self) -> AuthSettings {
        self.inner.settings
    }

    pub fn engine(&self) -> &PolicyEngine {
        &self.inner.engine
    }

    pub fn store(&self) -> &Arc<dyn IdentityStore> {
        &self.inner.store
    }

    /// Whether requests without credentials act as the local administrator right now: auth
    /// mode `auto`, loopback only, and no account yet.
    pub async fn is_open(&self) -> Result<bool> {
        let s = self.inner.settings;
        if s.mode != AuthMode::Auto || !s.loopback_only {
            return Ok(false);
        }
        Ok(self.inner.store.count_users().await? == 0)
    }

    /// Authenticates a request's credentials.
    pub async fn authenticate(
        &self,
        credentials: Credentials<'_>,
        client: Option<IpAddr>,
    ) -> std::result::Result<Principal, AuthFailure> {
        match credentials {
            Credentials::None => {
                if self.is_open().await.map_err(AuthFailure::Store)? {
                    Ok(local_administrator())
                } else {
                    Err(AuthFailure::Unauthenticated(
                        "You are not authenticated: send a username and password (HTTP Basic) \
                         or a bearer token."
                            .into(),
                    ))
                }
            }
            Credentials::Password { username, password } => {
                self.authenticate_password(username, password, client).await
            }
            Credentials::Token(text) => match self.inner.oidc.get() {
                Some(oidc) if !token::is_keel_token(text) => {
                    self.authenticate_jwt(oidc, text).await
                }
                _ => self.authenticate_token(text).await,
            },
            Credentials::Session(text) => self.authenticate_session(text).await,
        }
    }

    /// A session cookie: a live token with the session scope (an API token is not accepted
    /// from a cookie).
    async fn authenticate_session(
        &self,
        text: &str,
    ) -> std::result::Result<Principal, AuthFailure> {
        let ended =
            || AuthFailure::Unauthenticated("Your session has ended; sign in again.".into());
        let principal = match self.authenticate_token(text).await {
            Ok(p) => p,
            Err(AuthFailure::Unauthenticated(_)) => return Err(ended()),
            Err(e) => return Err(e),
        };
        match principal.method {
            Method::Token { token_id, scopes } if scopes.iter().any(|s| s == SESSION_SCOPE) => {
                let mut user = principal.user;
                user.is_admin |= scopes.iter().any(|s| s == SESSION_IDP_ADMIN);
                let groups = scopes
                    .iter()
                    .filter_map(|s| s.strip_prefix(SESSION_GROUP_PREFIX))
                    .map(str::to_owned)
                    .collect();
                Ok(Principal {
                    user,
                    method: Method::Session { token_id },
                    groups,
                })
            }
            _ => Err(ended()),
        }
    }

    /// Signs in with a username and password (throttled like every password check) and starts
    /// a web UI session.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> std::result::Result<(Principal, Session), AuthFailure> {
        let principal = self
            .authenticate_password(username, password, client)
            .await?;
        let session = self
            .start_session(&principal.user, &[], false)
            .await
            .map_err(AuthFailure::Store)?;
        Ok((principal, session))
    }

    /// Signs in a user the identity provider vouched for (single sign-on): the account is
    /// created on first sight, and the session keeps the groups of the ID token.
    pub async fn sso_login(&self, identity: &TokenIdentity) -> Result<(Principal, Session)> {
        let mut user = self.account_of(identity).await?;
        let session = self
            .start_session(&user, &identity.groups, identity.is_admin)
            .await?;
        user.is_admin |= identity.is_admin;
        let principal = Principal {
            user,
            method: Method::Session {
                token_id: session.token_id.clone(),
            },
            groups: identity.groups.clone(),
        };
        Ok((principal, session))
    }

    /// Starts a web UI session for `user`, holding the groups single sign-on gave it.
    async fn start_session(
        &self,
        user: &User,
        groups: &[String],
        admin_by_group: bool,
    ) -> Result<Session> {
        let ttl = i64::try_from(self.inner.settings.session_ttl.as_millis()).unwrap_or(i64::MAX);
        let expires_at = self.inner.clock.now_millis().saturating_add(ttl);
        let mut scopes = vec![SESSION_SCOPE.to_owned()];
        if admin_by_group {
            scopes.push(SESSION_IDP_ADMIN.to_owned());
        }
        scopes.extend(groups.iter().map(|g| format!("{SESSION_GROUP_PREFIX}{g}")));
        let (token, text) = self
            .issue_token(user, "web session", scopes, Some(expires_at))
            .await?;
        Ok(Session {
            token_id: token.id,
            text,
            expires_at,
        })
    }

    /// Ends the session whose cookie is `text`; anything else (an API token, a forged or
    /// already ended session) is left alone.
    pub async fn end_session(&self, text: &str) -> Result<()> {
        let Some((id, secret)) = token::parse(text) else {
            return Ok(());
        };
        let Some((t, _)) = self.inner.store.token(id).await? else {
            return Ok(());
        };
        if t.is_session()
            && t.revoked_at.is_none()
            && token::secret_matches(secret, &t.secret_sha256)
        {
            self.inner
                .store
                .revoke_token(id, self.inner.clock.now_millis())
                .await?;
        }
        Ok(())
    }

    /// Ends every live session of `user` (after a password change).
    async fn end_sessions_of(&self, user: &User) -> Result<()> {
        let now = self.inner.clock.now_millis();
        for t in self.inner.store.list_tokens(user.id).await? {
            if t.is_live(now) && t.is_session() {
                self.inner.store.revoke_token(&t.id, now).await?;
            }
        }
        Ok(())
    }

    /// A JWT names a user (created on first sight, without a password) and its groups;
    /// membership of an administrators' group makes the caller an administrator for the
    /// request.
    async fn authenticate_jwt(
        &self,
        oidc: &JwtVerifier,
        text: &str,
    ) -> std::result::Result<Principal, AuthFailure> {
        let identity = oidc
            .verify(text)
            .await
            .map_err(AuthFailure::Unauthenticated)?;
        let mut user = self
            .account_of(&identity)
            .await
            .map_err(AuthFailure::Store)?;
        user.is_admin |= identity.is_admin;
        Ok(Principal {
            user,
            method: Method::Oidc,
            groups: identity.groups,
        })
    }

    /// The account an identity provider names, created on its first sign-in.
    async fn account_of(&self, identity: &TokenIdentity) -> Result<User> {
        match self.inner.store.user_by_name(&identity.username).await? {
            Some(user) => Ok(user),
            None => self.provision(identity).await,
        }
    }

    /// Creates the account an identity provider names on its first request (another
    /// request or replica may create it first).
    async fn provision(&self, identity: &TokenIdentity) -> Result<User> {
        let created = self
            .inner
            .store
            .insert_user(&NewUser {
                username: identity.username.clone(),
                display_name: identity.display_name.clone(),
                email: identity.email.clone(),
                is_admin: false,
                kind: AccountKind::User,
                password_hash: None,
                created_at: self.inner.clock.now_millis(),
            })
            .await;
        match created {
            Ok(user) => {
                tracing::info!(user = %user.username, "created an account for a user of the identity provider");
                Ok(user)
            }
            Err(e) if e.code == ErrorCode::ResourceAlreadyExists => {
                self.user(&identity.username).await
            }
            Err(e) => Err(e),
        }
    }

    async fn authenticate_password(
        &self,
        username: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> std::result::Result<Principal, AuthFailure> {
        let wrong = || AuthFailure::Unauthenticated("Invalid username or password.".into());
        let now = Instant::now();
        if let Some(retry_after) = self.inner.throttle.retry_after(username, client, now) {
            return Err(AuthFailure::Throttled { retry_after });
        }
        let user = self
            .inner
            .store
            .user_by_name(username)
            .await
            .map_err(AuthFailure::Store)?;
        let stored = user.as_ref().and_then(|u| u.password_hash.clone());
        // A missing account still costs one argon2 run (no timing tells it apart), keyed by
        // its name: a PHC string never starts with NUL.
        let key = match &stored {
            Some(hash) => self.inner.cache.key(hash, password),
            None => self.inner.cache.key(&format!("\0{username}"), password),
        };
        let verified = (stored.is_some() && self.inner.cache.is_verified(&key, now))
            || self
                .verify_once(key, stored, password, username, client)
                .await?;
        match user {
            Some(user) if verified => {
                self.inner.throttle.succeeded(username);
                Ok(Principal {
                    user,
                    method: Method::Password,
                    groups: Vec::new(),
                })
            }
            _ => Err(wrong()),
        }
    }

    /// Checks a password against its stored hash with argon2, once for all the requests that
    /// present the same pair at the same time (a client's first burst runs one check, not one
    /// per connection). Each check holds a throttle reservation and counts a failure if it
    /// fails, so concurrent guesses are limited as sequential ones are.
    async fn verify_once(
        &self,
        key: CredentialKey,
        stored: Option<String>,
        password: &str,
        username: &str,
        client: Option<IpAddr>,
    ) -> std::result::Result<bool, AuthFailure> {
        let flight = Flight::join(&self.inner.verifying, key);
        flight
            .cell
            .get_or_try_init(|| async {
                let attempt = self
                    .inner
                    .throttle
                    .reserve(username, client, Instant::now())
                    .map_err(|retry_after| AuthFailure::Throttled { retry_after })?;
                let pw = password.to_owned();
                let ok = tokio::task::spawn_blocking(move || match stored {
                    Some(hash) => password::verify(&pw, &hash),
                    None => {
                        password::verify_nothing(&pw);
                        false
                    }
                })
                .await
                .map_err(|e| AuthFailure::Store(Error::internal(e.to_string())))?;
                if ok {
                    self.inner.cache.remember(&key, Instant::now());
                    attempt.succeeded();
                } else {
                    attempt.failed(Instant::now());
                }
                Ok(ok)
            })
            .await
            .copied()
    }

    async fn authenticate_token(&self, text: &str) -> std::result::Result<Principal, AuthFailure> {
        let invalid = || AuthFailure::Unauthenticated("Invalid or expired token.".into());
        let Some((id, secret)) = token::parse(text) else {
            return Err(invalid());
        };
        let Some((t, user)) = self
            .inner
            .store
            .token(id)
            .await
            .map_err(AuthFailure::Store)?
        else {
            return Err(invalid());
        };
        let now = self.inner.clock.now_millis();
        if !token::secret_matches(secret, &t.secret_sha256) || !t.is_live(now) {
            return Err(invalid());
        }
        if t.last_used_at
            .is_none_or(|at| now - at >= TOKEN_TOUCH_INTERVAL_MS)
        {
            // Best effort: a failed bookkeeping write must not fail the request.
            if let Err(e) = self.inner.store.touch_tokens(&[(t.id.clone(), now)]).await {
                tracing::warn!(token_id = %t.id, error = %e, "cannot record a token's last use");
            }
        }
        Ok(Principal {
            user,
            method: Method::Token {
                token_id: t.id,
                scopes: t.scopes,
            },
            groups: Vec::new(),
        })
    }

    /// Decides whether `principal` may take `action` on `resource` (the resource as Cedar
    /// sees it, and the target its grants resolve on, in `workspace`). Any failure is a deny
    /// (store failures are returned as errors, never as an allow).
    pub async fn authorize(
        &self,
        principal: &Principal,
        action: &Action,
        target: Target<'_>,
        resource: &PolicyResource,
        workspace: &str,
    ) -> Result<Decision> {
        let holdings = if principal.user.is_admin || !needs_grants(action.capability) {
            Holdings::default()
        } else {
            let keys = keys_of(target);
            self.inner
                .store
                .holdings(principal.holder(), workspace, &keys)
                .await?
        };
        let defaults = Defaults::in_workspace(self.inner.settings.default_permission, workspace);
        let assessment = assess(&holdings, target, defaults);
        let in_scope = principal.scopes().allow(action.capability);
        let key: DecisionKey = (
            principal.policy_view(),
            action.name,
            resource.clone(),
            assessment,
            in_scope,
        );
        if let Some(decision) = self.inner.decisions.get(&key) {
            return Ok(decision);
        }
        let decision = self.inner.engine.decide(&Query {
            principal: &key.0,
            action,
            resource,
            assessment,
            in_scope,
        });
        self.inner.decisions.insert(key, decision.clone());
        Ok(decision)
    }

    /// Creates an account. A user gets a password (checked against the rules); a service
    /// account has none.
    pub async fn create_user(
        &self,
        username: &str,
        password: Option<&str>,
        is_admin: bool,
        kind: AccountKind,
    ) -> Result<User> {
        check_username(username)?;
        let password_hash = match (kind, password) {
            (AccountKind::User, Some(pw)) => Some(hash_off_runtime(pw).await?),
            (AccountKind::User, None) => {
                return Err(Error::missing_parameter("password"));
            }
            (AccountKind::ServiceAccount, _) => None,
        };
        self.inner
            .store
            .insert_user(&NewUser {
                username: username.to_owned(),
                display_name: None,
                email: None,
                is_admin,
                kind,
                password_hash,
                created_at: self.inner.clock.now_millis(),
            })
            .await
    }

    /// The account named `username`, or RESOURCE_DOES_NOT_EXIST in the reference's words.
    pub async fn user(&self, username: &str) -> Result<User> {
        self.inner
            .store
            .user_by_name(username)
            .await?
            .ok_or_else(|| Error::not_found(format!("User with username={username} not found")))
    }

    /// Sets a new password. When users change their own, `current` must match.
    pub async fn set_password(
        &self,
        user: &User,
        new_password: &str,
        current: Option<&str>,
    ) -> Result<()> {
        if let Some(current) = current {
            let matches = match &user.password_hash {
                Some(h) => verify_off_runtime(current, h).await?,
                None => false,
            };
            if !matches {
                return Err(Error::invalid("Current password does not match."));
            }
            if current == new_password {
                return Err(Error::invalid(
                    "New password must differ from the current password.",
                ));
            }
        }
        let mut updated = user.clone();
        updated.password_hash = Some(hash_off_runtime(new_password).await?);
        updated.updated_at = self.inner.clock.now_millis();
        self.inner.store.update_user(&updated).await?;
        // Whoever signed in with the old password is signed out.
        self.end_sessions_of(user).await
    }

    pub async fn set_admin(&self, user: &User, is_admin: bool) -> Result<()> {
        let mut updated = user.clone();
        updated.is_admin = is_admin;
        updated.updated_at = self.inner.clock.now_millis();
        self.inner.store.update_user(&updated).await
    }

    /// Issues a token for `user`: returns the stored token and its text (shown only now).
    pub async fn issue_token(
        &self,
        user: &User,
        name: &str,
        scopes: Vec<String>,
        expires_at: Option<i64>,
    ) -> Result<(ApiToken, String)> {
        let now = self.inner.clock.now_millis();
        if name.trim().is_empty() {
            return Err(Error::missing_parameter("name"));
        }
        if expires_at.is_some_and(|e| e <= now) {
            return Err(Error::invalid("A token's expiry must be in the future."));
        }
        let issued = token::issue()?;
        let stored = ApiToken {
            id: issued.id,
            user_id: user.id,
            name: name.to_owned(),
            scopes,
            secret_sha256: issued.secret_sha256,
            created_at: now,
            expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        self.inner.store.insert_token(&stored).await?;
        Ok((stored, issued.text))
    }

    /// Creates the first administrator from the environment (for containers) when no account
    /// exists yet; returns whether it did.
    pub async fn bootstrap_admin(&self, username: &str, password: &str) -> Result<bool> {
        if self.inner.store.count_users().await? > 0 {
            return Ok(false);
        }
        match self
            .create_user(username, Some(password), true, AccountKind::User)
            .await
        {
            Ok(_) => Ok(true),
            // Another replica made it first.
            Err(e) if e.code == ErrorCode::ResourceAlreadyExists => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// The synthetic administrator of a server nobody has an account on yet.
pub fn local_administrator() -> Principal {
    Principal {
        user: User {
            id: 0,
            username: "local-admin".into(),
            display_name: Some("Local administrator (no accounts yet)".into()),
            email: None,
            is_admin: true,
            kind: AccountKind::User,
            password_hash: None,
            created_at: 0,
            updated_at: 0,
        },
        method: Method::LocalAdministrator,
        groups: Vec::new(),
    }
}

fn needs_grants(c: Capability) -> bool {
    !matches!(
        c,
        Capability::Authenticated
            | Capability::OwnCredentials
            | Capability::Admin
            | Capability::Public
    )
}

/// The grant keys a target's resolution reads.
fn keys_of(target: Target<'_>) -> Vec<Key<'_>> {
    match target {
        Target::Workspace { creates } => creates.into_iter().map(Key::any).collect(),
        Target::Experiment { id } => vec![Key::of(GrantType::Experiment, id)],
        Target::InExperiment { kind, experiment }
        | Target::CreateInExperiment { kind, experiment } => {
            vec![Key::any(kind), Key::of(GrantType::Experiment, experiment)]
        }
        Target::Model { prompt, name } => vec![Key::of(container(prompt), name)],
        Target::Version { prompt, name } => {
            vec![
                Key::any(version_of(prompt)),
                Key::of(container(prompt), name),
            ]
        }
    }
}

/// Checks a new username.
pub fn check_username(username: &str) -> Result<()> {
    if username.trim().is_empty() {
        return Err(Error::invalid("Username cannot be empty."));
    }
    if username.len() > 255 || username.chars().any(char::is_control) || username.contains(':') {
        return Err(Error::invalid(
            "Username must be at most 255 bytes, without control characters or ':'.",
        ));
    }
    Ok(())
}

async fn hash_off_runtime(password: &str) -> Result<String> {
    password::check_new(password)?;
    let pw = password.to_owned();
    tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(|e| Error::internal(e.to_string()))?
}

async fn verify_off_runtime(password: &str, hash: &str) -> Result<bool> {
    let (pw, h) = (password.to_owned(), hash.to_owned());
    tokio::task::spawn_blocking(move || password::verify(&pw, &h))
        .await
        .map_err(|e| Error::internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_check_leaves_the_table_with_its_last_request_finished_or_not() {
        let flights = Flights::default();
        let cache = CredentialCache::new(Duration::from_secs(60), 8).expect("cache");
        let key = cache.key("$hash", "password");
        let len = || flights.lock().expect("lock").len();
        // Two requests share one check; the first to go leaves it to the other.
        let first = Flight::join(&flights, key);
        let second = Flight::join(&flights, key);
        assert!(Arc::ptr_eq(&first.cell, &second.cell));
        drop(first);
        assert_eq!(len(), 1, "still awaited");
        drop(second);
        assert_eq!(len(), 0, "a request that went away leaves nothing behind");
        // A finished check leaves as soon as one of its requests is done.
        let a = Flight::join(&flights, key);
        let b = Flight::join(&flights, key);
        a.cell.set(true).expect("first result");
        drop(a);
        assert_eq!(len(), 0);
        assert_eq!(
            b.cell.get(),
            Some(&true),
            "the other request still reads it"
        );
        drop(b);
        assert_eq!(len(), 0);
    }
}

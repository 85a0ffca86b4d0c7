//! API tokens over HTTP (`/api/3.0/keel/tokens`): a caller lists, issues and revokes their own
//! tokens; an administrator those of any account (service accounts have no password, so this
//! is how they get tokens without the CLI). A token's text is answered once, when issued. Web
//! UI sessions are tokens too but are not listed here (they end by signing out).

use axum::Json;
use axum::extract::{Path, State};
use keel_auth::entities::{ApiToken, User};
use keel_core::Error;
use serde::{Deserialize, Serialize};

use crate::authz::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::MlflowRequest;
use crate::state::AppState;

/// The longest lifetime a token may be issued with.
const MAX_EXPIRY_DAYS: i64 = 3650;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Serialize, schemars::JsonSchema)]
pub struct TokenOut {
    id: String,
    username: String,
    name: String,
    scopes: Vec<String>,
    created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_used_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_at: Option<i64>,
}

impl TokenOut {
    fn of(t: &ApiToken, owner: &User) -> Self {
        Self {
            id: t.id.clone(),
            username: owner.username.clone(),
            name: t.name.clone(),
            scopes: t.scopes.clone(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct TokensOut {
    tokens: Vec<TokenOut>,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct IssuedOut {
    token: TokenOut,
    /// The token itself (`keel_...`): shown only in this response.
    text: String,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct ListIn {
    /// Whose tokens (administrators only; default: the caller's).
    #[serde(default)]
    username: Option<String>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct IssueIn {
    #[serde(default)]
    name: Option<String>,
    /// Days until it expires (1 to 3650); unset: it does not expire.
    #[serde(default)]
    expires_in_days: Option<i64>,
    /// For whom (administrators only; default: the caller).
    #[serde(default)]
    username: Option<String>,
    /// What the token may be used for: any of `read`, `use`, `write`, `manage`, `admin`
    /// (within what its owner may do); unset or empty: everything its owner may do.
    #[serde(default)]
    scopes: Option<Vec<String>>,
}

/// The account acted on: the caller's own, or any when the caller is an administrator.
async fn owner(s: &AppState, caller: &Caller, username: Option<&str>) -> ApiResult<User> {
    let me = &caller.0.user;
    match username {
        None => Ok(me.clone()),
        Some(name) if name == me.username => Ok(me.clone()),
        Some(name) if me.is_admin => Ok(s.auth.user(name).await?),
        Some(_) => Err(ApiError(Error::new(
            keel_core::ErrorCode::PermissionDenied,
            "Only administrators manage other accounts' tokens.",
        ))),
    }
}

pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    req: MlflowRequest<ListIn>,
) -> ApiResult<Json<TokensOut>> {
    let user = owner(&s, &caller, req.message.username.as_deref()).await?;
    let tokens = s.auth.store().list_tokens(user.id).await?;
    Ok(Json(TokensOut {
        tokens: tokens
            .iter()
            .filter(|t| !t.is_session())
            .map(|t| TokenOut::of(t, &user))
            .collect(),
    }))
}

pub async fn issue(
    State(s): State<AppState>,
    caller: Caller,
    req: MlflowRequest<IssueIn>,
) -> ApiResult<Json<IssuedOut>> {
    let m = req.message;
    let user = owner(&s, &caller, m.username.as_deref()).await?;
    let name = m
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| Error::missing_parameter("name"))?;
    if name.len() > 255 || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "A token's name must be at most 255 bytes, without control characters.",
        )
        .into());
    }
    let expires_at = match m.expires_in_days {
        None => None,
        Some(days) if (1..=MAX_EXPIRY_DAYS).contains(&days) => {
            Some(s.auth.now_millis() + days * DAY_MS)
        }
        Some(days) => {
            return Err(Error::invalid(format!(
                "Invalid value {days} for parameter 'expires_in_days' supplied: it must be \
                 between 1 and {MAX_EXPIRY_DAYS}."
            ))
            .into());
        }
    };
    let scopes = keel_auth::scope::parse(m.scopes.as_deref().unwrap_or_default())?;
    let (token, text) = s.auth.issue_token(&user, &name, scopes, expires_at).await?;
    Ok(Json(IssuedOut {
        token: TokenOut::of(&token, &user),
        text,
    }))
}

/// Revokes a token of the caller's (any token, for an administrator); another account's token
/// is reported as not found, so token IDs cannot be probed.
pub async fn revoke(
    State(s): State<AppState>,
    caller: Caller,
    Path(token_id): Path<String>,
) -> ApiResult<Json<super::Empty>> {
    let not_found = || {
        ApiError(Error::not_found(format!(
            "Token with id={token_id} not found"
        )))
    };
    let Some((token, _)) = s.auth.store().token(&token_id).await? else {
        return Err(not_found());
    };
    let me = &caller.0.user;
    if token.user_id != me.id && !me.is_admin {
        return Err(not_found());
    }
    s.auth.revoke_token(&token_id).await?;
    Ok(super::empty())
}

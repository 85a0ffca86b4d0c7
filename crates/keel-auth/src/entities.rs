//! Accounts (users and service accounts), API tokens, roles, their grants and assignments.

use crate::grants::Grant;

/// A person, or a service account used by software (it has no password, only tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountKind {
    User,
    ServiceAccount,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::ServiceAccount => "service_account",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(Self::User),
            "service_account" => Some(Self::ServiceAccount),
            _ => None,
        }
    }
}

/// An account. IDs are integers, as the reference's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub is_admin: bool,
    pub kind: AccountKind,
    /// The argon2id PHC string; `None` for service accounts and single-sign-on users.
    pub password_hash: Option<String>,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a new account is made of (the store assigns its ID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub is_admin: bool,
    pub kind: AccountKind,
    pub password_hash: Option<String>,
    pub created_at: i64,
}

/// An API token as stored: never its secret, only the secret's SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// 12 hex digits, the token's public part.
    pub id: String,
    pub user_id: i64,
    pub name: String,
    /// What the token may be used for; empty means everything its owner may do.
    pub scopes: Vec<String>,
    pub secret_sha256: Vec<u8>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl ApiToken {
    /// Whether the token may be used at `now` (not revoked, not expired).
    pub fn is_live(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }

    /// Whether this token is a web UI session (issued at sign-in, held by the cookie).
    pub fn is_session(&self) -> bool {
        self.scopes.iter().any(|s| s == SESSION_SCOPE)
    }
}

/// A role: named grants in one workspace, assigned to users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: i64,
    pub name: String,
    pub workspace: String,
    pub description: Option<String>,
    pub permissions: Vec<RolePermission>,
}

/// The scope that marks a token as a web UI session: issued at login, accepted only from the
/// session cookie, revoked at logout.
pub const SESSION_SCOPE: &str = "session";

/// The prefix of the per-user roles that hold each user's own grants.
pub const USER_ROLE_PREFIX: &str = "__user_";

/// Whether `name` is a user's own role (not one an administrator made).
pub fn is_user_role(name: &str) -> bool {
    name.starts_with(USER_ROLE_PREFIX)
}

/// The name of the role holding a user's own grants.
pub fn user_role_name(user_id: i64) -> String {
    format!("{USER_ROLE_PREFIX}{user_id}__")
}

/// One grant on a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePermission {
    pub id: i64,
    pub role_id: i64,
    pub grant: Grant,
}

/// A grant that bears on one resource and the role holding it, with the accounts assigned to
/// that role: one line of "who has access". (A role named after a group is also held by the
/// group's members, who are known only when they sign in.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceHolder {
    pub role_id: i64,
    pub role_name: String,
    pub grant: Grant,
    pub usernames: Vec<String>,
}

impl ResourceHolder {
    /// Holders from `(role_id, role_name, grant, username)` rows ordered by role and grant (a
    /// role without accounts has one row with no username).
    pub fn group(
        rows: impl IntoIterator<Item = (i64, String, Grant, Option<String>)>,
    ) -> Vec<Self> {
        let mut holders: Vec<Self> = Vec::new();
        for (role_id, role_name, grant, username) in rows {
            let same = holders
                .last()
                .is_some_and(|h| h.role_id == role_id && h.grant == grant);
            if !same {
                holders.push(Self {
                    role_id,
                    role_name,
                    grant,
                    usernames: Vec::new(),
                });
            }
            if let (Some(name), Some(last)) = (username, holders.last_mut()) {
                last.usernames.push(name);
            }
        }
        holders
    }
}

/// A user assigned to a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    pub id: i64,
    pub user_id: i64,
    pub role_id: i64,
}

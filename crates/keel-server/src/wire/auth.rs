//! Wire types of the auth REST API (the reference's `basic-auth` app): users, roles, their
//! grants and assignments, and the per-user permission views.

use keel_auth::admin::PermissionRow;
use keel_auth::entities::{Assignment, Role, RolePermission, User};
use serde::{Deserialize, Serialize};

/// An ID that may arrive as a number or a numeric string, as the reference accepts.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum IntParam {
    Number(i64),
    Text(String),
}

impl IntParam {
    /// The value, or the reference's error naming `field`.
    pub fn value(&self, field: &str) -> Result<i64, keel_core::Error> {
        match self {
            Self::Number(n) => Ok(*n),
            Self::Text(s) => s.trim().parse().map_err(|_| {
                keel_core::Error::invalid(format!(
                    "Parameter '{field}' must be an integer. Got: '{s}'"
                ))
            }),
        }
    }
}

/// The value of a required integer parameter.
pub fn required_int(field: &str, value: &Option<IntParam>) -> Result<i64, keel_core::Error> {
    value
        .as_ref()
        .ok_or_else(|| keel_core::Error::missing_parameter(field))?
        .value(field)
}

/// The value of a required, non-empty string parameter.
pub fn required<'a>(field: &str, value: &'a Option<String>) -> Result<&'a str, keel_core::Error> {
    value
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| keel_core::Error::missing_parameter(field))
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct UserOut {
    pub id: i64,
    pub username: String,
    pub is_admin: bool,
}

impl From<&User> for UserOut {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            username: u.username.clone(),
            is_admin: u.is_admin,
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RolePermissionOut {
    pub id: i64,
    pub role_id: i64,
    pub resource_type: &'static str,
    pub resource_pattern: String,
    pub permission: &'static str,
}

impl From<&RolePermission> for RolePermissionOut {
    fn from(p: &RolePermission) -> Self {
        Self {
            id: p.id,
            role_id: p.role_id,
            resource_type: p.grant.resource_type.as_str(),
            resource_pattern: p.grant.pattern.clone(),
            permission: p.grant.permission.as_str(),
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RoleOut {
    pub id: i64,
    pub name: String,
    pub workspace: String,
    pub description: Option<String>,
    pub permissions: Vec<RolePermissionOut>,
}

impl From<&Role> for RoleOut {
    fn from(r: &Role) -> Self {
        Self {
            id: r.id,
            name: r.name.clone(),
            workspace: r.workspace.clone(),
            description: r.description.clone(),
            permissions: r.permissions.iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AssignmentOut {
    pub id: i64,
    pub user_id: i64,
    pub role_id: i64,
}

impl From<&Assignment> for AssignmentOut {
    fn from(a: &Assignment) -> Self {
        Self {
            id: a.id,
            user_id: a.user_id,
            role_id: a.role_id,
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PermissionRowOut {
    pub role_id: i64,
    pub role_name: String,
    pub workspace: String,
    pub resource_type: &'static str,
    pub resource_pattern: String,
    pub permission: &'static str,
}

impl From<&PermissionRow> for PermissionRowOut {
    fn from(r: &PermissionRow) -> Self {
        Self {
            role_id: r.role_id,
            role_name: r.role_name.clone(),
            workspace: r.workspace.clone(),
            resource_type: r.grant.resource_type.as_str(),
            resource_pattern: r.grant.pattern.clone(),
            permission: r.grant.permission.as_str(),
        }
    }
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct CreateUserIn {
    pub username: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct UsernameIn {
    pub username: Option<String>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct UpdatePasswordIn {
    pub username: Option<String>,
    pub password: Option<String>,
    pub current_password: Option<String>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct UpdateAdminIn {
    pub username: Option<String>,
    pub is_admin: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct CreateRoleIn {
    pub workspace: Option<String>,
    pub name: Option<String>,
    pub description: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct RoleIdIn {
    pub role_id: Option<IntParam>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct ListRolesIn {
    /// One or more workspaces (repeated in the query string).
    pub workspace: Option<OneOrMany>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(s) => vec![s],
            Self::Many(v) => v,
        }
    }
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct UpdateRoleIn {
    pub role_id: Option<IntParam>,
    pub name: Option<String>,
    pub description: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct AddRolePermissionIn {
    pub role_id: Option<IntParam>,
    pub resource_type: Option<String>,
    pub resource_pattern: Option<String>,
    pub permission: Option<String>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct RolePermissionIdIn {
    pub role_permission_id: Option<IntParam>,
    pub permission: Option<String>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct AssignIn {
    pub username: Option<String>,
    pub role_id: Option<IntParam>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct UserPermissionIn {
    pub username: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub permission: Option<String>,
}

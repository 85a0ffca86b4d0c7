//! Handlers of the auth REST API, as the reference's `basic-auth` app serves it: users
//! (`/api/2.0/mlflow/users/...`), roles with their grants and assignments, per-user grants and
//! the permission views (`/api/3.0/mlflow/...`). Authorization happens before these run (see
//! `authz`); a few routes open to any caller are narrowed here to the caller's own account.

use axum::Json;
use axum::extract::State;
use keel_auth::entities::AccountKind;
use keel_auth::store::RoleUpdate;
use keel_core::{Error, ErrorCode};
use serde::Serialize;

use super::{Empty, empty};
use crate::authz::Caller;
use crate::authz::locate::DEFAULT_WORKSPACE;
use crate::error::{ApiError, ApiResult};
use crate::extract::MlflowRequest;
use crate::state::AppState;
use crate::wire::auth::*;
use crate::workspace::ActiveWorkspace;

#[derive(Serialize, schemars::JsonSchema)]
pub struct UserResponse {
    user: UserOut,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct CurrentUserOut {
    user: UserOut,
    is_basic_auth: bool,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct ListedUser {
    id: i64,
    username: String,
    is_admin: bool,
    /// `user` or `service_account` (Keel's; the reference has only users).
    kind: &'static str,
    roles: Vec<RoleOut>,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct UsersOut {
    users: Vec<ListedUser>,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct RoleResponse {
    role: RoleOut,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct RolesOut {
    roles: Vec<RoleOut>,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct RolePermissionResponse {
    role_permission: RolePermissionOut,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct RolePermissionsOut {
    role_permissions: Vec<RolePermissionOut>,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct AssignmentResponse {
    assignment: AssignmentOut,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct AssignmentsOut {
    assignments: Vec<AssignmentOut>,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct PermissionsOut {
    is_admin: bool,
    permissions: Vec<PermissionRowOut>,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct UserPermissionOut {
    allowed: bool,
    permission: &'static str,
}

fn denied() -> ApiError {
    ApiError(Error::new(ErrorCode::PermissionDenied, "Permission denied"))
}

/// Routes open to any caller that act on one account: only its owner or an administrator.
fn self_or_admin(caller: &Caller, username: &str) -> ApiResult<()> {
    let user = &caller.0.user;
    if user.is_admin || user.username == username {
        Ok(())
    } else {
        Err(denied())
    }
}

pub async fn create_user(
    State(s): State<AppState>,
    req: MlflowRequest<CreateUserIn>,
) -> ApiResult<Json<UserResponse>> {
    let m = req.message;
    let username = required("username", &m.username)?;
    let password = required("password", &m.password)?;
    let user = s
        .auth
        .create_user(username, Some(password), false, AccountKind::User)
        .await?;
    Ok(Json(UserResponse {
        user: (&user).into(),
    }))
}

/// `POST /api/3.0/keel/service-accounts`: an account for a program, with no password (it signs
/// in with API tokens an administrator issues for it).
pub async fn create_service_account(
    State(s): State<AppState>,
    req: MlflowRequest<UsernameIn>,
) -> ApiResult<Json<UserResponse>> {
    let username = required("username", &req.message.username)?;
    let user = s
        .auth
        .create_user(username, None, false, AccountKind::ServiceAccount)
        .await?;
    Ok(Json(UserResponse {
        user: (&user).into(),
    }))
}

pub async fn get_user(
    State(s): State<AppState>,
    caller: Caller,
    req: MlflowRequest<UsernameIn>,
) -> ApiResult<Json<UserResponse>> {
    let username = required("username", &req.message.username)?;
    self_or_admin(&caller, username)?;
    let user = s.auth.user(username).await?;
    Ok(Json(UserResponse {
        user: (&user).into(),
    }))
}

pub async fn current_user(caller: Caller) -> Json<CurrentUserOut> {
    Json(CurrentUserOut {
        user: (&caller.0.user).into(),
        is_basic_auth: true,
    })
}

pub async fn list_users(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<UsersOut>> {
    let mut users = Vec::new();
    for u in s.auth.store().list_users().await? {
        // Roles are shown to administrators and to each user for their own row.
        let roles = if caller.0.user.is_admin || caller.0.user.id == u.id {
            s.auth
                .store()
                .user_roles(u.id)
                .await?
                .iter()
                .map(Into::into)
                .collect()
        } else {
            Vec::new()
        };
        users.push(ListedUser {
            id: u.id,
            kind: u.kind.as_str(),
            username: u.username,
            is_admin: u.is_admin,
            roles,
        });
    }
    Ok(Json(UsersOut { users }))
}

pub async fn update_password(
    State(s): State<AppState>,
    caller: Caller,
    req: MlflowRequest<UpdatePasswordIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    let username = required("username", &m.username)?;
    self_or_admin(&caller, username)?;
    let password = required("password", &m.password)?;
    let user = s.auth.user(username).await?;
    // Changing one's own password needs the current one; an administrator resets others'.
    let current = if user.id == caller.0.user.id {
        Some(m.current_password.as_deref().ok_or_else(|| {
            Error::invalid("Current password is required when changing your own password.")
        })?)
    } else {
        None
    };
    s.auth.set_password(&user, password, current).await?;
    Ok(empty())
}

pub async fn update_admin(
    State(s): State<AppState>,
    req: MlflowRequest<UpdateAdminIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    let username = required("username", &m.username)?;
    let is_admin = match m.is_admin {
        Some(serde_json::Value::Bool(b)) => b,
        None => return Err(Error::missing_parameter("is_admin").into()),
        Some(other) => {
            return Err(Error::invalid(format!(
                "Invalid value {other} for parameter 'is_admin' supplied: it must be a boolean."
            ))
            .into());
        }
    };
    let user = s.auth.user(username).await?;
    s.auth.set_admin(&user, is_admin).await?;
    Ok(empty())
}

pub async fn delete_user(
    State(s): State<AppState>,
    caller: Caller,
    req: MlflowRequest<UsernameIn>,
) -> ApiResult<Json<Empty>> {
    let username = required("username", &req.message.username)?;
    s.auth.delete_user(&caller.0, username).await?;
    Ok(empty())
}

fn description(
    value: Option<serde_json::Value>,
    on_update: bool,
) -> ApiResult<Option<Option<String>>> {
    match value {
        None => Ok(None),
        Some(serde_json::Value::Null) => Ok(Some(None)),
        Some(serde_json::Value::String(s)) => Ok(Some(Some(s))),
        Some(_) => Err(Error::invalid(if on_update {
            "Role description must be a string."
        } else {
            "Role description must be a string or null."
        })
        .into()),
    }
}

pub async fn create_role(
    State(s): State<AppState>,
    req: MlflowRequest<CreateRoleIn>,
) -> ApiResult<Json<RoleResponse>> {
    let m = req.message;
    let workspace = m.workspace.as_deref().unwrap_or(DEFAULT_WORKSPACE);
    let name = m.name.as_deref().unwrap_or_default();
    let description = description(m.description, false)?.flatten();
    let role = s
        .auth
        .create_role(workspace, name, description.as_deref())
        .await?;
    Ok(Json(RoleResponse {
        role: (&role).into(),
    }))
}

/// Reading a role is open to administrators and to the holders of any role in its workspace.
async fn readable_role(
    s: &AppState,
    caller: &Caller,
    role_id: i64,
) -> ApiResult<keel_auth::entities::Role> {
    let role = s.auth.role(role_id).await;
    let user = &caller.0.user;
    match role {
        Ok(role) if user.is_admin || s.auth.has_role_in(user, &role.workspace).await? => Ok(role),
        Ok(_) => Err(denied()),
        Err(e) if user.is_admin => Err(e.into()),
        Err(_) => Err(denied()),
    }
}

pub async fn get_role(
    State(s): State<AppState>,
    caller: Caller,
    req: MlflowRequest<RoleIdIn>,
) -> ApiResult<Json<RoleResponse>> {
    let id = required_int("role_id", &req.message.role_id)?;
    let role = readable_role(&s, &caller, id).await?;
    Ok(Json(RoleResponse {
        role: (&role).into(),
    }))
}

pub async fn list_roles(
    State(s): State<AppState>,
    caller: Caller,
    req: MlflowRequest<ListRolesIn>,
) -> ApiResult<Json<RolesOut>> {
    let workspaces = req.message.workspace.map(OneOrMany::into_vec);
    let user = &caller.0.user;
    match &workspaces {
        None if !user.is_admin => return Err(denied()),
        Some(ws) => {
            if ws.iter().any(|w| w.trim().is_empty()) {
                return Err(Error::invalid(
                    "Parameter 'workspace' must be a non-empty string when provided.",
                )
                .into());
            }
            if !user.is_admin {
                for w in ws {
                    if !s.auth.has_role_in(user, w).await? {
                        return Err(denied());
                    }
                }
            }
        }
        None => {}
    }
    let roles = s.auth.store().list_roles(workspaces.as_deref()).await?;
    Ok(Json(RolesOut {
        roles: roles.iter().map(Into::into).collect(),
    }))
}

pub async fn update_role(
    State(s): State<AppState>,
    req: MlflowRequest<UpdateRoleIn>,
) -> ApiResult<Json<RoleResponse>> {
    let m = req.message;
    let id = required_int("role_id", &m.role_id)?;
    let update = RoleUpdate {
        name: m.name,
        description: description(m.description, true)?,
    };
    let role = s.auth.update_role(id, &update).await?;
    Ok(Json(RoleResponse {
        role: (&role).into(),
    }))
}

pub async fn delete_role(
    State(s): State<AppState>,
    req: MlflowRequest<RoleIdIn>,
) -> ApiResult<Json<Empty>> {
    let id = required_int("role_id", &req.message.role_id)?;
    s.auth.store().delete_role(id).await?;
    Ok(empty())
}

pub async fn add_role_permission(
    State(s): State<AppState>,
    req: MlflowRequest<AddRolePermissionIn>,
) -> ApiResult<Json<RolePermissionResponse>> {
    let m = req.message;
    let id = required_int("role_id", &m.role_id)?;
    let p = s
        .auth
        .add_role_permission(
            id,
            required("resource_type", &m.resource_type)?,
            required("resource_pattern", &m.resource_pattern)?,
            required("permission", &m.permission)?,
        )
        .await?;
    Ok(Json(RolePermissionResponse {
        role_permission: (&p).into(),
    }))
}

pub async fn remove_role_permission(
    State(s): State<AppState>,
    req: MlflowRequest<RolePermissionIdIn>,
) -> ApiResult<Json<Empty>> {
    let id = required_int("role_permission_id", &req.message.role_permission_id)?;
    s.auth.store().remove_role_permission(id).await?;
    Ok(empty())
}

pub async fn list_role_permissions(
    State(s): State<AppState>,
    caller: Caller,
    req: MlflowRequest<RoleIdIn>,
) -> ApiResult<Json<RolePermissionsOut>> {
    let id = required_int("role_id", &req.message.role_id)?;
    let role = readable_role(&s, &caller, id).await?;
    Ok(Json(RolePermissionsOut {
        role_permissions: role.permissions.iter().map(Into::into).collect(),
    }))
}

pub async fn update_role_permission(
    State(s): State<AppState>,
    req: MlflowRequest<RolePermissionIdIn>,
) -> ApiResult<Json<RolePermissionResponse>> {
    let m = req.message;
    let id = required_int("role_permission_id", &m.role_permission_id)?;
    let p = s
        .auth
        .update_role_permission(id, required("permission", &m.permission)?)
        .await?;
    Ok(Json(RolePermissionResponse {
        role_permission: (&p).into(),
    }))
}

pub async fn assign_role(
    State(s): State<AppState>,
    req: MlflowRequest<AssignIn>,
) -> ApiResult<Json<AssignmentResponse>> {
    let m = req.message;
    let a = s
        .auth
        .assign_role(
            required("username", &m.username)?,
            required_int("role_id", &m.role_id)?,
        )
        .await?;
    Ok(Json(AssignmentResponse {
        assignment: (&a).into(),
    }))
}

pub async fn unassign_role(
    State(s): State<AppState>,
    req: MlflowRequest<AssignIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    s.auth
        .unassign_role(
            required("username", &m.username)?,
            required_int("role_id", &m.role_id)?,
        )
        .await?;
    Ok(empty())
}

pub async fn list_role_users(
    State(s): State<AppState>,
    req: MlflowRequest<RoleIdIn>,
) -> ApiResult<Json<AssignmentsOut>> {
    let id = required_int("role_id", &req.message.role_id)?;
    s.auth.role(id).await?;
    let assignments = s.auth.store().role_assignments(id).await?;
    Ok(Json(AssignmentsOut {
        assignments: assignments.iter().map(Into::into).collect(),
    }))
}

pub async fn list_user_roles(
    State(s): State<AppState>,
    caller: Caller,
    req: MlflowRequest<UsernameIn>,
) -> ApiResult<Json<RolesOut>> {
    let username = required("username", &req.message.username)?;
    self_or_admin(&caller, username)?;
    let user = s.auth.user(username).await?;
    let roles = s.auth.store().user_roles(user.id).await?;
    Ok(Json(RolesOut {
        roles: roles.iter().map(Into::into).collect(),
    }))
}

pub async fn current_permissions(
    State(s): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<PermissionsOut>> {
    let rows = s.auth.permission_rows(&caller.0.user).await?;
    Ok(Json(PermissionsOut {
        is_admin: caller.0.user.is_admin,
        permissions: rows.iter().map(Into::into).collect(),
    }))
}

pub async fn list_user_permissions(
    State(s): State<AppState>,
    caller: Caller,
    req: MlflowRequest<UsernameIn>,
) -> ApiResult<Json<PermissionsOut>> {
    let username = required("username", &req.message.username)?;
    self_or_admin(&caller, username)?;
    let user = s.auth.user(username).await?;
    let rows = s.auth.permission_rows(&user).await?;
    Ok(Json(PermissionsOut {
        is_admin: user.is_admin,
        permissions: rows.iter().map(Into::into).collect(),
    }))
}

pub async fn grant_permission(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<UserPermissionIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    s.auth
        .grant_user(
            required("username", &m.username)?,
            required("resource_type", &m.resource_type)?,
            required("resource_id", &m.resource_id)?,
            required("permission", &m.permission)?,
            workspace.name(),
        )
        .await?;
    Ok(empty())
}

pub async fn revoke_permission(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<UserPermissionIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    s.auth
        .revoke_user(
            required("username", &m.username)?,
            required("resource_type", &m.resource_type)?,
            required("resource_id", &m.resource_id)?,
            workspace.name(),
        )
        .await?;
    Ok(empty())
}

pub async fn get_permission(
    State(s): State<AppState>,
    caller: Caller,
    workspace: ActiveWorkspace,
    req: MlflowRequest<UserPermissionIn>,
) -> ApiResult<Json<UserPermissionOut>> {
    let m = req.message;
    let username = required("username", &m.username)?;
    self_or_admin(&caller, username)?;
    let (allowed, level) = s
        .auth
        .user_permission(
            username,
            required("resource_type", &m.resource_type)?,
            required("resource_id", &m.resource_id)?,
            workspace.name(),
        )
        .await?;
    Ok(Json(UserPermissionOut {
        allowed,
        permission: level.as_str(),
    }))
}

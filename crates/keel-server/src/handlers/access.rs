//! `POST /api/3.0/keel/permissions/mine`: the caller's level on a page's resources at once, so
//! the web UI offers only the actions the caller may take (the server still decides each
//! request); `GET /api/3.0/keel/permissions/holders`: who has access to one resource, for those
//! who manage it.

use axum::Json;
use axum::extract::State;
use keel_auth::Capability;
use keel_auth::entities::is_user_role;
use keel_core::Error;
use serde::{Deserialize, Serialize};

use crate::authz::Caller;
use crate::error::ApiResult;
use crate::extract::MlflowRequest;
use crate::state::AppState;
use crate::workspace::ActiveWorkspace;

/// The most resources one request asks about (a page shows far fewer).
const MAX_RESOURCE_IDS: usize = 1000;

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct MineIn {
    /// `experiment`, `registered_model`, `prompt`, ...
    #[serde(default)]
    resource_type: Option<String>,
    #[serde(default)]
    resource_ids: Vec<String>,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct LevelOut {
    resource_id: String,
    permission: &'static str,
    can_read: bool,
    can_update: bool,
    can_delete: bool,
    can_manage: bool,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct MineOut {
    permissions: Vec<LevelOut>,
}

pub async fn mine(
    State(s): State<AppState>,
    caller: Caller,
    workspace: ActiveWorkspace,
    req: MlflowRequest<MineIn>,
) -> ApiResult<Json<MineOut>> {
    let m = req.message;
    let resource_type = m
        .resource_type
        .ok_or_else(|| Error::missing_parameter("resource_type"))?;
    if m.resource_ids.len() > MAX_RESOURCE_IDS {
        return Err(Error::invalid(format!(
            "At most {MAX_RESOURCE_IDS} resource_ids per request, not {}.",
            m.resource_ids.len()
        ))
        .into());
    }
    let levels = s
        .auth
        .levels_of(&caller.0, &resource_type, &m.resource_ids, workspace.name())
        .await?;
    Ok(Json(MineOut {
        permissions: m
            .resource_ids
            .into_iter()
            .zip(levels)
            .map(|(resource_id, level)| LevelOut {
                resource_id,
                permission: level.as_str(),
                can_read: level.allows(Capability::Read),
                can_update: level.allows(Capability::Update),
                can_delete: level.allows(Capability::Delete),
                can_manage: level.allows(Capability::Manage),
            })
            .collect(),
    }))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct HoldersIn {
    /// `experiment`, `registered_model`, `prompt`, ...
    #[serde(default)]
    resource_type: Option<String>,
    #[serde(default)]
    resource_id: Option<String>,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct HolderOut {
    /// `user`: one user's own grant; `role`: a role's grant, held by its accounts and by the
    /// members of a group of the same name.
    kind: &'static str,
    role_id: i64,
    /// The role's name (absent for a user's own grant).
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    users: Vec<String>,
    /// The grant's type: the resource's own type, or `workspace` for workspace administrators.
    resource_type: &'static str,
    /// The resource's ID, or `*` for a grant on every resource of the type.
    pattern: String,
    permission: &'static str,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct HoldersOut {
    holders: Vec<HolderOut>,
    /// What a signed-in user no grant reaches gets (administrators have every level).
    absent_permission: &'static str,
    /// Every positive grant is at least this.
    default_permission: &'static str,
    /// Whether there were more grants and accounts than were listed.
    truncated: bool,
}

/// `GET /api/3.0/keel/permissions/holders`: who has access to one resource, for its managers.
pub async fn holders(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<HoldersIn>,
) -> ApiResult<Json<HoldersOut>> {
    let m = req.message;
    let resource_type = m
        .resource_type
        .ok_or_else(|| Error::missing_parameter("resource_type"))?;
    let resource_id = m
        .resource_id
        .ok_or_else(|| Error::missing_parameter("resource_id"))?;
    let access = s
        .auth
        .who_has_access(workspace.name(), &resource_type, &resource_id)
        .await?;
    let holders = access
        .holders
        .into_iter()
        .map(|h| {
            let own = is_user_role(&h.role_name);
            HolderOut {
                kind: if own { "user" } else { "role" },
                role_id: h.role_id,
                role: (!own).then_some(h.role_name),
                users: h.usernames,
                resource_type: h.grant.resource_type.as_str(),
                pattern: h.grant.pattern,
                permission: h.grant.permission.as_str(),
            }
        })
        .collect();
    Ok(Json(HoldersOut {
        holders,
        absent_permission: access.absent.as_str(),
        default_permission: access.default_permission.as_str(),
        truncated: access.truncated,
    }))
}

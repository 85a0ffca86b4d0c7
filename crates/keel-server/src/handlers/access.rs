//! `POST /api/3.0/keel/permissions/mine`: the caller's level on a page's resources at once, so
//! the web UI offers only the actions the caller may take (the server still decides each
//! request).

use axum::Json;
use axum::extract::State;
use keel_auth::Capability;
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

//! The workspace API (`/api/3.0/mlflow/workspaces`), as the reference serves it: anyone signed
//! in lists the workspaces they belong to, administrators create, change and delete them. A
//! new workspace gets the reference's two seeded roles, `admin` (MANAGE on everything in it)
//! and `user` (USE: may create in it); deleting one deletes its roles with it, and a CASCADE
//! deletion the artifacts Keel kept for it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use keel_core::workspaces::{DEFAULT_WORKSPACE, DeletionMode, Workspace, WorkspaceUpdate};
use keel_core::{Error, ErrorCode};
use serde::{Deserialize, Serialize};

use crate::authz::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::MlflowRequest;
use crate::state::AppState;

/// A workspace on the wire (unset fields are left out, as proto2 does).
#[derive(Serialize, schemars::JsonSchema)]
pub struct WorkspaceJson {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_artifact_root: Option<String>,
}

impl From<Workspace> for WorkspaceJson {
    fn from(w: Workspace) -> Self {
        Self {
            name: w.name,
            description: w.description,
            default_artifact_root: w.default_artifact_root,
        }
    }
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct WorkspaceOut {
    workspace: WorkspaceJson,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct WorkspacesOut {
    workspaces: Vec<WorkspaceJson>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct CreateIn {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    default_artifact_root: Option<String>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct UpdateIn {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    default_artifact_root: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct DeleteIn {
    /// `RESTRICT` (the default), `CASCADE` or `SET_DEFAULT`.
    #[serde(default)]
    mode: Option<String>,
}

/// The roles every new workspace starts with: `(name, description, permission)` on
/// `(workspace, *)`.
const SEEDED_ROLES: [(&str, &str, &str); 2] = [
    (
        "admin",
        "Full MANAGE authority over the workspace.",
        "MANAGE",
    ),
    (
        "user",
        "May use and create resources in the workspace.",
        "USE",
    ),
];

/// The workspace API answers only when workspaces are on; the client turns this answer into
/// its own "workspaces are not enabled" error at once (a 503 would be retried first).
fn served(s: &AppState, uri: &Uri) -> ApiResult<()> {
    if s.workspaces.enabled() {
        return Ok(());
    }
    Err(ApiError(Error::new(
        ErrorCode::EndpointNotFound,
        format!(
            "Endpoint: {} disabled because the server is running without workspaces support. \
             To enable workspaces, run `keel server` with `--enable-workspaces`",
            uri.path()
        ),
    )))
}

/// Whether the caller sees `workspace`: administrators see all, others `default` and those
/// they hold a role in.
async fn visible(s: &AppState, caller: &Caller, workspace: &str) -> ApiResult<bool> {
    let user = &caller.0.user;
    Ok(user.is_admin
        || workspace == DEFAULT_WORKSPACE
        || s.auth.has_role_in(user, workspace).await?)
}

pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    uri: Uri,
) -> ApiResult<Json<WorkspacesOut>> {
    served(&s, &uri)?;
    let mut out = Vec::new();
    for w in s.workspaces.list().await? {
        if visible(&s, &caller, &w.name).await? {
            out.push(w.into());
        }
    }
    Ok(Json(WorkspacesOut { workspaces: out }))
}

pub async fn get(
    State(s): State<AppState>,
    caller: Caller,
    uri: Uri,
    Path(name): Path<String>,
) -> ApiResult<Json<WorkspaceOut>> {
    served(&s, &uri)?;
    let workspace = s.workspaces.get(&name).await?;
    if !visible(&s, &caller, &name).await? {
        return Err(ApiError(Error::new(
            ErrorCode::PermissionDenied,
            "Permission denied",
        )));
    }
    Ok(Json(WorkspaceOut {
        workspace: workspace.into(),
    }))
}

pub async fn create(
    State(s): State<AppState>,
    uri: Uri,
    req: MlflowRequest<CreateIn>,
) -> ApiResult<Response> {
    served(&s, &uri)?;
    let m = req.message;
    let workspace = s
        .workspaces
        .create(Workspace {
            name: m.name.unwrap_or_default(),
            description: m.description,
            default_artifact_root: m.default_artifact_root,
        })
        .await?;
    for (role, description, permission) in SEEDED_ROLES {
        let seeded = async {
            let r = s
                .auth
                .create_role(&workspace.name, role, Some(description))
                .await?;
            s.auth
                .add_role_permission(r.id, "workspace", "*", permission)
                .await
        };
        if let Err(e) = seeded.await {
            // As the reference: the workspace stands; its roles can be made by hand.
            tracing::warn!(workspace = %workspace.name, role, error = %e, "cannot seed a role");
        }
    }
    Ok((
        StatusCode::CREATED,
        Json(WorkspaceOut {
            workspace: workspace.into(),
        }),
    )
        .into_response())
}

pub async fn update(
    State(s): State<AppState>,
    uri: Uri,
    Path(name): Path<String>,
    req: MlflowRequest<UpdateIn>,
) -> ApiResult<Json<WorkspaceOut>> {
    served(&s, &uri)?;
    let m = req.message;
    let workspace = s
        .workspaces
        .update(
            &name,
            WorkspaceUpdate {
                description: m.description,
                default_artifact_root: m.default_artifact_root,
            },
        )
        .await?;
    s.workspace_cache.clear();
    Ok(Json(WorkspaceOut {
        workspace: workspace.into(),
    }))
}

pub async fn delete(
    State(s): State<AppState>,
    uri: Uri,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    served(&s, &uri)?;
    // The mode is in the query string, as the client sends it.
    let query: DeleteIn = crate::extract::parse_query(uri.query().unwrap_or(""))?;
    let mode = DeletionMode::parse(query.mode.as_deref().unwrap_or("RESTRICT"))?;
    s.workspaces.delete(&name, mode).await?;
    s.workspace_cache.clear();
    if mode == DeletionMode::Cascade {
        remove_artifacts(&s, &name).await;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// After a CASCADE deletion, the folder where Keel kept the workspace's artifacts
/// (`workspaces/<name>/`). Experiments given a workspace root of their own keep theirs there.
async fn remove_artifacts(s: &AppState, workspace: &str) {
    let removed = match keel_artifacts::ArtifactPath::parse(&format!("workspaces/{workspace}")) {
        Ok(folder) => s.artifacts.delete(&folder).await,
        Err(e) => Err(e),
    };
    match removed {
        Ok(()) => {}
        Err(e) if e.code == ErrorCode::ResourceDoesNotExist => {}
        Err(e) => tracing::warn!(
            workspace,
            error = %e,
            "workspace deleted, but its artifact folder could not be removed"
        ),
    }
}

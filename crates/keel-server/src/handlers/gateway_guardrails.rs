//! The AI gateway's guardrails, in the request's workspace (`gateway/guardrails/*`, as the
//! reference's): create, read, list and delete them, and add them to endpoints in an order.
//! A guardrail's author is the signed-in caller.

use axum::Json;
use axum::extract::State;
use keel_core::Error;

use super::{Empty, empty};
use crate::authz::Caller;
use crate::error::ApiResult;
use crate::extract::MlflowRequest;
use crate::state::AppState;
use crate::wire::gateway::*;
use crate::workspace::ActiveWorkspace;

fn author(caller: &Caller) -> Option<String> {
    Some(caller.0.user.username.clone()).filter(|u| !u.is_empty())
}

/// An `execution_order` as the proto's int32.
fn order(given: Option<i64>) -> Result<Option<i32>, Error> {
    given
        .map(|n| {
            i32::try_from(n).map_err(|_| {
                Error::invalid(format!(
                    "Invalid value {n} for parameter 'execution_order' supplied: it must fit \
                     in a 32-bit integer."
                ))
            })
        })
        .transpose()
}

pub async fn create_guardrail(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    caller: Caller,
    req: MlflowRequest<CreateGuardrailIn>,
) -> ApiResult<Json<GuardrailResponse>> {
    let guardrail = s
        .gateway
        .create_guardrail(workspace.name(), req.message.into(), author(&caller))
        .await?;
    Ok(Json(GuardrailResponse {
        guardrail: guardrail.into(),
    }))
}

pub async fn get_guardrail(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<GuardrailIdIn>,
) -> ApiResult<Json<GuardrailResponse>> {
    let guardrail = s
        .gateway
        .get_guardrail(workspace.name(), req.message.guardrail_id)
        .await?;
    Ok(Json(GuardrailResponse {
        guardrail: guardrail.into(),
    }))
}

pub async fn delete_guardrail(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<GuardrailIdIn>,
) -> ApiResult<Json<Empty>> {
    s.gateway
        .delete_guardrail(workspace.name(), req.message.guardrail_id)
        .await?;
    Ok(empty())
}

pub async fn list_guardrails(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<ListBudgetPoliciesIn>,
) -> ApiResult<Json<GuardrailsOut>> {
    let m = req.message;
    let page = s
        .gateway
        .list_guardrails(workspace.name(), m.max_results, m.page_token.as_deref())
        .await?;
    Ok(Json(GuardrailsOut {
        guardrails: page.items.into_iter().map(Into::into).collect(),
        next_page_token: page.next_page_token,
    }))
}

pub async fn add_guardrail_to_endpoint(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    caller: Caller,
    req: MlflowRequest<GuardrailConfigIn>,
) -> ApiResult<Json<GuardrailConfigResponse>> {
    let m = req.message;
    let config = s
        .gateway
        .add_guardrail_to_endpoint(
            workspace.name(),
            m.endpoint_id,
            m.guardrail_id,
            order(m.execution_order)?,
            author(&caller),
        )
        .await?;
    Ok(Json(GuardrailConfigResponse {
        config: config.into(),
    }))
}

pub async fn update_guardrail_config(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<GuardrailConfigIn>,
) -> ApiResult<Json<GuardrailConfigResponse>> {
    let m = req.message;
    let config = s
        .gateway
        .update_guardrail_config(
            workspace.name(),
            m.endpoint_id,
            m.guardrail_id,
            order(m.execution_order)?,
        )
        .await?;
    Ok(Json(GuardrailConfigResponse {
        config: config.into(),
    }))
}

pub async fn remove_guardrail_from_endpoint(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<GuardrailConfigIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    s.gateway
        .remove_guardrail_from_endpoint(workspace.name(), m.endpoint_id, m.guardrail_id)
        .await?;
    Ok(empty())
}

pub async fn list_endpoint_guardrails(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<EndpointIdIn>,
) -> ApiResult<Json<GuardrailConfigsOut>> {
    let configs = s
        .gateway
        .endpoint_guardrails(workspace.name(), req.message.endpoint_id)
        .await?;
    Ok(Json(GuardrailConfigsOut {
        configs: configs.into_iter().map(Into::into).collect(),
    }))
}

//! The limits the AI gateway holds calls to, in the request's workspace: budget policies
//! (`gateway/budgets/*`, as the reference's) and Keel's rate limits
//! (`/api/3.0/keel/gateway/rate-limits/*`), each with its current window — what has been
//! used in it and what calls in flight hold; and the usage ledger (`gateway/usage`): calls,
//! tokens and cost per day, endpoint, model and user.

use axum::Json;
use axum::extract::State;
use keel_gateway::PolicyAuthor;

use super::{Empty, empty};
use crate::authz::Caller;
use crate::error::ApiResult;
use crate::extract::MlflowRequest;
use crate::state::AppState;
use crate::wire::gateway::*;
use crate::workspace::ActiveWorkspace;

/// Who changes a policy: whether a server administrator, and whether calls name their user.
async fn author(s: &AppState, caller: &Caller) -> ApiResult<PolicyAuthor> {
    Ok(PolicyAuthor {
        server_admin: caller.0.user.is_admin,
        users_authenticated: !s.auth.is_open().await?,
    })
}

pub async fn create_budget_policy(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    caller: Caller,
    req: MlflowRequest<CreateBudgetPolicyIn>,
) -> ApiResult<Json<BudgetPolicyResponse>> {
    let author = author(&s, &caller).await?;
    let policy = s
        .gateway
        .create_budget_policy(workspace.name(), req.message.into(), author)
        .await?;
    Ok(Json(BudgetPolicyResponse {
        budget_policy: policy.into(),
    }))
}

pub async fn get_budget_policy(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<BudgetPolicyIdIn>,
) -> ApiResult<Json<BudgetPolicyResponse>> {
    let policy = s
        .gateway
        .get_budget_policy(workspace.name(), req.message.budget_policy_id)
        .await?;
    Ok(Json(BudgetPolicyResponse {
        budget_policy: policy.into(),
    }))
}

pub async fn update_budget_policy(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    caller: Caller,
    req: MlflowRequest<UpdateBudgetPolicyIn>,
) -> ApiResult<Json<BudgetPolicyResponse>> {
    let author = author(&s, &caller).await?;
    let policy = s
        .gateway
        .update_budget_policy(workspace.name(), req.message.into(), author)
        .await?;
    Ok(Json(BudgetPolicyResponse {
        budget_policy: policy.into(),
    }))
}

pub async fn delete_budget_policy(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    caller: Caller,
    req: MlflowRequest<BudgetPolicyIdIn>,
) -> ApiResult<Json<Empty>> {
    let author = author(&s, &caller).await?;
    s.gateway
        .delete_budget_policy(workspace.name(), req.message.budget_policy_id, author)
        .await?;
    Ok(empty())
}

pub async fn list_budget_policies(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<ListBudgetPoliciesIn>,
) -> ApiResult<Json<BudgetPoliciesOut>> {
    let m = req.message;
    let page = s
        .gateway
        .list_budget_policies(workspace.name(), m.max_results, m.page_token.as_deref())
        .await?;
    Ok(Json(BudgetPoliciesOut {
        budget_policies: page.items.into_iter().map(Into::into).collect(),
        next_page_token: page.next_page_token,
    }))
}

/// `budgets/windows`: the current window of the workspace's policies and of every GLOBAL one.
pub async fn list_budget_windows(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
) -> ApiResult<Json<BudgetWindowsOut>> {
    let windows = s.gateway.budget_windows(workspace.name()).await?;
    Ok(Json(BudgetWindowsOut {
        windows: windows.into_iter().map(Into::into).collect(),
    }))
}

pub async fn create_rate_limit(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    caller: Caller,
    req: MlflowRequest<RateLimitIn>,
) -> ApiResult<Json<RateLimitResponse>> {
    let author = author(&s, &caller).await?;
    let limit = s
        .gateway
        .create_rate_limit(workspace.name(), req.message.into(), author)
        .await?;
    Ok(Json(RateLimitResponse {
        rate_limit: limit.into(),
    }))
}

pub async fn get_rate_limit(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<RateLimitIdIn>,
) -> ApiResult<Json<RateLimitResponse>> {
    let limit = s
        .gateway
        .get_rate_limit(workspace.name(), req.message.rate_limit_id)
        .await?;
    Ok(Json(RateLimitResponse {
        rate_limit: limit.into(),
    }))
}

pub async fn update_rate_limit(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    caller: Caller,
    req: MlflowRequest<RateLimitIn>,
) -> ApiResult<Json<RateLimitResponse>> {
    let author = author(&s, &caller).await?;
    let limit = s
        .gateway
        .update_rate_limit(workspace.name(), req.message.into(), author)
        .await?;
    Ok(Json(RateLimitResponse {
        rate_limit: limit.into(),
    }))
}

pub async fn delete_rate_limit(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    caller: Caller,
    req: MlflowRequest<RateLimitIdIn>,
) -> ApiResult<Json<Empty>> {
    let author = author(&s, &caller).await?;
    s.gateway
        .delete_rate_limit(workspace.name(), req.message.rate_limit_id, author)
        .await?;
    Ok(empty())
}

pub async fn list_rate_limits(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<ListBudgetPoliciesIn>,
) -> ApiResult<Json<RateLimitsOut>> {
    let m = req.message;
    let page = s
        .gateway
        .list_rate_limits(workspace.name(), m.max_results, m.page_token.as_deref())
        .await?;
    Ok(Json(RateLimitsOut {
        rate_limits: page.items.into_iter().map(Into::into).collect(),
        next_page_token: page.next_page_token,
    }))
}

/// `rate-limits/windows`: the current minute of the workspace's rate limits and of every
/// GLOBAL one.
pub async fn list_rate_windows(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
) -> ApiResult<Json<RateWindowsOut>> {
    let windows = s.gateway.rate_windows(workspace.name()).await?;
    Ok(Json(RateWindowsOut {
        windows: windows.into_iter().map(Into::into).collect(),
    }))
}

/// `GET /api/3.0/keel/gateway/usage`.
pub async fn usage(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<UsageIn>,
) -> ApiResult<Json<UsageOut>> {
    use keel_gateway::ledger::{format_day, parse_day};
    let m = req.message;
    let today = chrono::Utc::now().timestamp_millis().div_euclid(86_400_000);
    let to_day = match m.end_day.as_deref() {
        Some(d) => parse_day("end_day", d)?,
        None => today,
    };
    let from_day = match m.start_day.as_deref() {
        Some(d) => parse_day("start_day", d)?,
        None => to_day - 29,
    };
    let query = keel_gateway::UsageQuery {
        workspace: workspace.name().to_owned(),
        from_day,
        to_day,
        endpoint_id: m.endpoint_id.filter(|e| !e.is_empty()),
        username: m.username.filter(|u| !u.is_empty()),
        group_by: keel_gateway::GroupBy::parse(m.group_by.as_deref().unwrap_or_default())?,
    };
    let rows = s.gateway.usage(query).await?;
    Ok(Json(UsageOut {
        start_day: format_day(from_day),
        end_day: format_day(to_day),
        rows: rows.into_iter().map(Into::into).collect(),
    }))
}

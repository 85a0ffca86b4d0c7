//! Handlers of the webhook routes (`webhooks`, `webhooks/{webhook_id}`, `.../test`) and of
//! Keel's delivery log (`webhooks/{webhook_id}/deliveries`).

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;

use super::{Empty, empty};
use crate::error::ApiResult;
use crate::extract::MlflowRequest;
use crate::state::AppState;
use crate::wire::webhooks::*;

#[derive(Serialize, schemars::JsonSchema)]
pub struct WebhookResponse {
    webhook: WebhookOut,
}

fn webhook_out(w: keel_core::webhooks::Webhook) -> Json<WebhookResponse> {
    Json(WebhookResponse { webhook: w.into() })
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct WebhooksOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    webhooks: Vec<WebhookOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct TestOut {
    result: TestResultOut,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct DeliveriesOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    deliveries: Vec<DeliveryOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

pub async fn create(
    State(s): State<AppState>,
    req: MlflowRequest<CreateWebhookIn>,
) -> ApiResult<Json<WebhookResponse>> {
    let hook = s
        .webhooks
        .create_webhook(req.message.into_domain()?)
        .await?;
    Ok(webhook_out(hook))
}

pub async fn list(
    State(s): State<AppState>,
    req: MlflowRequest<ListIn>,
) -> ApiResult<Json<WebhooksOut>> {
    let page = s
        .webhooks
        .list_webhooks(req.message.max_results, req.message.page_token.as_deref())
        .await?;
    Ok(Json(WebhooksOut {
        webhooks: page.items.into_iter().map(Into::into).collect(),
        next_page_token: page.next_page_token,
    }))
}

pub async fn get(
    State(s): State<AppState>,
    Path(webhook_id): Path<String>,
) -> ApiResult<Json<WebhookResponse>> {
    Ok(webhook_out(s.webhooks.get_webhook(&webhook_id).await?))
}

pub async fn update(
    State(s): State<AppState>,
    Path(webhook_id): Path<String>,
    req: MlflowRequest<UpdateWebhookIn>,
) -> ApiResult<Json<WebhookResponse>> {
    let hook = s
        .webhooks
        .update_webhook(&webhook_id, req.message.into_domain()?)
        .await?;
    Ok(webhook_out(hook))
}

pub async fn delete(
    State(s): State<AppState>,
    Path(webhook_id): Path<String>,
) -> ApiResult<Json<Empty>> {
    s.webhooks.delete_webhook(&webhook_id).await?;
    Ok(empty())
}

pub async fn test(
    State(s): State<AppState>,
    Path(webhook_id): Path<String>,
    req: MlflowRequest<TestWebhookIn>,
) -> ApiResult<Json<TestOut>> {
    let event = req.message.into_domain()?;
    let result = s.webhooks.test_webhook(&webhook_id, event).await?;
    Ok(Json(TestOut {
        result: result.into(),
    }))
}

pub async fn deliveries(
    State(s): State<AppState>,
    Path(webhook_id): Path<String>,
    req: MlflowRequest<ListIn>,
) -> ApiResult<Json<DeliveriesOut>> {
    let page = s
        .webhooks
        .list_deliveries(
            &webhook_id,
            req.message.max_results,
            req.message.page_token.as_deref(),
        )
        .await?;
    Ok(Json(DeliveriesOut {
        deliveries: page.items.into_iter().map(Into::into).collect(),
        next_page_token: page.next_page_token,
    }))
}

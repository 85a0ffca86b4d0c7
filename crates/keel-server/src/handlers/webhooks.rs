//! Handlers of the webhook routes (`webhooks`, `webhooks/{webhook_id}`, `.../test`) and of
//! Keel's delivery log (`webhooks/{webhook_id}/deliveries`).

use axum::Json;
use axum::extract::Path;
use serde::Serialize;

use super::{Empty, empty};
use crate::error::ApiResult;
use crate::extract::MlflowRequest;
use crate::wire::webhooks::*;
use crate::workspace::WorkspaceWebhooks;

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
    WorkspaceWebhooks(webhooks): WorkspaceWebhooks,
    req: MlflowRequest<CreateWebhookIn>,
) -> ApiResult<Json<WebhookResponse>> {
    let hook = webhooks.create_webhook(req.message.into_domain()?).await?;
    Ok(webhook_out(hook))
}

pub async fn list(
    WorkspaceWebhooks(webhooks): WorkspaceWebhooks,
    req: MlflowRequest<ListIn>,
) -> ApiResult<Json<WebhooksOut>> {
    let page = webhooks
        .list_webhooks(req.message.max_results, req.message.page_token.as_deref())
        .await?;
    Ok(Json(WebhooksOut {
        webhooks: page.items.into_iter().map(Into::into).collect(),
        next_page_token: page.next_page_token,
    }))
}

pub async fn get(
    WorkspaceWebhooks(webhooks): WorkspaceWebhooks,
    Path(webhook_id): Path<String>,
) -> ApiResult<Json<WebhookResponse>> {
    Ok(webhook_out(webhooks.get_webhook(&webhook_id).await?))
}

pub async fn update(
    WorkspaceWebhooks(webhooks): WorkspaceWebhooks,
    Path(webhook_id): Path<String>,
    req: MlflowRequest<UpdateWebhookIn>,
) -> ApiResult<Json<WebhookResponse>> {
    let hook = webhooks
        .update_webhook(&webhook_id, req.message.into_domain()?)
        .await?;
    Ok(webhook_out(hook))
}

pub async fn delete(
    WorkspaceWebhooks(webhooks): WorkspaceWebhooks,
    Path(webhook_id): Path<String>,
) -> ApiResult<Json<Empty>> {
    webhooks.delete_webhook(&webhook_id).await?;
    Ok(empty())
}

pub async fn test(
    WorkspaceWebhooks(webhooks): WorkspaceWebhooks,
    Path(webhook_id): Path<String>,
    req: MlflowRequest<TestWebhookIn>,
) -> ApiResult<Json<TestOut>> {
    let event = req.message.into_domain()?;
    let result = webhooks.test_webhook(&webhook_id, event).await?;
    Ok(Json(TestOut {
        result: result.into(),
    }))
}

pub async fn deliveries(
    WorkspaceWebhooks(webhooks): WorkspaceWebhooks,
    Path(webhook_id): Path<String>,
    req: MlflowRequest<ListIn>,
) -> ApiResult<Json<DeliveriesOut>> {
    let page = webhooks
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

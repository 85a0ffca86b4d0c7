//! `WebhookStore` for PostgreSQL: each write (claims included) one retried transaction, each
//! multi-statement read one snapshot.

use async_trait::async_trait;
use keel_core::Result;
use keel_core::webhooks::*;

use super::{PostgresStore, webhooks};

#[async_trait]
impl WebhookStore for PostgresStore {
    async fn insert_webhook(&self, webhook: &Webhook) -> Result<()> {
        self.write(webhook, |c, w| Box::pin(webhooks::insert_webhook(c, w)))
            .await
    }

    async fn get_webhook(&self, webhook_id: &str) -> Result<Option<Webhook>> {
        self.read(webhook_id, |c, id| Box::pin(webhooks::get_webhook(c, id)))
            .await
    }

    async fn list_webhooks(
        &self,
        workspace: &str,
        event: Option<WebhookEvent>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Webhook>> {
        let args = (workspace, event, offset, limit);
        self.read(&args, |c, (workspace, event, offset, limit)| {
            Box::pin(webhooks::list_webhooks(
                c, workspace, *event, *offset, *limit,
            ))
        })
        .await
    }

    async fn update_webhook(&self, webhook: &Webhook) -> Result<()> {
        self.write(webhook, |c, w| Box::pin(webhooks::update_webhook(c, w)))
            .await
    }

    async fn delete_webhook(&self, webhook_id: &str, now: i64) -> Result<()> {
        self.write(&(webhook_id, now), |c, (id, now)| {
            Box::pin(webhooks::delete_webhook(c, id, *now))
        })
        .await
    }

    async fn active_subscriptions(
        &self,
        workspace: &str,
        events: &[WebhookEvent],
    ) -> Result<Vec<Subscription>> {
        self.query(&(workspace, events), |c, (workspace, events)| {
            Box::pin(webhooks::active_subscriptions(c, workspace, events))
        })
        .await
    }

    async fn insert_deliveries(&self, deliveries: &[Delivery]) -> Result<()> {
        self.write(deliveries, |c, d| {
            Box::pin(webhooks::insert_deliveries(c, d))
        })
        .await
    }

    async fn claim_deliveries(&self, claim: &Claim) -> Result<Vec<ClaimedDelivery>> {
        self.write(claim, |c, claim| {
            Box::pin(webhooks::claim_deliveries(c, claim))
        })
        .await
    }

    async fn finish_delivery(&self, update: &DeliveryUpdate) -> Result<bool> {
        self.write(update, |c, u| Box::pin(webhooks::finish_delivery(c, u)))
            .await
    }

    async fn prune_deliveries(&self, before: i64, limit: i64) -> Result<u64> {
        self.write(&(before, limit), |c, (before, limit)| {
            Box::pin(webhooks::prune_deliveries(c, *before, *limit))
        })
        .await
    }

    async fn list_deliveries(
        &self,
        webhook_id: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Delivery>> {
        self.query(&(webhook_id, offset, limit), |c, (id, offset, limit)| {
            Box::pin(webhooks::list_deliveries(c, id, *offset, *limit))
        })
        .await
    }
}

//! `WebhookStore` for SQLite: writes (claims included) on the writer, reads on a reader.

use async_trait::async_trait;
use keel_core::Result;
use keel_core::webhooks::*;

use super::{SqliteStore, webhooks};

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn insert_webhook(&self, webhook: &Webhook) -> Result<()> {
        let w = webhook.clone();
        self.write(move |tx| webhooks::insert_webhook(tx, &w)).await
    }

    async fn get_webhook(&self, webhook_id: &str) -> Result<Option<Webhook>> {
        let id = webhook_id.to_owned();
        self.read(move |c| webhooks::get_webhook(c, &id)).await
    }

    async fn list_webhooks(
        &self,
        workspace: &str,
        event: Option<WebhookEvent>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Webhook>> {
        let workspace = workspace.to_owned();
        self.read(move |c| webhooks::list_webhooks(c, &workspace, event, offset, limit))
            .await
    }

    async fn update_webhook(&self, webhook: &Webhook) -> Result<()> {
        let w = webhook.clone();
        self.write(move |tx| webhooks::update_webhook(tx, &w)).await
    }

    async fn delete_webhook(&self, webhook_id: &str, now: i64) -> Result<()> {
        let id = webhook_id.to_owned();
        self.write(move |tx| webhooks::delete_webhook(tx, &id, now))
            .await
    }

    async fn active_subscriptions(
        &self,
        workspace: &str,
        events: &[WebhookEvent],
    ) -> Result<Vec<Subscription>> {
        let (workspace, events) = (workspace.to_owned(), events.to_vec());
        self.read(move |c| webhooks::active_subscriptions(c, &workspace, &events))
            .await
    }

    async fn insert_deliveries(&self, deliveries: &[Delivery]) -> Result<()> {
        let d = deliveries.to_vec();
        self.write(move |tx| webhooks::insert_deliveries(tx, &d))
            .await
    }

    async fn claim_deliveries(&self, claim: &Claim) -> Result<Vec<ClaimedDelivery>> {
        // Workers poll: look on a reader first, so an idle queue costs the writer nothing.
        let now = claim.now;
        if !self.read(move |c| webhooks::any_due(c, now)).await? {
            return Ok(Vec::new());
        }
        let c = claim.clone();
        self.write(move |tx| webhooks::claim_deliveries(tx, &c))
            .await
    }

    async fn finish_delivery(&self, update: &DeliveryUpdate) -> Result<bool> {
        let u = update.clone();
        self.write(move |tx| webhooks::finish_delivery(tx, &u))
            .await
    }

    async fn prune_deliveries(&self, before: i64, limit: i64) -> Result<u64> {
        self.write(move |tx| webhooks::prune_deliveries(tx, before, limit))
            .await
    }

    async fn list_deliveries(
        &self,
        webhook_id: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Delivery>> {
        let id = webhook_id.to_owned();
        self.read(move |c| webhooks::list_deliveries(c, &id, offset, limit))
            .await
    }
}

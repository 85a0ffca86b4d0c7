//! The webhook store trait: webhooks with their subscribed events, and the persisted delivery
//! queue.
//!
//! Stores persist what they are given (IDs, timestamps and sealed secrets come from the
//! service). Deleted webhooks are kept (soft delete, as the reference) but no method returns
//! them except through [`ClaimedDelivery::webhook_active`].

use async_trait::async_trait;

use super::entities::*;
use crate::error::Result;

/// A webhook subscribed to an event, found when the event is emitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub webhook_id: String,
    pub event: WebhookEvent,
}

#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    /// Inserts a webhook with its events (RESOURCE_DOES_NOT_EXIST when its workspace is gone).
    async fn insert_webhook(&self, webhook: &Webhook) -> Result<()>;
    /// A live (not deleted) webhook.
    async fn get_webhook(&self, webhook_id: &str) -> Result<Option<Webhook>>;
    /// Live webhooks of `workspace`, newest first (`creation_timestamp` descending, then ID),
    /// optionally only those subscribed to `event`; `limit` rows from `offset`.
    async fn list_webhooks(
        &self,
        workspace: &str,
        event: Option<WebhookEvent>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Webhook>>;
    /// Replaces a live webhook's fields and events. RESOURCE_DOES_NOT_EXIST when it is gone.
    async fn update_webhook(&self, webhook: &Webhook) -> Result<()>;
    /// Marks a live webhook deleted. RESOURCE_DOES_NOT_EXIST when it is gone.
    async fn delete_webhook(&self, webhook_id: &str, now: i64) -> Result<()>;

    /// Active, live webhooks of `workspace` subscribed to any of `events`.
    async fn active_subscriptions(
        &self,
        workspace: &str,
        events: &[WebhookEvent],
    ) -> Result<Vec<Subscription>>;
    /// Queues deliveries (status pending), all in one transaction.
    async fn insert_deliveries(&self, deliveries: &[Delivery]) -> Result<()>;
    /// Takes up to `claim.limit` pending deliveries that are due (`next_attempt_at <= now`) and
    /// not leased by another worker (no lease, or an expired one), oldest due first: leases
    /// them to `claim.owner` until `claim.lease_until` and counts an attempt. Concurrent claims
    /// (from any process) never return the same delivery while its lease runs.
    async fn claim_deliveries(&self, claim: &Claim) -> Result<Vec<ClaimedDelivery>>;
    /// Records an attempt's outcome and releases the lease, if `update.owner` still holds it;
    /// returns whether it did.
    async fn finish_delivery(&self, update: &DeliveryUpdate) -> Result<bool>;
    /// Deletes up to `limit` finished (succeeded or failed) deliveries last updated before
    /// `before`; returns how many it deleted.
    async fn prune_deliveries(&self, before: i64, limit: i64) -> Result<u64>;
    /// A webhook's deliveries, newest first (`created_at` descending, then ID).
    async fn list_deliveries(
        &self,
        webhook_id: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Delivery>>;
}

//! Webhooks: MLflow's webhook API (create, list, get, update, delete, test), the events the
//! registry emits, and the persisted delivery queue a background worker drains.
//!
//! Events are queued after the write that caused them commits: one pending [`Delivery`] per
//! subscribed active webhook, carrying the exact envelope to send. A worker (owned by the
//! server) claims due deliveries under a lease, sends them signed through a [`Transport`] and
//! records the outcome, retrying with exponential backoff on connection errors, timeouts, 429
//! and 5xx ([`delivery`]). Secrets are sealed with a [`SecretCipher`] before they reach the
//! store and never leave the service except into a signature.

mod crypto;
pub mod delivery;
mod entities;
mod events;
pub mod rules;
mod store;

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::entities::Page;
use crate::error::{Error, Result};
use crate::paging;

pub use crypto::{SecretCipher, SecretKey, signature};
pub use delivery::{DeliveryPolicy, OutboundRequest, SendOutcome, Transport};
pub use entities::*;
pub(crate) use events::civil_from_days;
pub use events::{BudgetExceeded, Event, Value, iso_utc};
pub use rules::{Target, TargetPolicy, is_public_ip};
pub use store::{Subscription, WebhookStore};

/// Default and largest page size of `webhooks` listings, as the reference.
pub const DEFAULT_MAX_RESULTS: i64 = 100;
pub const MAX_RESULTS: i64 = 1000;

/// RESOURCE_DOES_NOT_EXIST for a webhook, as the reference words it.
pub fn webhook_not_found(webhook_id: &str) -> Error {
    Error::not_found(format!("Webhook with ID {webhook_id} not found."))
}

/// Input of `webhooks` create.
#[derive(Clone, Default)]
pub struct CreateWebhook {
    pub name: String,
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub description: Option<String>,
    pub secret: Option<String>,
    pub status: Option<WebhookStatus>,
}

impl std::fmt::Debug for CreateWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateWebhook")
            .field("name", &self.name)
            .field("events", &self.events)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

/// Input of `webhooks/{id}` update: `None` leaves a field as it is. An empty secret removes it.
#[derive(Clone, Default)]
pub struct UpdateWebhook {
    pub name: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
    pub events: Option<Vec<WebhookEvent>>,
    pub secret: Option<String>,
    pub status: Option<WebhookStatus>,
}

impl std::fmt::Debug for UpdateWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateWebhook")
            .field("name", &self.name)
            .field("events", &self.events)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

/// The webhook service; cheap to clone.
#[derive(Clone)]
pub struct Webhooks {
    inner: Arc<Inner>,
    /// The workspace it acts in: webhooks are managed, and events heard, per workspace.
    workspace: String,
}

struct Inner {
    store: Arc<dyn WebhookStore>,
    clock: Arc<dyn Clock>,
    cipher: SecretCipher,
    transport: Arc<dyn Transport>,
    targets: TargetPolicy,
    policy: DeliveryPolicy,
    /// Wakes the delivery worker when deliveries are queued in this process.
    wake: tokio::sync::Notify,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("targets", &self.inner.targets)
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}

impl Webhooks {
    /// The service over `store`; `key` seals secrets, `transport` sends requests, `targets`
    /// says which addresses URLs may point at (the transport enforces it again at connect time).
    pub fn new(
        store: Arc<dyn WebhookStore>,
        key: &SecretKey,
        transport: Arc<dyn Transport>,
        targets: TargetPolicy,
    ) -> Result<Self> {
        Self::with_options(
            store,
            key,
            transport,
            targets,
            DeliveryPolicy::default(),
            Arc::new(SystemClock),
        )
    }

    pub fn with_options(
        store: Arc<dyn WebhookStore>,
        key: &SecretKey,
        transport: Arc<dyn Transport>,
        targets: TargetPolicy,
        policy: DeliveryPolicy,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                clock,
                cipher: SecretCipher::new(key)?,
                transport,
                targets,
                policy,
                wake: tokio::sync::Notify::new(),
            }),
            workspace: crate::workspaces::DEFAULT_WORKSPACE.to_owned(),
        })
    }

    /// The same service acting in `workspace` (cheap: everything else is shared).
    pub fn in_workspace(&self, workspace: &str) -> Self {
        Self {
            inner: self.inner.clone(),
            workspace: workspace.to_owned(),
        }
    }

    pub fn policy(&self) -> &DeliveryPolicy {
        &self.inner.policy
    }

    fn now(&self) -> i64 {
        self.inner.clock.now_millis()
    }

    /// Checks a URL as the reference does at create and update: syntax, scheme, and (unless
    /// private targets are allowed) that every address it resolves to is public.
    async fn check_url(&self, url: &str) -> Result<()> {
        match rules::parse_url(url)? {
            Target::Ip(ip) => self.inner.targets.check(&ip.to_string(), ip),
            Target::Host(_) if self.inner.targets.allow_private => Ok(()),
            Target::Host(_) => self.inner.transport.check_target(url).await,
        }
    }

    fn seal(&self, webhook_id: &str, secret: Option<String>) -> Result<Option<String>> {
        match secret.filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => {
                rules::validate_secret(&s)?;
                self.inner.cipher.seal(webhook_id, &s).map(Some)
            }
        }
    }

    pub async fn create_webhook(&self, req: CreateWebhook) -> Result<Webhook> {
        rules::validate_name(&req.name)?;
        self.check_url(&req.url).await?;
        let events = normalize_events(req.events)?;
        if let Some(d) = &req.description {
            rules::validate_description(d)?;
        }
        let webhook_id = uuid::Uuid::new_v4().to_string();
        let now = self.now();
        let webhook = Webhook {
            secret: self.seal(&webhook_id, req.secret)?,
            webhook_id,
            workspace: self.workspace.clone(),
            name: req.name,
            description: req.description.filter(|d| !d.is_empty()),
            url: req.url,
            events,
            status: req.status.unwrap_or(WebhookStatus::Active),
            creation_timestamp: now,
            last_updated_timestamp: now,
        };
        self.inner.store.insert_webhook(&webhook).await?;
        Ok(webhook)
    }

    /// A live webhook of this workspace (one of another workspace is not found).
    pub async fn get_webhook(&self, webhook_id: &str) -> Result<Webhook> {
        self.inner
            .store
            .get_webhook(webhook_id)
            .await?
            .filter(|hook| hook.workspace == self.workspace)
            .ok_or_else(|| webhook_not_found(webhook_id))
    }

    /// One page of live webhooks, newest first.
    pub async fn list_webhooks(
        &self,
        max_results: Option<i64>,
        page_token: Option<&str>,
    ) -> Result<Page<Webhook>> {
        let limit = page_size(max_results)?;
        let offset = paging::decode(page_token)?;
        let rows = self
            .inner
            .store
            .list_webhooks(&self.workspace, None, offset, limit + 1)
            .await?;
        Ok(paging::page_from(rows, offset, limit))
    }

    pub async fn update_webhook(&self, webhook_id: &str, req: UpdateWebhook) -> Result<Webhook> {
        let mut hook = self.get_webhook(webhook_id).await?;
        if let Some(name) = req.name {
            rules::validate_name(&name)?;
            hook.name = name;
        }
        if let Some(url) = req.url {
            self.check_url(&url).await?;
            hook.url = url;
        }
        if let Some(events) = req.events {
            hook.events = normalize_events(events)?;
        }
        if let Some(description) = req.description {
            rules::validate_description(&description)?;
            hook.description = Some(description).filter(|d| !d.is_empty());
        }
        if let Some(secret) = req.secret {
            hook.secret = self.seal(webhook_id, Some(secret))?;
        }
        if let Some(status) = req.status {
            hook.status = status;
        }
        hook.last_updated_timestamp = self.now();
        self.inner.store.update_webhook(&hook).await?;
        Ok(hook)
    }

    pub async fn delete_webhook(&self, webhook_id: &str) -> Result<()> {
        self.get_webhook(webhook_id).await?;
        self.inner
            .store
            .delete_webhook(webhook_id, self.now())
            .await
    }

    /// A webhook's deliveries, newest first (Keel's delivery log).
    pub async fn list_deliveries(
        &self,
        webhook_id: &str,
        max_results: Option<i64>,
        page_token: Option<&str>,
    ) -> Result<Page<Delivery>> {
        let limit = page_size(max_results)?;
        let offset = paging::decode(page_token)?;
        self.get_webhook(webhook_id).await?;
        let rows = self
            .inner
            .store
            .list_deliveries(webhook_id, offset, limit + 1)
            .await?;
        Ok(paging::page_from(rows, offset, limit))
    }
}

fn page_size(max_results: Option<i64>) -> Result<i64> {
    match max_results {
        None | Some(0) => Ok(DEFAULT_MAX_RESULTS),
        Some(n) if (1..=MAX_RESULTS).contains(&n) => Ok(n),
        Some(_) => Err(Error::invalid("max_results must be between 1 and 1000.")),
    }
}

/// Events must be a non-empty list; duplicates collapse (the reference's key is the pair).
fn normalize_events(mut events: Vec<WebhookEvent>) -> Result<Vec<WebhookEvent>> {
    if events.is_empty() {
        return Err(Error::invalid(
            "Webhook events must be a non-empty list of WebhookEvent objects: [].",
        ));
    }
    events.sort_unstable();
    events.dedup();
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_secrets() {
        let create = CreateWebhook {
            name: "h".into(),
            secret: Some("plain-secret".into()),
            ..Default::default()
        };
        let update = UpdateWebhook {
            secret: Some("plain-secret".into()),
            ..Default::default()
        };
        let hook = Webhook {
            webhook_id: "id".into(),
            workspace: "default".into(),
            name: "h".into(),
            description: None,
            url: "https://example.com".into(),
            events: Vec::new(),
            status: WebhookStatus::Active,
            secret: Some("sealed-secret".into()),
            creation_timestamp: 0,
            last_updated_timestamp: 0,
        };
        for text in [
            format!("{create:?}"),
            format!("{update:?}"),
            format!("{hook:?}"),
        ] {
            assert!(!text.contains("secret\""), "{text}");
            assert!(!text.contains("plain-secret") && !text.contains("sealed-secret"));
            assert!(text.contains("***"), "{text}");
        }
    }

    #[test]
    fn page_sizes_and_events_follow_the_reference() {
        assert_eq!(page_size(None).ok(), Some(100));
        assert_eq!(page_size(Some(1000)).ok(), Some(1000));
        assert!(page_size(Some(1001)).is_err());
        assert!(page_size(Some(-1)).is_err());
        assert!(normalize_events(Vec::new()).is_err());
        let e = WebhookEvent::parse("prompt_alias.deleted").expect("valid");
        let m = WebhookEvent::parse("registered_model.created").expect("valid");
        assert_eq!(normalize_events(vec![e, m, e]).ok(), Some(vec![m, e]));
        assert_eq!(WebhookEvent::all().len(), 15);
        let err = WebhookEvent::parse("registered_model.deleted").expect_err("invalid pair");
        assert_eq!(
            err.message,
            "Invalid action 'deleted' for entity 'registered_model'. Valid actions are: \
             ['created']"
        );
    }
}

//! Webhook entities as the domain sees them: events (entity × action), statuses, webhooks,
//! test results and the deliveries of the persisted queue.

use crate::error::{Error, Result};

/// What kind of object an event is about (MLflow's `WebhookEntity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WebhookEntity {
    RegisteredModel,
    ModelVersion,
    ModelVersionTag,
    ModelVersionAlias,
    Prompt,
    PromptVersion,
    PromptTag,
    PromptVersionTag,
    PromptAlias,
    BudgetPolicy,
}

impl WebhookEntity {
    pub const ALL: [WebhookEntity; 10] = [
        Self::RegisteredModel,
        Self::ModelVersion,
        Self::ModelVersionTag,
        Self::ModelVersionAlias,
        Self::Prompt,
        Self::PromptVersion,
        Self::PromptTag,
        Self::PromptVersionTag,
        Self::PromptAlias,
        Self::BudgetPolicy,
    ];

    /// The lower-case name used in payloads and stored (`registered_model`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RegisteredModel => "registered_model",
            Self::ModelVersion => "model_version",
            Self::ModelVersionTag => "model_version_tag",
            Self::ModelVersionAlias => "model_version_alias",
            Self::Prompt => "prompt",
            Self::PromptVersion => "prompt_version",
            Self::PromptTag => "prompt_tag",
            Self::PromptVersionTag => "prompt_version_tag",
            Self::PromptAlias => "prompt_alias",
            Self::BudgetPolicy => "budget_policy",
        }
    }

    /// The proto enum number (`REGISTERED_MODEL` = 1, ...).
    pub fn number(self) -> i32 {
        match self {
            Self::RegisteredModel => 1,
            Self::ModelVersion => 2,
            Self::ModelVersionTag => 3,
            Self::ModelVersionAlias => 4,
            Self::Prompt => 5,
            Self::PromptVersion => 6,
            Self::PromptTag => 7,
            Self::PromptVersionTag => 8,
            Self::PromptAlias => 9,
            Self::BudgetPolicy => 10,
        }
    }

    /// Parses the lower-case name (any letter case, so the proto name works too).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|e| e.as_str().eq_ignore_ascii_case(s))
    }

    pub fn from_number(n: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|e| i64::from(e.number()) == n)
    }

    /// The actions that exist for this entity, as the reference's `VALID_ENTITY_ACTIONS`.
    pub fn valid_actions(self) -> &'static [WebhookAction] {
        use WebhookAction::*;
        match self {
            Self::RegisteredModel | Self::ModelVersion | Self::Prompt | Self::PromptVersion => {
                &[Created]
            }
            Self::ModelVersionTag | Self::PromptTag | Self::PromptVersionTag => &[Set, Deleted],
            Self::ModelVersionAlias | Self::PromptAlias => &[Created, Deleted],
            Self::BudgetPolicy => &[Exceeded],
        }
    }
}

/// What happened to the entity (MLflow's `WebhookAction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WebhookAction {
    Created,
    Updated,
    Deleted,
    Set,
    Exceeded,
}

impl WebhookAction {
    pub const ALL: [WebhookAction; 5] = [
        Self::Created,
        Self::Updated,
        Self::Deleted,
        Self::Set,
        Self::Exceeded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Deleted => "deleted",
            Self::Set => "set",
            Self::Exceeded => "exceeded",
        }
    }

    pub fn number(self) -> i32 {
        match self {
            Self::Created => 1,
            Self::Updated => 2,
            Self::Deleted => 3,
            Self::Set => 4,
            Self::Exceeded => 5,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
    }

    pub fn from_number(n: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|a| i64::from(a.number()) == n)
    }
}

/// An entity/action pair a webhook subscribes to; only the reference's valid pairs exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WebhookEvent {
    entity: WebhookEntity,
    action: WebhookAction,
}

impl WebhookEvent {
    /// The event, or the reference's INVALID_PARAMETER_VALUE for a pair that does not exist.
    pub fn new(entity: WebhookEntity, action: WebhookAction) -> Result<Self> {
        let valid = entity.valid_actions();
        if valid.contains(&action) {
            return Ok(Self { entity, action });
        }
        let mut names: Vec<&str> = valid.iter().map(|a| a.as_str()).collect();
        names.sort_unstable();
        let listed: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
        Err(Error::invalid(format!(
            "Invalid action '{}' for entity '{}'. Valid actions are: [{}]",
            action.as_str(),
            entity.as_str(),
            listed.join(", ")
        )))
    }

    /// A pair known to be valid (used by the payload constructors, which each name one).
    pub(super) fn known(entity: WebhookEntity, action: WebhookAction) -> Self {
        debug_assert!(entity.valid_actions().contains(&action));
        Self { entity, action }
    }

    /// Parses `entity.action` as stored (`registered_model.created`).
    pub fn parse(s: &str) -> Result<Self> {
        let (entity, action) = s.split_once('.').ok_or_else(|| {
            Error::invalid(format!(
                "Invalid event string format: {s}. Expected format: 'entity.action' (e.g., \
                 'registered_model.created')"
            ))
        })?;
        let e = WebhookEntity::parse(entity);
        let a = WebhookAction::parse(action);
        match (e, a) {
            (Some(e), Some(a)) => Self::new(e, a),
            _ => Err(Error::invalid(format!(
                "Invalid entity or action in event string: {s}."
            ))),
        }
    }

    pub fn entity(self) -> WebhookEntity {
        self.entity
    }

    pub fn action(self) -> WebhookAction {
        self.action
    }

    /// Every valid event, in proto order.
    pub fn all() -> Vec<WebhookEvent> {
        WebhookEntity::ALL
            .into_iter()
            .flat_map(|e| {
                e.valid_actions()
                    .iter()
                    .map(move |&a| WebhookEvent::new(e, a))
            })
            .filter_map(Result::ok)
            .collect()
    }
}

impl std::fmt::Display for WebhookEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.entity.as_str(), self.action.as_str())
    }
}

/// Whether a webhook receives events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookStatus {
    Active,
    Disabled,
}

impl WebhookStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Disabled => "DISABLED",
        }
    }

    pub fn number(self) -> i32 {
        match self {
            Self::Active => 1,
            Self::Disabled => 2,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Active, Self::Disabled]
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
    }

    pub fn from_number(n: i64) -> Option<Self> {
        [Self::Active, Self::Disabled]
            .into_iter()
            .find(|v| i64::from(v.number()) == n)
    }
}

/// A webhook. `secret` is the *sealed* (encrypted) secret as stored; it is never sent to
/// clients and its `Debug` is masked.
#[derive(Clone, PartialEq)]
pub struct Webhook {
    pub webhook_id: String,
    /// The workspace it belongs to: it hears only that workspace's events.
    pub workspace: String,
    pub name: String,
    pub description: Option<String>,
    pub url: String,
    /// Sorted, without duplicates.
    pub events: Vec<WebhookEvent>,
    pub status: WebhookStatus,
    pub secret: Option<String>,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("webhook_id", &self.webhook_id)
            .field("name", &self.name)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("status", &self.status)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

/// The outcome of `webhooks/{id}/test`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WebhookTestResult {
    pub success: bool,
    pub response_status: Option<i32>,
    pub response_body: Option<String>,
    pub error_message: Option<String>,
}

/// Where a queued delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    Succeeded,
    /// Gave up: a permanent failure or the last attempt failed.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Succeeded, Self::Failed]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// One event to deliver to one webhook, and what happened so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// A UUID4, sent as `X-MLflow-Delivery-Id` on every attempt.
    pub delivery_id: String,
    pub webhook_id: String,
    pub event: WebhookEvent,
    /// The exact JSON body (envelope) to send and sign.
    pub payload: String,
    pub status: DeliveryStatus,
    /// Attempts started so far (a claim counts as one).
    pub attempts: i32,
    /// When the next attempt is due (milliseconds); meaningful while pending.
    pub next_attempt_at: i64,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A delivery handed to a worker by a claim, with what it needs to send it.
#[derive(Clone)]
pub struct ClaimedDelivery {
    pub delivery: Delivery,
    pub url: String,
    /// Sealed secret of the webhook.
    pub secret: Option<String>,
    /// False when the webhook was deleted or disabled since the event: nothing is sent.
    pub webhook_active: bool,
}

impl std::fmt::Debug for ClaimedDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimedDelivery")
            .field("delivery", &self.delivery)
            .field("url", &self.url)
            .field("webhook_active", &self.webhook_active)
            .finish_non_exhaustive()
    }
}

/// A claim of due deliveries by one worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub now: i64,
    /// The claimed rows are the worker's until then; afterwards another worker may take them.
    pub lease_until: i64,
    /// Unique per worker (and claim), so a worker whose lease expired cannot record an outcome.
    pub owner: String,
    pub limit: i64,
}

/// What a worker records after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryUpdate {
    pub delivery_id: String,
    pub owner: String,
    pub status: DeliveryStatus,
    pub next_attempt_at: i64,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub now: i64,
}

//! Wire shapes of the webhook API (`webhooks`, `webhooks/{id}`, `webhooks/{id}/test`) and of
//! Keel's delivery log (`webhooks/{id}/deliveries`), with their conversions.
//!
//! Enums travel by their proto names (`REGISTERED_MODEL`, `CREATED`, `ACTIVE`); numbers are
//! accepted too, as protobuf's JSON parser does. A webhook's secret is accepted, never sent.

use keel_core::webhooks::{
    CreateWebhook, Delivery, DeliveryStatus, UpdateWebhook, Webhook, WebhookAction, WebhookEntity,
    WebhookEvent, WebhookStatus, WebhookTestResult,
};
use keel_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::proto::opt_i64;
use super::registry::required;

/// A proto enum value: its name or its number.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum EnumIn {
    Name(String),
    Number(i64),
}

impl EnumIn {
    fn parse<T>(
        &self,
        field: &str,
        by_name: impl Fn(&str) -> Option<T>,
        by_number: impl Fn(i64) -> Option<T>,
    ) -> Result<T> {
        let found = match self {
            Self::Name(n) => by_name(n),
            Self::Number(n) => by_number(*n),
        };
        found.ok_or_else(|| {
            let shown = match self {
                Self::Name(n) => format!("\"{n}\""),
                Self::Number(n) => n.to_string(),
            };
            Error::invalid(format!(
                "Invalid value {shown} for parameter '{field}' supplied."
            ))
        })
    }
}

/// A `WebhookEvent` message.
#[derive(Debug, Clone, Deserialize, Default, schemars::JsonSchema)]
pub struct EventIn {
    pub entity: Option<EnumIn>,
    pub action: Option<EnumIn>,
}

impl EventIn {
    pub fn into_domain(self, field: &str) -> Result<WebhookEvent> {
        let missing = |f: &str| Error::missing_parameter(&format!("{field}.{f}"));
        let entity = self.entity.ok_or_else(|| missing("entity"))?.parse(
            &format!("{field}.entity"),
            |n| {
                // Proto names only (upper case), as protobuf's JSON parser.
                WebhookEntity::ALL
                    .into_iter()
                    .find(|e| e.as_str().to_ascii_uppercase() == n)
            },
            WebhookEntity::from_number,
        )?;
        let action = self.action.ok_or_else(|| missing("action"))?.parse(
            &format!("{field}.action"),
            |n| {
                WebhookAction::ALL
                    .into_iter()
                    .find(|a| a.as_str().to_ascii_uppercase() == n)
            },
            WebhookAction::from_number,
        )?;
        WebhookEvent::new(entity, action)
    }
}

fn status(value: Option<EnumIn>) -> Result<Option<WebhookStatus>> {
    value
        .map(|v| {
            v.parse(
                "status",
                |n| WebhookStatus::parse(n).filter(|s| s.as_str() == n),
                WebhookStatus::from_number,
            )
        })
        .transpose()
}

fn events(list: Vec<EventIn>) -> Result<Vec<WebhookEvent>> {
    list.into_iter()
        .enumerate()
        .map(|(i, e)| e.into_domain(&format!("events[{i}]")))
        .collect()
}

#[derive(Deserialize, Default, schemars::JsonSchema)]
pub struct CreateWebhookIn {
    pub name: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
    pub events: Option<Vec<EventIn>>,
    pub secret: Option<String>,
    pub status: Option<EnumIn>,
}

/// `Debug` of a request body holding a secret: the secret is masked.
macro_rules! masked_debug {
    ($ty:ident) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("name", &self.name)
                    .field("url", &self.url)
                    .field("events", &self.events)
                    .field("secret", &self.secret.as_ref().map(|_| "***"))
                    .finish_non_exhaustive()
            }
        }
    };
}

masked_debug!(CreateWebhookIn);
masked_debug!(UpdateWebhookIn);

impl CreateWebhookIn {
    pub fn into_domain(self) -> Result<CreateWebhook> {
        let name = required("name", self.name)?;
        let url = required("url", self.url)?;
        let events = events(
            self.events
                .ok_or_else(|| Error::missing_parameter("events"))?,
        )?;
        Ok(CreateWebhook {
            name,
            url,
            events,
            description: self.description.filter(|d| !d.is_empty()),
            secret: self.secret.filter(|s| !s.is_empty()),
            status: status(self.status)?,
        })
    }
}

/// PATCH body: absent fields stay as they are; as in the reference an empty `name`, `url` or
/// `events` also leaves the field alone, while an empty `description` or `secret` clears it.
#[derive(Deserialize, Default, schemars::JsonSchema)]
pub struct UpdateWebhookIn {
    pub name: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
    pub events: Option<Vec<EventIn>>,
    pub secret: Option<String>,
    pub status: Option<EnumIn>,
}

impl UpdateWebhookIn {
    pub fn into_domain(self) -> Result<UpdateWebhook> {
        Ok(UpdateWebhook {
            name: self.name.filter(|n| !n.is_empty()),
            description: self.description,
            url: self.url.filter(|u| !u.is_empty()),
            events: match self.events {
                Some(list) if !list.is_empty() => Some(events(list)?),
                _ => None,
            },
            secret: self.secret,
            status: status(self.status)?,
        })
    }
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct ListIn {
    #[serde(default, deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
    pub page_token: Option<String>,
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct TestWebhookIn {
    pub event: Option<EventIn>,
}

impl TestWebhookIn {
    pub fn into_domain(self) -> Result<Option<WebhookEvent>> {
        self.event.map(|e| e.into_domain("event")).transpose()
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct EventOut {
    entity: String,
    action: String,
}

impl From<WebhookEvent> for EventOut {
    fn from(e: WebhookEvent) -> Self {
        Self {
            entity: e.entity().as_str().to_ascii_uppercase(),
            action: e.action().as_str().to_ascii_uppercase(),
        }
    }
}

/// A `Webhook` message; there is no field for the secret.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct WebhookOut {
    webhook_id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    url: String,
    events: Vec<EventOut>,
    status: &'static str,
    creation_timestamp: i64,
    last_updated_timestamp: i64,
}

impl From<Webhook> for WebhookOut {
    fn from(w: Webhook) -> Self {
        Self {
            webhook_id: w.webhook_id,
            name: w.name,
            description: w.description.filter(|d| !d.is_empty()),
            url: w.url,
            events: w.events.into_iter().map(EventOut::from).collect(),
            status: w.status.as_str(),
            creation_timestamp: w.creation_timestamp,
            last_updated_timestamp: w.last_updated_timestamp,
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TestResultOut {
    success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_status: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<String>,
}

impl From<WebhookTestResult> for TestResultOut {
    fn from(r: WebhookTestResult) -> Self {
        Self {
            success: r.success,
            response_status: r.response_status,
            response_body: r.response_body,
            error_message: r.error_message,
        }
    }
}

/// One entry of Keel's delivery log.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DeliveryOut {
    delivery_id: String,
    webhook_id: String,
    event: EventOut,
    status: &'static str,
    attempts: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_status: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<String>,
    creation_timestamp: i64,
    last_updated_timestamp: i64,
    /// When the next attempt is due, while the delivery is pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_attempt_timestamp: Option<i64>,
}

impl From<Delivery> for DeliveryOut {
    fn from(d: Delivery) -> Self {
        Self {
            next_attempt_timestamp: (d.status == DeliveryStatus::Pending)
                .then_some(d.next_attempt_at),
            delivery_id: d.delivery_id,
            webhook_id: d.webhook_id,
            event: d.event.into(),
            status: d.status.as_str(),
            attempts: d.attempts,
            response_status: d.last_status_code,
            error_message: d.last_error,
            creation_timestamp: d.created_at,
            last_updated_timestamp: d.updated_at,
        }
    }
}

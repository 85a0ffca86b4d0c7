//! Publishing checkpoints to a webhook: a JSON POST signed as MLflow's webhooks are
//! (`X-MLflow-Signature: v1,<base64 HMAC-SHA256 of "<delivery id>.<timestamp>.<body>">`, with
//! `X-MLflow-Delivery-Id` and `X-MLflow-Timestamp`), so a receiver checks it with the code it
//! already has and rejects replays by the timestamp. No redirects, a timeout, no proxies.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keel_core::audit::{CheckpointSink, StoredCheckpoint};
use keel_core::clock::{Clock, SystemClock};
use keel_core::webhooks::{OutboundRequest, SendOutcome, TargetPolicy, Transport};
use keel_core::{Error, Result};

use crate::webhooks::transport::HttpTransport;

/// The event name in the payload and the User-Agent's purpose.
const EVENT: &str = "audit.checkpoint";

/// A webhook that receives every checkpoint.
pub struct WebhookSink {
    url: String,
    secret: String,
    transport: HttpTransport,
}

impl WebhookSink {
    /// The sink posting to `url`, signing with `secret`. The operator chose the URL, so private
    /// addresses are allowed (unlike user-registered webhooks).
    pub fn new(url: &str, secret: &str) -> Result<Self> {
        // The parser's message repeats the URL, which may carry a token: not passed on.
        keel_core::webhooks::rules::parse_url(url).map_err(|_| {
            Error::invalid("an audit_publish webhook URL is not a valid http(s) URL")
        })?;
        Ok(Self {
            url: url.to_owned(),
            secret: secret.to_owned(),
            transport: HttpTransport::new(TargetPolicy {
                allow_private: true,
            })?,
        })
    }
}

/// The JSON body of a delivery.
pub fn payload(origin: &str, checkpoint: &StoredCheckpoint) -> String {
    let mut body = serde_json::json!({
        "event": EVENT,
        "origin": origin,
        "tree_size": checkpoint.tree_size,
        "root": STANDARD.encode(checkpoint.root),
        "checkpoint": checkpoint.note,
    });
    if let Some(token) = &checkpoint.timestamp {
        body["timestamp"] = STANDARD.encode(token).into();
    }
    body.to_string()
}

#[async_trait::async_trait]
impl CheckpointSink for WebhookSink {
    fn describe(&self) -> String {
        // Only scheme, host and port: a URL's path or query may carry a token.
        match reqwest::Url::parse(&self.url) {
            Ok(u) => format!(
                "{}://{}{}",
                u.scheme(),
                u.host_str().unwrap_or_default(),
                u.port().map(|p| format!(":{p}")).unwrap_or_default()
            ),
            Err(_) => "a webhook".to_owned(),
        }
    }

    async fn publish(&self, origin: &str, checkpoint: &StoredCheckpoint) -> Result<()> {
        let body = payload(origin, checkpoint);
        let delivery_id = format!(
            "audit-checkpoint-{}-{}",
            checkpoint.tree_size,
            keel_core::names::new_uuid()
        );
        let outcome = self
            .transport
            .post(OutboundRequest::mlflow(
                &self.url,
                &delivery_id,
                SystemClock.now_millis(),
                &body,
                Some(&self.secret),
            ))
            .await;
        match outcome {
            SendOutcome::Response { status, .. } if (200..300).contains(&status) => Ok(()),
            SendOutcome::Response { status, .. } => Err(Error::unavailable(format!(
                "the webhook answered HTTP {status}"
            ))),
            SendOutcome::Failed { error, .. } => Err(Error::unavailable(error)),
        }
    }
}

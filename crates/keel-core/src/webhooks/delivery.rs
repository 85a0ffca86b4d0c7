//! Emitting events into the queue, and delivering them: claim due deliveries under a lease,
//! send each signed, record the outcome, back off and retry the transient failures.

use std::hash::BuildHasher;
use std::time::Duration;

use async_trait::async_trait;

use super::*;

/// One outbound POST: the headers and the exact body bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl OutboundRequest {
    /// A JSON POST of `payload` with MLflow's webhook headers (`X-MLflow-Delivery-Id`,
    /// `X-MLflow-Timestamp` in seconds from `now_ms`), signed (`X-MLflow-Signature`) when there
    /// is a secret.
    pub fn mlflow(
        url: &str,
        delivery_id: &str,
        now_ms: i64,
        payload: &str,
        secret: Option<&str>,
    ) -> Self {
        let timestamp = now_ms.div_euclid(1000).to_string();
        let mut headers = vec![
            ("Content-Type", "application/json".to_owned()),
            ("X-MLflow-Delivery-Id", delivery_id.to_owned()),
            ("X-MLflow-Timestamp", timestamp.clone()),
        ];
        if let Some(secret) = secret.filter(|s| !s.is_empty()) {
            headers.push((
                "X-MLflow-Signature",
                signature(secret, delivery_id, &timestamp, payload),
            ));
        }
        Self {
            url: url.to_owned(),
            headers,
            body: payload.to_owned(),
        }
    }
}

/// What came of an outbound POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The target answered (any status, redirects included: they are never followed).
    Response {
        status: u16,
        /// `Retry-After` in seconds, when sent as a number of seconds or an HTTP date.
        retry_after_secs: Option<u64>,
        body: String,
    },
    /// No answer: `retryable` for connection errors and timeouts, not for a refused target.
    Failed { error: String, retryable: bool },
}

/// Sends webhook requests. The implementation refuses targets its [`TargetPolicy`] forbids at
/// connect time (after DNS resolution), never follows redirects and bounds every request.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// Resolves the URL's host and checks every address (INVALID_PARAMETER_VALUE if refused).
    async fn check_target(&self, url: &str) -> Result<()>;
    async fn post(&self, request: OutboundRequest) -> SendOutcome;
}

/// How deliveries are attempted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// Attempts per delivery before it is marked failed.
    pub max_attempts: i32,
    /// Backoff before retry n (1-based) is `base * 2^(n-1)`, capped, plus jitter.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    pub jitter: Duration,
    /// Longest `Retry-After` honoured.
    pub max_retry_after: Duration,
    /// How long a claim holds a delivery; longer than a request can take.
    pub lease: Duration,
    /// Most deliveries claimed (and sent concurrently) per round.
    pub batch: i64,
    /// How often the worker looks for due deliveries when nothing wakes it.
    pub poll_interval: Duration,
    /// How long finished deliveries stay in the delivery log.
    pub retention: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            jitter: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(300),
            lease: Duration::from_secs(120),
            batch: 16,
            poll_interval: Duration::from_secs(2),
            retention: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl DeliveryPolicy {
    /// Milliseconds to wait before the attempt after attempt number `attempts` (1-based).
    pub fn backoff_ms(&self, attempts: i32) -> i64 {
        let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        let base = millis(self.base_backoff).saturating_mul(1i64 << exp);
        let capped = base.min(millis(self.max_backoff));
        let jitter = millis(self.jitter);
        let random = std::collections::hash_map::RandomState::new()
            .hash_one((attempts, std::time::SystemTime::now()));
        let extra = if jitter > 0 {
            i64::try_from(random % u64::try_from(jitter).unwrap_or(1)).unwrap_or(0)
        } else {
            0
        };
        capped.saturating_add(extra)
    }
}

/// HTTP statuses retried, as the reference's `status_forcelist` (widened to every 5xx).
fn retryable_status(status: u16) -> bool {
    status == 429 || (500..600).contains(&status)
}

/// At most this much of a response body is kept in a test result or the delivery log.
const MAX_KEPT_BODY: usize = 4096;

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

impl Webhooks {
    /// Active webhooks of this workspace subscribed to any of `events`; a store failure is
    /// logged and yields none (emission never fails the request that caused it).
    pub async fn subscriptions(&self, events: &[WebhookEvent]) -> Vec<Subscription> {
        let store = &self.inner.store;
        match store.active_subscriptions(&self.workspace, events).await {
            Ok(subs) => subs,
            Err(e) => {
                tracing::error!(error = %e, "cannot look up webhook subscriptions; events dropped");
                Vec::new()
            }
        }
    }

    /// Queues `event` for each of `subs` subscribed to it. Failures are logged, not returned.
    pub async fn enqueue(&self, event: &Event, subs: &[Subscription]) {
        let now = self.now();
        let payload = event.envelope(now.saturating_mul(1000));
        let deliveries: Vec<Delivery> = subs
            .iter()
            .filter(|s| s.event == event.event)
            .map(|s| Delivery {
                delivery_id: uuid::Uuid::new_v4().to_string(),
                webhook_id: s.webhook_id.clone(),
                event: event.event,
                payload: payload.clone(),
                status: DeliveryStatus::Pending,
                attempts: 0,
                next_attempt_at: now,
                last_status_code: None,
                last_error: None,
                created_at: now,
                updated_at: now,
            })
            .collect();
        if deliveries.is_empty() {
            return;
        }
        match self.inner.store.insert_deliveries(&deliveries).await {
            Ok(()) => self.inner.wake.notify_one(),
            Err(e) => tracing::error!(
                error = %e,
                event = %event.event,
                webhooks = deliveries.len(),
                "cannot queue webhook deliveries; event dropped"
            ),
        }
    }

    /// Queues `event` for every active webhook subscribed to it.
    pub async fn emit(&self, event: Event) {
        let subs = self.subscriptions(&[event.event]).await;
        if !subs.is_empty() {
            self.enqueue(&event, &subs).await;
        }
    }

    /// Waits until deliveries are queued in this process or `timeout` passes.
    pub async fn wait_for_work(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.inner.wake.notified()).await;
    }

    /// Removes finished deliveries older than the retention period from the delivery log, in
    /// batches; returns how many it removed.
    pub async fn prune_deliveries(&self) -> Result<u64> {
        const BATCH: i64 = 1000;
        let before = self
            .now()
            .saturating_sub(millis(self.inner.policy.retention));
        let mut total = 0;
        loop {
            let n = self.inner.store.prune_deliveries(before, BATCH).await?;
            total += n;
            if n < BATCH as u64 {
                return Ok(total);
            }
        }
    }

    /// One round of the worker: claims due deliveries as `worker`, sends them concurrently and
    /// records each outcome. Returns how many were claimed.
    pub async fn deliver_due(&self, worker: &str) -> Result<usize> {
        let now = self.now();
        let policy = &self.inner.policy;
        let claim = Claim {
            now,
            lease_until: now.saturating_add(millis(policy.lease)),
            owner: format!("{worker}/{}", uuid::Uuid::new_v4()),
            limit: policy.batch,
        };
        let claimed = self.inner.store.claim_deliveries(&claim).await?;
        let count = claimed.len();
        let attempts = claimed.into_iter().map(|c| self.attempt(c, &claim.owner));
        futures_util::future::join_all(attempts).await;
        Ok(count)
    }

    async fn attempt(&self, claimed: ClaimedDelivery, owner: &str) {
        let d = &claimed.delivery;
        let outcome = if !claimed.webhook_active {
            SendOutcome::Failed {
                error: "the webhook was deleted or disabled before delivery".into(),
                retryable: false,
            }
        } else {
            match self.open_secret(&d.webhook_id, claimed.secret.as_deref()) {
                Ok(secret) => {
                    self.send(&claimed.url, &d.delivery_id, &d.payload, secret.as_deref())
                        .await
                }
                Err(e) => SendOutcome::Failed {
                    error: e.message,
                    retryable: false,
                },
            }
        };
        let update = self.next_state(d, &outcome, owner);
        keel_metrics::global().webhook_delivery(matches!(update.status, DeliveryStatus::Succeeded));
        match &update.status {
            DeliveryStatus::Succeeded => tracing::debug!(
                delivery_id = %d.delivery_id, webhook_id = %d.webhook_id, event = %d.event,
                attempt = d.attempts, "webhook delivered"
            ),
            status => tracing::warn!(
                delivery_id = %d.delivery_id, webhook_id = %d.webhook_id, event = %d.event,
                attempt = d.attempts, status = status.as_str(),
                response_status = update.last_status_code,
                error = update.last_error.as_deref().unwrap_or(""),
                "webhook delivery attempt failed"
            ),
        }
        match self.inner.store.finish_delivery(&update).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                delivery_id = %d.delivery_id,
                "webhook delivery lease expired before its outcome was recorded"
            ),
            Err(e) => tracing::error!(
                delivery_id = %d.delivery_id, error = %e,
                "cannot record a webhook delivery outcome; it will be retried after its lease"
            ),
        }
    }

    fn open_secret(&self, webhook_id: &str, sealed: Option<&str>) -> Result<Option<String>> {
        sealed
            .map(|s| self.inner.cipher.open(webhook_id, s))
            .transpose()
    }

    /// The state after an attempt with `outcome`.
    fn next_state(&self, d: &Delivery, outcome: &SendOutcome, owner: &str) -> DeliveryUpdate {
        let now = self.now();
        let policy = &self.inner.policy;
        let (status_code, error, retry, retry_after) = match outcome {
            SendOutcome::Response { status, .. } if (200..300).contains(status) => {
                (Some(*status), None, false, None)
            }
            SendOutcome::Response { status, .. } if (300..400).contains(status) => (
                Some(*status),
                Some(format!("redirect (HTTP {status}) not followed")),
                false,
                None,
            ),
            SendOutcome::Response {
                status,
                retry_after_secs,
                ..
            } => (
                Some(*status),
                Some(format!("HTTP {status}")),
                retryable_status(*status),
                *retry_after_secs,
            ),
            SendOutcome::Failed { error, retryable } => {
                (None, Some(error.clone()), *retryable, None)
            }
        };
        let (status, next_attempt_at) = if error.is_none() {
            (DeliveryStatus::Succeeded, d.next_attempt_at)
        } else if retry && d.attempts < policy.max_attempts {
            let backoff = policy.backoff_ms(d.attempts);
            let asked = retry_after
                .map(|s| millis(Duration::from_secs(s).min(policy.max_retry_after)))
                .unwrap_or(0);
            (
                DeliveryStatus::Pending,
                now.saturating_add(backoff.max(asked)),
            )
        } else {
            (DeliveryStatus::Failed, d.next_attempt_at)
        };
        DeliveryUpdate {
            delivery_id: d.delivery_id.clone(),
            owner: owner.to_owned(),
            status,
            next_attempt_at,
            last_status_code: status_code.map(i32::from),
            last_error: error.map(|e| truncate(e, 1000)),
            now,
        }
    }

    /// Sends `payload` to `url` with MLflow's headers, signed when there is a secret.
    async fn send(
        &self,
        url: &str,
        delivery_id: &str,
        payload: &str,
        secret: Option<&str>,
    ) -> SendOutcome {
        self.inner
            .transport
            .post(OutboundRequest::mlflow(
                url,
                delivery_id,
                self.now(),
                payload,
                secret,
            ))
            .await
    }

    /// `webhooks/{id}/test`: sends the example payload of `event` (default: the webhook's
    /// first event) once, now, and reports what came back.
    pub async fn test_webhook(
        &self,
        webhook_id: &str,
        event: Option<WebhookEvent>,
    ) -> Result<WebhookTestResult> {
        let hook = self.get_webhook(webhook_id).await?;
        let Some(event) = event.or_else(|| hook.events.first().copied()) else {
            return Err(Error::invalid("Webhook events cannot be empty"));
        };
        let payload = Event::example(event).envelope(self.now().saturating_mul(1000));
        let secret = self.open_secret(&hook.webhook_id, hook.secret.as_deref())?;
        let delivery_id = uuid::Uuid::new_v4().to_string();
        let outcome = self
            .send(&hook.url, &delivery_id, &payload, secret.as_deref())
            .await;
        Ok(match outcome {
            SendOutcome::Response { status, body, .. } => WebhookTestResult {
                success: (200..300).contains(&status),
                response_status: Some(i32::from(status)),
                response_body: Some(truncate(body, MAX_KEPT_BODY)).filter(|b| !b.is_empty()),
                error_message: (300..400)
                    .contains(&status)
                    .then(|| format!("Redirect (HTTP {status}) not followed.")),
            },
            SendOutcome::Failed { error, .. } => WebhookTestResult {
                success: false,
                response_status: None,
                response_body: None,
                error_message: Some(format!("Failed to test webhook: {error}")),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let p = DeliveryPolicy::default();
        for attempt in 1..=10 {
            let expected = (1000i64 << (attempt - 1)).min(60_000);
            for _ in 0..10 {
                let b = p.backoff_ms(attempt);
                assert!(b >= expected && b < expected + 1000, "{attempt}: {b}");
            }
        }
    }

    #[test]
    fn retried_statuses() {
        for s in [429, 500, 502, 503, 504, 599] {
            assert!(retryable_status(s), "{s}");
        }
        for s in [200, 301, 302, 400, 401, 404, 410] {
            assert!(!retryable_status(s), "{s}");
        }
    }
}

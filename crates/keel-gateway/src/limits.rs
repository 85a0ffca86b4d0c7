//! Holding calls to their limits — budget policies (USD per window) and rate limits
//! (requests and tokens per minute) — exactly, across every replica sharing the database.
//!
//! Before the upstream call, the call's worst case (its cost if it used every input token its
//! body can hold and every output token it may ask for; one request; those tokens) is
//! *reserved* on each counter that applies to it, in one transaction that refuses the call if
//! a rejecting counter's settled use plus everything held would pass its limit. After the
//! call, the reservation is *settled*: the hold released and the actual use added. Concurrent
//! calls therefore never take a rejecting limit past what the worst cases of the admitted
//! calls allow, however many replicas admit them. A hold a crashed replica never settled
//! expires (after [`HOLD_TTL`]) and is released by any replica's sweep.
//!
//! Amounts are integers: USD in nano-dollars (rounded up, so a hold never undercounts),
//! requests and tokens as counted.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keel_core::Result;
use serde_json::{Map, Value};

use crate::Gateway;
use crate::budgets::{BudgetAction, BudgetPolicy, TargetScope};
use crate::cost::{TokenUsage, cost};
use crate::invoke::provider::Target;
use crate::invoke::{Call, CallContext, CallError, Route};
use crate::rate_limits::{Dimension, MINUTE, RateLimit};
use crate::windows::{Window, rejection_message};

/// One USD in the counters' unit.
const NANOS_PER_USD: f64 = 1e9;
/// How long a hold lasts if its call never settles it (its replica died).
pub const HOLD_TTL: Duration = Duration::from_secs(3600);
/// How long the configured limits are used before they are read again (a change made
/// through this process is seen at once).
pub const POLICY_TTL: Duration = Duration::from_secs(5);
/// How often expired holds are released.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// Output tokens reserved for a call that does not cap its answer.
pub const DEFAULT_OUTPUT_RESERVE: u64 = 32_768;
/// Input tokens reserved per image, audio or file part (its bytes are not in the body).
pub const MEDIA_PART_RESERVE: u64 = 8_192;

/// USD as nano-dollars, rounded up (a hold never undercounts).
pub fn nanos(usd: f64) -> i64 {
    let n = (usd * NANOS_PER_USD).ceil();
    if n.is_nan() || n <= 0.0 {
        0
    } else if n >= i64::MAX as f64 {
        i64::MAX
    } else {
        n as i64
    }
}

/// Whether a hold of `amount` fits on a counter with `used` settled and `held` in flight:
/// nothing may take it past `limit`, and nothing more is admitted once it is reached.
pub fn fits(used: i64, held: i64, amount: i64, limit: i64) -> bool {
    let taken = used.saturating_add(held);
    taken < limit && taken.saturating_add(amount) <= limit
}

/// Nano-dollars as USD.
pub fn usd(nanos: i64) -> f64 {
    nanos as f64 / NANOS_PER_USD
}

/// One limit a call is held to: a policy's counter in its current window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    /// The policy's ID (a rate limit's has its dimension after a colon).
    pub key: String,
    pub window: Window,
    pub limit: i64,
    /// Whether a call that would pass the limit is refused (else the limit only alerts).
    pub reject: bool,
    /// What the call holds on it (its worst case; nothing on a counter that only alerts).
    pub held: i64,
}

/// What a reservation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    Admitted,
    /// Refused by the counter at this index (nothing was held).
    Refused(usize),
}

/// A counter's settlement: the hold released, the actual use added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub key: String,
    pub window_start_ms: i64,
    pub limit: i64,
    pub held: i64,
    pub used: i64,
}

/// A counter whose window reached its limit with a settlement (once per window).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crossed {
    pub key: String,
    pub window_start_ms: i64,
    /// Its settled use after the settlement.
    pub used: i64,
}

/// The limits configured, as read for calls.
#[derive(Debug, Default)]
pub struct Policies {
    pub budgets: Vec<BudgetPolicy>,
    pub rate_limits: Vec<RateLimit>,
}

/// The configured limits, read at most every [`POLICY_TTL`].
#[derive(Debug, Default)]
pub struct PolicyCache {
    loaded: Mutex<Option<(Instant, Arc<Policies>)>>,
}

impl PolicyCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Instant, Arc<Policies>)>> {
        self.loaded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn fresh(&self) -> Option<Arc<Policies>> {
        let loaded = self.lock();
        let (at, policies) = loaded.as_ref()?;
        (at.elapsed() < POLICY_TTL).then(|| policies.clone())
    }

    pub fn clear(&self) {
        *self.lock() = None;
    }
}

/// What a call may use at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorstCase {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl WorstCase {
    /// The most tokens a call with `body` can use: no more input tokens than the body has
    /// bytes (a token is at least a byte of text, and the JSON around each message outweighs
    /// the tokens a chat template adds) plus [`MEDIA_PART_RESERVE`] per media part; as many
    /// output tokens as it caps its answer at (else [`DEFAULT_OUTPUT_RESERVE`]; none for
    /// embeddings).
    pub fn of(body: &Map<String, Value>, body_bytes: usize, embeddings: bool) -> Self {
        let media = media_parts(body.get("messages").or_else(|| body.get("input")), 0);
        let input_tokens = (body_bytes as u64).saturating_add(media * MEDIA_PART_RESERVE);
        let output_tokens = if embeddings {
            0
        } else {
            ["max_completion_tokens", "max_tokens", "max_output_tokens"]
                .iter()
                .find_map(|k| body.get(*k).and_then(Value::as_u64))
                .unwrap_or(DEFAULT_OUTPUT_RESERVE)
        };
        Self {
            input_tokens,
            output_tokens,
        }
    }

    fn usage(self) -> TokenUsage {
        TokenUsage {
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            ..TokenUsage::default()
        }
    }
}

/// Content parts whose tokens are not in the body's bytes (images, audio, files).
fn media_parts(value: Option<&Value>, depth: usize) -> u64 {
    const MEDIA: [&str; 8] = [
        "image_url",
        "input_image",
        "image",
        "input_audio",
        "audio",
        "file",
        "input_file",
        "document",
    ];
    match value {
        Some(Value::Array(items)) if depth < 8 => {
            items.iter().map(|v| media_parts(Some(v), depth + 1)).sum()
        }
        Some(Value::Object(map)) if depth < 8 => {
            let own = u64::from(
                map.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| MEDIA.contains(&t)),
            );
            own + media_parts(map.get("content"), depth + 1)
        }
        _ => 0,
    }
}

/// What a counter of a hold counts.
#[derive(Debug, Clone)]
enum Kind {
    Budget(BudgetPolicy),
    Rate(RateLimit, Dimension),
}

/// A call admitted under its limits, to be settled once its use is known.
#[derive(Debug)]
pub struct Hold {
    hold_id: String,
    counters: Vec<Counter>,
    /// What each counter counts, by index.
    kinds: Vec<Kind>,
    workspace: String,
}

/// What a call used, once known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Used {
    pub cost_usd: f64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl Used {
    pub fn tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}

/// Whether a policy of `owner`'s workspace with `scope` and `target` counts a call of
/// `workspace` to `endpoint_id` by `user`. Only a GLOBAL policy reaches past its workspace.
fn applies(
    scope: TargetScope,
    target: Option<&str>,
    owner: &str,
    workspace: &str,
    endpoint_id: &str,
    user: Option<&str>,
) -> bool {
    match scope {
        TargetScope::Global => true,
        TargetScope::Workspace => owner == workspace,
        TargetScope::Endpoint => owner == workspace && target == Some(endpoint_id),
        TargetScope::User => owner == workspace && user.is_some() && target == user,
    }
}

/// The 429 of a rate limit, saying when the minute ends.
fn rate_message(limit: &RateLimit, dimension: Dimension, window: Window, now_ms: i64) -> String {
    let wait = (window.end_ms - now_ms).max(0).div_euclid(1000) + 1;
    format!(
        "Rate limit exceeded: at most {} {} per minute (rate limit {}). Try again in {wait} \
         seconds.",
        limit.limit(dimension).unwrap_or_default(),
        dimension.as_str(),
        limit.rate_limit_id
    )
}

impl Gateway {
    /// Forgets the limits read for calls, after a change to them.
    pub(crate) fn limits_changed(&self) {
        self.policies.clear();
    }

    async fn policies(&self) -> Result<Arc<Policies>> {
        if let Some(p) = self.policies.fresh() {
            return Ok(p);
        }
        let policies = Arc::new(Policies {
            budgets: self.store.all_budget_policies().await?,
            rate_limits: self.store.all_rate_limits().await?,
        });
        *self.policies.lock() = Some((Instant::now(), policies.clone()));
        Ok(policies)
    }

    /// Reserves `chain`'s worst case on every limit that applies to the call, or refuses it
    /// (HTTP 429) when a rejecting limit has no room for it. `None`: no limit applies.
    pub(crate) async fn hold(
        &self,
        route: &Route,
        call: Call,
        body: &Map<String, Value>,
        context: &CallContext,
        chain: &[Arc<Target>],
    ) -> Result<Option<Hold>, CallError> {
        let policies = self.policies().await?;
        let user = context.username.as_deref();
        let (workspace, endpoint) = (route.workspace.as_str(), route.endpoint_id.as_str());
        let budgets: Vec<&BudgetPolicy> = policies
            .budgets
            .iter()
            .filter(|p| {
                let target = p.target_value.as_deref();
                applies(
                    p.target_scope,
                    target,
                    &p.workspace,
                    workspace,
                    endpoint,
                    user,
                )
            })
            .collect();
        let rates: Vec<&RateLimit> = policies
            .rate_limits
            .iter()
            .filter(|l| {
                let target = l.target_value.as_deref();
                applies(
                    l.target_scope,
                    target,
                    &l.workspace,
                    workspace,
                    endpoint,
                    user,
                )
            })
            .collect();
        if budgets.is_empty() && rates.is_empty() {
            return Ok(None);
        }
        let embeddings = matches!(call, Call::UnifiedEmbeddings | Call::OpenAiEmbeddings);
        // The body as parsed, written compactly: every byte of its text is still there.
        let bytes = serde_json::to_vec(body).map_or(usize::MAX, |b| b.len());
        let worst = WorstCase::of(body, bytes, embeddings);
        // Only one model serves a call: its worst case is the dearest model's.
        let worst_usd = chain
            .iter()
            .filter_map(|t| cost(&self.prices.price(&t.provider, &t.model)?, &worst.usage()))
            .map(|c| c.total_cost)
            .fold(0.0, f64::max);
        let worst_tokens = i64::try_from(worst.input_tokens.saturating_add(worst.output_tokens))
            .unwrap_or(i64::MAX);
        let now = self.now();
        let mut counters = Vec::new();
        let mut kinds = Vec::new();
        for policy in budgets {
            let reject = policy.budget_action == BudgetAction::Reject;
            counters.push(Counter {
                key: policy.budget_policy_id.clone(),
                window: policy.duration.window(now),
                limit: nanos(policy.budget_amount),
                reject,
                held: if reject { nanos(worst_usd) } else { 0 },
            });
            kinds.push(Kind::Budget(policy.clone()));
        }
        for limit in rates {
            for (dimension, held) in [(Dimension::Requests, 1), (Dimension::Tokens, worst_tokens)] {
                if let Some(max) = limit.limit(dimension) {
                    counters.push(Counter {
                        key: limit.counter(dimension),
                        window: MINUTE.window(now),
                        limit: max,
                        reject: true,
                        held,
                    });
                    kinds.push(Kind::Rate(limit.clone(), dimension));
                }
            }
        }
        let hold_id = uuid::Uuid::new_v4().simple().to_string();
        let expires = now.saturating_add(HOLD_TTL.as_millis() as i64);
        let reserved = keel_core::audit::scope::unrecorded(
            self.store.reserve_limits(&hold_id, &counters, expires),
        )
        .await?;
        if let Reserved::Refused(i) = reserved {
            let (counter, kind) = (&counters[i], &kinds[i]);
            keel_core::audit::scope::note_detail(serde_json::json!({
                "decision": "rejected",
                "endpoint": route.name,
                "limit": counter.key,
            }));
            let message = match kind {
                Kind::Budget(p) => rejection_message(p.budget_amount, p.duration, counter.window),
                Kind::Rate(l, d) => rate_message(l, *d, counter.window, now),
            };
            return Err(CallError::http(429, message));
        }
        Ok(Some(Hold {
            hold_id,
            counters,
            kinds,
            workspace: route.workspace.clone(),
        }))
    }

    /// Settles `hold` with what the call used (`None`: not known, so its worst case is
    /// charged), off the caller's path; fires `budget_policy.exceeded` for every alerting
    /// budget the call took past its limit.
    pub(crate) fn settle(&self, hold: Hold, used: Option<Used>) {
        let gateway = self.clone();
        // A spawned task carries no request's audit scope: the write records nothing.
        self.background
            .spawn(async move { gateway.settle_now(hold, used).await });
    }

    async fn settle_now(&self, hold: Hold, used: Option<Used>) {
        let settlements: Vec<Settlement> = hold
            .counters
            .iter()
            .zip(&hold.kinds)
            .map(|(c, kind)| Settlement {
                key: c.key.clone(),
                window_start_ms: c.window.start_ms,
                limit: c.limit,
                held: c.held,
                used: match (kind, used) {
                    (Kind::Rate(_, Dimension::Requests), _) => 1,
                    (_, None) => c.held,
                    (Kind::Budget(_), Some(u)) => nanos(u.cost_usd),
                    (Kind::Rate(_, Dimension::Tokens), Some(u)) => {
                        i64::try_from(u.tokens()).unwrap_or(i64::MAX)
                    }
                },
            })
            .collect();
        let crossed = match self.store.settle_limits(&hold.hold_id, &settlements).await {
            Ok(crossed) => crossed,
            Err(e) => {
                // The hold stays until it expires: the limit errs on the safe side.
                tracing::warn!(error = %e.message, "cannot settle a gateway call's limits");
                return;
            }
        };
        let Some(webhooks) = &self.webhooks else {
            return;
        };
        for crossed in crossed {
            let alerting = hold
                .counters
                .iter()
                .zip(&hold.kinds)
                .find_map(|(c, kind)| match kind {
                    Kind::Budget(p)
                        if c.key == crossed.key && p.budget_action == BudgetAction::Alert =>
                    {
                        Some((c, p))
                    }
                    _ => None,
                });
            let Some((counter, policy)) = alerting else {
                continue;
            };
            let event = keel_core::webhooks::Event::budget_policy_exceeded(
                &keel_core::webhooks::BudgetExceeded {
                    budget_policy_id: &policy.budget_policy_id,
                    budget_amount: policy.budget_amount,
                    current_spend: usd(crossed.used),
                    duration_unit: policy.duration.unit.as_str(),
                    duration_value: policy.duration.value,
                    target_scope: policy.target_scope.as_str(),
                    workspace: &hold.workspace,
                    target_value: policy.target_value.as_deref(),
                    window_start: counter.window.start_ms,
                },
            );
            webhooks.in_workspace(&hold.workspace).emit(event).await;
        }
    }

    /// Releases the holds of calls that never settled (their replica died) and forgets
    /// windows that ended more than a day ago; every replica may run it.
    pub async fn sweep_limits(&self) -> Result<u64> {
        let now = self.now();
        self.store.sweep_limits(now, now - 24 * 3600 * 1000).await
    }

    /// Sweeps every minute (see [`Self::sweep_limits`]) from a task on the current runtime,
    /// until [`Self::stop`].
    pub fn sweep_limits_periodically(&self) {
        let gateway = self.clone();
        self.background.spawn(async move {
            let mut every = tokio::time::interval(SWEEP_EVERY);
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    () = gateway.stopping.cancelled() => return,
                }
                if let Err(e) = gateway.sweep_limits().await {
                    tracing::warn!(error = %e.message, "cannot sweep the gateway's limit holds");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn nano_dollars_round_up_and_saturate() {
        assert_eq!(nanos(4.8e-06), 4_800);
        assert_eq!(nanos(1e-10), 1);
        assert_eq!(nanos(0.0), 0);
        assert_eq!(nanos(f64::NAN), 0);
        assert_eq!(nanos(1e30), i64::MAX);
        assert!((usd(4_800) - 4.8e-06).abs() < 1e-15);
    }

    #[test]
    fn a_hold_fits_until_the_limit_and_none_once_it_is_reached() {
        assert!(fits(0, 0, 10, 10));
        assert!(!fits(0, 1, 10, 10), "held counts");
        assert!(!fits(3, 0, 8, 10));
        assert!(
            fits(9, 0, 0, 10),
            "an unpriced call fits while there is room"
        );
        assert!(!fits(10, 0, 0, 10), "none once reached");
        assert!(!fits(0, 0, 0, 0), "a zero limit admits nothing");
        assert!(!fits(i64::MAX, i64::MAX, i64::MAX, i64::MAX));
    }

    #[test]
    fn the_worst_case_is_the_bodys_bytes_and_its_cap() {
        let b = body(json!({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 7}));
        assert_eq!(
            WorstCase::of(&b, 60, false),
            WorstCase {
                input_tokens: 60,
                output_tokens: 7
            }
        );
        let uncapped = body(json!({"messages": [{"role": "user", "content": [
            {"type": "text", "text": "what is this"},
            {"type": "image_url", "image_url": {"url": "https://x/y.png"}}
        ]}]}));
        let w = WorstCase::of(&uncapped, 100, false);
        assert_eq!(w.input_tokens, 100 + MEDIA_PART_RESERVE);
        assert_eq!(w.output_tokens, DEFAULT_OUTPUT_RESERVE);
        let embed = body(json!({"input": ["a", "b"]}));
        assert_eq!(WorstCase::of(&embed, 20, true).output_tokens, 0);
    }

    #[test]
    fn a_policy_counts_its_scope_and_no_other_workspaces_calls() {
        use TargetScope::*;
        assert!(
            applies(Global, None, "a", "b", "e-1", None),
            "global: every workspace"
        );
        assert!(applies(Workspace, None, "a", "a", "e-1", None));
        assert!(!applies(Workspace, None, "a", "b", "e-1", None));
        assert!(applies(Endpoint, Some("e-1"), "a", "a", "e-1", Some("bob")));
        assert!(!applies(
            Endpoint,
            Some("e-1"),
            "a",
            "a",
            "e-2",
            Some("bob")
        ));
        assert!(applies(User, Some("bob"), "a", "a", "e-9", Some("bob")));
        assert!(!applies(User, Some("bob"), "a", "a", "e-9", None));
        assert!(
            !applies(User, Some("bob"), "a", "b", "e-9", Some("bob")),
            "a workspace's user policy does not limit bob elsewhere"
        );
    }

    #[test]
    fn a_rate_refusal_says_when_to_try_again() {
        let limit = RateLimit {
            rate_limit_id: "rl-1".into(),
            workspace: "default".into(),
            target_scope: TargetScope::Workspace,
            target_value: None,
            requests_per_minute: Some(10),
            tokens_per_minute: None,
            created_by: None,
            created_at: 0,
            last_updated_by: None,
            last_updated_at: 0,
        };
        let window = MINUTE.window(90_500);
        assert_eq!(
            rate_message(&limit, Dimension::Requests, window, 90_500),
            "Rate limit exceeded: at most 10 requests per minute (rate limit rl-1). Try again \
             in 30 seconds."
        );
    }
}

//! Keel's AI gateway: the provider credentials it holds (secrets), the provider models they
//! reach (model definitions), the endpoints callers invoke (with their models, bindings and
//! routing), and the calls themselves (`invoke`: providers' wire formats, fallbacks, circuit
//! breakers, streams, traces, a response cache) with what they cost (`cost`, `prices`), the
//! guardrails that check them (`guardrails`), the budgets and rate limits they are held to (`budgets`, `rate_limits`, `windows`, `limits`:
//! reserved before the call, settled after) and what they used (`ledger`). This crate is the
//! domain — rules, validation, the outbound client and the [`Gateway`] service over a
//! [`GatewayStore`]; the SQL is in `keel-store` and the HTTP routes in `keel-server`.

pub mod bindings;
pub mod budgets;
pub mod cost;
pub mod destination;
pub mod discovery;
pub mod endpoints;
pub mod guardrails;
pub mod invoke;
pub mod ledger;
pub mod limits;
pub mod mappings;
pub mod model_definitions;
pub mod prices;
pub mod prompts;
pub mod rate_limits;
pub mod routing;
pub mod secrets;
pub mod store;
pub mod windows;

use std::sync::Arc;

use keel_core::clock::Clock;
use keel_core::webhooks::SecretCipher;

pub use bindings::{BindingFilter, BindingWrite, EndpointBinding};
pub use budgets::{
    BudgetAction, BudgetPolicy, BudgetWindow, CreateBudgetPolicy, DurationIn, PolicyAuthor,
    TargetScope, UpdateBudgetPolicy,
};
pub use destination::DestinationPolicy;
pub use endpoints::{
    CreateEndpoint, Endpoint, EndpointKey, EndpointWrite, FallbackConfig, Linkage, ModelConfigIn,
    ModelMapping, UpdateEndpoint,
};
pub use guardrails::{
    AddOutcome, CreateGuardrail, Guardrail, GuardrailAttachment, GuardrailConfig,
};
pub use ledger::{GroupBy, UsageCounts, UsageKey, UsageQuery, UsageRow};
pub use limits::{Counter, Crossed, Reserved, Settlement};
pub use mappings::{AttachModel, AttachOutcome, DetachOutcome};
pub use model_definitions::{
    CreateModelDefinition, DefinitionDelete, DefinitionWrite, ModelDefinition,
    UpdateModelDefinition,
};
pub use rate_limits::{RateLimit, RateLimitIn, RateWindow};
pub use secrets::{CreateSecret, GatewaySecret, UpdateSecret};
pub use store::GatewayStore;

/// The gateway service: every rule of its configuration, over one store.
#[derive(Clone)]
pub struct Gateway {
    store: Arc<dyn GatewayStore>,
    /// Makes and finds the experiments endpoints trace their calls into.
    tracking: keel_core::Tracking,
    cipher: Arc<SecretCipher>,
    clock: Arc<dyn Clock>,
    destinations: DestinationPolicy,
    /// Endpoints resolved for calls; cleared by every configuration change.
    routes: Arc<invoke::RouteCache>,
    upstream: invoke::upstream::Upstream,
    /// What calls cost.
    prices: Arc<prices::PriceTable>,
    /// Writes calls' traces (none: calls are not traced, as in tests without a trace store).
    tracer: Option<Arc<invoke::tracer::CallTracer>>,
    /// The circuit of every model called.
    breakers: Arc<invoke::breaker::Breakers>,
    /// Whole answers of endpoints that cache them.
    cache: Arc<invoke::cache::ResponseCache>,
    /// Calls' usage not yet written to the ledger.
    tally: Arc<ledger::Tally>,
    /// The budgets and rate limits calls are held to, as last read.
    policies: Arc<limits::PolicyCache>,
    /// Where `budget_policy.exceeded` events go (none: nowhere).
    webhooks: Option<keel_core::Webhooks>,
    /// The work calls leave behind (settlements, traces, sweeps), waited for by [`Self::stop`].
    background: tokio_util::task::TaskTracker,
    /// Cancelled by [`Self::stop`]: the trace writer drains its queue and the sweeps end.
    stopping: tokio_util::sync::CancellationToken,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("destinations", &self.destinations)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// `cipher` seals provider credentials at rest; `destinations` says which upstreams a
    /// secret's `api_base` may name (checked when it is saved and again when it is called);
    /// `tracking` holds the endpoints' experiments. Calls use the reference's time limit
    /// ([`Self::with_call_timeout`] changes it).
    pub fn new(
        store: Arc<dyn GatewayStore>,
        tracking: keel_core::Tracking,
        cipher: Arc<SecretCipher>,
        clock: Arc<dyn Clock>,
        destinations: DestinationPolicy,
    ) -> keel_core::Result<Self> {
        Ok(Self {
            store,
            tracking,
            cipher,
            clock,
            destinations,
            routes: Arc::new(invoke::RouteCache::new(invoke::DEFAULT_ROUTE_TTL)),
            upstream: invoke::upstream::Upstream::new(
                destinations,
                invoke::upstream::DEFAULT_TIMEOUT,
            )?,
            prices: Arc::new(prices::PriceTable::shipped()),
            tracer: None,
            breakers: Arc::new(invoke::breaker::Breakers::default()),
            cache: Arc::new(invoke::cache::ResponseCache::default()),
            tally: Arc::new(ledger::Tally::default()),
            policies: Arc::new(limits::PolicyCache::default()),
            webhooks: None,
            background: tokio_util::task::TaskTracker::new(),
            stopping: tokio_util::sync::CancellationToken::new(),
        })
    }

    /// Stops the background work once calls are over: the sweeps end, the queued traces are
    /// written and every settlement in flight finishes.
    pub async fn stop(&self) {
        self.stopping.cancel();
        self.background.close();
        self.background.wait().await;
    }

    /// Sends `budget_policy.exceeded` events through `webhooks`.
    pub fn with_webhooks(mut self, webhooks: keel_core::Webhooks) -> Self {
        self.webhooks = Some(webhooks);
        self
    }

    /// Costs calls at `prices` (the shipped table with the operator's changes).
    pub fn with_prices(mut self, prices: prices::PriceTable) -> Self {
        self.prices = Arc::new(prices);
        self
    }

    /// Traces calls of usage-tracking endpoints into `traces`, from a task started on the
    /// current tokio runtime. The traces are costed at the prices set so far (set them
    /// first, with [`Self::with_prices`]).
    pub fn with_tracing(mut self, traces: keel_core::traces::Traces) -> Self {
        self.tracer = Some(Arc::new(invoke::tracer::CallTracer::start(
            traces,
            self.prices.clone(),
            &self.background,
            self.stopping.clone(),
        )));
        self
    }

    /// Gives every upstream call at most `timeout`.
    pub fn with_call_timeout(mut self, timeout: std::time::Duration) -> keel_core::Result<Self> {
        self.upstream = invoke::upstream::Upstream::new(self.destinations, timeout)?;
        Ok(self)
    }

    /// Forgets the endpoints resolved for calls, after a configuration change.
    fn changed(&self) {
        self.routes.clear();
    }

    fn now(&self) -> i64 {
        self.clock.now_millis()
    }
}

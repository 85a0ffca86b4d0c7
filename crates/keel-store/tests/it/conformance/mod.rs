//! The tracking-store conformance checks, shared by every backend, and the helpers they use.
//!
//! Each check is a plain `async fn(Fixture)`; `conformance_suite!` (in `main.rs`) turns every one
//! into a test per backend. Checks go through `keel_core::Tracking` (the real domain path) unless
//! they test a guarantee of the store trait itself.

pub mod audit;
pub mod durability;
pub mod experiments;
pub mod gateway;
pub mod gateway_limits;
pub mod gc;
pub mod history;
pub mod identity;
pub mod inputs;
pub mod logged_models;
pub mod logging;
pub mod registry;
pub mod runs;
pub mod search;
pub mod trace_edits;
pub mod trace_search;
pub mod trace_spans;
pub mod traces;
pub mod webhooks;
pub mod workspaces;

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use keel_core::clock::Clock;
use keel_core::registry::SourcePolicy;
use keel_core::tracking::{
    CreateExperiment, CreateRun, HistoryRequest, LogMetric, MetricHistory, SearchRuns,
};
use keel_core::{
    Error, ErrorCode, LifecycleStage, Metric, Page, Param, Registry, RegistryStore, Result, Run,
    Tag, Tracking, TrackingStore, ViewType, WebhookStore,
};

/// Opens other stores over the same database.
pub type Reopen =
    Box<dyn Fn() -> Pin<Box<dyn Future<Output = keel_store::Stores> + Send>> + Send + Sync>;

/// The first instant test clocks report (2023-11-14, in milliseconds).
pub const T0: i64 = 1_700_000_000_000;

/// A store over a fresh database, plus what a backend needs to keep it alive and reopen it.
pub struct Fixture {
    store: Option<Arc<dyn TrackingStore>>,
    /// The registry side of the same database (set by `with_registry`).
    registry: Option<Arc<dyn RegistryStore>>,
    /// The webhook side of the same database (set by `with_webhooks`).
    webhooks: Option<Arc<dyn WebhookStore>>,
    /// The trace side of the same database (set by `with_traces`).
    traces: Option<Arc<dyn keel_core::traces::TraceStore>>,
    /// The identity side of the same database (set by `with_identity`).
    identity: Option<Arc<dyn keel_auth::store::IdentityStore>>,
    /// The workspace catalogue of the same database (set by `with_workspaces`).
    workspaces: Option<Arc<dyn keel_core::WorkspaceStore>>,
    /// The audit log's storage in the same database (set by `with_audit`).
    audit: Option<Arc<dyn keel_core::audit::AuditStore>>,
    /// The AI gateway's storage in the same database (set by `with_gateway`).
    gateway: Option<Arc<dyn keel_gateway::GatewayStore>>,
    reopen: Reopen,
    clock: Arc<TickingClock>,
    /// Dropped last: e.g. the temporary directory holding a SQLite file.
    _guard: Box<dyn Any + Send + Sync>,
}

impl Fixture {
    pub fn new(
        store: Arc<dyn TrackingStore>,
        reopen: Reopen,
        guard: Box<dyn Any + Send + Sync>,
    ) -> Self {
        Self {
            store: Some(store),
            registry: None,
            webhooks: None,
            traces: None,
            identity: None,
            workspaces: None,
            audit: None,
            gateway: None,
            reopen,
            clock: Arc::new(TickingClock::new(T0)),
            _guard: guard,
        }
    }

    /// Adds the registry store of the same database.
    pub fn with_registry(mut self, registry: Arc<dyn RegistryStore>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Adds the webhook store of the same database.
    pub fn with_webhooks(mut self, webhooks: Arc<dyn WebhookStore>) -> Self {
        self.webhooks = Some(webhooks);
        self
    }

    /// The webhook store of the database.
    pub fn webhook_store(&self) -> Arc<dyn WebhookStore> {
        self.webhooks.clone().expect("fixture has a webhook store")
    }

    /// Adds the identity store of the same database.
    pub fn with_identity(mut self, identity: Arc<dyn keel_auth::store::IdentityStore>) -> Self {
        self.identity = Some(identity);
        self
    }

    /// The identity store of the database.
    pub fn identity_store(&self) -> Arc<dyn keel_auth::store::IdentityStore> {
        self.identity
            .clone()
            .expect("fixture has an identity store")
    }

    /// Adds the trace store of the same database.
    pub fn with_workspaces(mut self, workspaces: Arc<dyn keel_core::WorkspaceStore>) -> Self {
        self.workspaces = Some(workspaces);
        self
    }

    /// Adds the audit store of the same database.
    pub fn with_audit(mut self, audit: Arc<dyn keel_core::audit::AuditStore>) -> Self {
        self.audit = Some(audit);
        self
    }

    /// Adds the AI gateway's store of the same database.
    pub fn with_gateway(mut self, gateway: Arc<dyn keel_gateway::GatewayStore>) -> Self {
        self.gateway = Some(gateway);
        self
    }

    pub fn gateway_store(&self) -> Arc<dyn keel_gateway::GatewayStore> {
        self.gateway.clone().expect("fixture built with_gateway")
    }

    pub fn audit_store(&self) -> Arc<dyn keel_core::audit::AuditStore> {
        self.audit.clone().expect("fixture built with_audit")
    }

    pub fn workspace_store(&self) -> Arc<dyn keel_core::WorkspaceStore> {
        self.workspaces
            .clone()
            .expect("fixture built with_workspaces")
    }

    pub fn with_traces(mut self, traces: Arc<dyn keel_core::traces::TraceStore>) -> Self {
        self.traces = Some(traces);
        self
    }

    /// The trace store of the database.
    pub fn trace_store(&self) -> Arc<dyn keel_core::traces::TraceStore> {
        self.traces.clone().expect("fixture has a trace store")
    }

    /// The registry store of the database.
    pub fn registry_store(&self) -> Arc<dyn RegistryStore> {
        self.registry.clone().expect("fixture has a registry store")
    }

    /// The registry service over the store, with the fixture's ticking clock; sources may also
    /// lie under `s3://bucket/prefix` (the artifact store these tests pretend to have).
    pub fn registry(&self) -> Registry {
        Registry::with_clock(
            self.registry_store(),
            self.tracking(),
            SourcePolicy::new().with_store_root("s3://bucket/prefix"),
            self.clock.clone(),
        )
    }

    /// The open store.
    pub fn store(&self) -> Arc<dyn TrackingStore> {
        self.store.clone().expect("fixture has an open store")
    }

    /// The tracking service over the store, with a clock that advances 1 ms per reading (so
    /// creation and update times are distinct and ordered), shared by all services of the fixture.
    pub fn tracking(&self) -> Tracking {
        Tracking::with_clock(self.store(), self.clock.clone())
    }

    /// The tracking service with a clock that always reads `now`.
    pub fn tracking_at(&self, now: i64) -> Tracking {
        Tracking::with_clock(self.store(), Arc::new(FixedClock(now)))
    }

    /// Drops the open stores (the caller must hold no other handle to them) and opens the same
    /// database again.
    pub async fn reopen(&mut self) -> Arc<dyn TrackingStore> {
        // The registry and webhook handles share the store's connections: they go first.
        self.registry = None;
        self.webhooks = None;
        self.traces = None;
        let old = self.store.take().expect("fixture has an open store");
        assert_eq!(
            Arc::strong_count(&old),
            1,
            "drop every handle to the store before reopening it"
        );
        drop(old);
        let stores = (self.reopen)().await;
        self.store = Some(stores.tracking.clone());
        self.registry = Some(stores.registry);
        self.webhooks = Some(stores.webhooks);
        stores.tracking
    }
}

/// A clock that advances one millisecond each time it is read.
#[derive(Debug)]
pub struct TickingClock(AtomicI64);

impl TickingClock {
    pub fn new(start: i64) -> Self {
        Self(AtomicI64::new(start))
    }
}

impl Clock for TickingClock {
    fn now_millis(&self) -> i64 {
        self.0.fetch_add(1, Ordering::SeqCst)
    }
}

/// A clock stuck at one instant.
#[derive(Debug)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_millis(&self) -> i64 {
        self.0
    }
}

/// Asserts that `result` failed with `code` and returns the error.
#[track_caller]
pub fn expect_err<T: std::fmt::Debug>(result: Result<T>, code: ErrorCode) -> Error {
    match result {
        Ok(value) => panic!("expected {}, got Ok({value:?})", code.as_str()),
        Err(e) => {
            assert_eq!(
                e.code,
                code,
                "expected {}, got {}: {}",
                code.as_str(),
                e.code.as_str(),
                e.message
            );
            e
        }
    }
}

/// Creates an experiment named `name` with no tags.
pub async fn experiment(t: &Tracking, name: &str) -> String {
    t.create_experiment(CreateExperiment {
        name: name.to_owned(),
        ..Default::default()
    })
    .await
    .expect("create experiment")
}

/// Creates a run in `experiment_id` with a given name.
pub async fn run_named(t: &Tracking, experiment_id: &str, name: &str) -> Run {
    t.create_run(CreateRun {
        experiment_id: Some(experiment_id.to_owned()),
        run_name: Some(name.to_owned()),
        user_id: Some("tester".to_owned()),
        ..Default::default()
    })
    .await
    .expect("create run")
}

/// Creates a run in `experiment_id` with a generated name.
pub async fn run_in(t: &Tracking, experiment_id: &str) -> Run {
    t.create_run(CreateRun {
        experiment_id: Some(experiment_id.to_owned()),
        ..Default::default()
    })
    .await
    .expect("create run")
}

/// A metric point as a client logs it.
pub fn point(key: &str, value: f64, timestamp: i64, step: i64) -> LogMetric {
    LogMetric {
        key: key.to_owned(),
        value,
        timestamp,
        step,
        model_id: None,
        dataset_name: None,
        dataset_digest: None,
    }
}

/// The same point as the store holds it.
pub fn stored(key: &str, value: f64, timestamp: i64, step: i64) -> Metric {
    point(key, value, timestamp, step).into()
}

pub fn param(key: &str, value: &str) -> Param {
    Param {
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

pub fn tag(key: &str, value: &str) -> Tag {
    Tag::new(key, value)
}

/// Logs one metric point.
pub async fn log_point(t: &Tracking, run_id: &str, key: &str, value: f64, ts: i64, step: i64) {
    t.log_metric(run_id, point(key, value, ts, step))
        .await
        .expect("log metric");
}

/// The run, which must exist.
pub async fn get_run(t: &Tracking, run_id: &str) -> Run {
    t.get_run(run_id).await.expect("get run")
}

/// The run's latest value of `key`, if logged.
pub fn latest(run: &Run, key: &str) -> Option<Metric> {
    run.data.metrics.iter().find(|m| m.key == key).cloned()
}

pub fn param_value(run: &Run, key: &str) -> Option<String> {
    run.data
        .params
        .iter()
        .find(|p| p.key == key)
        .map(|p| p.value.clone())
}

pub fn tag_value(run: &Run, key: &str) -> Option<String> {
    run.data
        .tags
        .iter()
        .find(|t| t.key == key)
        .map(|t| t.value.clone())
}

/// Every point of a metric, unpaged (read through the whole-history reader when it is longer
/// than a page).
pub async fn full_history(t: &Tracking, run_id: &str, key: &str) -> Vec<Metric> {
    let history = t
        .metric_history(HistoryRequest {
            run_id: run_id.to_owned(),
            metric_key: key.to_owned(),
            ..Default::default()
        })
        .await
        .expect("metric history");
    match history {
        MetricHistory::Page(page) => {
            assert_eq!(page.next_page_token, None);
            page.items
        }
        MetricHistory::Whole(mut reader) => {
            let mut all = Vec::new();
            while let Some(page) = reader.next_page().await.expect("page") {
                all.extend(page);
            }
            all
        }
    }
}

/// One page of a paged history request.
pub fn one_page(history: MetricHistory) -> Page<Metric> {
    match history {
        MetricHistory::Page(page) => page,
        MetricHistory::Whole(_) => panic!("a paged request answered with a whole history"),
    }
}

/// IDs of the runs of one search page, in order.
pub fn run_ids(runs: &[Run]) -> Vec<String> {
    runs.iter().map(|r| r.info.run_id.clone()).collect()
}

/// The run IDs a run search returns on its first page (up to 1000 runs).
pub async fn search_run_ids(
    t: &Tracking,
    experiment_ids: &[&str],
    filter: &str,
    order_by: &[&str],
    view: ViewType,
) -> Vec<String> {
    let page = t
        .search_runs(SearchRuns {
            experiment_ids: experiment_ids.iter().map(|s| (*s).to_owned()).collect(),
            filter: Some(filter.to_owned()),
            view,
            max_results: Some(1000),
            order_by: order_by.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("search runs with filter {filter:?}: {e}"));
    run_ids(&page.items)
}

/// The same value, bit for bit where it matters: NaN equals NaN, infinities keep their sign.
pub fn same_value(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b
}

/// Sorts a list of IDs for order-insensitive comparisons.
pub fn sorted<T: Ord + Clone>(items: &[T]) -> Vec<T> {
    let mut v = items.to_vec();
    v.sort();
    v
}

/// Whether the run is in `stage`.
pub async fn stage_of(t: &Tracking, run_id: &str) -> LifecycleStage {
    get_run(t, run_id).await.info.lifecycle_stage
}

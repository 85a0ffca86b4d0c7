//! Keel's process metrics in Prometheus form. There is one registry per process ([`global`]):
//! each crate counts into it where the event happens, without a handle threaded through its
//! constructors, and the server's `/metrics` route renders it in the Prometheus text format
//! (version 0.0.4), the format the reference server's exporter serves.
//!
//! Counting costs an atomic add, or a read-locked map lookup for a labelled series; rendering
//! walks the registry once and calls each watched pool for its figures.

mod http;
mod labels;
mod pools;

use std::sync::{Arc, LazyLock};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub use http::HttpMetrics;
pub use pools::PoolStats;

use labels::{BuildLabels, DirectionLabels, OutcomeLabels};

/// The content type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Every metric Keel keeps.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Requests by route, method and status, and their latency.
    pub http: HttpMetrics,
    /// Write jobs waiting for the SQLite writer thread.
    pub sqlite_writer_queue: Gauge,
    /// Write jobs committed per SQLite transaction (one observation per commit).
    pub sqlite_commit_jobs: Histogram,
    /// Spans received over OTLP and stored.
    pub otlp_spans: Counter,
    build: Family<BuildLabels, Gauge>,
    artifact_bytes: Family<DirectionLabels, Counter>,
    webhook_deliveries: Family<OutcomeLabels, Counter>,
    pools: pools::Pools,
}

static GLOBAL: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn global() -> &'static Metrics {
    &GLOBAL
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::default();
        let http = HttpMetrics::registered(&mut registry);
        let build = Family::<BuildLabels, Gauge>::default();
        registry.register(
            "keel_build_info",
            "Keel's version and the MLflow version it serves (always 1)",
            build.clone(),
        );
        let sqlite_writer_queue = Gauge::default();
        registry.register(
            "keel_sqlite_writer_queue_depth",
            "Write jobs waiting for the SQLite writer thread",
            sqlite_writer_queue.clone(),
        );
        let sqlite_commit_jobs =
            Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]);
        registry.register(
            "keel_sqlite_commit_jobs",
            "Write jobs committed together in one SQLite transaction (group commit size)",
            sqlite_commit_jobs.clone(),
        );
        let otlp_spans = Counter::default();
        registry.register(
            "keel_otlp_spans_ingested",
            "Spans received over OTLP and stored",
            otlp_spans.clone(),
        );
        let artifact_bytes = Family::<DirectionLabels, Counter>::default();
        registry.register(
            "keel_artifact_bytes",
            "Artifact bytes received (in) and served (out) through the artifact proxy",
            artifact_bytes.clone(),
        );
        let webhook_deliveries = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "keel_webhook_deliveries",
            "Webhook delivery attempts by outcome",
            webhook_deliveries.clone(),
        );
        let pools = pools::Pools::default();
        registry.register_collector(Box::new(pools.clone()));
        Self {
            registry,
            http,
            sqlite_writer_queue,
            sqlite_commit_jobs,
            otlp_spans,
            build,
            artifact_bytes,
            webhook_deliveries,
            pools,
        }
    }

    /// Every metric in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        // Writing to a String cannot fail; an error would only come from a metric's own encoder.
        if let Err(e) =
            prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
        {
            out.push_str(&format!("# encoding failed: {e}\n"));
        }
        out
    }

    /// Names the running build (`keel_build_info`).
    pub fn set_build(&self, version: &'static str, mlflow_version: &'static str) {
        self.build
            .get_or_create(&BuildLabels {
                version,
                mlflow_version,
            })
            .set(1);
    }

    /// Counts artifact bytes received from a client.
    pub fn artifact_bytes_in(&self, n: u64) {
        self.artifact_bytes
            .get_or_create(&DirectionLabels { direction: "in" })
            .inc_by(n);
    }

    /// Counts artifact bytes sent to a client.
    pub fn artifact_bytes_out(&self, n: u64) {
        self.artifact_bytes
            .get_or_create(&DirectionLabels { direction: "out" })
            .inc_by(n);
    }

    /// Counts one webhook delivery attempt: `delivered` (a 2xx answer), `failed` (any other
    /// answer or no answer).
    pub fn webhook_delivery(&self, delivered: bool) {
        let outcome = if delivered { "delivered" } else { "failed" };
        self.webhook_deliveries
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Reports `pool`'s figures (`stats` of it) at every scrape for as long as it lives: only a
    /// weak reference is kept, so a closed store drops out and is never kept open.
    pub fn watch_pool<T: Send + Sync + 'static>(&self, pool: &Arc<T>, stats: fn(&T) -> PoolStats) {
        let pool = Arc::downgrade(pool);
        self.pools
            .watch(Box::new(move || pool.upgrade().map(|p| stats(&p))));
    }
}

/// What the modules' tests share: a registry's text, and a check that it holds given lines.
#[cfg(test)]
pub(crate) mod testing {
    pub fn render(registry: &prometheus_client::registry::Registry) -> String {
        let mut out = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut out, registry).expect("encode");
        out
    }

    pub fn assert_lines(text: &str, lines: &[&str]) {
        for line in lines {
            assert!(
                text.lines().any(|l| l == *line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::assert_lines;
    use super::*;

    #[test]
    fn every_metric_is_rendered_with_help_and_type_in_the_text_format() {
        let m = Metrics::new();
        m.set_build("1.2.3", "3.0.0");
        m.artifact_bytes_in(10);
        m.artifact_bytes_out(7);
        m.webhook_delivery(true);
        m.webhook_delivery(false);
        m.otlp_spans.inc_by(3);
        m.sqlite_writer_queue.set(2);
        m.sqlite_commit_jobs.observe(3.0);
        let text = m.render();
        assert_lines(
            &text,
            &[
                "# TYPE keel_build_info gauge",
                "keel_build_info{version=\"1.2.3\",mlflow_version=\"3.0.0\"} 1",
                "keel_artifact_bytes_total{direction=\"in\"} 10",
                "keel_artifact_bytes_total{direction=\"out\"} 7",
                "keel_webhook_deliveries_total{outcome=\"delivered\"} 1",
                "keel_webhook_deliveries_total{outcome=\"failed\"} 1",
                "keel_otlp_spans_ingested_total 3",
                "keel_sqlite_writer_queue_depth 2",
                "keel_sqlite_commit_jobs_bucket{le=\"4\"} 1",
                "keel_sqlite_commit_jobs_bucket{le=\"2\"} 0",
            ],
        );
        assert!(
            !text.contains("# EOF"),
            "0.0.4 text format, not OpenMetrics"
        );
    }

    #[test]
    fn the_global_registry_is_one_per_process() {
        assert!(std::ptr::eq(global(), global()));
    }
}

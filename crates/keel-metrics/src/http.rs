//! HTTP request metrics: Keel's own by route (`keel_http_*`), and the reference server's
//! (`mlflow_http_*`, as `mlflow server --expose-prometheus` names and labels them) so that
//! dashboards built for it keep working.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::labels::{MlflowDurationLabels, RequestLabels, Route, RouteLabels, StatusLabels};

/// Latency buckets of Keel's own histogram, in seconds: most requests take well under a
/// millisecond, so the buckets start at 100 µs.
const KEEL_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];
/// The reference's buckets (the Python client's defaults).
const REFERENCE_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

fn keel_histogram() -> Histogram {
    Histogram::new(KEEL_BUCKETS)
}

fn reference_histogram() -> Histogram {
    Histogram::new(REFERENCE_BUCKETS)
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

#[derive(Debug)]
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    duration: Histograms<RouteLabels>,
    reference_requests: Family<StatusLabels, Counter>,
    reference_duration: Histograms<MlflowDurationLabels>,
    reference_exceptions: Family<StatusLabels, Counter>,
}

impl HttpMetrics {
    pub(crate) fn registered(registry: &mut Registry) -> Self {
        let m = Self {
            requests: Family::default(),
            duration: Family::new_with_constructor(keel_histogram),
            reference_requests: Family::default(),
            reference_duration: Family::new_with_constructor(reference_histogram),
            reference_exceptions: Family::default(),
        };
        registry.register(
            "keel_http_requests",
            "HTTP requests by route template, method and status",
            m.requests.clone(),
        );
        registry.register(
            "keel_http_request_duration_seconds",
            "Time from a request's arrival to its response's head, by route template and method",
            m.duration.clone(),
        );
        registry.register(
            "mlflow_http_request",
            "Total number of HTTP requests",
            m.reference_requests.clone(),
        );
        registry.register(
            "mlflow_http_request_duration_seconds",
            "Flask HTTP request duration in seconds",
            m.reference_duration.clone(),
        );
        registry.register(
            "mlflow_http_request_exceptions",
            "Total number of HTTP requests which resulted in an exception",
            m.reference_exceptions.clone(),
        );
        m
    }

    /// Counts a request in Keel's metrics. `route` is the matched route's template (`None`
    /// when no route matched).
    pub fn record(&self, route: Option<&str>, method: &str, status: u16, elapsed: Duration) {
        let route = Route(route.map_or_else(|| Arc::from("unmatched"), Arc::from));
        let method = method_label(method);
        self.requests
            .get_or_create(&RequestLabels {
                route: route.clone(),
                method,
                status,
            })
            .inc();
        self.duration
            .get_or_create(&RouteLabels { route, method })
            .observe(elapsed.as_secs_f64());
    }

    /// Counts a request in the reference's metrics (which leave out `/health` and `/version`).
    pub fn record_as_reference(
        &self,
        method: &str,
        status: u16,
        elapsed: Duration,
        mlflow_version: &'static str,
    ) {
        let method = method_label(method);
        self.reference_requests
            .get_or_create(&StatusLabels { method, status })
            .inc();
        self.reference_duration
            .get_or_create(&MlflowDurationLabels {
                method,
                mlflow_version,
                status,
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Counts a request whose handler failed unexpectedly (answered 500), as the reference
    /// counts an exception.
    pub fn record_exception(&self, method: &str) {
        self.reference_exceptions
            .get_or_create(&StatusLabels {
                method: method_label(method),
                status: 500,
            })
            .inc();
    }
}

/// A method as a label: one of HTTP's own, or `other` (a client may send any token).
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_lines, render};

    #[test]
    fn requests_are_counted_by_route_template_and_as_the_reference_names_them() {
        let mut registry = Registry::default();
        let m = HttpMetrics::registered(&mut registry);
        let ms = Duration::from_millis(3);
        m.record(Some("/api/2.0/mlflow/runs/get"), "GET", 200, ms);
        m.record(Some("/api/2.0/mlflow/runs/get"), "GET", 200, ms);
        m.record(None, "BREW", 404, ms);
        m.record_as_reference("GET", 200, ms, "3.1.0");
        m.record_exception("POST");
        assert_lines(
            &render(&registry),
            &[
                "keel_http_requests_total{route=\"/api/2.0/mlflow/runs/get\",method=\"GET\",status=\"200\"} 2",
                "keel_http_requests_total{route=\"unmatched\",method=\"other\",status=\"404\"} 1",
                "keel_http_request_duration_seconds_bucket{route=\"/api/2.0/mlflow/runs/get\",method=\"GET\",le=\"0.0025\"} 0",
                "keel_http_request_duration_seconds_bucket{route=\"/api/2.0/mlflow/runs/get\",method=\"GET\",le=\"0.005\"} 2",
                "keel_http_request_duration_seconds_count{route=\"/api/2.0/mlflow/runs/get\",method=\"GET\"} 2",
                "mlflow_http_request_total{method=\"GET\",status=\"200\"} 1",
                "mlflow_http_request_duration_seconds_bucket{method=\"GET\",mlflow_version=\"3.1.0\",status=\"200\",le=\"0.005\"} 1",
                "mlflow_http_request_exceptions_total{method=\"POST\",status=\"500\"} 1",
                "# TYPE mlflow_http_request_duration_seconds histogram",
            ],
        );
    }
}

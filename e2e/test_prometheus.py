"""Prometheus metrics at /metrics (issue 16): with `--expose-prometheus` (given here through its
environment variable, which both servers read) the reference's `mlflow_http_*` series are served
under its names and labels, so dashboards built on them keep working; Keel adds its own series by
route template. Without it, /metrics is not served."""

import pytest
import requests
from mlflow import MlflowClient
from prometheus_client.parser import text_string_to_metric_families

import serverctl


@pytest.fixture
def metrics_server(tmp_path):
    srv = serverctl.ServerProcess(
        tmp_path / "data", extra_env={"MLFLOW_EXPOSE_PROMETHEUS": str(tmp_path / "prometheus")}
    ).start()
    try:
        yield srv
    finally:
        srv.stop()


def scrape(url: str) -> dict:
    resp = requests.get(f"{url}/metrics", timeout=30)
    assert resp.status_code == 200, resp.text[:500]
    assert resp.headers["content-type"].startswith("text/plain"), resp.headers["content-type"]
    return {family.name: family for family in text_string_to_metric_families(resp.text)}


def samples(family, name: str) -> list:
    return [s for s in family.samples if s.name == name]


def test_the_reference_request_metrics_are_served_under_its_names_and_labels(metrics_server):
    url = metrics_server.url
    client = MlflowClient(tracking_uri=url)
    exp_id = client.create_experiment("metrics")
    client.get_experiment(exp_id)
    missing = requests.get(f"{url}/api/2.0/mlflow/experiments/get", params={"experiment_id": "987654"}, timeout=30)
    assert missing.status_code == 404
    mlflow_version = requests.get(f"{url}/version", timeout=30).text

    families = scrape(url)
    total = families["mlflow_http_request"]
    assert total.type == "counter"
    counts = {}
    for s in samples(total, "mlflow_http_request_total"):
        assert set(s.labels) == {"method", "status"}, s.labels
        counts[(s.labels["method"], s.labels["status"])] = s.value
    assert counts.get(("POST", "200"), 0) >= 1, counts
    assert counts.get(("GET", "200"), 0) >= 1, counts
    assert counts.get(("GET", "404"), 0) >= 1, counts

    duration = families["mlflow_http_request_duration_seconds"]
    assert duration.type == "histogram"
    buckets = samples(duration, "mlflow_http_request_duration_seconds_bucket")
    assert buckets
    assert {tuple(sorted(s.labels)) for s in buckets} == {("le", "method", "mlflow_version", "status")}
    assert {s.labels["mlflow_version"] for s in buckets} == {mlflow_version}
    # The Python client's default buckets (Keel writes `10` where it writes `10.0`: the same
    # number to Prometheus, which reads `le` as a float).
    assert sorted({float(s.labels["le"]) for s in buckets}) == [
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, float("inf")
    ]
    post_ok = [
        s for s in samples(duration, "mlflow_http_request_duration_seconds_count")
        if s.labels["method"] == "POST" and s.labels["status"] == "200"
    ]
    assert post_ok and post_ok[0].value >= 1


@pytest.mark.skipif(serverctl.IS_REFERENCE, reason="Keel's own series")
def test_keel_counts_by_route_template_and_reports_its_stores(metrics_server):
    url = metrics_server.url
    client = MlflowClient(tracking_uri=url)
    exp_id = client.create_experiment("metrics-keel")
    run = client.create_run(exp_id)
    client.log_metric(run.info.run_id, "loss", 0.5)
    families = scrape(url)
    requests_total = families["keel_http_requests"]
    routes = {
        (s.labels["route"], s.labels["method"], s.labels["status"]): s.value
        for s in samples(requests_total, "keel_http_requests_total")
    }
    assert routes[("/api/2.0/mlflow/runs/log-metric", "POST", "200")] >= 1, routes
    assert routes[("/api/2.0/mlflow/experiments/create", "POST", "200")] >= 1, routes
    assert "keel_http_request_duration_seconds" in families
    build = samples(families["keel_build_info"], "keel_build_info")
    assert build and build[0].value == 1
    pools = {
        (s.labels["backend"], s.labels["state"])
        for s in samples(families["keel_db_pool_connections"], "keel_db_pool_connections")
    }
    backend = "postgres" if serverctl.BACKEND == "postgres" else "sqlite"
    assert {(backend, "in_use"), (backend, "idle")} <= pools, pools
    if backend == "sqlite":
        assert samples(families["keel_sqlite_commit_jobs"], "keel_sqlite_commit_jobs_count")[0].value >= 1


def test_without_the_flag_metrics_are_not_served(base_url):
    resp = requests.get(f"{base_url}/metrics", timeout=30)
    assert resp.status_code == 404

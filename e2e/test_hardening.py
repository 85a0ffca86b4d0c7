"""Bad input and greedy requests against the real binary, on SQLite and PostgreSQL (issue 13):
NUL characters get a clear 400 before the database, no response carries database error text,
OTLP resources are not multiplied per span, and a whole long metric history is streamed."""

import gzip
import json
import secrets
import time

import pytest
import requests

import serverctl
from conftest import unique

keel_only = pytest.mark.skipif(serverctl.IS_REFERENCE, reason="Keel's hardening; the reference answers differently")

NUL = "\u0000"


def _assert_clean_400(resp: requests.Response, what: str):
    assert resp.status_code == 400, f"{what}: {resp.status_code} {resp.text}"
    body = resp.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE", f"{what}: {body}"
    for leak in ("invalid byte sequence", "0x00", "SQLSTATE", "database error", "sqlx", "postgres"):
        assert leak not in body["message"], f"{what}: database text leaked: {body}"


@keel_only
def test_nul_characters_are_refused_before_the_database(api, client):
    exp = client.create_experiment(unique("nul"))
    run = client.create_run(exp).info.run_id
    cases = [
        ("experiments/create", {"name": f"bad{NUL}name"}),
        ("runs/set-tag", {"run_id": run, "key": "k", "value": f"v{NUL}"}),
        ("runs/log-parameter", {"run_id": run, "key": "p", "value": f"{NUL}"}),
        ("runs/log-batch", {"run_id": run, "tags": [{"key": "t", "value": f"a{NUL}b"}]}),
        ("runs/search", {"experiment_ids": [exp], "filter": f"params.p = '{NUL}'"}),
        ("registered-models/create", {"name": f"m{NUL}"}),
        ("runs/update", {"run_id": f"{run}{NUL}", "status": "FINISHED"}),
    ]
    for path, body in cases:
        resp = api.post(path, body)
        _assert_clean_400(resp, path)
        assert "NUL" in resp.json()["message"], resp.text
    # In the query string and the path too.
    _assert_clean_400(api.get("runs/get", {"run_id": f"{run}{NUL}"}), "runs/get")
    _assert_clean_400(api.get(f"/api/2.0/mlflow/logged-models/m-abc%00"), "logged-models/{id}")
    # Nothing was written: the run keeps no tag or param from those requests.
    data = client.get_run(run).data
    assert "k" not in data.tags and "p" not in data.params and "t" not in data.tags


@keel_only
def test_otlp_spans_with_nul_are_rejected_alone(server, api, client):
    exp = client.create_experiment(unique("otlp-nul"))
    now = time.time_ns()

    def span(name):
        return {
            "traceId": secrets.token_hex(16),
            "spanId": secrets.token_hex(8),
            "name": name,
            "startTimeUnixNano": str(now),
            "endTimeUnixNano": str(now + 1000),
        }

    body = {"resourceSpans": [{"scopeSpans": [{"spans": [span("fine"), span(f"bad{NUL}span")]}]}]}
    resp = requests.post(
        f"{server.url}/v1/traces", json=body, headers={"x-mlflow-experiment-id": exp}, timeout=30
    )
    assert resp.status_code == 200, resp.text
    assert int(resp.json()["partialSuccess"]["rejectedSpans"]) == 1
    assert "NUL" in resp.json()["partialSuccess"]["errorMessage"]


@keel_only
def test_otlp_resource_is_not_multiplied_per_trace(server, client):
    # One 1 MiB resource attribute and 2,000 traces of one tiny span: a ~7 kB gzip body that
    # used to cost gigabytes. Copying the attribute into 2,000 traces' tags would be 2 GB.
    exp = client.create_experiment(unique("otlp-amp"))
    now = time.time_ns()
    spans = [
        {
            "traceId": f"{i + 1:032x}",
            "spanId": f"{i + 1:016x}",
            "name": "s",
            "startTimeUnixNano": str(now),
            "endTimeUnixNano": str(now + 1),
        }
        for i in range(2000)
    ]
    big = {"key": "big", "value": {"stringValue": "x" * (1024 * 1024)}}
    body = {"resourceSpans": [{"resource": {"attributes": [big]}, "scopeSpans": [{"spans": spans}]}]}
    raw = gzip.compress(json.dumps(body).encode())
    resp = requests.post(
        f"{server.url}/v1/traces",
        data=raw,
        headers={
            "content-type": "application/json",
            "content-encoding": "gzip",
            "x-mlflow-experiment-id": exp,
        },
        timeout=60,
    )
    assert resp.status_code == 400, resp.text
    assert "resource attributes" in resp.json()["message"]
    # A resource of normal size with the same 2,000 traces is taken, and tags each trace.
    body["resourceSpans"][0]["resource"]["attributes"] = [{"key": "service.name", "value": {"stringValue": "app"}}]
    resp = requests.post(
        f"{server.url}/v1/traces",
        data=gzip.compress(json.dumps(body).encode()),
        headers={"content-type": "application/json", "content-encoding": "gzip", "x-mlflow-experiment-id": exp},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text
    info = client.get_trace(f"tr-{1:032x}").info
    assert info.tags["service.name"] == "app"


def test_a_whole_history_longer_than_a_page_comes_back_whole(api, client):
    exp = client.create_experiment(unique("history"))
    run = client.create_run(exp).info.run_id
    total = 25_500
    for start in range(0, total, 1000):
        metrics = [{"key": "m", "value": i, "timestamp": 1_700_000_000_000 + i, "step": i} for i in range(start, min(total, start + 1000))]
        assert api.post("runs/log-batch", {"run_id": run, "metrics": metrics}).status_code == 200
    resp = api.get("metrics/get-history", {"run_id": run, "metric_key": "m"})
    assert resp.status_code == 200, resp.text[:200]
    points = resp.json()["metrics"]
    assert [p["step"] for p in points] == list(range(total))
    assert "next_page_token" not in resp.json()
    # The client pages with max_results=25000 and reads everything too.
    assert len(client.get_metric_history(run, "m")) == total

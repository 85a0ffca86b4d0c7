"""The reference's small routes under /ajax-api that its web UI calls (issue 16 item 4):
`metrics/get-history-bulk` and `upload-artifact`, with the reference's ordering, limits and
error messages. The same assertions run against Keel and the reference server."""

import json
import uuid

import pytest
import requests

INVALID = "INVALID_PARAMETER_VALUE"
BULK = "/ajax-api/2.0/mlflow/metrics/get-history-bulk"
UPLOAD = "/ajax-api/2.0/mlflow/upload-artifact"


@pytest.fixture
def two_runs(client):
    exp = client.create_experiment(f"bulk-{uuid.uuid4().hex[:8]}")
    runs = sorted(client.create_run(exp).info.run_id for _ in range(2))
    for i, run_id in enumerate(runs):
        for step in (2, 0, 1):
            client.log_metric(run_id, "loss", float(step + 10 * i), timestamp=1000 + step, step=step)
        client.log_metric(run_id, "other", 5.0, timestamp=1, step=0)
    return runs


def bulk(base_url, params):
    return requests.get(f"{base_url}{BULK}", params=params, timeout=30)


def assert_invalid(resp, message):
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["error_code"] == INVALID, body
    assert body["message"] == message, body


def test_history_bulk_lists_each_runs_points_in_run_then_time_order(base_url, two_runs):
    a, b = two_runs
    resp = bulk(base_url, [("run_id", b), ("run_id", a), ("run_id", a), ("metric_key", "loss")])
    assert resp.status_code == 200, resp.text
    points = resp.json()["metrics"]
    assert [(p["run_id"], p["step"], p["timestamp"], p["value"]) for p in points] == [
        (a, 0, 1000, 0.0), (a, 1, 1001, 1.0), (a, 2, 1002, 2.0),
        (b, 0, 1000, 10.0), (b, 1, 1001, 11.0), (b, 2, 1002, 12.0),
    ]
    assert {p["key"] for p in points} == {"loss"}
    limited = bulk(base_url, [("run_id", a), ("run_id", b), ("metric_key", "loss"), ("max_results", "4")])
    assert [(p["run_id"], p["step"]) for p in limited.json()["metrics"]] == [(a, 0), (a, 1), (a, 2), (b, 0)]


def test_history_bulk_of_unknown_runs_or_keys_is_an_empty_list(base_url, two_runs):
    assert bulk(base_url, {"run_id": two_runs[0], "metric_key": "nope"}).json() == {"metrics": []}
    assert bulk(base_url, {"run_id": uuid.uuid4().hex, "metric_key": "loss"}).json() == {"metrics": []}


def test_history_bulk_refuses_what_the_reference_refuses(base_url, two_runs):
    assert_invalid(bulk(base_url, {"metric_key": "loss"}),
                   "GetMetricHistoryBulk request must specify at least one run_id.")
    assert_invalid(bulk(base_url, {"run_id": two_runs[0]}),
                   "GetMetricHistoryBulk request must specify a metric_key.")
    many = [("run_id", uuid.uuid4().hex) for _ in range(101)] + [("metric_key", "loss")]
    assert_invalid(bulk(base_url, many),
                   "GetMetricHistoryBulk request cannot specify more than 100 run_ids. Received 101 run_ids.")
    # Only under /ajax-api, as on the reference.
    assert requests.get(f"{base_url}/api/2.0/mlflow/metrics/get-history-bulk",
                        params={"run_id": two_runs[0], "metric_key": "loss"}, timeout=30).status_code == 404


def upload(base_url, params, data):
    return requests.post(f"{base_url}{UPLOAD}", params=params, data=data, timeout=60)


def test_upload_artifact_writes_the_body_under_the_runs_artifact_root(base_url, client, run_id):
    resp = upload(base_url, {"run_uuid": run_id, "path": "uploads/notes.txt"}, b"written by the web UI")
    assert resp.status_code == 200, resp.text
    assert resp.content == b""
    assert [f.path for f in client.list_artifacts(run_id, "uploads")] == ["uploads/notes.txt"]
    got = requests.get(f"{base_url}/get-artifact", params={"run_uuid": run_id, "path": "uploads/notes.txt"},
                       timeout=30)
    assert got.content == b"written by the web UI"
    # Uploading again replaces the file.
    assert upload(base_url, {"run_uuid": run_id, "path": "uploads/notes.txt"}, b"v2").status_code == 200
    assert requests.get(f"{base_url}/get-artifact", params={"run_uuid": run_id, "path": "uploads/notes.txt"},
                        timeout=30).content == b"v2"


def test_upload_artifact_refuses_what_the_reference_refuses(base_url, client, run_id):
    assert_invalid(upload(base_url, {"path": "a.txt"}, b"x"), "Request must specify run_uuid.")
    assert_invalid(upload(base_url, {"run_uuid": run_id}, b"x"), "Request must specify path.")
    assert_invalid(upload(base_url, {"run_uuid": run_id, "path": "a.txt"}, b""), "Request must specify data.")
    assert_invalid(upload(base_url, {"run_uuid": run_id, "path": "big.bin"}, b"\0" * (10 * 1024 * 1024 + 1)),
                   "Artifact size is too large. Max size is 10MB.")
    assert [f.path for f in client.list_artifacts(run_id)] == [], "a refused upload writes nothing"
    escaped = upload(base_url, {"run_uuid": run_id, "path": "../../outside.txt"}, b"x")
    assert escaped.status_code == 400, escaped.text
    assert escaped.json()["message"] == "Invalid path"
    unknown = upload(base_url, {"run_uuid": uuid.uuid4().hex, "path": "a.txt"}, b"x")
    assert unknown.status_code == 404, unknown.text
    assert unknown.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


@pytest.fixture
def traced(server):
    import mlflow

    mlflow.set_tracking_uri(server.url)
    mlflow.set_experiment(f"trace-artifact-{uuid.uuid4().hex[:8]}")

    @mlflow.trace(span_type="CHAIN")
    def outer(x):
        return inner(x) + 1

    @mlflow.trace
    def inner(x):
        return x * 2

    outer(3)
    trace_id = mlflow.get_last_active_trace_id()
    mlflow.flush_trace_async_logging()
    return trace_id


@pytest.mark.parametrize("version", ["2.0", "3.0"])
def test_get_trace_artifact_serves_the_spans_as_the_reference_writes_traces_json(base_url, traced, version):
    from mlflow.entities import Span

    resp = requests.get(f"{base_url}/ajax-api/{version}/mlflow/get-trace-artifact",
                        params={"request_id": traced}, timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-disposition"] == "attachment; filename=traces.json"
    assert resp.headers["x-content-type-options"] == "nosniff"
    spans = {s["name"]: s for s in resp.json()["spans"]}
    assert set(spans) == {"outer", "inner"}
    assert spans["outer"]["parent_span_id"] is None
    assert spans["inner"]["parent_span_id"] == spans["outer"]["span_id"]
    assert spans["outer"]["status"] == {"code": "STATUS_CODE_OK", "message": ""}
    # Attributes as MLflow records them: JSON inside strings.
    assert spans["outer"]["attributes"]["mlflow.spanType"] == '"CHAIN"'
    assert json.loads(spans["outer"]["attributes"]["mlflow.spanInputs"]) == {"x": 3}
    # The client reads the file back into spans.
    span = Span.from_dict(spans["outer"])
    assert (span.name, span.span_type, span.inputs, span.outputs) == ("outer", "CHAIN", {"x": 3}, 7)


def test_get_trace_artifact_refuses_what_the_reference_refuses(base_url, traced):
    url = f"{base_url}/ajax-api/3.0/mlflow/get-trace-artifact"
    missing = requests.get(url, timeout=30)
    assert missing.status_code == 400, missing.text
    assert missing.json()["error_code"] == "BAD_REQUEST"
    assert missing.json()["message"] == 'Request must include the "request_id" query parameter.'
    escaped = requests.get(url, params={"request_id": traced, "path": "../../etc/passwd"}, timeout=30)
    assert escaped.status_code == 400, escaped.text
    assert requests.get(f"{base_url}/api/2.0/mlflow/get-trace-artifact", params={"request_id": traced},
                        timeout=30).status_code == 404

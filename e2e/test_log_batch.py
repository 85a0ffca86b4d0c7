"""`log_batch`: mixed payloads, the client's own chunking of big batches, and the server's per-request limits."""

import time

import pytest
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException


def now_ms():
    return int(time.time() * 1000)


def test_mixed_batch(client, run_id):
    ts = now_ms()
    client.log_batch(
        run_id,
        metrics=[Metric("m1", 1.0, ts, 0), Metric("m1", 2.0, ts, 1), Metric("m2", 3.0, ts, 0)],
        params=[Param("p1", "a"), Param("p2", "b")],
        tags=[RunTag("t1", "x"), RunTag("t2", "y")],
    )
    data = client.get_run(run_id).data
    assert data.metrics == {"m1": 2.0, "m2": 3.0}
    assert data.params == {"p1": "a", "p2": "b"}
    assert data.tags["t1"] == "x" and data.tags["t2"] == "y"
    assert len(client.get_metric_history(run_id, "m1")) == 2


def test_empty_batch_is_ok(client, run_id):
    client.log_batch(run_id)
    assert client.get_run(run_id).data.metrics == {}


def test_batch_to_missing_run(client):
    with pytest.raises(MlflowException) as err:
        client.log_batch("d" * 32, metrics=[Metric("m", 1.0, now_ms(), 0)])
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_client_splits_oversized_batches(client, run_id):
    ts = now_ms()
    client.log_batch(
        run_id,
        metrics=[Metric(f"m{i % 50}", float(i), ts, i // 50) for i in range(2_500)],
        params=[Param(f"p{i}", str(i)) for i in range(150)],
        tags=[RunTag(f"t{i}", str(i)) for i in range(120)],
    )
    data = client.get_run(run_id).data
    assert len(data.metrics) == 50
    assert len(data.params) == 150
    assert sum(1 for k in data.tags if k.startswith("t")) == 120
    assert len(client.get_metric_history(run_id, "m0")) == 50


def test_limits_exactly_at_maximum_are_accepted(api, run_id):
    ts = now_ms()
    resp = api.post(
        "runs/log-batch",
        {"run_id": run_id, "metrics": [{"key": f"m{i}", "value": 1.0, "timestamp": ts, "step": 0} for i in range(1000)]},
    )
    assert resp.status_code == 200, resp.text
    resp = api.post(
        "runs/log-batch",
        {
            "run_id": run_id,
            "params": [{"key": f"p{i}", "value": "v"} for i in range(100)],
            "tags": [{"key": f"t{i}", "value": "v"} for i in range(100)],
        },
    )
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize(
    "what",
    ["1001 metrics", "101 params", "101 tags", "1001 entities"],
)
def test_limits_exceeded_are_rejected(api, client, run_id, what):
    ts = now_ms()

    def metrics(n):
        return [{"key": f"m{i}", "value": 1.0, "timestamp": ts, "step": 0} for i in range(n)]

    def kv(prefix, n):
        return [{"key": f"{prefix}{i}", "value": "v"} for i in range(n)]

    body = {
        "1001 metrics": {"metrics": metrics(1001)},
        "101 params": {"params": kv("p", 101)},
        "101 tags": {"tags": kv("t", 101)},
        "1001 entities": {"metrics": metrics(901), "params": kv("p", 100)},
    }[what]
    resp = api.post("runs/log-batch", {"run_id": run_id, **body})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    data = client.get_run(run_id).data
    assert data.metrics == {} and data.params == {}
    assert set(data.tags) <= {"mlflow.runName"}


def test_batch_rejects_metric_without_value(api, run_id):
    resp = api.post("runs/log-batch", {"run_id": run_id, "metrics": [{"key": "m", "timestamp": 1}]})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error_code"] == "INVALID_PARAMETER_VALUE"

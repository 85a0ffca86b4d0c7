"""Metric semantics: history order and paging, NaN/inf, duplicates, and which point is the run's "latest" value."""

import math
import sys

import pytest
from mlflow.entities import Metric


def points(history):
    return [(m.step, m.timestamp, m.value) for m in history]


def test_history_order_is_timestamp_then_step(client, run_id):
    for step, ts, value in [(2, 10, 1.0), (1, 20, 2.0), (3, 5, 3.0), (0, 20, 4.0)]:
        client.log_metric(run_id, "ord", value, timestamp=ts, step=step)
    assert points(client.get_metric_history(run_id, "ord")) == [
        (3, 5, 3.0),
        (2, 10, 1.0),
        (0, 20, 4.0),
        (1, 20, 2.0),
    ]


def test_history_of_unknown_key_is_empty(client, run_id):
    client.log_metric(run_id, "known", 1.0)
    assert client.get_metric_history(run_id, "unknown") == []


def test_step_defaults_to_zero(client, run_id):
    client.log_metric(run_id, "s", 1.5, timestamp=123)
    [m] = client.get_metric_history(run_id, "s")
    assert (m.key, m.value, m.timestamp, m.step) == ("s", 1.5, 123, 0)


def test_identical_points_are_stored_once(client, run_id):
    client.log_metric(run_id, "dup", 1.0, timestamp=100, step=1)
    client.log_metric(run_id, "dup", 1.0, timestamp=100, step=1)
    client.log_batch(run_id, metrics=[Metric("dup", 1.0, 100, 1)])
    assert points(client.get_metric_history(run_id, "dup")) == [(1, 100, 1.0)]


def test_same_step_different_values_are_all_kept(client, run_id):
    client.log_metric(run_id, "same-step", 1.0, timestamp=100, step=1)
    client.log_metric(run_id, "same-step", 2.0, timestamp=100, step=1)
    client.log_metric(run_id, "same-step", 3.0, timestamp=101, step=1)
    assert sorted(points(client.get_metric_history(run_id, "same-step"))) == [
        (1, 100, 1.0),
        (1, 100, 2.0),
        (1, 101, 3.0),
    ]


def test_values_round_trip_exactly(client, run_id):
    values = [0.0, -0.0, 1e-300, -123456.789, 1e300, 2**53, 0.1 + 0.2]
    client.log_batch(run_id, metrics=[Metric("exact", v, 1_000, i) for i, v in enumerate(values)])
    got = {m.step: m.value for m in client.get_metric_history(run_id, "exact")}
    assert [got[i] for i in range(len(values))] == values


def test_large_step_and_timestamp(client, run_id):
    client.log_metric(run_id, "big", 1.0, timestamp=2**53, step=2**40)
    [m] = client.get_metric_history(run_id, "big")
    assert (m.step, m.timestamp) == (2**40, 2**53)


def test_negative_step(client, run_id):
    client.log_metric(run_id, "neg", 1.0, timestamp=1, step=-5)
    [m] = client.get_metric_history(run_id, "neg")
    assert m.step == -5


def test_nan_round_trips(client, run_id):
    client.log_metric(run_id, "nan", float("nan"), timestamp=1_000, step=0)
    [m] = client.get_metric_history(run_id, "nan")
    assert math.isnan(m.value)
    assert math.isnan(client.get_run(run_id).data.metrics["nan"])


@pytest.mark.parametrize("sign", [1, -1])
def test_infinity_round_trips(client, run_id, sign):
    # The reference (SQL) store clamps +/-inf to +/-sys.float_info.max; true infinities are accepted
    # too. Either way the sign and the "larger than any finite value" meaning must survive.
    client.log_metric(run_id, "inf", sign * float("inf"), timestamp=1_000, step=0)
    for value in (client.get_metric_history(run_id, "inf")[0].value, client.get_run(run_id).data.metrics["inf"]):
        assert math.isinf(value) or abs(value) == sys.float_info.max
        assert math.copysign(1, value) == sign


def test_nan_and_finite_points_in_one_history(client, run_id):
    client.log_batch(
        run_id,
        metrics=[Metric("mixed", 1.0, 10, 0), Metric("mixed", float("nan"), 11, 1), Metric("mixed", 3.0, 12, 2)],
    )
    history = client.get_metric_history(run_id, "mixed")
    assert [m.step for m in history] == [0, 1, 2]
    assert history[0].value == 1.0 and math.isnan(history[1].value) and history[2].value == 3.0
    assert client.get_run(run_id).data.metrics["mixed"] == 3.0


def test_latest_is_largest_step_not_latest_logged(client, run_id):
    client.log_metric(run_id, "lat", 1.0, timestamp=100, step=5)
    client.log_metric(run_id, "lat", 2.0, timestamp=200, step=3)
    assert client.get_run(run_id).data.metrics["lat"] == 1.0


def test_latest_same_step_larger_timestamp_wins(client, run_id):
    client.log_metric(run_id, "lat", 1.0, timestamp=100, step=5)
    client.log_metric(run_id, "lat", 2.0, timestamp=50, step=5)
    assert client.get_run(run_id).data.metrics["lat"] == 1.0
    client.log_metric(run_id, "lat", 3.0, timestamp=150, step=5)
    assert client.get_run(run_id).data.metrics["lat"] == 3.0


def test_latest_same_step_and_timestamp_larger_value_wins(client, run_id):
    client.log_metric(run_id, "lat", 5.0, timestamp=100, step=5)
    client.log_metric(run_id, "lat", 4.0, timestamp=100, step=5)
    assert client.get_run(run_id).data.metrics["lat"] == 5.0
    client.log_metric(run_id, "lat", 7.0, timestamp=100, step=5)
    assert client.get_run(run_id).data.metrics["lat"] == 7.0


def test_latest_within_one_batch(client, run_id):
    client.log_batch(
        run_id,
        metrics=[
            Metric("b", 9.0, 300, 1),
            Metric("b", 1.0, 100, 4),
            Metric("b", 2.0, 200, 4),
            Metric("b", 0.5, 50, 2),
        ],
    )
    assert client.get_run(run_id).data.metrics["b"] == 2.0


def test_search_sees_latest_value(client, experiment_id):
    run_id = client.create_run(experiment_id).info.run_id
    client.log_metric(run_id, "score", 10.0, timestamp=1, step=1)
    client.log_metric(run_id, "score", 0.0, timestamp=2, step=0)
    [run] = client.search_runs([experiment_id], "metrics.score = 10")
    assert run.data.metrics["score"] == 10.0
    assert list(client.search_runs([experiment_id], "metrics.score = 0")) == []


def test_history_larger_than_one_page(client, run_id):
    """30k points: the client fetches 25k per request and must follow next_page_token."""
    n = 30_000
    client.log_batch(run_id, metrics=[Metric("long", float(i), 1_000_000 + i, i) for i in range(n)])
    history = client.get_metric_history(run_id, "long")
    assert len(history) == n
    assert [m.step for m in history] == list(range(n))
    assert all(m.value == float(m.step) for m in history)
    assert client.get_run(run_id).data.metrics["long"] == float(n - 1)


def test_history_paging_on_the_wire(client, api, run_id):
    client.log_batch(run_id, metrics=[Metric("paged", float(i), 5_000 + i, i) for i in range(25)])
    seen, token, pages = [], None, 0
    while True:
        params = {"run_id": run_id, "metric_key": "paged", "max_results": 10}
        if token:
            params["page_token"] = token
        resp = api.get("metrics/get-history", params=params)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        pages += 1
        assert len(body["metrics"]) <= 10
        seen.extend(m["step"] for m in body["metrics"])
        token = body.get("next_page_token")
        if not token:
            break
        assert pages < 10
    assert pages == 3
    assert seen == list(range(25))

"""Trace analytics routes through the official client (issue 16): the correlation of two trace
filters (`traces/calculate-filter-correlation`, NPMI with the reference's smoothing and edge
cases). Runs against Keel and the reference (`E2E_TARGET=reference`)."""

from __future__ import annotations

import math
import time
import uuid

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import TraceInfo, TraceLocation, TraceState
from mlflow.exceptions import MlflowException
from mlflow.tracing.client import TracingClient

from conftest import unique


@pytest.fixture(scope="module")
def four_traces(server):
    """An experiment with traces: 3 OK (two tagged env=prod, one env=dev), 1 ERROR (env=dev)."""
    exp = mlflow.create_experiment(unique("analytics"))
    store = MlflowClient()._tracking_client.store
    now = int(time.time() * 1000)
    for i, (state, env, name) in enumerate(
        [
            (TraceState.OK, "prod", "search"),
            (TraceState.OK, "prod", "chat"),
            (TraceState.OK, "dev", "search"),
            (TraceState.ERROR, "dev", "chat"),
        ]
    ):
        store.start_trace(
            TraceInfo(
                trace_id=f"tr-{uuid.uuid4().hex}",
                trace_location=TraceLocation.from_experiment_id(exp),
                request_time=now + i,
                state=state,
                execution_duration=10 * (i + 1),
                tags={"env": env, "mlflow.traceName": name},
            )
        )
    return exp


def _correlate(exp, f1, f2, base=None):
    return TracingClient().calculate_trace_filter_correlation([exp], f1, f2, base_filter=base)


def test_npmi_of_two_filters_matches_the_reference(four_traces):
    r = _correlate(four_traces, "trace.status = 'OK'", "tag.env = 'prod'")
    assert (r.filter1_count, r.filter2_count, r.joint_count, r.total_count) == (3, 2, 2, 4)
    assert r.npmi == pytest.approx(0.41503749927884365, abs=1e-12)
    assert r.npmi_smoothed == pytest.approx(0.25488465983224035, abs=1e-12)

    never = _correlate(four_traces, "trace.status = 'ERROR'", "tag.env = 'prod'")
    assert (never.joint_count, never.npmi) == (0, -1.0)
    assert never.npmi_smoothed == pytest.approx(-0.27894294565112987, abs=1e-12)

    within = _correlate(four_traces, "trace.status = 'OK'", "tag.env = 'dev'", base="tag.mlflow.traceName = 'search'")
    assert (within.filter1_count, within.filter2_count, within.joint_count, within.total_count) == (2, 1, 1, 2)
    assert within.npmi == pytest.approx(0.0, abs=1e-12)


def test_an_empty_filter_match_leaves_npmi_undefined(four_traces):
    r = _correlate(four_traces, "trace.status = 'ERROR'", "tag.env = 'nowhere'")
    assert (r.filter1_count, r.filter2_count, r.joint_count, r.total_count) == (1, 0, 0, 4)
    assert math.isnan(r.npmi) and r.npmi_smoothed is None


def test_bad_correlation_requests_are_refused(four_traces, api):
    path = "/api/3.0/mlflow/traces/calculate-filter-correlation"
    for body, needle in [
        ({}, "experiment_ids"),
        ({"experiment_ids": [four_traces], "filter_string2": "status = 'OK'"}, "filter_string1"),
        ({"experiment_ids": [four_traces], "filter_string1": "status = 'OK'"}, "filter_string2"),
        ({"experiment_ids": ["x"], "filter_string1": "status = 'OK'", "filter_string2": "status = 'OK'"}, "x"),
        ({"experiment_ids": [four_traces], "filter_string1": "bogus = 'OK'", "filter_string2": "status = 'OK'"}, "bogus"),
    ]:
        r = api.post(path, json=body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert needle in r.json()["message"], r.json()["message"]
    r = api.post(path, json={"experiment_ids": [], "filter_string1": "status = 'OK'", "filter_string2": "status = 'OK'"})
    assert r.status_code == 200, r.text
    assert r.json() == {"filter1_count": 0, "filter2_count": 0, "joint_count": 0, "total_count": 0}
    with pytest.raises(MlflowException):
        _correlate(four_traces, "trace.status = 'OK' OR tag.env = 'prod'", "tag.env = 'prod'")

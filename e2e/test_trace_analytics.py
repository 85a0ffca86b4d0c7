"""Trace analytics routes (issue 16): the correlation of two trace filters
(`traces/calculate-filter-correlation`, NPMI with the reference's smoothing and edge cases,
through the official client) and trace metrics (`traces/metrics`: counts, latency percentiles,
token usage, sessions, span costs and assessment values, by time bucket and dimension). Runs
against Keel and the reference (`E2E_TARGET=reference`)."""

from __future__ import annotations

import json
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


# --- traces/metrics ------------------------------------------------------------------------------

METRICS = "/api/3.0/mlflow/traces/metrics"
HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def metric_traces(server):
    """Four traces at fixed times (two hours apart from a whole hour), with names, states,
    durations, token usage, sessions and tags, and feedback on them."""
    exp = mlflow.create_experiment(unique("metrics"))
    store = MlflowClient()._tracking_client.store
    base = (int(time.time() * 1000) // HOUR_MS - 10) * HOUR_MS
    specs = [
        # name, state, duration, usage, session, env, offset
        ("chat", TraceState.OK, 54, {"input_tokens": 10, "output_tokens": 20, "total_tokens": 30}, "s1", "prod", 0),
        ("chat", TraceState.OK, 30, {"input_tokens": 5, "output_tokens": 7, "total_tokens": 12}, "s1", "prod", 1),
        ("search", TraceState.ERROR, 62, None, "s2", "dev", 2 * HOUR_MS),
        ("search", TraceState.OK, 60, None, "s3", "dev", 2 * HOUR_MS + 5),
    ]
    ids = []
    for name, state, duration, usage, session, env, offset in specs:
        metadata = {"mlflow.trace.session": session}
        if usage:
            metadata["mlflow.trace.tokenUsage"] = json.dumps(usage)
        info = store.start_trace(
            TraceInfo(
                trace_id=f"tr-{uuid.uuid4().hex}",
                trace_location=TraceLocation.from_experiment_id(exp),
                request_time=base + offset,
                state=state,
                execution_duration=duration,
                trace_metadata=metadata,
                tags={"mlflow.traceName": name, "env": env},
            )
        )
        ids.append(info.trace_id)
    for trace_id, name, value in [
        (ids[0], "quality", True),
        (ids[1], "quality", False),
        (ids[2], "score", 0.8),
        (ids[3], "score", 0.4),
        (ids[3], "quality", "yes"),
    ]:
        mlflow.log_feedback(trace_id=trace_id, name=name, value=value)
    return exp, base


def _metrics(api, exp, view, metric, aggregations, **extra):
    body = {"experiment_ids": [exp], "view_type": view, "metric_name": metric, "aggregations": aggregations, **extra}
    r = api.post(METRICS, json=body)
    assert r.status_code == 200, (body, r.text)
    return r.json().get("data_points", [])


def _points(points):
    return [(p.get("dimensions", {}), p["values"]) for p in points]


def test_trace_counts_latency_and_tokens_match_the_reference(metric_traces, api):
    exp, base = metric_traces
    count = [{"aggregation_type": "COUNT"}]
    assert _points(_metrics(api, exp, "TRACES", "trace_count", count)) == [({}, {"COUNT": 4.0})]
    assert _points(_metrics(api, exp, 1, "trace_count", [{"aggregation_type": 1}], dimensions=["trace_name", "trace_status"])) == [
        ({"trace_name": "chat", "trace_status": "OK"}, {"COUNT": 2.0}),
        ({"trace_name": "search", "trace_status": "ERROR"}, {"COUNT": 1.0}),
        ({"trace_name": "search", "trace_status": "OK"}, {"COUNT": 1.0}),
    ]
    latency = [
        {"aggregation_type": "AVG"},
        {"aggregation_type": "MIN"},
        {"aggregation_type": "MAX"},
        {"aggregation_type": "PERCENTILE", "percentile_value": 50},
        {"aggregation_type": "PERCENTILE", "percentile_value": 99.9},
    ]
    assert _points(_metrics(api, exp, "TRACES", "latency", latency)) == [
        ({}, {"AVG": 51.5, "MIN": 30.0, "MAX": 62.0, "P50.0": 57.0, "P99.9": 61.994})
    ]
    tokens = [{"aggregation_type": "SUM"}, {"aggregation_type": "AVG"}, {"aggregation_type": "PERCENTILE", "percentile_value": 25}]
    assert _points(_metrics(api, exp, "TRACES", "total_tokens", tokens, dimensions=["trace_name"])) == [
        ({"trace_name": "chat"}, {"SUM": 42.0, "AVG": 21.0, "P25.0": 16.5})
    ]
    assert _points(_metrics(api, exp, "TRACES", "session_count", count)) == [({}, {"COUNT": 3.0})]
    assert _metrics(api, exp, "TRACES", "cache_read_input_tokens", [{"aggregation_type": "SUM"}]) == []

    hourly = _metrics(
        api, exp, "TRACES", "trace_count", count,
        time_interval_seconds=3600, start_time_ms=base - HOUR_MS, end_time_ms=base + 3 * HOUR_MS,
    )
    buckets = [(p["dimensions"]["time_bucket"], p["values"]["COUNT"]) for p in hourly]
    assert [c for _, c in buckets] == [2.0, 2.0]
    assert all(b.endswith(":00:00+00:00") for b, _ in buckets), buckets
    inclusive = _metrics(api, exp, "TRACES", "trace_count", count, start_time_ms=base, end_time_ms=base + 1)
    assert _points(inclusive) == [({}, {"COUNT": 2.0})]
    prod = _metrics(api, exp, "TRACES", "trace_count", count, filters=["trace.tag.env = 'prod'"])
    assert _points(prod) == [({}, {"COUNT": 2.0})]
    first = _metrics(api, exp, "TRACES", "trace_count", count, dimensions=["trace_status"], max_results=1)
    assert _points(first) == [({"trace_status": "ERROR"}, {"COUNT": 1.0})]


def test_assessment_metrics_match_the_reference(metric_traces, api):
    exp, _ = metric_traces
    counts = _metrics(api, exp, "ASSESSMENTS", "assessment_count", [{"aggregation_type": "COUNT"}], dimensions=["assessment_name"])
    assert _points(counts) == [({"assessment_name": "quality"}, {"COUNT": 3.0}), ({"assessment_name": "score"}, {"COUNT": 2.0})]
    values = _metrics(
        api, exp, "ASSESSMENTS", "assessment_value",
        [{"aggregation_type": "AVG"}, {"aggregation_type": "MIN"}], dimensions=["assessment_name"],
    )
    (quality, score) = _points(values)
    assert quality[0] == {"assessment_name": "quality"}
    assert quality[1]["MIN"] == 0.0 and quality[1]["AVG"] == pytest.approx(2 / 3)
    assert score == ({"assessment_name": "score"}, {"AVG": pytest.approx(0.6), "MIN": 0.4})


def test_span_metrics_count_by_type_and_sum_costs(server, api):
    exp = mlflow.create_experiment(unique("span-metrics"))
    mlflow.set_experiment(experiment_id=exp)

    @mlflow.trace(span_type="AGENT")
    def agent(q):
        with mlflow.start_span(name="llm", span_type="LLM") as span:
            span.set_attribute("mlflow.llm.model", "gpt-4o")
            span.set_attribute("mlflow.llm.cost", {"input_cost": 0.001, "output_cost": 0.002, "total_cost": 0.003})
        with mlflow.start_span(name="tool", span_type="TOOL"):
            pass
        return q

    agent("a")
    agent("b")
    mlflow.flush_trace_async_logging()
    deadline = time.time() + 30
    while time.time() < deadline:
        points = _metrics(api, exp, "SPANS", "span_count", [{"aggregation_type": "COUNT"}], dimensions=["span_type"])
        if sum(p["values"]["COUNT"] for p in points) >= 6:
            break
        time.sleep(0.5)
    assert _points(points) == [
        ({"span_type": "AGENT"}, {"COUNT": 2.0}),
        ({"span_type": "LLM"}, {"COUNT": 2.0}),
        ({"span_type": "TOOL"}, {"COUNT": 2.0}),
    ]
    cost = _metrics(api, exp, "SPANS", "total_cost", [{"aggregation_type": "SUM"}], dimensions=["span_model_name"])
    assert _points(cost) == [({"span_model_name": "gpt-4o"}, {"SUM": pytest.approx(0.006)})]
    llm_only = _metrics(api, exp, "SPANS", "span_count", [{"aggregation_type": "COUNT"}], filters=["span.type = 'LLM'"])
    assert _points(llm_only) == [({}, {"COUNT": 2.0})]


def test_bad_metric_queries_are_refused_with_the_references_messages(metric_traces, api):
    exp, _ = metric_traces
    base = {"experiment_ids": [exp], "view_type": "TRACES", "metric_name": "trace_count", "aggregations": [{"aggregation_type": "COUNT"}]}
    for change, message in [
        ({"experiment_ids": None}, "Missing value for required parameter 'experiment_ids'"),
        ({"view_type": None}, "Missing value for required parameter 'view_type'"),
        ({"view_type": "SPANS"}, "metric_name must be one of ['span_count', 'latency', 'input_cost', 'output_cost', 'total_cost'], got 'trace_count'"),
        ({"metric_name": "latency", "aggregations": [{"aggregation_type": "COUNT"}, {"aggregation_type": "SUM"}]},
         "Found invalid aggregation_type(s): ['COUNT', 'SUM']. Supported aggregation types: ['AVG', 'MAX', 'MIN', 'PERCENTILE']"),
        ({"metric_name": "latency", "aggregations": [{"aggregation_type": "AVG"}], "dimensions": ["trace_status", "foo"]},
         "Found invalid dimension(s): ['foo', 'trace_status']. Supported dimensions: ['trace_name']"),
        ({"time_interval_seconds": 60}, "start_time_ms and end_time_ms are required if time_interval_seconds is set"),
        ({"experiment_ids": ["abc"]}, "Invalid experiment ID 'abc'"),
        ({"filters": ["foo.status = \"x\""]}, "Invalid view type 'foo'"),
        ({"filters": ["trace.status != \"OK\""]}, "Invalid comparator: '!=', only '=' operator is supported"),
        ({"filters": ["span.name = \"x\""]}, "Filtering by span is only supported for SPANS view type, got TRACES"),
    ]:
        body = {**base, **change}
        body = {k: v for k, v in body.items() if v is not None}
        r = api.post(METRICS, json=body)
        assert r.status_code == 400, (change, r.text)
        assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert message in r.json()["message"], (change, r.json()["message"])

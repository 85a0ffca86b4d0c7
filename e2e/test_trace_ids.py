"""Trace IDs a client chooses (`tr-1234`, the v2 API's 32 hex digits), the deprecated v2 trace API
(start, end, get info) and links to runs sent before their trace arrives, through the official
client's REST store. Runs against Keel and the reference (`E2E_TARGET=reference`)."""

from __future__ import annotations

import string
import time
import uuid

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import TraceInfo, TraceLocation, TraceState
from mlflow.entities.trace_status import TraceStatus
from mlflow.exceptions import MlflowException

from conftest import unique


@pytest.fixture
def store(server):
    return MlflowClient()._tracking_client.store


def _info(trace_id: str, experiment_id: str, **tags) -> TraceInfo:
    return TraceInfo(
        trace_id=trace_id,
        trace_location=TraceLocation.from_experiment_id(experiment_id),
        request_time=int(time.time() * 1000),
        state=TraceState.OK,
        execution_duration=7,
        tags=dict(tags),
    )


def _ids(store, experiment_id: str, filter_string: str) -> list[str]:
    infos, _ = store.search_traces(experiment_ids=[experiment_id], filter_string=filter_string)
    return [i.trace_id for i in infos]


def test_a_client_chosen_trace_id_is_kept_exactly(store):
    exp = mlflow.create_experiment(unique("chosen-id"))
    trace_id = f"tr-{uuid.uuid4().hex[:8]}"
    started = store.start_trace(_info(trace_id, exp, team="qa"))
    assert started.trace_id == trace_id
    assert started.tags["mlflow.artifactLocation"].endswith(f"/traces/{trace_id}/artifacts")

    got = store.get_trace_info(trace_id)
    assert (got.trace_id, got.execution_duration, got.state) == (trace_id, 7, TraceState.OK)
    MlflowClient().set_trace_tag(trace_id, "stage", "review")
    assert _ids(store, exp, "tag.stage = 'review'") == [trace_id]
    with pytest.raises(MlflowException) as e:
        store.get_trace_info(trace_id.upper())
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_the_v2_trace_api_starts_ends_and_reads_a_trace(store):
    exp = mlflow.create_experiment(unique("v2-trace"))
    started = store.deprecated_start_trace_v2(
        experiment_id=exp, timestamp_ms=1_000, request_metadata={"m": "1"}, tags={"t": "a"}
    )
    request_id = started.request_id
    assert len(request_id) == 32 and all(c in string.hexdigits for c in request_id)
    assert (started.experiment_id, started.timestamp_ms) == (exp, 1_000)
    assert started.status == TraceStatus.IN_PROGRESS
    assert started.tags["t"] == "a" and started.request_metadata["m"] == "1"

    ended = store.deprecated_end_trace_v2(
        request_id=request_id,
        timestamp_ms=1_500,
        status=TraceStatus.OK,
        request_metadata={"n": "2"},
        tags={"t": "b", "u": "c"},
    )
    assert ended.request_id == request_id
    assert ended.execution_time_ms == 500
    assert ended.status == TraceStatus.OK
    assert (ended.tags["t"], ended.tags["u"]) == ("b", "c")
    assert (ended.request_metadata["m"], ended.request_metadata["n"]) == ("1", "2")
    assert ended.tags["mlflow.artifactLocation"].endswith(f"/traces/{request_id}/artifacts")

    # The same trace through the v3 read and the search, under the same ID.
    info = store.get_trace_info(request_id)
    assert (info.trace_id, info.execution_duration, info.state) == (request_id, 500, TraceState.OK)
    assert _ids(store, exp, "tag.u = 'c'") == [request_id]

    with pytest.raises(MlflowException) as e:
        store.deprecated_end_trace_v2(
            request_id=uuid.uuid4().hex, timestamp_ms=1, status=TraceStatus.OK,
            request_metadata={}, tags={},
        )
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_the_v2_get_info_route_reads_the_trace(store, api):
    exp = mlflow.create_experiment(unique("v2-info"))
    started = store.deprecated_start_trace_v2(
        experiment_id=exp, timestamp_ms=2_000, request_metadata={}, tags={"k": "v"}
    )
    r = api.get(f"traces/{started.request_id}/info")
    assert r.status_code == 200, r.text
    body = r.json()["trace_info"]
    assert body["request_id"] == started.request_id
    assert body["experiment_id"] == exp
    assert body["status"] == "IN_PROGRESS"
    assert {"key": "k", "value": "v"} in body["tags"]
    r = api.get(f"traces/{uuid.uuid4().hex}/info")
    assert r.status_code == 404
    assert r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_a_link_sent_before_its_trace_holds_once_the_trace_arrives(store):
    exp = mlflow.create_experiment(unique("early-link"))
    run_id = MlflowClient().create_run(exp).info.run_id
    trace_id = f"tr-{uuid.uuid4().hex}"
    # The client sends traces asynchronously: the link often arrives first.
    store.link_traces_to_run([trace_id], run_id)
    store.start_trace(_info(trace_id, exp))
    assert _ids(store, exp, f"run_id = '{run_id}'") == [trace_id]

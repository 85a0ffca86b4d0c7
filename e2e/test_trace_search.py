"""Trace search with the official client: `mlflow.search_traces` and `MlflowClient.search_traces`
over traces made with `@mlflow.trace` and `mlflow.start_span`, filtered by status, times, name,
tags, metadata, spans and run, ordered, and paged with max_results and page tokens; plus the
reference's errors for bad filters."""

from __future__ import annotations

import time

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import SpanType
from mlflow.exceptions import MlflowException

import serverctl
from conftest import unique


@mlflow.trace(span_type=SpanType.LLM)
def call_llm(prompt: str) -> str:
    return prompt.upper()


@mlflow.trace(name="chat", span_type=SpanType.AGENT)
def chat(question: str, team: str, pause: float = 0.0) -> str:
    mlflow.update_current_trace(tags={"team": team}, metadata={"tier": "gold" if team == "a" else "basic"})
    if pause:
        time.sleep(pause)
    return call_llm(question)


@mlflow.trace(name="failing", span_type=SpanType.TOOL)
def failing() -> None:
    raise ValueError("boom")


def _ids(traces) -> list[str]:
    return [t.info.trace_id for t in traces]


@pytest.fixture(scope="module")
def corpus(server):
    """One experiment with five traces (oldest first): chat a, chat b (slow), failing, a chat
    inside a run, and a trace made with `start_span`; returns (experiment_id, ids, run_id)."""
    exp_id = mlflow.create_experiment(unique("trace-search"))
    mlflow.set_experiment(experiment_id=exp_id)
    ids = {}
    chat("hello", "a")
    mlflow.flush_trace_async_logging()
    ids["a"] = mlflow.get_last_active_trace_id()
    time.sleep(0.02)
    chat("slow", "b", pause=0.3)
    mlflow.flush_trace_async_logging()
    ids["slow"] = mlflow.get_last_active_trace_id()
    time.sleep(0.02)
    with pytest.raises(ValueError):
        failing()
    mlflow.flush_trace_async_logging()
    ids["failing"] = mlflow.get_last_active_trace_id()
    time.sleep(0.02)
    with mlflow.start_run() as run:
        chat("in run", "c")
    mlflow.flush_trace_async_logging()
    ids["run"] = mlflow.get_last_active_trace_id()
    time.sleep(0.02)
    with mlflow.start_span(name="manual", span_type=SpanType.CHAIN) as span:
        span.set_inputs({"x": 1})
        with mlflow.start_span(name="retrieve", span_type=SpanType.RETRIEVER) as child:
            child.set_outputs(["doc"])
        span.set_outputs("done")
    mlflow.flush_trace_async_logging()
    ids["manual"] = mlflow.get_last_active_trace_id()
    mlflow.set_experiment("Default")
    return exp_id, ids, run.info.run_id


def search(exp_id, filter_string=None, **kw):
    return MlflowClient().search_traces(experiment_ids=[exp_id], filter_string=filter_string, **kw)


def test_default_order_is_newest_first(corpus):
    exp_id, ids, _ = corpus
    found = search(exp_id)
    assert _ids(found) == [ids["manual"], ids["run"], ids["failing"], ids["slow"], ids["a"]]
    assert found.token is None
    # Spans come back through batchGet.
    by_id = {t.info.trace_id: t for t in found}
    assert {s.name for s in by_id[ids["a"]].data.spans} == {"chat", "call_llm"}


def test_filter_by_status(corpus):
    exp_id, ids, _ = corpus
    assert _ids(search(exp_id, "trace.status = 'ERROR'")) == [ids["failing"]]
    assert ids["failing"] not in _ids(search(exp_id, "status = 'OK'"))
    assert len(search(exp_id, "attributes.status IN ('OK', 'ERROR')")) == 5
    assert _ids(search(exp_id, "status != 'OK'")) == [ids["failing"]]


def test_filter_by_timestamp_and_execution_time(corpus):
    exp_id, ids, _ = corpus
    run_trace = mlflow.get_trace(ids["run"])
    ts = run_trace.info.request_time
    newer = _ids(search(exp_id, f"timestamp_ms >= {ts}"))
    assert newer == [ids["manual"], ids["run"]]
    assert _ids(search(exp_id, f"trace.timestamp < {ts}"))[-1] == ids["a"]
    assert _ids(search(exp_id, "execution_time_ms > 250")) == [ids["slow"]]
    assert ids["slow"] not in _ids(search(exp_id, "trace.execution_time < 250"))


def test_filter_by_name_tags_and_metadata(corpus):
    exp_id, ids, _ = corpus
    assert _ids(search(exp_id, "trace.name = 'failing'")) == [ids["failing"]]
    assert _ids(search(exp_id, "name LIKE 'cha%'")) == [ids["run"], ids["slow"], ids["a"]]
    assert _ids(search(exp_id, "tags.team = 'b'")) == [ids["slow"]]
    assert _ids(search(exp_id, "tags.`mlflow.traceName` ILIKE 'MAN%'")) == [ids["manual"]]
    assert _ids(search(exp_id, "tags.team != 'a'")) == [ids["run"], ids["slow"]]
    assert _ids(search(exp_id, "metadata.tier = 'gold'")) == [ids["a"]]
    assert _ids(search(exp_id, "request_metadata.tier = 'basic' AND tags.team = 'c'")) == [ids["run"]]


def test_filter_by_spans(corpus):
    exp_id, ids, _ = corpus
    assert _ids(search(exp_id, "span.name = 'retrieve'")) == [ids["manual"]]
    assert _ids(search(exp_id, "span.type = 'LLM'")) == [ids["run"], ids["slow"], ids["a"]]
    assert _ids(search(exp_id, "span.name = 'call_llm' AND span.type = 'LLM'")) == [
        ids["run"],
        ids["slow"],
        ids["a"],
    ]
    # Both span clauses must hold for the same span.
    assert _ids(search(exp_id, "span.name = 'chat' AND span.type = 'LLM'")) == []
    assert _ids(search(exp_id, "span.name IN ('failing', 'manual')")) == [ids["manual"], ids["failing"]]
    assert _ids(search(exp_id, "trace.text ILIKE '%SLOW%'")) == [ids["slow"]]
    assert _ids(search(exp_id, "trace.text LIKE '%retrieve%' AND span.type = 'RETRIEVER'")) == [ids["manual"]]


def test_filter_by_run(corpus):
    exp_id, ids, run_id = corpus
    assert _ids(search(exp_id, f"trace.run_id = '{run_id}'")) == [ids["run"]]
    assert _ids(MlflowClient().search_traces(experiment_ids=[exp_id], run_id=run_id)) == [ids["run"]]
    assert _ids(search(exp_id, f"metadata.`mlflow.sourceRun` = '{run_id}'")) == [ids["run"]]


def test_order_by(corpus):
    exp_id, ids, _ = corpus
    assert _ids(search(exp_id, order_by=["timestamp_ms ASC"]))[0] == ids["a"]
    assert _ids(search(exp_id, order_by=["execution_time DESC"]))[0] == ids["slow"]
    by_name = _ids(search(exp_id, order_by=["name ASC", "timestamp ASC"]))
    assert by_name == [ids["a"], ids["slow"], ids["run"], ids["failing"], ids["manual"]]
    by_tag = _ids(search(exp_id, order_by=["tags.team DESC"]))
    # Traces without the tag sort last, newest first among them.
    assert by_tag == [ids["run"], ids["slow"], ids["a"], ids["manual"], ids["failing"]]


def test_pages_with_max_results_and_tokens(corpus):
    exp_id, ids, _ = corpus
    client = MlflowClient()
    seen = []
    token = None
    pages = 0
    while True:
        page = client.search_traces(
            experiment_ids=[exp_id], max_results=2, page_token=token, order_by=["timestamp ASC"]
        )
        assert len(page) <= 2
        seen.extend(_ids(page))
        pages += 1
        token = page.token
        if not token:
            break
    assert seen == [ids["a"], ids["slow"], ids["failing"], ids["run"], ids["manual"]]
    assert pages in (3, 4)


def test_fluent_search_traces(corpus):
    exp_id, ids, run_id = corpus
    found = mlflow.search_traces(
        experiment_ids=[exp_id], filter_string="status = 'OK'", return_type="list", max_results=2
    )
    assert _ids(found) == [ids["manual"], ids["run"]]
    df = mlflow.search_traces(experiment_ids=[exp_id], filter_string="span.type = 'TOOL'")
    assert list(df["trace_id"]) == [ids["failing"]]
    assert _ids(mlflow.search_traces(experiment_ids=[exp_id], run_id=run_id, return_type="list")) == [ids["run"]]


def test_several_experiments(corpus):
    exp_id, ids, _ = corpus
    other = mlflow.create_experiment(unique("trace-search-other"))
    mlflow.set_experiment(experiment_id=other)
    try:
        call_llm("elsewhere")
        mlflow.flush_trace_async_logging()
        elsewhere = mlflow.get_last_active_trace_id()
    finally:
        mlflow.set_experiment("Default")
    both = _ids(MlflowClient().search_traces(experiment_ids=[exp_id, other], filter_string="span.type = 'LLM'"))
    assert both == [elsewhere, ids["run"], ids["slow"], ids["a"]]


@pytest.mark.parametrize(
    "bad",
    [
        "status = 'OK' OR status = 'ERROR'",
        "nope = 'x'",
        "foo.bar = 'x'",
        "status > 'OK'",
        "timestamp_ms LIKE '1%'",
        "span.kind = 'LLM'",
        "tags.team = 1",
    ],
)
def test_bad_filters_are_invalid_parameter_value(corpus, bad):
    exp_id, _, _ = corpus
    with pytest.raises(MlflowException) as e:
        search(exp_id, bad)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_bad_max_results_and_order_by(corpus):
    exp_id, _, _ = corpus
    with pytest.raises(MlflowException) as e:
        search(exp_id, max_results=501)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as e:
        search(exp_id, order_by=["span.name"])
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.skipif(serverctl.IS_REFERENCE, reason="Keel's page tokens are opaque and checked")
def test_garbage_page_token_is_rejected(corpus):
    exp_id, _, _ = corpus
    with pytest.raises(MlflowException) as e:
        search(exp_id, page_token="not-a-token")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_v2_search_route(corpus, api):
    exp_id, ids, _ = corpus
    resp = api.get("traces", params={"experiment_ids": exp_id, "filter": "status = 'ERROR'"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [t["request_id"] for t in body["traces"]] == [ids["failing"]]
    info = body["traces"][0]
    assert info["experiment_id"] == exp_id
    assert info["status"] == "ERROR"
    assert {"key": "mlflow.traceName", "value": "failing"} in info["tags"]


def test_filter_by_feedback_expectation_and_linked_run(server):
    """Assessments logged with the client and explicit run links are searchable."""
    exp_id = mlflow.create_experiment(unique("trace-search-assess"))
    mlflow.set_experiment(experiment_id=exp_id)
    ids = []
    for q in ("one", "two", "three"):
        chat(q, "a")
        mlflow.flush_trace_async_logging()
        ids.append(mlflow.get_last_active_trace_id())
    mlflow.set_experiment("Default")
    mlflow.log_feedback(trace_id=ids[0], name="correct", value=True)
    mlflow.log_feedback(trace_id=ids[1], name="correct", value=False)
    mlflow.log_feedback(trace_id=ids[0], name="score", value=0.9)
    mlflow.log_feedback(trace_id=ids[1], name="score", value=0.4)
    mlflow.log_expectation(trace_id=ids[2], name="expected", value="ONE")
    overridden = mlflow.log_feedback(trace_id=ids[2], name="verdict", value="bad")
    mlflow.override_feedback(trace_id=ids[2], assessment_id=overridden.assessment_id, value="good")

    assert _ids(search(exp_id, "feedback.correct = 'true'")) == [ids[0]]
    assert _ids(search(exp_id, "feedback.score > 0.5")) == [ids[0]]
    assert sorted(_ids(search(exp_id, "feedback.score >= 0.4"))) == sorted(ids[:2])
    assert _ids(search(exp_id, "expectation.expected = 'ONE'")) == [ids[2]]
    # Only the valid (overriding) verdict counts.
    assert _ids(search(exp_id, "feedback.verdict = 'good'")) == [ids[2]]
    assert _ids(search(exp_id, "feedback.verdict = 'bad'")) == []

    run = MlflowClient().create_run(exp_id)
    MlflowClient().link_traces_to_run(ids[1:], run.info.run_id)
    assert sorted(_ids(search(exp_id, f"trace.run_id = '{run.info.run_id}'"))) == sorted(ids[1:])

    # Search results carry the assessments, and include_spans brings the spans along.
    found = {t.info.trace_id: t for t in mlflow.search_traces(experiment_ids=[exp_id], return_type="list")}
    assert {a.name for a in found[ids[0]].info.assessments} == {"correct", "score"}
    assert sorted(s.name for s in found[ids[0]].data.spans) == ["call_llm", "chat"]

"""Run search: the MLflow filter grammar, order_by with ties and missing values, view types, paging, pandas output."""

import math

import mlflow
import pandas as pd
import pytest
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

from conftest import unique

# index: (run_name, start_time, acc, loss, model param, team tag, final status)
RUNS = [
    ("alpha-0", 1_000, 0.9, 0.1, "Alpha", "a", "FINISHED"),
    ("beta-1", 1_001, 0.5, 0.4, "beta", "b", "FAILED"),
    ("alpha-2", 1_002, None, 0.3, "alpha", "a", "RUNNING"),
    ("gamma-3", 1_003, 0.7, None, None, "b", "FINISHED"),
    ("Alpha-4", 1_004, 0.7, 0.2, "gamma", None, "KILLED"),
    ("deleted-5", 1_005, 1.0, 1.0, "alpha", "a", "FINISHED"),  # deleted below
]


@pytest.fixture(scope="module")
def corpus(client):
    exp_name = unique("search-runs")
    exp_id = client.create_experiment(exp_name)
    ids = []
    for name, start, acc, loss, model, team, status in RUNS:
        tags = {"team": team} if team is not None else {}
        run_id = client.create_run(exp_id, start_time=start, run_name=name, tags=tags).info.run_id
        if acc is not None:
            client.log_metric(run_id, "acc", acc, timestamp=start, step=0)
        if loss is not None:
            client.log_metric(run_id, "loss", loss, timestamp=start, step=0)
        if model is not None:
            client.log_param(run_id, "model", model)
        if status != "RUNNING":
            client.set_terminated(run_id, status=status, end_time=start + 100)
        ids.append(run_id)
    client.delete_run(ids[5])
    return {"experiment_id": exp_id, "name": exp_name, "ids": ids, "index": {r: i for i, r in enumerate(ids)}}


def found(client, corpus, filter_string="", order_by=None, view=ViewType.ACTIVE_ONLY):
    runs = client.search_runs(
        [corpus["experiment_id"]], filter_string=filter_string, order_by=order_by, run_view_type=view
    )
    return [corpus["index"][r.info.run_id] for r in runs]


def test_default_order_is_start_time_desc_and_hides_deleted(client, corpus):
    assert found(client, corpus) == [4, 3, 2, 1, 0]


def test_view_types(client, corpus):
    assert found(client, corpus, view=ViewType.DELETED_ONLY) == [5]
    assert found(client, corpus, view=ViewType.ALL) == [5, 4, 3, 2, 1, 0]


@pytest.mark.parametrize(
    "filter_string, expected",
    [
        ("metrics.acc > 0.6", {0, 3, 4}),
        ("metrics.acc >= 0.7 AND metrics.loss < 0.25", {0, 4}),
        ("metrics.acc = 0.5", {1}),
        ("metrics.acc != 0.5", {0, 3, 4}),
        ("metrics.acc <= 0.5", {1}),
        ("metrics.loss < 1", {0, 1, 2, 4}),
        ("params.model = 'alpha'", {2}),
        ('params.model = "beta"', {1}),
        ("params.model != 'beta'", {0, 2, 4}),
        ("params.model LIKE 'a%'", {2}),
        ("params.model ILIKE 'a%'", {0, 2}),
        ("params.model LIKE '%a'", {0, 1, 2, 4}),
        ("params.model LIKE '_lpha'", {0, 2}),
        ("tags.team = 'a'", {0, 2}),
        ("tags.team != 'a'", {1, 3}),
        ("tags.team = 'a' and params.model = 'Alpha'", {0}),
        ("tags.`mlflow.runName` = 'beta-1'", {1}),
        ("tags.mlflow.runName = 'beta-1'", {1}),
        ("attributes.status = 'FINISHED'", {0, 3}),
        ("status != 'RUNNING'", {0, 1, 3, 4}),
        ("attributes.run_name = 'beta-1'", {1}),
        ("attributes.run_name LIKE 'alpha%'", {0, 2}),
        ("attributes.run_name ILIKE 'alpha%'", {0, 2, 4}),
        ("run_name != 'gamma-3'", {0, 1, 2, 4}),
        ("attributes.start_time >= 1003", {3, 4}),
        ("attributes.start_time < 1001", {0}),
        ("attributes.end_time > 1102", {3, 4}),
        ("metrics.acc > 100", set()),
        ("params.missing = 'x'", set()),
    ],
)
def test_filters(client, corpus, filter_string, expected):
    assert set(found(client, corpus, filter_string)) == expected


def test_run_id_in_and_not_in(client, corpus):
    ids = corpus["ids"]
    assert set(found(client, corpus, f"attributes.run_id IN ('{ids[0]}', '{ids[3]}')")) == {0, 3}
    assert set(found(client, corpus, f"attributes.run_id NOT IN ('{ids[1]}')")) == {0, 2, 3, 4}
    assert set(found(client, corpus, f"attributes.run_id = '{ids[2]}'")) == {2}


def test_in_is_only_for_run_id(client, corpus):
    with pytest.raises(MlflowException) as err:
        found(client, corpus, "params.model IN ('beta')")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize(
    "order_by, expected",
    [
        # Ties are broken by start_time DESC; runs without the key sort last in both directions.
        (["metrics.acc DESC"], [0, 4, 3, 1, 2]),
        (["metrics.acc ASC"], [1, 4, 3, 0, 2]),
        (["metrics.acc"], [1, 4, 3, 0, 2]),
        (["params.model ASC"], [0, 2, 1, 4, 3]),
        (["params.model DESC"], [4, 1, 2, 0, 3]),
        (["tags.team ASC", "metrics.loss DESC"], [2, 0, 1, 3, 4]),
        (["attributes.start_time ASC"], [0, 1, 2, 3, 4]),
        (["start_time DESC"], [4, 3, 2, 1, 0]),
        (["attributes.run_name ASC"], [4, 0, 2, 1, 3]),
        (["attributes.end_time DESC"], [4, 3, 1, 0, 2]),
    ],
)
def test_order_by(client, corpus, order_by, expected):
    assert found(client, corpus, order_by=order_by) == expected


def test_order_by_with_filter(client, corpus):
    assert found(client, corpus, "metrics.acc > 0", ["metrics.acc DESC"]) == [0, 4, 3, 1]


def test_max_results(client, corpus):
    runs = client.search_runs([corpus["experiment_id"]], max_results=2)
    assert [corpus["index"][r.info.run_id] for r in runs] == [4, 3]
    assert runs.token


def test_search_results_carry_full_run_data(client, corpus):
    [run] = client.search_runs([corpus["experiment_id"]], "attributes.run_name = 'alpha-0'")
    assert run.info.status == "FINISHED"
    assert run.info.start_time == 1_000 and run.info.end_time == 1_100
    assert run.data.metrics == {"acc": 0.9, "loss": 0.1}
    assert run.data.params == {"model": "Alpha"}
    assert run.data.tags["team"] == "a"
    assert run.data.tags["mlflow.runName"] == "alpha-0"


def test_search_across_experiments(client, corpus):
    other = client.create_experiment(unique("search-other"))
    extra = client.create_run(other, start_time=2_000).info.run_id
    ids = [r.info.run_id for r in client.search_runs([corpus["experiment_id"], other])]
    assert ids[0] == extra
    assert set(ids) == set(corpus["ids"][:5]) | {extra}


def test_fluent_search_runs_to_pandas(server, corpus):
    df = mlflow.search_runs([corpus["experiment_id"]], order_by=["metrics.acc DESC"])
    assert isinstance(df, pd.DataFrame)
    assert len(df) == 5
    for column in ("run_id", "experiment_id", "status", "start_time", "end_time", "artifact_uri",
                   "metrics.acc", "metrics.loss", "params.model", "tags.team", "tags.mlflow.runName"):
        assert column in df.columns, column
    assert list(df["run_id"]) == [corpus["ids"][i] for i in [0, 4, 3, 1, 2]]
    assert list(df["metrics.acc"][:4]) == [0.9, 0.7, 0.7, 0.5]
    assert math.isnan(df["metrics.acc"].iloc[4])
    assert df["params.model"].iloc[0] == "Alpha"
    assert set(df["status"]) == {"FINISHED", "FAILED", "RUNNING", "KILLED"}


def test_fluent_search_runs_filter_and_names(server, corpus):
    df = mlflow.search_runs(experiment_names=[corpus["name"]], filter_string="tags.team = 'b'")
    assert set(df["run_id"]) == {corpus["ids"][1], corpus["ids"][3]}
    runs = mlflow.search_runs([corpus["experiment_id"]], filter_string="params.model = 'gamma'", output_format="list")
    assert [r.info.run_id for r in runs] == [corpus["ids"][4]]


def test_fluent_search_runs_deleted(server, corpus):
    df = mlflow.search_runs([corpus["experiment_id"]], run_view_type=ViewType.DELETED_ONLY)
    assert list(df["run_id"]) == [corpus["ids"][5]]


def test_paging_through_250_runs(client):
    exp_id = client.create_experiment(unique("search-paging"))
    expected = [client.create_run(exp_id, start_time=10_000 + i).info.run_id for i in range(250)]
    expected.reverse()  # default order: start_time DESC
    seen, token, pages = [], None, 0
    while True:
        page = client.search_runs([exp_id], max_results=40, page_token=token)
        pages += 1
        assert len(page) == (40 if pages <= 6 else 10)
        seen.extend(r.info.run_id for r in page)
        token = page.token
        if not token:
            break
        assert pages < 20
    assert pages == 7
    assert seen == expected


def test_paging_with_order_and_filter(client):
    exp_id = client.create_experiment(unique("search-paging2"))
    ids = []
    for i in range(30):
        run_id = client.create_run(exp_id, start_time=1_000).info.run_id
        client.log_metric(run_id, "m", float(i % 7), timestamp=1, step=0)
        ids.append(run_id)
    all_at_once = [r.info.run_id for r in client.search_runs([exp_id], "metrics.m >= 2", order_by=["metrics.m DESC"])]
    paged, token = [], None
    for _ in range(20):
        page = client.search_runs([exp_id], "metrics.m >= 2", order_by=["metrics.m DESC"], max_results=7, page_token=token)
        paged.extend(r.info.run_id for r in page)
        token = page.token
        if not token:
            break
    assert paged == all_at_once
    assert len(paged) == sum(1 for i in range(30) if i % 7 >= 2)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"filter_string": "metrics.acc >>> 1"},
        {"filter_string": "foo.bar = 'x'"},
        {"filter_string": "metrics.acc = 'text'"},
        {"order_by": ["foo.bar"]},
        {"max_results": 50_001},
    ],
)
def test_invalid_search_requests(client, corpus, kwargs):
    with pytest.raises(MlflowException) as err:
        client.search_runs([corpus["experiment_id"]], **kwargs)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("direction, finite_order", [("DESC", [2, 0, 1]), ("ASC", [1, 0, 2])])
def test_order_by_metric_puts_nan_then_missing_last(client, direction, finite_order):
    exp_id = client.create_experiment(unique("search-nan-order"))
    values = [0.5, 0.1, 0.9, float("nan"), None]
    ids = []
    for i, value in enumerate(values):
        run_id = client.create_run(exp_id, start_time=1_000 + i).info.run_id
        if value is not None:
            client.log_metric(run_id, "x", value, timestamp=1, step=0)
        ids.append(run_id)
    got = [ids.index(r.info.run_id) for r in client.search_runs([exp_id], order_by=[f"metrics.x {direction}"])]
    assert got == finite_order + [3, 4]

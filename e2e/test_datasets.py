"""Dataset inputs: `mlflow.log_input` with a pandas dataset, run inputs, `datasets.*` search and search-datasets."""

import json

import mlflow
import pandas as pd
import pytest

from conftest import unique


@pytest.fixture
def logged(server, client):
    """Two runs: A used train-ds for training; B used eval-ds for eval and train-ds for training."""
    exp = mlflow.set_experiment(unique("datasets"))
    df = pd.DataFrame({"x": [1, 2, 3], "y": [4.0, 5.0, 6.0]})
    train = mlflow.data.from_pandas(df, name="train-ds", targets="y")
    evaluation = mlflow.data.from_pandas(df.head(2), name="eval-ds")
    with mlflow.start_run() as a:
        mlflow.log_input(train, context="training")
    with mlflow.start_run() as b:
        mlflow.log_input(evaluation, context="eval")
        mlflow.log_input(train, context="training")
    return {
        "experiment_id": exp.experiment_id,
        "a": a.info.run_id,
        "b": b.info.run_id,
        "train": train,
        "eval": evaluation,
    }


def test_run_inputs_carry_dataset_and_context(client, logged):
    inputs = client.get_run(logged["a"]).inputs.dataset_inputs
    assert len(inputs) == 1
    ds = inputs[0].dataset
    assert ds.name == "train-ds"
    assert ds.digest == logged["train"].digest
    assert ds.source_type == "code"
    assert json.loads(ds.source) == json.loads(logged["train"].source.to_json())
    assert json.loads(ds.schema)["mlflow_colspec"][0]["name"] == "x"
    assert json.loads(ds.profile) == {"num_rows": 3, "num_elements": 6}
    assert {t.key: t.value for t in inputs[0].tags} == {"mlflow.data.context": "training"}


def test_run_with_two_inputs(client, logged):
    inputs = client.get_run(logged["b"]).inputs.dataset_inputs
    by_name = {i.dataset.name: {t.key: t.value for t in i.tags} for i in inputs}
    assert by_name == {
        "eval-ds": {"mlflow.data.context": "eval"},
        "train-ds": {"mlflow.data.context": "training"},
    }


def test_run_without_inputs(client, run_id):
    assert client.get_run(run_id).inputs.dataset_inputs == []


def _ids(client, experiment_id, filter_string):
    return {r.info.run_id for r in client.search_runs([experiment_id], filter_string)}


def test_search_runs_by_dataset_name(client, logged):
    e = logged["experiment_id"]
    assert _ids(client, e, "datasets.name = 'train-ds'") == {logged["a"], logged["b"]}
    assert _ids(client, e, "datasets.name = 'eval-ds'") == {logged["b"]}
    assert _ids(client, e, "datasets.name = 'nope'") == set()
    assert _ids(client, e, "datasets.name IN ('eval-ds', 'other')") == {logged["b"]}
    assert _ids(client, e, "datasets.name LIKE 'tr%'") == {logged["a"], logged["b"]}


def test_search_runs_by_dataset_context_and_digest(client, logged):
    e = logged["experiment_id"]
    assert _ids(client, e, "datasets.context = 'eval'") == {logged["b"]}
    assert _ids(client, e, "datasets.context = 'training'") == {logged["a"], logged["b"]}
    assert _ids(client, e, f"datasets.digest = '{logged['eval'].digest}'") == {logged["b"]}


def test_search_datasets_endpoint(api, logged):
    resp = api.post(
        "/ajax-api/2.0/mlflow/experiments/search-datasets",
        {"experiment_ids": [logged["experiment_id"]]},
    )
    assert resp.status_code == 200, resp.text
    summaries = resp.json()["dataset_summaries"]
    got = {(s["experiment_id"], s["name"], s["digest"], s.get("context")) for s in summaries}
    e = logged["experiment_id"]
    assert got == {
        (e, "train-ds", logged["train"].digest, "training"),
        (e, "eval-ds", logged["eval"].digest, "eval"),
    }


def test_search_datasets_requires_experiment_ids(api):
    resp = api.post("/ajax-api/2.0/mlflow/experiments/search-datasets", {})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_log_inputs_via_client(client, run_id):
    from mlflow.entities import Dataset, DatasetInput, InputTag

    ds = Dataset(name="raw", digest="abc123", source_type="local", source='{"uri": "/data/raw.csv"}')
    client.log_inputs(run_id, datasets=[DatasetInput(ds, tags=[InputTag("mlflow.data.context", "test")])])
    [inp] = client.get_run(run_id).inputs.dataset_inputs
    assert (inp.dataset.name, inp.dataset.digest, inp.dataset.source_type) == ("raw", "abc123", "local")
    assert inp.dataset.source == '{"uri": "/data/raw.csv"}'
    assert [(t.key, t.value) for t in inp.tags] == [("mlflow.data.context", "test")]


def test_same_input_logged_twice_is_deduplicated(client, run_id):
    from mlflow.entities import Dataset, DatasetInput, InputTag

    ds = Dataset(name="dedup", digest="d1", source_type="local", source="{}")
    inp = DatasetInput(ds, tags=[InputTag("mlflow.data.context", "train")])
    client.log_inputs(run_id, datasets=[inp])
    client.log_inputs(run_id, datasets=[inp])
    assert len(client.get_run(run_id).inputs.dataset_inputs) == 1

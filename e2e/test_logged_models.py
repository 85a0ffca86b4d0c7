"""MLflow 3 logged models with the official client: log_model/load_model/predict for sklearn and
pyfunc, `runs:/` and `models:/` URIs, and the logged-model API (tags, params, metrics, search,
finalize, delete, artifact listing); once per artifact store (local directory and S3)."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest
from mlflow.entities import LoggedModelStatus
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LogisticRegression

from artifact_backends import api, base_url, client, server  # noqa: F401  (both artifact stores)
from conftest import unique


@pytest.fixture
def fluent(experiment_id):
    """The fluent API (already pointed at the server by conftest) inside a fresh experiment."""
    mlflow.set_experiment(experiment_id=experiment_id)


def _fitted_classifier():
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    y = np.array([0, 0, 0, 1, 1, 1])
    return LogisticRegression().fit(x, y), x


class AddN(mlflow.pyfunc.PythonModel):
    def __init__(self, n):
        self.n = n

    def predict(self, context, model_input, params=None):
        return model_input.apply(lambda column: column + self.n)


def test_sklearn_log_model_then_load_by_model_and_run_uri(fluent, client, tmp_path):
    model, x = _fitted_classifier()
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(model, name="clf", input_example=x[:2])
    assert info.model_id.startswith("m-")
    expected = model.predict(x)

    by_model_id = mlflow.pyfunc.load_model(f"models:/{info.model_id}")
    np.testing.assert_array_equal(by_model_id.predict(x), expected)
    by_run = mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/clf")
    np.testing.assert_array_equal(by_run.predict(x), expected)

    logged = client.get_logged_model(info.model_id)
    assert logged.name == "clf"
    assert logged.source_run_id == run.info.run_id
    assert logged.status == LoggedModelStatus.READY
    assert logged.artifact_location.endswith(f"/models/{info.model_id}/artifacts")
    files = {f.path for f in client.list_logged_model_artifacts(info.model_id)}
    assert "MLmodel" in files and len(files) > 2, files
    # A run lists its model's files under the model's name, as the reference does.
    assert "clf/MLmodel" in {f.path for f in client.list_artifacts(run.info.run_id, "clf")}
    outputs = client.get_run(run.info.run_id).outputs.model_outputs
    assert [o.model_id for o in outputs] == [info.model_id]


def test_pyfunc_log_model_predicts_after_reload(fluent):
    import pandas as pd

    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="adder", python_model=AddN(5))
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    out = loaded.predict(pd.DataFrame({"a": [1, 2], "b": [10, 20]}))
    assert out["a"].tolist() == [6, 7]
    assert out["b"].tolist() == [15, 25]


def test_logged_model_api_round_trip(client, experiment_id):
    run = client.create_run(experiment_id)
    params = {f"p{i}": str(i) for i in range(150)}  # more than one request's worth
    model = client.create_logged_model(
        experiment_id,
        name="api-model",
        source_run_id=run.info.run_id,
        params=params,
        tags={"team": "search"},
        model_type="Classifier",
    )
    assert model.status == LoggedModelStatus.PENDING
    assert model.params == params
    assert model.model_type == "Classifier"
    client.set_logged_model_tags(model.model_id, {"stage": "dev", "team": "ml"})
    client.delete_logged_model_tag(model.model_id, "stage")
    client.log_model_params(model.model_id, {"extra": "1"})
    client.log_metric(run.info.run_id, "acc", 0.93, model_id=model.model_id)
    ready = client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    assert ready.status == LoggedModelStatus.READY

    got = client.get_logged_model(model.model_id)
    assert got.tags["team"] == "ml"
    assert "stage" not in got.tags
    assert got.params["extra"] == "1"
    assert [(m.key, m.value, m.run_id) for m in got.metrics] == [("acc", 0.93, run.info.run_id)]

    client.delete_logged_model(model.model_id)
    with pytest.raises(MlflowException, match="not found"):
        client.get_logged_model(model.model_id)


def test_search_logged_models_filters_orders_and_pages(client):
    experiment_id = client.create_experiment(unique("lm-search"))
    run = client.create_run(experiment_id)
    ids = {}
    for i, score in enumerate([0.5, 0.9, 0.7, 0.1]):
        m = client.create_logged_model(experiment_id, name=f"model-{i}", tags={"even": str(i % 2 == 0)})
        client.log_metric(run.info.run_id, "score", score, model_id=m.model_id)
        ids[m.name] = m.model_id

    def names(**kw):
        return [m.name for m in client.search_logged_models([experiment_id], **kw)]

    assert names(filter_string="name = 'model-2'") == ["model-2"]
    assert names(filter_string="metrics.score > 0.6", order_by=[{"field_name": "name"}]) == [
        "model-1",
        "model-2",
    ]
    assert names(filter_string="tags.even = 'True' AND name LIKE 'model-%'", order_by=[{"field_name": "name"}]) == [
        "model-0",
        "model-2",
    ]
    assert names(order_by=[{"field_name": "metrics.score", "ascending": False}]) == [
        "model-1",
        "model-2",
        "model-0",
        "model-3",
    ]
    page = client.search_logged_models([experiment_id], max_results=3, order_by=[{"field_name": "name"}])
    assert len(page) == 3 and page.token
    rest = client.search_logged_models(
        [experiment_id], max_results=3, order_by=[{"field_name": "name"}], page_token=page.token
    )
    assert [m.name for m in rest] == ["model-3"] and not rest.token

    found = mlflow.search_logged_models(
        experiment_ids=[experiment_id], filter_string="metrics.score < 0.2", output_format="list"
    )
    assert [m.model_id for m in found] == [ids["model-3"]]

    with pytest.raises(MlflowException, match="(?i)invalid"):
        client.search_logged_models([experiment_id], filter_string="metrics.score LIKE 'x'")


def test_runs_log_model_appends_to_the_history_tag(api, client, run_id):
    import json

    for path in ("first", "second"):
        model = {"artifact_path": path, "flavors": {}, "utc_time_created": "2026-01-01", "run_id": run_id}
        r = api.post("runs/log-model", json={"run_id": run_id, "model_json": json.dumps(model)})
        assert r.status_code == 200, r.text
    history = json.loads(client.get_run(run_id).data.tags["mlflow.log-model.history"])
    assert [m["artifact_path"] for m in history] == ["first", "second"]

    r = api.post("runs/log-model", json={"run_id": run_id, "model_json": json.dumps({"flavors": {}})})
    assert r.status_code == 400
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "missing mandatory fields" in r.json()["message"]

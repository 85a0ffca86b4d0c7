"""`runs/create-promptlab-run` (issue 16), on Keel and on the reference: the web UI's prompt
engineering run, with its params, tags, evaluation table and a `python_function` model that the
official client loads. Runs against both servers (`E2E_TARGET=reference`)."""

from __future__ import annotations

import json

import mlflow
import pytest
import yaml
from mlflow import MlflowClient

import serverctl
from conftest import unique

ROUTE = "/ajax-api/2.0/mlflow/runs/create-promptlab-run"


def _body(experiment_id: str, **overrides) -> dict:
    body = {
        "experiment_id": experiment_id,
        "run_name": "my-promptlab-run",
        "prompt_template": "Translate {{ text }} into {{language}}",
        "prompt_parameters": [{"key": "text", "value": "hello world"}, {"key": "language", "value": "French"}],
        "model_route": "chat-gpt",
        "model_parameters": [
            {"key": "temperature", "value": 0.5},
            {"key": "max_tokens", "value": 100},
            {"key": "stop", "value": ["\n"]},
        ],
        "model_input": "Translate hello world into French",
        "model_output": "Bonjour le monde",
        "model_output_parameters": [{"key": "latency", "value": 123}],
        "mlflow_version": "3.17.2",
        "user_id": "alice",
        "start_time": 1700000000000,
    }
    body.update(overrides)
    return body


def _text(client: MlflowClient, run_id: str, path: str, tmp_path) -> str:
    return open(client.download_artifacts(run_id, path, str(tmp_path))).read()


def test_a_promptlab_run_is_written_as_the_reference_writes_it(server, api, tmp_path):
    client = MlflowClient(tracking_uri=server.url)
    exp = client.create_experiment(unique("promptlab"))
    r = api.post(ROUTE, json=_body(exp))
    assert r.status_code == 200, r.text
    info = r.json()["run"]["info"]
    run_id = info["run_id"]
    assert (info["run_name"], info["user_id"], info["status"], info["start_time"]) == (
        "my-promptlab-run",
        "alice",
        "FINISHED",
        1700000000000,
    )
    run = client.get_run(run_id)
    assert run.data.params == {
        "temperature": "0.5",
        "max_tokens": "100",
        "stop": "['\\n']",
        "model_route": "chat-gpt",
        "prompt_template": "Translate {{ text }} into {{language}}",
    }
    assert run.data.metrics == {}
    assert run.data.tags["mlflow.runSourceType"] == "PROMPT_ENGINEERING"
    assert run.data.tags["mlflow.loggedArtifacts"] == '[{"path": "eval_results_table.json", "type": "table"}]'
    history = json.loads(run.data.tags["mlflow.log-model.history"])
    assert [(h["run_id"], h["artifact_path"], h["flavors"]) for h in history] == [(run_id, "model", {})]

    top = sorted(f.path for f in client.list_artifacts(run_id))
    assert top == ["eval_results_table.json", "model"]
    assert sorted(f.path for f in client.list_artifacts(run_id, "model")) == [
        "model/MLmodel",
        "model/conda.yaml",
        "model/input_example.json",
        "model/parameters.yaml",
        "model/python_env.yaml",
        "model/requirements.txt",
        "model/serving_input_example.json",
    ]
    assert _text(client, run_id, "eval_results_table.json", tmp_path / "t") == (
        '{"columns": ["text", "language", "prompt", "output", "latency"], "data": [["hello world", '
        '"French", "Translate hello world into French", "Bonjour le monde", "123"]]}'
    )
    assert yaml.safe_load(_text(client, run_id, "model/parameters.yaml", tmp_path / "p")) == {
        "model_parameters": {"max_tokens": "100", "stop": "['\\n']", "temperature": "0.5"},
        "model_route": "chat-gpt",
        "prompt_parameters": {"language": "French", "text": "hello world"},
        "prompt_template": "Translate {{ text }} into {{language}}",
    }
    mlmodel = yaml.safe_load(_text(client, run_id, "model/MLmodel", tmp_path / "m"))
    assert mlmodel["run_id"] == run_id and mlmodel["model_uuid"] == history[0]["model_uuid"]
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.prompt.promptlab_model"
    assert json.loads(mlmodel["signature"]["inputs"]) == [
        {"type": "string", "name": "text", "required": True},
        {"type": "string", "name": "language", "required": True},
    ]
    # The official client reads the model back.
    model_info = mlflow.models.get_model_info(f"runs:/{run_id}/model")
    assert model_info.flavors["python_function"]["parameters_path"] == "parameters.yaml"


def test_missing_fields_are_named(server, api):
    exp = MlflowClient(tracking_uri=server.url).create_experiment(unique("promptlab-bad"))
    for field, value in [
        ("experiment_id", None),
        ("prompt_template", ""),
        ("prompt_parameters", []),
        ("model_route", None),
        ("model_input", None),
        ("mlflow_version", None),
    ]:
        body = _body(exp)
        body[field] = value
        r = api.post(ROUTE, json=body)
        assert r.status_code == 400, (field, r.text)
        assert r.json()["message"] == f"CreatePromptlabRun request must specify {field}.", r.json()
    assert api.post("/api/2.0/mlflow/runs/create-promptlab-run", json=_body(exp)).status_code == 404


@pytest.mark.skipif(serverctl.IS_REFERENCE, reason="the reference creates the run, then marks it FAILED")
def test_a_refused_param_writes_nothing(server, api):
    client = MlflowClient(tracking_uri=server.url)
    exp = client.create_experiment(unique("promptlab-clash"))
    clash = _body(exp, model_parameters=[{"key": "model_route", "value": "x"}])
    r = api.post(ROUTE, json=clash)
    assert r.status_code == 400, r.text
    assert client.search_runs([exp]) == []

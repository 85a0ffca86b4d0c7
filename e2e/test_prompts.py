"""The prompt registry as the official client builds it on registered models: register versions,
aliases, load by version and alias, search, hidden from plain model search, placeholder sources."""

from __future__ import annotations

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from conftest import unique


def test_register_load_alias_and_search_prompts(client):
    name = unique("prompt").replace("-", "_")
    first = mlflow.genai.register_prompt(name=name, template="Hello {{name}}!", commit_message="first")
    second = mlflow.genai.register_prompt(name=name, template="Hi {{name}}, welcome!", tags={"lang": "en"})
    assert (first.version, second.version) == (1, 2)

    mlflow.genai.set_prompt_alias(name, alias="prod", version=1)
    assert mlflow.genai.load_prompt(f"prompts:/{name}/2").format(name="Ann") == "Hi Ann, welcome!"
    assert mlflow.genai.load_prompt(f"prompts:/{name}@prod").format(name="Ann") == "Hello Ann!"
    assert mlflow.genai.load_prompt(f"prompts:/{name}/2").tags["lang"] == "en"

    assert name in [p.name for p in mlflow.genai.search_prompts(filter_string=f"name = '{name}'")]
    # Prompts stay out of plain registered-model search unless the filter asks for them.
    assert name not in [m.name for m in client.search_registered_models(filter_string=f"name = '{name}'")]


def test_prompt_versions_only_take_placeholder_sources(api, client):
    name = unique("prompt").replace("-", "_")
    mlflow.genai.register_prompt(name=name, template="x")
    tags = [{"key": "mlflow.prompt.is_prompt", "value": "true"}, {"key": "mlflow.prompt.text", "value": "y"}]
    r = api.post("model-versions/create", json={"name": name, "source": "file:///etc/passwd", "tags": tags})
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    r = api.post("model-versions/create", json={"name": name, "source": "dummy-source", "tags": tags})
    assert r.status_code == 200, r.text
    assert r.json()["model_version"]["version"] == "2"


def test_loading_a_missing_prompt_fails_cleanly():
    with pytest.raises(MlflowException):
        mlflow.genai.load_prompt(f"prompts:/{unique('missing').replace('-', '_')}/1")


def test_prompt_client_round_trip(client: MlflowClient):
    name = unique("prompt").replace("-", "_")
    client.register_prompt(name=name, template="Answer: {{q}}")
    prompt = client.load_prompt(f"prompts:/{name}/1")
    assert prompt.template == "Answer: {{q}}"
    assert prompt.format(q="42") == "Answer: 42"

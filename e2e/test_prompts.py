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


def test_chat_prompt_with_response_format_and_model_config():
    name = unique("chat").replace("-", "_")
    messages = [
        {"role": "system", "content": "You answer in {{style}}."},
        {"role": "user", "content": "{{question}}"},
    ]
    mlflow.genai.register_prompt(
        name=name,
        template=messages,
        response_format={"type": "object", "properties": {"answer": {"type": "string"}}},
        model_config={"model_name": "gpt-4o-mini", "temperature": 0.2},
    )
    prompt = mlflow.genai.load_prompt(f"prompts:/{name}/1")
    assert not prompt.is_text_prompt
    assert prompt.format(style="haiku", question="Why?") == [
        {"role": "system", "content": "You answer in haiku."},
        {"role": "user", "content": "Why?"},
    ]
    assert prompt.response_format["properties"]["answer"]["type"] == "string"
    assert prompt.model_config["temperature"] == 0.2

    mlflow.genai.set_prompt_model_config(name, 1, {"model_name": "gpt-4o", "max_tokens": 64})
    assert mlflow.genai.load_prompt(f"prompts:/{name}/1").model_config == {"model_name": "gpt-4o", "max_tokens": 64}
    mlflow.genai.delete_prompt_model_config(name, 1)
    assert not mlflow.genai.load_prompt(f"prompts:/{name}/1").model_config


def test_prompt_and_version_tags_and_alias_removal():
    name = unique("tags").replace("-", "_")
    mlflow.genai.register_prompt(name=name, template="v1 {{x}}", tags={"team": "search"})
    mlflow.genai.register_prompt(name=name, template="v2 {{x}}")

    mlflow.genai.set_prompt_tag(name, "owner", "ann")
    tags = mlflow.genai.get_prompt_tags(name)
    assert tags["owner"] == "ann"
    mlflow.genai.delete_prompt_tag(name, "owner")
    assert "owner" not in mlflow.genai.get_prompt_tags(name)

    mlflow.genai.set_prompt_version_tag(name, 1, "reviewed", "yes")
    assert mlflow.genai.load_prompt(f"prompts:/{name}/1").tags["reviewed"] == "yes"
    assert mlflow.genai.load_prompt(f"prompts:/{name}/1").tags["team"] == "search"
    mlflow.genai.delete_prompt_version_tag(name, 1, "reviewed")
    assert "reviewed" not in mlflow.genai.load_prompt(f"prompts:/{name}/1").tags

    # `@latest` is the newest version; a removed alias no longer resolves.
    assert mlflow.genai.load_prompt(f"prompts:/{name}@latest").template == "v2 {{x}}"
    mlflow.genai.set_prompt_alias(name, alias="staging", version=1)
    assert mlflow.genai.load_prompt(f"prompts:/{name}@staging").version == 1
    mlflow.genai.delete_prompt_alias(name, alias="staging")
    with pytest.raises(MlflowException):
        mlflow.genai.load_prompt(f"prompts:/{name}@staging")


def test_loading_a_prompt_in_a_run_links_it_to_the_run(client: MlflowClient):
    name = unique("linked").replace("-", "_")
    mlflow.genai.register_prompt(name=name, template="Summarize {{text}}")
    mlflow.genai.register_prompt(name=name, template="Summarize briefly {{text}}")
    mlflow.set_experiment(unique("prompt-runs"))
    with mlflow.start_run() as run:
        mlflow.genai.load_prompt(f"prompts:/{name}/1")
        mlflow.genai.load_prompt(f"prompts:/{name}/2")
        mlflow.genai.load_prompt(f"prompts:/{name}/1")  # already linked: stored once
    import json

    linked = json.loads(client.get_run(run.info.run_id).data.tags["mlflow.linkedPrompts"])
    assert sorted((p["name"], str(p["version"])) for p in linked) == [(name, "1"), (name, "2")]


def test_search_prompts_filters_and_pages(client: MlflowClient):
    prefix = unique("pg").replace("-", "_")
    names = [f"{prefix}_{i}" for i in range(5)]
    for n in names:
        mlflow.genai.register_prompt(name=n, template="t", tags={"kind": "odd" if n[-1] in "13" else "even"})
    found = mlflow.genai.search_prompts(filter_string=f"name LIKE '{prefix}_%'")
    assert sorted(p.name for p in found) == names
    page = client.search_prompts(filter_string=f"name LIKE '{prefix}_%'", max_results=2)
    assert len(page) == 2 and page.token
    rest = client.search_prompts(filter_string=f"name LIKE '{prefix}_%'", max_results=10, page_token=page.token)
    assert sorted(p.name for p in list(page) + list(rest)) == names
    odd = mlflow.genai.search_prompts(filter_string=f"name LIKE '{prefix}_%' AND tags.kind = 'odd'")
    assert sorted(p.name for p in odd) == [names[1], names[3]]


def test_deleting_prompt_versions_then_the_prompt(client: MlflowClient):
    name = unique("gone").replace("-", "_")
    mlflow.genai.register_prompt(name=name, template="one")
    mlflow.genai.register_prompt(name=name, template="two")
    client.delete_prompt_version(name, 2)
    with pytest.raises(MlflowException):
        mlflow.genai.load_prompt(f"prompts:/{name}/2")
    assert mlflow.genai.load_prompt(f"prompts:/{name}@latest").template == "one"
    client.delete_prompt_version(name, 1)
    client.delete_prompt(name)
    assert name not in [p.name for p in mlflow.genai.search_prompts(filter_string=f"name = '{name}'")]

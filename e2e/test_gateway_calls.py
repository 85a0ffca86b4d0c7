"""The AI gateway's calls (issue 17): OpenAI-format chat through any endpoint
(`/gateway/mlflow/v1/chat/completions`), the endpoint list (`/gateway/mlflow/v1/models`), an
endpoint's `/mlflow/invocations` (chat and embeddings) and the passthroughs in OpenAI's and
Anthropic's own formats — driven by the official OpenAI and Anthropic SDKs and by plain HTTP,
against a mock provider the tests start (it records exactly what the gateway sent upstream).
Fallbacks and traffic splits, the reference's error shapes, timing headers, streams relayed as
they arrive (and dropped upstream when the caller goes away), and the operator's upstream rules
checked again when a call is made."""

import json
import time

import anthropic
import openai
import pytest
import requests
from mlflow import MlflowClient

import serverctl
from gateway_support import ADMIN, API, LOCAL_UPSTREAMS, PROVIDER_KEY, make_endpoint, secured_server
from gateway_support import app, mock, token  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(serverctl.IS_REFERENCE, reason="the reference's gateway runs only with its "
                                "FastAPI app and MLFLOW_ENABLE_AI_GATEWAY; these tests drive Keel's")


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    """A Keel server that may call the loopback mock (plain HTTP, private address)."""
    srv = secured_server(tmp_path_factory.mktemp("gateway-calls") / "data", LOCAL_UPSTREAMS).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def chat_ep(gw, mock):
    return make_endpoint(gw.url, f"{mock.url}/v1", [("gpt-4o-mini", "PRIMARY", 1.0, None)])


@pytest.fixture(scope="module")
def sdk(gw, token):
    return openai.OpenAI(base_url=f"{gw.url}/gateway/mlflow/v1", api_key=token, max_retries=0)


def test_unified_chat_answers_as_the_reference_and_sends_only_what_the_provider_needs(gw, mock, chat_ep, app):
    resp = app.post(f"{gw.url}/gateway/mlflow/v1/chat/completions", timeout=60,
                         headers={"User-Agent": "test-client/1.0", "X-Custom": "foo"},
                         json={"model": chat_ep, "temperature": 0.2, "max_tokens": 50,
                               "messages": [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Hi"}]})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "id": "chatcmpl-mock", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "echo: Hi", "tool_calls": None, "refusal": None}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
        "provider": "openai"}
    assert int(resp.headers["x-mlflow-gateway-duration-ms"]) >= 0
    assert 0 <= int(resp.headers["x-mlflow-gateway-overhead-duration-ms"]) <= int(resp.headers["x-mlflow-gateway-duration-ms"])
    sent = mock.last()
    assert sent["path"] == "/v1/chat/completions"
    assert sent["body"] == {"model": "gpt-4o-mini", "n": 1, "max_tokens": 50, "temperature": 0.2,
                            "messages": [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Hi"}]}
    assert sent["headers"]["authorization"] == f"Bearer {PROVIDER_KEY}"
    assert "x-custom" not in sent["headers"], "unified routes forward no client headers"


def test_the_openai_sdk_chats_streams_calls_tools_and_lists_models(gw, mock, sdk, chat_ep):
    answer = sdk.chat.completions.create(model=chat_ep, messages=[{"role": "user", "content": "ping"}])
    assert answer.choices[0].message.content == "echo: ping"
    assert answer.usage.total_tokens == 17

    chunks = list(sdk.chat.completions.create(model=chat_ep, stream=True,
                                              messages=[{"role": "user", "content": "ping"}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello world"
    usage = [c.usage for c in chunks if c.usage]
    assert len(usage) == 1 and usage[0].total_tokens == 11, "the stream's usage is asked for and relayed"
    assert mock.last()["body"]["stream_options"] == {"include_usage": True}

    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
    called = sdk.chat.completions.create(model=chat_ep, messages=[{"role": "user", "content": "Weather?"}],
                                         tools=tools, tool_choice="required",
                                         response_format={"type": "json_object"})
    call = called.choices[0].message.tool_calls[0]
    assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", {"city": "Paris"})
    assert called.choices[0].finish_reason == "tool_calls"
    sent = mock.last()["body"]
    assert sent["tools"] == tools and sent["tool_choice"] == "required"
    assert sent["response_format"] == {"type": "json_object"}

    listed = {m.id: m for m in sdk.models.list()}
    assert listed[chat_ep].owned_by == "mlflow"


def test_invocations_serve_chat_and_embeddings_and_passthroughs_keep_the_providers_format(gw, mock, chat_ep, app, token):
    chat = app.post(f"{gw.url}/gateway/{chat_ep}/mlflow/invocations", timeout=60,
                         json={"messages": [{"role": "user", "content": "x"}]})
    assert chat.status_code == 200 and chat.json()["choices"][0]["message"]["content"] == "echo: x"
    emb = app.post(f"{gw.url}/gateway/{chat_ep}/mlflow/invocations", json={"input": ["hello", "world"]}, timeout=60)
    assert emb.status_code == 200, emb.text
    assert emb.json() == {"object": "list", "model": "gpt-4o-mini",
                          "data": [{"object": "embedding", "embedding": [0.1, 0.2, 0.3], "index": 0},
                                   {"object": "embedding", "embedding": [0.1, 0.2, 0.3], "index": 1}],
                          "usage": {"prompt_tokens": 4, "total_tokens": 4}}
    assert mock.last()["body"] == {"model": "gpt-4o-mini", "input": ["hello", "world"]}

    passthrough = openai.OpenAI(base_url=f"{gw.url}/gateway/openai/v1", api_key=token, max_retries=0,
                                default_headers={"X-Custom": "foo"})
    raw = passthrough.chat.completions.create(model=chat_ep, messages=[{"role": "user", "content": "raw"}])
    assert raw.system_fingerprint == "fp-mock", "a passthrough answer is the provider's, verbatim"
    sent = mock.last()
    assert sent["headers"]["x-custom"] == "foo", "passthroughs forward the caller's own headers"
    assert sent["headers"]["authorization"] == f"Bearer {PROVIDER_KEY}", "but never its credentials"
    vectors = passthrough.embeddings.create(model=chat_ep, input="hello")
    assert vectors.data[0].embedding == [0.1, 0.2, 0.3]
    streamed = app.post(f"{gw.url}/gateway/openai/v1/chat/completions", stream=True, timeout=60,
                             json={"model": chat_ep, "stream": True, "messages": [{"role": "user", "content": "s"}]})
    body = streamed.content.decode()
    assert streamed.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert body.endswith("data: [DONE]\n\n"), "a passthrough stream is relayed as sent"
    responses = passthrough.responses.create(model=chat_ep, input="hi")
    assert responses.output_text == "hi"


def test_the_anthropic_sdk_reaches_an_anthropic_endpoint(gw, mock, app, token):
    name = make_endpoint(gw.url, f"{mock.url}/v1", [("claude-3-5-haiku", "PRIMARY", 1.0, None)], provider="anthropic")
    client = anthropic.Anthropic(base_url=f"{gw.url}/gateway/anthropic", api_key=token, max_retries=0)
    msg = client.messages.create(model=name, max_tokens=10, messages=[{"role": "user", "content": "Hi"}])
    assert msg.content[0].text == "Hello from Claude mock"
    sent = mock.last()
    assert sent["path"] == "/v1/messages"
    assert sent["body"]["model"] == "claude-3-5-haiku"
    assert sent["headers"]["x-api-key"] == PROVIDER_KEY and sent["headers"]["anthropic-version"] == "2023-06-01"
    with client.messages.stream(model=name, max_tokens=10, messages=[{"role": "user", "content": "Hi"}]) as stream:
        assert "".join(stream.text_stream) == "Hello"
    # The unified route translates both ways: OpenAI's format in and out, Anthropic's upstream.
    sdk = openai.OpenAI(base_url=f"{gw.url}/gateway/mlflow/v1", api_key=token, max_retries=0)
    chat = sdk.chat.completions.create(model=name, temperature=1.0,
                                       messages=[{"role": "system", "content": "Be brief"},
                                                 {"role": "user", "content": "Hi"}])
    assert chat.choices[0].message.content == "Hello from Claude mock"
    assert chat.model_extra["provider"] == "anthropic"
    assert (chat.usage.prompt_tokens, chat.usage.completion_tokens) == (10, 6)
    assert mock.last()["body"] == {"model": "claude-3-5-haiku", "max_tokens": 8192, "system": "Be brief",
                                   "temperature": 0.5, "messages": [{"role": "user", "content": "Hi"}]}
    chunks = list(sdk.chat.completions.create(model=name, stream=True, messages=[{"role": "user", "content": "Hi"}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello"
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].usage.total_tokens == 13
    embeddings = app.post(f"{gw.url}/gateway/{name}/mlflow/invocations", json={"input": "x"}, timeout=60)
    assert embeddings.status_code == 501
    assert embeddings.json() == {"detail": "The embeddings route is not implemented for Anthropic models."}


def test_fallbacks_go_in_order_and_report_the_last_error(gw, mock, app):
    name = make_endpoint(gw.url, f"{mock.url}/v1",
                         [("fail500", "PRIMARY", 1.0, None), ("fail429", "FALLBACK", 1.0, 0),
                          ("gpt-4o-mini", "FALLBACK", 1.0, 1)],
                         fallback_config={"strategy": "SEQUENTIAL", "max_attempts": 2})
    before = mock.count()
    resp = app.post(f"{gw.url}/gateway/mlflow/v1/chat/completions", timeout=60,
                         json={"model": name, "messages": [{"role": "user", "content": "Hi"}]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["provider"] == "openai" and resp.json()["model"] == "gpt-4o-mini"
    assert mock.models_called(before) == ["fail500", "fail429", "gpt-4o-mini"]

    short = make_endpoint(gw.url, f"{mock.url}/v1",
                          [("fail500", "PRIMARY", 1.0, None), ("fail429", "FALLBACK", 1.0, 0),
                           ("gpt-4o-mini", "FALLBACK", 1.0, 1)],
                          fallback_config={"strategy": "SEQUENTIAL", "max_attempts": 1})
    failed = app.post(f"{gw.url}/gateway/mlflow/v1/chat/completions", timeout=60,
                           json={"model": short, "messages": [{"role": "user", "content": "Hi"}]})
    assert failed.status_code == 429
    assert failed.json() == {"detail": "All 2 fallback attempts failed. Last error: 429: rate limited upstream"}


def test_a_traffic_split_sends_calls_to_every_weighted_model(gw, mock, app):
    name = make_endpoint(gw.url, f"{mock.url}/v1", [("gpt-4o-mini", "PRIMARY", 0.5, None),
                                                     ("gpt-4o", "PRIMARY", 0.5, None)],
                         routing_strategy="REQUEST_BASED_TRAFFIC_SPLIT")
    before = mock.count()
    for _ in range(40):
        assert app.post(f"{gw.url}/gateway/{name}/mlflow/invocations", timeout=60,
                             json={"messages": [{"role": "user", "content": "x"}]}).status_code == 200
    called = mock.models_called(before)
    assert 5 <= called.count("gpt-4o") <= 35 and called.count("gpt-4o") + called.count("gpt-4o-mini") == 40


@pytest.mark.parametrize("path, body, status, detail", [
    ("/gateway/mlflow/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}]}, 400,
     "Missing required 'model' parameter in request body"),
    ("/gateway/mlflow/v1/chat/completions", {"model": "nope", "messages": [{"role": "user", "content": "x"}]}, 404,
     {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "GatewayEndpoint not found (name='nope')"}),
    ("/gateway/mlflow/v1/chat/completions", {"model": "{ep}", "messages": []}, 400,
     "Invalid chat payload: 'messages' must hold at least one message"),
    ("/gateway/mlflow/v1/chat/completions", {"model": "{ep}", "messages": [{"role": "user"}], "temperature": 9}, 400,
     "Invalid chat payload: 'temperature' must be a number from 0 to 2"),
    ("/gateway/mlflow/v1/chat/completions", {"model": "{ep}", "messages": [{"role": "user"}],
                                             "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": 3}}},
     400, "Invalid chat payload: 'response_format.json_schema' must have a 'name' and a 'schema' object"),
    ("/gateway/{ep}/mlflow/invocations", {"prompt": "x"}, 400,
     "Invalid request: payload format must be either chat or embeddings"),
    ("/gateway/{ep}/mlflow/invocations", {"model": "x", "messages": [{"role": "user", "content": "x"}]}, 422,
     "The parameter 'model' is not permitted to be passed. The route being queried already defines a model instance."),
    ("/gateway/{ep}/mlflow/invocations", {"input": []}, 400,
     "Invalid embeddings payload: 'input' must be a string, a non-empty list of strings, or token IDs"),
])
def test_bad_calls_get_clear_errors_in_the_references_shapes(gw, chat_ep, app, path, body, status, detail):
    body = json.loads(json.dumps(body).replace("{ep}", chat_ep))
    resp = app.post(f"{gw.url}{path.replace('{ep}', chat_ep)}", json=body, timeout=60)
    assert resp.status_code == status, resp.text
    assert resp.json() == {"detail": detail}
    assert "x-mlflow-gateway-duration-ms" in resp.headers
    assert "x-mlflow-gateway-overhead-duration-ms" not in resp.headers, "no provider was called"


def test_malformed_and_oversized_bodies_and_upstream_failures_are_never_a_500(gw, mock, app):
    base = f"{gw.url}/gateway/mlflow/v1/chat/completions"
    bad_json = app.post(base, data=b"{not json", headers={"Content-Type": "application/json"}, timeout=60)
    assert bad_json.status_code == 400 and bad_json.json()["detail"].startswith("Invalid JSON payload:")
    not_object = app.post(base, json=[1, 2], timeout=60)
    assert not_object.status_code == 400
    huge = app.post(base, data=b'{"model": "' + b"x" * (17 * 1024 * 1024) + b'"}', timeout=120)
    assert huge.status_code == 413
    plain = make_endpoint(gw.url, f"{mock.url}/v1", [("plain503", "PRIMARY", 1.0, None)])
    resp = app.post(base, json={"model": plain, "messages": [{"role": "user", "content": "x"}]}, timeout=60)
    assert resp.status_code == 503 and resp.json() == {"detail": {"message": "plain failure"}}
    dead = make_endpoint(gw.url, "http://127.0.0.1:9/v1", [("gpt-4o-mini", "PRIMARY", 1.0, None)])
    resp = app.post(base, json={"model": dead, "messages": [{"role": "user", "content": "x"}]}, timeout=60)
    assert resp.status_code == 502 and resp.json()["detail"].startswith("Gateway upstream request failed")
    streamed = app.post(base, json={"model": plain, "stream": True,
                                         "messages": [{"role": "user", "content": "x"}]}, timeout=60)
    assert streamed.status_code == 503, "a stream that fails before its first byte is an error, not a 200"


def test_a_caller_that_goes_away_mid_stream_closes_the_upstream_stream(gw, mock, app):
    name = make_endpoint(gw.url, f"{mock.url}/v1", [("slow-stream", "PRIMARY", 1.0, None)])
    before = mock.disconnects
    resp = app.post(f"{gw.url}/gateway/mlflow/v1/chat/completions", stream=True, timeout=60,
                         json={"model": name, "stream": True, "messages": [{"role": "user", "content": "x"}]})
    lines = resp.iter_lines()
    first = next(line for line in lines if line)
    assert first.startswith(b"data: ")
    resp.close()
    deadline = time.time() + 15
    while mock.disconnects == before and time.time() < deadline:
        time.sleep(0.1)
    assert mock.disconnects > before, "the upstream stream was dropped with the caller"
    # The server carries on.
    assert app.get(f"{gw.url}/gateway/mlflow/v1/models", timeout=30).status_code == 200


def test_calls_need_a_keel_identity_and_configuration_stays_with_administrators(gw, chat_ep, token):
    url = f"{gw.url}/gateway/mlflow/v1/chat/completions"
    body = {"model": chat_ep, "messages": [{"role": "user", "content": "x"}]}
    anonymous = requests.post(url, json=body, timeout=30)
    assert anonymous.status_code == 401
    assert "x-mlflow-gateway-duration-ms" in anonymous.headers
    assert requests.post(url, json=body, headers={"Authorization": "Bearer keel_forged"}, timeout=30).status_code == 401
    # Anthropic-style SDKs send their key as x-api-key: a Keel token works there too.
    assert requests.post(url, json=body, headers={"x-api-key": token}, timeout=30).status_code == 200
    assert requests.post(url, json=body, headers={"x-api-key": "keel_forged"}, timeout=30).status_code == 401
    listed = requests.get(f"{gw.url}/gateway/mlflow/v1/models", headers={"x-api-key": token}, timeout=30)
    assert listed.status_code == 401, "x-api-key is read by the call routes only"
    config = requests.get(f"{gw.url}{API}/secrets/list", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert config.status_code == 403, "only administrators see the gateway's configuration"


def test_the_upstream_rules_are_checked_again_when_a_call_is_made(gw, mock, tmp_path_factory):
    """A secret saved while private upstreams were allowed cannot be called once they are not."""
    data = tmp_path_factory.mktemp("gateway-rules") / "data"
    permissive = secured_server(data, LOCAL_UPSTREAMS).start()
    try:
        name = make_endpoint(permissive.url, f"{mock.url}/v1", [("gpt-4o-mini", "PRIMARY", 1.0, None)])
        host_name = make_endpoint(permissive.url, mock.url.replace("127.0.0.1", "localhost") + "/v1",
                                  [("gpt-4o-mini", "PRIMARY", 1.0, None)])
    finally:
        permissive.stop()
    http_only = secured_server(data, ["--gateway-allow-http-upstreams"]).start()
    try:
        before = mock.count()
        for endpoint in (name, host_name):
            resp = requests.post(f"{http_only.url}/gateway/mlflow/v1/chat/completions", timeout=60, auth=ADMIN,
                                 json={"model": endpoint, "messages": [{"role": "user", "content": "x"}]})
            assert resp.status_code == 502, resp.text
            assert resp.json()["detail"].startswith("Gateway upstream connection blocked:")
        assert mock.count() == before, "nothing reached the private upstream"
    finally:
        http_only.stop()
    strict = secured_server(data, []).start()
    try:
        resp = requests.post(f"{strict.url}/gateway/mlflow/v1/chat/completions", timeout=60, auth=ADMIN,
                             json={"model": name, "messages": [{"role": "user", "content": "x"}]})
        assert resp.status_code == 502 and "scheme 'http' is not allowed" in resp.json()["detail"]
    finally:
        strict.stop()


def test_a_configuration_change_is_seen_by_the_next_call(gw, mock, app):
    name = make_endpoint(gw.url, f"{mock.url}/v1", [("gpt-4o-mini", "PRIMARY", 1.0, None)])
    url = f"{gw.url}/gateway/mlflow/v1/chat/completions"
    body = {"model": name, "messages": [{"role": "user", "content": "x"}]}
    assert app.post(url, json=body, timeout=60).status_code == 200
    ep = requests.get(f"{gw.url}{API}/endpoints/get", params={"name": name}, auth=ADMIN, timeout=30).json()["endpoint"]
    assert requests.delete(f"{gw.url}{API}/endpoints/delete", json={"endpoint_id": ep["endpoint_id"]},
                           auth=ADMIN, timeout=30).status_code == 200
    gone = app.post(url, json=body, timeout=60)
    assert gone.status_code == 404, "a deleted endpoint is not served from a cache"


def test_every_call_is_in_the_audit_log_with_its_caller_and_outcome(gw, chat_ep, app, token):
    url = f"{gw.url}/gateway/{chat_ep}/mlflow/invocations"
    assert app.post(url, json={"messages": [{"role": "user", "content": "x"}]}, timeout=60).status_code == 200
    assert app.post(url, json={"messages": []}, timeout=60).status_code == 400
    found = requests.get(f"{gw.url}/api/3.0/keel/audit/search", auth=ADMIN, timeout=30,
                         params={"resource_id": chat_ep, "action": "gateway.invoke", "max_results": 100})
    assert found.status_code == 200, found.text
    entries = [e["entry"] for e in found.json()["entries"]]
    assert {e["outcome"] for e in entries} >= {"success", "failure"}, entries
    assert all(e["actor"]["name"].startswith("app-") for e in entries)
    assert all(e["request"]["body_sha256"] for e in entries), "the body's digest is on record"


def test_calls_are_traced_in_the_endpoints_experiment_with_usage_and_cost(gw, mock, app, monkeypatch):
    name = make_endpoint(gw.url, f"{mock.url}/v1", [("fail500", "PRIMARY", 1.0, None),
                                                     ("gpt-4o-mini", "FALLBACK", 1.0, 0)],
                         fallback_config={"strategy": "SEQUENTIAL", "max_attempts": 1})
    url = f"{gw.url}/gateway/mlflow/v1/chat/completions"
    messages = [{"role": "user", "content": "Hi"}]
    assert app.post(url, json={"model": name, "messages": messages}, timeout=60,
                    headers={"User-Agent": "test-client/1.0"}).status_code == 200
    streamed = app.post(url, json={"model": name, "messages": messages, "stream": True}, timeout=60,
                        headers={"X-MLflow-Gateway-Caller": "batch-job"})
    assert streamed.status_code == 200 and streamed.text.count("data: ") == 5

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN[0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN[1])
    client = MlflowClient(tracking_uri=gw.url)
    experiment = client.get_experiment_by_name(f"gateway/{name}")
    deadline = time.time() + 30
    traces = []
    while time.time() < deadline:
        traces = client.search_traces(locations=[experiment.experiment_id])
        if len(traces) == 2:
            break
        time.sleep(0.2)
    assert len(traces) == 2, "each call is traced (off the request's path, so shortly after)"
    by_caller = {t.info.trace_metadata["mlflow.gateway.caller"]: t for t in traces}
    whole, stream = by_caller["test-client"], by_caller["batch-job"]

    meta = whole.info.trace_metadata
    assert meta["mlflow.gateway.requestType"] == "unified/chat"
    assert meta["mlflow.gateway.endpointId"].startswith("e-")
    assert meta["mlflow.auth.username"].startswith("app-")
    assert json.loads(meta["mlflow.trace.tokenUsage"]) == {"input_tokens": 12, "output_tokens": 5, "total_tokens": 17}
    assert json.loads(meta["mlflow.trace.cost"]) == {"input_cost": 1.8e-06, "output_cost": 3e-06, "total_cost": 4.8e-06}
    assert whole.info.tags["mlflow.traceName"] == f"gateway/{name}"
    assert whole.info.state.value == "OK"
    spans = {s.name: s for s in whole.data.spans}
    assert set(spans) == {f"gateway/{name}", "provider/openai/fail500", "provider/openai/gpt-4o-mini"}
    assert spans["provider/openai/fail500"].status.status_code.value == "ERROR"
    served = spans["provider/openai/gpt-4o-mini"]
    assert served.span_type == "LLM" and served.parent_id == spans[f"gateway/{name}"].span_id
    assert served.attributes["mlflow.llm.cost"]["total_cost"] == 4.8e-06
    assert spans[f"gateway/{name}"].outputs["choices"][0]["message"]["content"] == "echo: Hi"

    stream_spans = {s.name: s for s in stream.data.spans}
    streamed_model = stream_spans["provider/openai/gpt-4o-mini"]
    assert streamed_model.attributes["streaming"] is True
    assert streamed_model.attributes["mlflow.chat.tokenUsage"]["total_tokens"] == 11, "a stream's usage is counted"
    assert stream_spans[f"gateway/{name}"].outputs["choices"][0]["message"]["content"] == "Hello world"


def test_a_failing_model_is_skipped_for_a_while_after_five_failures_in_a_row(gw, mock, app):
    url = f"{gw.url}/gateway/mlflow/v1/chat/completions"
    body = {"messages": [{"role": "user", "content": "x"}]}
    name = make_endpoint(gw.url, f"{mock.url}/v1", [("fail500-breaker", "PRIMARY", 1.0, None),
                                                     ("gpt-4o-mini", "FALLBACK", 1.0, 0)],
                         fallback_config={"strategy": "SEQUENTIAL", "max_attempts": 1})
    before = mock.count()
    for _ in range(7):
        assert app.post(url, json={"model": name, **body}, timeout=60).status_code == 200
    called = mock.models_called(before)
    assert called.count("fail500-breaker") == 5, "the circuit opened after five failures in a row"
    assert called.count("gpt-4o-mini") == 7, "the fallback served every call"

    alone = make_endpoint(gw.url, f"{mock.url}/v1", [("fail500-alone", "PRIMARY", 1.0, None)])
    for _ in range(5):
        failed = app.post(url, json={"model": alone, **body}, timeout=60)
        assert failed.status_code == 500 and failed.json() == {"detail": "upstream exploded"}
    before = mock.count()
    skipped = app.post(url, json={"model": alone, **body}, timeout=60)
    assert skipped.status_code == 503
    assert skipped.json()["detail"].startswith("Model 'fail500-alone' of provider 'openai' is failing and is skipped")
    assert mock.count() == before, "an open circuit sends nothing upstream"


def test_responses_compaction_is_passed_through_and_never_streamed(gw, mock, chat_ep, app):
    url = f"{gw.url}/gateway/openai/v1/responses/compact"
    done = app.post(url, json={"model": chat_ep, "input": "long history"}, timeout=60)
    assert done.status_code == 200, done.text
    assert done.json()["object"] == "response.compaction"
    assert mock.last()["path"] == "/v1/responses/compact"
    assert mock.last()["body"] == {"model": "gpt-4o-mini", "input": "long history"}
    before = mock.count()
    streamed = app.post(url, json={"model": "never-resolved", "input": "x", "stream": True}, timeout=60)
    assert streamed.status_code == 400
    assert streamed.json() == {"detail": "stream=true is not supported on /responses/compact; compaction is a "
                                         "unary request."}
    assert mock.count() == before


@pytest.fixture(scope="module")
def gemini_ep(gw, mock):
    return make_endpoint(gw.url, f"{mock.url}/v1beta/models", [("gemini-2.0-flash", "PRIMARY", 1.0, None)],
                         provider="gemini")


def test_gemini_serves_the_unified_chat_translated_both_ways(gw, mock, sdk, gemini_ep):
    answer = sdk.chat.completions.create(model=gemini_ep, max_tokens=40, temperature=0.3,
                                         messages=[{"role": "system", "content": "Be brief"},
                                                   {"role": "user", "content": "ping"}])
    assert answer.choices[0].message.content == "echo: ping"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens, answer.usage.total_tokens) == (8, 4, 12)
    assert answer.model == "gemini-2.0-flash" and answer.model_extra["provider"] == "gemini"
    sent = mock.last()
    assert sent["path"] == "/v1beta/models/gemini-2.0-flash:generateContent"
    assert sent["headers"]["x-goog-api-key"] == PROVIDER_KEY and "authorization" not in sent["headers"]
    assert sent["body"] == {"contents": [{"role": "user", "parts": [{"text": "ping"}]}],
                            "system_instruction": {"parts": [{"text": "Be brief"}]},
                            "generationConfig": {"temperature": 0.3, "candidateCount": 1, "maxOutputTokens": 40}}

    chunks = list(sdk.chat.completions.create(model=gemini_ep, stream=True,
                                              messages=[{"role": "user", "content": "ping"}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello world"
    assert [c.usage.total_tokens for c in chunks if c.usage] == [12]
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert mock.last()["path"] == "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"

    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
    called = sdk.chat.completions.create(model=gemini_ep, messages=[{"role": "user", "content": "Weather?"}],
                                         tools=tools, tool_choice="required")
    call = called.choices[0].message.tool_calls[0]
    assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", {"city": "Paris"})
    assert called.choices[0].finish_reason == "tool_calls" and call.id.startswith("call_")
    sent = mock.last()["body"]
    assert sent["tools"] == [{"functionDeclarations": [{"name": "get_weather", "description": "Weather",
                                                        "parametersJsonSchema": tools[0]["function"]["parameters"]}]}]
    assert sent["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}


def test_gemini_embeds_one_text_or_a_batch(gw, mock, app, gemini_ep):
    one = app.post(f"{gw.url}/gateway/{gemini_ep}/mlflow/invocations", json={"input": "hello"}, timeout=60)
    assert one.status_code == 200, one.text
    assert one.json()["data"] == [{"object": "embedding", "embedding": [0.1, 0.2], "index": 0}]
    assert mock.last()["path"].endswith(":embedContent")
    many = app.post(f"{gw.url}/gateway/{gemini_ep}/mlflow/invocations", json={"input": ["a", "b"]}, timeout=60)
    assert [d["index"] for d in many.json()["data"]] == [0, 1]
    sent = mock.last()
    assert sent["path"].endswith(":batchEmbedContents")
    assert sent["body"]["requests"][1] == {"model": "models/gemini-2.0-flash", "content": {"parts": [{"text": "b"}]}}


def test_gemini_passthroughs_keep_geminis_format(gw, mock, app, gemini_ep, chat_ep):
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "generationConfig": {"topK": 3}}
    url = f"{gw.url}/gateway/gemini/v1beta/models"
    whole = app.post(f"{url}/{gemini_ep}:generateContent", json=body, timeout=60)
    assert whole.status_code == 200, whole.text
    assert whole.json()["candidates"][0]["content"]["parts"] == [{"text": "echo: hi"}]
    assert whole.json()["modelVersion"] == "gemini-2.0-flash", "the provider's answer, verbatim"
    sent = mock.last()
    assert sent["body"] == body and sent["path"] == "/v1beta/models/gemini-2.0-flash:generateContent"
    assert sent["headers"]["x-goog-api-key"] == PROVIDER_KEY

    streamed = app.post(f"{url}/{gemini_ep}:streamGenerateContent", json=body, timeout=60)
    assert streamed.status_code == 200 and streamed.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(line[6:]) for line in streamed.text.splitlines() if line.startswith("data: ")]
    assert events[-1]["usageMetadata"]["totalTokenCount"] == 12, "relayed byte for byte"

    unknown = app.post(f"{url}/{gemini_ep}:countTokens", json=body, timeout=60)
    assert unknown.status_code == 404 and "generateContent" in unknown.json()["detail"]
    wrong = app.post(f"{url}/{chat_ep}:generateContent", json=body, timeout=60)
    assert wrong.status_code == 400
    assert wrong.json()["detail"].startswith("Unsupported passthrough endpoint "
                                             "'/gemini/v1beta/models/{endpoint_name}:generateContent'")
    missing = app.post(f"{url}/nope:generateContent", json=body, timeout=60)
    assert missing.status_code == 404


def test_a_traceparent_links_the_callers_trace_to_the_calls(gw, mock, app, monkeypatch):
    name = make_endpoint(gw.url, f"{mock.url}/v1", [("gpt-4o-mini", "PRIMARY", 1.0, None)], usage_tracking=True)
    url = f"{gw.url}/gateway/mlflow/v1/chat/completions"
    body = {"model": name, "messages": [{"role": "user", "content": "Hi"}]}
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert app.post(url, json=body, headers={"traceparent": parent}, timeout=60).status_code == 200
    # A malformed header is ignored, never an error.
    assert app.post(url, json=body, headers={"traceparent": "00-zz-yy-01"}, timeout=60).status_code == 200
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN[0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN[1])
    client = MlflowClient(tracking_uri=gw.url)
    experiment = client.get_experiment_by_name(f"gateway/{name}")
    deadline = time.time() + 30
    traces = []
    while time.time() < deadline and len(traces) < 2:
        traces = client.search_traces(locations=[experiment.experiment_id])
        time.sleep(0.2)
    linked = {t.info.trace_metadata.get("keel.gateway.callerTraceId") for t in traces}
    assert linked == {None, "tr-4bf92f3577b34da6a3ce929d0e0e4736"}
    span_ids = {t.info.trace_metadata.get("keel.gateway.callerSpanId") for t in traces}
    assert span_ids == {None, "00f067aa0ba902b7"}


def test_an_endpoint_tagged_with_a_ttl_answers_repeated_calls_from_its_cache(gw, mock, app, monkeypatch):
    name = make_endpoint(gw.url, f"{mock.url}/v1", [("gpt-4o-mini", "PRIMARY", 1.0, None)], usage_tracking=True)
    endpoint_id = requests.get(f"{gw.url}{API}/endpoints/get", params={"name": name}, auth=ADMIN,
                               timeout=30).json()["endpoint"]["endpoint_id"]
    tagged = requests.post(f"{gw.url}{API}/endpoints/set-tag", auth=ADMIN, timeout=30,
                           json={"endpoint_id": endpoint_id, "key": "keel.cache.ttl_seconds", "value": "2"})
    assert tagged.status_code == 200, tagged.text
    url = f"{gw.url}/gateway/mlflow/v1/chat/completions"
    body = {"model": name, "temperature": 0, "messages": [{"role": "user", "content": "cache me"}]}
    before = mock.count()
    first = app.post(url, json=body, timeout=60)
    # The same call with its keys in another order is the same call.
    again = app.post(url, data=json.dumps({"messages": body["messages"], "temperature": 0, "model": name}),
                     headers={"Content-Type": "application/json"}, timeout=60)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert mock.count() - before == 1, "the second answer came from the cache"
    assert "x-mlflow-gateway-overhead-duration-ms" not in again.headers, "no provider was called"
    other = app.post(url, json={**body, "temperature": 1}, timeout=60)
    assert other.status_code == 200 and mock.count() - before == 2, "another body is another call"
    streamed = app.post(url, json={**body, "stream": True}, timeout=60)
    assert streamed.status_code == 200 and mock.count() - before == 3, "streams are never cached"
    time.sleep(2.2)
    assert app.post(url, json=body, timeout=60).status_code == 200
    assert mock.count() - before == 4, "the answer expired with the endpoint's TTL"

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN[0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN[1])
    client = MlflowClient(tracking_uri=gw.url)
    experiment = client.get_experiment_by_name(f"gateway/{name}")
    deadline = time.time() + 30
    traces = []
    while time.time() < deadline and len(traces) < 5:
        traces = client.search_traces(locations=[experiment.experiment_id])
        time.sleep(0.2)
    hits = [t for t in traces if t.info.trace_metadata.get("keel.gateway.cacheHit") == "true"]
    assert len(hits) == 1
    assert "mlflow.trace.cost" not in hits[0].info.trace_metadata, "a hit costs nothing"


def test_the_usage_ledger_sums_calls_tokens_and_cost_per_endpoint_model_user_and_day(gw, mock, app):
    served = make_endpoint(gw.url, f"{mock.url}/v1", [("gpt-4o-mini", "PRIMARY", 1.0, None)])
    failing = make_endpoint(gw.url, f"{mock.url}/v1", [("fail500", "PRIMARY", 1.0, None)])
    url = f"{gw.url}/gateway/mlflow/v1/chat/completions"
    for _ in range(2):
        assert app.post(url, json={"model": served, "messages": [{"role": "user", "content": "Hi"}]},
                        timeout=60).status_code == 200
    streamed = app.post(url, json={"model": served, "stream": True, "messages": [{"role": "user", "content": "Hi"}]},
                        timeout=60)
    assert streamed.status_code == 200 and streamed.text
    assert app.post(url, json={"model": failing, "messages": [{"role": "user", "content": "Hi"}]},
                    timeout=60).status_code == 500
    ids = {name: requests.get(f"{gw.url}{API}/endpoints/get", params={"name": name}, auth=ADMIN,
                              timeout=30).json()["endpoint"]["endpoint_id"] for name in (served, failing)}

    def usage(**params):
        resp = requests.get(f"{gw.url}/api/3.0/keel/gateway/usage", params=params, auth=ADMIN, timeout=30)
        assert resp.status_code == 200, resp.text
        return resp.json()

    deadline = time.time() + 30
    while True:
        rows = {r["endpoint_name"]: r for r in usage(group_by="endpoint,model")["rows"]
                if r["endpoint_id"] in ids.values()}
        if (rows.get(served, {}).get("calls") == 3 and failing in rows) or time.time() > deadline:
            break
        time.sleep(0.3)
    mine = rows[served]
    assert (mine["provider"], mine["model"], mine["calls"], mine["failures"]) == ("openai", "gpt-4o-mini", 3, 0)
    # Two whole answers of 12 + 5 tokens and one stream of 9 + 2.
    assert (mine["input_tokens"], mine["output_tokens"]) == (2 * 12 + 9, 2 * 5 + 2)
    assert mine["cost_usd"] == pytest.approx((33 * 0.15 + 12 * 0.6) / 1e6)
    failed = rows[failing]
    assert (failed["calls"], failed["failures"], failed["cost_usd"]) == (1, 1, 0)
    assert "model" not in failed or failed["model"] == "", "no model served it"

    by_user = usage(group_by="user,day", endpoint_id=ids[served])
    assert [(r["calls"], len(r["day"])) for r in by_user["rows"]] == [(3, 10)]
    assert by_user["rows"][0]["username"].startswith("app-"), "the service account that called"
    bad = requests.get(f"{gw.url}/api/3.0/keel/gateway/usage", params={"group_by": "week"}, auth=ADMIN, timeout=30)
    assert bad.status_code == 400 and "Invalid group_by 'week'" in bad.json()["message"]
    long = requests.get(f"{gw.url}/api/3.0/keel/gateway/usage", auth=ADMIN, timeout=30,
                        params={"start_day": "2020-01-01", "end_day": "2026-01-01"})
    assert long.status_code == 400, "at most 366 days per query"
    forbidden = app.get(f"{gw.url}/api/3.0/keel/gateway/usage", timeout=30)
    assert forbidden.status_code == 403, "usage is for workspace administrators"


def test_a_models_own_time_limit_fails_it_over_quickly(gw, mock, app):
    name = make_endpoint(gw.url, f"{mock.url}/v1", [("slow", "PRIMARY", 1.0, None),
                                                    ("gpt-4o-mini", "FALLBACK", 1.0, 0)],
                         fallback_config={"strategy": "SEQUENTIAL", "max_attempts": 1})
    endpoint_id = requests.get(f"{gw.url}{API}/endpoints/get", params={"name": name}, auth=ADMIN,
                               timeout=30).json()["endpoint"]["endpoint_id"]
    tagged = requests.post(f"{gw.url}{API}/endpoints/set-tag", auth=ADMIN, timeout=30,
                           json={"endpoint_id": endpoint_id, "key": "keel.timeout_seconds.slow", "value": "0.5"})
    assert tagged.status_code == 200, tagged.text
    url = f"{gw.url}/gateway/mlflow/v1/chat/completions"
    started = time.monotonic()
    resp = app.post(url, json={"model": name, "messages": [{"role": "user", "content": "Hi"}]}, timeout=60)
    assert resp.status_code == 200, resp.text
    assert resp.json()["model"] == "gpt-4o-mini", "the slow model ran out of time and the fallback answered"
    assert time.monotonic() - started < 4, "well before the slow model's 5 s"
    # Alone, the slow model's limit is the call's: a 504 in the reference's words.
    alone = make_endpoint(gw.url, f"{mock.url}/v1", [("slow", "PRIMARY", 1.0, None)])
    alone_id = requests.get(f"{gw.url}{API}/endpoints/get", params={"name": alone}, auth=ADMIN,
                            timeout=30).json()["endpoint"]["endpoint_id"]
    requests.post(f"{gw.url}{API}/endpoints/set-tag", auth=ADMIN, timeout=30,
                  json={"endpoint_id": alone_id, "key": "keel.timeout_seconds", "value": "0.5"})
    resp = app.post(url, json={"model": alone, "messages": [{"role": "user", "content": "Hi"}]}, timeout=60)
    assert resp.status_code == 504
    assert resp.json() == {"detail": "The upstream did not answer in time."}

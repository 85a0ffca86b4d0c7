"""The AI gateway's guardrails (issue 17): the reference's `gateway/guardrails/*` routes (their
errors shared with the reference server, which can only make scorer-backed guardrails) and
Keel's built-in detectors run on calls — personal data, secrets, blocked terms, a cap on output
tokens and a JSON schema — before the model is called and on its answer, to block (the
reference's 400 `Guardrail '<name>' blocked: ...`) or to redact, in the endpoint's order, on
streamed answers too (held back so that nothing found is ever sent), fail closed, audited and
traced; and how the routes hold up to abuse."""

import json
import time

import openai
import pytest
import requests
from mlflow import MlflowClient

import serverctl
from gateway_support import ADMIN, API, LOCAL_UPSTREAMS, make_endpoint, secured_server
from gateway_support import app, mock, token  # noqa: F401 (fixtures)

GUARDRAILS = "/api/3.0/mlflow/gateway/guardrails"
keel_only = pytest.mark.skipif(serverctl.IS_REFERENCE, reason="Keel's built-in guardrail detectors")


def call(base_url, method, action, body=None, params=None, auth=None):
    return requests.request(method, f"{base_url}{GUARDRAILS}/{action}", json=body, params=params, auth=auth,
                            timeout=60)


# The errors every server answers alike.

@pytest.mark.parametrize("body, message", [
    ({}, "Missing value for required parameter 'name'. See the API docs for more information about request "
         "parameters."),
    ({"name": "g"}, "Missing value for required parameter 'scorer_id'. See the API docs for more information "
                    "about request parameters."),
    ({"name": "g", "scorer_id": "nope"}, "Missing value for required parameter 'scorer_version'. See the API docs "
                                         "for more information about request parameters."),
])
def test_missing_fields_are_named_as_on_the_reference(base_url, body, message):
    resp = call(base_url, "POST", "create", body)
    assert resp.status_code == 400, resp.text
    assert (resp.json()["error_code"], resp.json()["message"]) == ("INVALID_PARAMETER_VALUE", message)


def test_an_unknown_scorer_guardrail_or_config_is_not_found_as_on_the_reference(base_url):
    resp = call(base_url, "POST", "create", {"name": "g", "scorer_id": "nope", "scorer_version": 1,
                                             "stage": "BEFORE", "action": "VALIDATION"})
    assert resp.status_code == 404, resp.text
    assert (resp.json()["error_code"], resp.json()["message"]) == ("RESOURCE_DOES_NOT_EXIST",
                                                                   "Scorer with ID 'nope' not found.")
    for method, action, args in [("GET", "get", {"guardrail_id": "gr-nope"}),
                                 ("DELETE", "delete", {"guardrail_id": "gr-nope"})]:
        resp = call(base_url, method, action, params=args if method == "GET" else None,
                    body=args if method != "GET" else None)
        assert resp.status_code == 404, resp.text
        assert resp.json()["message"] == "Guardrail not found (guardrail_id='gr-nope')"
    resp = call(base_url, "DELETE", "remove-from-endpoint", {"endpoint_id": "e-nope", "guardrail_id": "gr-nope"})
    assert resp.status_code == 404
    assert resp.json()["message"] == ("GuardrailConfig not found (endpoint_id='e-nope', "
                                      "guardrail_id='gr-nope')")
    resp = call(base_url, "PATCH", "update-config", {"endpoint_id": "e-nope", "guardrail_id": "gr-nope",
                                                     "execution_order": 1})
    assert resp.status_code == 404
    for method, action, args in [("POST", "add-to-endpoint", {"endpoint_id": "e-nope", "guardrail_id": "gr-x"}),
                                 ("GET", "list-for-endpoint", {"endpoint_id": "e-nope"})]:
        resp = call(base_url, method, action, params=args if method == "GET" else None,
                    body=args if method != "GET" else None)
        assert resp.status_code == 404, resp.text
        assert resp.json()["message"] == "Endpoint not found (endpoint_id='e-nope')"
    assert call(base_url, "GET", "list", params={"max_results": 50001}).status_code == 400


# Keel's guardrails on calls.


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    if serverctl.IS_REFERENCE:
        pytest.skip("Keel's gateway calls")
    srv = secured_server(tmp_path_factory.mktemp("guardrails") / "data", LOCAL_UPSTREAMS).start()
    yield srv
    srv.stop()


def admin(gw, method, action, body=None, params=None):
    resp = call(gw.url, method, action, body=body, params=params, auth=ADMIN)
    assert resp.status_code == 200, resp.text
    return resp.json()


def guardrail(gw, name, stage, action, detector):
    return admin(gw, "POST", "create", {"name": name, "stage": stage, "action": action,
                                        "detector": detector})["guardrail"]


def endpoint_with(gw, mock, *guardrails, model="gpt-4o-mini", **settings):
    name = make_endpoint(gw.url, f"{mock.url}/v1", [(model, "PRIMARY", 1.0, None)], **settings)
    endpoint_id = requests.get(f"{gw.url}{API}/endpoints/get", params={"name": name}, auth=ADMIN,
                               timeout=30).json()["endpoint"]["endpoint_id"]
    for order, g in enumerate(guardrails):
        admin(gw, "POST", "add-to-endpoint", {"endpoint_id": endpoint_id, "guardrail_id": g["guardrail_id"],
                                              "execution_order": order})
    return name, endpoint_id


def chat(gw, app, endpoint, text, **extra):
    return app.post(f"{gw.url}/gateway/mlflow/v1/chat/completions", timeout=60,
                    json={"model": endpoint, "messages": [{"role": "user", "content": text}], **extra})


PII = {"type": "pii"}
EMAIL = "carol.jones@example.org"


@keel_only
def test_a_guardrail_is_created_listed_added_ordered_and_removed(gw, mock):
    g = guardrail(gw, "no-emails", "BEFORE", "SANITIZATION", {"type": "pii", "entities": ["EMAIL"]})
    assert g["guardrail_id"].startswith("gr-") and len(g["guardrail_id"]) == 35
    assert {k: g[k] for k in ("name", "stage", "action", "detector", "created_by", "last_updated_by")} == {
        "name": "no-emails", "stage": "BEFORE", "action": "SANITIZATION",
        "detector": {"type": "pii", "entities": ["EMAIL"]}, "created_by": "admin", "last_updated_by": "admin"}
    assert admin(gw, "GET", "get", params={"guardrail_id": g["guardrail_id"]}) == {"guardrail": g}
    by_number = guardrail(gw, "no-keys", 1, 1, {"type": "secrets"})
    assert (by_number["stage"], by_number["action"]) == ("BEFORE", "VALIDATION")
    listed = [x["guardrail_id"] for x in admin(gw, "GET", "list")["guardrails"]]
    assert {g["guardrail_id"], by_number["guardrail_id"]} <= set(listed) and listed == sorted(listed)

    _, endpoint_id = endpoint_with(gw, mock)
    added = admin(gw, "POST", "add-to-endpoint", {"endpoint_id": endpoint_id, "guardrail_id": g["guardrail_id"]})
    assert added["config"]["guardrail"] == g and "execution_order" not in added["config"]
    admin(gw, "POST", "add-to-endpoint", {"endpoint_id": endpoint_id, "guardrail_id": by_number["guardrail_id"],
                                          "execution_order": 5})
    again = call(gw.url, "POST", "add-to-endpoint", {"endpoint_id": endpoint_id, "guardrail_id": g["guardrail_id"]},
                 auth=ADMIN)
    assert again.status_code == 400 and again.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
    assert again.json()["message"] == f"Guardrail '{g['guardrail_id']}' is already added to endpoint '{endpoint_id}'"
    order = lambda: [(c["guardrail_id"], c.get("execution_order")) for c in  # noqa: E731
                     admin(gw, "GET", "list-for-endpoint", params={"endpoint_id": endpoint_id}).get("configs", [])]
    assert order() == [(by_number["guardrail_id"], 5), (g["guardrail_id"], None)], "unset order runs last"
    updated = call(gw.url, "PATCH", "update-config", {"endpoint_id": endpoint_id, "guardrail_id": g["guardrail_id"],
                                                      "execution_order": 1}, auth=ADMIN)
    assert updated.status_code == 200 and updated.json()["config"]["execution_order"] == 1
    assert order() == [(g["guardrail_id"], 1), (by_number["guardrail_id"], 5)]
    assert admin(gw, "DELETE", "remove-from-endpoint", {"endpoint_id": endpoint_id,
                                                        "guardrail_id": by_number["guardrail_id"]}) == {}
    assert admin(gw, "DELETE", "delete", {"guardrail_id": g["guardrail_id"]}) == {}
    assert order() == [], "a deleted guardrail leaves its endpoints"


@keel_only
def test_a_request_guardrail_blocks_before_any_model_is_called_audited_and_traced(gw, mock, app, token,
                                                                                  monkeypatch):
    g = guardrail(gw, "no-pii", "BEFORE", "VALIDATION", PII)
    name, _ = endpoint_with(gw, mock, g)
    before = mock.count()
    resp = chat(gw, app, name, f"mail me at {EMAIL}")
    assert resp.status_code == 400, resp.text
    assert resp.json() == {"detail": "Guardrail 'no-pii' blocked: The request contains an email address."}
    passthrough = app.post(f"{gw.url}/gateway/openai/v1/chat/completions", timeout=60,
                           json={"model": name, "messages": [{"role": "user", "content": "card 4111 1111 1111 1111"}]})
    assert passthrough.status_code == 400
    assert passthrough.json()["detail"] == "Guardrail 'no-pii' blocked: The request contains a payment card number."
    sdk = openai.OpenAI(base_url=f"{gw.url}/gateway/mlflow/v1", api_key=token, max_retries=0)
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.chat.completions.create(model=name, messages=[{"role": "user", "content": "IBAN DE89370400440532013000"}])
    assert refused.value.response.json()["detail"] == "Guardrail 'no-pii' blocked: The request contains an IBAN."
    assert mock.count() == before, "no model was called"
    assert chat(gw, app, name, "nothing personal here").status_code == 200

    entries = requests.get(f"{gw.url}/api/3.0/keel/audit/search", auth=ADMIN, timeout=30,
                           params={"action": "gateway.invoke", "max_results": 50}).json()["entries"]
    details = [e["entry"].get("detail") or {} for e in entries]
    assert {"decision": "rejected", "endpoint": name, "guardrail": "no-pii"} in details

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN[0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN[1])
    client = MlflowClient(tracking_uri=gw.url)
    experiment = client.get_experiment_by_name(f"gateway/{name}")
    deadline, traces = time.time() + 30, []
    while time.time() < deadline and len(traces) < 4:
        traces = client.search_traces(locations=[experiment.experiment_id])
        time.sleep(0.2)
    assert len(traces) == 4
    blocked = [t for t in traces if t.info.state.value == "ERROR"]
    assert len(blocked) == 3
    spans = {s.name: s for s in blocked[0].data.spans}
    assert spans["guardrail/no-pii"].span_type == "GUARDRAIL"
    assert spans["guardrail/no-pii"].outputs["passed"] is False
    assert not any(s.name.startswith("provider/") for s in blocked[0].data.spans)
    assert EMAIL not in json.dumps([s.to_dict() for t in blocked for s in t.data.spans]), \
        "a blocked request is not kept in its trace"


@keel_only
def test_sanitizers_redact_requests_and_answers_in_order(gw, mock, app):
    redact = guardrail(gw, "redact-pii", "BEFORE", "SANITIZATION", PII)
    block = guardrail(gw, "block-pii", "BEFORE", "VALIDATION", PII)
    name, endpoint_id = endpoint_with(gw, mock, redact, block)
    resp = chat(gw, app, name, f"I am {EMAIL}, card 4111-1111-1111-1111")
    assert resp.status_code == 200, "redacted first, the validation that follows finds nothing"
    sent = mock.last()["body"]["messages"][0]["content"]
    assert sent == "I am [REDACTED:EMAIL], card [REDACTED:CARD_NUMBER]"
    assert resp.json()["choices"][0]["message"]["content"] == f"echo: {sent}"
    # Swapped: the validation runs first and blocks.
    admin(gw, "PATCH", "update-config", {"endpoint_id": endpoint_id, "guardrail_id": block["guardrail_id"],
                                         "execution_order": -1})
    assert chat(gw, app, name, f"I am {EMAIL}").status_code == 400

    secrets = guardrail(gw, "scrub-keys", "AFTER", "SANITIZATION", {"type": "secrets"})
    name, _ = endpoint_with(gw, mock, secrets)
    key = "sk-proj-" + "a1B2c3D4" * 4
    resp = chat(gw, app, name, f"my key is {key}")
    assert resp.status_code == 200
    assert mock.last()["body"]["messages"][0]["content"] == f"my key is {key}", "requests are not checked"
    assert resp.json()["choices"][0]["message"]["content"] == "echo: my key is [REDACTED:OPENAI_API_KEY]"


@keel_only
def test_streamed_answers_are_checked_as_they_flow(gw, mock, app):
    scrub = guardrail(gw, "scrub-stream", "AFTER", "SANITIZATION", PII)
    name, _ = endpoint_with(gw, mock, scrub, model="echo-stream")
    text = f"reach {EMAIL} or +1 415 555 0132 soon"
    resp = chat(gw, app, name, text, stream=True)
    assert resp.status_code == 200
    events = [json.loads(line[6:]) for line in resp.text.splitlines() if line.startswith("data: {")]
    pieces = [e["choices"][0]["delta"].get("content") or "" for e in events if e.get("choices")]
    assert "".join(pieces) == "echo: reach [REDACTED:EMAIL] or [REDACTED:PHONE] soon"
    assert "carol" not in resp.text and "0132" not in resp.text, "nothing found is ever sent"
    # The OpenAI passthrough's stream is checked too, and ends as OpenAI's do.
    raw = app.post(f"{gw.url}/gateway/openai/v1/chat/completions", timeout=60, json={
        "model": name, "stream": True, "messages": [{"role": "user", "content": text}]})
    assert raw.status_code == 200 and "carol" not in raw.text and raw.text.rstrip().endswith("data: [DONE]")

    # What a stream cannot be checked in is refused before any model is called.
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    for extra, words in [({"tools": tools}, "without tools"), ({"n": 2}, "n = 1")]:
        resp = chat(gw, app, name, "hi", stream=True, **extra)
        assert resp.status_code == 400 and words in resp.json()["detail"], resp.text

    block = guardrail(gw, "stop-terms", "AFTER", "VALIDATION", {"type": "blocked_terms", "terms": ["launch codes"]})
    name, _ = endpoint_with(gw, mock, block, model="echo-stream")
    resp = chat(gw, app, name, "the launch codes are 0000", stream=True)
    assert resp.status_code == 200, "the status line went out before the answer"
    last = json.loads([line for line in resp.text.splitlines() if line.startswith("data: ")][-1][6:])
    assert last == {"error": {"message": "Guardrail 'stop-terms' blocked: The answer contains a blocked term.",
                              "type": "GuardrailViolation"}}
    assert "launch" not in resp.text.replace("Guardrail 'stop-terms'", "")


@keel_only
def test_token_caps_and_json_schemas(gw, mock, app):
    cap = guardrail(gw, "cap", "BEFORE", "SANITIZATION", {"type": "max_tokens", "max_output_tokens": 64})
    name, _ = endpoint_with(gw, mock, cap)
    assert chat(gw, app, name, "hi", max_tokens=4000).status_code == 200
    assert mock.last()["body"]["max_tokens"] == 64
    assert chat(gw, app, name, "hi").status_code == 200
    assert mock.last()["body"]["max_tokens"] == 64, "a cap is added when none is asked"
    strict = guardrail(gw, "strict-cap", "BEFORE", "VALIDATION", {"type": "max_tokens", "max_output_tokens": 64})
    name, _ = endpoint_with(gw, mock, strict)
    resp = chat(gw, app, name, "hi", max_tokens=65)
    assert resp.status_code == 400
    assert resp.json()["detail"] == ("Guardrail 'strict-cap' blocked: The request asks for up to 65 output tokens; "
                                     "at most 64 are allowed.")

    schema = guardrail(gw, "json-out", "AFTER", "VALIDATION",
                       {"type": "json_schema", "schema": {"type": "object", "required": ["answer"]}})
    name, _ = endpoint_with(gw, mock, schema)
    resp = chat(gw, app, name, "hi")
    assert resp.status_code == 400
    assert resp.json()["detail"] == "Guardrail 'json-out' blocked: The answer is not JSON."
    resp = chat(gw, app, name, '{"other": 1}')
    assert resp.status_code == 400, "the mock echoes 'echo: ...', never JSON"


@keel_only
def test_guardrail_routes_hold_up_to_abuse(gw, mock, app, token):
    body = {"name": "g", "stage": "BEFORE", "action": "VALIDATION", "detector": PII}
    assert call(gw.url, "POST", "create", body).status_code == 401, "unauthenticated"
    as_app = requests.post(f"{gw.url}{GUARDRAILS}/create", json=body, timeout=30,
                           headers={"Authorization": f"Bearer {token}"})
    assert as_app.status_code == 403, "an ordinary identity cannot configure the gateway"
    for detector, message in [
        ({"type": "regex", "pattern": ".*"}, "Invalid detector: Unknown detector type 'regex'"),
        ({"type": "pii", "entities": ["SSN"]}, "Invalid detector: Unknown PII entity 'SSN'"),
        ({"type": "blocked_terms", "terms": ["x"] * 1001}, "Invalid detector: detector.terms has more than 1000"),
        ({"type": "blocked_terms", "terms": ["y" * 129]}, "Invalid detector: A blocked term is longer than 128"),
        ({"type": "json_schema", "schema": {"$ref": "http://169.254.169.254/latest"}},
         "Invalid detector: detector.schema is not a valid JSON schema"),
        ({"type": "json_schema", "schema": {"type": "object", "pad": "x" * 70_000}},
         "Invalid detector: detector.schema is larger than 65536 bytes"),
        ("pii", "Invalid detector: detector must be an object"),
    ]:
        resp = call(gw.url, "POST", "create", {**body, "detector": detector}, auth=ADMIN)
        assert resp.status_code == 400, resp.text
        assert resp.json()["message"].startswith(message), resp.json()["message"]
    for extra, message in [
        ({"stage": "DURING"}, "Invalid stage: DURING"),
        ({"action": 9}, "Invalid action: 9"),
        ({"stage": "AFTER", "detector": {"type": "max_tokens", "max_output_tokens": 5}},
         "A max_tokens detector checks requests: its stage must be BEFORE."),
        ({"action": "SANITIZATION", "stage": "AFTER", "detector": {"type": "json_schema", "schema": {}}},
         "A json_schema detector can only block: its action must be VALIDATION."),
        ({"action_endpoint_id": "e-x"}, "action_endpoint_id names the endpoint"),
        ({"name": "n" * 256}, "A guardrail's name must be at most 255 characters."),
    ]:
        resp = call(gw.url, "POST", "create", {**body, **extra}, auth=ADMIN)
        assert resp.status_code == 400, resp.text
        assert resp.json()["message"].startswith(message), resp.json()["message"]
    malformed = requests.post(f"{gw.url}{GUARDRAILS}/create", data=b"{not json", auth=ADMIN, timeout=30,
                              headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400

    g = guardrail(gw, "limit", "BEFORE", "VALIDATION", PII)
    _, endpoint_id = endpoint_with(gw, mock)
    resp = call(gw.url, "POST", "add-to-endpoint", {"endpoint_id": endpoint_id, "guardrail_id": g["guardrail_id"],
                                                    "execution_order": 2**31}, auth=ADMIN)
    assert resp.status_code == 400 and "32-bit" in resp.json()["message"]
    for i in range(20):
        extra = guardrail(gw, f"many-{i}", "BEFORE", "VALIDATION", PII)
        admin(gw, "POST", "add-to-endpoint", {"endpoint_id": endpoint_id, "guardrail_id": extra["guardrail_id"]})
    resp = call(gw.url, "POST", "add-to-endpoint", {"endpoint_id": endpoint_id, "guardrail_id": g["guardrail_id"]},
                auth=ADMIN)
    assert resp.status_code == 400 and "20 guardrails" in resp.json()["message"]

    # A stream whose format Keel cannot check as it flows is refused, not sent unchecked.
    after = guardrail(gw, "after", "AFTER", "VALIDATION", PII)
    name = make_endpoint(gw.url, f"{mock.url}/v1", [("claude-mock", "PRIMARY", 1.0, None)], provider="anthropic")
    endpoint_id = requests.get(f"{gw.url}{API}/endpoints/get", params={"name": name}, auth=ADMIN,
                               timeout=30).json()["endpoint"]["endpoint_id"]
    admin(gw, "POST", "add-to-endpoint", {"endpoint_id": endpoint_id, "guardrail_id": after["guardrail_id"]})
    resp = app.post(f"{gw.url}/gateway/anthropic/v1/messages", timeout=60, json={
        "model": name, "max_tokens": 10, "stream": True, "messages": [{"role": "user", "content": "hi"}]})
    assert resp.status_code == 400
    assert "checks in streamed chat completions only" in resp.json()["detail"]
    whole = app.post(f"{gw.url}/gateway/anthropic/v1/messages", timeout=60, json={
        "model": name, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]})
    assert whole.status_code == 200, "whole answers in any format are checked"

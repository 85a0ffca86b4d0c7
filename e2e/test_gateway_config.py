"""The AI gateway's configuration (issue 17): provider secrets
(`/api/3.0/mlflow/gateway/secrets/*`), model definitions (`.../model-definitions/*`) and
endpoints (`.../endpoints/*`) as the reference serves them — values shown only masked, the
reference's validation messages and not-found errors, update and delete semantics,
definitions outliving their secret, endpoints' mappings, fallbacks, tags and experiments. The shared tests run unchanged against Keel and
the reference server; the last ones are Keel's own (values sealed at rest, local upstreams only
when the operator allows them)."""

import uuid
from pathlib import Path

import pytest
import requests

import serverctl

SECRETS = "/api/3.0/mlflow/gateway/secrets"
PLAINTEXT = "sk-e2e-1234567890abcd-plaintext"


def call(base_url, method, action, body=None, params=None):
    return requests.request(method, f"{base_url}{SECRETS}/{action}", json=body, params=params, timeout=60)


def create(base_url, name, **extra):
    body = {"secret_name": name, "secret_value": {"api_key": PLAINTEXT}, "provider": "openai",
            "auth_config": {"api_base": "https://8.8.8.8/v1"}, "created_by": "alice", **extra}
    return call(base_url, "POST", "create", body)


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_a_secret_is_shown_masked_and_updated_as_on_the_reference(base_url):
    resp = create(base_url, unique("openai"))
    assert resp.status_code == 200, resp.text
    secret = resp.json()["secret"]
    assert secret["secret_id"].startswith("s-") and len(secret["secret_id"]) == 34
    assert secret["masked_values"] == {"api_key": "sk-...text"}
    assert secret["auth_config"] == {"api_base": "https://8.8.8.8/v1"}
    assert (secret["created_by"], secret["last_updated_by"], secret["provider"]) == ("alice", "alice", "openai")
    assert PLAINTEXT not in resp.text
    got = call(base_url, "GET", "get", params={"secret_id": secret["secret_id"]})
    assert got.status_code == 200 and got.json()["secret"] == secret
    listed = call(base_url, "GET", "list", params={"provider": "openai"}).json()["secrets"]
    assert secret["secret_id"] in [s["secret_id"] for s in listed]

    updated = call(base_url, "POST", "update", {"secret_id": secret["secret_id"],
                                                 "secret_value": {"api_key": "sk-rotated-99998888"},
                                                 "updated_by": "bob"})
    assert updated.status_code == 200, updated.text
    after = updated.json()["secret"]
    assert after["masked_values"] == {"api_key": "sk-...8888"}
    assert (after["created_by"], after["last_updated_by"]) == ("alice", "bob")
    assert after["auth_config"] == secret["auth_config"]
    # Without `updated_by`, the last updater is cleared (as the reference does).
    cleared = call(base_url, "POST", "update", {"secret_id": secret["secret_id"],
                                                 "auth_config": {"api_base": "https://1.1.1.1/v1"}}).json()["secret"]
    assert "last_updated_by" not in cleared and cleared["auth_config"] == {"api_base": "https://1.1.1.1/v1"}

    assert call(base_url, "DELETE", "delete", {"secret_id": secret["secret_id"]}).status_code == 200
    gone = call(base_url, "GET", "get", params={"secret_id": secret["secret_id"]})
    assert gone.status_code == 404
    assert gone.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert gone.json()["message"] == f"GatewaySecret not found (secret_id='{secret['secret_id']}')"


@pytest.mark.parametrize("body, message", [
    ({"secret_value": {"api_key": "x"}}, "Missing value for required parameter 'secret_name'."),
    ({"secret_name": "n", "auth_config": {"model_list": "x", "base_url": "y"}},
     "auth_config must not contain 'base_url', 'model_list': these LiteLLM options choose where the gateway "
     "sends requests. Set the upstream with 'api_base', which is validated."),
    ({"secret_name": "n", "secret_value": {"base_url": "x"}},
     "secret_value must not contain 'base_url': these keys choose where the gateway sends requests. Set the "
     "upstream with 'api_base' in auth_config, where it is validated."),
    ({"secret_name": "n", "auth_config": {"api_base": "https://u:p@example.com"}},
     "Gateway secret api_base must not include embedded credentials: 'https://u:p@example.com'"),
    ({"secret_name": "n", "auth_config": {"api_base": "https://127.1/v1"}},
     "Gateway secret api_base host '127.1' is not a canonical IP address literal."),
])
def test_bad_secrets_are_refused_in_the_references_words(base_url, body, message):
    resp = call(base_url, "POST", "create", body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert resp.json()["message"].startswith(message)


def test_names_are_unique_and_unknown_ids_are_not_found(base_url):
    name = unique("dup")
    assert create(base_url, name).status_code == 200
    again = create(base_url, name)
    assert again.status_code == 400
    assert again.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
    assert again.json()["message"] == f"Secret with name '{name}' already exists"
    for method, action, kw in (("GET", "get", {"params": {"secret_id": "s-nope"}}),
                               ("POST", "update", {"body": {"secret_id": "s-nope"}}),
                               ("DELETE", "delete", {"body": {"secret_id": "s-nope"}})):
        resp = call(base_url, method, action, **kw)
        assert resp.status_code == 404, (action, resp.text)
        assert resp.json()["message"] == "GatewaySecret not found (secret_id='s-nope')"
    missing = call(base_url, "GET", "get")
    assert missing.status_code == 400
    assert missing.json()["message"].startswith("Missing value for required parameter 'secret_id'.")


DEFINITIONS = "/api/3.0/mlflow/gateway/model-definitions"


def definitions(base_url, method, action, body=None, params=None):
    return requests.request(method, f"{base_url}{DEFINITIONS}/{action}", json=body, params=params, timeout=60)


def test_model_definitions_name_a_secrets_model_and_outlive_the_secret(base_url):
    secret = create(base_url, unique("def-key")).json()["secret"]
    name = unique("mini")
    resp = definitions(base_url, "POST", "create", {"name": name, "secret_id": secret["secret_id"],
                                                     "provider": "openai", "model_name": "gpt-4o-mini",
                                                     "created_by": "alice"})
    assert resp.status_code == 200, resp.text
    d = resp.json()["model_definition"]
    assert d["model_definition_id"].startswith("d-") and len(d["model_definition_id"]) == 34
    assert (d["name"], d["secret_id"], d["secret_name"]) == (name, secret["secret_id"], secret["secret_name"])
    assert (d["provider"], d["model_name"], d["created_by"], d["last_updated_by"]) == (
        "openai", "gpt-4o-mini", "alice", "alice")
    got = definitions(base_url, "GET", "get", params={"model_definition_id": d["model_definition_id"]})
    assert got.status_code == 200 and got.json()["model_definition"] == d
    listed = definitions(base_url, "GET", "list", params={"secret_id": secret["secret_id"]}).json()
    assert [x["model_definition_id"] for x in listed["model_definitions"]] == [d["model_definition_id"]]

    # An update without an author keeps the last one; an unknown secret is refused.
    updated = definitions(base_url, "POST", "update", {"model_definition_id": d["model_definition_id"],
                                                        "model_name": "gpt-4o"}).json()["model_definition"]
    assert (updated["model_name"], updated["last_updated_by"]) == ("gpt-4o", "alice")
    bad = definitions(base_url, "POST", "update", {"model_definition_id": d["model_definition_id"],
                                                    "secret_id": "s-nope"})
    assert bad.status_code == 404 and bad.json()["message"] == "GatewaySecret not found (secret_id='s-nope')"
    clash = definitions(base_url, "POST", "create", {"name": name, "secret_id": secret["secret_id"],
                                                      "provider": "openai", "model_name": "x"})
    assert clash.status_code == 400 and clash.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
    assert clash.json()["message"] == f"Model definition with name '{name}' already exists"

    # Deleting the secret leaves the definition without one.
    assert call(base_url, "DELETE", "delete", {"secret_id": secret["secret_id"]}).status_code == 200
    orphan = definitions(base_url, "GET", "get", params={"model_definition_id": d["model_definition_id"]}).json()
    assert "secret_id" not in orphan["model_definition"] and "secret_name" not in orphan["model_definition"]
    assert definitions(base_url, "DELETE", "delete", {"model_definition_id": d["model_definition_id"]}).status_code == 200
    gone = definitions(base_url, "GET", "get", params={"model_definition_id": d["model_definition_id"]})
    assert gone.status_code == 404
    assert gone.json()["message"] == (
        f"GatewayModelDefinition not found (model_definition_id='{d['model_definition_id']}')")


@pytest.mark.parametrize("missing", ["name", "secret_id", "provider", "model_name"])
def test_a_model_definition_needs_every_field(base_url, missing):
    body = {"name": unique("d"), "secret_id": "s-x", "provider": "openai", "model_name": "m"}
    del body[missing]
    resp = definitions(base_url, "POST", "create", body)
    assert resp.status_code == 400
    assert resp.json()["message"].startswith(f"Missing value for required parameter '{missing}'.")


def test_a_model_definition_of_an_unknown_secret_is_not_found(base_url):
    resp = definitions(base_url, "POST", "create", {"name": unique("d"), "secret_id": "s-nope",
                                                     "provider": "openai", "model_name": "m"})
    assert resp.status_code == 404
    assert resp.json()["message"] == "GatewaySecret not found (secret_id='s-nope')"


ENDPOINTS = "/api/3.0/mlflow/gateway/endpoints"


def endpoints(base_url, method, action, body=None, params=None):
    return requests.request(method, f"{base_url}{ENDPOINTS}/{action}", json=body, params=params, timeout=60)


@pytest.fixture(scope="module")
def two_models(server):
    """A secret and two model definitions of it."""
    base_url = server.url
    secret = create(base_url, unique("ep-key")).json()["secret"]
    ids = []
    for model in ("gpt-4o-mini", "gpt-4o"):
        d = definitions(base_url, "POST", "create", {"name": unique(model), "secret_id": secret["secret_id"],
                                                      "provider": "openai", "model_name": model}).json()
        ids.append(d["model_definition"]["model_definition_id"])
    return ids


def test_an_endpoint_routes_to_its_models_and_gets_its_experiment(base_url, two_models):
    primary, fallback = two_models
    name = unique("fb-ep")
    resp = endpoints(base_url, "POST", "create", {
        "name": name, "created_by": "alice",
        "model_configs": [{"model_definition_id": primary, "linkage_type": "PRIMARY"},
                          {"model_definition_id": fallback, "linkage_type": "FALLBACK", "fallback_order": 0}],
        "fallback_config": {"strategy": "SEQUENTIAL", "max_attempts": 2}})
    assert resp.status_code == 200, resp.text
    e = resp.json()["endpoint"]
    assert e["endpoint_id"].startswith("e-") and e["name"] == name
    assert [(m["model_definition_id"], m["linkage_type"], m["weight"], m.get("fallback_order"))
            for m in e["model_mappings"]] == [(primary, "PRIMARY", 1.0, None), (fallback, "FALLBACK", 1.0, 0)]
    assert all(m["mapping_id"].startswith("m-") and m["model_definition"]["model_definition_id"]
               == m["model_definition_id"] for m in e["model_mappings"])
    assert e["fallback_config"] == {"strategy": "SEQUENTIAL", "max_attempts": 2}
    assert (e["created_by"], e["last_updated_by"], e["usage_tracking"]) == ("alice", "alice", True)
    # Usage tracking gives it the experiment `gateway/<name>`, tagged as the reference tags it.
    exp = requests.get(f"{base_url}/api/2.0/mlflow/experiments/get-by-name",
                       params={"experiment_name": f"gateway/{name}"}, timeout=30).json()["experiment"]
    assert exp["experiment_id"] == e["experiment_id"]
    tags = {t["key"]: t["value"] for t in exp["tags"]}
    assert tags == {"mlflow.experiment.sourceType": "GATEWAY", "mlflow.experiment.sourceId": e["endpoint_id"],
                    "mlflow.experiment.isGateway": "true"}

    by_id = endpoints(base_url, "GET", "get", params={"endpoint_id": e["endpoint_id"]}).json()["endpoint"]
    by_name = endpoints(base_url, "GET", "get", params={"name": name}).json()["endpoint"]
    assert by_id == by_name == e
    listed = endpoints(base_url, "GET", "list", params={"provider": "openai"}).json()["endpoints"]
    assert e["endpoint_id"] in [x["endpoint_id"] for x in listed]

    # Tags: set, overwrite, delete (a missing one too).
    for value in ("a", "b"):
        assert endpoints(base_url, "POST", "set-tag", {"endpoint_id": e["endpoint_id"], "key": "team",
                                                        "value": value}).status_code == 200
    got = endpoints(base_url, "GET", "get", params={"endpoint_id": e["endpoint_id"]}).json()["endpoint"]
    assert got["tags"] == [{"key": "team", "value": "b"}]
    for key in ("team", "never-set"):
        assert endpoints(base_url, "DELETE", "delete-tag", {"endpoint_id": e["endpoint_id"],
                                                             "key": key}).status_code == 200

    # New model configurations replace the mappings; fallback settings go with them.
    updated = endpoints(base_url, "POST", "update", {
        "endpoint_id": e["endpoint_id"], "updated_by": "bob",
        "model_configs": [{"model_definition_id": fallback, "linkage_type": "PRIMARY", "weight": 0.3},
                          {"model_definition_id": primary, "linkage_type": "PRIMARY", "weight": 0.7}],
        "routing_strategy": "REQUEST_BASED_TRAFFIC_SPLIT"}).json()["endpoint"]
    assert [(m["model_definition_id"], m["weight"]) for m in updated["model_mappings"]] == [(fallback, 0.3), (primary, 0.7)]
    assert not {m["mapping_id"] for m in updated["model_mappings"]} & {m["mapping_id"] for m in e["model_mappings"]}
    assert updated["routing_strategy"] == "REQUEST_BASED_TRAFFIC_SPLIT"
    assert updated["fallback_config"] == {}
    assert (updated["created_by"], updated["last_updated_by"]) == ("alice", "bob")
    assert "tags" not in updated

    # A model an endpoint routes to cannot be deleted.
    in_use = definitions(base_url, "DELETE", "delete", {"model_definition_id": primary})
    assert in_use.json()["error_code"] == "INVALID_STATE"
    assert in_use.json()["message"] == ("Cannot delete model definition that is currently in use by endpoints. "
                                        "Detach it from all endpoints first.")

    assert endpoints(base_url, "DELETE", "delete", {"endpoint_id": e["endpoint_id"]}).status_code == 200
    gone = endpoints(base_url, "GET", "get", params={"endpoint_id": e["endpoint_id"]})
    assert gone.status_code == 404
    assert gone.json()["message"] == f"GatewayEndpoint not found (endpoint_id='{e['endpoint_id']}')"
    by_name = endpoints(base_url, "GET", "get", params={"name": name})
    assert by_name.status_code == 404 and by_name.json()["message"] == f"GatewayEndpoint not found (name='{name}')"


def test_an_endpoint_without_usage_tracking_has_no_experiment(base_url, two_models):
    resp = endpoints(base_url, "POST", "create", {"name": unique("quiet"), "usage_tracking": False,
                                                   "model_configs": [{"model_definition_id": two_models[0],
                                                                      "linkage_type": "PRIMARY"}]})
    assert resp.status_code == 200, resp.text
    e = resp.json()["endpoint"]
    assert e["usage_tracking"] is False and "experiment_id" not in e and "fallback_config" not in e


@pytest.mark.parametrize("body, status, message", [
    ({"model_configs": []}, 400, "Missing value for required parameter 'name'."),
    ({"name": "n"}, 400, "Missing value for required parameter 'model_configs'."),
    ({"name": "bad name!", "model_configs": []}, 400,
     "Invalid endpoint name 'bad name!'. Name can only contain letters, numbers, underscores, hyphens, and dots."),
    ({"name": "n", "model_configs": [{"model_definition_id": "d-x"}]}, 400,
     "Invalid or missing value for required parameter 'linkage_type' in model_configs[0]. "
     "Must be one of: PRIMARY, FALLBACK."),
    ({"name": "n", "model_configs": []}, 400, "Endpoint must have at least one model configuration"),
    ({"name": "n", "model_configs": [{"model_definition_id": "d-nope", "linkage_type": "PRIMARY"}]}, 404,
     "Model definitions not found: d-nope"),
])
def test_bad_endpoints_are_refused_in_the_references_words(base_url, body, status, message):
    resp = endpoints(base_url, "POST", "create", body)
    assert resp.status_code == status, resp.text
    assert resp.json()["message"].startswith(message)


def test_an_endpoint_is_named_by_exactly_one_of_id_or_name(base_url, two_models):
    for params in ({}, {"endpoint_id": "e-x", "name": "x"}):
        resp = endpoints(base_url, "GET", "get", params=params)
        assert resp.status_code == 400
        assert resp.json()["message"] == "Exactly one of endpoint_id or name must be provided"
    name = unique("dup-ep")
    config = [{"model_definition_id": two_models[0], "linkage_type": "PRIMARY"}]
    assert endpoints(base_url, "POST", "create", {"name": name, "model_configs": config}).status_code == 200
    # The reference answers a taken name with its database's error text; both refuse it.
    assert endpoints(base_url, "POST", "create", {"name": name, "model_configs": config}).status_code == 400
    assert endpoints(base_url, "POST", "set-tag", {"endpoint_id": "e-nope", "key": "k", "value": "v"}).status_code == 404


keel_only = pytest.mark.skipif(serverctl.IS_REFERENCE, reason="Keel's own behaviour")


@keel_only
def test_values_are_sealed_at_rest(server, base_url):
    secret = create(base_url, unique("sealed")).json()["secret"]
    stored = b"".join(p.read_bytes() for p in Path(server.data_dir).rglob("*") if p.is_file())
    assert PLAINTEXT.encode() not in stored
    call(base_url, "DELETE", "delete", {"secret_id": secret["secret_id"]})


@keel_only
def test_local_upstreams_need_the_operators_consent(base_url, tmp_path_factory):
    local = {"secret_name": unique("local"), "auth_config": {"api_base": "http://127.0.0.1:8080/v1"}}
    refused = call(base_url, "POST", "create", local)
    assert refused.status_code == 400
    assert refused.json()["message"] == "Invalid Gateway secret api_base scheme: 'http'. Allowed schemes are: 'https'."
    srv = serverctl.ServerProcess(
        tmp_path_factory.mktemp("gateway-local") / "data",
        extra_args=["--gateway-allow-http-upstreams", "--gateway-allow-private-upstreams"],
    ).start()
    try:
        allowed = call(srv.url, "POST", "create", local)
        assert allowed.status_code == 200, allowed.text
        assert allowed.json()["secret"]["auth_config"] == {"api_base": "http://127.0.0.1:8080/v1"}
    finally:
        srv.stop()


@keel_only
def test_a_refused_endpoint_leaves_no_experiment_behind(base_url):
    name = unique("refused")
    resp = endpoints(base_url, "POST", "create", {"name": name, "model_configs": [
        {"model_definition_id": "d-nope", "linkage_type": "PRIMARY"}]})
    assert resp.status_code == 404
    found = requests.get(f"{base_url}/api/2.0/mlflow/experiments/get-by-name",
                         params={"experiment_name": f"gateway/{name}"}, timeout=30)
    assert found.status_code == 404


def test_models_are_attached_once_per_linkage_and_detached(base_url, two_models):
    primary, other = two_models
    name = unique("attach-ep")
    e = endpoints(base_url, "POST", "create", {
        "name": name, "model_configs": [{"model_definition_id": primary, "linkage_type": "PRIMARY"}]}).json()["endpoint"]
    attached = endpoints(base_url, "POST", "models/attach", {
        "endpoint_id": e["endpoint_id"], "created_by": "carol",
        "model_config": {"model_definition_id": other, "linkage_type": "PRIMARY", "weight": 0.5}})
    assert attached.status_code == 200, attached.text
    mapping = attached.json()["mapping"]
    assert mapping["mapping_id"].startswith("m-") and mapping["endpoint_id"] == e["endpoint_id"]
    assert (mapping["model_definition_id"], mapping["linkage_type"], mapping["weight"]) == (other, "PRIMARY", 0.5)
    assert mapping["model_definition"]["model_definition_id"] == other and mapping["created_by"] == "carol"
    again = endpoints(base_url, "POST", "models/attach", {
        "endpoint_id": e["endpoint_id"], "model_config": {"model_definition_id": other, "linkage_type": "PRIMARY"}})
    assert again.status_code == 400 and again.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
    assert again.json()["message"] == f"Model definition '{other}' is already attached to endpoint '{e['endpoint_id']}'"
    no_linkage = endpoints(base_url, "POST", "models/attach", {
        "endpoint_id": e["endpoint_id"], "model_config": {"model_definition_id": other}})
    assert no_linkage.status_code == 400
    assert no_linkage.json()["message"] == ("Invalid or missing value for required parameter 'linkage_type' in "
                                            "model_config. Must be one of: PRIMARY, FALLBACK.")
    got = endpoints(base_url, "GET", "get", params={"endpoint_id": e["endpoint_id"]}).json()["endpoint"]
    assert [m["model_definition_id"] for m in got["model_mappings"]] == [primary, other]
    assert got["last_updated_by"] == "carol"

    assert endpoints(base_url, "POST", "models/detach", {"endpoint_id": e["endpoint_id"],
                                                          "model_definition_id": other}).status_code == 200
    gone = endpoints(base_url, "POST", "models/detach", {"endpoint_id": e["endpoint_id"], "model_definition_id": other})
    assert gone.status_code == 404
    assert gone.json()["message"] == f"Model definition '{other}' is not attached to endpoint '{e['endpoint_id']}'"
    no_endpoint = endpoints(base_url, "POST", "models/detach", {"endpoint_id": "e-nope", "model_definition_id": other})
    assert no_endpoint.status_code == 404
    assert no_endpoint.json()["message"] == "GatewayEndpoint not found (endpoint_id='e-nope')"
    endpoints(base_url, "DELETE", "delete", {"endpoint_id": e["endpoint_id"]})


@keel_only
def test_attaching_a_fallback_turns_fallbacks_on(base_url, two_models):
    primary, other = two_models
    e = endpoints(base_url, "POST", "create", {
        "name": unique("fb-attach"), "model_configs": [{"model_definition_id": primary, "linkage_type": "PRIMARY"}]}).json()["endpoint"]
    assert "fallback_config" not in e or e["fallback_config"] == {}
    endpoints(base_url, "POST", "models/attach", {"endpoint_id": e["endpoint_id"], "model_config": {
        "model_definition_id": other, "linkage_type": "FALLBACK", "fallback_order": 0}})
    got = endpoints(base_url, "GET", "get", params={"endpoint_id": e["endpoint_id"]}).json()["endpoint"]
    assert got["fallback_config"] == {"strategy": "SEQUENTIAL"}, "the fallback model is used (the reference ignores it)"
    endpoints(base_url, "DELETE", "delete", {"endpoint_id": e["endpoint_id"]})


AJAX = "/ajax-api/3.0/mlflow/gateway"


def test_the_ui_learns_the_providers_their_fields_and_models(base_url):
    providers = requests.get(f"{base_url}{AJAX}/supported-providers", timeout=30).json()["providers"]
    assert providers == sorted(providers) and {"openai", "anthropic", "azure"} <= set(providers)
    config = requests.get(f"{base_url}{AJAX}/provider-config", params={"provider": "openai"}, timeout=30).json()
    assert config["default_mode"] == "api_key"
    mode = config["auth_modes"][0]
    assert (mode["mode"], mode["display_name"], mode["description"]) == ("api_key", "API Key", "Use Openai API Key")
    assert mode["secret_fields"] == [{"name": "api_key", "type": "string", "description": "Openai API Key",
                                      "required": True}]
    assert {"name": "api_base", "type": "string", "description": "Openai API Base URL",
            "required": False} in mode["config_fields"]
    missing = requests.get(f"{base_url}{AJAX}/provider-config", timeout=30)
    assert missing.status_code == 400 and missing.json()["message"] == "Provider parameter is required"
    models = requests.get(f"{base_url}{AJAX}/supported-models", params={"provider": "openai"}, timeout=30).json()["models"]
    mini = next(m for m in models if m["model"] == "gpt-4o-mini")
    assert (mini["provider"], mini["mode"]) == ("openai", "chat")
    assert mini["input_cost_per_token"] == pytest.approx(1.5e-07) and mini["output_cost_per_token"] == pytest.approx(6e-07)
    info = requests.get(f"{base_url}/api/3.0/mlflow/server-info", timeout=30).json()
    assert info["features_enabled"] == {"gateway": True}
    secrets = requests.get(f"{base_url}{AJAX}/secrets/config", timeout=30).json()
    assert secrets["secrets_available"] is True


@keel_only
def test_keel_lists_what_it_can_call_and_has_no_default_passphrase(base_url):
    providers = requests.get(f"{base_url}{AJAX}/supported-providers", timeout=30).json()["providers"]
    assert {"vllm", "llamacpp", "ollama", "openai_compatible"} <= set(providers)
    local = requests.get(f"{base_url}{AJAX}/provider-config", params={"provider": "vllm"}, timeout=30).json()
    fields = {f["name"]: f["required"] for f in local["auth_modes"][0]["config_fields"]}
    assert fields["api_base"] is True, "a local server has no default address"
    assert local["auth_modes"][0]["secret_fields"][0]["required"] is False, "nor needs a key"
    unknown = requests.get(f"{base_url}{AJAX}/provider-config", params={"provider": "cohere"}, timeout=30)
    assert unknown.status_code == 400
    secrets = requests.get(f"{base_url}{AJAX}/secrets/config", timeout=30).json()
    assert secrets == {"secrets_available": True, "using_default_passphrase": False}


def test_scorers_are_bound_to_endpoints_once_and_unbound(base_url, two_models):
    primary, _ = two_models
    e = endpoints(base_url, "POST", "create", {
        "name": unique("bound-ep"), "model_configs": [{"model_definition_id": primary, "linkage_type": "PRIMARY"}]}).json()["endpoint"]
    eid = e["endpoint_id"]
    scorer = unique("scorer")
    made = endpoints(base_url, "POST", "bindings/create",
                     {"endpoint_id": eid, "resource_type": "scorer", "resource_id": scorer, "created_by": "al"})
    assert made.status_code == 200, made.text
    binding = made.json()["binding"]
    assert (binding["endpoint_id"], binding["resource_type"], binding["resource_id"]) == (eid, "scorer", scorer)
    assert binding["created_by"] == binding["last_updated_by"] == "al"
    assert binding["created_at"] == binding["last_updated_at"] > 0
    again = endpoints(base_url, "POST", "bindings/create", {"endpoint_id": eid, "resource_type": "scorer",
                                                            "resource_id": scorer})
    assert again.status_code == 400
    missing = endpoints(base_url, "POST", "bindings/create", {"endpoint_id": eid, "resource_id": scorer})
    assert missing.status_code == 400
    assert missing.json()["message"].startswith("Missing value for required parameter 'resource_type'.")
    no_endpoint = endpoints(base_url, "POST", "bindings/create",
                            {"endpoint_id": "e-nope", "resource_type": "scorer", "resource_id": scorer})
    assert no_endpoint.status_code == 404
    assert no_endpoint.json()["message"] == "GatewayEndpoint not found (endpoint_id='e-nope')"
    listed = endpoints(base_url, "GET", "bindings/list", params={"endpoint_id": eid}).json()["bindings"]
    assert listed == [binding]
    by_resource = endpoints(base_url, "GET", "bindings/list",
                            params={"resource_type": "scorer", "resource_id": scorer}).json()["bindings"]
    assert by_resource == [binding]
    key = {"endpoint_id": eid, "resource_type": "scorer", "resource_id": scorer}
    assert endpoints(base_url, "DELETE", "bindings/delete", key).status_code == 200
    gone = endpoints(base_url, "DELETE", "bindings/delete", key)
    assert gone.status_code == 404
    assert gone.json()["message"] == (f"GatewayEndpointBinding not found (endpoint_id='{eid}', "
                                      f"resource_type='scorer', resource_id='{scorer}')")
    endpoints(base_url, "DELETE", "delete", {"endpoint_id": eid})


@keel_only
def test_a_binding_of_an_unknown_kind_is_a_clear_400(base_url, two_models):
    primary, _ = two_models
    e = endpoints(base_url, "POST", "create", {
        "name": unique("kind-ep"), "model_configs": [{"model_definition_id": primary, "linkage_type": "PRIMARY"}]}).json()["endpoint"]
    resp = endpoints(base_url, "POST", "bindings/create",
                     {"endpoint_id": e["endpoint_id"], "resource_type": "experiment", "resource_id": "1"})
    assert resp.status_code == 400, "the reference answers a 500 page"
    assert resp.json()["message"] == "Invalid resource_type 'experiment'. Must be one of: scorer."
    duplicate = {"endpoint_id": e["endpoint_id"], "resource_type": "scorer", "resource_id": "s-1"}
    endpoints(base_url, "POST", "bindings/create", duplicate)
    again = endpoints(base_url, "POST", "bindings/create", duplicate)
    assert again.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
    assert again.json()["message"] == f"scorer 's-1' is already bound to endpoint '{e['endpoint_id']}'"
    endpoints(base_url, "DELETE", "delete", {"endpoint_id": e["endpoint_id"]})

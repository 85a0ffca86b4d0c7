"""The AI gateway's configuration (issue 17): provider secrets
(`/api/3.0/mlflow/gateway/secrets/*`) and model definitions (`.../model-definitions/*`) as the
reference serves them — values shown only masked, the reference's validation messages and
not-found errors, update and delete semantics, definitions outliving their secret. The shared tests run unchanged against Keel and
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

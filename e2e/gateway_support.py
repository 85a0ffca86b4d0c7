"""What the AI gateway's end-to-end tests share: a Keel that requires authentication (its
administrator configures the gateway), a service account's token to call it with, and an
endpoint made in one step (secret, model definitions, endpoint); and the module fixtures a test
file imports: `mock` (the mock provider), `token` and `app` (HTTP as the service account) over
the file's own `gw` server."""

import subprocess
import uuid

import pytest
import requests

import serverctl
from mock_providers import MockProvider

API = "/api/3.0/mlflow/gateway"
PROVIDER_KEY = "sk-provider-secret-1234"


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


ADMIN = ("admin", "admin-password-1")
LOCAL_UPSTREAMS = ["--gateway-allow-http-upstreams", "--gateway-allow-private-upstreams"]


def secured_server(data_dir, extra_args):
    """A Keel that requires authentication (its administrator configures the gateway)."""
    return serverctl.ServerProcess(
        data_dir, extra_args=["--auth-mode", "required", *extra_args],
        extra_env={"KEEL_ADMIN_USERNAME": ADMIN[0], "KEEL_ADMIN_PASSWORD": ADMIN[1]})


def service_token(srv):
    """A token of a new, ordinary service account: the identity an application calls with."""
    name = unique("app")
    created = requests.post(f"{srv.url}/api/2.0/mlflow/users/create", auth=ADMIN, timeout=30,
                            json={"username": name, "password": "app-password-123"})
    assert created.status_code == 200, created.text
    out = subprocess.run(
        [str(serverctl.keel_binary()), "tokens", "create", name, "--name", unique("svc"),
         "--data-dir", str(srv.data_dir),
         *(["--backend-store-uri", serverctl.postgres_store_uri(srv.data_dir)] if serverctl.BACKEND == "postgres" else [])],
        capture_output=True, text=True, env=serverctl.child_env())
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def post(base, path, body):
    resp = requests.post(f"{base}{API}/{path}", json=body, auth=ADMIN, timeout=60)
    assert resp.status_code == 200, resp.text
    return resp.json()


def make_endpoint(base, api_base, models, provider="openai", **settings):
    """An endpoint over `models`: `(model_name, linkage, weight, fallback_order)` tuples."""
    secret = post(base, "secrets/create", {
        "secret_name": unique("key"), "secret_value": {"api_key": PROVIDER_KEY}, "provider": provider,
        "auth_config": {"api_base": api_base}})["secret"]
    configs = []
    for model, linkage, weight, order in models:
        d = post(base, "model-definitions/create", {"name": unique(model), "secret_id": secret["secret_id"],
                                                    "provider": provider, "model_name": model})
        config = {"model_definition_id": d["model_definition"]["model_definition_id"], "linkage_type": linkage,
                  "weight": weight}
        if order is not None:
            config["fallback_order"] = order
        configs.append(config)
    name = unique("ep")
    post(base, "endpoints/create", {"name": name, "model_configs": configs, **settings})
    return name


@pytest.fixture(scope="module")
def mock():
    m = MockProvider().start()
    yield m
    m.stop()


@pytest.fixture(scope="module")
def token(gw):
    return service_token(gw)


@pytest.fixture(scope="module")
def app(token):
    """HTTP as the service account."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    yield session
    session.close()

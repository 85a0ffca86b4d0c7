"""OpenID Connect bearer tokens (issue 14): a small identity provider started by the test (its
own RSA and P-256 signing keys, a discovery document and a JWKS endpoint) and a Keel that
accepts its JWTs. The official client sends them as `MLFLOW_TRACKING_TOKEN`; users are created
on first sight; an IdP group holds the Keel role of the same name; an administrators' group
makes its members administrators; expired, wrong-audience, wrong-issuer, unsigned and
unknown-key tokens are refused with 401 and a reason. On SQLite and PostgreSQL."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

import serverctl
from conftest import unique

pytestmark = pytest.mark.skipif(serverctl.IS_REFERENCE, reason="Keel's own OIDC settings")

AUDIENCE = "keel"


class IdentityProvider:
    """Serves `/.well-known/openid-configuration` and `/jwks` for keys it generates, and signs
    tokens with them."""

    def __init__(self):
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": provider.issuer, "jwks_uri": f"{provider.issuer}/jwks"}
                elif self.path == "/jwks":
                    body = provider.jwks()
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def jwks(self):
        rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.rsa.public_key()))
        ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.ec.public_key()))
        return {
            "keys": [
                {**rsa_jwk, "kid": "rsa-1", "alg": "RS256", "use": "sig"},
                {**ec_jwk, "kid": "ec-1", "alg": "ES256", "use": "sig"},
            ]
        }

    def token(self, sub, groups=(), alg="RS256", kid=None, key=None, **claims):
        now = int(time.time())
        payload = {"iss": self.issuer, "aud": AUDIENCE, "sub": sub, "iat": now, "exp": now + 600}
        payload["groups"] = list(groups)
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        signing = key or (self.rsa if alg == "RS256" else self.ec)
        headers = {"kid": kid or ("rsa-1" if alg == "RS256" else "ec-1")}
        return jwt.encode(payload, signing, algorithm=alg, headers=headers)

    def close(self):
        self.http.shutdown()


@pytest.fixture(scope="module")
def idp():
    provider = IdentityProvider()
    yield provider
    provider.close()


@pytest.fixture(scope="module")
def keel(tmp_path_factory, idp):
    srv = serverctl.ServerProcess(
        tmp_path_factory.mktemp("oidc") / "data",
        extra_args=[
            "--auth-mode",
            "required",
            "--oidc-issuer",
            idp.issuer,
            "--oidc-audience",
            AUDIENCE,
            "--oidc-admin-groups",
            "keel-admins",
        ],
    )
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def client_with(monkeypatch, keel, token):
    for var in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    return MlflowClient(tracking_uri=keel.url)


def call(keel, token, method, path, **kw):
    return requests.request(method, f"{keel.url}{path}", headers={"Authorization": f"Bearer {token}"}, **kw)


def test_an_administrators_group_token_works_with_the_official_client(monkeypatch, keel, idp):
    client = client_with(monkeypatch, keel, idp.token("olivia", groups=["keel-admins"]))
    exp = client.create_experiment(unique("oidc-admin"))
    run = client.create_run(exp)
    client.log_metric(run.info.run_id, "loss", 0.25)
    assert client.get_metric_history(run.info.run_id, "loss")[0].value == 0.25
    me = call(keel, idp.token("olivia", groups=["keel-admins"]), "GET", "/api/2.0/mlflow/users/get", params={"username": "olivia"})
    assert me.status_code == 200, me.text
    assert me.json()["user"]["is_admin"] is False, "admin by group for the request, not stored"


def test_a_group_holds_the_role_of_its_name(monkeypatch, keel, idp):
    admin = idp.token("olivia", groups=["keel-admins"])
    admin_client = client_with(monkeypatch, keel, admin)
    readable = admin_client.create_experiment(unique("oidc-team"))
    hidden = admin_client.create_experiment(unique("oidc-hidden"))
    team = f"team-{unique('g')}"
    role = call(keel, admin, "POST", "/api/3.0/mlflow/roles/create", json={"name": team, "workspace": "default"})
    assert role.status_code == 200, role.text
    role_id = role.json()["role"]["id"]
    added = call(
        keel,
        admin,
        "POST",
        "/api/3.0/mlflow/roles/permissions/add",
        json={"role_id": role_id, "resource_type": "experiment", "resource_pattern": readable, "permission": "READ"},
    )
    assert added.status_code == 200, added.text

    # An ES256 token of a user Keel has not seen: the account is created, the group's role applies.
    member = client_with(monkeypatch, keel, idp.token(f"bob-{team}", groups=[team], alg="ES256"))
    assert member.get_experiment(readable).experiment_id == readable
    found = {e.experiment_id for e in member.search_experiments()}
    assert readable in found and hidden not in found
    with pytest.raises(MlflowException) as e:
        member.get_experiment(hidden)
    assert e.value.error_code == "PERMISSION_DENIED"
    with pytest.raises(MlflowException) as e:
        member.create_run(readable)
    assert e.value.error_code == "PERMISSION_DENIED"

    # The same user without the group: nothing.
    outsider = client_with(monkeypatch, keel, idp.token(f"bob-{team}", alg="ES256"))
    with pytest.raises(MlflowException) as e:
        outsider.get_experiment(readable)
    assert e.value.error_code == "PERMISSION_DENIED"


@pytest.mark.parametrize(
    "case, expected",
    [
        ("expired", "expired"),
        ("audience", "audience"),
        ("issuer", "issuer"),
        ("none", "algorithm"),
        ("hs256", "algorithm"),
        ("stranger", "signature"),
        ("unknown-kid", "does not publish"),
        ("no-sub", "'sub'"),
        ("garbage", "not a valid JWT"),
    ],
)
def test_bad_tokens_get_401_with_a_reason(keel, idp, case, expected):
    now = int(time.time())
    token = {
        "expired": lambda: idp.token("eve", exp=now - 3600, iat=now - 7200),
        "audience": lambda: idp.token("eve", aud="another-service"),
        "issuer": lambda: idp.token("eve", iss="https://evil.example"),
        "none": lambda: jwt.encode({"iss": idp.issuer, "aud": AUDIENCE, "sub": "eve", "exp": now + 60}, None, algorithm="none"),
        "hs256": lambda: jwt.encode(
            {"iss": idp.issuer, "aud": AUDIENCE, "sub": "eve", "exp": now + 60},
            "a-shared-secret-of-at-least-32-bytes!",
            algorithm="HS256",
            headers={"kid": "rsa-1"},
        ),
        "stranger": lambda: idp.token("eve", key=idp.stranger),
        "unknown-kid": lambda: idp.token("eve", key=idp.stranger, kid="rotated-away"),
        "no-sub": lambda: idp.token(None),
        "garbage": lambda: "a.b.c",
    }[case]()
    r = call(keel, token, "GET", "/api/2.0/mlflow/experiments/search", params={"max_results": 1})
    assert r.status_code == 401, r.text
    assert r.json()["error_code"] == "UNAUTHENTICATED"
    assert expected in r.json()["message"], r.json()["message"]

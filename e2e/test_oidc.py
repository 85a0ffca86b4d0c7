"""OpenID Connect (issue 14): a small identity provider started by the test (its own RSA and
P-256 signing keys, a discovery document, a JWKS endpoint, and an authorization endpoint that
signs a fixed user in with a token endpoint that checks PKCE) and a Keel that accepts its JWTs.
The official client sends them as `MLFLOW_TRACKING_TOKEN`; users are created on first sight; an
IdP group holds the Keel role of the same name; an administrators' group makes its members
administrators; expired, wrong-audience, wrong-issuer, unsigned and unknown-key tokens are
refused with 401 and a reason. The web UI's single sign-on (authorization code + PKCE) starts a
session cookie, and replayed, forged, refused and wrong-nonce sign-ins are turned away; the same
sign-in works over HTTPS with HTTP/2 (httpx), the callback URL taken from HTTP/2's `:authority`
and every cookie Secure. On SQLite and PostgreSQL."""

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

import serverctl
from conftest import unique
from test_tls import make_cert

pytestmark = pytest.mark.skipif(serverctl.IS_REFERENCE, reason="Keel's own OIDC settings")

AUDIENCE = "keel"
CLIENT_ID = "keel-ui"
CLIENT_SECRET = "ui-client-secret"


class IdentityProvider:
    """Serves `/.well-known/openid-configuration` and `/jwks` for keys it generates, and signs
    tokens with them."""

    def __init__(self):
        # Who the authorization endpoint signs in next, and sign-ins awaiting their code.
        self.next_user = ("sso-user", [])
        self.nonce_override = None
        self.codes = {}
        self.seen_authorizations = []
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        # Keys published besides the two above (a rotation), by key ID, and how often the key
        # set was fetched.
        self.extra_keys = {}
        self.jwks_fetches = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    body = {
                        "issuer": provider.issuer,
                        "jwks_uri": f"{provider.issuer}/jwks",
                        "authorization_endpoint": f"{provider.issuer}/authorize",
                        "token_endpoint": f"{provider.issuer}/token",
                    }
                elif self.path == "/jwks":
                    provider.jwks_fetches += 1
                    body = provider.jwks()
                elif self.path.startswith("/authorize?"):
                    self.send_response(302)
                    self.send_header("Location", provider.authorize(self.path))
                    self.end_headers()
                    return
                else:
                    self.send_error(404)
                    return
                self.reply(200, body)

            def do_POST(self):
                if self.path != "/token":
                    self.send_error(404)
                    return
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
                status, body = provider.exchange(form, self.headers.get("Authorization"))
                self.reply(status, body)

            def reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
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
        extra = [
            {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, "alg": "RS256", "use": "sig"}
            for kid, key in self.extra_keys.items()
        ]
        return {
            "keys": [
                {**rsa_jwk, "kid": "rsa-1", "alg": "RS256", "use": "sig"},
                {**ec_jwk, "kid": "ec-1", "alg": "ES256", "use": "sig"},
                *extra,
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

    def authorize(self, path):
        """Signs `next_user` in at once and sends the browser back with a single-use code."""
        q = {k: v[0] for k, v in parse_qs(urlparse(path).query).items()}
        self.seen_authorizations.append(q)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {**q, "user": self.next_user}
        return f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}"

    def exchange(self, form, authorization):
        """The token endpoint: client authentication, a single-use code, its redirect URI and
        the PKCE verifier must all match."""
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if authorization != expected:
            return 401, {"error": "invalid_client"}
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or form.get("grant_type") != "authorization_code" or form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {"error": "invalid_grant"}
        challenge = base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode()).digest()).rstrip(b"=").decode()
        if grant["code_challenge_method"] != "S256" or challenge != grant["code_challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        sub, groups = grant["user"]
        nonce = self.nonce_override or grant["nonce"]
        return 200, {"id_token": self.token(sub, groups, aud=CLIENT_ID, nonce=nonce), "token_type": "Bearer", "access_token": "opaque"}

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
            "--oidc-client-id",
            CLIENT_ID,
        ],
        extra_env={"KEEL_OIDC_CLIENT_SECRET": CLIENT_SECRET},
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


def cookie_attributes(response, name):
    """The Set-Cookie header that sets `name`."""
    for header in response.raw.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            return header
    raise AssertionError(f"no {name} cookie in {response.headers}")


def sso(keel, browser, return_to="#/models"):
    """Walks a browser through single sign-on, one redirect at a time; returns the callback's
    response."""
    start = browser.get(f"{keel.url}/api/3.0/keel/auth/oidc/login", params={"return_to": return_to}, allow_redirects=False)
    assert start.status_code == 302, start.text
    pending = cookie_attributes(start, "keel_sso")
    assert "HttpOnly" in pending and "SameSite=Lax" in pending and "Path=/api/3.0/keel/auth/oidc/callback" in pending
    at_provider = browser.get(start.headers["Location"], allow_redirects=False)
    assert at_provider.status_code == 302
    return browser.get(at_provider.headers["Location"], allow_redirects=False)


def test_single_sign_on_starts_a_session_with_the_providers_groups(keel, idp):
    admin = idp.token("olivia", groups=["keel-admins"])
    readable = call(keel, admin, "POST", "/api/2.0/mlflow/experiments/create", json={"name": unique("sso-team")}).json()["experiment_id"]
    team = f"team-{unique('sso')}"
    role_id = call(keel, admin, "POST", "/api/3.0/mlflow/roles/create", json={"name": team, "workspace": "default"}).json()["role"]["id"]
    call(keel, admin, "POST", "/api/3.0/mlflow/roles/permissions/add",
         json={"role_id": role_id, "resource_type": "experiment", "resource_pattern": readable, "permission": "READ"})

    user = f"sso-{team}"
    idp.next_user = (user, [team])
    browser = requests.Session()
    done = sso(keel, browser)
    assert done.status_code == 302, done.text
    assert done.headers["Location"] == "/#/models"
    session = cookie_attributes(done, "keel_session")
    assert "HttpOnly" in session and "SameSite=Strict" in session
    asked = idp.seen_authorizations[-1]
    assert asked["client_id"] == CLIENT_ID and asked["code_challenge_method"] == "S256"
    assert "openid" in asked["scope"].split()

    me = browser.get(f"{keel.url}/ajax-api/3.0/keel/auth/session")
    assert me.status_code == 200, me.text
    assert me.json()["user"]["username"] == user and me.json()["method"] == "session"
    # The group's role holds for the session, as it does for the user's bearer tokens.
    got = browser.get(f"{keel.url}/ajax-api/2.0/mlflow/experiments/get", params={"experiment_id": readable})
    assert got.status_code == 200, got.text
    assert browser.post(f"{keel.url}/ajax-api/2.0/mlflow/runs/create", json={"experiment_id": readable}).status_code == 403

    idp.next_user = ("sso-admin", ["keel-admins"])
    admin_browser = requests.Session()
    assert sso(keel, admin_browser).status_code == 302
    assert admin_browser.get(f"{keel.url}/ajax-api/3.0/keel/auth/session").json()["user"]["is_admin"] is True


def sso_error(response):
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith("/?sso_error="), location
    assert "keel_session" not in response.headers.get("Set-Cookie", "")
    return parse_qs(urlparse(location).query)["sso_error"][0]


def test_replayed_forged_refused_and_foreign_sign_ins_are_turned_away(keel, idp):
    idp.next_user = ("mallory-sso", [])
    browser = requests.Session()

    def callback_of_a_new_sign_in():
        start = browser.get(f"{keel.url}/api/3.0/keel/auth/oidc/login", allow_redirects=False)
        return browser.get(start.headers["Location"], allow_redirects=False).headers["Location"]

    # A forged state fails the sign-in, and ends it: its genuine callback fails afterwards.
    callback = callback_of_a_new_sign_in()
    parts = urlparse(callback)
    forged = f"{keel.url}{parts.path}?{urlencode({'code': parse_qs(parts.query)['code'][0], 'state': 'forged'})}"
    assert "state does not match" in sso_error(browser.get(forged, allow_redirects=False))
    assert "not started here" in sso_error(browser.get(callback, allow_redirects=False))
    # The genuine callback, then the same callback replayed.
    callback = callback_of_a_new_sign_in()
    assert browser.get(callback, allow_redirects=False).headers["Location"] == "/#/"
    assert "not started here" in sso_error(browser.get(callback, allow_redirects=False))

    # Another browser presenting a callback it did not start.
    stranger = requests.Session()
    assert "not started here" in sso_error(stranger.get(callback, allow_redirects=False))
    # The provider refusing the sign-in.
    start = browser.get(f"{keel.url}/api/3.0/keel/auth/oidc/login", allow_redirects=False)
    refused = browser.get(f"{keel.url}/api/3.0/keel/auth/oidc/callback",
                          params={"error": "access_denied", "error_description": "User cancelled"}, allow_redirects=False)
    assert "User cancelled" in sso_error(refused)
    # An ID token issued for another sign-in (nonce).
    idp.nonce_override = "someone-elses-nonce"
    try:
        assert "nonce" in sso_error(sso(keel, requests.Session()))
    finally:
        idp.nonce_override = None
    # A return address outside the UI is not followed.
    assert sso(keel, requests.Session(), return_to="https://evil.example/").headers["Location"] == "/#/"


def test_the_sign_in_page_offers_single_sign_on(keel):
    options = requests.get(f"{keel.url}/ajax-api/3.0/keel/auth/options")
    assert options.status_code == 200 and options.json() == {"sso": True}


def test_a_rotated_in_key_is_fetched_once_and_unknown_keys_cannot_flood_the_issuer(tmp_path):
    """The issuer publishes a new signing key: Keel fetches the key set again when a token names
    the new key, and accepts it; further unknown key IDs within 30 seconds are refused without
    asking the issuer again."""
    provider = IdentityProvider()
    srv = serverctl.ServerProcess(
        tmp_path / "data",
        extra_args=["--auth-mode", "required", "--oidc-issuer", provider.issuer, "--oidc-audience", AUDIENCE],
    )
    srv.start()
    try:
        at_start = provider.jwks_fetches
        assert at_start >= 1
        rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        provider.extra_keys["rsa-2"] = rotated
        token = provider.token("rita", key=rotated, kid="rsa-2")
        r = call(srv, token, "GET", "/api/2.0/mlflow/experiments/search", params={"max_results": 1})
        assert r.status_code == 200, r.text
        assert provider.jwks_fetches == at_start + 1
        # Made-up key IDs (even one published meanwhile) do not reach the issuer again at once.
        for n in range(5):
            kid = f"made-up-{n}"
            provider.extra_keys[kid] = provider.stranger
            r = call(srv, provider.token("eve", key=provider.stranger, kid=kid), "GET", "/api/2.0/mlflow/experiments/search")
            assert r.status_code == 401, r.text
            assert "does not publish" in r.json()["message"]
        assert provider.jwks_fetches == at_start + 1
        # The key fetched in the rotation keeps working.
        r = call(srv, token, "GET", "/api/2.0/mlflow/experiments/search", params={"max_results": 1})
        assert r.status_code == 200, r.text
    finally:
        srv.stop()
        provider.close()


@pytest.fixture(scope="module")
def keel_https(tmp_path_factory, idp):
    cert, key = make_cert(tmp_path_factory.mktemp("oidc-tls"), "server")
    srv = serverctl.ServerProcess(
        tmp_path_factory.mktemp("oidc-https") / "data",
        extra_args=[
            "--auth-mode", "required", "--tls-cert", str(cert), "--tls-key", str(key),
            "--oidc-issuer", idp.issuer, "--oidc-audience", AUDIENCE, "--oidc-client-id", CLIENT_ID,
        ],
        extra_env={"KEEL_OIDC_CLIENT_SECRET": CLIENT_SECRET},
        ca_cert=cert,
    )
    srv.start()
    try:
        yield srv, cert
    finally:
        srv.stop()


def test_single_sign_on_over_https_with_http2(keel_https, idp):
    srv, cert = keel_https
    base = f"https://localhost:{srv.port}"
    user = unique("sso-h2")
    idp.next_user = (user, [])
    with httpx.Client(http2=True, verify=str(cert)) as browser:
        start = browser.get(f"{base}/api/3.0/keel/auth/oidc/login", params={"return_to": "#/models"})
        assert start.status_code == 302, start.text
        assert start.http_version == "HTTP/2"
        pending = [c for c in start.headers.get_list("set-cookie") if c.startswith("keel_sso=")]
        assert pending and "Secure" in pending[0] and "HttpOnly" in pending[0], pending
        # The callback is this server as the browser reached it (HTTP/2 has no Host header).
        asked = parse_qs(urlparse(start.headers["location"]).query)
        assert asked["redirect_uri"] == [f"{base}/api/3.0/keel/auth/oidc/callback"]
        with httpx.Client() as provider:
            at_provider = provider.get(start.headers["location"])
        assert at_provider.status_code == 302
        done = browser.get(at_provider.headers["location"])
        assert done.status_code == 302, done.text
        assert done.http_version == "HTTP/2"
        assert done.headers["location"] == "/#/models"
        session = [c for c in done.headers.get_list("set-cookie") if c.startswith("keel_session=")]
        assert session and all(a in session[0] for a in ("Secure", "HttpOnly", "SameSite=Strict")), session
        me = browser.get(f"{base}/ajax-api/3.0/keel/auth/session")
        assert me.status_code == 200 and me.http_version == "HTTP/2", me.text
        assert me.json()["user"]["username"] == user and me.json()["method"] == "session"

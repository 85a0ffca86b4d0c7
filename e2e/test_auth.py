"""Identity and access with the official client (issue 14): a Keel that requires authentication,
its first administrator from the environment, HTTP Basic and bearer-token credentials as the
client sends them, `AuthServiceClient` flows, a READ-only user refused a write with MLflow's
error, and searches that return only what the caller may read. On SQLite and PostgreSQL."""

import base64
import secrets
import subprocess

import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException

import serverctl
from conftest import unique

pytestmark = pytest.mark.skipif(
    serverctl.IS_REFERENCE, reason="Keel's own server flags; the reference's auth app is started differently"
)

ADMIN = ("admin", "admin-password-1")


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    srv = serverctl.ServerProcess(
        tmp_path_factory.mktemp("auth") / "data",
        extra_args=["--auth-mode", "required"],
        extra_env={"KEEL_ADMIN_USERNAME": ADMIN[0], "KEEL_ADMIN_PASSWORD": ADMIN[1]},
    )
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def as_user(monkeypatch, secured):
    """Points the client at the secured server with the given credentials (Basic, or a token)."""

    def use(username=None, password=None, token=None):
        for var in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
            monkeypatch.delenv(var, raising=False)
        if username is not None:
            monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", username)
            monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)
        if token is not None:
            monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
        return MlflowClient(tracking_uri=secured.url)

    return use


def auth_client(secured):
    from mlflow.server import get_app_client

    return get_app_client("basic-auth", tracking_uri=secured.url)


def test_requests_without_credentials_are_refused(secured, as_user):
    r = requests.get(f"{secured.url}/api/2.0/mlflow/experiments/search", params={"max_results": 1})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="mlflow"'
    assert r.json()["error_code"] == "UNAUTHENTICATED"
    assert requests.get(f"{secured.url}/health").status_code == 200
    client = as_user()
    with pytest.raises(MlflowException) as e:
        client.search_experiments()
    assert "401" in str(e.value) or "UNAUTHENTICATED" in str(e.value)
    for bad in ("Basic !!!", "Bearer", "Bearer eyJhbGciOiJub25lIn0.e30.", "Digest x", "Basic " + "A" * 20000):
        r = requests.get(f"{secured.url}/api/2.0/mlflow/experiments/search", headers={"Authorization": bad})
        assert r.status_code in (401, 431), (bad[:20], r.status_code, r.text)


def test_basic_credentials_work_with_the_official_client(as_user):
    client = as_user(*ADMIN)
    exp = client.create_experiment(unique("auth-basic"))
    run = client.create_run(exp)
    client.log_metric(run.info.run_id, "loss", 0.5)
    client.set_terminated(run.info.run_id)
    assert client.get_run(run.info.run_id).data.metrics["loss"] == 0.5
    wrong = as_user(ADMIN[0], "not-the-password")
    with pytest.raises(MlflowException):
        wrong.get_experiment(exp)


def test_auth_service_client_manages_users_and_grants(secured, as_user):
    as_user(*ADMIN)
    admin_api = auth_client(secured)
    name = unique("alice")
    user = admin_api.create_user(name, "alice-password-1")
    assert user.username == name and not user.is_admin
    assert admin_api.get_user(name).id == user.id
    admin_client = as_user(*ADMIN)
    exp = admin_client.create_experiment(unique("granted"))
    run_id = admin_client.create_run(exp).info.run_id

    # Nothing granted: alice sees nothing and may read nothing.
    alice = as_user(name, "alice-password-1")
    assert exp not in [e.experiment_id for e in alice.search_experiments()]
    with pytest.raises(RestException) as e:
        alice.get_experiment(exp)
    assert e.value.error_code == "PERMISSION_DENIED"

    # READ: she reads and searches, but a write fails with MLflow's error.
    as_user(*ADMIN)
    admin_api.grant_user_permission(name, "experiment", exp, "READ")
    perm = admin_api.get_user_permission(name, "experiment", exp)
    assert perm == {"allowed": False, "permission": "READ"} or getattr(perm, "permission", None) == "READ"
    alice = as_user(name, "alice-password-1")
    assert alice.get_experiment(exp).experiment_id == exp
    assert [e.experiment_id for e in alice.search_experiments()] == [exp]
    with pytest.raises(RestException) as e:
        alice.log_metric(run_id, "loss", 1.0)
    assert e.value.error_code == "PERMISSION_DENIED"

    # A role granting EDIT on every experiment lets her write.
    as_user(*ADMIN)
    role = admin_api.create_role("default", unique("editors"), "edit all")
    admin_api.add_role_permission(role.id, "experiment", "*", "EDIT")
    admin_api.assign_role(name, role.id)
    assert any(r.id == role.id for r in admin_api.list_user_roles(name))
    as_user(name, "alice-password-1").log_metric(run_id, "loss", 1.0)

    # Password change, then revoke and delete.
    as_user(*ADMIN)
    admin_api.update_user_password(name, "alice-password-2")
    with pytest.raises(MlflowException):
        as_user(name, "alice-password-1").search_experiments()
    as_user(name, "alice-password-2").search_experiments()
    as_user(*ADMIN)
    admin_api.unassign_role(name, role.id)
    admin_api.revoke_user_permission(name, "experiment", exp)
    admin_api.delete_role(role.id)
    admin_api.update_user_admin(name, True)
    assert admin_api.get_user(name).is_admin
    admin_api.delete_user(name)
    with pytest.raises(MlflowException):
        admin_api.get_user(name)


def test_non_admins_cannot_administer(secured, as_user):
    as_user(*ADMIN)
    admin_api = auth_client(secured)
    name = unique("bob")
    admin_api.create_user(name, "bob-password-123")
    as_user(name, "bob-password-123")
    bob_api = auth_client(secured)
    with pytest.raises(MlflowException):
        bob_api.create_user(unique("mallory"), "mallory-password-1")
    with pytest.raises(MlflowException):
        bob_api.update_user_admin(name, True)
    with pytest.raises(MlflowException):
        bob_api.delete_user(ADMIN[0])
    # Bob manages what he creates and may hand it on.
    bob = as_user(name, "bob-password-123")
    exp = bob.create_experiment(unique("bobs"))
    bob.set_experiment_tag(exp, "owner", name)
    bob_api.grant_user_permission(ADMIN[0], "experiment", exp, "READ")


def cli_token(secured, username, *args):
    """`keel tokens create USERNAME ARGS...` against the secured server's store."""
    out = subprocess.run(
        [str(serverctl.keel_binary()), "tokens", "create", username, "--name", unique("e2e"), *args,
         "--data-dir", str(secured.data_dir),
         *(["--backend-store-uri", serverctl.postgres_store_uri(secured.data_dir)] if serverctl.BACKEND == "postgres" else [])],
        capture_output=True, text=True, env=serverctl.child_env(),
    )
    return out


def test_tokens_from_the_cli_authenticate_the_client(secured, as_user):
    out = cli_token(secured, ADMIN[0])
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    assert token.startswith("keel_")
    client = as_user(token=token)
    exp = client.create_experiment(unique("auth-token"))
    assert client.get_experiment(exp).name.startswith("auth-token")
    r = requests.get(f"{secured.url}/api/2.0/mlflow/users/current", headers={"Authorization": f"Bearer {token}"})
    assert r.json()["user"]["username"] == ADMIN[0]
    basic = base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
    r = requests.get(f"{secured.url}/api/2.0/mlflow/users/current", headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 200


def test_a_read_scoped_token_reads_but_cannot_write(secured, as_user):
    admin = as_user(*ADMIN)
    exp = admin.create_experiment(unique("auth-scoped"))
    run_id = admin.create_run(exp).info.run_id
    out = cli_token(secured, ADMIN[0], "--scope", "read")
    assert out.returncode == 0, out.stderr
    reader = as_user(token=out.stdout.strip())
    assert reader.get_experiment(exp).experiment_id == exp
    assert exp in [e.experiment_id for e in reader.search_experiments()]
    with pytest.raises(RestException) as e:
        reader.log_metric(run_id, "loss", 1.0)
    assert e.value.error_code == "PERMISSION_DENIED"
    with pytest.raises(RestException) as e:
        reader.create_experiment(unique("nope"))
    assert e.value.error_code == "PERMISSION_DENIED"
    # It cannot issue itself a wider token.
    r = requests.post(f"{secured.url}/api/3.0/keel/tokens", json={"name": "wider"},
                      headers={"Authorization": f"Bearer {out.stdout.strip()}"})
    assert r.status_code == 403, r.text
    bad = cli_token(secured, ADMIN[0], "--scope", "everything")
    assert bad.returncode != 0 and "read, use, write, manage, admin" in bad.stderr


def test_trace_and_logged_model_searches_show_only_readable_experiments(secured, as_user):
    as_user(*ADMIN)
    admin_api = auth_client(secured)
    name = unique("tess")
    admin_api.create_user(name, "tess-password-1")
    admin = as_user(*ADMIN)
    mine, theirs = admin.create_experiment(unique("tess-mine")), admin.create_experiment(unique("tess-theirs"))
    for exp in (mine, theirs):
        admin.create_logged_model(exp, name="lm")
        # A trace started over the REST API (the fluent tracing API would repoint the whole
        # session's tracking URI at this module's server).
        trace_id = "tr-" + secrets.token_hex(16)
        r = requests.post(
            f"{secured.url}/api/3.0/mlflow/traces", auth=ADMIN,
            json={"trace": {"trace_info": {
                "trace_id": trace_id,
                "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp}},
                "request_time": "2026-12-04T10:00:00Z", "execution_duration": "0.5s", "state": "OK"}}},
        )
        assert r.status_code == 200, r.text
    admin_api.grant_user_permission(name, "experiment", mine, "READ")
    tess = as_user(name, "tess-password-1")
    traces = tess.search_traces(experiment_ids=[mine, theirs], include_spans=False)
    assert {t.info.experiment_id for t in traces} == {mine}
    models = tess.search_logged_models(experiment_ids=[mine, theirs])
    assert {m.experiment_id for m in models} == {mine}
    assert list(tess.search_logged_models(experiment_ids=[theirs])) == []


def test_multipart_uploads_work_with_authentication(as_user, monkeypatch, tmp_path):
    """The client PUTs parts without its credentials: the signed part URLs authorize them."""
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(5 * 1024 * 1024))
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(5 * 1024 * 1024))
    client = as_user(*ADMIN)
    exp = client.create_experiment(unique("auth-mpu"))
    run_id = client.create_run(exp).info.run_id
    data = bytes(range(256)) * (12 * 4096)  # 12 MiB: three parts
    (tmp_path / "weights.bin").write_bytes(data)
    client.log_artifact(run_id, str(tmp_path / "weights.bin"), artifact_path="model")
    out = client.download_artifacts(run_id, "model/weights.bin", str(tmp_path / "dl"))
    assert open(out, "rb").read() == data

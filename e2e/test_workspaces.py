"""Workspaces with the official client (issue 14): `mlflow.create_workspace`, `set_workspace`
and the rest against `keel server --enable-workspaces`; experiment and model names per
workspace, runs, models and prompts of one workspace invisible from another, the delete modes,
members and outsiders with authentication on, and the client's own error against a server
without workspaces. On SQLite and PostgreSQL."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

import serverctl
from conftest import unique

pytestmark = pytest.mark.skipif(
    serverctl.IS_REFERENCE, reason="Keel's own server flags; the reference enables workspaces differently"
)

ADMIN = ("admin", "admin-password-1")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = serverctl.ServerProcess(tmp_path_factory.mktemp("ws") / "data", extra_args=["--enable-workspaces"])
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def client(server, monkeypatch):
    """The fluent API and a client pointed at the server; the active workspace is reset after."""
    monkeypatch.delenv("MLFLOW_WORKSPACE", raising=False)
    mlflow.set_tracking_uri(server.url)
    yield MlflowClient(tracking_uri=server.url)
    mlflow.set_workspace(None)


def test_the_catalogue_through_the_fluent_api(client):
    name = unique("team").lower()
    created = mlflow.create_workspace(name, description="the A team")
    assert (created.name, created.description) == (name, "the A team")
    assert name in [w.name for w in mlflow.list_workspaces()]
    assert "default" in [w.name for w in mlflow.list_workspaces()]
    assert mlflow.get_workspace(name).description == "the A team"
    updated = mlflow.update_workspace(name, description="renamed team")
    assert updated.description == "renamed team"
    with pytest.raises(MlflowException) as err:
        mlflow.create_workspace(name)
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(MlflowException) as err:
        mlflow.get_workspace(unique("nobody").lower())
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    mlflow.delete_workspace(name)
    assert name not in [w.name for w in mlflow.list_workspaces()]


def test_experiments_and_runs_stay_in_their_workspace(client):
    team = unique("team").lower()
    mlflow.create_workspace(team)
    shared = unique("shared")
    here = client.create_experiment(shared)
    mlflow.set_workspace(team)
    there = client.create_experiment(shared)
    assert there != here
    assert client.get_experiment_by_name(shared).experiment_id == there
    with mlflow.start_run(experiment_id=there) as run:
        mlflow.log_metric("loss", 0.5)
        mlflow.log_param("lr", "0.1")
    assert client.get_run(run.info.run_id).data.metrics == {"loss": 0.5}
    assert run.info.artifact_uri.startswith(f"mlflow-artifacts:/workspaces/{team}/{there}/")
    listed = [e.experiment_id for e in client.search_experiments()]
    assert listed == [there]
    # The default workspace's experiment is not found from here, by ID or by run.
    with pytest.raises(MlflowException) as err:
        client.get_experiment(here)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    mlflow.set_workspace(None)
    assert client.get_experiment_by_name(shared).experiment_id == here
    with pytest.raises(MlflowException) as err:
        client.get_run(run.info.run_id)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.search_runs([there]) == []
    assert there not in [e.experiment_id for e in client.search_experiments()]


def test_models_and_prompts_stay_in_their_workspace(client):
    team = unique("team").lower()
    mlflow.create_workspace(team)
    name = unique("model")
    client.create_registered_model(name)
    mlflow.set_workspace(team)
    with pytest.raises(MlflowException) as err:
        client.get_registered_model(name)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    client.create_registered_model(name, description="the team's own")
    experiment = client.create_experiment(unique("training"))
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.log_text("flavors: {}", "model/MLmodel")
    source = f"runs:/{run.info.run_id}/model"
    version = client.create_model_version(name, source, run_id=run.info.run_id)
    assert int(version.version) == 1
    assert [m.name for m in client.search_registered_models()] == [name]
    assert client.get_registered_model(name).description == "the team's own"
    prompt = unique("prompt")
    mlflow.genai.register_prompt(name=prompt, template="Hi {{who}}")
    assert mlflow.genai.load_prompt(f"prompts:/{prompt}/1").format(who="Ann") == "Hi Ann"
    # The client links a new prompt to the active experiment from a thread of its own; let it
    # finish in this workspace before switching.
    deadline = time.monotonic() + 10
    while "_mlflow_experiment_ids" not in client.get_prompt(prompt).tags and time.monotonic() < deadline:
        time.sleep(0.1)
    mlflow.set_workspace(None)
    assert client.get_registered_model(name).description != "the team's own", "default's own model"
    with pytest.raises(MlflowException):
        mlflow.genai.load_prompt(f"prompts:/{prompt}/1")
    # A version in default cannot come from a run of another workspace.
    with pytest.raises(MlflowException) as err:
        client.create_model_version(name, source, run_id=run.info.run_id)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert run.info.run_id in err.value.message
    # Nor from a logged model of another workspace.
    mlflow.set_workspace(team)
    logged = client.create_logged_model(experiment, name="lm")
    mlflow.set_workspace(None)
    with pytest.raises(MlflowException) as err:
        client.create_model_version(name, f"models:/{logged.model_id}", model_id=logged.model_id)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert logged.model_id in err.value.message
    assert client.search_model_versions(f"name='{name}'") == []


def test_delete_modes(client, server):
    team = unique("team").lower()
    mlflow.create_workspace(team)
    mlflow.set_workspace(team)
    kept = client.create_experiment(unique("kept"))
    mlflow.set_workspace(None)
    with pytest.raises(MlflowException) as err:
        mlflow.delete_workspace(team)
    assert err.value.error_code == "INVALID_STATE"
    assert "still contains 1 resource(s)" in err.value.message
    with pytest.raises(MlflowException) as err:
        mlflow.delete_workspace(team, mode="SOMETIMES")
    mlflow.delete_workspace(team, mode="SET_DEFAULT")
    assert client.get_experiment(kept).experiment_id == kept, "moved to default"
    doomed_ws = unique("team").lower()
    mlflow.create_workspace(doomed_ws)
    mlflow.set_workspace(doomed_ws)
    doomed = client.create_experiment(unique("doomed"))
    mlflow.set_workspace(None)
    mlflow.delete_workspace(doomed_ws, mode="CASCADE")
    with pytest.raises(MlflowException) as err:
        client.get_experiment(doomed)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    # A deleted workspace can no longer be chosen.
    r = requests.get(
        f"{server.url}/api/2.0/mlflow/experiments/search?max_results=1",
        headers={"X-MLFLOW-WORKSPACE": doomed_ws},
        timeout=10,
    )
    assert r.status_code == 404
    assert r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    # Deleting it again (a replay) finds nothing.
    with pytest.raises(MlflowException) as err:
        mlflow.delete_workspace(doomed_ws, mode="CASCADE")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_a_workspace_deleted_during_creations_leaves_no_orphan(server):
    """Experiments created while their workspace is deleted (RESTRICT): the deletion succeeds
    only if no creation came first, a creation after it finds no workspace (404, never a 5xx),
    and every acknowledged creation is there."""
    api = f"{server.url}/api/2.0/mlflow"
    for attempt in range(4):
        team = unique("busy").lower()
        requests.post(f"{server.url}/api/3.0/mlflow/workspaces", json={"name": team}, timeout=10).raise_for_status()

        def create(i):
            return requests.post(
                f"{api}/experiments/create",
                json={"name": f"e-{i}"},
                headers={"X-MLFLOW-WORKSPACE": team},
                timeout=30,
            )

        def delete():
            return requests.delete(f"{server.url}/api/3.0/mlflow/workspaces/{team}", timeout=30)

        with ThreadPoolExecutor(max_workers=8) as pool:
            created = [pool.submit(create, i) for i in range(attempt * 3)]
            deletion = pool.submit(delete)
            created += [pool.submit(create, i) for i in range(attempt * 3, 12)]
            created = [f.result() for f in created]
            deleted = deletion.result()
        made = [r.json()["experiment_id"] for r in created if r.status_code == 200]
        for r in created:
            assert r.status_code in (200, 404), r.text
            if r.status_code == 404:
                assert r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST", r.text
        if deleted.status_code == 204:
            assert made == [], f"attempt {attempt}: orphans {made}"
        else:
            assert deleted.status_code == 400 and deleted.json()["error_code"] == "INVALID_STATE", deleted.text
            listed = requests.get(
                f"{api}/experiments/search?max_results=100",
                headers={"X-MLFLOW-WORKSPACE": team},
                timeout=10,
            ).json()
            assert sorted(e["experiment_id"] for e in listed["experiments"]) == sorted(made)


def test_a_server_without_workspaces_says_so(tmp_path, monkeypatch):
    srv = serverctl.ServerProcess(tmp_path / "data")
    srv.start()
    try:
        monkeypatch.delenv("MLFLOW_WORKSPACE", raising=False)
        mlflow.set_tracking_uri(srv.url)
        with pytest.raises(MlflowException) as err:
            mlflow.list_workspaces()
        assert "does not expose workspace APIs" in err.value.message
        info = requests.get(f"{srv.url}/api/3.0/mlflow/server-info", timeout=10).json()
        assert info["workspaces_enabled"] is False
        r = requests.get(
            f"{srv.url}/api/2.0/mlflow/experiments/search?max_results=1",
            headers={"X-MLFLOW-WORKSPACE": "team-a"},
            timeout=10,
        )
        assert r.json()["error_code"] == "FEATURE_DISABLED"
    finally:
        srv.stop()


def test_members_create_and_outsiders_cannot(tmp_path, monkeypatch):
    srv = serverctl.ServerProcess(
        tmp_path / "data",
        extra_args=["--enable-workspaces", "--auth-mode", "required"],
        extra_env={"KEEL_ADMIN_USERNAME": ADMIN[0], "KEEL_ADMIN_PASSWORD": ADMIN[1]},
    )
    srv.start()
    try:
        from mlflow.server import get_app_client

        monkeypatch.delenv("MLFLOW_WORKSPACE", raising=False)
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN[0])
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN[1])
        mlflow.set_tracking_uri(srv.url)
        mlflow.create_workspace("team-a")
        mlflow.create_workspace("team-b")
        auth = get_app_client("basic-auth", tracking_uri=srv.url)
        auth.create_user("carol", "carol-password-1")
        seeded = {r.name: r for r in auth.list_roles("team-a")}
        assert set(seeded) >= {"admin", "user"}
        auth.assign_role("carol", seeded["user"].id)

        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "carol")
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "carol-password-1")
        carol = MlflowClient(tracking_uri=srv.url)
        assert sorted(w.name for w in mlflow.list_workspaces()) == ["default", "team-a"]
        mlflow.set_workspace("team-a")
        mine = carol.create_experiment("carol's")
        carol.log_metric(carol.create_run(mine).info.run_id, "m", 1.0)
        mlflow.set_workspace("team-b")
        with pytest.raises(MlflowException) as err:
            carol.create_experiment("not a member")
        assert err.value.error_code == "PERMISSION_DENIED"
        with pytest.raises(MlflowException) as err:
            carol.get_experiment(mine)
        assert err.value.error_code == "PERMISSION_DENIED"
        with pytest.raises(MlflowException) as err:
            mlflow.delete_workspace("team-b")
        assert err.value.error_code == "PERMISSION_DENIED"
        mlflow.set_workspace(None)
    finally:
        mlflow.set_workspace(None)
        srv.stop()

"""`keel server` takes `mlflow server`'s artifact flags with the reference's meaning (issue 16):
with `--no-serve-artifacts --default-artifact-root DIR` new experiments keep their artifacts
under DIR, the official client writes there directly, and the proxy's routes answer 503."""

import pytest
import requests
from mlflow import MlflowClient

import serverctl

pytestmark = pytest.mark.skipif(serverctl.IS_REFERENCE, reason="starts keel with its own flags")


@pytest.fixture
def direct_server(tmp_path):
    root = tmp_path / "direct-artifacts"
    srv = serverctl.ServerProcess(
        tmp_path / "data", extra_args=["--no-serve-artifacts", "--default-artifact-root", str(root), "--workers", "2"]
    ).start()
    try:
        yield srv, root
    finally:
        srv.stop()


def test_without_the_proxy_clients_write_to_the_default_artifact_root(direct_server, tmp_path):
    srv, root = direct_server
    client = MlflowClient(tracking_uri=srv.url)
    exp_id = client.create_experiment("direct-artifacts")
    assert client.get_experiment(exp_id).artifact_location == f"{root}/{exp_id}"
    run = client.create_run(exp_id)
    local = tmp_path / "notes.txt"
    local.write_text("written by the client itself")
    client.log_artifact(run.info.run_id, str(local), artifact_path="docs")
    stored = root / exp_id / run.info.run_id / "artifacts" / "docs" / "notes.txt"
    assert stored.read_text() == "written by the client itself"
    assert [f.path for f in client.list_artifacts(run.info.run_id, "docs")] == ["docs/notes.txt"]

    resp = requests.get(f"{srv.url}/api/2.0/mlflow-artifacts/artifacts/x.txt", timeout=30)
    assert resp.status_code == 503
    assert resp.text.startswith(
        "Endpoint: /api/2.0/mlflow-artifacts/artifacts/x.txt disabled due to the mlflow server running "
        "with `--no-serve-artifacts`"
    )

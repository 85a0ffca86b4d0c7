"""`--static-prefix` (issue 16), on Keel and on the reference: every route is served under the
prefix, so the official client works with `http://host:port/<prefix>` as its tracking URI
(tracking, the artifact proxy, the registry), the UI is at `<prefix>/`, and nothing is served
outside the prefix."""

import re
from urllib.parse import urljoin

import pytest
import requests
from mlflow import MlflowClient

import serverctl
from conftest import unique

PREFIX = "/team-a/mlflow"


@pytest.fixture(scope="module")
def prefixed(tmp_path_factory):
    srv = serverctl.ServerProcess(tmp_path_factory.mktemp("prefixed") / "data", static_prefix=PREFIX).start()
    try:
        yield srv
    finally:
        srv.stop()


def test_the_client_works_under_the_prefix(prefixed, tmp_path):
    client = MlflowClient(tracking_uri=prefixed.url)
    exp_id = client.create_experiment(unique("prefixed"))
    run = client.create_run(exp_id)
    run_id = run.info.run_id
    client.log_metric(run_id, "loss", 0.25, step=3)
    client.log_param(run_id, "lr", "0.1")
    notes = tmp_path / "notes.txt"
    notes.write_text("through the prefix")
    client.log_artifact(run_id, str(notes), artifact_path="docs")
    client.set_terminated(run_id)

    got = client.get_run(run_id)
    assert got.data.metrics == {"loss": 0.25} and got.data.params == {"lr": "0.1"}
    assert [f.path for f in client.list_artifacts(run_id, "docs")] == ["docs/notes.txt"]
    local = client.download_artifacts(run_id, "docs/notes.txt", str(tmp_path / "down"))
    assert open(local).read() == "through the prefix"
    found = client.search_runs([exp_id], filter_string="metrics.loss < 1")
    assert [r.info.run_id for r in found] == [run_id]

    name = unique("prefixed-model")
    client.create_registered_model(name)
    version = client.create_model_version(name, f"runs:/{run_id}/docs", run_id=run_id)
    assert client.get_model_version(name, version.version).run_id == run_id


def test_nothing_is_served_outside_the_prefix(prefixed):
    assert requests.get(f"{prefixed.url}/health", timeout=30).status_code == 200
    assert requests.get(f"{prefixed.url}/version", timeout=30).status_code == 200
    for outside in [
        "/health",
        "/api/2.0/mlflow/experiments/search?max_results=1",
        f"{PREFIX}x/health",
        "/team-a/health",
    ]:
        r = requests.get(f"{prefixed.root_url}{outside}", timeout=30)
        assert r.status_code == 404, outside


def test_the_ui_is_served_under_the_prefix(prefixed):
    r = requests.get(prefixed.url, allow_redirects=False, timeout=30)
    assert r.status_code == 308
    assert r.headers["location"].endswith(f"{PREFIX}/")
    page = requests.get(f"{prefixed.url}/", timeout=30)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    # Every file the page refers to is served (the reference refers to them relatively, Keel
    # as `<prefix>/static-files/...`).
    refs = re.findall(r'(?:src|href)="([^"]*static-files/[^"]+)"', page.text)
    assert refs, page.text[:500]
    for ref in refs:
        assert requests.get(urljoin(f"{prefixed.url}/", ref), timeout=30).status_code == 200, ref
    if not serverctl.IS_REFERENCE:
        assert f'<meta name="keel-base" content="{PREFIX}"' in page.text

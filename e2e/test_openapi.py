"""The OpenAPI 3.1 description Keel serves at /api/openapi.json (generated from its route table
and wire types), and schemathesis driving every operation from it (property-based, stateful
where links allow) against the running server: no 5xx, and every answer matches the schema."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

import serverctl

pytestmark = pytest.mark.skipif(serverctl.IS_REFERENCE, reason="Keel's own OpenAPI description")

ST = Path(sys.executable).with_name("st")


def test_the_description_covers_the_api(server):
    resp = requests.get(f"{server.url}/api/openapi.json", timeout=30)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/json")
    doc = resp.json()
    assert doc["openapi"].startswith("3.1")
    paths = doc["paths"]
    for path, method in [
        ("/api/2.0/mlflow/runs/create", "post"),
        ("/api/2.0/mlflow/runs/search", "post"),
        ("/api/2.0/mlflow/metrics/get-history", "get"),
        ("/api/2.0/mlflow-artifacts/artifacts/{path}", "put"),
        ("/api/3.0/mlflow/traces/{trace_id}/assessments", "post"),
        ("/v1/traces", "post"),
        ("/ajax-api/2.0/mlflow/runs/create", "post"),
        ("/api/openapi.json", "get"),
    ]:
        assert method in paths.get(path, {}), f"{method.upper()} {path} is not described"
    body = paths["/api/2.0/mlflow/runs/log-batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"run_id", "metrics", "params", "tags"} <= set(body["properties"])


@pytest.fixture
def fuzzed_server(tmp_path_factory):
    """A server of its own: schemathesis renames, deletes and overwrites whatever its generated
    requests name, the Default experiment included, which the shared server's tests rely on."""
    srv = serverctl.ServerProcess(tmp_path_factory.mktemp("schemathesis") / "data").start()
    try:
        yield srv
    finally:
        srv.stop()


def test_schemathesis_finds_no_server_error_and_no_schema_break(fuzzed_server, tmp_path):
    # Every operation once (the /ajax-api/ twins are the same handlers), positive and negative
    # data, with a fixed seed so a failure reproduces. Creating an account is left out: on this
    # server (auth_mode auto) the first account turns authentication on for every later
    # request; those routes have their own tests. The signed-URL routes answer 501 on this
    # server's local artifact store, as the reference's do (test_presigned.py covers them).
    server = fuzzed_server
    cmd = [
        str(ST),
        "run",
        f"{server.url}/api/openapi.json",
        "--checks",
        "not_a_server_error,response_schema_conformance,content_type_conformance",
        "--exclude-path-regex",
        "^/ajax-api/|/users/create$|/service-accounts$|/presigned",
        "--max-examples",
        os.environ.get("KEEL_SCHEMATHESIS_EXAMPLES", "15"),
        "--workers",
        "2",
        "--seed",
        "20261203",
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    result = subprocess.run(
        cmd, capture_output=True, text=True, timeout=900, cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"}
    )
    summary = result.stdout[-6000:]
    print(summary)
    assert result.returncode == 0, f"schemathesis found failures:\n{summary}\n{result.stderr[-2000:]}"

"""Artifacts through the proxy with the official client: logging, listing, loading, downloading, ranges, and traversal attempts that must fail."""

from __future__ import annotations

import hashlib
import os

import mlflow
import pytest

import serverctl
from conftest import unique

# Refused by Keel as DESIGN.md's artifact-path rules demand; the reference stores them as literal
# file names inside its root, so these cases only run against Keel.
keel_hardening = pytest.mark.skipif(
    serverctl.IS_REFERENCE, reason="Keel-only hardening: the reference accepts this as a literal in-root name"
)

ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


def _tree(root: str) -> list[str]:
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files)


def test_log_artifacts_with_nested_folders_and_list(client, experiment_id, tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "sub" / "deeper" / "a.txt").write_text("hello")
    (tmp_path / "top.bin").write_bytes(b"\x00\x01\x02")
    run = client.create_run(experiment_id)
    client.log_artifacts(run.info.run_id, str(tmp_path), artifact_path="folder")
    root = client.list_artifacts(run.info.run_id)
    assert [(f.path, f.is_dir) for f in root] == [("folder", True)]
    out = client.download_artifacts(run.info.run_id, "folder", str(tmp_path / "download"))
    assert _tree(out) == ["sub/deeper/a.txt", "top.bin"]
    with open(os.path.join(out, "sub/deeper/a.txt")) as f:
        assert f.read() == "hello"


def test_log_text_and_dict_load_back(experiment_id):
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_text("ünïcode ✓ — 日本語", "notes/t.txt")
        mlflow.log_dict({"a": 1, "nested": {"b": [1, 2]}}, "cfg.json")
    uri = f"runs:/{run.info.run_id}"
    assert mlflow.artifacts.load_text(f"{uri}/notes/t.txt") == "ünïcode ✓ — 日本語"
    assert mlflow.artifacts.load_dict(f"{uri}/cfg.json") == {"a": 1, "nested": {"b": [1, 2]}}
    assert mlflow.artifacts.load_text(run.info.artifact_uri + "/notes/t.txt") == "ünïcode ✓ — 日本語"


def test_large_artifact_round_trips_byte_for_byte(client, run_id, tmp_path):
    data = os.urandom(48 * 1024 * 1024)
    (tmp_path / "big.bin").write_bytes(data)
    client.log_artifact(run_id, str(tmp_path / "big.bin"), artifact_path="large")
    out = client.download_artifacts(run_id, "large/big.bin", str(tmp_path / "dl"))
    with open(out, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == hashlib.sha256(data).hexdigest()


def test_run_artifact_listing_over_rest(api, client, run_id, tmp_path):
    (tmp_path / "x.txt").write_text("x")
    client.log_artifact(run_id, str(tmp_path / "x.txt"), artifact_path="d")
    body = api.get("artifacts/list", {"run_id": run_id, "path": "d"}).json()
    assert body["root_uri"].endswith(f"/{run_id}/artifacts")
    assert body["files"] == [{"path": "d/x.txt", "is_dir": False, "file_size": 1}]


def test_proxy_upload_download_range_and_delete(api):
    path = f"{unique('raw')}/file.bin"
    data = bytes(range(256)) * 4
    put = api.session.put(f"{api.base_url}{ARTIFACTS}/{path}", data=data, timeout=60)
    assert put.status_code == 200, put.text
    got = api.session.get(f"{api.base_url}{ARTIFACTS}/{path}", timeout=60)
    assert got.status_code == 200 and got.content == data
    part = api.session.get(f"{api.base_url}{ARTIFACTS}/{path}", headers={"Range": "bytes=10-19"}, timeout=60)
    assert part.status_code == 206, part.text
    assert part.content == data[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    listing = api.get(ARTIFACTS, {"path": path.split("/")[0]}).json()
    assert listing["files"] == [{"path": "file.bin", "is_dir": False, "file_size": len(data)}]
    assert api.session.delete(f"{api.base_url}{ARTIFACTS}/{path}", timeout=60).status_code == 200
    assert api.session.get(f"{api.base_url}{ARTIFACTS}/{path}", timeout=60).status_code == 404


@pytest.mark.parametrize(
    "raw",
    [
        "..%2f..%2f..%2fetc%2fpasswd",  # URL-encoded traversal
        "%252e%252e%252f%252e%252e%252fetc%252fpasswd",  # double-encoded traversal
        pytest.param("a%5c..%5c..%5cetc%5cpasswd", marks=keel_hardening),  # backslashes
        "%2fetc%2fpasswd",  # absolute after decoding
        pytest.param("x%00.txt", marks=keel_hardening),  # NUL
        "x%23%2f..%2f..%2fetc",  # '#' inside the path
        pytest.param("x%3b..%2fetc", marks=keel_hardening),  # ';' inside the path
    ],
)
def test_traversal_is_refused_for_reads_and_writes(api, raw):
    url = f"{api.base_url}{ARTIFACTS}/{raw}"
    read = api.session.get(url, timeout=60)
    assert read.status_code in (400, 404), (read.status_code, read.text[:200])
    assert "root:" not in read.text
    write = api.session.put(url, data=b"pwned", timeout=60)
    assert write.status_code in (400, 404), (write.status_code, write.text[:200])


def test_listing_with_traversal_is_refused(api):
    resp = api.get(ARTIFACTS, {"path": "../../etc"})
    assert resp.status_code in (400, 404)
    assert "passwd" not in resp.text


def test_ui_get_artifact_serves_a_run_file(api, client, run_id, tmp_path):
    (tmp_path / "page.html").write_text("<script>alert(1)</script>")
    client.log_artifact(run_id, str(tmp_path / "page.html"), artifact_path="web")
    resp = api.get("/get-artifact", {"run_uuid": run_id, "path": "web/page.html"})
    assert resp.status_code == 200, resp.text
    assert resp.text == "<script>alert(1)</script>"
    if not serverctl.IS_REFERENCE:
        # Keel hardening (the reference serves this as text/html): user content never runs as
        # a page of this origin.
        assert not resp.headers["Content-Type"].startswith("text/html")
    missing = api.get("/get-artifact", {"run_uuid": run_id, "path": "web/none.txt"})
    assert missing.status_code == 404
    escape = api.get("/get-artifact", {"run_uuid": run_id, "path": "../../../../etc/passwd"})
    assert escape.status_code in (400, 404) and "root:" not in escape.text

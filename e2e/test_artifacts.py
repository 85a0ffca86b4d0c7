"""Artifacts through the proxy with the official client: logging, listing, loading, downloading, ranges, multipart upload, and traversal attempts that must fail. Every test runs twice: on a local artifact directory and on S3 (moto)."""

from __future__ import annotations

import hashlib
import math
import os
import re
from pathlib import Path

import mlflow
import pytest
from mlflow.store.artifact import http_artifact_repo

import serverctl
from artifact_backends import api, base_url, client, server  # noqa: F401  (both artifact stores)
from conftest import S3_BUCKET, S3_PREFIX, unique

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


# (file name, the reference's Content-Type, its Content-Disposition), observed on MLflow 3.17.2.
DOWNLOAD_HEADERS = [
    ("plot.png", "image/png", "attachment; filename=plot.png"),
    ("MLmodel", "text/plain", "attachment; filename=MLmodel"),
    ("metrics.json", "text/plain", "attachment; filename=metrics.json"),
    ("model.pkl", "application/octet-stream", "attachment; filename=model.pkl"),
    ("bundle.tar.gz", "application/x-tar", "attachment; filename=bundle.tar.gz"),
    ("my notes.txt", "text/plain", 'attachment; filename="my notes.txt"'),
    ("r\u00e9sum\u00e9.pdf", "application/pdf",
     "attachment; filename=resume.pdf; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"),
]


@pytest.mark.parametrize("name,content_type,disposition", DOWNLOAD_HEADERS)
def test_downloads_carry_the_reference_type_and_disposition(api, client, run_id, tmp_path, name, content_type,
                                                            disposition):
    (tmp_path / name).write_bytes(b"x" * 10)
    client.log_artifact(run_id, str(tmp_path / name), artifact_path="d")
    responses = [api.get("/get-artifact", {"run_uuid": run_id, "path": f"d/{name}"})]
    root = _proxied_root(client, run_id)
    if root is not None:
        responses.append(api.session.get(f"{api.base_url}{ARTIFACTS}/{root}/d/{name}", timeout=60))
    for resp in responses:
        assert resp.status_code == 200, resp.text
        assert resp.headers["Content-Type"] == content_type
        assert resp.headers["Content-Disposition"] == disposition
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.content == b"x" * 10


def _proxied_root(client, run_id) -> str | None:
    """The run's artifact folder as a path of the artifact proxy (None when not proxied)."""
    uri = client.get_run(run_id).info.artifact_uri
    if not uri.startswith("mlflow-artifacts:"):
        return None
    return uri.removeprefix("mlflow-artifacts:").lstrip("/")


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
    # As the reference: the page's own type, as an attachment a browser saves, never sniffed.
    assert resp.headers["Content-Type"] == "text/html"
    assert resp.headers["Content-Disposition"] == "attachment; filename=page.html"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    if not serverctl.IS_REFERENCE:
        # Keel hardening: even opened in place, user content runs in a sandbox, never as a
        # page of this origin.
        assert "sandbox" in resp.headers["Content-Security-Policy"]
    missing = api.get("/get-artifact", {"run_uuid": run_id, "path": "web/none.txt"})
    assert missing.status_code == 404
    escape = api.get("/get-artifact", {"run_uuid": run_id, "path": "../../../../etc/passwd"})
    assert escape.status_code in (400, 404) and "root:" not in escape.text


MIB = 1024 * 1024


def _staging_leftovers(request, srv) -> list[str]:
    """What multipart uploads left in Keel's staging area (`.keel-mpu`) or in flight in S3."""
    if srv.artifacts_destination is None:
        staging = Path(srv.data_dir) / "artifacts" / ".keel-mpu"
        return sorted(str(p) for p in staging.rglob("*")) if staging.exists() else []
    s3 = request.getfixturevalue("moto").client()
    keys = s3.list_objects_v2(Bucket=S3_BUCKET, Prefix=f"{S3_PREFIX}/.keel-mpu/").get("Contents", [])
    uploads = s3.list_multipart_uploads(Bucket=S3_BUCKET).get("Uploads", [])
    return [k["Key"] for k in keys] + [u["Key"] for u in uploads]


def test_multipart_upload_goes_through_keel_in_parts(request, client, server, run_id, tmp_path, monkeypatch):
    if serverctl.IS_REFERENCE:
        pytest.skip("the reference hands out presigned cloud URLs, or refuses multipart on local storage")
    chunk = 5 * MIB  # the smallest part S3 accepts (all but the last)
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(chunk))
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(chunk))
    data = os.urandom(50 * MIB + 12_345)
    (tmp_path / "weights.bin").write_bytes(data)
    # The client PUTs each part with `requests.put` to the URL the server handed out; a single
    # (non-multipart) upload would go through `http_request` instead and never show up here.
    part_urls: list[str] = []
    real_put = http_artifact_repo.requests.put

    def spy_put(url, *args, **kwargs):
        part_urls.append(url)
        return real_put(url, *args, **kwargs)

    monkeypatch.setattr(http_artifact_repo.requests, "put", spy_put)
    client.log_artifact(run_id, str(tmp_path / "weights.bin"), artifact_path="model")
    monkeypatch.undo()

    assert len(part_urls) == math.ceil(len(data) / chunk) == 11, part_urls
    prefix = f"{server.url}/api/2.0/mlflow-artifacts/mpu/part/"
    assert all(u.startswith(prefix) for u in part_urls), part_urls[:2]
    assert sorted(int(u.split("?")[0].rsplit("/", 1)[1]) for u in part_urls) == list(range(1, 12))
    assert all("signature=" in u for u in part_urls), part_urls[:2]
    log = re.sub(r"\x1b\[[0-9;]*m", "", Path(server.log_path).read_text(errors="replace"))
    completed = [line for line in log.splitlines() if "multipart upload completed" in line and "weights.bin" in line]
    assert len(completed) == 1 and "parts=11" in completed[0], server.log_tail(20)

    listed = client.list_artifacts(run_id, "model")
    assert [(f.path, f.file_size) for f in listed] == [("model/weights.bin", len(data))]
    out = client.download_artifacts(run_id, "model/weights.bin", str(tmp_path / "dl"))
    assert hashlib.sha256(Path(out).read_bytes()).digest() == hashlib.sha256(data).digest()
    assert _staging_leftovers(request, server) == []
    if server.artifacts_destination is not None:
        # The object really is in the bucket, at the key MLflow's own S3 layout would use.
        run_root = client.get_run(run_id).info.artifact_uri.removeprefix("mlflow-artifacts:/")
        head = request.getfixturevalue("moto").client().head_object(
            Bucket=S3_BUCKET, Key=f"{S3_PREFIX}/{run_root}/model/weights.bin"
        )
        assert head["ContentLength"] == len(data)


def test_multipart_parts_over_the_proxy_by_hand(api, server):
    """The wire format the client relies on: create → part URLs, PUT → ETag, complete, abort."""
    if serverctl.IS_REFERENCE:
        pytest.skip("Keel-only: the reference refuses multipart on local storage")
    folder = unique("mpu")
    mpu = f"{api.base_url}/api/2.0/mlflow-artifacts/mpu"
    created = api.session.post(f"{mpu}/create/{folder}", json={"path": "/tmp/x/file.bin", "num_parts": 2}, timeout=60)
    assert created.status_code == 200, created.text
    body = created.json()
    assert [c["part_number"] for c in body["credentials"]] == [1, 2]
    first, second = os.urandom(5 * MIB), b"tail"
    etags = []
    for credential, part in zip(body["credentials"], [first, second]):
        put = api.session.put(credential["url"], data=part, timeout=60)
        assert put.status_code == 200, put.text
        etags.append(put.headers["ETag"])
    wrong = api.session.post(
        f"{mpu}/complete/{folder}",
        json={"path": "file.bin", "upload_id": body["upload_id"], "parts": [{"part_number": 1, "etag": etags[1]}]},
        timeout=60,
    )
    assert wrong.status_code == 400 and wrong.json()["error_code"] == "INVALID_PARAMETER_VALUE", wrong.text
    done = api.session.post(
        f"{mpu}/complete/{folder}",
        json={
            "path": "file.bin",
            "upload_id": body["upload_id"],
            "parts": [{"part_number": i + 1, "etag": e} for i, e in enumerate(etags)],
        },
        timeout=60,
    )
    assert done.status_code == 200, done.text
    got = api.session.get(f"{api.base_url}{ARTIFACTS}/{folder}/file.bin", timeout=60)
    assert got.status_code == 200 and got.content == first + second

    aborted = api.session.post(f"{mpu}/create/{folder}", json={"path": "other.bin", "num_parts": 1}, timeout=60).json()
    assert api.session.put(aborted["credentials"][0]["url"], data=b"x", timeout=60).status_code == 200
    stop = api.session.post(f"{mpu}/abort/{folder}", json={"path": "other.bin", "upload_id": aborted["upload_id"]}, timeout=60)
    assert stop.status_code == 200, stop.text
    late = api.session.put(aborted["credentials"][0]["url"], data=b"x", timeout=60)
    assert late.status_code == 404 and late.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert api.get(ARTIFACTS, {"path": folder}).json()["files"] == [
        {"path": "file.bin", "is_dir": False, "file_size": len(first) + len(second)}
    ]

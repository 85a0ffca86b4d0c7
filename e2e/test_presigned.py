"""Signed URLs for direct access to artifacts in S3 (issue 16), on Keel and on the reference:
`GET mlflow-artifacts/presigned/<path>` (which the official client uses for every download once
`server-info` advertises `multipart_downloads_enabled`, as both servers do on S3), and
`artifacts/presigned-download-url` / `presigned-upload-url` for runs whose artifacts go to the
bucket directly. On a local artifact store every one of them answers 501."""

from __future__ import annotations

import pytest
import requests
from mlflow import MlflowClient

import serverctl
from conftest import S3_BUCKET, Api, unique

PRESIGNED = "/api/2.0/mlflow-artifacts/presigned"


def _logged(client: MlflowClient, tmp_path, name: str, text: str) -> tuple[str, str]:
    exp = client.create_experiment(unique("presigned"))
    run_id = client.create_run(exp).info.run_id
    local = tmp_path / name
    local.write_text(text)
    client.log_artifact(run_id, str(local), artifact_path="docs")
    return exp, run_id


def test_a_local_store_signs_nothing(server, api, tmp_path):
    assert api.get("/api/3.0/mlflow/server-info").json()["multipart_downloads_enabled"] is False
    client = MlflowClient(tracking_uri=server.url)
    exp, run_id = _logged(client, tmp_path, "a.txt", "local")
    r = api.get(f"{PRESIGNED}/{exp}/{run_id}/artifacts/docs/a.txt")
    assert r.status_code == 501
    assert r.json() == {
        "error_code": "NOT_IMPLEMENTED",
        "message": "Multipart download is not supported for the current artifact repository",
    }
    # Runs of the proxy are refused before the store is asked; runs in a local directory (the
    # reference's session server writes there directly) cannot be signed.
    proxied = client.get_run(run_id).info.artifact_uri.startswith("mlflow-artifacts:")
    for route, message in [
        ("artifacts/presigned-upload-url", "Presigned upload is not supported for proxied artifact storage"),
        ("artifacts/presigned-download-url", "Presigned download is not supported for runs with proxied"),
    ]:
        r = api.post(route, json={"run_id": run_id, "path": "docs/a.txt"})
        if proxied:
            assert r.status_code == 400, r.text
            assert r.json()["message"].startswith(message), r.json()
        else:
            assert r.status_code == 501, r.text
            assert r.json()["message"].endswith("is not supported for the current artifact repository")


def test_bad_presign_requests_are_refused(server, api, tmp_path):
    run_id = _logged(MlflowClient(tracking_uri=server.url), tmp_path, "b.txt", "x")[1]
    for route, body, status, needle in [
        ("artifacts/presigned-upload-url", {"run_id": run_id}, 400, "'path'"),
        ("artifacts/presigned-upload-url", {"path": "a.txt"}, 400, "Exactly one of run_id and model_id"),
        ("artifacts/presigned-upload-url", {"run_id": run_id, "path": "../x"}, 400, "Invalid path"),
        ("artifacts/presigned-upload-url", {"run_id": "nope", "path": "a.txt"}, 404, "nope"),
        ("artifacts/presigned-download-url", {"path": "a.txt"}, 400, "'run_id'"),
        ("artifacts/presigned-download-url", {"run_id": run_id, "path": "a.txt", "expiration": 0}, 400,
         "expiration must be between 1 and 604800 seconds (got 0)."),
        ("artifacts/presigned-download-url", {"run_id": run_id, "path": "/etc/passwd"}, 400, "Invalid path"),
    ]:
        r = api.post(route, json=body)
        assert r.status_code == status, (route, body, r.text)
        assert needle in r.json()["message"], (route, body, r.json())


def test_an_s3_store_hands_out_download_urls_the_client_uses(s3_server, tmp_path):
    api = Api(s3_server.url)
    assert api.get("/api/3.0/mlflow/server-info").json()["multipart_downloads_enabled"] is True
    client = MlflowClient(tracking_uri=s3_server.url)
    exp, run_id = _logged(client, tmp_path, "notes.txt", "read me straight from the bucket")
    # The official client asks for a signed URL and reads the bucket itself.
    local = client.download_artifacts(run_id, "docs/notes.txt", str(tmp_path / "down"))
    assert open(local).read() == "read me straight from the bucket"

    artifact_uri = client.get_run(run_id).info.artifact_uri
    store_path = artifact_uri.split("mlflow-artifacts:", 1)[1].lstrip("/")
    r = api.get(f"{PRESIGNED}/{store_path}/docs/notes.txt")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["file_size"] == len("read me straight from the bucket")
    assert body["headers"] == {}
    assert f"/{S3_BUCKET}/" in body["url"] and "X-Amz-Signature=" in body["url"]
    got = requests.get(body["url"], timeout=30)
    assert got.status_code == 200 and got.text == "read me straight from the bucket"
    assert got.headers["content-disposition"] == 'attachment; filename="notes.txt"'
    for missing in ["docs/nothere.txt", "docs"]:
        r = api.get(f"{PRESIGNED}/{store_path}/{missing}")
        assert r.status_code == 404, (missing, r.text)
        assert r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


@pytest.fixture(scope="module")
def direct_s3_server(tmp_path_factory, moto):
    """A server whose clients write run artifacts to the bucket themselves (`--no-serve-artifacts`
    with the bucket as the default artifact root); Keel signs with its store on that location."""
    root = f"s3://{S3_BUCKET}/direct"
    direct = ["--no-serve-artifacts", "--default-artifact-root", root]
    srv = serverctl.ServerProcess(
        tmp_path_factory.mktemp("direct-s3") / "data",
        artifacts_destination=root,
        extra_args=[*moto.keel_args(), *direct],
        reference_args=direct,
        extra_env=moto.server_env(),
    ).start()
    try:
        yield srv
    finally:
        srv.stop()


def test_runs_in_the_bucket_get_upload_and_download_urls(direct_s3_server):
    api = Api(direct_s3_server.url)
    client = MlflowClient(tracking_uri=direct_s3_server.url)
    exp = client.create_experiment(unique("direct"))
    run_id = client.create_run(exp).info.run_id
    assert client.get_run(run_id).info.artifact_uri.startswith(f"s3://{S3_BUCKET}/direct/")

    r = api.post("artifacts/presigned-upload-url", json={"run_id": run_id, "path": "up/hello.txt"})
    assert r.status_code == 200, r.text
    upload = r.json()
    assert upload["headers"] == {"Content-Type": "text/plain"}
    assert "X-Amz-Expires=900" in upload["presigned_url"]
    put = requests.put(upload["presigned_url"], data=b"hello presigned", headers=upload["headers"], timeout=30)
    assert put.status_code == 200, put.text

    r = api.post(
        "artifacts/presigned-download-url", json={"run_id": run_id, "path": "up/hello.txt", "expiration": 60}
    )
    assert r.status_code == 200, r.text
    download = r.json()
    assert download["file_size"] == len(b"hello presigned") and "headers" not in download
    assert "X-Amz-Expires=60" in download["presigned_url"]
    got = requests.get(download["presigned_url"], timeout=30)
    assert got.content == b"hello presigned"
    assert got.headers["content-disposition"] == 'attachment; filename="hello.txt"'

    model = client.create_logged_model(exp)
    r = api.post("artifacts/presigned-upload-url", json={"model_id": model.model_id, "path": "model/MLmodel"})
    assert r.status_code == 200, r.text
    assert r.json()["headers"] == {"Content-Type": "application/octet-stream"}
    assert f"/{S3_BUCKET}/direct/" in r.json()["presigned_url"]

"""HTTPS served by Keel itself (issue 14, network posture): `--tls-cert` and `--tls-key` with a
certificate `openssl` makes, the official client trusting it through
`MLFLOW_TRACKING_SERVER_CERT_PATH`, ALPN offering h2, plain HTTP and untrusted clients refused,
and a key that does not match its certificate refusing to start."""

import subprocess

import pytest
import requests
from mlflow import MlflowClient

import serverctl
from conftest import unique

pytestmark = pytest.mark.skipif(serverctl.IS_REFERENCE, reason="Keel's own TLS settings")

ADMIN = ("admin", "admin-password-1")


def make_cert(directory, name):
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls-certs")
    return make_cert(directory, "server"), make_cert(directory, "other")


@pytest.fixture(scope="module")
def https(tmp_path_factory, certs):
    (cert, key), _ = certs
    srv = serverctl.ServerProcess(
        tmp_path_factory.mktemp("tls") / "data",
        extra_args=["--auth-mode", "required", "--tls-cert", str(cert), "--tls-key", str(key)],
        extra_env={"KEEL_ADMIN_USERNAME": ADMIN[0], "KEEL_ADMIN_PASSWORD": ADMIN[1]},
        ca_cert=cert,
    )
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def test_the_official_client_works_over_https(monkeypatch, https, certs):
    (cert, _), _ = certs
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(cert))
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN[0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN[1])
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    client = MlflowClient(tracking_uri=https.url)
    assert https.url.startswith("https://")
    run = client.create_run(client.create_experiment(unique("tls")))
    client.log_metric(run.info.run_id, "loss", 0.5)
    assert client.get_metric_history(run.info.run_id, "loss")[0].value == 0.5


def test_alpn_offers_h2_with_a_verified_certificate(https, certs):
    (cert, _), _ = certs
    out = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{https.port}", "-alpn", "h2,http/1.1",
         "-CAfile", str(cert), "-verify_return_error"],
        input=b"",
        capture_output=True,
        timeout=30,
    )
    text = (out.stdout + out.stderr).decode(errors="replace")
    assert "ALPN protocol: h2" in text, text
    assert "Verify return code: 0 (ok)" in text, text


def test_untrusted_and_plain_http_clients_are_refused(https, certs):
    _, (other, _) = certs
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{https.url}/health", verify=str(other), timeout=10)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{https.port}/health", timeout=10)


def test_a_key_that_does_not_match_its_certificate_refuses_to_start(tmp_path, certs):
    (cert, _), (_, other_key) = certs
    srv = serverctl.ServerProcess(
        tmp_path / "data",
        extra_args=["--tls-cert", str(cert), "--tls-key", str(other_key)],
        ca_cert=cert,
    )
    with pytest.raises(RuntimeError) as e:
        srv.start(timeout=30)
    assert "cannot be used together" in str(e.value), str(e.value)

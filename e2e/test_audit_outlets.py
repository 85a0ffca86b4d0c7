"""The audit log's outlets against a real keel process: every signed checkpoint is timestamped by
an RFC 3161 authority (`tsa_server.py`: `openssl ts` with its own test CA) and published to a
directory and to a signed webhook. An auditor checks the timestamps with `openssl ts -verify` and
the published checkpoints with the independent verifier; `keel audit verify` checks the
exported bundle's timestamps and names a forged one. A timestamp authority that is down delays
timestamps, never the log."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from mlflow import MlflowClient

import serverctl
import tlog_verifier as tv
from conftest import unique
from test_audit import AUDIT, export, keel_verify

pytestmark = pytest.mark.skipif(serverctl.IS_REFERENCE, reason="the audit log is Keel's own API")

SECRET = "audit-webhook-secret"
HERE = Path(__file__).resolve().parent


class Receiver:
    """A webhook endpoint that keeps every delivery whose MLflow-style signature is valid and
    counts the others."""

    def __init__(self):
        self.deliveries: list[dict] = []
        self.forged = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                delivery = self.headers.get("X-MLflow-Delivery-Id", "")
                stamp = self.headers.get("X-MLflow-Timestamp", "")
                mac = hmac.new(SECRET.encode(), f"{delivery}.{stamp}.{body}".encode(), hashlib.sha256)
                expected = "v1," + base64.b64encode(mac.digest()).decode()
                if hmac.compare_digest(expected, self.headers.get("X-MLflow-Signature", "")):
                    receiver.deliveries.append(json.loads(body))
                    self.send_response(200)
                else:
                    receiver.forged += 1
                    self.send_response(401)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture(scope="module")
def tsa(tmp_path_factory):
    """The timestamp authority: `{"url", "ca"}`, and its process."""
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "tsa_server.py"), "--dir", str(tmp_path_factory.mktemp("tsa"))],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        ready = json.loads(proc.stdout.readline())
        yield ready
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def outlets(tmp_path_factory, tsa):
    """A keel server timestamping and publishing every checkpoint (one per second at most)."""
    base = tmp_path_factory.mktemp("outlets")
    published = base / "published"
    receiver = Receiver()
    srv = serverctl.ServerProcess(
        base / "data",
        extra_args=[
            "--audit-checkpoint-interval-seconds",
            "1",
            "--audit-timestamp-url",
            tsa["url"],
            "--audit-timestamp-ca",
            tsa["ca"],
            "--audit-publish",
            f"file://{published},{receiver.url}",
        ],
        extra_env={"KEEL_AUDIT_PUBLISH_SECRET": SECRET},
    )
    srv.start()
    try:
        yield srv, published, receiver
    finally:
        srv.stop()
        receiver.close()


def latest_checkpoint(srv) -> str:
    r = requests.get(f"{srv.url}{AUDIT}/checkpoint", timeout=30)
    assert r.status_code == 200, r.text
    return r.text


def wait_until(predicate, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout} s")


def openssl_ts_verify(reply: Path, data: Path, ca: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["openssl", "ts", "-verify", "-in", str(reply), "-data", str(data), "-CAfile", ca],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_checkpoints_are_timestamped_and_published(outlets, tsa, tmp_path):
    srv, published, receiver = outlets
    client = MlflowClient(tracking_uri=srv.url)
    client.create_experiment(unique("outlets"))
    vkey = requests.get(f"{srv.url}{AUDIT}/key", timeout=30).text.strip()

    def published_latest():
        path = published / "checkpoint"
        if not path.is_file():
            return None
        size = tv.parse_checkpoint(tv.open_note(path.read_text(), vkey))["size"]
        name = f"{size:020d}"
        stamp = published / "timestamps" / f"{name}.tsr"
        return (size, name) if stamp.is_file() else None

    size, name = wait_until(published_latest, "a timestamped checkpoint published to the directory")
    note = published / "checkpoints" / name
    assert tv.parse_checkpoint(tv.open_note(note.read_text(), vkey))["size"] == size
    # Standard tools check the timestamp of the exact checkpoint bytes.
    done = openssl_ts_verify(published / "timestamps" / f"{name}.tsr", note, tsa["ca"])
    assert done.returncode == 0, done.stderr + done.stdout
    assert "Verification: OK" in done.stdout
    other = tmp_path / "other-note"
    other.write_bytes(note.read_bytes().replace(b"\n", b"\n\n", 1))
    assert openssl_ts_verify(published / "timestamps" / f"{name}.tsr", other, tsa["ca"]).returncode != 0

    # The webhook got signed deliveries, each a checkpoint signed by the log's key.
    wait_until(lambda: any(d["tree_size"] >= size for d in receiver.deliveries), "a webhook delivery")
    assert receiver.forged == 0
    for d in receiver.deliveries:
        assert d["event"] == "audit.checkpoint"
        parsed = tv.parse_checkpoint(tv.open_note(d["checkpoint"], vkey))
        assert parsed["size"] == d["tree_size"]
        assert parsed["root"] == base64.b64decode(d["root"])
        if "timestamp" in d:
            reply = tmp_path / f"{d['tree_size']}.tsr"
            reply.write_bytes(base64.b64decode(d["timestamp"]))
            data = tmp_path / f"{d['tree_size']}.note"
            data.write_text(d["checkpoint"])
            assert openssl_ts_verify(reply, data, tsa["ca"]).returncode == 0

    # The latest checkpoint from the API is the one the outside world holds (or newer).
    api = tv.parse_checkpoint(tv.open_note(latest_checkpoint(srv), vkey))
    assert api["size"] >= size


def test_the_export_carries_timestamps_keel_audit_verify_checks(outlets, tsa, tmp_path):
    srv, _, _ = outlets
    MlflowClient(tracking_uri=srv.url).create_experiment(unique("stamped"))
    bundle = tmp_path / "bundle"
    # With the server's timestamp settings, the export's own checkpoint is timestamped too.
    done = export(srv, bundle, "--audit-timestamp-url", tsa["url"], "--audit-timestamp-ca", tsa["ca"])
    assert done.returncode == 0, done.stderr
    stamps = sorted((bundle / "timestamps").glob("*.tsr"))
    assert stamps, "the bundle carries the checkpoints' timestamps"
    assert (bundle / "tsa-ca.pem").read_text() == Path(tsa["ca"]).read_text()
    ok = keel_verify(bundle, "--tsa-ca", tsa["ca"])
    assert ok.returncode == 0, ok.stderr
    assert f"{len(stamps)} timestamps present, {len(stamps)} verified" in ok.stdout, ok.stdout
    for stamp in stamps:
        checkpoint = bundle / "checkpoints" / stamp.name.removesuffix(".tsr")
        assert openssl_ts_verify(stamp, checkpoint, tsa["ca"]).returncode == 0

    # A timestamp moved onto another checkpoint is named by that checkpoint's size (the
    # previous test's checkpoints and the export's own make at least two).
    assert len(stamps) >= 2, stamps
    forged = tmp_path / "forged"
    shutil.copytree(bundle, forged)
    first, second = sorted((forged / "timestamps").glob("*.tsr"))[:2]
    second.write_bytes(first.read_bytes())
    refused = keel_verify(forged)
    assert refused.returncode == 1
    assert f"FAILED at index {int(second.name.removesuffix('.tsr'))}: BadTimestamp" in refused.stderr, refused.stderr

    # A byte flipped in what the authority signed (here: the checkpoint's digest in the token)
    # is found too. (CMS leaves some of a reply unsigned — its status, certificates the
    # verifier does not use — so a flip at an arbitrary offset, as this test once made, is not
    # always a forgery a signature can reveal.)
    flipped = tmp_path / "flipped"
    shutil.copytree(bundle, flipped)
    stamp = sorted((flipped / "timestamps").glob("*.tsr"))[-1]
    data = bytearray(stamp.read_bytes())
    checkpoint_bytes = (flipped / "checkpoints" / stamp.name.removesuffix(".tsr")).read_bytes()
    imprint_at = bytes(data).find(hashlib.sha256(checkpoint_bytes).digest())
    assert imprint_at > 0, "the token carries the checkpoint's SHA-256"
    data[imprint_at + 7] ^= 0x01
    stamp.write_bytes(bytes(data))
    refused = keel_verify(flipped)
    assert refused.returncode == 1
    assert "BadTimestamp" in refused.stderr, refused.stderr

    # Trusting another authority's CA: nothing verifies.
    other_ca = tmp_path / "other-ca"
    other = subprocess.Popen(
        [sys.executable, str(HERE / "tsa_server.py"), "--dir", str(other_ca)], stdout=subprocess.PIPE, text=True
    )
    try:
        other_pem = json.loads(other.stdout.readline())["ca"]
    finally:
        other.terminate()
        other.wait(timeout=10)
    assert keel_verify(bundle, "--tsa-ca", other_pem).returncode == 1


def test_an_authority_that_is_down_delays_timestamps_not_the_log(outlets, tsa):
    srv, _, _ = outlets
    vkey = requests.get(f"{srv.url}{AUDIT}/key", timeout=30).text.strip()
    tried_before = requests.get(f"{tsa['url']}stats", timeout=10).json()["requests"]
    assert requests.get(f"{tsa['url']}fail", params={"status": "500"}, timeout=10).status_code == 200
    try:
        before = tv.parse_checkpoint(tv.open_note(latest_checkpoint(srv), vkey))["size"]
        MlflowClient(tracking_uri=srv.url).create_experiment(unique("down"))
        # Checkpoints go on being signed while the authority fails.
        wait_until(
            lambda: tv.parse_checkpoint(tv.open_note(latest_checkpoint(srv), vkey))["size"] > before,
            "a checkpoint while the authority is down",
        )
        # ...and the authority was asked for the new one, and failed.
        wait_until(
            lambda: requests.get(f"{tsa['url']}stats", timeout=10).json()["requests"] > tried_before,
            "a timestamp request to the failing authority",
        )
    finally:
        assert requests.get(f"{tsa['url']}fail", params={"status": "ok"}, timeout=10).status_code == 200

"""The audit log against a real keel process driven by the official client, checked by the
independent verifier (`tlog_verifier.py`, written from RFC 9162, RFC 8785 and the C2SP specs):
signed checkpoints, entries and proofs from the API, and the bundle `keel audit export` writes
while the server runs, which `keel audit verify` and the independent verifier both accept — and
both reject once tampered with, naming where."""

from __future__ import annotations

import base64
import shutil
import subprocess
import time

import pytest
import requests
from mlflow import MlflowClient

import serverctl
import tlog_verifier as tv
from conftest import unique

pytestmark = pytest.mark.skipif(serverctl.IS_REFERENCE, reason="the audit log is Keel's own API")

AUDIT = "/api/3.0/keel/audit"


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    """A keel server that signs a checkpoint every second once the log grows."""
    data_dir = tmp_path_factory.mktemp("audit") / "data"
    srv = serverctl.ServerProcess(data_dir, extra_args=["--audit-checkpoint-interval-seconds", "1"])
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def get(srv, path, **params):
    r = requests.get(f"{srv.url}{AUDIT}/{path}", params=params, timeout=30)
    assert r.status_code == 200, r.text
    return r


def b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def checkpoint(srv, vkey: str) -> dict:
    note = get(srv, "checkpoint").text
    return tv.parse_checkpoint(tv.open_note(note, vkey))


def wait_for_checkpoint_beyond(srv, vkey: str, size: int) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        latest = checkpoint(srv, vkey)
        if latest["size"] > size:
            return latest
        time.sleep(0.2)
    raise AssertionError(f"no checkpoint beyond {size} within 30 s")


def workload(client: MlflowClient) -> str:
    """What a team does: an experiment, a run with params, metrics and tags, a registered model
    with a version and an alias."""
    exp = client.create_experiment(unique("audit"))
    run = client.create_run(exp)
    run_id = run.info.run_id
    client.log_param(run_id, "lr", "0.01")
    for step in range(5):
        client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
    client.set_tag(run_id, "team", "risk")
    client.set_terminated(run_id)
    name = unique("model")
    client.create_registered_model(name)
    version = client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    client.set_registered_model_alias(name, "champion", version.version)
    return run_id


def export(srv, out, *extra: str) -> subprocess.CompletedProcess:
    """`keel audit export` with the server's data and store (and `extra` settings)."""
    cmd = [str(serverctl.keel_binary()), "audit", "export", "--out", str(out), "--data-dir", str(srv.data_dir), *extra]
    if serverctl.BACKEND == "postgres":
        cmd += ["--backend-store-uri", serverctl.postgres_store_uri(srv.data_dir)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=serverctl.child_env(), cwd=srv.data_dir)


def keel_verify(bundle, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(serverctl.keel_binary()), "audit", "verify", str(bundle), *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


def other_vkey(name: str) -> str:
    """A valid verifier key of the same name for a key the log never used."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return f"{name}+{tv.key_id(name, public).hex()}+{base64.b64encode(bytes([1]) + public).decode()}"


def test_checkpoints_entries_and_proofs_verify_independently(audited):
    client = MlflowClient(tracking_uri=audited.url)
    run_id = workload(client)
    vkey = get(audited, "key").text.strip()
    name, _, _ = tv.parse_vkey(vkey)
    first = checkpoint(audited, vkey)
    assert first["origin"] == name
    workload(client)
    second = wait_for_checkpoint_beyond(audited, vkey, first["size"])

    # Every entry, canonicalized independently, is exactly its leaf; the leaves hash to the
    # signed roots.
    leaves: list[bytes] = []
    while len(leaves) < second["size"]:
        page = get(audited, "entries", start=len(leaves), max_results=1000).json()["entries"]
        assert page, "the log ends before its checkpoint"
        for e in page:
            assert e["leaf_index"] == len(leaves)
            leaf = b64(e["leaf"])
            assert tv.canonical_json(e["entry"]) == leaf
            leaves.append(leaf)
    hashes = [tv.leaf_hash(leaf) for leaf in leaves]
    assert tv.merkle_root_of_hashes(hashes[: first["size"]]) == first["root"]
    assert tv.merkle_root_of_hashes(hashes[: second["size"]]) == second["root"]

    # The server's proofs verify as RFC 9162 says.
    for index in range(second["size"]):
        proof = get(audited, "proofs/inclusion", leaf_index=index, tree_size=second["size"]).json()
        tv.verify_inclusion(hashes[index], index, second["size"], [b64(h) for h in proof["hashes"]], second["root"])
    proof = get(audited, "proofs/consistency", first=first["size"], second=second["size"]).json()
    tv.verify_consistency(first["size"], second["size"], first["root"], second["root"], [b64(h) for h in proof["hashes"]])

    # The run's history: who created it and every change, by the client's requests.
    found = requests.get(
        f"{audited.url}{AUDIT}/search", params={"resource_id": run_id, "max_results": 100}, timeout=30
    ).json()["entries"]
    actions = [e["entry"]["action"] for e in found]
    assert "runs.create" in actions and actions.count("runs.update") >= 7, actions
    assert all(e["entry"]["outcome"] == "success" for e in found)
    assert all(e["entry"]["request"]["user_agent"].startswith("mlflow-python-client") for e in found)


def test_an_export_taken_while_serving_verifies_and_tampering_is_located(audited, tmp_path):
    workload(MlflowClient(tracking_uri=audited.url))
    bundle = tmp_path / "bundle"
    done = export(audited, bundle)
    assert done.returncode == 0, done.stderr
    report = tv.verify_bundle(bundle)
    assert report["entries"] == report["verified_size"] > 0
    assert report["checkpoints"] >= 1
    ok = keel_verify(bundle)
    assert ok.returncode == 0, ok.stderr
    assert f"{report['entries']} entries" in ok.stdout

    # An auditor pins the key obtained from the server instead of trusting the bundle's.
    vkey = get(audited, "key").text.strip()
    (tmp_path / "log.vkey").write_text(vkey + "\n")
    assert keel_verify(bundle, "--key", str(tmp_path / "log.vkey")).returncode == 0
    (tmp_path / "other.vkey").write_text(other_vkey(tv.parse_vkey(vkey)[0]) + "\n")
    assert keel_verify(bundle, "--key", str(tmp_path / "other.vkey")).returncode == 1

    # A changed byte inside entry 3 (still valid JSON): both verifiers refuse the bundle.
    altered = tmp_path / "altered"
    shutil.copytree(bundle, altered)
    lines = (altered / "entries.jsonl").read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b'"outcome":"success"', b'"outcome":"failure"', 1)
    (altered / "entries.jsonl").write_bytes(b"\n".join(lines))
    refused = keel_verify(altered)
    assert refused.returncode == 1
    # Exactly there: the bundle's hash tiles, vouched for by a signed root, name each leaf.
    assert "FAILED at index 3:" in refused.stderr, refused.stderr
    with pytest.raises(tv.VerificationError):
        tv.verify_bundle(altered)

    # A removed entry is found at its index by both.
    removed = tmp_path / "removed"
    shutil.copytree(bundle, removed)
    lines = (removed / "entries.jsonl").read_bytes().split(b"\n")
    del lines[5]
    (removed / "entries.jsonl").write_bytes(b"\n".join(lines))
    refused = keel_verify(removed)
    assert refused.returncode == 1
    assert "FAILED at index 5:" in refused.stderr, refused.stderr
    with pytest.raises(tv.VerificationError):
        tv.verify_bundle(removed)

    # Entries appended after the last signed checkpoint are reported as unsigned.
    appended = tmp_path / "appended"
    shutil.copytree(bundle, appended)
    with (appended / "entries.jsonl").open("ab") as f:
        f.write(tv.canonical_json({"action": "runs.delete", "v": 1}) + b"\n")
    refused = keel_verify(appended)
    assert refused.returncode == 1
    assert f"index {report['entries']}" in refused.stderr
    with pytest.raises(tv.VerificationError) as e:
        tv.verify_bundle(appended)
    assert e.value.index == report["entries"]


def test_bad_proof_requests_are_400(audited):
    r = requests.get(f"{audited.url}{AUDIT}/proofs/inclusion", params={"leaf_index": -1}, timeout=30)
    assert r.status_code == 400
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    r = requests.get(f"{audited.url}{AUDIT}/proofs/consistency", params={"first": 0}, timeout=30)
    assert r.status_code == 400

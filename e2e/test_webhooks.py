"""Webhooks through the official client: create, list, get, update, test, delete, and real
registry actions delivered to a receiver on 127.0.0.1 with the signature verified exactly as
MLflow's documentation shows. Runs against Keel and the reference server (the suite's servers
may reach loopback targets; one test starts a server that may not)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities.webhook import WebhookEvent, WebhookStatus
from mlflow.exceptions import MlflowException

import serverctl
from conftest import unique


def verify_mlflow_signature(payload: str, signature: str, secret: str, delivery_id: str, timestamp: str) -> bool:
    """The verification of MLflow's webhook documentation."""
    if not signature.startswith("v1,"):
        return False
    signature_b64 = signature.removeprefix("v1,")
    signed_content = f"{delivery_id}.{timestamp}.{payload}"
    expected_signature = hmac.new(secret.encode("utf-8"), signed_content.encode("utf-8"), hashlib.sha256).digest()
    expected_signature_b64 = base64.b64encode(expected_signature).decode("utf-8")
    return hmac.compare_digest(signature_b64, expected_signature_b64)


def verify_timestamp_freshness(timestamp_str: str, max_age: int = 300) -> bool:
    """The replay check of MLflow's webhook documentation."""
    try:
        webhook_timestamp = int(timestamp_str)
    except (ValueError, TypeError):
        return False
    return 0 <= int(time.time()) - webhook_timestamp <= max_age


class Receiver:
    """A webhook receiver on 127.0.0.1 that records requests and answers from a script."""

    def __init__(self):
        self.hits: list[dict] = []
        #: Statuses (or `(status, headers)`) to answer with, in order; then 200.
        self.script: list = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the stdlib's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode("utf-8")
                with receiver.lock:
                    receiver.hits.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    answer = receiver.script.pop(0) if receiver.script else 200
                status, extra = answer if isinstance(answer, tuple) else (answer, {})
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"received" if status < 400 else b"failed")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/webhook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def wait_for(self, count: int, path: str | None = None, timeout: float = 30.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                hits = [h for h in self.hits if path is None or h["path"] == path]
            if len(hits) >= count or time.monotonic() > deadline:
                return hits
            time.sleep(0.05)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


def header(hit: dict, name: str) -> str:
    return next((v for k, v in hit["headers"].items() if k.lower() == name.lower()), "")


def assert_signed(hit: dict, secret: str) -> dict:
    assert header(hit, "Content-Type") == "application/json"
    delivery_id, timestamp = header(hit, "X-MLflow-Delivery-Id"), header(hit, "X-MLflow-Timestamp")
    assert delivery_id and verify_timestamp_freshness(timestamp), hit["headers"]
    assert verify_mlflow_signature(hit["body"], header(hit, "X-MLflow-Signature"), secret, delivery_id, timestamp)
    return json.loads(hit["body"])


def test_webhook_crud_through_the_client(client: MlflowClient):
    name = unique("hook")
    created = client.create_webhook(
        name=name,
        url="https://example.com/hooks/mlflow",
        events=["registered_model.created", WebhookEvent("model_version_alias", "created")],
        description="registry notifications",
        secret="do-not-echo",
    )
    assert created.name == name
    assert created.url == "https://example.com/hooks/mlflow"
    assert created.description == "registry notifications"
    assert created.status == WebhookStatus.ACTIVE
    assert {str(e) for e in created.events} == {"registered_model.created", "model_version_alias.created"}
    assert created.secret is None, "the secret is write-only"
    assert created.creation_timestamp > 0

    fetched = client.get_webhook(created.webhook_id)
    assert (fetched.webhook_id, fetched.name, fetched.url) == (created.webhook_id, name, created.url)

    listed = client.list_webhooks(max_results=1000)
    assert created.webhook_id in [w.webhook_id for w in listed]

    updated = client.update_webhook(
        created.webhook_id, name=name + "-v2", status="DISABLED", events=["prompt.created"]
    )
    assert updated.name == name + "-v2"
    assert updated.status == WebhookStatus.DISABLED
    assert [str(e) for e in updated.events] == ["prompt.created"]
    assert updated.url == created.url, "unchanged fields stay"
    assert updated.last_updated_timestamp >= created.last_updated_timestamp

    client.delete_webhook(created.webhook_id)
    with pytest.raises(MlflowException) as err:
        client.get_webhook(created.webhook_id)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert created.webhook_id not in [w.webhook_id for w in client.list_webhooks(max_results=1000)]


def test_list_webhooks_pages(client: MlflowClient):
    ids = {
        client.create_webhook(name=unique("page"), url="https://example.com/p", events=["prompt.created"]).webhook_id
        for _ in range(3)
    }
    seen, token = [], None
    while True:
        page = client.list_webhooks(max_results=2, page_token=token)
        assert len(page) <= 2
        seen += [w.webhook_id for w in page]
        token = page.token
        if not token:
            break
    assert ids <= set(seen)
    assert len(seen) == len(set(seen))


def test_invalid_webhooks_are_rejected(client: MlflowClient):
    for kwargs in (
        {"name": "-bad-name-", "url": "https://example.com/", "events": ["prompt.created"]},
        {"name": unique("h"), "url": "ftp://example.com/", "events": ["prompt.created"]},
        {"name": unique("h"), "url": "https://example.com/", "events": []},
    ):
        with pytest.raises(MlflowException) as err:
            client.create_webhook(**kwargs)
        assert err.value.error_code == "INVALID_PARAMETER_VALUE", kwargs
    with pytest.raises(MlflowException) as err:
        client.get_webhook("does-not-exist")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_test_webhook_sends_the_example_payload(client: MlflowClient, receiver: Receiver):
    secret = "test-secret-" + unique()
    hook = client.create_webhook(
        name=unique("t"), url=receiver.url("/test"), events=["model_version.created"], secret=secret
    )
    result = client.test_webhook(hook.webhook_id)
    assert result.success, result
    assert result.response_status == 200
    assert result.response_body == "received"
    payload = assert_signed(receiver.wait_for(1, "/test")[0], secret)
    assert (payload["entity"], payload["action"]) == ("model_version", "created")
    assert payload["data"] == {
        "name": "example_model",
        "version": "1",
        "source": "models:/123",
        "run_id": "abcd1234abcd5678",
        "tags": {"example_key": "example_value"},
        "description": "An example model version",
    }

    result = client.test_webhook(hook.webhook_id, event=WebhookEvent("prompt_alias", "deleted"))
    assert result.success
    payload = json.loads(receiver.wait_for(2, "/test")[1]["body"])
    assert payload["data"] == {"name": "example_prompt", "alias": "example_alias"}

    # A receiver that refuses (404 is retried by neither server): not a success.
    receiver.script.append(404)
    result = client.test_webhook(hook.webhook_id)
    assert not result.success
    assert result.response_status == 404
    client.delete_webhook(hook.webhook_id)


def test_registry_actions_are_delivered_signed(client: MlflowClient, api, receiver: Receiver):
    secret = "whsec-" + unique()
    path = "/" + unique("registry")
    hook = client.create_webhook(
        name=unique("reg"),
        url=receiver.url(path),
        events=["registered_model.created", "model_version.created", "model_version_tag.set"],
        secret=secret,
    )
    try:
        model = unique("model")
        client.create_registered_model(model, tags={"team": "ml"}, description="webhook test model")
        with mlflow.start_run() as run:
            pass
        version = client.create_model_version(
            model, source=f"runs:/{run.info.run_id}/model", run_id=run.info.run_id, tags={"k": "v"}
        )
        client.set_model_version_tag(model, version.version, "stage", "qa")

        hits = receiver.wait_for(3, path)
        assert len(hits) == 3, hits
        payloads = sorted((assert_signed(h, secret) for h in hits), key=lambda p: p["entity"] + p["action"])
        by_event = {(p["entity"], p["action"]): p for p in payloads}
        created = by_event[("registered_model", "created")]
        assert created["data"] == {"name": model, "tags": {"team": "ml"}, "description": "webhook test model"}
        assert created["timestamp"].endswith("+00:00")
        mv = by_event[("model_version", "created")]["data"]
        assert (mv["name"], mv["version"], mv["run_id"], mv["tags"]) == (model, "1", run.info.run_id, {"k": "v"})
        assert mv["source"].endswith("model")
        tag = by_event[("model_version_tag", "set")]["data"]
        assert tag == {"name": model, "version": "1", "key": "stage", "value": "qa"}
        assert len({header(h, "X-MLflow-Delivery-Id") for h in hits}) == 3

        if not serverctl.IS_REFERENCE:
            # Keel's delivery log: newest first, each delivered on its first attempt.
            # (An outcome is recorded just after the receiver answers: poll briefly.)
            deadline = time.monotonic() + 15
            while True:
                r = api.get(f"webhooks/{hook.webhook_id}/deliveries")
                assert r.status_code == 200, r.text
                deliveries = r.json()["deliveries"]
                if all(d["status"] != "PENDING" for d in deliveries) or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert [d["status"] for d in deliveries] == ["SUCCEEDED"] * 3, deliveries
            assert all(d["attempts"] == 1 and d["response_status"] == 200 for d in deliveries)
            assert {d["delivery_id"] for d in deliveries} == {header(h, "X-MLflow-Delivery-Id") for h in hits}
            assert secret not in r.text
    finally:
        client.delete_webhook(hook.webhook_id)


def test_a_failing_receiver_gets_the_delivery_again(client: MlflowClient, receiver: Receiver):
    secret = "retry-" + unique()
    path = "/" + unique("retry")
    hook = client.create_webhook(
        name=unique("retry"), url=receiver.url(path), events=["registered_model.created"], secret=secret
    )
    try:
        receiver.script.append(500)
        client.create_registered_model(unique("retried"))
        hits = receiver.wait_for(2, path, timeout=60)
        assert len(hits) == 2, hits
        assert header(hits[0], "X-MLflow-Delivery-Id") == header(hits[1], "X-MLflow-Delivery-Id")
        for hit in hits:
            assert_signed(hit, secret)
    finally:
        client.delete_webhook(hook.webhook_id)


def test_disabled_webhooks_receive_nothing(client: MlflowClient, receiver: Receiver):
    path = "/" + unique("off")
    hook = client.create_webhook(
        name=unique("off"), url=receiver.url(path), events=["registered_model.created"], status="DISABLED"
    )
    try:
        client.create_registered_model(unique("quiet"))
        time.sleep(3)
        assert receiver.wait_for(1, path, timeout=0.1) == []
    finally:
        client.delete_webhook(hook.webhook_id)


def test_loopback_targets_need_the_operators_allowance(tmp_path):
    """A server that may not reach private addresses refuses a loopback webhook URL."""
    srv = serverctl.ServerProcess(
        tmp_path / "data",
        extra_env={"KEEL_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "false", "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "false"},
    )
    srv.start()
    try:
        strict = MlflowClient(tracking_uri=srv.url)
        for url in ("http://127.0.0.1:9/hook", "http://localhost:9/hook", "http://169.254.169.254/latest"):
            with pytest.raises(MlflowException) as err:
                strict.create_webhook(name=unique("private"), url=url, events=["registered_model.created"])
            assert err.value.error_code == "INVALID_PARAMETER_VALUE", url
    finally:
        srv.stop()


@pytest.mark.skipif(serverctl.IS_REFERENCE, reason="Keel's persisted delivery queue; the reference keeps retries in memory")
def test_pending_deliveries_survive_a_restart(tmp_path, receiver: Receiver):
    """A delivery waiting for its retry when the server stops is sent by the restarted server,
    signed with the secret it stored encrypted (the key file in the data dir survives too)."""
    srv = serverctl.ServerProcess(tmp_path / "data")
    srv.start()
    try:
        own = MlflowClient(tracking_uri=srv.url)
        secret = "restart-" + unique()
        path = "/" + unique("restart")
        own.create_webhook(name=unique("r"), url=receiver.url(path), events=["registered_model.created"], secret=secret)
        # Busy: come back in 5 s — by then this server is gone.
        receiver.script.append((503, {"Retry-After": "5"}))
        own.create_registered_model(unique("before-restart"))
        first = receiver.wait_for(1, path)
        assert len(first) == 1
        assert srv.stop() == 0
        assert len(receiver.wait_for(2, path, timeout=0.1)) == 1, "not retried before the restart"
        srv.start()
        hits = receiver.wait_for(2, path, timeout=60)
        assert len(hits) == 2, srv.log_tail()
        assert header(hits[0], "X-MLflow-Delivery-Id") == header(hits[1], "X-MLflow-Delivery-Id")
        assert assert_signed(hits[1], secret)["entity"] == "registered_model"
    finally:
        srv.stop()

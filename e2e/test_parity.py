"""The parity suite (issue 16, item 7): every MLflow route Keel serves, sent the same request with
no parameters (path IDs that name nothing), must answer as the reference server answered it —
status, error code and message — as recorded in `parity_reference.json`. A route Keel adds
without a case here, or an answer that drifts, fails. Differences on purpose are listed with
their reason (and in docs/reference-parity-notes.md); routes the reference serves only in another
mode (its basic-auth app, workspaces) or not at all are listed as Keel's own.

Runs against both servers: on the reference every recorded answer must still hold (the record
is checked against a fresh reference). Re-record with
`python e2e/test_parity.py --record http://127.0.0.1:<port>` against `mlflow server`."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import requests

import serverctl

RECORD = Path(__file__).with_name("parity_reference.json")

# Path parameters, filled with IDs that name nothing on a fresh server.
FILL = {
    "trace_id": "tr-00000000000000000000000000000000",
    "model_id": "m-00000000000000000000000000000000",
    "assessment_id": "a-0000",
    "span_id": "0000000000000001",
    "webhook_id": "wh-0000",
    "upload_id": "0" * 32,
    "part_number": "1",
    "workspace_name": "nope",
    "path": "0/0/artifacts/x.txt",
    "tag_key": "k",
}

# Routes of Keel's own, or that the reference serves only when started otherwise: its
# basic-auth app (accounts, roles, permissions), workspaces, Prometheus, and Keel's API
# description, UI files and signed multipart part URLs.
KEEL_ONLY = re.compile(
    r"^/api/openapi\.json$|^/metrics$|/mlflow/users/|/mlflow/roles/|/mlflow/workspaces|"
    r"/mpu/part/|^/static-files/|^/$"
)

# Where Keel answers otherwise on purpose: the status it gives, and why.
DIFFERENCES = {
    "GET /api/2.0/mlflow/experiments/search": (200, "an empty search lists experiments; the reference reads max_results as 0 and refuses it"),
    "POST /api/2.0/mlflow/experiments/search": (200, "as the GET"),
    "POST /api/2.0/mlflow/runs/create": (200, "a run without experiment_id goes to the Default experiment; the reference fails on a database constraint"),
    "PATCH /api/2.0/mlflow/logged-models/{model_id}": (400, "Keel reads model_id from the path and names the missing status; the reference names model_id"),
    "POST /api/2.0/mlflow/logged-models/{model_id}/params": (404, "Keel reads model_id from the path and finds no such model; the reference names model_id as missing"),
    "POST /v1/traces": (400, "OTLP partial-success semantics: a missing experiment header is a 400 (the reference: 422)"),
    "POST /api/2.0/mlflow/traces": (400, "a v2 start without experiment_id is a 400 naming it (the reference: 500)"),
    "GET /api/3.0/mlflow/traces/{trace_id}/assessments/{assessment_id}": (404, "the message names the assessment (the reference names the trace)"),
    "DELETE /api/3.0/mlflow/traces/{trace_id}/assessments/{assessment_id}": (404, "deleting from a trace that does not exist is a 404 (the reference: 200)"),
    "GET /api/2.0/mlflow/model-versions/get-download-uri": (400, "the message ends with the API-docs hint every other missing parameter has"),
    "GET /model-versions/get-artifact": (400, "a JSON error (the reference: Werkzeug's HTML page)"),
    "GET /get-artifact": (400, "a JSON error (the reference: Werkzeug's HTML page)"),
    "GET /api/2.0/mlflow/webhooks/{webhook_id}/deliveries": (404, "a JSON error naming the webhook (the reference: an HTML 404)"),
    "DELETE /api/2.0/mlflow-artifacts/artifacts/{path}": (404, "deleting an artifact that does not exist is a 404 (the reference: 200)"),
    "POST /graphql": (400, "a request without a query is a 400 naming it (the reference: a 500 page)"),
    "POST /gateway/gemini/v1beta/models/{endpoint_action}": (404, "a path without a Gemini action is a JSON 404 naming the two actions (the reference: a plain-text 404)"),
    "GET /graphql": (400, "as the POST; Keel also takes a GET's query string (the reference reads only a body)"),
}


def _fill(path: str) -> str:
    return re.sub(r"\{\*?(\w+)\}", lambda m: FILL.get(m.group(1), "x"), path)


def _answer(base_url: str, key: str) -> dict:
    method, path = key.split(" ", 1)
    kwargs = {"timeout": 30}
    if method in ("POST", "PATCH", "PUT", "DELETE"):
        kwargs["json"] = {}
    r = requests.request(method, base_url + _fill(path), **kwargs)
    if r.ok:
        return {"status": r.status_code}
    try:
        body = r.json()
    except ValueError:
        return {"status": r.status_code, "json": False}
    if not isinstance(body, dict):
        return {"status": r.status_code, "json": True}
    # The first line of a message: the reference appends SQL and generated IDs to some.
    message = (body.get("message") or "").split("\n", 1)[0]
    return {"status": r.status_code, "error_code": body.get("error_code"), "message": message}


def _mlflow_routes(keel_url: str) -> list[str]:
    """`METHOD path` of every MLflow route Keel describes, but the Ajax twins and Keel's own."""
    paths = requests.get(f"{keel_url}/api/openapi.json", timeout=30).json()["paths"]
    return [
        f"{method.upper()} {path}"
        for path, operations in paths.items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
        and not path.startswith("/ajax-api/")
        and "/keel/" not in path
        and not KEEL_ONLY.search(path)
    ]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A server of its own: some empty requests create things (a run in Default)."""
    srv = serverctl.ServerProcess(tmp_path_factory.mktemp("parity") / "data").start()
    try:
        yield srv
    finally:
        srv.stop()


def test_every_route_answers_as_the_reference_did(fresh):
    recorded = json.loads(RECORD.read_text())
    drift = []
    for key, want in recorded.items():
        got = _answer(fresh.url, key)
        if not serverctl.IS_REFERENCE and key in DIFFERENCES:
            if got["status"] != DIFFERENCES[key][0]:
                drift.append(f"{key}: {got} (expected the documented {DIFFERENCES[key][0]})")
            continue
        if got != want:
            drift.append(f"{key}: got {got}, the reference answered {want}")
    assert not drift, "\n".join(drift)


@pytest.mark.skipif(serverctl.IS_REFERENCE, reason="Keel's route table")
def test_every_mlflow_route_keel_serves_has_a_parity_case(fresh):
    routes = set(_mlflow_routes(fresh.url))
    recorded = set(json.loads(RECORD.read_text()))
    assert sorted(routes - recorded) == [], "routes without a parity case: record them"
    assert set(DIFFERENCES) <= recorded


def _record(base_url: str, keel_url: str) -> None:
    """Writes what the reference at `base_url` answers for every MLflow route Keel (at
    `keel_url`) serves."""
    keys = sorted(_mlflow_routes(keel_url))
    RECORD.write_text(json.dumps({k: _answer(base_url, k) for k in keys}, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "--record":
        sys.exit("usage: python e2e/test_parity.py --record REFERENCE_URL KEEL_URL")
    _record(sys.argv[2], sys.argv[3])

"""The same bad requests against Keel and the reference server give the same status, error code
and message (issue 16): missing and mistyped fields in the reference's words, `Invalid path`
for artifact paths that would leave their root, and `//model-versions/get-artifact` routed
like the single-slash form. Run with E2E_TARGET=reference to check the table itself."""

import uuid

import pytest
import requests

HINT = "See the API docs for more information about request parameters."


def missing(name):
    return f"Missing value for required parameter '{name}'. {HINT}"


def mistyped(name, shown, py_type):
    return f"Invalid value {shown} for parameter '{name}' supplied:  Hint: Value was of type '{py_type}'. {HINT}"


INVALID = "INVALID_PARAMETER_VALUE"

# (method, path, body or query with {E}/{R}/{M} placeholders, status, error code, message)
CASES = [
    ("POST", "/api/2.0/mlflow/experiments/create", {}, 400, INVALID, missing("name")),
    ("POST", "/api/2.0/mlflow/experiments/create", {"name": 123}, 400, INVALID, mistyped("name", "123", "int")),
    ("POST", "/api/2.0/mlflow/experiments/create", {"name": "x", "tags": "t"}, 400, INVALID,
     mistyped("tags", '"t"', "str")),
    ("POST", "/api/2.0/mlflow/experiments/create", {"name": "x", "artifact_location": 5}, 400, INVALID,
     mistyped("artifact_location", "5", "int")),
    ("GET", "/api/2.0/mlflow/experiments/get", {}, 400, INVALID, missing("experiment_id")),
    ("GET", "/api/2.0/mlflow/experiments/get-by-name", {}, 400, INVALID, missing("experiment_name")),
    ("POST", "/api/2.0/mlflow/experiments/delete", {}, 400, INVALID, missing("experiment_id")),
    ("POST", "/api/2.0/mlflow/experiments/update", {"experiment_id": "{E}"}, 400, INVALID, missing("new_name")),
    ("POST", "/api/2.0/mlflow/experiments/search", {"max_results": "abc"}, 400, INVALID,
     mistyped("max_results", '"abc"', "str")),
    ("POST", "/api/2.0/mlflow/experiments/search", {"max_results": -1}, 400, INVALID,
     "Invalid value -1 for parameter 'max_results' supplied. It must be a positive integer"),
    ("POST", "/api/2.0/mlflow/runs/create", {"experiment_id": 1}, 400, INVALID, mistyped("experiment_id", "1", "int")),
    ("POST", "/api/2.0/mlflow/runs/create", {"experiment_id": "{E}", "start_time": "abc"}, 400, INVALID,
     mistyped("start_time", '"abc"', "str")),
    ("POST", "/api/2.0/mlflow/runs/update", {}, 400, INVALID, missing("run_id")),
    ("POST", "/api/2.0/mlflow/runs/delete", {}, 400, INVALID, missing("run_id")),
    ("POST", "/api/2.0/mlflow/runs/restore", {}, 400, INVALID, missing("run_id")),
    ("GET", "/api/2.0/mlflow/runs/get", {}, 400, INVALID, missing("run_id")),
    ("POST", "/api/2.0/mlflow/runs/log-metric", {"run_id": "{R}", "key": "k", "value": "abc", "timestamp": 1},
     400, INVALID, mistyped("value", '"abc"', "str")),
    ("POST", "/api/2.0/mlflow/runs/log-metric", {"run_id": "{R}", "value": 1, "timestamp": 1}, 400, INVALID,
     missing("key")),
    ("POST", "/api/2.0/mlflow/runs/log-metric", {"run_id": "{R}", "key": "k", "timestamp": 1}, 400, INVALID,
     missing("value")),
    ("POST", "/api/2.0/mlflow/runs/log-metric", {"run_id": "{R}", "key": "k", "value": 1}, 400, INVALID,
     missing("timestamp")),
    ("POST", "/api/2.0/mlflow/runs/log-parameter", {"run_id": "{R}", "key": "p", "value": 5}, 400, INVALID,
     mistyped("value", "5", "int")),
    ("POST", "/api/2.0/mlflow/runs/set-tag", {"run_id": "{R}", "key": "k", "value": 1}, 400, INVALID,
     mistyped("value", "1", "int")),
    ("POST", "/api/2.0/mlflow/runs/set-tag", {"run_id": "{R}", "key": "k", "value": {"b": 1, "a": ["é"]}},
     400, INVALID, mistyped("value", '{"a":["\\u00e9"],"b":1}', "dict")),
    ("POST", "/api/2.0/mlflow/runs/set-tag", {"run_id": "{R}", "value": "v"}, 400, INVALID, missing("key")),
    ("POST", "/api/2.0/mlflow/runs/delete-tag", {"run_id": "{R}"}, 400, INVALID, missing("key")),
    ("POST", "/api/2.0/mlflow/runs/log-batch", {"run_id": "{R}", "metrics": "x"}, 400, INVALID,
     mistyped("metrics", '"x"', "str")),
    ("POST", "/api/2.0/mlflow/runs/log-batch", {"run_id": "{R}", "metrics": [{"key": "k", "timestamp": 1}]},
     400, INVALID, missing("metrics[0].value")),
    ("POST", "/api/2.0/mlflow/runs/log-batch", {"metrics": []}, 400, INVALID, missing("run_id")),
    ("GET", "/api/2.0/mlflow/metrics/get-history", {"run_id": "{R}"}, 400, INVALID, missing("metric_key")),
    ("GET", "/api/2.0/mlflow/metrics/get-history", {"metric_key": "k"}, 400, INVALID, missing("run_id")),
    ("POST", "/api/2.0/mlflow/runs/search", {"max_results": "x"}, 400, INVALID, mistyped("max_results", '"x"', "str")),
    ("GET", "/api/2.0/mlflow/artifacts/list", {}, 400, INVALID, missing("run_id")),
    ("GET", "/api/2.0/mlflow/artifacts/list", {"run_id": "{R}", "path": "../x"}, 400, INVALID, "Invalid path"),
    ("GET", "/get-artifact", {"run_id": "{R}", "path": "../x"}, 400, INVALID, "Invalid path"),
    ("GET", "/get-artifact", {"run_id": "{R}", "path": "/etc/passwd"}, 400, INVALID, "Invalid path"),
    ("GET", "/model-versions/get-artifact", {"name": "{M}", "version": "1", "path": "../x"}, 400, INVALID,
     "Invalid path"),
    ("GET", "//model-versions/get-artifact", {"name": "{M}", "version": "1", "path": "../x"}, 400, INVALID,
     "Invalid path"),
    ("GET", "//model-versions/get-artifact", {"name": "{M}", "version": "1", "path": "x"}, 404,
     "RESOURCE_DOES_NOT_EXIST", "Model Version (name={M}, version=1) not found"),
    ("GET", "/api/2.0/mlflow-artifacts/artifacts/..%2Fx", None, 400, INVALID, "Invalid path"),
    ("POST", "/api/2.0/mlflow/registered-models/create", {}, 400, INVALID, missing("name")),
    ("POST", "/api/2.0/mlflow/registered-models/create", {"name": 1}, 400, INVALID, mistyped("name", "1", "int")),
    ("GET", "/api/2.0/mlflow/registered-models/get", {}, 400, INVALID, missing("name")),
    ("POST", "/api/2.0/mlflow/registered-models/rename", {"name": "{M}"}, 400, INVALID, missing("new_name")),
    ("POST", "/api/2.0/mlflow/model-versions/create", {"name": "{M}"}, 400, INVALID, missing("source")),
    ("GET", "/api/2.0/mlflow/model-versions/get", {"name": "{M}"}, 400, INVALID, missing("version")),
    ("POST", "/api/2.0/mlflow/registered-models/alias", {"name": "{M}", "alias": "a"}, 400, INVALID,
     missing("version")),
    ("POST", "/api/2.0/mlflow/model-versions/transition-stage",
     {"name": "{M}", "version": "1", "stage": "bogus", "archive_existing_versions": False}, 400, INVALID,
     "Invalid Model Version stage: bogus. Value must be one of None, Staging, Production, Archived."),
    ("POST", "/api/3.0/mlflow/traces", {}, 400, INVALID, missing("trace")),
    ("GET", "/api/3.0/mlflow/traces/tr-nope", None, 404, "RESOURCE_DOES_NOT_EXIST", "Trace with ID 'tr-nope' not found."),
    ("POST", "/api/3.0/mlflow/traces/search", {"locations": "x"}, 400, INVALID, mistyped("locations", '"x"', "str")),
    ("POST", "/api/2.0/mlflow/traces/delete-traces", {}, 400, INVALID, missing("experiment_id")),
    ("POST", "/api/2.0/mlflow/traces/delete-traces", {"experiment_id": "0"}, 400, INVALID,
     "Either `max_timestamp_millis` or `trace_ids` must be specified."),
]


@pytest.fixture(scope="module")
def names(api):
    suffix = uuid.uuid4().hex[:10]
    exp = api.post("experiments/create", {"name": f"errors-{suffix}"}).json()["experiment_id"]
    run = api.post("runs/create", {"experiment_id": exp}).json()["run"]["info"]["run_id"]
    model = f"errors-model-{suffix}"
    assert api.post("registered-models/create", {"name": model}).status_code == 200
    return {"{E}": exp, "{R}": run, "{M}": model}


def fill(value, names):
    if isinstance(value, str):
        for k, v in names.items():
            value = value.replace(k, v)
        return value
    if isinstance(value, dict):
        return {k: fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, names) for v in value]
    return value


@pytest.mark.parametrize("method,path,body,status,code,message", CASES, ids=[f"{c[0]} {c[1]} {c[2]}" for c in CASES])
def test_bad_request_reads_as_on_the_reference(server, names, method, path, body, status, code, message):
    body = fill(body, names)
    url = server.url + path
    if method == "GET":
        resp = requests.get(url, params=body, timeout=30)
    else:
        resp = requests.post(url, json=body, timeout=30)
    assert resp.status_code == status, resp.text
    payload = resp.json()
    assert payload["error_code"] == code
    assert payload["message"] == fill(message, names)

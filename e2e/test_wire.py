"""Wire facts the client relies on but hides: status codes, error bodies, JSON shapes, route prefixes, UI-only endpoints."""

import pytest

from conftest import unique

MISSING_RUN = "0123456789abcdef0123456789abcdef"


def assert_error(resp, status, code):
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers["content-type"].startswith("application/json"), resp.headers
    body = resp.json()
    assert body["error_code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    return body


def test_health(api):
    resp = api.get("/health")
    assert resp.status_code == 200
    assert resp.text.strip() == "OK"


def test_version(api):
    resp = api.get("/version")
    assert resp.status_code == 200
    assert resp.text.strip()


@pytest.mark.parametrize("path", ["/api/3.0/mlflow/server-info", "/ajax-api/3.0/mlflow/server-info"])
def test_server_info(api, path):
    resp = api.get(path)
    assert resp.status_code == 200, resp.text
    info = resp.json()
    assert isinstance(info["store_type"], str) and info["store_type"]
    assert info["workspaces_enabled"] is False


def test_unknown_run_is_404_json(api):
    body = assert_error(api.get("runs/get", {"run_id": MISSING_RUN}), 404, "RESOURCE_DOES_NOT_EXIST")
    assert MISSING_RUN in body["message"]


def test_unknown_experiment_is_404_json(api):
    assert_error(api.get("experiments/get", {"experiment_id": "987654321"}), 404, "RESOURCE_DOES_NOT_EXIST")
    assert_error(
        api.get("experiments/get-by-name", {"experiment_name": unique("missing")}), 404, "RESOURCE_DOES_NOT_EXIST"
    )


def test_duplicate_experiment_is_400_json(api):
    name = unique("wire-dup")
    assert api.post("experiments/create", {"name": name}).status_code == 200
    assert_error(api.post("experiments/create", {"name": name}), 400, "RESOURCE_ALREADY_EXISTS")


def test_missing_required_field_is_400(api):
    assert_error(api.post("experiments/create", {}), 400, "INVALID_PARAMETER_VALUE")
    assert_error(api.get("runs/get"), 400, "INVALID_PARAMETER_VALUE")


def test_malformed_json_is_400(api):
    resp = api.session.post(
        api.url("experiments/create"), data="{not json", headers={"Content-Type": "application/json"}, timeout=60
    )
    assert resp.status_code == 400, resp.text
    # The reference treats an unparsable body as empty and reports the missing 'name'.
    assert resp.json()["error_code"] in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST", "MALFORMED_REQUEST")


def test_wrong_field_type_is_400(api):
    assert_error(api.post("experiments/create", {"name": 123}), 400, "INVALID_PARAMETER_VALUE")


def test_param_change_is_400(api, run_id):
    assert api.post("runs/log-parameter", {"run_id": run_id, "key": "k", "value": "a"}).status_code == 200
    assert_error(api.post("runs/log-parameter", {"run_id": run_id, "key": "k", "value": "b"}), 400, "INVALID_PARAMETER_VALUE")


def test_unknown_fields_are_ignored(api):
    resp = api.post("experiments/create", {"name": unique("wire-extra"), "no_such_field": 1})
    assert resp.status_code == 200, resp.text


def test_json_content_type_with_charset(api):
    resp = api.session.post(
        api.url("experiments/create"),
        data=f'{{"name": "{unique("wire-charset")}"}}',
        headers={"Content-Type": "application/json; charset=utf-8"},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text


def test_create_run_response_shape(api, experiment_id):
    resp = api.post("runs/create", {"experiment_id": experiment_id, "start_time": 1_700_000_000_000, "run_name": "shape"})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    run = resp.json()["run"]
    info = run["info"]
    assert info["run_id"] == info["run_uuid"]
    assert info["experiment_id"] == experiment_id
    assert info["run_name"] == "shape"
    assert info["status"] == "RUNNING"  # enums by name
    assert info["lifecycle_stage"] == "active"
    assert info["start_time"] == 1_700_000_000_000 and isinstance(info["start_time"], int)  # int64 as number
    assert "end_time" not in info  # unset fields are omitted
    assert run["data"]["tags"] == [{"key": "mlflow.runName", "value": "shape"}]
    assert "metrics" not in run["data"] and "params" not in run["data"]


def test_get_run_response_shape(api, client, run_id):
    client.log_metric(run_id, "m", 2.5, timestamp=1_234, step=3)
    client.log_param(run_id, "p", "v")
    resp = api.get("runs/get", {"run_id": run_id})
    assert resp.status_code == 200
    data = resp.json()["run"]["data"]
    assert data["metrics"] == [{"key": "m", "value": 2.5, "timestamp": 1_234, "step": 3}]
    assert data["params"] == [{"key": "p", "value": "v"}]


def test_run_uuid_alias_is_accepted(api, run_id):
    resp = api.get("runs/get", {"run_uuid": run_id})
    assert resp.status_code == 200, resp.text
    assert resp.json()["run"]["info"]["run_id"] == run_id


def test_int64_accepted_as_json_strings(api, client, run_id):
    # Protobuf JSON (e.g. the Java client) sends int64 fields as strings.
    resp = api.post("runs/log-metric", {"run_id": run_id, "key": "s", "value": 1.5, "timestamp": "1234", "step": "7"})
    assert resp.status_code == 200, resp.text
    [m] = client.get_metric_history(run_id, "s")
    assert (m.timestamp, m.step, m.value) == (1234, 7, 1.5)


def test_nan_is_the_string_nan_on_the_wire(api, run_id):
    resp = api.post("runs/log-metric", {"run_id": run_id, "key": "n", "value": "NaN", "timestamp": 5, "step": 0})
    assert resp.status_code == 200, resp.text
    body = api.get("metrics/get-history", {"run_id": run_id, "metric_key": "n"}).json()
    assert body["metrics"] == [{"key": "n", "value": "NaN", "timestamp": 5, "step": 0}]


def test_empty_responses_are_empty_objects(api, run_id):
    resp = api.post("runs/set-tag", {"run_id": run_id, "key": "k", "value": "v"})
    assert resp.status_code == 200
    assert resp.json() == {}


def test_search_experiments_get_and_post(api):
    name = unique("wire-search")
    api.post("experiments/create", {"name": name})
    for resp in (
        api.post("experiments/search", {"filter": f"name = '{name}'", "max_results": 10}),
        api.get("experiments/search", {"filter": f"name = '{name}'", "max_results": 10}),
    ):
        assert resp.status_code == 200, resp.text
        [exp] = resp.json()["experiments"]
        assert exp["name"] == name
        assert "next_page_token" not in resp.json()


def test_ajax_api_prefix_serves_tracking_routes(api):
    ajax = "/ajax-api/2.0/mlflow/"
    resp = api.get("experiments/get", {"experiment_id": "0"}, prefix=ajax)
    assert resp.status_code == 200, resp.text
    assert resp.json()["experiment"]["name"] == "Default"
    name = unique("ajax")
    resp = api.post("experiments/create", {"name": name}, prefix=ajax)
    assert resp.status_code == 200, resp.text
    exp_id = resp.json()["experiment_id"]
    resp = api.post("runs/create", {"experiment_id": exp_id}, prefix=ajax)
    assert resp.status_code == 200, resp.text
    run_id = resp.json()["run"]["info"]["run_id"]
    resp = api.post("runs/search", {"experiment_ids": [exp_id]}, prefix=ajax)
    assert [r["info"]["run_id"] for r in resp.json()["runs"]] == [run_id]
    assert_error(api.get("runs/get", {"run_id": MISSING_RUN}, prefix=ajax), 404, "RESOURCE_DOES_NOT_EXIST")


def test_unknown_route_is_404(api):
    assert api.get("no/such/route").status_code == 404


def test_wrong_method_is_rejected(api):
    assert api.get("runs/create").status_code in (404, 405)


# --- metrics/get-history-bulk-interval (used by the UI's charts) ---------------------------------

BULK = "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval"


@pytest.fixture
def two_runs(client, experiment_id):
    from mlflow.entities import Metric

    long_run = client.create_run(experiment_id).info.run_id
    short_run = client.create_run(experiment_id).info.run_id
    client.log_batch(long_run, metrics=[Metric("loss", float(i), 1_000 + i, i) for i in range(100)])
    client.log_batch(short_run, metrics=[Metric("loss", float(2 * i), 1_000 + i, i) for i in range(10)])
    return long_run, short_run


def test_bulk_interval_returns_all_points_when_they_fit(api, two_runs):
    long_run, short_run = two_runs
    resp = api.get(BULK, {"run_ids": [short_run], "metric_key": "loss"})
    assert resp.status_code == 200, resp.text
    metrics = resp.json()["metrics"]
    assert [(m["step"], m["value"], m["timestamp"]) for m in metrics] == [(i, 2.0 * i, 1_000 + i) for i in range(10)]
    assert all(m["key"] == "loss" and m["run_id"] == short_run for m in metrics)


def test_bulk_interval_samples_each_run(api, two_runs):
    long_run, short_run = two_runs
    resp = api.get(BULK, {"run_ids": [long_run, short_run], "metric_key": "loss", "max_results": 5})
    assert resp.status_code == 200, resp.text
    by_run = {}
    for m in resp.json()["metrics"]:
        by_run.setdefault(m["run_id"], []).append(m["step"])
    assert set(by_run) == {long_run, short_run}
    for run_id, last in ((long_run, 99), (short_run, 9)):
        steps = by_run[run_id]
        assert 2 <= len(steps) <= 5
        assert steps == sorted(steps)
        assert steps[0] == 0 and steps[-1] == last  # the first and last points are always kept


def test_bulk_interval_step_range(api, two_runs):
    long_run, _ = two_runs
    resp = api.get(BULK, {"run_ids": [long_run], "metric_key": "loss", "start_step": 10, "end_step": 20})
    assert resp.status_code == 200, resp.text
    assert [m["step"] for m in resp.json()["metrics"]] == list(range(10, 21))


@pytest.mark.parametrize(
    "params",
    [
        {"metric_key": "loss"},  # no run_ids
        {"run_ids": ["x"], "metric_key": "loss", "start_step": 10},  # start without end
        {"run_ids": ["x"], "metric_key": "loss", "max_results": 2_501},
        {"run_ids": ["x"], "metric_key": "loss", "start_step": 20, "end_step": 10},
    ],
)
def test_bulk_interval_invalid_requests(api, params):
    assert_error(api.get(BULK, params), 400, "INVALID_PARAMETER_VALUE")

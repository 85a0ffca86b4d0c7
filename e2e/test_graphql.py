"""`/graphql` (issue 16 item 4): the reference's schema, the queries its web UI sends, its
answers (protobuf defaults, `LongString`s, NaN handling, partial data with message-only
errors), its envelope byte for byte and its query-safety limits. The shared tests run
unchanged against Keel and the reference server; the last ones are Keel's own (its 400s where
the reference answers with a 500 page, its bounds on parsing, authorization per object)."""

import concurrent.futures
import json
import math

import pytest
import requests
from mlflow import MlflowClient

import serverctl
from conftest import unique
from test_auth import ADMIN, secured  # noqa: F401 - the secured server of the auth tests

GET_RUN = """
query GetRun($data: MlflowGetRunInput!) @component(name: "MLflow.ExperimentRunTracking") {
  mlflowGetRun(input: $data) {
    apiError { helpUrl code message __typename }
    run {
      info { runName status runUuid experimentId artifactUri endTime lifecycleStage startTime userId __typename }
      experiment { experimentId name tags { key value __typename } artifactLocation lifecycleStage lastUpdateTime __typename }
      modelVersions { status version name source __typename }
      data {
        metrics { key value step timestamp __typename }
        params { key value __typename }
        tags { key value __typename }
        __typename
      }
      inputs {
        datasetInputs { dataset { digest name profile schema source sourceType __typename } tags { key value __typename } __typename }
        modelInputs { modelId __typename }
        __typename
      }
      outputs { modelOutputs { modelId step __typename } __typename }
      __typename
    }
    __typename
  }
}
"""

GET_EXPERIMENT = """
query MlflowGetExperimentQuery($input: MlflowGetExperimentInput!) @component(name: "MLflow.ExperimentRunTracking") {
  mlflowGetExperiment(input: $input) {
    apiError { code message __typename }
    experiment {
      artifactLocation creationTime effectiveTraceArchivalRetention experimentId lastUpdateTime
      lifecycleStage name tags { key value __typename } __typename
    }
    __typename
  }
}
"""

SEARCH_RUNS = """
query SearchRuns($data: MlflowSearchRunsInput!) {
  mlflowSearchRuns(input: $data) {
    apiError { helpUrl code message __typename }
    runs {
      info { runName status runUuid experimentId __typename }
      experiment { experimentId name __typename }
      modelVersions { version name creationTimestamp status source __typename }
      __typename
    }
    nextPageToken
    __typename
  }
}
"""


def graphql(base_url, query, variables=None, params=None, **body):
    payload = {"query": query, "variables": variables, **body}
    return requests.post(f"{base_url}/graphql", json=payload, params=params, timeout=60)


def ok(resp):
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"] == "application/json"
    return resp.json()


@pytest.fixture(scope="module")
def seeded(server):
    """An experiment with a tag, a finished run with params, tags, metrics (NaN and ±inf among
    them) and two artifacts, and a registered version of it; a second, running run."""
    client = MlflowClient(tracking_uri=server.url)
    exp = client.create_experiment(unique("gql"), tags={"team": "ml"})
    run = client.create_run(exp, run_name="gql-run", tags={"stage": "dev"})
    run_id = run.info.run_id
    client.log_param(run_id, "alpha", "0.5")
    for step in range(5):
        client.log_metric(run_id, "loss", 1 / (step + 1), timestamp=1_700_000_000_000 + step, step=step)
    client.log_metric(run_id, "nanmetric", math.nan, timestamp=1, step=0)
    client.log_metric(run_id, "infmetric", math.inf, timestamp=1, step=0)
    client.log_metric(run_id, "tiny", 1e-7, timestamp=1, step=0)
    client.log_text(run_id, "hello world!", "hello.txt")
    client.log_text(run_id, '{"a": 1}', "sub/inner.json")
    client.set_terminated(run_id)
    model = unique("gql-model")
    client.create_registered_model(model)
    client.create_model_version(model, f"runs:/{run_id}/model", run_id=run_id)
    running = client.create_run(exp).info.run_id
    return {"exp": exp, "run": run_id, "running": running, "model": model}


def test_the_web_uis_run_query_gets_the_run_with_protobuf_defaults(base_url, seeded):
    body = ok(graphql(base_url, GET_RUN, {"data": {"runId": seeded["running"]}}))
    assert body["errors"] is None
    response = body["data"]["mlflowGetRun"]
    assert response["__typename"] == "MlflowGetRunResponse"
    assert response["apiError"] is None
    run = response["run"]
    assert run["__typename"] == "MlflowRunExtension"
    info = run["info"]
    assert info["status"] == "RUNNING" and info["runUuid"] == seeded["running"]
    # Unset scalars are protobuf defaults, 64-bit integers are strings, unset lists are [].
    assert info["endTime"] == "0"
    assert isinstance(info["startTime"], str) and int(info["startTime"]) > 0
    assert run["data"]["params"] == [] and run["data"]["metrics"] == []
    assert run["inputs"] == {"__typename": "MlflowRunInputs", "datasetInputs": [], "modelInputs": []}
    assert run["outputs"] == {"__typename": "MlflowRunOutputs", "modelOutputs": []}
    assert run["modelVersions"] == []
    assert run["experiment"]["experimentId"] == seeded["exp"]
    assert run["experiment"]["tags"] == [{"__typename": "MlflowExperimentTag", "key": "team", "value": "ml"}]


def test_a_runs_metrics_read_nan_as_null_infinity_as_the_largest_double(base_url, seeded):
    body = ok(graphql(base_url, GET_RUN, {"data": {"runId": seeded["run"]}}))
    assert body["errors"] is None
    run = body["data"]["mlflowGetRun"]["run"]
    metrics = {m["key"]: m for m in run["data"]["metrics"]}
    assert metrics["loss"]["value"] == 0.2 and metrics["loss"]["step"] == "4"
    assert metrics["loss"]["timestamp"] == "1700000000004"
    assert metrics["nanmetric"]["value"] is None
    assert metrics["infmetric"]["value"] == 1.7976931348623157e308
    assert {"key": "alpha", "value": "0.5", "__typename": "MlflowParam"} in run["data"]["params"]
    assert [(v["name"], v["version"], v["status"]) for v in run["modelVersions"]] == [
        (seeded["model"], "1", "READY")
    ]


def test_the_envelope_is_flasks_sorted_compact_ascii_json(base_url, seeded, client):
    client.set_experiment_tag(seeded["exp"], "greeting", "h\u00e9llo \u2713 \U0001F600")
    resp = graphql(base_url, "{ mlflowGetRun(input: {runId: \"%s\"}) { run { data { metrics { value key } } "
                             "experiment { tags { value key } } } } }" % seeded["run"])
    text = ok(resp) and resp.text
    assert text.startswith('{"data":{"mlflowGetRun":{"run":{"data":{"metrics":[')
    assert text.endswith('},"errors":null}\n')
    assert '{"key":"tiny","value":1e-07}' in text
    assert '"value":"h\\u00e9llo \\u2713 \\ud83d\\ude00"' in text


def test_the_experiment_and_search_queries_of_the_web_ui(base_url, seeded):
    body = ok(graphql(base_url, GET_EXPERIMENT, {"input": {"experimentId": seeded["exp"]}}))
    assert body["errors"] is None
    experiment = body["data"]["mlflowGetExperiment"]["experiment"]
    assert experiment["experimentId"] == seeded["exp"]
    assert experiment["lifecycleStage"] == "active"
    assert experiment["effectiveTraceArchivalRetention"] == ""
    variables = {"data": {"filter": f'attributes.run_id = "{seeded["run"]}"', "experimentIds": [seeded["exp"]]}}
    body = ok(graphql(base_url, SEARCH_RUNS, variables))
    assert body["errors"] is None
    found = body["data"]["mlflowSearchRuns"]
    assert [r["info"]["runUuid"] for r in found["runs"]] == [seeded["run"]]
    assert found["runs"][0]["info"]["runName"] == "gql-run"
    assert found["runs"][0]["experiment"]["experimentId"] == seeded["exp"]
    assert [(v["name"], v["version"]) for v in found["runs"][0]["modelVersions"]] == [(seeded["model"], "1")]
    assert found["nextPageToken"] == ""
    # Every run of a page gets its own versions (none for the running run).
    variables = {"data": {"experimentIds": [seeded["exp"]], "orderBy": ["attributes.start_time ASC"]}}
    page = ok(graphql(base_url, SEARCH_RUNS, variables))["data"]["mlflowSearchRuns"]["runs"]
    assert {r["info"]["runUuid"]: len(r["modelVersions"]) for r in page} == {seeded["run"]: 1, seeded["running"]: 0}
    # A single string is coerced to a one-element list; searchRuns is also a mutation.
    body = ok(graphql(base_url, 'mutation { mlflowSearchRuns(input: {experimentIds: "%s", maxResults: 1}) '
                                '{ runs { info { runId } } nextPageToken } }' % seeded["exp"]))
    assert len(body["data"]["mlflowSearchRuns"]["runs"]) == 1
    assert body["data"]["mlflowSearchRuns"]["nextPageToken"] != ""


def test_a_failing_field_is_null_beside_the_others_with_its_message(base_url, seeded):
    query = ('{ bad: mlflowGetRun(input: {runId: "nope"}) { run { info { runId } } } '
             'ok: mlflowGetRun(input: {runId: "%s"}) { run { info { runId } } } '
             'test(inputString: "hi") { output } }' % seeded["run"])
    body = ok(graphql(base_url, query))
    assert body["data"] == {"bad": None, "ok": {"run": {"info": {"runId": seeded["run"]}}},
                            "test": {"output": "hi"}}
    assert body["errors"] == ["Run with id=nope not found"]
    # The errors are bare message strings, as the reference writes them.
    body = ok(graphql(base_url, '{ mlflowGetExperiment(input: {experimentId: "987654321"}) { experiment { name } } }'))
    assert body == {"data": {"mlflowGetExperiment": None}, "errors": ["No Experiment with id=987654321 exists"]}


def test_artifact_listings(base_url, seeded):
    query = 'query($i: MlflowListArtifactsInput) { mlflowListArtifacts(input: $i) { rootUri files { path isDir fileSize } nextPageToken } }'
    listing = ok(graphql(base_url, query, {"i": {"runId": seeded["run"]}}))["data"]["mlflowListArtifacts"]
    assert listing["files"] == [
        {"path": "hello.txt", "isDir": False, "fileSize": "12"},
        {"path": "sub", "isDir": True, "fileSize": "0"},
    ]
    assert listing["nextPageToken"] == "" and listing["rootUri"].endswith(f"{seeded['run']}/artifacts")
    inner = ok(graphql(base_url, query, {"i": {"runId": seeded["run"], "path": "sub"}}))
    assert inner["data"]["mlflowListArtifacts"]["files"] == [{"path": "sub/inner.json", "isDir": False, "fileSize": "8"}]
    escape = ok(graphql(base_url, query, {"i": {"runId": seeded["run"], "path": "../../etc"}}))
    assert escape["data"] == {"mlflowListArtifacts": None}
    assert escape["errors"] == ["Invalid path"]


def test_sampled_history_nan_is_null_with_an_error_and_url_steps_restrict_it(base_url, seeded):
    query = ('query($d: MlflowGetMetricHistoryBulkIntervalInput) { mlflowGetMetricHistoryBulkInterval(input: $d) '
             '{ metrics { key value step runId } } }')
    body = ok(graphql(base_url, query, {"d": {"runIds": [seeded["run"]], "metricKey": "nanmetric"}}))
    assert body["data"]["mlflowGetMetricHistoryBulkInterval"]["metrics"] == [
        {"key": "nanmetric", "value": None, "step": "0", "runId": seeded["run"]}
    ]
    assert body["errors"] == ["Float cannot represent non numeric value: nan"]
    loss = {"d": {"runIds": [seeded["run"]], "metricKey": "loss"}}
    steps = ok(graphql(base_url, query, loss, params={"start_step": 1, "end_step": 3}))
    assert [m["step"] for m in steps["data"]["mlflowGetMetricHistoryBulkInterval"]["metrics"]] == ["1", "2", "3"]
    # No runs or no key: nothing, and no error.
    for empty in ({"runIds": [], "metricKey": "loss"}, {"runIds": [seeded["run"]]}):
        assert ok(graphql(base_url, query, {"d": empty})) == {
            "data": {"mlflowGetMetricHistoryBulkInterval": {"metrics": []}}, "errors": None}


def test_model_versions_datasets_and_the_echo_fields(base_url, seeded):
    query = ('{ mlflowSearchModelVersions(input: {filter: "name = \'%s\'"}) { modelVersions { name version '
             'currentStage description runId aliases modelParams { name } deploymentJobState { jobId jobState } } '
             'nextPageToken } }' % seeded["model"])
    body = ok(graphql(base_url, query))
    version = body["data"]["mlflowSearchModelVersions"]["modelVersions"][0]
    assert version["name"] == seeded["model"] and version["currentStage"] == "None"
    assert version["description"] == "" and version["runId"] == seeded["run"]
    assert version["aliases"] == [] and version["modelParams"] == []
    # No deployment job: protobuf's unset 0 is no enum value, as on the reference.
    assert version["deploymentJobState"] == {"jobId": "", "jobState": None}
    assert body["errors"] == ["Enum 'MlflowDeploymentJobConnectionState' cannot represent value: 0"]
    body = ok(graphql(base_url, 'mutation { mlflowSearchDatasets(input: {experimentIds: ["%s"]}) '
                                '{ datasetSummaries { name } } testMutation(inputString: "x") { output } }'
                      % seeded["exp"]))
    assert body == {"data": {"mlflowSearchDatasets": {"datasetSummaries": []}, "testMutation": None},
                    "errors": None}
    too_many = ok(graphql(base_url, 'mutation { mlflowSearchDatasets(input: {experimentIds: [%s]}) '
                                    '{ datasetSummaries { name } } }' % ",".join(f'"{i}"' for i in range(21))))
    assert too_many["errors"] == [
        "SearchDatasets request cannot specify more than 20 experiment_ids. Received 21 experiment_ids."]
    schema = ok(graphql(base_url, "{ __schema { queryType { name } mutationType { name } subscriptionType { name } } }"))
    assert schema["data"]["__schema"] == {"queryType": {"name": "Query"}, "mutationType": {"name": "Mutation"},
                                          "subscriptionType": None}
    # Searching datasets is a mutation only; validation errors leave no data.
    wrong_root = ok(graphql(base_url, "{ mlflowSearchDatasets(input: {}) { datasetSummaries { name } } }"))
    assert wrong_root["data"] is None and len(wrong_root["errors"]) == 1
    assert "mlflowSearchDatasets" in wrong_root["errors"][0]


def test_the_references_query_safety_limits(base_url):
    # Checked before validation: unknown fields at depth 11 are refused for their depth.
    too_deep = "{ a " * 10 + "{ b }" + " }" * 10
    assert ok(graphql(base_url, too_deep)) == {"data": None, "errors": ["Query exceeds maximum depth of 10"]}
    fields = " ".join(f"f{i}: __typename" for i in range(10))
    spreads = " ".join(f"a{i}: mlflowGetRun(input: {{}}) {{ run {{ ...R }} }}" for i in range(10))
    too_many = "{ %s } fragment R on MlflowRunExtension { %s }" % (spreads, " ".join("__typename" for _ in range(99)))
    assert ok(graphql(base_url, too_many)) == {
        "data": None, "errors": ["Query exceeds maximum total selections of 1000"]}
    roots = "{ %s __typename }" % fields
    refused = ok(graphql(base_url, roots))
    assert refused["data"] is None
    assert refused["errors"][0].startswith(
        "GraphQL queries should have at most 10 root fields, got 11 root fields. To increase the limit, set ")
    aliases = "{ test(inputString: \"x\") { %s } }" % " ".join(f"o{i}: output" for i in range(11))
    refused = ok(graphql(base_url, aliases))
    assert refused["errors"][0].startswith(
        "GraphQL queries should have at most 10 aliases, got 11 aliases. To increase the limit, set ")


def test_only_json_bodies_are_taken(base_url):
    resp = requests.post(f"{base_url}/graphql", data='{"query": "{ test(inputString: \\"x\\") { output } }"}',
                         headers={"Content-Type": "text/plain"}, timeout=30)
    assert resp.status_code == 400
    assert resp.json()["error_code"] == "INVALID_PARAMETER_VALUE"


# Keel's own answers from here on.
keel_only = pytest.mark.skipif(serverctl.IS_REFERENCE, reason="Keel's own behaviour")


@pytest.mark.skipif(serverctl.IS_REFERENCE, reason="the reference answers these with a 500 page")
@pytest.mark.parametrize("body", [
    {"query": "{"},
    {"query": ""},
    {"variables": {}},
    {"query": 123},
    [{"query": "{ test(inputString: \"x\") { output } }"}],
    {"query": "{ test(inputString: \"x\") { output } }", "variables": "[1]"},
    {"query": "{ test(inputString: \"x\") { output } }", "variables": [1]},
])
def test_what_the_reference_fails_on_is_a_400_naming_the_problem(base_url, body):
    resp = requests.post(f"{base_url}/graphql", json=body, timeout=30)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert resp.json()["message"]


@keel_only
def test_parsing_and_validation_stay_proportional_to_the_request(base_url):
    # Brackets nested a hundred thousand deep would overflow a recursive parser.
    deep = "{ test(inputString: \"x\") { output } } " + "query Q { a(x: " + "[" * 100_000 + "]" * 100_000 + ") }"
    resp = requests.post(f"{base_url}/graphql", json={"query": deep}, timeout=30)
    assert resp.status_code == 400
    assert "nests brackets more than 64 deep" in resp.json()["message"]
    # A fragment no operation spreads is still validated: the document is bounded as written.
    unused = "fragment U on Query { %s }" % " ".join(f"t{i}: __typename" for i in range(3000))
    resp = requests.post(f"{base_url}/graphql", json={"query": "{ __typename } " + unused}, timeout=30)
    assert resp.status_code == 400
    assert resp.json()["message"] == "A GraphQL document may hold at most 2000 selections."
    # A body over the JSON limit is refused before it is parsed.
    huge = {"query": "{ test(inputString: \"%s\") { output } }" % ("x" * (17 * 1024 * 1024))}
    resp = requests.post(f"{base_url}/graphql", json=huge, timeout=60)
    assert resp.status_code == 400 and "too large" in resp.json()["message"]


@keel_only
def test_get_takes_the_query_string_and_answers_as_post(base_url, seeded):
    resp = requests.get(f"{base_url}/graphql", params={
        "query": "query($i: MlflowGetRunInput) { mlflowGetRun(input: $i) { run { info { runId } } } }",
        "variables": json.dumps({"i": {"runId": seeded["run"]}})}, timeout=30)
    assert ok(resp) == {"data": {"mlflowGetRun": {"run": {"info": {"runId": seeded["run"]}}}}, "errors": None}


@keel_only
def test_concurrent_queries_answer_alike(base_url, seeded):
    def one(_):
        return graphql(base_url, GET_RUN, {"data": {"runId": seeded["run"]}}).text

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = set(pool.map(one, range(32)))
    assert len(answers) == 1 and '"errors":null' in answers.pop()


@keel_only
def test_each_object_is_authorized_as_its_rest_route(secured, monkeypatch):
    from mlflow.server import get_app_client

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN[0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN[1])
    admin = MlflowClient(tracking_uri=secured.url)
    accounts = get_app_client("basic-auth", tracking_uri=secured.url)
    bob = (unique("bob"), "bob-password-1")
    accounts.create_user(*bob)
    shown = admin.create_experiment(unique("shown"))
    hidden = admin.create_experiment(unique("hidden"))
    shown_run = admin.create_run(shown).info.run_id
    hidden_run = admin.create_run(hidden).info.run_id
    hidden_model = unique("hidden-model")
    admin.create_registered_model(hidden_model)
    admin.create_model_version(hidden_model, f"runs:/{shown_run}/m", run_id=shown_run)
    accounts.grant_user_permission(bob[0], "experiment", shown, "READ")

    def query(auth, q):
        return requests.post(f"{secured.url}/graphql", json={"query": q}, auth=auth, timeout=30)

    assert query(None, "{ __typename }").status_code == 401
    both = ('{ s: mlflowGetRun(input: {runId: "%s"}) { run { info { runId } modelVersions { name } } } '
            'h: mlflowGetRun(input: {runId: "%s"}) { run { info { runId } } } '
            'e: mlflowGetExperiment(input: {experimentId: "%s"}) { experiment { name } } '
            'a: mlflowListArtifacts(input: {runId: "%s"}) { files { path } } '
            'r: mlflowSearchRuns(input: {experimentIds: ["%s", "%s"]}) { runs { info { runId } modelVersions { name } } } }'
            % (shown_run, hidden_run, hidden, hidden_run, shown, hidden))
    # Bob reads what he was granted; what he may not read is null, without an error, and his
    # search keeps only readable experiments; he sees no version of a model he may not read.
    body = ok(query(bob, both))
    assert body["errors"] is None
    assert body["data"] == {
        "s": {"run": {"info": {"runId": shown_run}, "modelVersions": []}},
        "h": None, "e": None, "a": None,
        "r": {"runs": [{"info": {"runId": shown_run}, "modelVersions": []}]},
    }
    # The administrator sees everything.
    body = ok(query(ADMIN, both))
    assert body["errors"] is None
    assert body["data"]["h"] == {"run": {"info": {"runId": hidden_run}}}
    assert body["data"]["s"]["run"]["modelVersions"] == [{"name": hidden_model}]
    assert {r["info"]["runId"]: r["modelVersions"] for r in body["data"]["r"]["runs"]} == {
        shown_run: [{"name": hidden_model}], hidden_run: []}

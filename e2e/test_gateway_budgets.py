"""The AI gateway's budget policies (issue 17): the reference's `gateway/budgets/*` routes (its
fields, enums by name or number, validation messages, partial updates, paging, the windows
route) — shared with the reference server — and Keel's enforcement: every call's worst-case
cost reserved before the upstream call and settled after, so that concurrent calls through two
replicas on one PostgreSQL database never take a REJECT budget past its limit; the reference's
429; `budget_policy.exceeded` webhooks for ALERT budgets, once per window."""

import json
import threading
import time
import uuid

import pytest
import requests

import serverctl
from gateway_support import ADMIN, LOCAL_UPSTREAMS, make_endpoint, secured_server, service_token
from mock_providers import MockProvider
from test_webhooks import Receiver, assert_signed

BUDGETS = "/api/3.0/mlflow/gateway/budgets"


def call(base_url, method, action, body=None, params=None, auth=None):
    return requests.request(method, f"{base_url}{BUDGETS}/{action}", json=body, params=params, auth=auth,
                            timeout=60)


def hourly(**extra):
    return {"budget_unit": "USD", "budget_amount": 25, "duration": {"unit": "HOURS", "value": 1},
            "target_scope": "WORKSPACE", "budget_action": "ALERT", "created_by": "alice", **extra}


def test_a_policy_is_created_read_updated_listed_and_deleted_as_on_the_reference(base_url):
    resp = call(base_url, "POST", "create", hourly())
    assert resp.status_code == 200, resp.text
    policy = resp.json()["budget_policy"]
    assert policy["budget_policy_id"].startswith("bp-") and len(policy["budget_policy_id"]) == 35
    assert {k: policy[k] for k in ("budget_unit", "budget_amount", "duration", "target_scope", "budget_action",
                                   "created_by", "last_updated_by")} == {
        "budget_unit": "USD", "budget_amount": 25.0, "duration": {"unit": "HOURS", "value": 1},
        "target_scope": "WORKSPACE", "budget_action": "ALERT", "created_by": "alice", "last_updated_by": "alice"}
    assert "target_value" not in policy and policy["created_at"] == policy["last_updated_at"]
    pid = policy["budget_policy_id"]
    assert call(base_url, "GET", "get", params={"budget_policy_id": pid}).json() == {"budget_policy": policy}

    # Enums by number; only the fields given change.
    updated = call(base_url, "POST", "update", {"budget_policy_id": pid, "budget_amount": 0.5,
                                                 "duration": {"unit": 3, "value": 7}, "budget_action": 2,
                                                 "updated_by": "bob"})
    assert updated.status_code == 200, updated.text
    after = updated.json()["budget_policy"]
    assert (after["budget_amount"], after["duration"], after["budget_action"]) == (0.5, {"unit": "DAYS", "value": 7},
                                                                                  "REJECT")
    assert (after["created_by"], after["last_updated_by"], after["target_scope"]) == ("alice", "bob", "WORKSPACE")

    listed = call(base_url, "GET", "list").json()["budget_policies"]
    assert pid in [p["budget_policy_id"] for p in listed]
    windows = call(base_url, "GET", "windows").json()["windows"]
    mine = [w for w in windows if w["budget_policy_id"] == pid]
    assert len(mine) == 1 and mine[0]["current_spend"] == 0
    assert mine[0]["window_end_ms"] - mine[0]["window_start_ms"] == 7 * 86_400_000
    assert mine[0]["window_start_ms"] % 86_400_000 == 0, "days are counted from the epoch, in UTC"

    assert call(base_url, "DELETE", "delete", {"budget_policy_id": pid}).json() == {}
    gone = call(base_url, "GET", "get", params={"budget_policy_id": pid})
    assert gone.status_code == 404
    assert gone.json()["message"] == f"BudgetPolicy not found (budget_policy_id='{pid}')"
    assert call(base_url, "DELETE", "delete", {"budget_policy_id": pid}).status_code == 404


@pytest.mark.parametrize("body, message", [
    ({"budget_amount": 1}, "Missing value for required parameter 'budget_unit'. See the API docs for more "
                           "information about request parameters."),
    (hourly(budget_unit="EUR"), "Invalid budget_unit: 0"),
    (hourly(duration={"unit": "YEARS", "value": 1}), "Invalid duration.unit: 0"),
    (hourly(duration={"unit": "DAYS", "value": 0}), "duration.value must be a positive integer, got 0"),
    (hourly(target_scope=9), "Invalid target_scope: 0"),
    (hourly(target_scope="ENDPOINT"), "target_value is required when target_scope is ENDPOINT."),
    (hourly(target_value="someone"), "target_value can only be set when target_scope is ENDPOINT or USER."),
])
def test_bad_policies_are_refused_in_the_references_words(base_url, body, message):
    resp = call(base_url, "POST", "create", body)
    assert resp.status_code == 400, resp.text
    assert (resp.json()["error_code"], resp.json()["message"]) == ("INVALID_PARAMETER_VALUE", message)


def test_targets_must_exist_and_user_budgets_need_authentication(base_url):
    resp = call(base_url, "POST", "create", hourly(target_scope="ENDPOINT", target_value="e-nope"))
    assert resp.status_code == 404
    assert resp.json()["message"] == "GatewayEndpoint not found (endpoint_id='e-nope')"
    resp = call(base_url, "POST", "create", hourly(target_scope="USER", target_value="alice"))
    assert resp.status_code == 400
    assert resp.json()["message"].startswith("USER-scoped budget policies require server authentication")
    pid = call(base_url, "POST", "create", hourly()).json()["budget_policy"]["budget_policy_id"]
    # The effective scope is checked: a switch to ENDPOINT needs a target.
    resp = call(base_url, "POST", "update", {"budget_policy_id": pid, "target_scope": "ENDPOINT"})
    assert resp.status_code == 400
    assert resp.json()["message"] == "target_value is required when target_scope is ENDPOINT."
    missing = call(base_url, "POST", "update", {"budget_policy_id": "bp-nope", "budget_amount": 1})
    assert missing.status_code == 404


def test_policies_are_listed_a_page_at_a_time(base_url):
    for _ in range(3):
        assert call(base_url, "POST", "create", hourly()).status_code == 200
    first = call(base_url, "GET", "list", params={"max_results": 2}).json()
    assert len(first["budget_policies"]) == 2 and first["next_page_token"]
    second = call(base_url, "GET", "list", params={"max_results": 2, "page_token": first["next_page_token"]}).json()
    ids = [p["budget_policy_id"] for p in first["budget_policies"] + second["budget_policies"]]
    assert len(ids) == len(set(ids)) and ids[:2] == sorted(ids[:2])
    too_many = call(base_url, "GET", "list", params={"max_results": 50001})
    assert too_many.status_code == 400


# Keel's enforcement. A price file makes one model cost exactly $1 per million output tokens
# and nothing for input, so a call capped at 5 tokens has a worst case equal to what the mock
# answers with (5 completion tokens): $0.000005.
keel_only = pytest.mark.skipif(serverctl.IS_REFERENCE, reason="Keel's gateway calls")
PRICED = "priced-model"
PER_CALL = 5e-6


@pytest.fixture(scope="module")
def mock():
    m = MockProvider().start()
    yield m
    m.stop()


@pytest.fixture(scope="module")
def prices(tmp_path_factory):
    path = tmp_path_factory.mktemp("prices") / "prices.json"
    path.write_text(json.dumps({"openai": {PRICED: {"input": 0.0, "output": 1.0},
                                           "slow-stream": {"input": 0.0, "output": 1.0}}}))
    return path


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, prices):
    """One Keel — and, on PostgreSQL, a second process on the same database and data."""
    data = tmp_path_factory.mktemp("gateway-budgets") / "data"
    args = [*LOCAL_UPSTREAMS, "--gateway-prices-file", str(prices)]
    first = secured_server(data, args).start()
    servers = [first]
    if serverctl.BACKEND == "postgres":
        servers.append(secured_server(data, args).start())
    yield servers
    for srv in servers:
        srv.stop()


@pytest.fixture(scope="module")
def token(replicas):
    return service_token(replicas[0])


def chat(url, token, endpoint, text="hi"):
    return requests.post(f"{url}/gateway/mlflow/v1/chat/completions", timeout=60,
                         headers={"Authorization": f"Bearer {token}"},
                         json={"model": endpoint, "max_tokens": 5, "messages": [{"role": "user", "content": text}]})


def admin_call(url, method, action, body=None, params=None):
    resp = call(url, method, action, body, params, auth=ADMIN)
    assert resp.status_code == 200, resp.text
    return resp.json()


def spend(url, pid):
    windows = admin_call(url, "GET", "windows")["windows"]
    return next(w for w in windows if w["budget_policy_id"] == pid)


def wait_settled(url, pid, timeout=30.0):
    """The policy's window once no call holds anything on it any more."""
    deadline = time.monotonic() + timeout
    while True:
        window = spend(url, pid)
        if window["reserved_spend"] == 0 or time.monotonic() > deadline:
            return window
        time.sleep(0.05)


@keel_only
def test_concurrent_calls_through_every_replica_never_pass_a_reject_budget(replicas, mock, token):
    url = replicas[0].url
    endpoint = make_endpoint(url, f"{mock.url}/v1", [(PRICED, "PRIMARY", 1.0, None)])
    endpoint_id = requests.get(f"{url}/api/3.0/mlflow/gateway/endpoints/get", params={"name": endpoint},
                               auth=ADMIN, timeout=30).json()["endpoint"]["endpoint_id"]
    allowed = 50
    policy = admin_call(url, "POST", "create", {
        "budget_unit": "USD", "budget_amount": allowed * PER_CALL, "duration": {"unit": "DAYS", "value": 1},
        "target_scope": "ENDPOINT", "target_value": endpoint_id, "budget_action": "REJECT"})["budget_policy"]
    pid = policy["budget_policy_id"]
    time.sleep(5.5)  # every replica has read the new policy (they re-read the limits every 5 s)
    before = mock.count()

    statuses, bodies, lock = [], [], threading.Lock()
    start = threading.Barrier(200)

    def one(i):
        start.wait()
        resp = chat(replicas[i % len(replicas)].url, token, endpoint)
        with lock:
            statuses.append(resp.status_code)
            bodies.append(resp.text)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    served = statuses.count(200)
    assert set(statuses) <= {200, 429}, sorted(set(statuses))
    assert served == allowed, f"{served} calls served; the budget allows exactly {allowed}"
    assert mock.count() - before == allowed, "a refused call never reaches the provider"
    refusal = json.loads(next(b for b, s in zip(bodies, statuses) if s == 429))
    assert refusal["detail"].startswith("Budget limit exceeded. Limit: $0.00 USD per 1 day. Budget resets at ")
    window = wait_settled(url, pid)
    assert window["reserved_spend"] == 0
    assert window["current_spend"] == pytest.approx(allowed * PER_CALL, rel=1e-9)
    # Every replica sees the same window, and the budget stays closed.
    for srv in replicas:
        assert spend(srv.url, pid)["current_spend"] == window["current_spend"]
        assert chat(srv.url, token, endpoint).status_code == 429


@keel_only
def test_raising_a_budget_reopens_it_and_deleting_it_lifts_it(replicas, mock, token):
    url = replicas[0].url
    endpoint = make_endpoint(url, f"{mock.url}/v1", [(PRICED, "PRIMARY", 1.0, None)])
    pid = admin_call(url, "POST", "create", {
        "budget_unit": "USD", "budget_amount": 2 * PER_CALL, "duration": {"unit": "MINUTES", "value": 30},
        "target_scope": "WORKSPACE", "budget_action": "REJECT"})["budget_policy"]["budget_policy_id"]
    try:
        assert [chat(url, token, endpoint).status_code for _ in range(3)] == [200, 200, 429]
        admin_call(url, "POST", "update", {"budget_policy_id": pid, "budget_amount": 3 * PER_CALL})
        wait_settled(url, pid)
        assert [chat(url, token, endpoint).status_code for _ in range(2)] == [200, 429]
    finally:
        admin_call(url, "DELETE", "delete", {"budget_policy_id": pid})
    assert chat(url, token, endpoint).status_code == 200


@keel_only
def test_an_alert_budget_fires_its_webhook_once_per_window_and_never_rejects(replicas, mock, token):
    url = replicas[0].url
    receiver = Receiver()
    try:
        hook = requests.post(f"{url}/api/2.0/mlflow/webhooks", auth=ADMIN, timeout=30, json={
            "name": f"budget-{uuid.uuid4().hex[:6]}", "url": receiver.url("/budget"), "secret": "budget-secret",
            "events": [{"entity": "BUDGET_POLICY", "action": "EXCEEDED"}]})
        assert hook.status_code == 200, hook.text
        endpoint = make_endpoint(url, f"{mock.url}/v1", [(PRICED, "PRIMARY", 1.0, None)])
        pid = admin_call(url, "POST", "create", {
            "budget_unit": "USD", "budget_amount": 2 * PER_CALL, "duration": {"unit": "HOURS", "value": 1},
            "target_scope": "WORKSPACE", "budget_action": "ALERT"})["budget_policy"]["budget_policy_id"]
        try:
            assert [chat(url, token, endpoint).status_code for _ in range(4)] == [200] * 4
            hits = receiver.wait_for(1, path="/budget")
            time.sleep(2)
            hits = [h for h in receiver.hits if json.loads(h["body"])["data"]["budget_policy_id"] == pid]
            assert len(hits) == 1, "once per window"
            event = assert_signed(hits[0], "budget-secret")
            assert (event["entity"], event["action"]) == ("budget_policy", "exceeded")
            data = event["data"]
            assert list(data) == ["budget_policy_id", "budget_unit", "budget_amount", "current_spend", "duration_unit",
                                  "duration_value", "target_scope", "workspace", "target_value", "window_start"]
            assert (data["budget_unit"], data["duration_unit"], data["duration_value"], data["target_scope"],
                    data["workspace"], data["target_value"]) == ("USD", "HOURS", 1, "WORKSPACE", "default", None)
            assert data["current_spend"] == pytest.approx(2 * PER_CALL)
            assert data["window_start"] % 3_600_000 == 0
        finally:
            admin_call(url, "DELETE", "delete", {"budget_policy_id": pid})
    finally:
        receiver.close()


@keel_only
def test_a_refusal_is_audited_with_the_budget_that_refused_it(replicas, mock, token):
    url = replicas[0].url
    endpoint = make_endpoint(url, f"{mock.url}/v1", [(PRICED, "PRIMARY", 1.0, None)])
    pid = admin_call(url, "POST", "create", {
        "budget_unit": "USD", "budget_amount": 0, "duration": {"unit": "HOURS", "value": 1},
        "target_scope": "WORKSPACE", "budget_action": "REJECT"})["budget_policy"]["budget_policy_id"]
    try:
        refused = chat(url, token, endpoint)
        assert refused.status_code == 429
    finally:
        admin_call(url, "DELETE", "delete", {"budget_policy_id": pid})
    served = chat(url, token, endpoint)
    assert served.status_code == 200
    entries = requests.get(f"{url}/api/3.0/keel/audit/search", auth=ADMIN, timeout=30,
                           params={"action": "gateway.invoke", "max_results": 50}).json()["entries"]
    details = [e["entry"].get("detail") or {} for e in entries]
    assert {"decision": "rejected", "endpoint": endpoint, "limit": pid} in details
    assert any(d.get("decision") == "served" and d.get("endpoint") == endpoint and d.get("model") == PRICED
               for d in details)


# Keel's rate limits: requests and tokens per UTC minute.
RATES = "/api/3.0/keel/gateway/rate-limits"


def rates(url, method, action, body=None, params=None, auth=ADMIN):
    return requests.request(method, f"{url}{RATES}/{action}", json=body, params=params, auth=auth, timeout=60)


def early_in_a_minute(margin=15):
    """Waits, if need be, until a minute has at least `margin` seconds left."""
    if time.time() % 60 > 60 - margin:
        time.sleep(60 - time.time() % 60 + 0.2)


@keel_only
def test_rate_limits_are_configured_and_checked(replicas):
    url = replicas[0].url
    created = rates(url, "POST", "create", {"target_scope": "WORKSPACE", "requests_per_minute": 30,
                                            "created_by": "ops"})
    assert created.status_code == 200, created.text
    limit = created.json()["rate_limit"]
    rid = limit["rate_limit_id"]
    assert rid.startswith("rl-") and limit["requests_per_minute"] == 30 and "tokens_per_minute" not in limit
    assert rates(url, "GET", "get", params={"rate_limit_id": rid}).json() == {"rate_limit": limit}
    updated = rates(url, "POST", "update", {"rate_limit_id": rid, "tokens_per_minute": 1000,
                                            "requests_per_minute": 0, "updated_by": "ops2"}).json()["rate_limit"]
    assert (updated.get("requests_per_minute"), updated["tokens_per_minute"], updated["last_updated_by"]) == \
        (None, 1000, "ops2")
    assert rid in [r["rate_limit_id"] for r in rates(url, "GET", "list").json()["rate_limits"]]
    window = next(w for w in rates(url, "GET", "windows").json()["windows"] if w["rate_limit_id"] == rid)
    assert window["window_end_ms"] - window["window_start_ms"] == 60_000 and window["window_start_ms"] % 60_000 == 0
    for body, status, message in [
        ({"target_scope": "WORKSPACE"}, 400, "A rate limit needs requests_per_minute, tokens_per_minute or both"),
        ({"target_scope": "ENDPOINT", "requests_per_minute": 1}, 400, "target_value is required"),
        ({"target_scope": "ENDPOINT", "target_value": "e-nope", "requests_per_minute": 1}, 404,
         "GatewayEndpoint not found"),
        ({"target_scope": "SOMETIMES", "requests_per_minute": 1}, 400, "Invalid target_scope 'SOMETIMES'"),
        ({"requests_per_minute": 1}, 400, "Missing value for required parameter 'target_scope'"),
    ]:
        resp = rates(url, "POST", "create", body)
        assert resp.status_code == status, (body, resp.text)
        assert resp.json()["message"].startswith(message), resp.text
    app = service_token(replicas[0])
    forbidden = requests.post(f"{url}{RATES}/create", timeout=30, headers={"Authorization": f"Bearer {app}"},
                              json={"target_scope": "WORKSPACE", "requests_per_minute": 1})
    assert forbidden.status_code == 403, "an ordinary account configures no limits"
    assert rates(url, "DELETE", "delete", {"rate_limit_id": rid}).json() == {}
    assert rates(url, "GET", "get", params={"rate_limit_id": rid}).status_code == 404


@keel_only
def test_requests_per_minute_hold_across_replicas(replicas, mock, token):
    url = replicas[0].url
    endpoint = make_endpoint(url, f"{mock.url}/v1", [(PRICED, "PRIMARY", 1.0, None)])
    endpoint_id = requests.get(f"{url}/api/3.0/mlflow/gateway/endpoints/get", params={"name": endpoint},
                               auth=ADMIN, timeout=30).json()["endpoint"]["endpoint_id"]
    rid = rates(url, "POST", "create", {"target_scope": "ENDPOINT", "target_value": endpoint_id,
                                        "requests_per_minute": 5}).json()["rate_limit"]["rate_limit_id"]
    try:
        time.sleep(5.5)  # every replica has read it
        early_in_a_minute()
        statuses = []
        lock = threading.Lock()

        def one(i):
            resp = chat(replicas[i % len(replicas)].url, token, endpoint)
            with lock:
                statuses.append((resp.status_code, resp.text))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [s for s, _ in statuses].count(200) == 5, statuses
        refused = json.loads(next(text for s, text in statuses if s == 429))["detail"]
        assert refused.startswith(f"Rate limit exceeded: at most 5 requests per minute (rate limit {rid}). "
                                  "Try again in ")
    finally:
        rates(url, "DELETE", "delete", {"rate_limit_id": rid})


@keel_only
def test_tokens_per_minute_reserve_the_worst_case_and_settle_the_actual_use(replicas, mock, token):
    url = replicas[0].url
    endpoint = make_endpoint(url, f"{mock.url}/v1", [(PRICED, "PRIMARY", 1.0, None)])
    body = {"max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    # The worst case: every byte of the body (without its `model`) an input token, plus the cap.
    worst = len(json.dumps(body, separators=(",", ":"))) + 5
    rid = rates(url, "POST", "create", {"target_scope": "WORKSPACE",
                                        "tokens_per_minute": worst}).json()["rate_limit"]["rate_limit_id"]
    try:
        early_in_a_minute()
        assert chat(url, token, endpoint).status_code == 200
        deadline = time.monotonic() + 30
        while True:
            window = next(w for w in rates(url, "GET", "windows").json()["windows"] if w["rate_limit_id"] == rid)
            if window["tokens_held"] == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert (window["tokens_used"], window["tokens_held"]) == (17, 0), "the mock's 12 + 5 tokens, settled"
        # 17 used: a call that may use `worst` more no longer fits in the minute.
        second = chat(url, token, endpoint)
        assert second.status_code == 429
        assert "at most %d tokens per minute" % worst in second.json()["detail"]
    finally:
        rates(url, "DELETE", "delete", {"rate_limit_id": rid})


@keel_only
def test_a_graceful_stop_settles_every_call_and_writes_every_trace(tmp_path, mock, prices, monkeypatch):
    srv = secured_server(tmp_path / "data", [*LOCAL_UPSTREAMS, "--gateway-prices-file", str(prices)]).start()
    try:
        app = service_token(srv)
        endpoint = make_endpoint(srv.url, f"{mock.url}/v1", [(PRICED, "PRIMARY", 1.0, None)], usage_tracking=True)
        slow = make_endpoint(srv.url, f"{mock.url}/v1", [("slow-stream", "PRIMARY", 1.0, None)],
                             usage_tracking=True)
        pid = admin_call(srv.url, "POST", "create", {
            "budget_unit": "USD", "budget_amount": 1.0, "duration": {"unit": "DAYS", "value": 1},
            "target_scope": "WORKSPACE", "budget_action": "REJECT"})["budget_policy"]["budget_policy_id"]
        for _ in range(5):
            assert chat(srv.url, app, endpoint).status_code == 200
        # A stream of 100 words (a tenth of a second each) is in flight when the server is told
        # to stop: it is served to its end, then settled and traced before the process exits.
        stream = requests.post(f"{srv.url}/gateway/mlflow/v1/chat/completions", stream=True, timeout=60,
                               headers={"Authorization": f"Bearer {app}"},
                               json={"model": slow, "stream": True, "max_tokens": 200,
                                     "messages": [{"role": "user", "content": "go"}]})
        assert stream.status_code == 200
        lines = stream.iter_lines()
        next(lines)
        stopper = threading.Thread(target=srv.stop)
        stopper.start()
        received = sum(1 for line in lines if line.startswith(b"data: "))
        stopper.join()
        assert received >= 99, "the stream in flight was served to its end"
        srv.start()
        window = spend(srv.url, pid)
        assert window["reserved_spend"] == 0
        assert window["current_spend"] == pytest.approx(5 * PER_CALL + 100 * 1e-6), "settled at the stream's usage"
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN[0])
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN[1])
        from mlflow import MlflowClient
        client = MlflowClient(tracking_uri=srv.url)
        for name, count in ((endpoint, 5), (slow, 1)):
            experiment = client.get_experiment_by_name(f"gateway/{name}")
            assert len(client.search_traces(locations=[experiment.experiment_id], max_results=100)) == count
    finally:
        srv.stop()

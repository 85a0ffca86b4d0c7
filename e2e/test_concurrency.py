"""Concurrent clients writing to one run and one experiment lose nothing and see no spurious errors."""

import threading

from mlflow import MlflowClient
from mlflow.entities import Metric, Param

from conftest import unique

THREADS = 8
CALLS = 20


def run_threads(target):
    errors = []

    def wrapped(t):
        try:
            target(t)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(f"thread {t}: {exc!r}")

    threads = [threading.Thread(target=wrapped, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not any(th.is_alive() for th in threads), "threads hung"
    assert errors == []


def test_parallel_metric_logging_to_one_run(server, run_id):
    def work(t):
        c = MlflowClient(server.url)
        for i in range(CALLS):
            c.log_metric(run_id, "shared", float(t * CALLS + i), timestamp=1_000 + i, step=t * CALLS + i)
            c.log_batch(run_id, metrics=[Metric(f"own-{t}", float(i), 1_000 + i, i)], params=[Param(f"p-{t}-{i}", "v")])

    run_threads(work)
    client = MlflowClient(server.url)
    history = client.get_metric_history(run_id, "shared")
    assert sorted(m.step for m in history) == list(range(THREADS * CALLS))
    data = client.get_run(run_id).data
    assert data.metrics["shared"] == float(THREADS * CALLS - 1)
    assert len(data.params) == THREADS * CALLS
    for t in range(THREADS):
        assert data.metrics[f"own-{t}"] == float(CALLS - 1)


def test_parallel_run_creation(server, experiment_id):
    created = [[] for _ in range(THREADS)]

    def work(t):
        c = MlflowClient(server.url)
        for _ in range(CALLS // 2):
            created[t].append(c.create_run(experiment_id).info.run_id)

    run_threads(work)
    ids = [r for per_thread in created for r in per_thread]
    assert len(set(ids)) == len(ids) == THREADS * (CALLS // 2)
    found = MlflowClient(server.url).search_runs([experiment_id], max_results=1000)
    assert {r.info.run_id for r in found} == set(ids)


def test_parallel_experiment_creation_same_name(server):
    name = unique("race")
    outcomes = []
    lock = threading.Lock()

    def work(t):
        c = MlflowClient(server.url)
        try:
            exp_id = c.create_experiment(name)
            with lock:
                outcomes.append(("ok", exp_id))
        except Exception as exc:  # noqa: BLE001
            with lock:
                outcomes.append(("err", getattr(exc, "error_code", repr(exc))))

    run_threads(work)
    oks = [o for o in outcomes if o[0] == "ok"]
    errs = [o for o in outcomes if o[0] == "err"]
    assert len(oks) == 1, outcomes
    assert all(code == "RESOURCE_ALREADY_EXISTS" for _, code in errs), outcomes

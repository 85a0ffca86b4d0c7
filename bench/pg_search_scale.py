"""Why: measures keel's search latency on PostgreSQL at scale (100,000 runs), reproducibly.

Seeds a fresh PostgreSQL database through keel's own REST API (runs/create with tags,
runs/log-batch with 5 params and 5 metrics, runs/update with status and end time, from many
threads), checks that the data reads back, then times typical `runs/search` shapes (first page,
max_results=100) and the other main reads over HTTP, and prints a markdown table. With
`--explain-log` it also captures the plans PostgreSQL ran for each of them (auto_explain on the
benchmark database only). Not a test: nothing fails on timings; wrong results are flagged.

Run through bench/run.sh (which prepares the venv with psycopg2):

    bench/run.sh pg-search-scale                       # seed 100,000 runs, measure, drop the db
    bench/run.sh pg-search-scale --keep --db keel_scale    # keep the seeded database
    bench/run.sh pg-search-scale --reuse --db keel_scale   # measure an already seeded database

See bench/README.md and docs/postgres-query-plans.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2

import bench
from bench import API, HOST, Client, Server, stop_all

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

BASE_TIME = 1_767_225_600_000  # 2026-01-01 00:00 UTC, ms
EXPERIMENT_WEIGHTS = [40, 25, 15, 12, 8]  # share of runs per experiment (percent)
USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
USER_WEIGHTS = [30, 20, 15, 10, 10, 7, 5, 3]
STATUSES = ["FINISHED", "FAILED", "KILLED", "RUNNING"]
STATUS_WEIGHTS = [85, 9, 2, 4]
MODELS = ["resnet50", "bert-base", "xgboost", "lightgbm", "mlp", "t5-small", "vit-b16", "gpt2"]
MODEL_WEIGHTS = [25, 20, 15, 12, 10, 8, 6, 4]
LEARNING_RATES = ["0.1", "0.03", "0.01", "0.003", "0.001", "0.0003", "0.0001"]
BATCH_SIZES = ["16", "32", "64", "128", "256", "512"]
ENVS = ["prod", "staging", "dev"]
ENV_WEIGHTS = [20, 30, 50]
NAN_SHARE = 0.003  # share of runs whose loss (m3) is NaN
HISTORY_POINTS = 10_000  # one long metric history, for the history read
EXTRA_EXPERIMENTS = 2_000  # experiments without runs, for the experiment search
PAGE = 100


def spec(i: int, models_every: int) -> dict:
    """Run i, fully determined by i: what is logged and what searches must return."""
    rng = random.Random(i)
    start = BASE_TIME + i * 30_000 + rng.randrange(29_000)  # unique, rising with i
    status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
    m3 = rng.lognormvariate(-1.0, 0.8)
    return {
        "i": i,
        "exp": rng.choices(range(len(EXPERIMENT_WEIGHTS)), EXPERIMENT_WEIGHTS)[0],
        "name": f"run-{i:06d}",
        "user": rng.choices(USERS, USER_WEIGHTS)[0],
        "start": start,
        "status": status,
        "end": None if status == "RUNNING" else start + int(rng.lognormvariate(13.0, 1.0)),
        "params": {
            "p1": "x" if rng.random() < 0.5 else "y",
            "p2": rng.choices(MODELS, MODEL_WEIGHTS)[0],
            "p3": rng.choice(LEARNING_RATES),
            "p4": rng.choice(BATCH_SIZES),
            "p5": str(rng.randrange(1_000_000)),
        },
        "metrics": {
            "m1": rng.random(),
            "m2": rng.betavariate(8, 2),
            "m3": math.nan if rng.random() < NAN_SHARE else m3,
            "m4": rng.betavariate(5, 3),
            "m5": rng.lognormvariate(6.0, 1.0),
        },
        "tags": {
            "t1": f"team-{rng.randrange(10)}",
            "t2": rng.choices(ENVS, ENV_WEIGHTS)[0],
            "t3": f"{rng.getrandbits(160):040x}",
        },
        "model": f"model-{i:06d}" if i % models_every == 0 else None,
    }


def wire_value(v: float):
    return "NaN" if math.isnan(v) else v


# --------------------------------------------------------------------------------------------
# Database
# --------------------------------------------------------------------------------------------


class Pg:
    def __init__(self, base: str, db: str):
        self.base, self.db = base.rstrip("/"), db

    def admin(self):
        c = psycopg2.connect(f"{self.base}/postgres")
        c.autocommit = True
        return c

    def conn(self):
        c = psycopg2.connect(f"{self.base}/{self.db}")
        c.autocommit = True
        return c

    def exists(self) -> bool:
        c = self.admin()
        try:
            with c.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.db,))
                return cur.fetchone() is not None
        finally:
            c.close()

    def create(self):
        c = self.admin()
        try:
            with c.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
                cur.execute(f'CREATE DATABASE "{self.db}"')
        finally:
            c.close()

    def drop(self):
        c = self.admin()
        try:
            with c.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
        finally:
            c.close()

    def scalar(self, sql: str, args=()):
        c = self.conn()
        try:
            with c.cursor() as cur:
                cur.execute(sql, args)
                return cur.fetchone()[0]
        finally:
            c.close()

    def execute(self, sql: str):
        c = self.conn()
        try:
            with c.cursor() as cur:
                cur.execute(sql)
        finally:
            c.close()

    def uri(self) -> str:
        return f"{self.base}/{self.db}"


# --------------------------------------------------------------------------------------------
# Seeding through the REST API
# --------------------------------------------------------------------------------------------


def seed(port: int, n: int, threads: int, models_every: int) -> dict:
    c = Client(port)
    exp_ids = [c.call("POST", "/experiments/create", {"name": f"scale-{e}"})["experiment_id"]
               for e in range(len(EXPERIMENT_WEIGHTS))]
    # Many more experiments without runs, as a shared server collects them: the experiment
    # search then reads a table of realistic size.
    for e in range(EXTRA_EXPERIMENTS):
        c.call("POST", "/experiments/create", {
            "name": f"project-{e:04d}", "tags": [{"key": "team", "value": f"team-{e % 10}"}]})
    local = threading.local()
    clients: list[Client] = []
    lock = threading.Lock()
    done = [0]
    t0 = time.monotonic()

    def one(i: int) -> str:
        cl = getattr(local, "c", None)
        if cl is None:
            cl = local.c = Client(port)
            with lock:
                clients.append(cl)
        s = spec(i, models_every)
        run = cl.call("POST", "/runs/create", {
            "experiment_id": exp_ids[s["exp"]], "run_name": s["name"], "user_id": s["user"],
            "start_time": s["start"],
            "tags": [{"key": k, "value": v} for k, v in s["tags"].items()],
        })["run"]["info"]["run_id"]
        model_id = None
        if s["model"]:
            model_id = cl.call("POST", "/logged-models", {
                "experiment_id": exp_ids[s["exp"]], "name": s["model"], "source_run_id": run,
                "params": [{"key": k, "value": s["params"][k]} for k in ("p2", "p3")],
            })["model"]["info"]["model_id"]
        metrics = []
        for k, v in s["metrics"].items():
            m = {"key": k, "value": wire_value(v), "timestamp": s["start"] + 1_000, "step": 0}
            if model_id and k in ("m2", "m3"):
                m["model_id"] = model_id
            metrics.append(m)
        cl.call("POST", "/runs/log-batch", {
            "run_id": run,
            "params": [{"key": k, "value": v} for k, v in s["params"].items()],
            "metrics": metrics,
        })
        if s["status"] != "RUNNING":
            cl.call("POST", "/runs/update", {"run_id": run, "status": s["status"],
                                             "end_time": s["end"]})
        with lock:
            done[0] += 1
            if done[0] % 10_000 == 0:
                rate = done[0] / (time.monotonic() - t0)
                print(f"  seeded {done[0]:,} runs ({rate:,.0f} runs/s)", flush=True)
        return run

    with ThreadPoolExecutor(threads) as ex:
        run_ids = list(ex.map(one, range(n)))
    for cl in clients:
        cl.close()

    # One long history (a loss curve) on the last run, for the metric-history read.
    hist_run = run_ids[-1]
    for start in range(0, HISTORY_POINTS, 1_000):
        c.call("POST", "/runs/log-batch", {"run_id": hist_run, "metrics": [
            {"key": "loss_curve", "value": 1.0 / (1 + s), "timestamp": BASE_TIME + s, "step": s}
            for s in range(start, min(HISTORY_POINTS, start + 1_000))]})
    c.close()
    return {"experiment_ids": exp_ids, "seconds": time.monotonic() - t0, "history_run": hist_run}


def load_meta(pg: Pg) -> dict:
    """Experiment IDs and the history run of an already seeded database."""
    c = pg.conn()
    try:
        with c.cursor() as cur:
            cur.execute("SELECT name, experiment_id FROM experiments WHERE name LIKE 'scale-%'")
            by_name = dict(cur.fetchall())
            cur.execute("SELECT r.run_uuid FROM runs r JOIN metrics m ON m.run_key = r.run_key "
                        "WHERE m.key = 'loss_curve' LIMIT 1")
            row = cur.fetchone()
    finally:
        c.close()
    return {"experiment_ids": [str(by_name[f"scale-{e}"]) for e in range(len(EXPERIMENT_WEIGHTS))],
            "history_run": row[0] if row else None}


def verify(pg: Pg, port: int, meta: dict, specs: list[dict], sample: int) -> list[str]:
    """Row counts in SQL, and a sample of runs read back through the API against their specs."""
    problems = []
    n = len(specs)
    want = {
        "SELECT count(*) FROM runs": n,
        "SELECT count(*) FROM params": 5 * n,
        # runs/create may add system tags (mlflow.runName, ...): count only ours
        "SELECT count(*) FROM tags WHERE key IN ('t1', 't2', 't3')": 3 * n,
        "SELECT count(*) FROM latest_metrics WHERE key <> 'loss_curve'": 5 * n,
        "SELECT count(*) FROM logged_models": sum(1 for s in specs if s["model"]),
        "SELECT count(*) FROM metrics WHERE model_id IS NOT NULL":
            2 * sum(1 for s in specs if s["model"]),
    }
    for sql, w in want.items():
        got = pg.scalar(sql)
        if got != w:
            problems.append(f"{sql}: {got:,}, expected {w:,}")
    c = Client(port)
    for s in random.Random(7).sample(specs, min(sample, n)):
        doc = c.call("POST", "/runs/search", {
            "experiment_ids": meta["experiment_ids"],
            "filter": f"attributes.run_name = '{s['name']}'", "max_results": 2})
        runs = doc.get("runs", [])
        if len(runs) != 1:
            problems.append(f"{s['name']}: found {len(runs)} runs by name")
            continue
        run = c.call("GET", f"/runs/get?run_id={runs[0]['info']['run_id']}")["run"]
        if run["info"]["experiment_id"] != meta["experiment_ids"][s["exp"]]:
            problems.append(f"{s['name']}: in experiment {run['info']['experiment_id']}")
        problems.extend(check_run(run, s))
    c.close()
    return problems


def check_run(run: dict, s: dict) -> list[str]:
    info, data = run["info"], run.get("data", {})
    out = []
    expect_info = {"run_name": s["name"], "user_id": s["user"], "status": s["status"],
                   "start_time": s["start"], "lifecycle_stage": "active"}
    for k, v in expect_info.items():
        if str(info.get(k)) != str(v):
            out.append(f"{s['name']}: info.{k} = {info.get(k)!r}, expected {v!r}")
    if s["end"] is not None and str(info.get("end_time")) != str(s["end"]):
        out.append(f"{s['name']}: end_time {info.get('end_time')!r}, expected {s['end']}")
    params = {p["key"]: p["value"] for p in data.get("params", [])}
    if params != s["params"]:
        out.append(f"{s['name']}: params {params} != {s['params']}")
    tags = {t["key"]: t["value"] for t in data.get("tags", []) if t["key"] in s["tags"]}
    if tags != s["tags"]:
        out.append(f"{s['name']}: tags {tags} != {s['tags']}")
    metrics = {m["key"]: m["value"] for m in data.get("metrics", [])}
    for k, v in s["metrics"].items():
        g = metrics.get(k)
        same = (isinstance(g, str) and g == "NaN" and math.isnan(v)) or (
            isinstance(g, (int, float)) and not math.isnan(v) and abs(g - v) <= 1e-12 * max(1, abs(v)))
        if not same:
            out.append(f"{s['name']}: metric {k} = {g!r}, expected {v!r}")
    return out


# --------------------------------------------------------------------------------------------
# Search shapes and their expected first pages
# --------------------------------------------------------------------------------------------


def _metric_desc_key(key: str):
    def k(s):
        v = s["metrics"].get(key)
        group = 2 if v is None else 1 if math.isnan(v) else 0
        return (group, -(v if group == 0 else 0), -s["start"])
    return k


RUN_SHAPES = [
    dict(id="metric+param filter, order by metric",
         filter="metrics.m1 > 0.5 and params.p1 = 'x'", order_by=["metrics.m2 DESC"],
         match=lambda s: s["metrics"]["m1"] > 0.5 and s["params"]["p1"] == "x",
         key=_metric_desc_key("m2")),
    dict(id="attribute filter, order by start_time",
         filter="attributes.status = 'FAILED'", order_by=["attributes.start_time DESC"],
         match=lambda s: s["status"] == "FAILED", key=lambda s: -s["start"]),
    dict(id="tag LIKE (10% of runs), default order",
         filter="tags.t1 LIKE 'team-3%'", order_by=[],
         match=lambda s: s["tags"]["t1"].startswith("team-3"), key=lambda s: -s["start"]),
    dict(id="tag LIKE (0.4% of runs), default order",
         filter="tags.t3 LIKE 'ab%'", order_by=[],
         match=lambda s: s["tags"]["t3"].startswith("ab"), key=lambda s: -s["start"]),
    dict(id="tag equality, one run (like mlflow.parentRunId)",
         filter=f"tags.t3 = '{spec(4242, 20)['tags']['t3']}'", order_by=[],
         match=lambda s: s["i"] == 4242, key=lambda s: -s["start"]),
    dict(id="order by param",
         filter="", order_by=["params.p3 ASC"],
         match=lambda s: True, key=lambda s: (s["params"]["p3"], -s["start"])),
    dict(id="metric filter, order by metric ASC (NaN last)",
         filter="metrics.m3 < 0.2", order_by=["metrics.m3 ASC"],
         match=lambda s: not math.isnan(s["metrics"]["m3"]) and s["metrics"]["m3"] < 0.2,
         key=lambda s: (s["metrics"]["m3"], -s["start"])),
    dict(id="no filter, default order",
         filter="", order_by=[], match=lambda s: True, key=lambda s: -s["start"]),
]


def expected_runs(specs: list[dict], shape: dict, exps: set[int]) -> list[str]:
    hits = [s for s in specs if s["exp"] in exps and shape["match"](s)]
    hits.sort(key=shape["key"])
    return [s["name"] for s in hits[:PAGE]]


def expected_models(specs: list[dict], exps: set[int]) -> list[str]:
    hits = [s for s in specs if s["model"] and s["exp"] in exps and s["metrics"]["m2"] > 0.9]
    hits.sort(key=lambda s: -s["metrics"]["m2"])
    return [s["model"] for s in hits[:PAGE]]


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------


def timed(c: Client, method: str, path: str, body: dict | None, reps: int, warmup: int = 3):
    times, doc = [], None
    for k in range(warmup + reps):
        t = time.perf_counter()
        status, data = c.raw(method, API + path, body)
        dt = time.perf_counter() - t
        if status != 200:
            raise bench.ApiError(f"{method} {path} -> {status}: {data[:300]!r}")
        if k >= warmup:
            times.append(dt)
        doc = data
    return times, json.loads(doc)


def summary(times: list[float]) -> dict:
    s = sorted(times)
    return {"median_ms": 1e3 * statistics.median(s), "p90_ms": 1e3 * s[int(0.9 * (len(s) - 1))],
            "min_ms": 1e3 * s[0], "reps": len(s)}


def requests_to_measure(meta: dict, specs: list[dict]) -> list[dict]:
    """(label, scope, method, path, body, expected names or None, how to read names)."""
    all_ids = meta["experiment_ids"]
    out = []
    scopes = [("all 5 experiments", all_ids, set(range(len(all_ids)))),
              ("largest experiment", all_ids[:1], {0})]
    for shape in RUN_SHAPES:
        for scope, ids, exps in scopes:
            body = {"experiment_ids": ids, "max_results": PAGE}
            if shape["filter"]:
                body["filter"] = shape["filter"]
            if shape["order_by"]:
                body["order_by"] = shape["order_by"]
            out.append(dict(label=shape["id"], scope=scope, method="POST", path="/runs/search",
                            body=body, expected=expected_runs(specs, shape, exps),
                            names=lambda d: [r["info"]["run_name"] for r in d.get("runs", [])],
                            shape=dict(filter=shape["filter"], order_by=shape["order_by"])))
    for scope, ids, exps in scopes:
        out.append(dict(label="logged models: metric filter, order by metric", scope=scope,
                        method="POST", path="/logged-models/search",
                        body={"experiment_ids": ids, "filter": "metrics.m2 > 0.9",
                              "order_by": [{"field_name": "metrics.m2", "ascending": False}],
                              "max_results": PAGE},
                        expected=expected_models(specs, exps),
                        names=lambda d: [m["info"]["name"] for m in d.get("models", [])],
                        shape=dict(filter="metrics.m2 > 0.9", order_by=["metrics.m2 DESC"])))
    out.append(dict(label="logged models: default order", scope="largest experiment",
                    method="POST", path="/logged-models/search",
                    body={"experiment_ids": all_ids[:1], "max_results": PAGE}, expected=None,
                    names=lambda d: [m["info"]["name"] for m in d.get("models", [])],
                    shape=dict(filter="", order_by=[])))
    return out


def single_reads(c: Client, meta: dict) -> list[dict]:
    """get run, metric history, experiment search: requests with known IDs."""
    doc = c.call("POST", "/runs/search", {"experiment_ids": meta["experiment_ids"][:1],
                                          "max_results": 1})
    run_id = doc["runs"][0]["info"]["run_id"]
    out = [dict(label="get run", scope="one run", method="GET", path=f"/runs/get?run_id={run_id}",
                body=None, expected=None, names=None, shape=None)]
    if meta.get("history_run"):
        out.append(dict(label=f"metric history ({HISTORY_POINTS:,} points)", scope="one metric",
                        method="GET",
                        path=f"/metrics/get-history?run_id={meta['history_run']}"
                             f"&metric_key=loss_curve&max_results=25000",
                        body=None, expected=None, names=None, shape=None))
    out.append(dict(label="experiment search, default order", scope="all experiments",
                    method="POST", path="/experiments/search", body={"max_results": 100},
                    expected=None, names=None, shape=None))
    out.append(dict(label="experiment search, tag filter, order by name",
                    scope="all experiments", method="POST", path="/experiments/search",
                    body={"max_results": 100, "filter": "tags.team = 'team-3'",
                          "order_by": ["name ASC"]},
                    expected=[f"project-{e:04d}" for e in range(3, EXTRA_EXPERIMENTS, 10)][:PAGE],
                    names=lambda d: [x["name"] for x in d.get("experiments", [])], shape=None))
    return out


def measure(port: int, reqs: list[dict], reps: int) -> list[dict]:
    c = Client(port)
    rows = []
    for r in reqs:
        times, doc = timed(c, r["method"], r["path"], r["body"], reps)
        row = dict(label=r["label"], scope=r["scope"], **summary(times))
        if r["names"] is not None:
            names = r["names"](doc)
            row["rows"] = len(names)
            row["ok"] = None if r["expected"] is None else names == r["expected"]
        print(f"  {r['label']} [{r['scope']}]: median {row['median_ms']:.2f} ms"
              + ("" if row.get("ok") is not False else "  ⚠ WRONG RESULT"), flush=True)
        rows.append(row)
    c.close()
    return rows


# --------------------------------------------------------------------------------------------
# Plans (auto_explain on the benchmark database only)
# --------------------------------------------------------------------------------------------


def capture_plans(pg: Pg, keel_bin: str, reqs: list[dict], log_path: Path) -> str:
    settings = {"session_preload_libraries": "auto_explain",
                "auto_explain.log_min_duration": "0", "auto_explain.log_analyze": "on",
                "auto_explain.log_buffers": "on", "auto_explain.log_timing": "on",
                "auto_explain.log_format": "text"}
    for k, v in settings.items():
        pg.execute(f'ALTER DATABASE "{pg.db}" SET {k} = \'{v}\'')
    out = []
    try:
        srv = keel_server(pg, keel_bin)
        srv.start()
        try:
            c = Client(srv.port)
            for r in reqs:
                c.raw(r["method"], API + r["path"], r["body"])  # warm the cache
                offset = log_path.stat().st_size
                c.raw(r["method"], API + r["path"], r["body"])
                time.sleep(0.3)
                with open(log_path, "rb") as f:
                    f.seek(offset)
                    text = f.read().decode(errors="replace")
                out.append(f"==== {r['label']} [{r['scope']}]")
                if r["body"] is not None:
                    out.append(f"request: {r['method']} {r['path']} {json.dumps(r['body'])}")
                else:
                    out.append(f"request: {r['method']} {r['path']}")
                out.extend(plan_entries(text, pg.db))
                out.append("")
            c.close()
        finally:
            srv.stop()
    finally:
        for k in settings:
            pg.execute(f'ALTER DATABASE "{pg.db}" RESET {k}')
    return "\n".join(out)


def plan_entries(text: str, db: str) -> list[str]:
    entries, cur = [], None
    for line in text.splitlines():
        if line[:1] in ("\t", " ") and cur is not None:
            cur.append(line)
            continue
        cur = [line] if f"@{db} " in line and "plan:" in line else None
        if cur is not None:
            entries.append(cur)
    # Lines naming 100 run IDs or keys run to kilobytes: keep their start.
    return ["\n".join(line if len(line) <= 400 else line[:400] + " …" for line in e)
            for e in entries]


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def keel_server(pg: Pg, keel_bin: str) -> Server:
    def cmd(tmp: Path, port: int) -> list[str]:
        return [keel_bin, "server", "--host", HOST, "--port", str(port), "--data-dir", str(tmp),
                "--backend-store-uri", pg.uri()]
    return Server("keel", "keel", cmd, bench.keel_version(keel_bin), "keel on PostgreSQL")


def render(rows: list[dict], facts: dict) -> str:
    out = ["## Keel search latency on PostgreSQL at scale\n",
           f"{facts['runs']:,} runs (5 params, 5 metrics, 3 tags each) in 5 experiments "
           f"({'/'.join(str(w) for w in EXPERIMENT_WEIGHTS)} % of the runs; "
           f"{EXTRA_EXPERIMENTS:,} more experiments without runs), "
           f"{facts['models']:,} logged models; first page (max_results={PAGE}) over HTTP, "
           f"median of {facts['reps']} after 3 warm-up requests.\n",
           "| request | scope | median | p90 | min | rows | result |",
           "|---|---|---:|---:|---:|---:|---|"]
    for r in rows:
        ok = r.get("ok")
        res = "" if ok is None else "✓" if ok else "⚠ wrong"
        out.append(f"| {r['label']} | {r['scope']} | {r['median_ms']:.2f} ms | {r['p90_ms']:.2f} ms "
                   f"| {r['min_ms']:.2f} ms | {r.get('rows', '')} | {res} |")
    out.append("")
    out.append(f"- keel: {facts['keel']}; PostgreSQL: {facts['postgres']}")
    out.append(f"- seeding: {facts['seeding']}")
    out.append(f"- load average before measuring: {facts['loadavg']}")
    out.append(f"- date: {facts['date']}")
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--models-every", type=int, default=20,
                    help="every Nth run also logs a model (metrics m2, m3 linked to it)")
    ap.add_argument("--db", default=f"keel_scale_{os.getpid()}")
    ap.add_argument("--pg", default=os.environ.get("KEEL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432"),
                    help="server URI without the database")
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    ap.add_argument("--reuse", action="store_true",
                    help="measure an existing seeded --db instead of seeding a new one (implies --keep)")
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--verify-sample", type=int, default=200)
    ap.add_argument("--keel-bin", default=os.environ.get("KEEL_BIN", str(REPO / "target/release/keel")))
    ap.add_argument("--explain-log", type=Path, default=None,
                    help="PostgreSQL server log file: capture each request's plans with auto_explain "
                         "(needs a superuser and read access to the log)")
    ap.add_argument("--out", default=str(HERE / "results" / "pg-search-scale.md"))
    args = ap.parse_args()

    pg = Pg(args.pg, args.db)
    specs = [spec(i, args.models_every) for i in range(args.runs)]
    keep = args.keep or args.reuse
    rows: list[dict] = []
    srv = None
    try:
        if args.reuse:
            if not pg.exists():
                print(f"--reuse: database {args.db} does not exist", file=sys.stderr)
                return 2
        else:
            pg.create()
        srv = keel_server(pg, args.keel_bin)
        srv.start()
        if args.reuse:
            meta = load_meta(pg)
            seeding = f"reused database {args.db}"
        else:
            print(f"seeding {args.runs:,} runs into {args.db} ...", flush=True)
            meta = seed(srv.port, args.runs, args.threads, args.models_every)
            seeding = (f"{args.runs:,} runs through the REST API from {args.threads} threads in "
                       f"{meta['seconds']:.0f} s, then VACUUM ANALYZE")
            print(f"seeded in {meta['seconds']:.0f} s; VACUUM ANALYZE ...", flush=True)
            pg.execute("VACUUM ANALYZE")
        problems = verify(pg, srv.port, meta, specs, args.verify_sample)
        if problems:
            print("read-back problems:\n  " + "\n  ".join(problems[:20]), flush=True)
        else:
            print(f"read-back ok ({args.verify_sample} runs checked field by field, row counts match)",
                  flush=True)
        c = Client(srv.port)
        reqs = requests_to_measure(meta, specs) + single_reads(c, meta)
        c.close()
        loadavg = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        print(f"measuring (load average {loadavg}) ...", flush=True)
        rows = measure(srv.port, reqs, args.reps)
        srv.stop()
        srv = None
        facts = dict(runs=args.runs, models=sum(1 for s in specs if s["model"]), reps=args.reps,
                     keel=bench.keel_version(args.keel_bin),
                     postgres=pg.scalar("SHOW server_version"), seeding=seeding, loadavg=loadavg,
                     date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
        md = render(rows, facts)
        if problems:
            md += f"- ⚠ read-back problems: {len(problems)} (first: {problems[0]})\n"
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(md)
        out.with_suffix(".json").write_text(json.dumps({"facts": facts, "rows": rows}, indent=2))
        print("\n" + md)
        print(f"written to {out}")
        if args.explain_log:
            plans = capture_plans(pg, args.keel_bin, reqs, args.explain_log)
            plan_out = out.with_name(out.stem + "-plans.txt")
            plan_out.write_text(plans)
            print(f"plans written to {plan_out}")
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        stop_all()
        if not keep:
            pg.drop()
            print(f"dropped database {args.db}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Why: the web UI's heavy views (issue 7: "stay fast where the reference UI is known to
struggle: thousands of runs, long metric histories, huge traces") depend on a few server
requests. This times those requests on keel and on the reference MLflow server, side by side in
one run on this machine, with the same data in both, and reports ratios.

1. **metric chart**: one run with a 1,000,000-point metric `loss` (logged with runs/log-batch,
   1,000 points per request). Timed: `GET /ajax-api/2.0/mlflow/metrics/get-history-bulk-interval`
   with max_results=320 (what the reference UI's charts ask for, per its JS bundle) and the whole
   history in one `GET .../metrics/get-history` without max_results.
2. **runs table**: an experiment with 10,000 runs (3 params, 3 metrics, 1 tag each). Timed: the
   first 1,000-run page of `POST /ajax-api/2.0/mlflow/runs/search`, ordered by start time and by
   a metric; and the reference UI's run page, its GraphQL `GetRun` query (as Apollo sends it,
   `__typename` everywhere) for one of those runs.
3. **trace view**: one trace of 30,000 spans sent over OTLP/HTTP in batches of 5,000. Timed:
   what each UI fetches to draw it: the reference's `GET /ajax-api/3.0/mlflow/traces/get`
   (`allow_partial=true`, the whole trace, as its UI asks for traces whose spans live in the
   tracking store) against keel's span skeleton `GET /ajax-api/3.0/mlflow/traces/<id>/spans`;
   keel's `traces/get` is timed too, for a like-for-like ratio. Bytes are counted as well.

Sizes are a tenth with --quick. Latencies are p50/p95 over sequential requests after warm-ups,
on one keep-alive connection, HTTP exchange only (the client's JSON decoding is left out). Each
answer is checked (points, rows and order, span count); a wrong one is flagged in the table.

    bench/run.sh ui             # full sizes
    bench/run.sh ui --quick     # a tenth of the data
    bench/run.sh ui --only runs_table   # one workload (repeatable)

Not a test: nothing fails on timings.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

import bench
from bench import CREATE_THREADS, HOST, Client, Server, settle, stop_all, timed_reps
from trace_bench import default_servers, http_post, kv, ratio

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

FULL = {"history_points": 1_000_000, "runs": 10_000, "spans": 30_000}
QUICK = {"history_points": 100_000, "runs": 1_000, "spans": 3_000}
CHART_POINTS = 320  # maxResults of the reference UI's sampled metric charts (mlflow 3.17.2 bundle)
HISTORY_BATCH = 1_000  # points per runs/log-batch (the reference's MAX_METRICS_PER_BATCH)
PAGE = 1_000  # the runs table's page size (both UIs)
SPAN_BATCH = 5_000  # spans per OTLP request
REPS = {"chart": (2, 20), "runs": (2, 10), "run page": (5, 50), "trace": (1, 5)}  # (warm-ups, measured)
# The reference UI's run page query (mlflow 3.17.2 bundle, chunk 3254), with the `__typename`
# Apollo adds to every selection set.
GET_RUN = """query GetRun($data: MlflowGetRunInput!) @component(name: "MLflow.ExperimentRunTracking") {
 mlflowGetRun(input: $data) { apiError { helpUrl code message __typename }
  run { info { runName status runUuid experimentId artifactUri endTime lifecycleStage startTime userId __typename }
   experiment { experimentId name tags { key value __typename } artifactLocation lifecycleStage lastUpdateTime __typename }
   modelVersions { status version name source __typename }
   data { metrics { key value step timestamp __typename } params { key value __typename }
    tags { key value __typename } __typename }
   inputs { datasetInputs { dataset { digest name profile schema source sourceType __typename }
    tags { key value __typename } __typename } modelInputs { modelId __typename } __typename }
   outputs { modelOutputs { modelId step __typename } __typename } __typename } __typename } }"""
# The whole history in one response is not what a UI asks for, and it costs the reference about
# 100 ms per 1,000 points: one request at full size (with a long timeout), 1+3 with --quick.
HISTORY_REPS = {"full": (0, 1), "quick": (1, 3)}
HISTORY_TIMEOUT_S = 900
SEED_BUDGET_S = 1_800  # per seeding phase and server; the reference needs minutes at full size
BASE_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC: start times of the seeded runs


def pct(times: list[float], p: float) -> float:
    """Nearest-rank percentile, in ms."""
    s = sorted(times)
    return 1e3 * s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def timed_request(c: Client, path: str, body: dict | None = None, reps: tuple[int, int] = (1, 5)) -> dict:
    """p50/p95 of one request repeated sequentially; keeps the last answer for the checks."""
    method = "POST" if body is not None else "GET"

    def once():
        t = time.perf_counter()
        status, data = c.raw(method, path, body)
        dt = time.perf_counter() - t
        if status != 200:
            raise bench.ApiError(f"{method} {path[:80]} -> {status}: {data[:300]!r}")
        return dt, data

    warmups, n = reps
    times, data = timed_reps(once, n, warmup=warmups)
    return {"p50_ms": pct(times, 50), "p95_ms": pct(times, 95), "reps": len(times),
            "bytes": len(data), "doc": json.loads(data)}


def parallel(fn, items, budget_s: float = SEED_BUDGET_S) -> float:
    """Runs fn over items from CREATE_THREADS threads; returns the wall time."""
    deadline = time.monotonic() + budget_s

    def guarded(item):
        if time.monotonic() > deadline:
            raise RuntimeError("seeding exceeded its budget")
        return fn(item)

    t0 = time.perf_counter()
    ex = ThreadPoolExecutor(CREATE_THREADS)
    try:
        list(ex.map(guarded, items))
    finally:
        ex.shutdown(wait=False, cancel_futures=True)
    return time.perf_counter() - t0


class SlowClient(Client):
    """A client whose requests may take up to HISTORY_TIMEOUT_S."""

    def _connect(self):
        self.conn = http.client.HTTPConnection(HOST, self.port, timeout=HISTORY_TIMEOUT_S)


class Clients:
    """One keep-alive client per seeding thread."""

    def __init__(self, port: int):
        self.port, self.all = port, []
        self.local = threading.local()

    def get(self) -> Client:
        if not hasattr(self.local, "c"):
            self.local.c = Client(self.port)
            self.all.append(self.local.c)
        return self.local.c

    def close(self):
        for c in self.all:
            c.close()


# ---- 1. long metric history ------------------------------------------------------------------

def loss(step: int) -> float:
    return 2.0 / (1.0 + step / 1_000) + ((step * 7_919) % 1_000) / 10_000


def metric_chart(srv: Server, c: Client, cfg: dict) -> dict:
    n = cfg["history_points"]
    run_id = bench.create_run(c, bench.create_experiment(c, "ui-history"), "long-history")
    clients = Clients(srv.port)

    def batch(start: int):
        clients.get().call("POST", "/runs/log-batch", {"run_id": run_id, "metrics": [
            {"key": "loss", "value": loss(i), "timestamp": BASE_MS + i, "step": i}
            for i in range(start, min(n, start + HISTORY_BATCH))]})

    starts = list(range(0, n, HISTORY_BATCH))
    t0 = time.perf_counter()
    batch(starts[0])  # alone first: concurrent first writes race on the run's latest-metric row
    parallel(batch, starts[1:])
    res: dict = {"seed_s": time.perf_counter() - t0}
    clients.close()
    settle(srv.proc.pid)

    q = f"run_ids={run_id}&metric_key=loss&max_results={CHART_POINTS}"
    chart = timed_request(c, f"/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?{q}",
                          reps=REPS["chart"])
    steps = [m["step"] for m in chart.pop("doc").get("metrics", [])]
    chart.update(points=len(steps), steps=steps,
                 ok=0 < len(steps) <= CHART_POINTS + 2 and steps[0] == 0 and steps[-1] == n - 1)
    res["chart"] = chart
    settle(srv.proc.pid)
    slow = SlowClient(srv.port)
    try:
        q = f"run_id={run_id}&metric_key=loss"
        full = timed_request(slow, f"/ajax-api/2.0/mlflow/metrics/get-history?{q}",
                             reps=HISTORY_REPS[cfg["mode"]])
        points = len(full.pop("doc").get("metrics", []))
        res["history"] = {**full, "points": points, "ok": points == n}
    except Exception as e:  # noqa: BLE001 - optional row: keep the chart's numbers
        res["history"] = {"error": f"{type(e).__name__}: {e}"[:400]}
    finally:
        slow.close()
    return res


# ---- 2. runs table ---------------------------------------------------------------------------

def run_spec(i: int) -> dict:
    rng = random.Random(i)
    return {"name": f"r{i:05d}", "start_time": BASE_MS + i * 1_000,
            "params": {"lr": str(rng.choice([1e-4, 3e-4, 1e-3, 3e-3])),
                       "batch": str(rng.choice([16, 32, 64])),
                       "model": rng.choice(["small", "base", "large"])},
            "metrics": {f"m{k}": rng.random() for k in (1, 2, 3)},
            "tag": rng.choice(["baseline", "sweep", "ablation"])}


def runs_table(srv: Server, c: Client, cfg: dict) -> dict:
    n = cfg["runs"]
    exp_id = bench.create_experiment(c, "ui-runs")
    clients = Clients(srv.port)

    def one(i: int):
        s, cl = run_spec(i), clients.get()
        run_id = cl.call("POST", "/runs/create", {"experiment_id": exp_id, "run_name": s["name"],
                                                  "start_time": s["start_time"]})["run"]["info"]["run_id"]
        cl.call("POST", "/runs/log-batch", {
            "run_id": run_id,
            "params": [{"key": k, "value": v} for k, v in s["params"].items()],
            "metrics": [{"key": k, "value": v, "timestamp": s["start_time"], "step": 0}
                        for k, v in s["metrics"].items()],
            "tags": [{"key": "stage", "value": s["tag"]}]})

    res: dict = {"seed_s": parallel(one, range(n))}
    clients.close()
    settle(srv.proc.pid)
    specs = [run_spec(i) for i in range(n)]
    expected = {
        "start_time": [s["name"] for s in sorted(specs, key=lambda s: -s["start_time"])[:PAGE]],
        "m1": [s["name"] for s in sorted(specs, key=lambda s: -s["metrics"]["m1"])[:PAGE]],
    }
    for label, order in (("start_time", "attributes.start_time DESC"), ("m1", "metrics.`m1` DESC")):
        body = {"experiment_ids": [exp_id], "max_results": PAGE, "order_by": [order]}
        r = timed_request(c, "/ajax-api/2.0/mlflow/runs/search", body, reps=REPS["runs"])
        runs = r.pop("doc").get("runs", [])
        complete = all(len(x["data"].get("params", [])) == 3 and len(x["data"].get("metrics", [])) == 3
                       and any(t["key"] == "stage" for t in x["data"].get("tags", [])) for x in runs)
        r.update(rows=len(runs), ok=complete and bench.run_names({"runs": runs}) == expected[label])
        res[label] = r
        if label == "start_time" and runs:
            res["run_page"] = run_page(c, runs[0]["info"]["run_id"])
    return res


def run_page(c: Client, run_id: str) -> dict:
    """The reference UI's GraphQL GetRun for one seeded run."""
    body = {"operationName": "GetRun", "query": GET_RUN, "variables": {"data": {"runId": run_id}}}
    r = timed_request(c, "/graphql", body, reps=REPS["run page"])
    doc = r.pop("doc")
    run = ((doc.get("data") or {}).get("mlflowGetRun") or {}).get("run") or {}
    r["ok"] = (doc.get("errors") is None and run.get("info", {}).get("runUuid") == run_id
               and len(run.get("data", {}).get("params", [])) == 3)
    return r


# ---- 3. huge trace ---------------------------------------------------------------------------

def huge_trace_spans(n: int, trace_id: bytes) -> list[Span]:
    """A root, steps of 99 tool calls each, like ui/tests/seed.py's seed_huge_trace (but
    deterministic IDs, so both servers get the same bytes)."""
    start = BASE_MS * 1_000_000
    ids = iter(range(1, n + 1))

    def span(parent: int | None, name: str, begin: int, end: int, kind: str) -> tuple[int, Span]:
        sid = next(ids)
        s = Span(trace_id=trace_id, span_id=sid.to_bytes(8, "big"), name=name,
                 start_time_unix_nano=begin, end_time_unix_nano=end)
        if parent:
            s.parent_span_id = parent.to_bytes(8, "big")
        s.attributes.extend([kv("mlflow.spanType", json.dumps(kind)),
                             kv("mlflow.spanInputs", json.dumps({"name": name}))])
        s.status.code = 1
        return sid, s

    root, s = span(None, "pipeline", start, start + 50 * 10**9, "CHAIN")
    spans = [s]
    for i in range((n - 1) // 100):
        begin = start + i * 10**8
        step, s = span(root, f"step-{i}", begin, begin + 9 * 10**7, "AGENT")
        spans.append(s)
        spans += [span(step, f"tool-{i}-{j}", begin + j * 10**5, begin + j * 10**5 + 5 * 10**4, "TOOL")[1]
                  for j in range(99)]
    while len(spans) < n:
        spans.append(span(root, f"tail-{len(spans)}", start, start + 1_000, "UNKNOWN")[1])
    return spans


def trace_view(srv: Server, c: Client, cfg: dict) -> dict:
    n = cfg["spans"]
    exp_id = bench.create_experiment(c, "ui-trace")
    raw_id = bytes.fromhex("7e" * 16)
    spans = huge_trace_spans(n, raw_id)
    bodies = [ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(
        spans=spans[k:k + SPAN_BATCH])])]).SerializeToString() for k in range(0, n, SPAN_BATCH)]
    t0 = time.perf_counter()
    for body in bodies:  # one trace: its batches in order, as an exporter sends them
        status, data = http_post(srv.port, "/v1/traces", body, "application/x-protobuf",
                                 {"x-mlflow-experiment-id": exp_id})
        if status != 200:
            raise RuntimeError(f"OTLP export -> {status}: {data[:200]!r}")
    res: dict = {"seed_s": time.perf_counter() - t0}
    settle(srv.proc.pid)
    trace_id = "tr-" + raw_id.hex()
    get = timed_request(c, f"/ajax-api/3.0/mlflow/traces/get?trace_id={trace_id}&allow_partial=true",
                        reps=REPS["trace"])
    trace = get.pop("doc").get("trace", {})
    got = len(trace.get("spans", []))
    # the reference UI reads traces/get only for traces whose spans live in the tracking store
    where = trace.get("trace_info", {}).get("tags", {}).get("mlflow.trace.spansLocation")
    res["get"] = {**get, "spans": got, "ok": got == n, "spans_location": where}
    if srv.kind == "keel":
        sk = timed_request(c, f"/ajax-api/3.0/mlflow/traces/{trace_id}/spans", reps=REPS["trace"])
        got = len(sk.pop("doc").get("spans", []))
        res["skeleton"] = {**sk, "spans": got, "ok": got == n}
    return res


# ---- driver ----------------------------------------------------------------------------------

WORKLOADS = {"metric_chart": metric_chart, "runs_table": runs_table, "trace_view": trace_view}


def bench_server(srv: Server, cfg: dict) -> dict:
    res: dict = {"kind": srv.kind, "version": srv.version}
    try:
        srv.start()
        time.sleep(3)
        settle(srv.proc.pid)
        c = Client(srv.port)
        for name, fn in WORKLOADS.items():
            if name not in cfg["workloads"]:
                continue
            print(f"[{srv.slot}] {name} ...", flush=True)
            try:
                res[name] = fn(srv, c, cfg)
                print(f"[{srv.slot}] {name}: {_brief(res[name])}", flush=True)
            except Exception as e:  # noqa: BLE001 - record, go on with the next workload
                res[name] = {"error": f"{type(e).__name__}: {e}"[:400]}
                print(f"[{srv.slot}] {name} FAILED: {res[name]['error']}", flush=True)
                c.close()
                c = Client(srv.port)
            settle(srv.proc.pid)
        c.close()
    except Exception as e:  # noqa: BLE001 - e.g. the server did not start
        res["error"] = f"{type(e).__name__}: {e}"[:400]
        print(f"[{srv.slot}] FAILED: {res['error']}", flush=True)
    finally:
        srv.stop()
    return res


def _brief(r: dict) -> str:
    """seed time and p50s, for the progress log."""
    parts = [f"seeded in {r['seed_s']:.2f} s"]
    parts += [f"{k} p50 {v['p50_ms']:.1f} ms ok={v['ok']}" if "p50_ms" in v else f"{k} {v.get('error')}"
              for k, v in r.items() if isinstance(v, dict)]
    return ", ".join(parts)


def _get(r: dict, *path):
    for p in path:
        r = r.get(p) if isinstance(r, dict) else None
    return r


def render(ref: dict, keel: dict, cfg: dict, facts: dict) -> str:
    n_pts, n_runs, n_spans = (f"{cfg[k]:,}" for k in ("history_points", "runs", "spans"))
    rows = []

    def row(label: str, k, r, unit: str, fmt: str = ",.1f"):
        """k and r: (value, ok) pairs or None; values in `unit`, lower is better."""
        def cell(x):
            if x is None or x[0] is None:
                return "n/a ⚠ failed"
            return f"{x[0]:{fmt}} {unit}" + ("" if x[1] in (True, None) else " ⚠ wrong result")
        if k is None and r is None:  # a workload left out with --only (errors are listed below)
            return
        kv_, rv = (x[0] if x else None for x in (k, r))
        rows.append(f"| {label} | {cell(k)} | {cell(r)} | {ratio(rv, kv_, False)} |")

    def lat(side: dict, *path, stat="p50_ms"):
        m = _get(side, *path)
        return (m.get(stat), m.get("ok")) if m and stat in m else None

    def seed(side: dict, name: str):
        return (_get(side, name, "seed_s"), None) if _get(side, name, "seed_s") else None

    def size(side: dict, *path):
        m = _get(side, *path)
        return (m["bytes"] / 1024, m.get("ok")) if m and "bytes" in m else None

    row(f"seed: {n_pts}-point metric (log-batch ×{HISTORY_BATCH:,}, {CREATE_THREADS} threads)",
        seed(keel, "metric_chart"), seed(ref, "metric_chart"), "s", ",.2f")
    for stat in ("p50_ms", "p95_ms"):
        row(f"metric chart: get-history-bulk-interval, {CHART_POINTS} of {n_pts} points, {stat[:3]}",
            lat(keel, "metric_chart", "chart", stat=stat), lat(ref, "metric_chart", "chart", stat=stat),
            "ms", ",.2f")
    row(f"full history: get-history, all {n_pts} points, p50",
        lat(keel, "metric_chart", "history"), lat(ref, "metric_chart", "history"), "ms")
    row("full history: response size", size(keel, "metric_chart", "history"),
        size(ref, "metric_chart", "history"), "KiB", ",.0f")
    row(f"seed: {n_runs} runs (3 params, 3 metrics, 1 tag; {CREATE_THREADS} threads)",
        seed(keel, "runs_table"), seed(ref, "runs_table"), "s", ",.2f")
    for key, label in (("start_time", "start_time DESC"), ("m1", "metrics.`m1` DESC")):
        for stat in ("p50_ms", "p95_ms"):
            row(f"runs table: runs/search {PAGE:,} of {n_runs}, {label}, {stat[:3]}",
                lat(keel, "runs_table", key, stat=stat), lat(ref, "runs_table", key, stat=stat), "ms", ",.2f")
    for stat in ("p50_ms", "p95_ms"):
        row(f"run page: GraphQL GetRun (the reference UI's query), {stat[:3]}",
            lat(keel, "runs_table", "run_page", stat=stat), lat(ref, "runs_table", "run_page", stat=stat),
            "ms", ",.2f")
    row(f"seed: one {n_spans}-span trace (OTLP, {SPAN_BATCH:,} spans per request)",
        seed(keel, "trace_view"), seed(ref, "trace_view"), "s", ",.2f")
    row("trace view: keel traces/<id>/spans vs reference traces/get, p50",
        lat(keel, "trace_view", "skeleton"), lat(ref, "trace_view", "get"), "ms", ",.2f")
    row("trace view: response size", size(keel, "trace_view", "skeleton"), size(ref, "trace_view", "get"),
        "KiB", ",.0f")
    row("full trace: traces/get on both, p50", lat(keel, "trace_view", "get"), lat(ref, "trace_view", "get"),
        "ms", ",.2f")
    row("full trace: response size", size(keel, "trace_view", "get"), size(ref, "trace_view", "get"),
        "KiB", ",.0f")

    same = _get(keel, "metric_chart", "chart", "steps") == _get(ref, "metric_chart", "chart", "steps")
    lines = [f"## Web UI's heavy views: keel vs reference MLflow ({cfg['mode']})", "",
             "Ratio column: reference ÷ keel, **> 1 means keel is better** (faster or smaller).", "",
             "| workload | keel | reference | ratio |", "|---|---:|---:|---:|", *rows, "",
             "### Setup", "",
             f"- date: {facts['date']}; machine: {facts['machine']}; client and server share it",
             f"- load average before the run: {facts['loadavg_start']}; after: {facts['loadavg_end']}",
             f"- reference: mlflow {ref.get('version')}, `mlflow server` defaults (SQLite backend store)",
             f"- keel: {keel.get('version')}, `keel server` defaults (embedded SQLite)",
             "- latencies: one keep-alive connection, sequential requests; warm-ups + measured: "
             + ", ".join(f"{k} {w}+{n}" for k, (w, n) in
                         {**REPS, "full history": HISTORY_REPS[cfg["mode"]]}.items())
             + "; p95 is nearest-rank. Sizes are uncompressed JSON (no Accept-Encoding).",
             f"- metric chart: both servers sample the same steps: {'yes' if same else 'no'}",
             "- trace view: the reference UI reads `traces/get?allow_partial=true` for traces whose "
             "`mlflow.trace.spansLocation` tag is TRACKING_STORE; here it is "
             f"{_get(ref, 'trace_view', 'get', 'spans_location')}"]
    for side, r in (("reference", ref), ("keel", keel)):
        if r.get("error"):
            lines.append(f"- {side} error: {r['error']}")
        for name in WORKLOADS:
            for part in ("", "history"):
                err = _get(r, name, *([part] if part else []), "error")
                if err:
                    lines.append(f"- {side} {name}{' ' + part if part else ''} error: {err}")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a tenth of the data")
    ap.add_argument("--only", choices=sorted(WORKLOADS), action="append",
                    help="run only this workload (repeatable)")
    ap.add_argument("--keel-bin", default=os.environ.get("KEEL_BIN", str(REPO / "target/release/keel")))
    ap.add_argument("--mlflow-bin", default=str(Path(sys.executable).parent / "mlflow"))
    ap.add_argument("--out", default=str(HERE / "results" / f"ui-{time.strftime('%Y%m%d-%H%M%S')}.json"))
    args = ap.parse_args()
    if not os.access(args.keel_bin, os.X_OK):
        print(f"keel binary not found at {args.keel_bin} (set KEEL_BIN)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, bench._on_signal)
    signal.signal(signal.SIGHUP, bench._on_signal)
    cfg = {"mode": "quick" if args.quick else "full", **(QUICK if args.quick else FULL),
           "workloads": args.only or list(WORKLOADS)}
    loadavg = lambda: " ".join(Path("/proc/loadavg").read_text().split()[:3])  # noqa: E731
    facts = {"loadavg_start": loadavg()}

    ref, keel = default_servers(args.mlflow_bin, args.keel_bin)
    t0 = time.monotonic()
    try:
        ref_res = bench_server(ref, cfg)
        keel_res = bench_server(keel, cfg)
    except KeyboardInterrupt:
        print("\ninterrupted; stopping servers", file=sys.stderr)
        return 130
    finally:
        stop_all()
    mf = bench.machine_facts()
    facts.update(date=mf["date"], loadavg_end=loadavg(),
                 machine=f"{mf['nproc']} CPUs ({mf['cpu']}), {mf['memory']} RAM, Linux {mf['kernel']}")
    md = render(ref_res, keel_res, cfg, facts) + f"- harness wall time: {time.monotonic() - t0:.0f} s\n"
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"config": cfg, "facts": facts, "reference": ref_res, "keel": keel_res,
                               "table": md}, indent=2, default=str))
    print("\n" + md)
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        stop_all()

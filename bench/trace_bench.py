"""Why: the tracing benchmark (issue 6): OTLP/HTTP span ingest and search_traces latency, keel
against the reference MLflow server, side by side in one run on this machine.

1. **ingest**: wrk with 8 connections POSTs OTLP/HTTP protobuf exports to `/v1/traces`, each
   10 traces x 10 spans with GenAI attributes, every trace new; spans/s over the measured window
   (after a warm-up), with the servers' CPU.
2. **search**: a second experiment is seeded with N traces (2 spans each, through OTLP), then
   `POST /api/3.0/mlflow/traces/search` (first page, max_results=100) is timed for typical
   shapes (median of 20 after a warm-up, or of fewer, at least 3, when a shape takes over 30 s);
   results are checked against what the seed implies.

Run through bench/run.sh, which prepares the venv and wrk:

    bench/run.sh traces                 # full: 100,000 traces seeded for search
    bench/run.sh traces --quick         # smoke run: 5,000 traces, short windows

Not a test: nothing fails on timings; wrong results are flagged in the table.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

import bench
from bench import HOST, Client, Server, stop_all, tree_cpu_s, tree_rss_mb

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

WRK_THREADS = 2
WRK_CONNECTIONS = 8
TRACES_PER_REQUEST = 10
SPANS_PER_TRACE = 10
SEED_TRACES_PER_REQUEST = 50
SEED_THREADS = 8
SEARCH_REPS = 20
SEARCH_BUDGET_S = 30  # per search shape and server
ENVS = ["prod", "staging", "dev"]
CHILD_NAMES = ["retrieve", "chat gpt-4o-mini", "rerank", "tool lookup"]
BASE_NS = 1_767_225_600_000 * 1_000_000  # 2026-01-01 00:00 UTC


def kv(key: str, value) -> KeyValue:
    v = AnyValue()
    if isinstance(value, bool):
        v.bool_value = value
    elif isinstance(value, int):
        v.int_value = value
    else:
        v.string_value = value
    return KeyValue(key=key, value=v)


def genai_span(trace_id: bytes, span_id: int, parent: int | None, name: str, start_ns: int,
               dur_ns: int, error: bool = False) -> Span:
    s = Span(trace_id=trace_id, span_id=span_id.to_bytes(8, "big"), name=name,
             start_time_unix_nano=start_ns, end_time_unix_nano=start_ns + dur_ns,
             status=Status(code=2 if error else 1))
    if parent is not None:
        s.parent_span_id = parent.to_bytes(8, "big")
        s.attributes.extend([
            kv("gen_ai.operation.name", "chat"), kv("gen_ai.request.model", "gpt-4o-mini"),
            kv("gen_ai.usage.input_tokens", 120), kv("gen_ai.usage.output_tokens", 40),
            kv("gen_ai.input.messages", json.dumps([{"role": "user", "content": "What is the capital of France?"}])),
            kv("gen_ai.output.messages", json.dumps([{"role": "assistant", "content": "Paris."}])),
        ])
    else:
        s.attributes.extend([kv("openinference.span.kind", "AGENT"),
                             kv("input.value", json.dumps({"question": "What is the capital of France?"})),
                             kv("output.value", "Paris.")])
    return s


def export_body(traces: list[list[Span]], env: str = "prod") -> bytes:
    rs = ResourceSpans(scope_spans=[ScopeSpans(spans=[s for t in traces for s in t])])
    rs.resource.attributes.extend([kv("service.name", "bench-agent"), kv("env", env)])
    return ExportTraceServiceRequest(resource_spans=[rs]).SerializeToString()


def ingest_template() -> bytes:
    """One request body: 10 traces x 10 spans, trace IDs as placeholders the wrk script fills."""
    traces = []
    for slot in range(TRACES_PER_REQUEST):
        tid = f"TRACEID{slot}PLACEHLD".encode()
        spans = [genai_span(tid, 1, None, "agent", BASE_NS, 9_000_000)]
        spans += [genai_span(tid, i + 1, 1, "chat gpt-4o-mini", BASE_NS + i * 1_000_000, 800_000)
                  for i in range(1, SPANS_PER_TRACE)]
        traces.append(spans)
    return export_body(traces)


def run_wrk(srv: Server, body_file: Path, exp_id: str, seconds: int, run_tag: int) -> dict:
    cmd = ["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", "--timeout", "30s",
           "-s", str(HERE / "wrk" / "otlp_export.lua"), f"http://{HOST}:{srv.port}/v1/traces",
           "--", str(body_file), exp_id, str(run_tag)]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu0 = tree_cpu_s(srv.proc.pid)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    cpu = tree_cpu_s(srv.proc.pid) - cpu0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    for line in p.stdout.splitlines():
        if line.startswith("WRKJSON "):
            res = json.loads(line[len("WRKJSON "):])
            secs = res["duration_us"] / 1e6
            ok = max(0, res["requests"] - res["err_status"])
            res["errors"] = sum(res[k] for k in res if k.startswith("err_"))
            res["spans_per_s"] = ok * TRACES_PER_REQUEST * SPANS_PER_TRACE / secs
            res["server_cpu_cores"] = cpu / secs
            res["wrk_cpu_cores"] = ((ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)) / secs
            res["server_cpu_us_per_span"] = 1e6 * cpu / max(1, ok * TRACES_PER_REQUEST * SPANS_PER_TRACE)
            return res
    raise RuntimeError(f"wrk produced no result (rc={p.returncode}): {p.stdout[-400:]} {p.stderr[-400:]}")


def http_post(port: int, path: str, body: bytes, content_type: str,
              headers: dict | None = None, conn: http.client.HTTPConnection | None = None
              ) -> tuple[int, bytes]:
    """One POST over `conn` (or a fresh connection)."""
    own = conn is None
    conn = conn or http.client.HTTPConnection(HOST, port, timeout=120)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": content_type, **(headers or {})})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        if own:
            conn.close()


def seed_spec(i: int) -> dict:
    rng = random.Random(i)
    return {
        "trace_id": (0xB000 << 112 | i).to_bytes(16, "big"),
        "env": ENVS[i % 3],
        "error": i % 10 == 0,
        "child": CHILD_NAMES[i % 4],
        "start_ns": BASE_NS + i * 1_000_000_000,
        "dur_ns": (1 + rng.randrange(1000)) * 1_000_000,
    }


def seed(srv: Server, exp_id: str, n: int) -> float:
    """n traces of 2 spans through OTLP, grouped by env (a resource attribute: a trace tag)."""
    def post(batch: list[int]) -> None:
        specs = [seed_spec(i) for i in batch]
        body = export_body([[
            genai_span(s["trace_id"], 1, None, "agent", s["start_ns"], s["dur_ns"], s["error"]),
            genai_span(s["trace_id"], 2, 1, s["child"], s["start_ns"] + 1000, s["dur_ns"] // 2),
        ] for s in specs], env=specs[0]["env"])
        status, data = http_post(srv.port, "/v1/traces", body, "application/x-protobuf",
                                 {"x-mlflow-experiment-id": exp_id})
        if status != 200:
            raise RuntimeError(f"seeding failed: {status} {data[:200]!r}")

    # one env per request: split indices by env, then into requests
    batches = []
    for env_index in range(3):
        ids = list(range(env_index, n, 3))
        batches += [ids[k:k + SEED_TRACES_PER_REQUEST] for k in range(0, len(ids), SEED_TRACES_PER_REQUEST)]
    t0 = time.monotonic()
    with ThreadPoolExecutor(SEED_THREADS) as pool:
        list(pool.map(post, batches))
    return time.monotonic() - t0


def search_shapes(n: int) -> list[tuple[str, str, list[str], int]]:
    """(label, filter, order_by, expected rows on the first page)."""
    errors = len(range(0, n, 10))
    prod_ok = sum(1 for i in range(0, n, 3) if i % 10 != 0)
    late = n - n // 2
    return [
        ("no filter, default order (newest first)", "", [], min(100, n)),
        ("trace.status = 'ERROR'", "trace.status = 'ERROR'", [], min(100, errors)),
        ("tags.env = 'prod' AND trace.status = 'OK'", "tags.env = 'prod' AND trace.status = 'OK'", [],
         min(100, prod_ok)),
        ("span.name = 'rerank'", "span.name = 'rerank'", [], min(100, len(range(2, n, 4)))),
        ("timestamp_ms > t, order by execution_time DESC",
         f"trace.timestamp_ms > {(BASE_NS // 1_000_000) + (n // 2) * 1000 - 1}",
         ["execution_time DESC"], min(100, late)),
    ]


def search(srv: Server, exp_id: str, n: int) -> list[dict]:
    conn = http.client.HTTPConnection(HOST, srv.port, timeout=120)
    out = []
    try:
        for label, flt, order_by, expected in search_shapes(n):
            body = {"locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp_id}}],
                    "max_results": 100}
            if flt:
                body["filter"] = flt
            if order_by:
                body["order_by"] = order_by
            times, rows, err = [], None, None
            shape_t0 = time.monotonic()
            for rep in range(SEARCH_REPS + 1):
                # A slow server gets fewer repetitions: at least 3 measured, within the budget.
                if len(times) >= 3 and time.monotonic() - shape_t0 > SEARCH_BUDGET_S:
                    break
                t = time.perf_counter()
                try:
                    status, data = http_post(srv.port, "/api/3.0/mlflow/traces/search",
                                             json.dumps(body).encode(), "application/json", conn=conn)
                except (OSError, http.client.HTTPException) as e:
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, srv.port, timeout=120)
                    err = f"{type(e).__name__}: {e}"
                    break
                dt = time.perf_counter() - t
                if status != 200:
                    err = f"{status}: {data[:200]!r}"
                    break
                if rep >= 1:
                    times.append(dt)
                rows = len(json.loads(data).get("traces", []))
            out.append({"label": label, "median_ms": 1e3 * statistics.median(times) if times else None,
                        "reps": len(times),
                        "rows": rows, "expected": expected, "ok": err is None and rows == expected,
                        "error": err})
    finally:
        conn.close()
    return out


def bench_server(srv: Server, cfg: dict) -> dict:
    res: dict = {"kind": srv.kind, "version": srv.version}
    srv.start()
    try:
        time.sleep(3)
        bench.settle(srv.proc.pid)
        res["idle_rss_mb"], _ = tree_rss_mb(srv.proc.pid)
        c = Client(srv.port)
        ingest_exp = bench.create_experiment(c, "bench-ingest")
        search_exp = bench.create_experiment(c, "bench-search")
        c.close()
        with tempfile.NamedTemporaryFile(suffix=".pb", delete=False) as f:
            f.write(ingest_template())
            body_file = Path(f.name)
        try:
            print(f"[{srv.slot}] ingest warm-up ...", flush=True)
            run_wrk(srv, body_file, ingest_exp, cfg["warmup_s"], 1)
            bench.settle(srv.proc.pid)
            print(f"[{srv.slot}] ingest ...", flush=True)
            with bench.RssSampler(srv.proc.pid) as rss:
                res["ingest"] = run_wrk(srv, body_file, ingest_exp, cfg["ingest_s"], 2)
            res["ingest"]["peak_rss_mb"] = rss.peak_mb
            print(f"[{srv.slot}] ingest: {res['ingest']['spans_per_s']:.0f} spans/s, "
                  f"errors={res['ingest']['errors']}", flush=True)
        finally:
            body_file.unlink(missing_ok=True)
        bench.settle(srv.proc.pid)
        print(f"[{srv.slot}] seeding {cfg['traces']:,} traces ...", flush=True)
        res["seed_s"] = seed(srv, search_exp, cfg["traces"])
        print(f"[{srv.slot}] seeded in {res['seed_s']:.1f} s", flush=True)
        bench.settle(srv.proc.pid)
        res["search"] = search(srv, search_exp, cfg["traces"])
        for s in res["search"]:
            print(f"[{srv.slot}] {s['label']}: {s['median_ms']} ms rows={s['rows']}/{s['expected']} "
                  f"{s['error'] or ''}", flush=True)
    except Exception as e:  # noqa: BLE001 - record and report
        res["error"] = f"{type(e).__name__}: {e}"[:400]
        print(f"[{srv.slot}] FAILED: {res['error']}", flush=True)
    finally:
        srv.stop()
    return res


def ratio(ref, cand, higher_is_better: bool) -> str:
    if not ref or not cand:
        return "n/a"
    return f"{(cand / ref if higher_is_better else ref / cand):,.1f}×"


def render(ref: dict, cand: dict, cfg: dict, facts: dict) -> str:
    ri, ci = ref.get("ingest", {}), cand.get("ingest", {})
    lines = [
        f"## Tracing: keel vs reference MLflow ({cfg['mode']})", "",
        "Ratio column: **> 1 means keel is better**.", "",
        "| workload | metric | reference mlflow | keel | ratio | target |",
        "|---|---|---:|---:|---:|---|",
    ]
    rs, cs = ri.get("spans_per_s"), ci.get("spans_per_s")
    target = "≥ 30× ✓" if rs and cs and cs / rs >= 30 else "≥ 30× ✗"
    lines.append(f"| OTLP ingest | spans/s | {rs or 0:,.0f} | {cs or 0:,.0f} | {ratio(rs, cs, True)} | {target} |")
    lines.append(f"| OTLP ingest | absolute | | {cs or 0:,.0f} spans/s | | "
                 f"≥ 20,000 {'✓' if cs and cs >= 20_000 else '✗'} |")
    for key, label in [("lat_p50_us", "p50 latency per request"), ("lat_p99_us", "p99 latency per request")]:
        r, c = ri.get(key), ci.get(key)
        lines.append(f"| OTLP ingest | {label} | {(r or 0) / 1e3:,.1f} ms | {(c or 0) / 1e3:,.2f} ms | "
                     f"{ratio(r, c, False)} | |")
    r, c = ri.get("server_cpu_us_per_span"), ci.get("server_cpu_us_per_span")
    lines.append(f"| OTLP ingest | server CPU per span | {r or 0:,.1f} µs | {c or 0:,.2f} µs | "
                 f"{ratio(r, c, False)} | |")
    lines.append(f"| OTLP ingest | errors | {ri.get('errors', 'n/a')} | {ci.get('errors', 'n/a')} | | |")
    r, c = ref.get("seed_s"), cand.get("seed_s")
    lines.append(f"| seed {cfg['traces']:,} traces (2 spans each) | total time | {r or 0:,.1f} s | "
                 f"{c or 0:,.2f} s | {ratio(r, c, False)} | |")
    for rs_, cs_ in zip(ref.get("search", []), cand.get("search", [])):
        flag = "" if cs_["ok"] and rs_["ok"] else f" (rows: reference {rs_['rows']}, keel {cs_['rows']}, expected {cs_['expected']})"
        lines.append(f"| search_traces, {cfg['traces']:,} traces | {rs_['label']} | "
                     f"{rs_['median_ms'] or 0:,.1f} ms | {cs_['median_ms'] or 0:,.2f} ms | "
                     f"{ratio(rs_['median_ms'], cs_['median_ms'], False)}{flag} | |")
    r, c = ri.get("peak_rss_mb"), ci.get("peak_rss_mb")
    lines.append(f"| RSS (process tree) | peak under ingest | {r or 0:,.0f} MB | {c or 0:,.1f} MB | "
                 f"{ratio(r, c, False)} | |")
    lines += ["", "### Setup", ""]
    lines.append(f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    lines.append(f"- machine: {facts['machine']}; load generator and server share the machine")
    lines.append(f"- reference: mlflow {ref.get('version')} — `mlflow server` defaults (SQLite backend store)")
    lines.append(f"- keel: {cand.get('version')} — `keel server` defaults (embedded SQLite)")
    lines.append(f"- ingest: wrk `-t{WRK_THREADS} -c{WRK_CONNECTIONS}`, {cfg['ingest_s']} s after a "
                 f"{cfg['warmup_s']} s warm-up; each request {TRACES_PER_REQUEST} new traces × "
                 f"{SPANS_PER_TRACE} spans (OTLP protobuf, GenAI and OpenInference attributes)")
    lines.append(f"- search: first page (max_results=100), median of {SEARCH_REPS} after a warm-up "
                 f"(fewer, at least 3, when a shape takes over {SEARCH_BUDGET_S} s); "
                 f"seeded through OTLP from {SEED_THREADS} threads, {SEED_TRACES_PER_REQUEST} traces per request")
    for side, r in (("reference", ri), ("keel", ci)):
        if r:
            lines.append(f"- CPU during ingest ({side}): server {r['server_cpu_cores']:.2f} cores, "
                         f"wrk {r['wrk_cpu_cores']:.2f} cores")
    lines.append(f"- load average before the run: {facts['loadavg']}")
    for side, r in (("reference", ref), ("keel", cand)):
        if r.get("error"):
            lines.append(f"- {side} error: {r['error']}")
    return "\n".join(lines) + "\n"


def default_servers(mlflow_bin: str, keel_bin: str) -> tuple[Server, Server]:
    """The reference (`mlflow server` on SQLite with proxied artifacts) and keel (its defaults), as
    the side-by-side runs start them."""

    def mlflow_cmd(tmp: Path, port: int) -> list[str]:
        return [mlflow_bin, "server", "--backend-store-uri", f"sqlite:///{tmp}/mlflow.db",
                "--default-artifact-root", str(tmp / "art"), "--artifacts-destination", str(tmp / "art"),
                "--host", HOST, "--port", str(port)]

    def keel_cmd(tmp: Path, port: int) -> list[str]:
        return [keel_bin, "server", "--host", HOST, "--port", str(port), "--data-dir", str(tmp)]

    return (Server("reference", "mlflow", mlflow_cmd, bench.mlflow_version(mlflow_bin), ""),
            Server("keel", "keel", keel_cmd, bench.keel_version(keel_bin), ""))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--traces", type=int, default=None, help="traces seeded for search")
    ap.add_argument("--keel-bin", default=os.environ.get("KEEL_BIN", str(REPO / "target/release/keel")))
    ap.add_argument("--mlflow-bin", default=str(Path(sys.executable).parent / "mlflow"))
    ap.add_argument("--out", default=str(HERE / "results" / "traces.md"))
    args = ap.parse_args()
    cfg = ({"mode": "quick", "warmup_s": 2, "ingest_s": 5, "traces": 5_000} if args.quick
           else {"mode": "full", "warmup_s": 3, "ingest_s": 20, "traces": 100_000})
    if args.traces:
        cfg["traces"] = args.traces
    loadavg = " ".join(Path("/proc/loadavg").read_text().split()[:3])

    ref, cand = default_servers(args.mlflow_bin, args.keel_bin)
    t0 = time.monotonic()
    try:
        ref_res = bench_server(ref, cfg)
        cand_res = bench_server(cand, cfg)
    finally:
        stop_all()
    mf = bench.machine_facts()
    facts = {"machine": f"{mf['nproc']} CPUs ({mf['cpu']}), {mf['memory']} RAM, Linux {mf['kernel']}",
             "loadavg": loadavg}
    md = render(ref_res, cand_res, cfg, facts) + f"- harness wall time: {time.monotonic() - t0:.0f} s\n"
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(md)
    out.with_suffix(".json").write_text(json.dumps({"config": cfg, "reference": ref_res, "keel": cand_res},
                                                   indent=2, default=str))
    print("\n" + md)
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

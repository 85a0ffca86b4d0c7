"""The audit log's cost and speed (issue 15), Keel against itself with the log on and off:

* log-metric and log-batch throughput (wrk, 2 threads x 16 connections) with the audit log on
  (every write commits its entry in the same transaction) and off (`--audit-log=false`),
  alternated `--rounds` times so drift on a shared machine hits both sides alike;
* the store's append cost per entry, sequencing cost, and inclusion and consistency proof
  latency at `--entries` entries (`cargo bench -p keel-store --bench audit`, SQLite and
  PostgreSQL);
* `keel audit verify` speed on a bundle of `--entries` entries.

Usage: bench/run.sh audit [--quick] [--entries N] [--parts throughput,store,verify]
                          [--out bench/results/audit.md]"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
KEEL_BIN = os.environ.get("KEEL_BIN", str(REPO / "target" / "release" / "keel"))
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def keel_cmd(audit: bool):
    def build(tmp: Path, port: int) -> list[str]:
        return [KEEL_BIN, "server", "--port", str(port), "--data-dir", str(tmp / "data"), "--log-level", "warn",
                "--audit-log", "true" if audit else "false"]
    return build


def throughput(audit: bool, cfg: dict) -> dict:
    name = "keel + audit" if audit else "keel"
    srv = bench.Server(name, name.replace(" ", "").replace("+", "-"), keel_cmd(audit), "", "")
    try:
        srv.start()
        c = bench.Client(srv.port)
        exp = bench.create_experiment(c, "audit-bench")
        out = {}
        for workload, script, endpoint in [("log_metric", "log_metric.lua", "/runs/log-metric"),
                                           ("log_batch", "log_batch.lua", "/runs/log-batch")]:
            res = bench.wrk_workload(srv, c, exp, script, endpoint, cfg, sample_rss=False)
            out[workload] = {"rps": res["rps"], "p99_ms": res["lat_p99_us"] / 1e3, "errors": res["errors"],
                             "cpu_ms_per_req": res["server_cpu_ms_per_req"]}
        return out
    finally:
        srv.stop()


def store_figures(entries: int) -> list[dict]:
    env = {**os.environ, "KEEL_BENCH_AUDIT_ENTRIES": str(entries), "KEEL_BENCH_PG": PG_URL}
    p = subprocess.run(["cargo", "bench", "-q", "-p", "keel-store", "--bench", "audit"], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=4 * 3600)
    found = [json.loads(line[len("AUDITJSON "):]) for line in p.stdout.splitlines() if line.startswith("AUDITJSON ")]
    if not found:
        raise RuntimeError(f"no store figures: {p.stdout[-500:]} {p.stderr[-2000:]}")
    return found


def verify_speed(entries: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="keel-bench-bundle-"))
    try:
        bundle = tmp / "bundle"
        subprocess.run(["cargo", "run", "-q", "--release", "-p", "keel-audit", "--example", "verify_speed", "--",
                        str(entries), str(bundle)], cwd=REPO, check=True, capture_output=True, timeout=3600)
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            p = subprocess.run([KEEL_BIN, "audit", "verify", str(bundle)], capture_output=True, text=True,
                               timeout=3600)
            times.append(time.perf_counter() - t0)
            if p.returncode != 0:
                raise RuntimeError(f"keel audit verify failed: {p.stderr[-500:]}")
        best = min(times)
        return {"entries": entries, "seconds": best, "entries_per_s": entries / best,
                "bundle_mb": sum(f.stat().st_size for f in bundle.rglob("*") if f.is_file()) / 1e6}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--entries", type=int, default=None, help="log size for proofs and verify (default 10M; quick 1M)")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--out", default=str(HERE / "results" / "audit.md"))
    ap.add_argument("--parts", default="throughput,store,verify",
                    help="comma list of what to measure: throughput, store, verify")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    entries = args.entries or (1_000_000 if args.quick else 10_000_000)
    rounds = args.rounds or (1 if args.quick else 3)
    cfg = {"wrk_warmup_s": 3, "wrk_duration_s": 5 if args.quick else 15}
    runs = {False: [], True: []}
    for _ in range(rounds if "throughput" in parts else 0):
        for audit in (False, True):
            runs[audit].append(throughput(audit, cfg))
            print("audit" if audit else "off", runs[audit][-1], flush=True)
    med = {audit: {w: {k: statistics.median(r[w][k] for r in runs[audit]) for k in ("rps", "p99_ms")}
                   for w in ("log_metric", "log_batch")} for audit in runs} if "throughput" in parts else None
    stores = store_figures(entries) if "store" in parts else []
    verify = verify_speed(entries) if "verify" in parts else None
    results = {"throughput_rounds": {"off": runs[False], "on": runs[True]}, "median": med, "store": stores,
               "verify": verify}
    md = ["# Audit log cost and speed", ""]
    if med:
        off, on = med[False], med[True]
        md += [
            f"{time.strftime('%Y-%m-%d')}, {bench.machine_facts().get('cpu', 'unknown CPU')}; wrk "
            f"-t{bench.WRK_THREADS} -c{bench.WRK_CONNECTIONS}, {cfg['wrk_duration_s']} s per run, median of "
            f"{rounds} alternated rounds; Keel on SQLite, no accounts.",
            "",
            "| workload | audit off | audit on | on / off | p99 off, ms | p99 on, ms |",
            "|---|---|---|---|---|---|",
        ]
        for w, label in (("log_metric", "log-metric, req/s"), ("log_batch", "log-batch (100 metrics), req/s")):
            md.append(f"| {label} | {off[w]['rps']:,.0f} | {on[w]['rps']:,.0f} | "
                      f"**{on[w]['rps'] / off[w]['rps']:.0%}** | {off[w]['p99_ms']:.1f} | {on[w]['p99_ms']:.1f} |")
    if stores:
        md += ["", f"Store, {entries:,} entries (`cargo bench -p keel-store --bench audit`):", "",
               "| backend | append, µs/entry | sequencing, µs/entry | inclusion proof p50 / p99, µs | "
               "consistency proof p50 / p99, µs |",
               "|---|---|---|---|---|"]
    for s in stores:
        md.append(f"| {s['backend']} | {s['append_us_per_entry']:.1f} | {s['sequence_us_per_entry']:.1f} | "
                  f"{s['inclusion_p50_us']:.0f} / {s['inclusion_p99_us']:.0f} | "
                  f"{s['consistency_p50_us']:.0f} / {s['consistency_p99_us']:.0f} |")
    if verify:
        md += ["", f"`keel audit verify` on a bundle of {verify['entries']:,} entries ({verify['bundle_mb']:,.0f} MB): "
               f"{verify['seconds']:.1f} s, **{verify['entries_per_s'] / 1e6:.2f} million entries/s**.", ""]
    bench.write_report(args.out, "\n".join(md), results)


if __name__ == "__main__":
    sys.exit(main())

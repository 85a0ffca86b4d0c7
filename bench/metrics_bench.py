"""Prometheus metrics cost (issue 16): what counting every request costs, and what one scrape
of `/metrics` costs, side by side with the reference server's `--expose-prometheus`.

* log-metric throughput (wrk, 2 threads x 16 connections) with Keel's metrics on
  (`--metrics`) and off, alternated `--rounds` times so drift on a shared machine hits both
  alike; the reference with and without `--expose-prometheus` likewise;
* scrape latency: after the same mix of requests on each server (experiments, runs, metrics,
  searches, misses), `--scrapes` sequential GETs of `/metrics`, p50 and p99, and the body size.

Usage: bench/run.sh metrics [--quick] [--rounds N] [--out bench/results/metrics.md]"""

import argparse
import os
import statistics
import time
from pathlib import Path

import requests

import bench

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
KEEL_BIN = os.environ.get("KEEL_BIN", str(REPO / "target" / "release" / "keel"))


def keel_cmd(metrics: bool):
    def build(tmp: Path, port: int) -> list[str]:
        cmd = [KEEL_BIN, "server", "--port", str(port), "--data-dir", str(tmp / "data"), "--log-level", "warn"]
        return cmd + (["--metrics"] if metrics else [])
    return build


def reference_cmd(metrics: bool):
    def build(tmp: Path, port: int) -> list[str]:
        cmd = [str(HERE / ".venv" / "bin" / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{tmp}/mlflow.db",
               "--default-artifact-root", f"{tmp}/artifacts", "--host", bench.HOST, "--port", str(port),
               "--workers", "1"]
        return cmd + (["--expose-prometheus", str(tmp / "prometheus")] if metrics else [])
    return build


def log_metric_rps(kind: str, metrics: bool, cfg: dict) -> float:
    build = keel_cmd(metrics) if kind == "keel" else reference_cmd(metrics)
    name = f"{kind}{' + metrics' if metrics else ''}"
    srv = bench.Server(name, kind, build, "", "")
    try:
        srv.start()
        c = bench.Client(srv.port)
        exp = bench.create_experiment(c, "metrics-bench")
        res = bench.wrk_workload(srv, c, exp, "log_metric.lua", "/runs/log-metric", cfg, sample_rss=False)
        return res["rps"]
    finally:
        srv.stop()


def request_mix(url: str, n: int):
    """Requests over several routes and statuses, so the registry holds a realistic set."""
    s = requests.Session()
    exp = s.post(f"{url}/api/2.0/mlflow/experiments/create", json={"name": "scrape-mix"}, timeout=30).json()[
        "experiment_id"]
    for i in range(n):
        run = s.post(f"{url}/api/2.0/mlflow/runs/create", json={"experiment_id": exp}, timeout=30).json()["run"]
        run_id = run["info"]["run_id"]
        s.post(f"{url}/api/2.0/mlflow/runs/log-metric",
               json={"run_id": run_id, "key": "m", "value": i, "timestamp": 1, "step": i}, timeout=30)
        s.get(f"{url}/api/2.0/mlflow/runs/get", params={"run_id": run_id}, timeout=30)
        s.post(f"{url}/api/2.0/mlflow/runs/search", json={"experiment_ids": [exp], "max_results": 5}, timeout=30)
        s.get(f"{url}/api/2.0/mlflow/experiments/get", params={"experiment_id": "999999"}, timeout=30)


def scrape_latency(kind: str, scrapes: int, mix: int) -> dict:
    build = keel_cmd(True) if kind == "keel" else reference_cmd(True)
    srv = bench.Server(f"{kind} scrape", kind, build, "", "")
    try:
        srv.start()
        url = f"http://{bench.HOST}:{srv.port}"
        request_mix(url, mix)
        s = requests.Session()
        times, size = [], 0
        for _ in range(scrapes):
            t0 = time.perf_counter()
            r = s.get(f"{url}/metrics", timeout=30)
            times.append(time.perf_counter() - t0)
            if r.status_code != 200:
                raise RuntimeError(f"{kind} /metrics answered {r.status_code}")
            size = len(r.content)
        times.sort()
        return {"p50_ms": times[len(times) // 2] * 1e3, "p99_ms": times[int(len(times) * 0.99) - 1] * 1e3,
                "bytes": size}
    finally:
        srv.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--scrapes", type=int, default=500)
    ap.add_argument("--out", default=str(HERE / "results" / "metrics.md"))
    args = ap.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    cfg = {"wrk_warmup_s": 3, "wrk_duration_s": 5 if args.quick else 15}
    rps = {(k, m): [] for k in ("keel", "mlflow") for m in (False, True)}
    for _ in range(rounds):
        for kind in ("keel", "mlflow"):
            for metrics in (False, True):
                rps[(kind, metrics)].append(log_metric_rps(kind, metrics, cfg))
                print(kind, "metrics" if metrics else "off", rps[(kind, metrics)][-1], flush=True)
    med = {k: statistics.median(v) for k, v in rps.items()}
    scrape = {kind: scrape_latency(kind, args.scrapes, 50 if args.quick else 200) for kind in ("keel", "mlflow")}
    print(scrape, flush=True)
    md = [
        "# Prometheus metrics cost", "",
        f"{time.strftime('%Y-%m-%d')}, {bench.machine_facts().get('cpu', 'unknown CPU')}; wrk "
        f"-t{bench.WRK_THREADS} -c{bench.WRK_CONNECTIONS}, {cfg['wrk_duration_s']} s per run, median of {rounds} "
        "alternated rounds; SQLite, no accounts; the reference with `--workers 1`.", "",
        "| server | log-metric, metrics off (req/s) | metrics on (req/s) | on / off |",
        "|---|---|---|---|",
    ]
    for kind, label in (("keel", "Keel (`--metrics`)"), ("mlflow", "reference (`--expose-prometheus`)")):
        off, on = med[(kind, False)], med[(kind, True)]
        md.append(f"| {label} | {off:,.0f} | {on:,.0f} | **{on / off:.0%}** |")
    md += ["", f"Scrape of `/metrics` after the same request mix (5 routes, 200 runs), {args.scrapes} "
           "sequential GETs:", "",
           "| server | p50, ms | p99, ms | body, bytes |", "|---|---|---|---|"]
    for kind, label in (("keel", "Keel"), ("mlflow", "reference")):
        s = scrape[kind]
        md.append(f"| {label} | {s['p50_ms']:.3f} | {s['p99_ms']:.3f} | {s['bytes']:,} |")
    k, r = scrape["keel"], scrape["mlflow"]
    md += ["", f"Keel scrapes {r['p50_ms'] / k['p50_ms']:.0f}x faster at p50."]
    Path(args.out).write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()

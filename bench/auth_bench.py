"""Authentication and authorization overhead (issue 14): the tracking workloads with access
control on and off, side by side with the reference server with and without its basic-auth
app, plus Keel's decision cost and a filtered search at scale.

* log-metric throughput (wrk, 2 threads x 16 connections) and runs/get latency, as a non-admin
  user holding EDIT on the experiment (so every request is authenticated and authorized on the
  run's experiment), against the same server kind with access control off, and Keel also with
  workspaces on;
* one authorization decision (grant resolution + Cedar), timed 200,000 times
  (`cargo bench -p keel-auth --bench decide`);
* Keel only: 10,000 experiments of which the user may read 100, each with a run: the user's
  experiment search and a run search over the experiments they can see.

Usage: bench/run.sh auth [--quick] [--out bench/results/auth.md]"""

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

import bench

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
KEEL_BIN = os.environ.get("KEEL_BIN", str(REPO / "target" / "release" / "keel"))
ADMIN = ("admin", "admin-password-1")
USER = ("bob", "bob-password-123")


def basic(user: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()


def keel_cmd(auth: bool, workspaces: bool = False):
    def build(tmp: Path, port: int) -> list[str]:
        cmd = [KEEL_BIN, "server", "--port", str(port), "--data-dir", str(tmp / "data"), "--log-level", "warn"]
        # (a flag, not KEEL_ADMIN_PASSWORD: the harness keeps KEEL_* variables from servers)
        auth_args = ["--auth-mode", "required", "--admin-username", ADMIN[0], "--admin-password", ADMIN[1]]
        return cmd + (auth_args if auth else []) + (["--enable-workspaces"] if workspaces else [])
    return build


def reference_cmd(auth: bool):
    def build(tmp: Path, port: int) -> list[str]:
        py = str(HERE / ".venv" / "bin" / "mlflow")
        cmd = [py, "server", "--backend-store-uri", f"sqlite:///{tmp}/mlflow.db",
               "--default-artifact-root", f"{tmp}/artifacts", "--host", bench.HOST, "--port", str(port),
               "--workers", "1"]
        if auth:
            (tmp / "basic_auth.ini").write_text(
                "[mlflow]\ndefault_permission = NO_PERMISSIONS\n"
                f"database_uri = sqlite:///{tmp}/basic_auth.db\n"
                f"admin_username = {ADMIN[0]}\nadmin_password = {ADMIN[1]}\n"
                "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n")
            # Read by the auth app; Server.start copies the environment after building the command.
            os.environ["MLFLOW_AUTH_CONFIG_PATH"] = str(tmp / "basic_auth.ini")
            os.environ["MLFLOW_FLASK_SERVER_SECRET_KEY"] = "keel-bench-only"
            cmd += ["--app-name", "basic-auth"]
        else:
            os.environ.pop("MLFLOW_AUTH_CONFIG_PATH", None)
        return cmd
    return build


class Session:
    def __init__(self, port: int, user: tuple[str, str] | None):
        self.base = f"http://{bench.HOST}:{port}"
        self.s = requests.Session()
        if user:
            self.s.headers["Authorization"] = basic(user)

    def post(self, path: str, body: dict, prefix="/api/2.0/mlflow/") -> dict:
        r = self.s.post(self.base + prefix + path, json=body, timeout=60)
        if r.status_code != 200:
            raise RuntimeError(f"POST {path}: {r.status_code} {r.text[:300]}")
        return r.json()

    def get(self, path: str, params: dict, prefix="/api/2.0/mlflow/") -> dict:
        r = self.s.get(self.base + prefix + path, params=params, timeout=60)
        if r.status_code != 200:
            raise RuntimeError(f"GET {path}: {r.status_code} {r.text[:300]}")
        return r.json()


def setup_user(srv: bench.Server, auth: bool) -> tuple[Session, Session, str, str]:
    """An admin session and the measured user's session, an experiment the user may EDIT and a
    run in it."""
    admin = Session(srv.port, ADMIN if auth else None)
    exp = admin.post("experiments/create", {"name": "auth-bench"})["experiment_id"]
    run = admin.post("runs/create", {"experiment_id": exp, "start_time": int(time.time() * 1000)})["run"]["info"]["run_id"]
    if not auth:
        return admin, admin, exp, run
    admin.post("users/create", {"username": USER[0], "password": USER[1]})
    admin.post("users/permissions/grant", {"username": USER[0], "resource_type": "experiment",
                                           "resource_id": exp, "permission": "EDIT"}, prefix="/api/3.0/mlflow/")
    return admin, Session(srv.port, USER), exp, run


def measure(srv: bench.Server, auth: bool, cfg: dict) -> dict:
    _, user, _, run = setup_user(srv, auth)
    headers = (f"Authorization: {basic(USER)}",) if auth else ()
    try:
        bench.run_wrk(srv.port, srv.proc.pid, "log_metric.lua", "/runs/log-metric", run, cfg["warmup_s"], 0,
                      headers=headers)
    except RuntimeError:
        pass  # a warm-up that completed nothing is not a result; the measured run decides
    bench.settle(srv.proc.pid)
    w = bench.run_wrk(srv.port, srv.proc.pid, "log_metric.lua", "/runs/log-metric", run, cfg["duration_s"],
                      10**12, headers=headers)
    lat = []
    budget = time.monotonic() + cfg["read_budget_s"]  # the reference with basic-auth takes ~1 s a read
    for i in range(cfg["reads"] + 3):
        t0 = time.perf_counter()
        user.get("runs/get", {"run_id": run})
        if i >= 3:
            lat.append((time.perf_counter() - t0) * 1e3)
        if time.monotonic() > budget and len(lat) >= 5:
            break
    return {"log_metric_rps": w["rps"], "log_metric_p50_ms": w["lat_p50_us"] / 1e3,
            "log_metric_p99_ms": w["lat_p99_us"] / 1e3, "errors": w["errors"],
            "get_run_p50_ms": statistics.median(lat)}


def search_scale(cfg: dict) -> dict:
    """10,000 experiments, 100 readable by the user (each with a run)."""
    srv = bench.Server("keel-auth", "keel", keel_cmd(True), "", "")
    srv.start()
    try:
        admin = Session(srv.port, ADMIN)
        admin.post("users/create", {"username": USER[0], "password": USER[1]})
        readable = []
        n = cfg["experiments"]
        t0 = time.perf_counter()
        for i in range(n):
            exp = admin.post("experiments/create", {"name": f"e{i:05d}"})["experiment_id"]
            if i % (n // 100) == 0:
                readable.append(exp)
                admin.post("runs/create", {"experiment_id": exp})
                admin.post("users/permissions/grant", {"username": USER[0], "resource_type": "experiment",
                                                       "resource_id": exp, "permission": "READ"},
                           prefix="/api/3.0/mlflow/")
        print(f"created {n} experiments in {time.perf_counter() - t0:.0f}s", flush=True)
        user = Session(srv.port, USER)

        def timed(fn, reps=30):
            fn()
            out = []
            for _ in range(reps):
                t = time.perf_counter()
                res = fn()
                out.append((time.perf_counter() - t) * 1e3)
            return statistics.median(out), res

        exp_ms, found = timed(lambda: user.post("experiments/search", {"max_results": 1000}))
        assert len(found["experiments"]) == len(readable), len(found.get("experiments", []))
        runs_ms, runs = timed(lambda: user.post("runs/search", {"experiment_ids": readable, "max_results": 1000}))
        assert len(runs["runs"]) == len(readable)
        return {"experiments": n, "readable": len(readable), "experiment_search_p50_ms": exp_ms,
                "run_search_p50_ms": runs_ms}
    finally:
        srv.stop()


def decision_cost() -> dict:
    p = subprocess.run(["cargo", "bench", "-q", "-p", "keel-auth", "--bench", "decide"], cwd=REPO,
                       capture_output=True, text=True, timeout=3600)
    for line in p.stdout.splitlines():
        if line.startswith("DECIDEJSON "):
            return json.loads(line[len("DECIDEJSON "):])
    raise RuntimeError(f"no decision figures: {p.stdout[-500:]} {p.stderr[-2000:]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=str(HERE / "results" / "auth.md"))
    args = ap.parse_args()
    cfg = {"warmup_s": 3, "duration_s": 5 if args.quick else 15, "reads": 200 if args.quick else 1000,
           "read_budget_s": 30,
           "experiments": 1000 if args.quick else 10_000}
    results = {}
    for name, build, auth in [("keel", keel_cmd(False), False), ("keel + auth", keel_cmd(True), True),
                              ("keel + auth + workspaces", keel_cmd(True, workspaces=True), True),
                              ("reference", reference_cmd(False), False),
                              ("reference + basic-auth", reference_cmd(True), True)]:
        srv = bench.Server(name, name.replace(" ", "").replace("+", "-"), build, "", "")
        try:
            srv.start()
            results[name] = measure(srv, auth, cfg)
            print(name, results[name], flush=True)
        finally:
            srv.stop()
    results["decision"] = decision_cost()
    results["search_scale"] = search_scale(cfg)
    k, ka, r, ra = (results[n] for n in ("keel", "keel + auth", "reference", "reference + basic-auth"))
    kw = results["keel + auth + workspaces"]
    d, sc = results["decision"], results["search_scale"]
    md = [
        "# Authentication and authorization overhead",
        "",
        f"{time.strftime('%Y-%m-%d')}, {bench.machine_facts().get('cpu', 'unknown CPU')}; "
        f"wrk -t{bench.WRK_THREADS} -c{bench.WRK_CONNECTIONS}, {cfg['duration_s']} s; requests as a non-admin "
        "user holding EDIT on the experiment (HTTP Basic), both servers on SQLite.",
        "",
        "| workload | keel | keel + auth | auth on / off | reference | reference + basic-auth | auth on / off |",
        "|---|---|---|---|---|---|---|",
        f"| log-metric, req/s | {k['log_metric_rps']:,.0f} | {ka['log_metric_rps']:,.0f} | "
        f"{ka['log_metric_rps'] / k['log_metric_rps']:.0%} | {r['log_metric_rps']:,.0f} | {ra['log_metric_rps']:,.0f} | "
        f"{ra['log_metric_rps'] / r['log_metric_rps']:.0%} |",
        f"| log-metric p99, ms | {k['log_metric_p99_ms']:.1f} | {ka['log_metric_p99_ms']:.1f} | | "
        f"{r['log_metric_p99_ms']:.1f} | {ra['log_metric_p99_ms']:.1f} | |",
        f"| runs/get p50, ms | {k['get_run_p50_ms']:.2f} | {ka['get_run_p50_ms']:.2f} | | "
        f"{r['get_run_p50_ms']:.2f} | {ra['get_run_p50_ms']:.2f} | |",
        "",
        f"Keel + auth vs reference + basic-auth, log-metric throughput: "
        f"**{ka['log_metric_rps'] / ra['log_metric_rps']:.1f}x**.",
        "",
        f"With workspaces on too (`--enable-workspaces`, every request located and checked against its "
        f"workspace): log-metric {kw['log_metric_rps']:,.0f} req/s "
        f"(**{kw['log_metric_rps'] / k['log_metric_rps']:.0%}** of Keel without accounts), p99 "
        f"{kw['log_metric_p99_ms']:.1f} ms, runs/get p50 {kw['get_run_p50_ms']:.2f} ms.",
        "",
        f"One authorization decision (grant resolution + Cedar, {d['decisions']:,} timed): "
        f"p50 **{d['p50_us']:.1f} µs**, p90 {d['p90_us']:.1f} µs, p99 {d['p99_us']:.1f} µs.",
        "",
        f"{sc['experiments']:,} experiments of which the user may read {sc['readable']} (each with a run): "
        f"the user's experiment search p50 **{sc['experiment_search_p50_ms']:.1f} ms**, a run search over "
        f"the experiments they can see p50 **{sc['run_search_p50_ms']:.1f} ms**.",
        "",
    ]
    bench.write_report(args.out, "\n".join(md), results)


if __name__ == "__main__":
    sys.exit(main())

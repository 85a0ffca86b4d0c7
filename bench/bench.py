"""Why: runs the reference MLflow server and keel side by side on the same workloads and reports ratios.

This is a measurement harness, not a test: nothing here asserts on timings. It starts each server
on a free loopback port with a fresh temp dir, drives it over the MLflow REST API (wrk for the
ingest workloads, a small keep-alive HTTP client for the rest), samples the RSS of the server's
whole process tree, stops it, and writes a markdown table to bench/results/latest.md.

Run it through bench/run.sh, which prepares the venv and wrk. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import http.client
import json
import os
import platform
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
HOST = "127.0.0.1"  # all traffic stays on loopback
API = "/api/2.0/mlflow"

# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------

FULL = dict(
    artifact_mb=1024,
    wrk_warmup_s=3,
    wrk_duration_s=20,
    history_points=50_000,
    history_reps=10,
    runs=2_000,
    search_reps=30,
    page_reps=10,
)
QUICK = dict(
    artifact_mb=128,
    wrk_warmup_s=1,
    wrk_duration_s=5,
    history_points=50_000,
    history_reps=3,
    runs=1_000,
    search_reps=5,
    page_reps=3,
)
WRK_THREADS = 2
WRK_CONNECTIONS = 16
CREATE_THREADS = 8
HISTORY_PAGE_SIZE = 25_000  # mlflow.store.tracking.GET_METRIC_HISTORY_MAX_RESULTS (client default)
HISTORY_PRELOG_BATCH = 1_000  # MAX_METRICS_PER_BATCH in the reference server
SEARCH_FILTER = "metrics.m1 > 0.5 and params.p1 = 'x'"
SEARCH_ORDER = ["metrics.m2 DESC"]
SEARCH_MAX = 100
PAGE_MAX = 1_000
HEALTH_TIMEOUT_S = 180
REQUEST_TIMEOUT_S = 120
PHASE_BUDGET_S = 240  # upper bound for any single repeated/looping phase
CREATE_RUNS_BUDGET_S = 420  # the reference needs ~1-3 min for 2,000 runs on 2 busy cores

# Targets from the project's performance goals: (ratio threshold) or absolute.
TARGETS = {
    ("log-batch", "throughput"): 50,
    ("log-metric", "throughput"): 30,
    ("metric history", "median time"): 50,
    ("1,000-run page", "median latency"): 30,
}
KEEL_IDLE_RSS_TARGET_MB = 50
# Streaming bound: moving a multi-GB artifact must not grow keel's memory (issue 3).
KEEL_ARTIFACT_RSS_TARGET_MB = 100

# --------------------------------------------------------------------------------------------
# Process-tree bookkeeping
# --------------------------------------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        # comm may contain spaces/parens: fields after the last ')' are well-formed
        rest = data[data.rfind(b")") + 2 :].split()
        if len(rest) < 2:
            continue
        kids.setdefault(int(rest[1]), []).append(int(entry))
    return kids


def process_tree(root: int) -> list[int]:
    kids = _children_map()
    out, stack = [], [root]
    while stack and len(out) < 10_000:
        pid = stack.pop()
        out.append(pid)
        stack.extend(kids.get(pid, []))
    return out


def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def tree_rss_mb(root: int) -> tuple[float, int]:
    pids = process_tree(root)
    return sum(_status_kb(p, "VmRSS") for p in pids) / 1024.0, len(pids)


def tree_cpu_s(root: int) -> float:
    """User+system CPU seconds consumed so far by the live processes of a tree."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in process_tree(root):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                rest = f.read().rsplit(b")", 1)[1].split()
            total += int(rest[11]) + int(rest[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / tick


def settle(root: int, max_s: float = 20, idle_cores: float = 0.2, db=None) -> float:
    """Waits (bounded) until the server tree stops burning CPU, e.g. on requests left in flight
    by a finished wrk run; with a PostgreSQL database, also until its backends (including
    autovacuum after a bulk of inserts) are idle, for at most 60 s. Returns the seconds waited."""
    t0 = time.monotonic()
    max_s = max(max_s, 60) if db else max_s

    def cpu() -> float:
        return tree_cpu_s(root) + (db.backend_cpu_s() if db else 0.0)

    while time.monotonic() - t0 < max_s:
        c0 = cpu()
        time.sleep(0.5)
        if (cpu() - c0) / 0.5 < idle_cores:
            break
    return time.monotonic() - t0


def tree_breakdown(root: int) -> list[tuple[str, int, float]]:
    """(label, process count, RSS MB) for the root itself and each direct child's subtree."""
    kids = _children_map()
    out = [(_cmd_label(root), 1, _status_kb(root, "VmRSS") / 1024.0)]
    for child in kids.get(root, []):
        pids = process_tree(child)
        out.append((_cmd_label(child), len(pids), sum(_status_kb(p, "VmRSS") for p in pids) / 1024.0))
    return out


def _cmd_label(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return "?"
    if len(argv) >= 3 and argv[1] == "-m":  # python -m module
        return argv[2]
    if len(argv) >= 2 and "python" in Path(argv[0]).name:
        argv = argv[1:]
    return " ".join([Path(argv[0]).name] + argv[1:2]) if argv else "?"


def tree_pss_mb(root: int) -> float:
    return sum(_pss_kb(p) for p in process_tree(root)) / 1024.0


class RssSampler:
    """Samples the summed VmRSS of a process tree in a background thread (bounded in time)."""

    def __init__(self, root: int, interval: float = 0.25, max_s: float = 900):
        self.root, self.interval, self.max_s = root, interval, max_s
        self.peak_mb = 0.0
        self.peak_procs = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        deadline = time.monotonic() + self.max_s
        while not self._stop.is_set() and time.monotonic() < deadline:
            mb, n = tree_rss_mb(self.root)
            if mb > self.peak_mb:
                self.peak_mb, self.peak_procs = mb, n
            self._stop.wait(self.interval)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(timeout=5)


# --------------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------------

LIVE_SERVERS: list["Server"] = []


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class PgDatabase:
    """A fresh PostgreSQL database for one server (`--backend postgres`), dropped after it."""

    def __init__(self, base: str, name: str):
        self.base, self.name = base.rstrip("/"), name

    @property
    def uri(self) -> str:
        return f"{self.base}/{self.name}"

    def _admin(self, sql: str):
        import psycopg2  # only the postgres backend needs it (bench/requirements.txt)

        conn = psycopg2.connect(f"{self.base}/postgres")
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()

    def create(self):
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{self.name}"')

    def drop(self):
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def backend_cpu_s(self) -> float:
        """User+system CPU seconds used so far by the whole PostgreSQL cluster: every live
        `postgres` process (backends, WAL writer, checkpointer, autovacuum workers) plus what the
        postmaster has reaped from children that exited (its cutime/cstime), so backends of
        connections a server closes mid-run still count. Only one server runs at a time, so the
        difference over a workload is the database work that server caused."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid_dir in Path("/proc").iterdir():
            if not pid_dir.name.isdigit():
                continue
            try:
                if (pid_dir / "comm").read_text().strip() != "postgres":
                    continue
                rest = (pid_dir / "stat").read_bytes().rsplit(b")", 1)[1].split()
                parent = int(rest[1])
                total += int(rest[11]) + int(rest[12])
                if (Path("/proc") / str(parent) / "comm").read_text().strip() != "postgres":
                    total += int(rest[13]) + int(rest[14])  # the postmaster: reaped children
            except (OSError, IndexError, ValueError):
                pass
        return total / tick


class Server:
    def __init__(self, slot: str, kind: str, cmd_builder, version: str, config_note: str,
                 db: PgDatabase | None = None, health_path: str = "/health"):
        self.slot, self.kind = slot, kind
        self.health_path = health_path
        self.cmd_builder = cmd_builder
        self.version, self.config_note = version, config_note
        self.db = db
        self.proc: subprocess.Popen | None = None
        self.tmp: Path | None = None
        self.port = 0
        self._log = None

    def start(self):
        self.tmp = Path(tempfile.mkdtemp(prefix=f"keel-bench-{self.kind}-"))
        self.port = free_port()
        if self.db:
            self.db.create()
            LIVE_SERVERS.append(self)  # so the database is dropped on any exit
        cmd = self.cmd_builder(self.tmp, self.port)
        # the harness's own KEEL_* variables (KEEL_BIN, ...) are not server configuration
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
        # keep the reference server from trying to reach anything off-box
        env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true", NO_PROXY="*")
        self._log = open(self.tmp / "server.log", "wb")
        print(f"[{self.slot}] starting: {' '.join(cmd)}", flush=True)
        self.proc = subprocess.Popen(
            cmd, stdout=self._log, stderr=subprocess.STDOUT, cwd=self.tmp, env=env,
            start_new_session=True,
        )
        if self not in LIVE_SERVERS:
            LIVE_SERVERS.append(self)
        t0 = time.monotonic()
        while time.monotonic() - t0 < HEALTH_TIMEOUT_S:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited with {self.proc.returncode}\n{self.log_tail()}")
            try:
                c = http.client.HTTPConnection(HOST, self.port, timeout=2)
                c.request("GET", self.health_path)
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    print(f"[{self.slot}] healthy after {time.monotonic() - t0:.1f}s on port {self.port}",
                          flush=True)
                    return
            except OSError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"{self.kind} not healthy after {HEALTH_TIMEOUT_S}s\n{self.log_tail()}")

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join((self.tmp / "server.log").read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self):
        if self.proc is None:
            self._drop_db()
            return
        pids = process_tree(self.proc.pid) if self.proc.poll() is None else []
        for sig, wait_s in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
            for p in pids:  # children that left the process group
                if not _alive(p):
                    continue
                try:
                    os.kill(p, sig)
                except (ProcessLookupError, PermissionError):
                    pass
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline:
                self.proc.poll()
                alive = [p for p in pids if _alive(p)]
                if self.proc.returncode is not None and not alive:
                    break
                time.sleep(0.1)
            else:
                continue
            break
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if self._log:
            self._log.close()
        if self in LIVE_SERVERS:
            LIVE_SERVERS.remove(self)
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.proc = None
        self._drop_db()
        print(f"[{self.slot}] stopped", flush=True)

    def _drop_db(self):
        if self in LIVE_SERVERS:
            LIVE_SERVERS.remove(self)
        if self.db:
            try:
                self.db.drop()
            except Exception as e:  # noqa: BLE001 - report, keep stopping
                print(f"[{self.slot}] could not drop database {self.db.name}: {e}", flush=True)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state != b"Z"
    except (OSError, IndexError):
        return False


def stop_all():
    for s in list(LIVE_SERVERS):
        try:
            s.stop()
        except Exception:  # noqa: BLE001 - best effort on the way out
            traceback.print_exc()


def _on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


# --------------------------------------------------------------------------------------------
# Tiny keep-alive JSON client (lower, steadier overhead than requests; one per thread)
# --------------------------------------------------------------------------------------------


class ApiError(RuntimeError):
    pass


class Client:
    def __init__(self, port: int):
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def _connect(self):
        self.conn = http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT_S)

    def raw(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        for attempt in (0, 1):
            if self.conn is None:
                self._connect()
            try:
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                return r.status, r.read()
            except (http.client.HTTPException, ConnectionError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def call(self, method: str, endpoint: str, body: dict | None = None) -> dict:
        status, data = self.raw(method, API + endpoint, body)
        if status != 200:
            raise ApiError(f"{method} {endpoint} -> {status}: {data[:300]!r}")
        return json.loads(data) if data else {}

    def close(self):
        if self.conn:
            self.conn.close()


def now_ms() -> int:
    return int(time.time() * 1000)


def create_experiment(c: Client, name: str) -> str:
    return c.call("POST", "/experiments/create", {"name": name})["experiment_id"]


def create_run(c: Client, exp_id: str, name: str | None = None) -> str:
    body = {"experiment_id": exp_id, "start_time": now_ms()}
    if name:
        body["run_name"] = name
    return c.call("POST", "/runs/create", body)["run"]["info"]["run_id"]


# --------------------------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------------------------


def wrk_json(stdout: str) -> dict | None:
    """The result line a bench wrk script prints (`WRKJSON {...}`), with the errors summed and
    the throughput of successful (2xx/3xx) responses."""
    for line in stdout.splitlines():
        if line.startswith("WRKJSON "):
            res = json.loads(line[len("WRKJSON "):])
            secs = res["duration_us"] / 1e6
            res["errors"] = sum(res[k] for k in res if k.startswith("err_"))
            res["rps"] = max(0, res["requests"] - res["err_status"]) / secs if secs else 0.0
            return res
    return None


def run_wrk(port: int, server_pid: int, script: str, endpoint: str, run_id: str, duration: int,
            step_base: int, db: PgDatabase | None = None, headers: tuple[str, ...] = ()) -> dict:
    cmd = [
        "wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{duration}s", "--timeout", "30s",
        *(a for h in headers for a in ("-H", h)),
        "-s", str(HERE / "wrk" / script), f"http://{HOST}:{port}{API}{endpoint}",
        "--", run_id, str(step_base),
    ]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    srv_cpu0 = tree_cpu_s(server_pid)
    db_cpu0 = db.backend_cpu_s() if db else 0.0
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 90)
    srv_cpu = tree_cpu_s(server_pid) - srv_cpu0
    db_cpu = db.backend_cpu_s() - db_cpu0 if db else None
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    res = wrk_json(p.stdout)
    if res is not None:
        secs = res["duration_us"] / 1e6
        res["error_share"] = res["errors"] / max(1, res["requests"])
        res["server_cpu_cores"] = srv_cpu / secs if secs else 0.0
        res["wrk_cpu_cores"] = wrk_cpu / secs if secs else 0.0
        res["server_cpu_ms_per_req"] = 1e3 * srv_cpu / res["requests"] if res["requests"] else None
        if db_cpu is not None:
            res["db_cpu_cores"] = db_cpu / secs if secs else 0.0
            res["db_cpu_ms_per_req"] = 1e3 * db_cpu / res["requests"] if res["requests"] else None
        if res["requests"] == 0:
            raise RuntimeError(f"no request completed within {duration} s "
                               f"(errors: {res['errors']})")
        return res
    raise RuntimeError(f"wrk produced no result (rc={p.returncode}): {p.stdout[-500:]} {p.stderr[-500:]}")


def wrk_workload(srv: Server, c: Client, exp_id: str, script: str, endpoint: str, cfg: dict,
                 sample_rss: bool) -> dict:
    run_id = create_run(c, exp_id)
    # warm-up (not measured), then the measured run with fresh steps
    try:
        run_wrk(srv.port, srv.proc.pid, script, endpoint, run_id, cfg["wrk_warmup_s"], step_base=0,
                db=srv.db)
    except RuntimeError:
        pass  # a warm-up that completed nothing is not a result; the measured run decides
    settle(srv.proc.pid, db=srv.db)  # let requests still in flight from the warm-up finish
    if sample_rss:
        with RssSampler(srv.proc.pid) as s:
            res = run_wrk(srv.port, srv.proc.pid, script, endpoint, run_id, cfg["wrk_duration_s"],
                          step_base=10**12, db=srv.db)
        res["peak_rss_mb"], res["peak_procs"] = s.peak_mb, s.peak_procs
    else:
        res = run_wrk(srv.port, srv.proc.pid, script, endpoint, run_id, cfg["wrk_duration_s"],
                      step_base=10**12, db=srv.db)
    return res


def timed_reps(fn, reps: int, warmup: int = 1) -> tuple[list[float], object]:
    """Runs fn warmup+reps times (bounded by PHASE_BUDGET_S); returns durations of measured reps."""
    out, last = [], None
    t_start = time.monotonic()
    for _ in range(warmup):
        last = fn()[1]
    for _ in range(reps):
        dt, last = fn()
        out.append(dt)
        if time.monotonic() - t_start > PHASE_BUDGET_S:
            break
    return out, last


def history_workload(c: Client, exp_id: str, cfg: dict) -> dict:
    run_id = create_run(c, exp_id)
    n = cfg["history_points"]
    ts = now_ms()
    t0 = time.monotonic()
    for start in range(0, n, HISTORY_PRELOG_BATCH):
        metrics = [{"key": "hist", "value": (i % 997) / 997.0, "timestamp": ts + i, "step": i}
                   for i in range(start, min(n, start + HISTORY_PRELOG_BATCH))]
        c.call("POST", "/runs/log-batch", {"run_id": run_id, "metrics": metrics})
        if time.monotonic() - t0 > PHASE_BUDGET_S:
            raise RuntimeError("pre-logging history exceeded the phase budget")
    prelog_s = time.monotonic() - t0

    def fetch():
        """Pages like MlflowClient.get_metric_history; times HTTP only, not client JSON decode."""
        got, token, http_s = 0, None, 0.0
        for _ in range(1_000):
            q = f"run_id={run_id}&metric_key=hist&max_results={HISTORY_PAGE_SIZE}"
            if token:
                q += "&page_token=" + urlquote(token)
            t = time.perf_counter()
            status, data = c.raw("GET", f"{API}/metrics/get-history?{q}")
            http_s += time.perf_counter() - t
            if status != 200:
                raise ApiError(f"get-history -> {status}: {data[:300]!r}")
            doc = json.loads(data)
            got += len(doc.get("metrics", []))
            token = doc.get("next_page_token")
            if not token:
                break
        return http_s, got

    times, got = timed_reps(fetch, cfg["history_reps"])
    return {"median_s": statistics.median(times), "reps": len(times), "points": got,
            "prelog_s": prelog_s, "ok": got == n}


def urlquote(s: str) -> str:
    from urllib.parse import quote

    return quote(s, safe="")


def run_spec(i: int) -> dict:
    rng = random.Random(i)
    return {
        "name": f"r{i:05d}",
        "params": {f"p{k}": ("x" if i % 2 == 0 else "y") if k == 1 else f"v{rng.randrange(100)}"
                   for k in range(1, 6)},
        "metrics": {f"m{k}": rng.random() for k in range(1, 6)},
        "tags": {f"t{k}": f"tag{rng.randrange(10)}" for k in range(1, 4)},
    }


def create_runs_workload(port: int, exp_id: str, n: int) -> dict:
    local = threading.local()
    clients: list[Client] = []
    lock = threading.Lock()
    deadline = time.monotonic() + CREATE_RUNS_BUDGET_S

    def one(i: int) -> str:
        if time.monotonic() > deadline:
            raise RuntimeError("create-runs exceeded the phase budget")
        c = getattr(local, "c", None)
        if c is None:
            c = local.c = Client(port)
            with lock:
                clients.append(c)
        spec = run_spec(i)
        run_id = create_run(c, exp_id, spec["name"])
        ts = now_ms()
        c.call("POST", "/runs/log-batch", {
            "run_id": run_id,
            "params": [{"key": k, "value": v} for k, v in spec["params"].items()],
            "metrics": [{"key": k, "value": v, "timestamp": ts, "step": 0}
                        for k, v in spec["metrics"].items()],
            "tags": [{"key": k, "value": v} for k, v in spec["tags"].items()],
        })
        return run_id

    t0 = time.perf_counter()
    ex = ThreadPoolExecutor(CREATE_THREADS)
    try:
        ids = list(ex.map(one, range(n)))
    finally:
        # on error or Ctrl-C, drop the queued runs instead of waiting for them
        ex.shutdown(wait=False, cancel_futures=True)
    total = time.perf_counter() - t0
    for c in clients:
        c.close()
    return {"total_s": total, "runs": len(ids)}


def expected_search(n: int) -> list[str]:
    specs = [run_spec(i) for i in range(n)]
    hits = [s for s in specs if s["metrics"]["m1"] > 0.5 and s["params"]["p1"] == "x"]
    hits.sort(key=lambda s: -s["metrics"]["m2"])
    return [s["name"] for s in hits[:SEARCH_MAX]]


def run_names(doc: dict) -> list[str]:
    return [r.get("info", {}).get("run_name", "") for r in doc.get("runs", [])]


def search_workload(c: Client, exp_id: str, reps: int, n_runs: int) -> dict:
    body = {"experiment_ids": [exp_id], "filter": SEARCH_FILTER, "max_results": SEARCH_MAX,
            "order_by": SEARCH_ORDER}

    def one():
        t = time.perf_counter()
        status, data = c.raw("POST", API + "/runs/search", body)
        dt = time.perf_counter() - t
        if status != 200:
            raise ApiError(f"runs/search -> {status}: {data[:300]!r}")
        return dt, json.loads(data)

    times, doc = timed_reps(one, reps, warmup=2)
    names = run_names(doc)
    return {"median_s": statistics.median(times), "reps": len(times), "rows": len(names),
            "ok": names == expected_search(n_runs)}


def page_workload(c: Client, exp_id: str, reps: int) -> dict:
    body = {"experiment_ids": [exp_id], "max_results": PAGE_MAX}

    def one():
        t = time.perf_counter()
        status, data = c.raw("POST", API + "/runs/search", body)
        dt = time.perf_counter() - t
        if status != 200:
            raise ApiError(f"runs/search -> {status}: {data[:300]!r}")
        return dt, json.loads(data)

    times, doc = timed_reps(one, reps, warmup=1)
    rows = len(doc.get("runs", []))
    full = sum(1 for r in doc.get("runs", [])
               if len(r.get("data", {}).get("params", [])) == 5
               and len(r.get("data", {}).get("metrics", [])) == 5)
    return {"median_s": statistics.median(times), "reps": len(times), "rows": rows,
            "ok": rows == PAGE_MAX and full == PAGE_MAX}


ARTIFACT_CHUNK = 1024 * 1024


def artifact_file(mb: int) -> Path:
    """A file of `mb` MiB of random bytes, made once per harness run and shared by both servers."""
    path = Path(tempfile.gettempdir()) / f"keel-bench-artifact-{mb}mb.bin"
    if not path.exists() or path.stat().st_size != mb * ARTIFACT_CHUNK:
        block = os.urandom(ARTIFACT_CHUNK)
        with open(path, "wb") as f:
            for i in range(mb):
                f.write(block[i % 7:] + block[: i % 7])  # cheap variation between blocks
    return path


def artifact_workload(srv: Server, cfg: dict) -> dict:
    """Streams one large file up through the artifact proxy and back down, timing each direction
    and sampling the server's process-tree RSS; the download is checked for its full size."""
    src = artifact_file(cfg["artifact_mb"])
    size = src.stat().st_size
    path = "/api/2.0/mlflow-artifacts/artifacts/bench/large.bin"

    def transfer(method: str) -> float:
        conn = http.client.HTTPConnection(HOST, srv.port, timeout=600)
        t = time.perf_counter()
        if method == "PUT":
            with open(src, "rb") as f:
                conn.request("PUT", path, body=f, headers={"Content-Length": str(size)})
                resp = conn.getresponse()
                body = resp.read()
            if resp.status != 200:
                raise ApiError(f"upload -> {resp.status}: {body[:300]!r}")
        else:
            conn.request("GET", path)
            resp = conn.getresponse()
            got = 0
            while chunk := resp.read(ARTIFACT_CHUNK):
                got += len(chunk)
            if resp.status != 200 or got != size:
                raise ApiError(f"download -> {resp.status}, {got} of {size} bytes")
        dt = time.perf_counter() - t
        conn.close()
        return dt

    out: dict = {"size_mb": size / ARTIFACT_CHUNK, "ok": True}
    for direction, method in (("upload", "PUT"), ("download", "GET")):
        settle(srv.proc.pid)
        with RssSampler(srv.proc.pid, interval=0.1) as rss:
            dt = transfer(method)
        out[f"{direction}_mb_s"] = size / ARTIFACT_CHUNK / dt
        out[f"{direction}_peak_rss_mb"] = rss.peak_mb
    return out


def bench_server(srv: Server, cfg: dict) -> dict:
    """Runs every workload against one server; a failing workload records its error and moves on."""
    res: dict = {"kind": srv.kind, "version": srv.version, "config": srv.config_note, "errors": {}}
    srv.start()
    try:
        time.sleep(3)  # let workers settle before the idle reading
        settle(srv.proc.pid)
        res["idle_rss_mb"], res["idle_procs"] = tree_rss_mb(srv.proc.pid)
        res["idle_pss_mb"] = tree_pss_mb(srv.proc.pid)
        res["idle_breakdown"] = tree_breakdown(srv.proc.pid)
        c = Client(srv.port)
        ingest_exp = create_experiment(c, "bench-ingest")

        def step(name, fn):
            settle(srv.proc.pid, db=srv.db)
            print(f"[{srv.slot}] {name} ...", flush=True)
            t = time.monotonic()
            try:
                res[name] = fn()
                print(f"[{srv.slot}] {name} done in {time.monotonic() - t:.1f}s: "
                      f"{_short(res[name])}", flush=True)
            except KeyboardInterrupt:
                raise
            except Exception as e:  # noqa: BLE001 - record and continue with the next workload
                res["errors"][name] = f"{type(e).__name__}: {e}"[:400]
                print(f"[{srv.slot}] {name} FAILED: {res['errors'][name]}", flush=True)

        if cfg.get("only") == "artifacts":
            step("artifacts", lambda: artifact_workload(srv, cfg))
            c.close()
            return res
        with RssSampler(srv.proc.pid) as overall:
            step("log_batch", lambda: wrk_workload(srv, c, ingest_exp, "log_batch.lua",
                                                   "/runs/log-batch", cfg, sample_rss=True))
            step("log_metric", lambda: wrk_workload(srv, c, ingest_exp, "log_metric.lua",
                                                    "/runs/log-metric", cfg, sample_rss=False))
            step("history", lambda: history_workload(c, ingest_exp, cfg))
            exp: dict = {}

            def create_runs():
                exp["search"] = create_experiment(c, "bench-search")
                return create_runs_workload(srv.port, exp["search"], cfg["runs"])

            def needs_runs():
                if "create_runs" not in res:
                    raise RuntimeError("skipped: creating the runs failed")
                return exp["search"]

            step("create_runs", create_runs)
            step("search", lambda: search_workload(c, needs_runs(), cfg["search_reps"], cfg["runs"]))
            step("page", lambda: page_workload(c, needs_runs(), cfg["page_reps"]))
        res["overall_peak_rss_mb"] = overall.peak_mb
        if cfg.get("backend", "sqlite") == "sqlite":  # artifacts never touch the database
            step("artifacts", lambda: artifact_workload(srv, cfg))
        c.close()
    finally:
        if res["errors"]:
            res["log_tail"] = srv.log_tail()  # kept in latest.json; the temp dir is removed
        srv.stop()
    return res


def bench_one(srv: Server, cfg: dict) -> dict:
    """bench_server, but a server that will not start still yields a (failed) result column."""
    try:
        return bench_server(srv, cfg)
    except KeyboardInterrupt:
        raise
    except Exception as e:  # noqa: BLE001
        print(f"[{srv.slot}] could not be benchmarked: {e}", flush=True)
        return {"kind": srv.kind, "version": srv.version, "config": srv.config_note,
                "errors": {"setup": f"{type(e).__name__}: {str(e)[:400]}"}}


def _short(d) -> str:
    if not isinstance(d, dict):
        return str(d)
    keep = ("rps", "lat_p50_us", "lat_p99_us", "errors", "median_s", "total_s", "rows", "points",
            "ok", "peak_rss_mb")
    return ", ".join(f"{k}={d[k]:.4g}" if isinstance(d[k], float) else f"{k}={d[k]}"
                     for k in keep if k in d)


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _get(r: dict, *path):
    cur = r
    for p in path:
        if not isinstance(cur, dict) or p not in cur:
            return None
        cur = cur[p]
    return cur


def build_rows(ref: dict, cand: dict, cfg: dict) -> list[dict]:
    """Each row: workload, metric, unit, values, and whether higher is better."""
    n = cfg["runs"]
    spec = [
        # workload, metric, unit, path, scale, higher_is_better, section-key
        ("log-batch", "throughput", "req/s", ("log_batch", "rps"), 1, True, "log_batch"),
        ("log-batch", "p50 latency", "ms", ("log_batch", "lat_p50_us"), 1e-3, False, "log_batch"),
        ("log-batch", "p99 latency", "ms", ("log_batch", "lat_p99_us"), 1e-3, False, "log_batch"),
        ("log-batch", "server CPU per request", "ms CPU", ("log_batch", "server_cpu_ms_per_req"), 1,
         False, "log_batch"),
        ("log-metric", "throughput", "req/s", ("log_metric", "rps"), 1, True, "log_metric"),
        ("log-metric", "p50 latency", "ms", ("log_metric", "lat_p50_us"), 1e-3, False, "log_metric"),
        ("log-metric", "p99 latency", "ms", ("log_metric", "lat_p99_us"), 1e-3, False, "log_metric"),
        ("log-metric", "server CPU per request", "ms CPU", ("log_metric", "server_cpu_ms_per_req"),
         1, False, "log_metric"),
        ("log-batch", "PostgreSQL CPU per request", "ms CPU", ("log_batch", "db_cpu_ms_per_req"), 1,
         False, "log_batch"),
        ("log-metric", "PostgreSQL CPU per request", "ms CPU", ("log_metric", "db_cpu_ms_per_req"),
         1, False, "log_metric"),
        ("metric history", "median time", "s", ("history", "median_s"), 1, False, "history"),
        (f"create {n:,} runs", "total time", "s", ("create_runs", "total_s"), 1, False, "create_runs"),
        ("filtered search", "median latency", "ms", ("search", "median_s"), 1e3, False, "search"),
        ("1,000-run page", "median latency", "ms", ("page", "median_s"), 1e3, False, "page"),
        ("RSS (process tree)", "idle", "MB", ("idle_rss_mb",), 1, False, None),
        ("RSS (process tree)", "peak under log-batch", "MB", ("log_batch", "peak_rss_mb"), 1, False,
         "log_batch"),
        ("RSS (process tree)", "peak, whole run", "MB", ("overall_peak_rss_mb",), 1, False, None),
        ("PSS (process tree)", "idle", "MB", ("idle_pss_mb",), 1, False, None),
        (f"artifact upload ({cfg['artifact_mb']:,} MB)", "throughput", "MB/s",
         ("artifacts", "upload_mb_s"), 1, True, "artifacts"),
        (f"artifact download ({cfg['artifact_mb']:,} MB)", "throughput", "MB/s",
         ("artifacts", "download_mb_s"), 1, True, "artifacts"),
        ("RSS (process tree)", "peak during artifact upload", "MB", ("artifacts", "upload_peak_rss_mb"),
         1, False, "artifacts"),
        ("RSS (process tree)", "peak during artifact download", "MB",
         ("artifacts", "download_peak_rss_mb"), 1, False, "artifacts"),
    ]
    postgres = cfg.get("backend", "sqlite") == "postgres"
    rows = []
    for wl, metric, unit, path, scale, higher, sect in spec:
        if cfg.get("only") == "artifacts" and "artifact" not in wl + metric and "idle" not in metric:
            continue  # an artifacts-only run measures nothing else
        if metric.startswith("PostgreSQL") and not postgres:
            continue  # the embedded database's CPU is part of the server's own
        if postgres and "artifact" in wl + metric:
            continue  # the artifact workload does not run on the postgres backend
        vals, flags = [], []
        for r in (ref, cand):
            v = _get(r, *path)
            vals.append(None if v is None else v * scale)
            flag = ""
            if "setup" in r.get("errors", {}) or (sect and sect in r.get("errors", {})):
                flag = "failed"
            elif sect and _get(r, sect, "ok") is False:
                flag = "wrong result"
            elif sect and (_get(r, sect, "errors") or 0) > 0:
                flag = f"{_get(r, sect, 'errors')}/{_get(r, sect, 'requests')} requests failed"
            flags.append(flag)
        ratio = None
        # a side with more than 1% failed requests gets no ratio: its speed is not comparable
        unusable = any((_get(r, sect, "error_share") or 0) > 0.01 for r in (ref, cand)) if sect else False
        if vals[0] and vals[1] and not unusable:
            ratio = vals[1] / vals[0] if higher else vals[0] / vals[1]
        target = ""
        t = TARGETS.get((wl, metric))
        if t is not None:
            target = f"≥ {t}×" + ("" if ratio is None else (" ✓" if ratio >= t else " ✗"))
        limit = KEEL_IDLE_RSS_TARGET_MB if metric == "idle" else (
            KEEL_ARTIFACT_RSS_TARGET_MB if metric.startswith("peak during artifact") else None)
        if wl.startswith("RSS") and limit is not None:
            target = f"keel < {limit} MB"
            if vals[1] is not None:
                target += " ✓" if vals[1] < limit else " ✗"
        rows.append(dict(workload=wl, metric=metric, unit=unit, vals=vals, flags=flags,
                         ratio=ratio, higher=higher, target=target))
    return _pg_rows_after_server_cpu(rows)


def _pg_rows_after_server_cpu(rows: list[dict]) -> list[dict]:
    """Moves each 'PostgreSQL CPU per request' row right after its workload's server CPU row."""
    pg = [r for r in rows if r["metric"].startswith("PostgreSQL")]
    out = [r for r in rows if not r["metric"].startswith("PostgreSQL")]
    for r in pg:
        at = next((i for i, o in enumerate(out)
                   if o["workload"] == r["workload"] and o["metric"] == "server CPU per request"), None)
        out.insert(len(out) if at is None else at + 1, r)
    return out


def fmt_val(v, unit: str, flag: str) -> str:
    if v is None:
        return f"n/a ({flag})" if flag else "n/a"
    if unit == "req/s":
        s = f"{v:,.0f} req/s"
    elif unit == "ms CPU":
        s = f"{v:,.3f} {unit}" if v < 1 else f"{v:,.2f} {unit}" if v < 100 else f"{v:,.0f} {unit}"
    elif unit == "ms":
        s = f"{v:,.2f} ms" if v < 100 else f"{v:,.0f} ms"
    elif unit == "s":
        s = f"{v:,.3f} s" if v < 10 else f"{v:,.1f} s"
    else:
        s = f"{v:,.1f} {unit}"
    return s + (f" ⚠ {flag}" if flag else "")


def write_report(out: str, md: str, data: dict) -> None:
    """Writes the markdown report to `out` and the raw figures to the .json beside it, and prints
    the report."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(md)
    path.with_suffix(".json").write_text(json.dumps(data, indent=2, default=str))
    print("\n" + md)
    print(f"written to {path}")


def machine_facts() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    try:
        wrk_v = subprocess.run(["wrk", "--version"], capture_output=True, text=True,
                               timeout=10).stdout.splitlines()[0].split(" [")[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        wrk_v = "unknown"
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": wrk_v,
    }


def render(ref: dict, cand: dict, cfg: dict, mode: str, facts: dict) -> str:
    rows = build_rows(ref, cand, cfg)
    cand_label = "keel" if cand["kind"] == "keel" else "candidate (mlflow, self-test)"
    out = []
    postgres = cfg.get("backend", "sqlite") == "postgres"
    if postgres:
        out.append(f"## Keel vs reference MLflow, both on PostgreSQL ({mode} mode)\n")
    else:
        out.append(f"## Keel vs reference MLflow ({mode} mode)\n")
    if cand["kind"] != "keel":
        out.append("> **Self-test run:** the candidate slot is the reference server again, so "
                   "ratios only show the harness's noise (≈1× expected).\n")
    out.append(f"Ratio column: **> 1 means {cand_label} is better** "
               f"(throughput: {cand_label} ÷ reference; latency, time, memory: reference ÷ {cand_label}).\n")
    out.append(f"| workload | metric | reference mlflow | {cand_label} | ratio (>1 = {cand_label} better) | target |")
    out.append("|---|---|---:|---:|---:|---|")
    for r in rows:
        ratio = "n/a" if r["ratio"] is None else f"{r['ratio']:,.1f}×" if r["ratio"] >= 10 \
            else f"{r['ratio']:,.2f}×"
        out.append(f"| {r['workload']} | {r['metric']} | {fmt_val(r['vals'][0], r['unit'], r['flags'][0])} "
                   f"| {fmt_val(r['vals'][1], r['unit'], r['flags'][1])} | {ratio} | {r['target']} |")
    out.append("")
    out.append("Targets are goals shown for orientation, not pass/fail checks.\n")

    out.append("### Workloads\n")
    out.append(f"1. **log-batch**: `POST runs/log-batch`, 100 metrics per request (one step per "
               f"request, fresh steps), wrk `-t{WRK_THREADS} -c{WRK_CONNECTIONS}` for "
               f"{cfg['wrk_duration_s']} s after a {cfg['wrk_warmup_s']} s warm-up.")
    out.append(f"2. **log-metric**: `POST runs/log-metric`, one point per request, same wrk settings.")
    out.append(f"3. **metric history**: `GET metrics/get-history` of a {cfg['history_points']:,}-point "
               f"metric, paged like `MlflowClient.get_metric_history` (max_results={HISTORY_PAGE_SIZE:,}, "
               f"following next_page_token); median of {cfg['history_reps']} (HTTP time, client JSON "
               f"decode excluded).")
    out.append(f"4. **create runs**: {cfg['runs']:,} × (`runs/create` + `runs/log-batch` with 5 params, "
               f"5 metrics, 3 tags) from {CREATE_THREADS} threads with keep-alive connections; total wall time.")
    out.append(f"5. **filtered search**: `runs/search` filter `{SEARCH_FILTER}`, order_by "
               f"`{SEARCH_ORDER[0]}`, max_results={SEARCH_MAX}, over those runs; median of "
               f"{cfg['search_reps']}. Results are checked against the expected run order.")
    out.append(f"6. **1,000-run page**: `runs/search` max_results={PAGE_MAX:,} over the same "
               f"experiment; median of {cfg['page_reps']}.")
    out.append("   *server CPU per request* = CPU seconds used by the server's process tree during "
               "the measured wrk run ÷ requests served: an efficiency figure that does not depend on "
               "how much of the 2 cores the load generator takes.")
    if postgres:
        out.append("   *PostgreSQL CPU per request* = the same for all PostgreSQL processes "
                   "(backends, including those of connections closed mid-run, WAL writer, "
                   "checkpointer, autovacuum; outside the server's process tree; RSS figures do not "
                   "include PostgreSQL either).")
    out.append("7. **RSS / PSS**: VmRSS (and Pss) summed over the server's whole process tree (parent "
               "+ all descendants): idle = 3 s after /health first answered; peaks sampled every "
               "0.25 s. Summed RSS counts pages shared between forked workers more than once; PSS "
               "splits them fairly.")
    if not postgres:
        out.append(f"8. **artifacts**: one {cfg['artifact_mb']:,} MB file streamed up with `PUT "
               "mlflow-artifacts/artifacts/...` and back down with `GET` (size checked), one "
               "connection, loopback; RSS of the server's process tree sampled every 0.1 s during "
               "each direction. The reference stores proxied artifacts in a temp dir "
               "(`--artifacts-destination`).")
    else:
        out.append("8. **artifacts**: not run on the postgres backend (artifacts never touch the "
                   "database; see the SQLite run).")
    out.append("")

    notes = []
    for r, label in ((ref, "reference"), (cand, cand_label)):
        for k, e in r.get("errors", {}).items():
            notes.append(f"- {label}: `{k}` failed: `{e}`")
        for k in ("log_batch", "log_metric"):
            v = _get(r, k)
            if v and v.get("errors"):
                notes.append(f"- {label}: `{k}` had {v['errors']} failed requests (socket errors, "
                             f"timeouts or non-2xx) of {v['requests']}; ratios are left out "
                             f"above 1%")
        for k in ("history", "search", "page"):
            v = _get(r, k)
            if v and v.get("ok") is False:
                notes.append(f"- {label}: `{k}` returned an unexpected result ({_short(v)})")
    if notes:
        out.append("### Problems seen in this run\n")
        out.extend(notes)
        out.append("")

    out.append("### Setup\n")
    out.append(f"- date: {facts['date']}")
    out.append(f"- machine: {facts['nproc']} CPUs ({facts['cpu']}), {facts['memory']} RAM, "
               f"Linux {facts['kernel']}; load generator and server share the machine")
    out.append(f"- reference: mlflow {ref['version']} — {ref['config']}")
    out.append(f"- {cand_label}: {cand['version']} — {cand['config']}")
    if facts.get("postgres"):
        out.append(f"- database: {facts['postgres']}, same machine, one fresh database per "
                   "server (dropped afterwards)")
    out.append(f"- tools: {facts['wrk']}, Python {facts['python']}")
    for r, label in ((ref, "reference"), (cand, cand_label)):
        bd = r.get("idle_breakdown")
        if bd:
            parts = ", ".join(f"{name} ×{n} {mb:,.0f} MB" if n > 1 else f"{name} {mb:,.0f} MB"
                              for name, n, mb in bd)
            n = r.get("idle_procs", "?")
            out.append(f"- {label} idle process tree ({n} process{'' if n == 1 else 'es'}): {parts}")
    for k, name in (("log_batch", "log-batch"), ("log_metric", "log-metric")):
        cells = []
        for r, label in ((ref, "reference"), (cand, cand_label)):
            v = _get(r, k)
            if v and "wrk_cpu_cores" in v:
                db = f", PostgreSQL {v['db_cpu_cores']:.2f} cores" if "db_cpu_cores" in v else ""
                cells.append(f"{label}: server {v['server_cpu_cores']:.2f} cores{db}, "
                             f"wrk {v['wrk_cpu_cores']:.2f} cores")
        if cells:
            out.append(f"- CPU use during {name} (of {facts['nproc']}): " + "; ".join(cells))
    out.append(f"- load average before the run: {facts.get('loadavg_start', '?')}")
    try:
        busy = float(str(facts.get("loadavg_start", "0")).split()[0]) > 0.5 * (facts["nproc"] or 1)
    except ValueError:
        busy = False
    if busy:
        out.insert(1, "> **Warning:** the machine was already busy when this run started (load "
                      f"average {facts['loadavg_start']}); other work competed for the CPUs, so "
                      "treat these figures as rough.\n")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def mlflow_version(mlflow_bin: str) -> str:
    try:
        out = subprocess.run([mlflow_bin, "--version"], capture_output=True, text=True, timeout=120)
        return out.stdout.strip().split()[-1]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def postgres_version(base: str) -> str:
    try:
        import psycopg2

        conn = psycopg2.connect(f"{base.rstrip('/')}/postgres")
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW server_version")
                version = cur.fetchone()[0]
                settings = []
                for name in ("shared_buffers", "synchronous_commit", "max_connections"):
                    cur.execute(f"SHOW {name}")
                    settings.append(f"{name}={cur.fetchone()[0]}")
        finally:
            conn.close()
        return f"PostgreSQL {version} ({', '.join(settings)})"
    except Exception as e:  # noqa: BLE001 - a fact for the report, not essential
        return f"PostgreSQL (version unknown: {e})"


def keel_version(keel_bin: str) -> str:
    try:
        out = subprocess.run([keel_bin, "--version"], capture_output=True, text=True, timeout=30)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "keel (version unknown)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer iterations, for smoke runs")
    ap.add_argument("--keel-bin", default=os.environ.get("KEEL_BIN", str(REPO / "target/release/keel")))
    ap.add_argument("--mlflow-bin", default=str(Path(sys.executable).parent / "mlflow"))
    ap.add_argument("--self-test", action="store_true",
                    help="run the reference server in both slots (to debug the harness)")
    ap.add_argument("--out", default=None,
                    help="report path (default results/latest.md, results/latest-postgres.md)")
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite",
                    help="'postgres': both servers store tracking data in a fresh PostgreSQL "
                         "database each (see --pg)")
    ap.add_argument("--pg", default=os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432"),
                    help="PostgreSQL server for --backend postgres, without a database name; the "
                         "user must be allowed to create databases")
    ap.add_argument("--only", choices=["all", "artifacts"], default="all",
                    help="'artifacts': only the large-file upload/download workload")
    ap.add_argument("--artifact-mb", type=int, default=None,
                    help="size of the artifact workload's file in MiB (default 1024; 128 quick)")
    args = ap.parse_args()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)

    cfg = dict(QUICK if args.quick else FULL, only=args.only, backend=args.backend)
    postgres = args.backend == "postgres"
    if args.out is None:
        args.out = str(HERE / "results" / ("latest-postgres.md" if postgres else "latest.md"))
    if args.artifact_mb:
        cfg["artifact_mb"] = args.artifact_mb
    mode = ("quick" if args.quick else "full") + ("" if args.only == "all" else f", {args.only} only")
    if not shutil.which("wrk"):
        print("wrk not found on PATH (bench/run.sh installs it)", file=sys.stderr)
        return 2
    if not args.self_test and not os.access(args.keel_bin, os.X_OK):
        print(f"keel binary not found at {args.keel_bin}; build it (cargo build --release) or pass "
              f"--self-test to benchmark the reference against itself", file=sys.stderr)
        return 2

    if postgres and "unknown" in postgres_version(args.pg):
        print(f"cannot reach PostgreSQL at {args.pg}: {postgres_version(args.pg)}", file=sys.stderr)
        return 2

    mv = mlflow_version(args.mlflow_bin)
    store = "PostgreSQL backend store (fresh database)" if postgres else "SQLite backend store"
    mlflow_note = ("`mlflow server` defaults: uvicorn, 4 worker processes (`--workers` default), "
                   f"{store}, local artifact root")

    def database(slot: str) -> PgDatabase | None:
        return PgDatabase(args.pg, f"keel_bench_{slot}_{os.getpid()}") if postgres else None

    def mlflow_cmd_for(db: PgDatabase | None):
        def cmd(tmp: Path, port: int) -> list[str]:
            # SQLAlchemy 2.1 reads a bare postgresql:// as the psycopg (3) driver; name the
            # psycopg2 driver that bench/requirements.txt installs
            uri = ("postgresql+psycopg2://" + db.uri.split("://", 1)[1] if db
                   else f"sqlite:///{tmp}/mlflow.db")
            return [args.mlflow_bin, "server", "--backend-store-uri", uri,
                    "--default-artifact-root", str(tmp / "art"), "--artifacts-destination",
                    str(tmp / "art"), "--host", HOST, "--port", str(port)]
        return cmd

    def keel_cmd_for(db: PgDatabase | None):
        def cmd(tmp: Path, port: int) -> list[str]:
            out = [args.keel_bin, "server", "--host", HOST, "--port", str(port), "--data-dir", str(tmp)]
            return out + (["--backend-store-uri", db.uri] if db else [])
        return cmd

    ref_db = database("reference")
    ref = Server("reference", "mlflow", mlflow_cmd_for(ref_db), mv, mlflow_note, db=ref_db)
    if args.self_test:
        cand_db = database("candidate")
        cand = Server("candidate", "mlflow", mlflow_cmd_for(cand_db), mv, mlflow_note, db=cand_db)
    else:
        keel_db = database("keel")
        keel_note = ("`keel server` defaults, PostgreSQL backend store (`--backend-store-uri`, "
                     "fresh database; default pool of 10 connections), artifacts in a fresh "
                     "--data-dir" if postgres else
                     "`keel server` defaults, embedded SQLite in a fresh --data-dir")
        cand = Server("keel", "keel", keel_cmd_for(keel_db), keel_version(args.keel_bin), keel_note,
                      db=keel_db)

    t0 = time.monotonic()
    loadavg_start = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    try:
        ref_res = bench_one(ref, cfg)
        cand_res = bench_one(cand, cfg)
    except KeyboardInterrupt:
        print("\ninterrupted; stopping servers", file=sys.stderr)
        return 130
    finally:
        stop_all()

    facts = machine_facts()
    facts["loadavg_start"] = loadavg_start
    if postgres:
        facts["postgres"] = postgres_version(args.pg)
    md = render(ref_res, cand_res, cfg, mode, facts)
    md += f"- harness wall time: {time.monotonic() - t0:.0f} s\n"
    write_report(args.out, md, {"mode": mode, "config": cfg, "facts": facts,
                                 "reference": ref_res, "candidate": cand_res})
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        stop_all()

"""Why: a soak run: keel under steady mixed load, with slow clients alongside, for tens of
minutes, sampling its memory, open file descriptors, throughput, latency and errors, so that
slow growth (a leak of memory or fds, latency that creeps up as the data grows) shows as a
slope rather than hiding in a short benchmark.

1. Starts keel (embedded SQLite, fresh temp data dir) from a copy of $KEEL_BIN (the build may be
   replaced while the soak runs), with short connection timeouts so slow clients are cycled:
   `--header-read-timeout-seconds 10 --idle-timeout-seconds 15 --body-read-timeout-seconds 10`.
2. Six worker threads, each request timed, paced so the data grows steadily (about 7 MB a
   minute, some 200 MB in 30 minutes): two tracking (runs/create, runs/log-batch of 100 metrics plus params/tags,
   metrics/get-history with max_results), one reader (runs/search with a filter, get-history of
   older runs), one artifacts (256 KiB upload through the artifact proxy, download, byte
   compare), two traces (OTLP/JSON export of 10 traces x 5 spans to /v1/traces, then
   POST /api/3.0/mlflow/traces/search).
3. 100 slow clients: 50 raw sockets trickling one byte of a never-ending header every few
   seconds, 50 connected and silent. When keel closes one, it is counted and reopened.
4. Every --interval seconds: keel's VmRSS and open fds (/proc/<pid>), requests, errors (any
   non-2xx, exception or wrong answer) and p50/p99 latency over the window.
5. At the end: everything stops (bounded waits), and a markdown report (samples, least-squares
   slopes of RSS and p99 after a 2-minute warm-up, totals) goes to --out and stdout, the raw
   samples to the .json next to it.

    bench/run.sh soak                                   # 30 minutes, a sample every 10 s
    bench/run.sh soak --minutes 2 --out /tmp/soak.md    # smoke run

Not a test: nothing fails on numbers. All traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import selectors
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

import bench
from bench import HOST, Server, stop_all

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

API = "/api/2.0/mlflow"
KEEL_FLAGS = ["--header-read-timeout-seconds", "10", "--idle-timeout-seconds", "15",
              "--body-read-timeout-seconds", "10"]
WORKER_ROLES = ("tracking", "tracking", "reader", "artifacts", "traces", "traces")
# Shortest time per loop iteration of each role (the iteration's requests included): this keeps
# the request rate, and so the growth of the data set, bounded whatever the server's speed.
PACE_S = {"tracking": 0.5, "reader": 0.5, "artifacts": 4.0, "traces": 2.0}
METRICS_PER_BATCH = 100
BATCHES_PER_RUN = 10
HISTORY_MAX_RESULTS = 100
SEARCH_FILTER = "metrics.m1 > 0.5 and params.p1 = 'x'"
SEARCH_MAX_RESULTS = 50
ARTIFACT_BYTES = 256 * 1024
UPLOADS_PER_RUN = 20
TRACES_PER_EXPORT = 10
SPANS_PER_TRACE = 5
TRACE_SEARCH_MAX = 10
SLOW_TRICKLE = 50
SLOW_IDLE = 50
TRICKLE_EVERY_S = 3.0
WARMUP_S = 120  # samples before this are left out of the slopes
CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 60
ERROR_PAUSE_S = 1.0  # after a failed step, so a broken endpoint does not spin
MAX_ITERATIONS = 1_000_000  # per worker: a hard bound besides the deadline
QUIET_WAIT_S = 20  # after the load: wait at most this long for keel's fds to settle


def now_ms() -> int:
    return int(time.time() * 1000)


def pct(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    s = sorted(values)
    return s[max(0, min(len(s) - 1, math.ceil(p * len(s)) - 1))]


def slope_per_hour(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, value) points, in value units per hour."""
    pts = [(t, v) for t, v in points if v is not None]
    if len(pts) < 3:
        return None
    mt = sum(t for t, _ in pts) / len(pts)
    mv = sum(v for _, v in pts) / len(pts)
    den = sum((t - mt) ** 2 for t, _ in pts)
    if den == 0:
        return None
    return 3600 * sum((t - mt) * (v - mv) for t, v in pts) / den


def proc_status(pid: int) -> dict:
    out = {"rss_mb": None, "threads": None, "fds": None}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    out["rss_mb"] = int(line.split()[1]) / 1024
                elif line.startswith("Threads:"):
                    out["threads"] = int(line.split()[1])
        out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, ValueError, IndexError):
        pass
    return out


def disk_mb(root: Path, skip: str = "server.log") -> float:
    """Disk usage (allocated blocks) of a directory tree, leaving out the server's log."""
    total, stack, seen = 0, [root], 0
    while stack and seen < 1_000_000:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                for e in it:
                    seen += 1
                    try:
                        if e.is_dir(follow_symlinks=False):
                            stack.append(e.path)
                        elif e.name != skip:
                            total += e.stat(follow_symlinks=False).st_blocks * 512
                    except OSError:
                        pass
        except OSError:
            pass
    return total / 1024 / 1024


# --------------------------------------------------------------------------------------------
# Request accounting
# --------------------------------------------------------------------------------------------


class Stats:
    """Every request's latency and outcome: a window the sampler swaps out, and totals per op."""

    def __init__(self):
        self.lock = threading.Lock()
        self.window: list[tuple[float, bool]] = []
        self.ops: dict[str, dict] = {}
        self.error_kinds: dict[str, int] = {}

    def record(self, op: str, seconds: float, ok: bool, error: str | None = None):
        with self.lock:
            self.window.append((seconds, ok))
            o = self.ops.setdefault(op, {"lat": [], "errors": 0})
            o["lat"].append(seconds)
            if not ok:
                o["errors"] += 1
                key = (error or op)[:240]
                if key in self.error_kinds or len(self.error_kinds) < 30:
                    self.error_kinds[key] = self.error_kinds.get(key, 0) + 1

    def take_window(self) -> list[tuple[float, bool]]:
        with self.lock:
            w, self.window = self.window, []
        return w


class Shared:
    """What the workers share: the server, the experiments, finished runs for the reader."""

    def __init__(self, base: str, exp_runs: str, exp_traces: str, stats: Stats,
                 stop: threading.Event, deadline: float):
        self.base, self.exp_runs, self.exp_traces = base, exp_runs, exp_traces
        self.stats, self.stop, self.deadline = stats, stop, deadline
        self.lock = threading.Lock()
        self.finished_runs: list[tuple[str, int]] = []  # (run_id, batches logged)


class Worker(threading.Thread):
    def __init__(self, role: str, index: int, shared: Shared):
        super().__init__(name=f"soak-{role}-{index}", daemon=True)
        self.role, self.index, self.sh = role, index, shared
        self.rng = random.Random(index)
        self.session = requests.Session()
        self.crash: str | None = None

    def running(self) -> bool:
        return not self.sh.stop.is_set() and time.monotonic() < self.sh.deadline

    def req(self, op: str, method: str, path: str, check=None, **kw) -> requests.Response | None:
        """One timed request; a non-2xx answer, an exception or a failed `check` is an error."""
        t = time.perf_counter()
        try:
            r = self.session.request(method, self.sh.base + path,
                                     timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S), **kw)
            _ = r.content
        except requests.RequestException as e:
            self.sh.stats.record(op, time.perf_counter() - t, False, f"{op}: {type(e).__name__}: {e}")
            return None
        dt = time.perf_counter() - t
        if not 200 <= r.status_code < 300:
            self.sh.stats.record(op, dt, False, f"{op}: HTTP {r.status_code}: {r.text[:200]}")
            return None
        if check is not None:
            try:
                problem = check(r)
            except Exception as e:  # noqa: BLE001 - an answer of an unexpected shape is an error
                problem = f"unexpected answer: {type(e).__name__}: {e}: {r.text[:200]}"
            if problem:
                self.sh.stats.record(op, dt, False, f"{op}: {problem}")
                return None
        self.sh.stats.record(op, dt, True)
        return r

    def run(self):
        step = getattr(self, f"step_{self.role}")
        state: dict = {}
        try:
            for _ in range(MAX_ITERATIONS):
                if not self.running():
                    break
                t0 = time.monotonic()
                ok = step(state)
                wait = PACE_S[self.role] - (time.monotonic() - t0)
                if not ok:
                    wait = max(wait, ERROR_PAUSE_S)
                if wait > 0:
                    self.sh.stop.wait(wait)
        except Exception as e:  # noqa: BLE001 - a harness bug: report it, do not hang
            self.crash = f"{type(e).__name__}: {e}"
            print(f"[soak] worker {self.name} crashed: {self.crash}", flush=True)
        finally:
            self.session.close()

    # -- roles: each step returns False when one of its requests failed --------------------

    def new_run(self, state: dict) -> bool:
        r = self.req("runs/create", "POST", f"{API}/runs/create",
                     check=lambda r: None if r.json()["run"]["info"]["run_id"] else "no run_id",
                     json={"experiment_id": self.sh.exp_runs, "start_time": now_ms(),
                           "run_name": f"soak-{self.role}{self.index}-{state.get('runs', 0)}"})
        if r is None:
            return False
        state["runs"] = state.get("runs", 0) + 1
        state["run_id"], state["batches"], state["uploads"] = r.json()["run"]["info"]["run_id"], 0, 0
        return True

    def step_tracking(self, state: dict) -> bool:
        if "run_id" not in state or state["batches"] >= BATCHES_PER_RUN:
            if "run_id" in state:
                with self.sh.lock:
                    self.sh.finished_runs.append((state["run_id"], state["batches"]))
            if not self.new_run(state):
                return False
        rng, run_id, n = self.rng, state["run_id"], state["batches"]
        ts = now_ms()
        body = {"run_id": run_id,
                "metrics": [{"key": f"m{k}", "value": rng.random(), "timestamp": ts, "step": n}
                            for k in range(METRICS_PER_BATCH)],
                "tags": [{"key": "soak.phase", "value": f"batch-{n}"},
                         {"key": "soak.worker", "value": self.name}]}
        if n == 0:  # params are immutable: logged once per run
            body["params"] = [{"key": "p1", "value": rng.choice("xy")},
                              {"key": "p2", "value": str(rng.randrange(10))},
                              {"key": "optimizer", "value": rng.choice(["adam", "sgd"])}]
        if self.req("runs/log-batch", "POST", f"{API}/runs/log-batch", json=body) is None:
            return False
        state["batches"] = n + 1
        key = f"m{rng.randrange(METRICS_PER_BATCH)}"
        expected = n + 1
        return self.req(
            "metrics/get-history", "GET", f"{API}/metrics/get-history",
            params={"run_id": run_id, "metric_key": key, "max_results": HISTORY_MAX_RESULTS},
            check=lambda r: (None if len(r.json().get("metrics", [])) == expected
                             else f"{len(r.json().get('metrics', []))} points, expected {expected}"),
        ) is not None

    def step_reader(self, state: dict) -> bool:
        def check_search(r):
            runs = r.json().get("runs", [])
            if len(runs) > SEARCH_MAX_RESULTS:
                return f"{len(runs)} runs for max_results={SEARCH_MAX_RESULTS}"
            for run in runs:
                params = {p["key"]: p["value"] for p in run.get("data", {}).get("params", [])}
                m1 = {m["key"]: m["value"] for m in run.get("data", {}).get("metrics", [])}.get("m1")
                if params.get("p1") != "x" or m1 is None or not m1 > 0.5:
                    return f"run {run['info']['run_id']} does not match the filter"
            return None

        ok = self.req("runs/search", "POST", f"{API}/runs/search", check=check_search,
                      json={"experiment_ids": [self.sh.exp_runs], "filter": SEARCH_FILTER,
                            "order_by": ["metrics.m2 DESC"],
                            "max_results": SEARCH_MAX_RESULTS}) is not None
        with self.sh.lock:
            pick = self.rng.choice(self.sh.finished_runs) if self.sh.finished_runs else None
        if pick is not None:
            run_id, batches = pick
            ok = self.req(
                "metrics/get-history", "GET", f"{API}/metrics/get-history",
                params={"run_id": run_id, "metric_key": f"m{self.rng.randrange(METRICS_PER_BATCH)}",
                        "max_results": HISTORY_MAX_RESULTS},
                check=lambda r: (None if len(r.json().get("metrics", [])) == batches
                                 else f"{len(r.json().get('metrics', []))} points, expected {batches}"),
            ) is not None and ok
        return ok

    def step_artifacts(self, state: dict) -> bool:
        if "run_id" not in state or state["uploads"] >= UPLOADS_PER_RUN:
            if not self.new_run(state):
                return False
        data = os.urandom(ARTIFACT_BYTES)
        path = (f"/api/2.0/mlflow-artifacts/artifacts/{self.sh.exp_runs}/{state['run_id']}"
                f"/artifacts/soak/blob-{state['uploads']}.bin")
        state["uploads"] += 1
        if self.req("artifacts/upload", "PUT", path, data=data,
                    headers={"Content-Type": "application/octet-stream"}) is None:
            return False
        return self.req("artifacts/download", "GET", path,
                        check=lambda r: None if r.content == data
                        else f"{len(r.content)} bytes back, not the {len(data)} uploaded") is not None

    def step_traces(self, state: dict) -> bool:
        now_ns = time.time_ns()
        spans = []
        for _ in range(TRACES_PER_EXPORT):
            trace_id = os.urandom(16).hex()
            root = os.urandom(8).hex()
            for k in range(SPANS_PER_TRACE):
                start = now_ns - 50_000_000 + k * 1_000_000
                span = {"traceId": trace_id, "spanId": root if k == 0 else os.urandom(8).hex(),
                        "name": "agent" if k == 0 else f"step-{k}", "kind": 1,
                        "startTimeUnixNano": str(start),
                        "endTimeUnixNano": str(start + (40_000_000 if k == 0 else 5_000_000)),
                        "attributes": [{"key": "soak.k", "value": {"intValue": str(k)}},
                                       {"key": "input.value", "value": {"stringValue": "hello " * 8}}],
                        "status": {"code": 1}}
                if k:
                    span["parentSpanId"] = root
                spans.append(span)
        body = {"resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "soak"}}]},
            "scopeSpans": [{"scope": {"name": "keel-soak"}, "spans": spans}]}]}

        def check_export(r):
            rejected = int(((r.json() or {}).get("partialSuccess") or {}).get("rejectedSpans") or 0)
            return f"{rejected} spans rejected" if rejected else None

        if self.req("otlp/export", "POST", "/v1/traces", check=check_export, data=json.dumps(body),
                    headers={"Content-Type": "application/json",
                             "x-mlflow-experiment-id": self.sh.exp_traces}) is None:
            return False

        def check_search(r):
            n = len(r.json().get("traces", []))
            return None if 1 <= n <= TRACE_SEARCH_MAX else f"{n} traces"

        return self.req("traces/search", "POST", "/api/3.0/mlflow/traces/search", check=check_search,
                        json={"locations": [{"type": "MLFLOW_EXPERIMENT",
                                             "mlflow_experiment": {"experiment_id": self.sh.exp_traces}}],
                              "max_results": TRACE_SEARCH_MAX}) is not None


# --------------------------------------------------------------------------------------------
# Slow clients
# --------------------------------------------------------------------------------------------

TRICKLE_HEAD = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Soak-Slow: "


class SlowClients(threading.Thread):
    """Raw sockets that never finish a request: `trickle` ones send one byte of an endless header
    every TRICKLE_EVERY_S, `idle` ones send nothing. One keel closes is counted (with how long it
    lived and the first bytes keel sent, if any) and reopened."""

    def __init__(self, port: int, stop: threading.Event, deadline: float):
        super().__init__(name="soak-slow-clients", daemon=True)
        self.port, self.stop, self.deadline = port, stop, deadline
        self.lock = threading.Lock()
        self.closed = {"trickle": 0, "idle": 0}
        self.lifetimes: dict[str, list[float]] = {"trickle": [], "idle": []}
        self.answers: dict[str, int] = {}  # first line keel sent before closing -> count
        self.connect_failures = 0
        self.open_now = 0
        self.crash: str | None = None

    def _open(self, sel, kind: str, now: float, first_send: float) -> bool:
        try:
            s = socket.create_connection((HOST, self.port), timeout=2)
        except OSError:
            with self.lock:
                self.connect_failures += 1
            return False
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ,
                     {"kind": kind, "opened": now, "next_send": first_send, "sent": 0, "got": b""})
        return True

    def _closed_by_server(self, sel, s, st: dict, now: float):
        sel.unregister(s)
        s.close()
        line = st["got"].split(b"\r\n", 1)[0].decode("latin-1")[:60] or "(closed, no answer)"
        with self.lock:
            self.closed[st["kind"]] += 1
            self.lifetimes[st["kind"]].append(now - st["opened"])
            self.answers[line] = self.answers.get(line, 0) + 1

    def run(self):
        sel = selectors.DefaultSelector()
        target = {"trickle": SLOW_TRICKLE, "idle": SLOW_IDLE}
        try:
            now = time.monotonic()
            for kind, n in target.items():
                for i in range(n):  # spread the first bytes over one trickle period
                    self._open(sel, kind, now, now + TRICKLE_EVERY_S * i / max(1, n))
            while not self.stop.is_set() and time.monotonic() < self.deadline:
                for key, _ in sel.select(timeout=0.5):
                    s, st = key.fileobj, key.data
                    try:
                        data = s.recv(4096)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if data:
                        st["got"] = (st["got"] + data)[:512]  # an error answer; the close follows
                        continue
                    self._closed_by_server(sel, s, st, time.monotonic())
                now = time.monotonic()
                counts = {"trickle": 0, "idle": 0}
                for key in list(sel.get_map().values()):
                    s, st = key.fileobj, key.data
                    counts[st["kind"]] += 1
                    if st["kind"] == "trickle" and now >= st["next_send"]:
                        i = st["sent"]
                        byte = TRICKLE_HEAD[i:i + 1] or b"a"
                        try:
                            st["sent"] += s.send(byte)
                        except BlockingIOError:
                            pass
                        except OSError:
                            self._closed_by_server(sel, s, st, now)
                            counts["trickle"] -= 1
                            continue
                        st["next_send"] = now + TRICKLE_EVERY_S
                for kind, n in target.items():
                    for _ in range(n - counts[kind]):  # reopen; a failure is retried next round
                        if not self._open(sel, kind, now, now):
                            break
                with self.lock:
                    self.open_now = len(sel.get_map())
        except Exception as e:  # noqa: BLE001 - a harness bug: report it, do not hang
            self.crash = f"{type(e).__name__}: {e}"
            print(f"[soak] slow clients crashed: {self.crash}", flush=True)
        finally:
            for key in list(sel.get_map().values()):
                try:
                    key.fileobj.close()
                except OSError:
                    pass
            sel.close()
            with self.lock:
                self.open_now = 0

    def total_closed(self) -> int:
        with self.lock:
            return self.closed["trickle"] + self.closed["idle"]


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def setup(base: str) -> tuple[str, str]:
    with requests.Session() as s:
        ids = []
        for name in ("soak-runs", "soak-traces"):
            r = s.post(f"{base}{API}/experiments/create", json={"name": name},
                       timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S))
            r.raise_for_status()
            ids.append(r.json()["experiment_id"])
    return ids[0], ids[1]


def log_summary(srv: Server) -> dict:
    """Warnings and errors in keel's log (its text format puts the level after the timestamp)."""
    out = {"log_mb": 0.0, "warn": 0, "error": 0, "last": []}
    try:
        path = srv.tmp / "server.log"
        out["log_mb"] = path.stat().st_size / 1024 / 1024
        with open(path, errors="replace") as f:
            for line in f:
                head = line[:60]
                if " ERROR " in head or " WARN " in head:
                    out["error" if " ERROR " in head else "warn"] += 1
                    out["last"] = (out["last"] + [line.strip()[:300]])[-5:]
    except (OSError, TypeError):
        pass
    return out


def soak(srv: Server, minutes: float, interval: float) -> dict:
    duration = minutes * 60
    res: dict = {"samples": [], "interrupted": False}
    srv.start()
    pid = srv.proc.pid
    base = f"http://{HOST}:{srv.port}"
    time.sleep(1)
    res["idle"] = {**proc_status(pid), "data_mb": disk_mb(srv.tmp)}
    exp_runs, exp_traces = setup(base)
    stats, stop = Stats(), threading.Event()
    t_start = time.monotonic()
    deadline = t_start + duration
    shared = Shared(base, exp_runs, exp_traces, stats, stop, deadline)
    workers = [Worker(role, i, shared) for i, role in enumerate(WORKER_ROLES)]
    slow = SlowClients(srv.port, stop, deadline)
    for t in (*workers, slow):
        t.start()
    print(f"[soak] load running for {duration:.0f} s: {len(workers)} workers "
          f"({', '.join(WORKER_ROLES)}), {SLOW_TRICKLE} trickling + {SLOW_IDLE} idle slow clients",
          flush=True)

    prev_t, prev_closes = t_start, 0
    max_samples = int(math.ceil(duration / interval)) + 1
    try:
        for _ in range(max_samples):
            wake = min(prev_t + interval, deadline)
            while time.monotonic() < wake and srv.proc.poll() is None:
                time.sleep(min(0.5, max(0.0, wake - time.monotonic())))
            now = time.monotonic()
            if srv.proc.poll() is not None:
                res["keel_exit"] = srv.proc.returncode
                print(f"[soak] keel exited with {srv.proc.returncode}", flush=True)
                break
            win = stats.take_window()
            lat = [dt for dt, _ in win]
            closes = slow.total_closed()
            ps = proc_status(pid)
            p50, p99 = pct(lat, 0.50), pct(lat, 0.99)
            s = {"t": now - t_start, **ps, "requests": len(win),
                 "req_s": len(win) / max(1e-9, now - prev_t),
                 "errors": sum(1 for _, ok in win if not ok),
                 "p50_ms": None if p50 is None else 1e3 * p50,
                 "p99_ms": None if p99 is None else 1e3 * p99,
                 "slow_closes": closes - prev_closes, "slow_open": slow.open_now,
                 "data_mb": disk_mb(srv.tmp)}
            res["samples"].append(s)
            prev_t, prev_closes = now, closes
            print(f"[soak] t={s['t']:6.0f}s rss={fmt(s['rss_mb'], 1):>6} MB fds={s['fds']:>4} "
                  f"threads={s['threads']:>3} req/s={s['req_s']:6.1f} p50={fmt(s['p50_ms'], 1):>6} ms "
                  f"p99={fmt(s['p99_ms'], 1):>7} ms errors={s['errors']} "
                  f"slow-closes={s['slow_closes']} data={s['data_mb']:.1f} MB", flush=True)
            if now >= deadline:
                break
    except KeyboardInterrupt:
        res["interrupted"] = True
        print("\n[soak] interrupted; stopping the load and reporting what was sampled", file=sys.stderr)
    finally:
        stop.set()
        join_deadline = time.monotonic() + READ_TIMEOUT_S + 10
        for t in (*workers, slow):
            t.join(timeout=max(0.1, join_deadline - time.monotonic()))
        res["hung_threads"] = [t.name for t in (*workers, slow) if t.is_alive()]
    res["wall_s"] = time.monotonic() - t_start

    # keel with no load and no client connections: its fds should be back near the idle count
    if srv.proc.poll() is None:
        quiet_deadline = time.monotonic() + QUIET_WAIT_S
        last = proc_status(pid)
        while time.monotonic() < quiet_deadline:
            time.sleep(1)
            cur = proc_status(pid)
            if cur["fds"] is not None and last["fds"] is not None and cur["fds"] >= last["fds"]:
                last = cur
                break
            last = cur
        res["after"] = {**last, "data_mb": disk_mb(srv.tmp)}
    res["log"] = log_summary(srv)
    with stats.lock:
        res["ops"] = {op: {"count": len(o["lat"]), "errors": o["errors"],
                           "p50_ms": 1e3 * pct(o["lat"], 0.5), "p99_ms": 1e3 * pct(o["lat"], 0.99)}
                      for op, o in sorted(stats.ops.items())}
        res["error_kinds"] = dict(stats.error_kinds)
    with slow.lock:
        res["slow"] = {"closed": dict(slow.closed), "connect_failures": slow.connect_failures,
                       "median_lifetime_s": {k: pct(v, 0.5) for k, v in slow.lifetimes.items()},
                       "answers": dict(slow.answers)}
    res["crashes"] = {t.name: t.crash for t in (*workers, slow) if t.crash}
    return res


def fmt(v, digits: int = 1) -> str:
    return "n/a" if v is None else f"{v:,.{digits}f}"


def render(res: dict, cfg: dict, facts: dict) -> str:
    samples = res["samples"]
    lines = [f"## Soak: keel under mixed load for {cfg['minutes']:g} min", ""]
    if res.get("interrupted"):
        lines += ["**Interrupted**: the samples below cover only part of the planned duration.", ""]
    if "keel_exit" in res:
        lines += [f"**keel exited with {res['keel_exit']} during the run.**", ""]
    lines += ["| t | RSS MB | fds | req/s | p50 ms | p99 ms | errors | data MB |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    shown = [s for i, s in enumerate(samples) if i % 6 == 0 or i == len(samples) - 1]
    for s in shown:
        lines.append(f"| {int(s['t']) // 60}:{int(s['t']) % 60:02d} | {fmt(s['rss_mb'])} | {s['fds']} | "
                     f"{s['req_s']:.1f} | {fmt(s['p50_ms'])} | {fmt(s['p99_ms'])} | {s['errors']} | "
                     f"{s['data_mb']:.1f} |")
    if len(shown) < len(samples):
        lines += ["", f"(every 6th of {len(samples)} samples, {cfg['interval']:g} s apart, and the last; "
                      "all of them are in the .json next to this file)"]

    warm = WARMUP_S
    steady = [s for s in samples if s["t"] >= warm]
    if len(steady) < 3:  # a short smoke run: use its last three quarters instead
        warm = cfg["minutes"] * 60 / 4
        steady = [s for s in samples if s["t"] >= warm]
    rss_slope = slope_per_hour([(s["t"], s["rss_mb"]) for s in steady])
    p99_slope = slope_per_hour([(s["t"], s["p99_ms"]) for s in steady])
    fds_slope = slope_per_hour([(s["t"], s["fds"]) for s in steady])
    total_req = sum(s["requests"] for s in samples)
    total_err = sum(s["errors"] for s in samples)
    rss = [s["rss_mb"] for s in samples if s["rss_mb"] is not None]
    slow = res.get("slow", {})
    closed, life = slow.get("closed", {}), slow.get("median_lifetime_s", {})
    idle, after = res.get("idle", {}), res.get("after", {})
    wall = max(1e-9, samples[-1]["t"] if samples else res.get("wall_s", 1))
    warm_note = f"samples from {warm / 60:g} min on, n={len(steady)}"
    lines += ["", "| | |", "|---|---|",
              f"| RSS slope after warm-up | **{fmt(rss_slope, 2)} MB/h** ({warm_note}) |",
              f"| p99 slope after warm-up | **{fmt(p99_slope, 2)} ms/h** |",
              f"| fds slope after warm-up | {fmt(fds_slope, 1)} /h |",
              f"| RSS idle → peak → last → after the load | {fmt(idle.get('rss_mb'))} → "
              f"{fmt(max(rss) if rss else None)} → {fmt(rss[-1] if rss else None)} → "
              f"{fmt(after.get('rss_mb'))} MB |",
              f"| fds idle → after the load (all clients gone) | {idle.get('fds')} → {after.get('fds')} |",
              f"| threads idle → after the load | {idle.get('threads')} → {after.get('threads')} |",
              f"| requests | {total_req:,} ({total_req / wall:.1f}/s) |",
              f"| errors | **{total_err:,}** |",
              f"| slow clients closed by keel | {closed.get('trickle', 0) + closed.get('idle', 0):,} "
              f"(trickling {closed.get('trickle', 0):,}, median life {fmt(life.get('trickle'))} s; "
              f"idle {closed.get('idle', 0):,}, median life {fmt(life.get('idle'))} s); "
              f"reconnect failures {slow.get('connect_failures', 0)} |",
              f"| data dir (without the log) | {fmt(idle.get('data_mb'))} → "
              f"{fmt(after.get('data_mb', samples[-1]['data_mb'] if samples else None))} MB |",
              f"| keel log | {fmt(res.get('log', {}).get('log_mb'), 2)} MB, "
              f"{res.get('log', {}).get('warn', 0)} WARN, {res.get('log', {}).get('error', 0)} ERROR lines |"]

    lines += ["", "| request | count | errors | p50 ms | p99 ms |", "|---|---:|---:|---:|---:|"]
    for op, o in res.get("ops", {}).items():
        lines.append(f"| {op} | {o['count']:,} | {o['errors']} | {fmt(o['p50_ms'])} | {fmt(o['p99_ms'])} |")

    notes = []
    for msg, n in res.get("error_kinds", {}).items():
        notes.append(f"- error ×{n}: `{msg}`")
    for line in res.get("log", {}).get("last", []):
        notes.append(f"- keel log: `{line}`")
    for name, crash in res.get("crashes", {}).items():
        notes.append(f"- harness thread {name} crashed: {crash}")
    if res.get("hung_threads"):
        notes.append(f"- threads still running at the end (abandoned): {', '.join(res['hung_threads'])}")
    if slow.get("answers"):
        notes.append("- what keel sent slow clients before closing: "
                     + ", ".join(f"`{k}` ×{v}" for k, v in sorted(slow["answers"].items())))
    if notes:
        lines += ["", "### Notes", "", *notes]

    lines += ["", "### Setup", "",
              f"- date: {facts['date']}; machine: {facts['machine']}; load generator and keel share it",
              f"- keel: {facts['keel_version']}, embedded SQLite in a fresh data dir, "
              f"`{' '.join(KEEL_FLAGS)}`",
              f"- load: {len(WORKER_ROLES)} worker threads ({', '.join(WORKER_ROLES)}), each loop paced "
              f"to at least {', '.join(f'{k} {v:g} s' for k, v in PACE_S.items())} per iteration:",
              f"  - tracking: runs/create every {BATCHES_PER_RUN} batches, runs/log-batch "
              f"({METRICS_PER_BATCH} metrics, 2 tags, 3 params on a run's first batch), "
              f"metrics/get-history (max_results={HISTORY_MAX_RESULTS}, point count checked)",
              f"  - reader: runs/search `{SEARCH_FILTER}` ordered by metrics.m2 DESC "
              f"(max_results={SEARCH_MAX_RESULTS}, rows checked against the filter), get-history of a "
              "finished run",
              f"  - artifacts: {ARTIFACT_BYTES // 1024} KiB upload (PUT mlflow-artifacts), download, "
              "byte compare",
              f"  - traces: OTLP/JSON export of {TRACES_PER_EXPORT} traces × {SPANS_PER_TRACE} spans, "
              f"traces/search (max_results={TRACE_SEARCH_MAX})",
              f"- slow clients: {SLOW_TRICKLE} sockets sending one header byte every "
              f"{TRICKLE_EVERY_S:g} s, {SLOW_IDLE} silent; reopened when keel closes them",
              f"- samples every {cfg['interval']:g} s: VmRSS and fd count of the keel process, requests "
              "completed in the window (all kinds mixed; p50/p99 nearest-rank), errors = non-2xx, "
              "exception or wrong answer",
              f"- slopes: least squares over the samples after {warm / 60:g} min of warm-up",
              f"- load average: {facts['loadavg_start']} at the start, {facts['loadavg_end']} at the end",
              f"- harness wall time: {facts['wall_s']:.0f} s"]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0, help="load duration (default 30)")
    ap.add_argument("--interval", type=float, default=10.0, help="seconds between samples (default 10)")
    ap.add_argument("--keel-bin", default=os.environ.get("KEEL_BIN", str(REPO / "target/release/keel")))
    ap.add_argument("--out", default=str(HERE / "results" / "soak.md"))
    args = ap.parse_args()
    if not 0 < args.minutes <= 24 * 60:
        ap.error("--minutes must be in (0, 1440]")
    if not 1 <= args.interval <= 600:
        ap.error("--interval must be in [1, 600]")
    if not os.access(args.keel_bin, os.X_OK):
        print(f"keel binary not found at {args.keel_bin} (set KEEL_BIN; nothing is built here)",
              file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, bench._on_signal)
    signal.signal(signal.SIGHUP, bench._on_signal)
    loadavg = lambda: " ".join(Path("/proc/loadavg").read_text().split()[:3])  # noqa: E731
    t0 = time.monotonic()
    facts = {"loadavg_start": loadavg()}

    # run a copy: the build in target/ may be replaced while the soak runs
    bin_dir = Path(tempfile.mkdtemp(prefix="keel-soak-bin-"))
    try:
        keel_bin = bin_dir / "keel"
        shutil.copy2(args.keel_bin, keel_bin)
        keel_bin.chmod(0o755)
        facts["keel_version"] = bench.keel_version(str(keel_bin))

        def keel_cmd(tmp: Path, port: int) -> list[str]:
            return [str(keel_bin), "server", "--host", HOST, "--port", str(port),
                    "--data-dir", str(tmp), *KEEL_FLAGS]

        srv = Server("soak", "keel", keel_cmd, facts["keel_version"], "")
        try:
            res = soak(srv, args.minutes, args.interval)
        except KeyboardInterrupt:
            print("\ninterrupted; stopping keel", file=sys.stderr)
            return 130
        finally:
            stop_all()
    finally:
        shutil.rmtree(bin_dir, ignore_errors=True)

    mf = bench.machine_facts()
    facts.update(date=mf["date"], loadavg_end=loadavg(), wall_s=time.monotonic() - t0,
                 machine=f"{mf['nproc']} CPUs ({mf['cpu']}), {mf['memory']} RAM, Linux {mf['kernel']}")
    md = render(res, {"minutes": args.minutes, "interval": args.interval}, facts)
    bench.write_report(args.out, md, {
        "config": {"minutes": args.minutes, "interval": args.interval, "keel_flags": KEEL_FLAGS},
        "facts": facts, "result": res})
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        stop_all()

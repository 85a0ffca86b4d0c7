"""The AI gateway's overhead and throughput (issue 17): one mock provider — nginx answering every
request with the same OpenAI chat completion, so the mock is never the bottleneck — behind
Keel's gateway, the LiteLLM proxy and the reference's gateway, in one run on this machine:

* throughput and latency (p50, p99) with wrk at 8, 32 and 128 connections, and the latency each
  gateway adds over calling the mock directly at the same concurrency;
* latency at a held rate (about 2,000 requests/s: 8 connections, each pausing between calls);
* peak memory (RSS of the server's process tree) under the 128-connection load.

Keel runs as shipped: the audit log on, and the endpoint tracking usage (every call a trace in
its experiment, written in batches off the request's path). The reference runs with its default
workers and usage tracking on too; LiteLLM as its proxy starts by default (one worker, no
database). Results are ratios for BENCHMARKS.md, never pass/fail.

Usage: bench/run.sh gateway [--quick] [--only keel,litellm,reference] [--out bench/results/gateway.md]"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
KEEL_BIN = os.environ.get("KEEL_BIN", str(REPO / "target" / "release" / "keel"))
LITELLM = HERE / ".venv-litellm" / "bin" / "litellm"
MODEL = "gpt-4o-mini"
ENDPOINT = "bench-ep"
LITELLM_KEY = "sk-bench-master-0123456789abcdef"
# Extra `keel server` arguments (`--keel-args`, for diagnosis).
KEEL_EXTRA: list[str] = []
CONNECTIONS = (8, 32, 128)
# A held rate of about 2,000 calls/s: 8 connections, each pausing 3 ms after an answer.
HELD_CONNECTIONS, HELD_PAUSE_MS = 8, 3

ANSWER = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": MODEL,
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the mock."},
                 "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14}})


class Nginx:
    """nginx on a free loopback port, answering every request with `ANSWER`."""

    def __init__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="keel-bench-nginx-"))
        self.port = bench.free_port()
        self.proc = None

    def start(self):
        conf = self.tmp / "nginx.conf"
        body = ANSWER.replace("\\", "\\\\").replace("'", "\\'")
        conf.write_text(f"""
daemon off;
worker_processes 1;
pid {self.tmp}/nginx.pid;
error_log {self.tmp}/error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  client_body_temp_path {self.tmp}/body;
  server {{
    listen 127.0.0.1:{self.port} backlog=4096;
    location / {{ default_type application/json; return 200 '{body}'; }}
  }}
}}
""")
        self.proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(self.tmp)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if post_json(self.port, "/v1/chat/completions", {"model": MODEL})[0] == 200:
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("nginx did not start")

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def post_json(port, path, body, method="POST", headers=None):
    import http.client
    c = http.client.HTTPConnection(bench.HOST, port, timeout=30)
    try:
        c.request(method, path, json.dumps(body), {"Content-Type": "application/json", **(headers or {})})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


TRACKING = {"on": True}


def configure_mlflow_gateway(port, mock_port):
    """The same endpoint on Keel and on the reference: one secret, one model, usage tracked
    (unless `--tracking off`, for diagnosis)."""
    api = "/api/3.0/mlflow/gateway"

    def call(path, body):
        status, data = post_json(port, f"{api}/{path}", body)
        if status != 200:
            raise RuntimeError(f"{path} -> {status}: {data[:300]!r}")
        return json.loads(data)

    secret = call("secrets/create", {"secret_name": "bench-key", "secret_value": {"api_key": "sk-bench"},
                                     "provider": "openai",
                                     "auth_config": {"api_base": f"http://127.0.0.1:{mock_port}/v1"}})
    model = call("model-definitions/create", {"name": "bench-model", "secret_id": secret["secret"]["secret_id"],
                                              "provider": "openai", "model_name": MODEL})
    call("endpoints/create", {"name": ENDPOINT, "usage_tracking": TRACKING["on"], "model_configs": [
        {"model_definition_id": model["model_definition"]["model_definition_id"], "linkage_type": "PRIMARY",
         "weight": 1.0}]})


def keel(mock_port):
    def cmd(tmp, port):
        return [KEEL_BIN, "server", "--port", str(port), "--data-dir", str(tmp / "data"), "--log-level", "warn",
                "--gateway-allow-http-upstreams", "--gateway-allow-private-upstreams", *KEEL_EXTRA]
    srv = bench.Server("keel", "keel", cmd, "", "audit log on, usage tracking on")
    return srv, "/gateway/mlflow/v1/chat/completions", lambda: configure_mlflow_gateway(srv.port, mock_port)


def reference(mock_port):
    os.environ.update(MLFLOW_GATEWAY_API_BASE_ALLOW_PRIVATE_IPS="true",
                      MLFLOW_GATEWAY_API_BASE_ALLOWED_SCHEMES="http,https", MLFLOW_ENABLE_AI_GATEWAY="true")

    def cmd(tmp, port):
        return [str(Path(sys.executable).parent / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{tmp}/mlflow.db",
                "--default-artifact-root", f"{tmp}/art", "--host", bench.HOST, "--port", str(port)]
    srv = bench.Server("reference", "reference", cmd, "3.17.2", "default workers, usage tracking on")
    return srv, "/gateway/mlflow/v1/chat/completions", lambda: configure_mlflow_gateway(srv.port, mock_port)


def litellm(mock_port):
    def cmd(tmp, port):
        config = tmp / "litellm.yaml"
        config.write_text(json.dumps({
            "model_list": [{"model_name": ENDPOINT, "litellm_params": {
                "model": f"openai/{MODEL}", "api_base": f"http://127.0.0.1:{mock_port}/v1", "api_key": "sk-bench"}}],
            # It refuses to start without a key; callers present it, as Keel's present a token.
            "general_settings": {"master_key": LITELLM_KEY}}))
        return [str(LITELLM), "--config", str(config), "--host", bench.HOST, "--port", str(port)]
    srv = bench.Server("litellm", "litellm", cmd, "1.106.12", "proxy defaults (one worker, no database)",
                       health_path="/health/liveliness")
    return srv, "/v1/chat/completions", lambda: None


def wrk(port, path, connections, duration, pause_ms=0, headers=()):
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "30s",
           *(a for h in headers for a in ("-H", h)), "-s",
           str(HERE / "wrk" / "chat.lua"), f"http://{bench.HOST}:{port}{path}", "--", ENDPOINT, str(pause_ms)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120)
    res = bench.wrk_json(p.stdout)
    if res is not None:
        return res
    raise RuntimeError(f"wrk produced no result: {p.stdout[-500:]} {p.stderr[-500:]}")


def measure(port, path, duration, pid=None, headers=()):
    """Warm-up, then each concurrency and the held rate; peak RSS under the heaviest load."""
    wrk(port, path, 8, max(2, duration // 3), headers=headers)
    out = {}
    for c in CONNECTIONS:
        if pid and c == max(CONNECTIONS):
            with bench.RssSampler(pid) as s:
                out[c] = wrk(port, path, c, duration, headers=headers)
            out["peak_rss_mb"] = s.peak_mb
        else:
            out[c] = wrk(port, path, c, duration, headers=headers)
    out["held"] = wrk(port, path, HELD_CONNECTIONS, duration, HELD_PAUSE_MS, headers=headers)
    return out


def row(name, res, direct):
    cells = [name]
    for c in CONNECTIONS:
        r, d = res[c], direct[c]
        cells.append(f"{r['rps']:,.0f} req/s, +{(r['lat_p50_us'] - d['lat_p50_us']) / 1e3:.2f} / "
                     f"+{(r['lat_p99_us'] - d['lat_p99_us']) / 1e3:.2f} ms"
                     + (f" ({r['errors']} errors)" if r["errors"] else ""))
    h, dh = res["held"], direct["held"]
    cells.append(f"{h['rps']:,.0f} req/s: +{(h['lat_p50_us'] - dh['lat_p50_us']) / 1e3:.2f} / "
                 f"+{(h['lat_p99_us'] - dh['lat_p99_us']) / 1e3:.2f} ms")
    cells.append(f"{res.get('peak_rss_mb', 0):.0f} MB")
    return "| " + " | ".join(cells) + " |"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="keel,litellm,reference")
    ap.add_argument("--out", default=str(HERE / "results" / "gateway.md"))
    ap.add_argument("--tracking", choices=["on", "off"], default="on",
                    help="usage tracking (a trace per call) on the endpoint; off only to diagnose")
    ap.add_argument("--keel-args", default="", help="extra keel server arguments, to diagnose")
    args = ap.parse_args()
    TRACKING["on"] = args.tracking == "on"
    KEEL_EXTRA.extend(args.keel_args.split())
    duration = 5 if args.quick else 15
    mock = Nginx().start()
    results = {}
    try:
        results["direct"] = measure(mock.port, "/v1/chat/completions", duration)
        for name in args.only.split(","):
            srv, path, configure = {"keel": keel, "litellm": litellm, "reference": reference}[name](mock.port)
            try:
                srv.start()
                configure()
                auth = {"Authorization": f"Bearer {LITELLM_KEY}"} if name == "litellm" else {}
                status, data = post_json(srv.port, path, {"model": ENDPOINT, "max_tokens": 16,
                                                          "messages": [{"role": "user", "content": "Hello"}]},
                                         headers=auth)
                if status != 200:
                    raise RuntimeError(f"{name}: first call -> {status}: {data[:300]!r}")
                results[name] = measure(srv.port, path, duration, srv.proc.pid,
                                        headers=[f"{k}: {v}" for k, v in auth.items()])
            finally:
                srv.stop()
    finally:
        mock.stop()
    direct = results["direct"]
    lines = ["| gateway | " + " | ".join(f"{c} connections: throughput, added p50 / p99" for c in CONNECTIONS)
             + f" | held rate ({HELD_CONNECTIONS} connections, {HELD_PAUSE_MS} ms pauses): added p50 / p99"
             " | peak RSS at 128 |",
             "|---|" + "---|" * (len(CONNECTIONS) + 2)]
    lines.append("| mock, direct | " + " | ".join(
        f"{direct[c]['rps']:,.0f} req/s, p50 {direct[c]['lat_p50_us'] / 1e3:.2f} / p99 "
        f"{direct[c]['lat_p99_us'] / 1e3:.2f} ms" for c in CONNECTIONS)
        + f" | {direct['held']['rps']:,.0f} req/s: p50 {direct['held']['lat_p50_us'] / 1e3:.2f} / p99 "
        f"{direct['held']['lat_p99_us'] / 1e3:.2f} ms | — |")
    for name in args.only.split(","):
        lines.append(row(name, results[name], direct))
    if "keel" in results:
        best = {n: max(results[n][c]["rps"] for c in CONNECTIONS) for n in results if n != "direct"}
        for peer in ("litellm", "reference"):
            if peer in best and best[peer]:
                lines.append(f"\nKeel's best throughput is {best['keel'] / best[peer]:.1f}× {peer}'s "
                             f"({best['keel']:,.0f} vs {best[peer]:,.0f} req/s).")
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).write_text(text)
    Path(args.out).with_suffix(".json").write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    sys.exit(main())

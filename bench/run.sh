#!/usr/bin/env bash
# Why: one command to benchmark keel against the reference MLflow server (venv, wrk, then bench.py).
#
# Usage: bench/run.sh [--quick] [--self-test] [--only artifacts] [--artifact-mb N] [--out FILE]
#                     [--backend postgres [--pg postgresql://user@host:port]]
#        bench/run.sh pg-search-scale [--runs N] [--keep] [--reuse --db NAME] ...
#        bench/run.sh traces [--quick] [--traces N]
#        bench/run.sh ui [--quick]
#        bench/run.sh soak [--minutes 30] [--interval 10] [--out FILE]
#        bench/run.sh auth [--quick] [--out FILE]
#        bench/run.sh audit [--quick] [--entries N] [--out FILE]
#        bench/run.sh metrics [--quick] [--rounds N] [--out FILE]
#        bench/run.sh gateway [--quick] [--only keel,litellm,reference] [--out FILE]
#   KEEL_BIN   keel binary to benchmark (default: <repo>/target/release/keel); nothing is built here.
#   --quick    fewer iterations (smoke run, ~2 min)
#   --self-test  reference server in both slots (no keel needed; for debugging the harness)
#   --only artifacts  just the large-file upload/download workload (e.g. --artifact-mb 2048)
#   --backend postgres  both servers on a fresh PostgreSQL database each (default server
#              postgresql://postgres@127.0.0.1:5432); tracking workloads only
#   pg-search-scale  keel's search latency over 100,000 runs on PostgreSQL (pg_search_scale.py)
#   traces     OTLP span ingest and search_traces latency, keel vs the reference (trace_bench.py)
#   ui         the requests behind the web UI's heavy views (long metric history, 10,000-run
#              table, 30,000-span trace), keel vs the reference (ui_bench.py)
#   auth       access control on vs off (keel; the reference with and without basic-auth), the
#              cost of one decision, a filtered search over 10,000 experiments (auth_bench.py)
#   audit      the audit log on vs off (log-metric, log-batch), the store's append cost and
#              proof latency at --entries entries, keel audit verify speed (audit_bench.py)
#   metrics    Prometheus metrics on vs off (keel --metrics; the reference's --expose-prometheus)
#              on log-metric throughput, and one /metrics scrape's latency (metrics_bench.py)
#   gateway    the AI gateway: keel, the LiteLLM proxy and the reference's gateway in front of one
#              nginx mock provider; throughput, added latency, memory (gateway_bench.py)
#   soak       keel alone under mixed load (tracking, artifacts, traces) plus 100 slow clients for
#              --minutes (default 30), sampling RSS, fds, req/s, p50/p99 and errors every --interval
#              seconds; RSS and p99 slopes in bench/results/soak.md (soak.py). Runs a copy of $KEEL_BIN
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
VENV="$HERE/.venv"
STAMP="$VENV/.requirements.sha256"
export KEEL_BIN="${KEEL_BIN:-$REPO/target/release/keel}"

# 1. venv with the pinned reference server; pip only when requirements.txt changed.
want="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
fi
if [[ "$(cat "$STAMP" 2>/dev/null || true)" != "$want" ]]; then
  echo "bench: installing $HERE/requirements.txt into $VENV" >&2
  "$VENV/bin/pip" install --disable-pip-version-check -q -r "$HERE/requirements.txt"
  echo "$want" > "$STAMP"
fi

# 2. wrk (Debian package); the ui and soak modes do not use it.
if [[ "${1:-}" != "ui" && "${1:-}" != "soak" ]] && ! command -v wrk >/dev/null 2>&1; then
  echo "bench: installing wrk" >&2
  if [[ $(id -u) -eq 0 ]]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get install -y wrk >/dev/null 2>&1 || { $SUDO apt-get update -qq && $SUDO apt-get install -y wrk; }
fi

# 3. run.
if [[ "${1:-}" == "pg-search-scale" ]]; then
  shift
  exec "$VENV/bin/python" "$HERE/pg_search_scale.py" "$@"
fi
if [[ "${1:-}" == "traces" ]]; then
  shift
  exec "$VENV/bin/python" "$HERE/trace_bench.py" "$@"
fi
if [[ "${1:-}" == "ui" ]]; then
  shift
  exec "$VENV/bin/python" "$HERE/ui_bench.py" "$@"
fi
if [[ "${1:-}" == "auth" ]]; then
  shift
  exec "$VENV/bin/python" "$HERE/auth_bench.py" "$@"
fi
if [[ "${1:-}" == "audit" ]]; then
  shift
  exec "$VENV/bin/python" "$HERE/audit_bench.py" "$@"
fi
if [[ "${1:-}" == "gateway" ]]; then
  shift
  # The LiteLLM proxy in a venv of its own; pip only when its requirements changed.
  LVENV="$HERE/.venv-litellm"
  lwant="$(sha256sum "$HERE/requirements-litellm.txt" | cut -d' ' -f1)"
  [[ -x "$LVENV/bin/python" ]] || python3 -m venv "$LVENV"
  if [[ "$(cat "$LVENV/.requirements.sha256" 2>/dev/null || true)" != "$lwant" ]]; then
    echo "bench: installing $HERE/requirements-litellm.txt into $LVENV" >&2
    "$LVENV/bin/pip" install --disable-pip-version-check -q -r "$HERE/requirements-litellm.txt"
    echo "$lwant" > "$LVENV/.requirements.sha256"
  fi
  # The mock provider is nginx (Debian package).
  if ! command -v nginx >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get install -y --no-install-recommends nginx >/dev/null 2>&1 \
      || { $SUDO apt-get update -qq && $SUDO apt-get install -y --no-install-recommends nginx; }
  fi
  exec "$VENV/bin/python" "$HERE/gateway_bench.py" "$@"
fi
if [[ "${1:-}" == "metrics" ]]; then
  shift
  exec "$VENV/bin/python" "$HERE/metrics_bench.py" "$@"
fi
if [[ "${1:-}" == "soak" ]]; then
  shift
  exec "$VENV/bin/python" "$HERE/soak.py" "$@"
fi
exec "$VENV/bin/python" "$HERE/bench.py" "$@"

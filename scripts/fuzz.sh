#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets) for a bounded time each, starting from the
# corpus in the repository (fuzz/corpus/<target>, read only: new inputs go to a scratch folder).
# A finding fails the run and is left under fuzz/artifacts/<target>/; make it a regression test.
#   scripts/fuzz.sh [seconds per target, default 30] [target ...]
# Installs cargo-fuzz when missing. Uses the nightly toolchain when rustup has one, else the
# stable one with RUSTC_BOOTSTRAP=1 (libFuzzer's coverage flags need it; no sanitizer is used,
# as Keel forbids unsafe code: the fuzzers look for panics, 5xx answers and broken invariants).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
SECONDS_PER_TARGET="${1:-30}"
shift || true

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked --version 0.13.2 >/dev/null
fi
FUZZ=(cargo fuzz)
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    FUZZ=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
fi

TARGETS=("$@")
if [ "${#TARGETS[@]}" -eq 0 ]; then
    mapfile -t TARGETS < <("${FUZZ[@]}" list)
fi

echo "building the fuzz targets (release, libFuzzer instrumentation)"
"${FUZZ[@]}" build -s none 2>&1 | tail -n 3

SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
failed=0
for target in "${TARGETS[@]}"; do
    mkdir -p "$SCRATCH/$target" "fuzz/corpus/$target"
    # The whole-app target runs a request per input: give it twice the time.
    secs="$SECONDS_PER_TARGET"
    [ "$target" = "api_routes" ] && secs=$((SECONDS_PER_TARGET * 2))
    printf '==> fuzz %s for %ss\n' "$target" "$secs"
    if "${FUZZ[@]}" run -s none "$target" "$SCRATCH/$target" "fuzz/corpus/$target" -- \
        -max_total_time="$secs" -max_len=8192 -rss_limit_mb=4096 -print_final_stats=1 \
        >"$SCRATCH/$target.log" 2>&1; then
        grep -E '^Done|stat::number_of_executed_units' "$SCRATCH/$target.log" | head -n 2
    else
        failed=1
        echo "error: fuzz target $target found a failure:" >&2
        grep -E 'panicked|-> 5|ERROR|SUMMARY|Test unit written' "$SCRATCH/$target.log" | head -n 20 >&2
    fi
done
if [ "$failed" -ne 0 ]; then
    echo "error: fuzzing found failures; the inputs are under fuzz/artifacts/" >&2
    exit 1
fi
echo "fuzzing found nothing"

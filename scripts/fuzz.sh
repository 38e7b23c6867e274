#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time each (default 60 s):
#   scripts/fuzz.sh [SECONDS]
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a nightly toolchain for
# libFuzzer's sanitizer flags; without a nightly, RUSTC_BOOTSTRAP=1 lets the
# stable compiler take them. A crash stops the script with libFuzzer's report
# and the input under fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-60}"
if rustup run nightly rustc --version >/dev/null 2>&1; then
    fuzz=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
fi
mkdir -p corpus
for target in scenario duration size cookie head answer resp; do
    mkdir -p "corpus/$target"
    if [ "$target" = scenario ]; then
        # Seed the scenario target with the bundled scenarios and the bad-input corpus.
        cp ../scenarios/*.toml ../tests/fixtures/bad/*.toml "corpus/$target/" 2>/dev/null || true
    fi
    echo "== $target (${secs} s)"
    log="$(mktemp)"
    if ! "${fuzz[@]}" run "$target" "corpus/$target" -- -max_total_time="$secs" >"$log" 2>&1; then
        tail -40 "$log" >&2
        echo "fuzz target $target failed: see fuzz/artifacts/$target/" >&2
        exit 1
    fi
    # libFuzzer's closing lines: executions, speed, corpus.
    grep -E "^(#[0-9]+[[:space:]]+DONE|Done [0-9]+ runs)" "$log" || tail -3 "$log"
    rm -f "$log"
done
echo "== every target ran ${secs} s without a crash"

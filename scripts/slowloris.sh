#!/usr/bin/env bash
# Slowloris figure (not in CI; tests/suite/slowloris.rs is the test):
# `stratus serve steady-state` with its default limits (or the serve flags
# given, such as --max-conns 4096 or --head-timeout 5s), 3,000 connections
# (N=…) that send half a request head and stall, and `stratus load` shoppers
# through the same balancer for 20 s (SECS=…) while they are open. Prints how
# long the stalled connections stayed open before the server closed them and
# what the shoppers got.   scripts/slowloris.sh [SERVE FLAGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${N:-3000}"
source scripts/need.sh
source scripts/serving.sh
need curl:curl python3:python3
echo "== cargo test --no-run (the suite's optimised binary)"
cargo test --quiet --no-run
bin="${CARGO_TARGET_DIR:-target}/debug/stratus"
work="$(mktemp -d)"
pid=""
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
# Both ends of every stalled connection are open at once.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((n + 1000)) ]; then
    echo "slowloris.sh: the open-file limit ($(ulimit -n)) is under N + 1000; raise it (ulimit -n) or lower N" >&2
    exit 1
fi
lb=$(port); adm=$(port)
"$bin" serve steady-state --listen "127.0.0.1:$lb" --admin "127.0.0.1:$adm" --token slow "$@" \
    2>"$work/serve.err" &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$lb/" >/dev/null && break; sleep 0.1; done
grep -E "lanes|conns" "$work/serve.err" | sed 's/^/  /'
echo "== slowloris: $n stalled connections, serve ${*:-with its default limits} ($(nproc) cores)"
python3 scripts/slowloris.py "$bin" "127.0.0.1:$lb" "$n" "${SECS:-20}"
kill -0 "$pid" && echo "  the server is still running"

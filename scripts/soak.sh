#!/usr/bin/env bash
# Soak (not in CI: too long): `stratus serve az-outage` under wrk at
# saturation for MINUTES (default 10), in 30 s windows; at the start of each
# window an AZ is killed through the admin API and 15 s later restored.
# Samples the server's RSS (VmRSS) and open file descriptors at the start,
# after the first minute, at the end of the load and once the fleet is back
# to its size and the idle keep-alive connections have timed out (60 s by
# default: --head-timeout and --upstream-idle). Prints wrk's errors per
# window (non-2xx answers, socket errors) and the targets:
#   0 crashes; RSS growth after the first minute under 10 %; open fds back
#   to the start's count once the load stops.
# Exits 1 when a target is missed.  scripts/soak.sh [MINUTES]
# Needs wrk, curl and python3 (installed from Debian packages when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
mins="${1:-10}"
conns="${CONNS:-64}"
source scripts/need.sh
need wrk:wrk curl:curl python3:python3

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

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
lb=$(free_port); adm=$(free_port)
"$bin" serve az-outage --listen "127.0.0.1:$lb" --admin "127.0.0.1:$adm" --token soak \
    2>"$work/serve.err" &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$lb/" >/dev/null && break; sleep 0.1; done
admin() { curl -sf -H 'Authorization: Bearer soak' "$@"; }
state() { admin "http://127.0.0.1:$adm/admin/state"; }
# The nodes in service and healthy, from the typed snapshot.
serving() {
    state | python3 -c 'import json,sys
s = json.load(sys.stdin)
print(sum(1 for n in s["nodes"] if n["state"] == "inservice" and n["health"] == "healthy"))'
}
az=$(state | python3 -c 'import json,sys; print(json.load(sys.stdin)["azs"][1]["name"])')
act() { admin -X POST "http://127.0.0.1:$adm/admin/az/$az/$1" >/dev/null || echo "  ($1 $az refused)"; }

alive() { kill -0 "$pid" 2>/dev/null; }
sample() {
    local rss fds
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
    fds=$(ls "/proc/$pid/fd" | wc -l)
    echo "$1 $rss $fds" >> "$work/samples"
    printf '  %-22s RSS %7d KiB  fds %5d\n' "$1" "$rss" "$fds"
}

sleep 2
base_nodes=$(serving)
echo "== soak: $mins min of wrk -t2 -c$conns against the balancer, $az killed and restored every 30 s ($(nproc) cores)"
sample start
windows=$((mins * 2))
: > "$work/windows"
for w in $(seq 1 "$windows"); do
    (act kill; sleep 15; act restore) &
    actions=$!
    wrk -t2 -c"$conns" -d30s "http://127.0.0.1:$lb/" > "$work/wrk" 2>&1 || true
    wait "$actions" || true
    python3 - "$work/wrk" "$w" >> "$work/windows" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
reqs = re.search(r"(\d+) requests in", t)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
p99 = re.search(r"99%\s+(\S+)", t)
errs = sum(map(int, sock.groups())) if sock else 0
print(sys.argv[2], reqs.group(1) if reqs else 0, non2xx.group(1) if non2xx else 0, errs)
PY
    tail -1 "$work/windows" | awk '{printf "  window %2d (%4d-%4d s): %7d requests, %5d non-2xx, %4d socket errors\n", $1, ($1-1)*30, $1*30, $2, $3, $4}'
    if ! alive; then echo "  the server died in window $w"; break; fi
    [ "$w" = 2 ] && sample "after 1 min"
done
crashed=0
if alive; then
    sample "end of load"
    # The group replaces and rebalances on its own clock: wait for the
    # fleet's size at the start, then for the idle connections' timeouts.
    for _ in $(seq 300); do [ "$(serving)" = "$base_nodes" ] && break; sleep 1; done
    sleep "${SETTLE:-75}"
    sample "after load, settled"
    echo "  nodes in service: $(serving) (at the start: $base_nodes)"
else
    crashed=1
    tail -20 "$work/serve.err"
fi

python3 - "$work/samples" "$work/windows" "$crashed" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
by = {" ".join(r[:-2]): (int(r[-2]), int(r[-1])) for r in rows}
wins = [list(map(int, l.split())) for l in open(sys.argv[2])]
crashed = sys.argv[3] == "1"
reqs = sum(w[1] for w in wins); bad = sum(w[2] + w[3] for w in wins)
print(f"== {len(wins)} windows: {reqs} requests, {bad} errors ({100.0 * bad / max(reqs, 1):.2f} %)")
ok = True
print(f"  crashes: {int(crashed)} (target 0)")
ok &= not crashed
if "after 1 min" in by and "end of load" in by:
    r1, re_ = by["after 1 min"][0], by["end of load"][0]
    growth = 100.0 * (re_ - r1) / r1
    print(f"  RSS after 1 min {r1} KiB, at the end {re_} KiB: {growth:+.1f} % (target < 10 %)")
    ok &= growth < 10.0
else:
    ok = False
if "start" in by and "after load, settled" in by:
    f0, f1 = by["start"][1], by["after load, settled"][1]
    print(f"  open fds at the start {f0}, after the load {f1} (target <= {f0})")
    ok &= f1 <= f0
else:
    ok = False
print("== soak: every target met" if ok else "== soak: a target was missed")
sys.exit(0 if ok else 1)
PY

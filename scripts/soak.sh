#!/usr/bin/env bash
# Soak (not in CI: too long): `stratus serve az-outage` under wrk at
# saturation for MINUTES (default 10), in 30 s windows; at the start of each
# window an AZ is killed through the admin API and 15 s later restored, the
# next AZ in each window. The scenario's group is made fast (launch_time 5 s,
# health checks every 2 s, 2 to pass or fail, deregistration delay 5 s), so
# each kill's replacements and each restore's rebalance happen inside the
# window: with its 90 s launches and 10 s checks the fleet would never come
# back between kills (SCENARIO=FILE serves a file as it is).
# Samples the server's RSS (VmRSS) and open file descriptors at the start,
# after the first minute, at the end of the load and once the fleet is back
# settled (nothing launching or draining) and the idle keep-alive
# connections have timed out (60 s by default: --head-timeout and
# --upstream-idle). Prints wrk's errors per
# window (non-2xx answers, socket errors) and the targets:
#   0 crashes; RSS growth after the first minute under 10 %; open fds back
#   to the start's count once the load stops (plus one per node listening
#   beyond the start's: the fleet may end larger, each node holds a listener).
# Exits 1 when a target is missed.  scripts/soak.sh [MINUTES]
# Needs wrk, curl and python3 (installed from Debian packages when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
mins="${1:-10}"
conns="${CONNS:-64}"
source scripts/need.sh
source scripts/serving.sh
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

lb=$(port); adm=$(port)
scenario="${SCENARIO:-}"
if [ -z "$scenario" ]; then
    scenario="$work/az-outage-soak.toml"
    sed -e 's/^name = "az-outage"/name = "az-outage-soak"/' \
        -e 's/^health_check = .*/health_check = { interval = "2s", timeout = "1s", healthy_threshold = 2, unhealthy_threshold = 2 }\nderegistration_delay = "5s"/' \
        -e 's/^max = 12$/max = 12\nlaunch_time = "5s"/' scenarios/az-outage.toml > "$scenario"
fi
"$bin" serve "$scenario" --listen "127.0.0.1:$lb" --admin "127.0.0.1:$adm" --token soak \
    2>"$work/serve.err" &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$lb/" >/dev/null && break; sleep 0.1; done
admin() { curl -sf -H 'Authorization: Bearer soak' "$@"; }
state() { admin "http://127.0.0.1:$adm/admin/state"; }
# From the typed snapshot: the nodes that hold a listener (each one fd), and
# whether the fleet is settled (nothing launching or draining).
listening() {
    state | python3 -c 'import json,sys
s = json.load(sys.stdin)
print(sum(1 for n in s["nodes"] if n["state"] not in ("dead", "terminated")))'
}
settled() {
    state | python3 -c 'import json,sys
s = json.load(sys.stdin)
sys.exit(any(n["state"] in ("launching", "draining") for n in s["nodes"]))'
}
mapfile -t azs < <(state | python3 -c 'import json,sys; print("\n".join(a["name"] for a in json.load(sys.stdin)["azs"]))')
act() { admin -X POST "http://127.0.0.1:$adm/admin/az/$2/$1" >/dev/null || echo "  ($1 $2 refused)"; }

alive() { kill -0 "$pid" 2>/dev/null; }
sample() {
    local rss fds nodes
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
    fds=$(ls "/proc/$pid/fd" | wc -l)
    nodes=$(listening)
    echo "$1 $rss $fds $nodes" >> "$work/samples"
    printf '  %-22s RSS %7d KiB  fds %5d  nodes listening %2d\n' "$1" "$rss" "$fds" "$nodes"
}

sleep 2
echo "== soak: $(basename "$scenario"), $mins min of wrk -t2 -c$conns against the balancer, an AZ (${azs[*]} in turn) killed and restored every 30 s ($(nproc) cores)"
sample start
windows=$((mins * 2))
: > "$work/windows"
for w in $(seq 1 "$windows"); do
    az=${azs[$(( (w - 1) % ${#azs[@]} ))]}
    (act kill "$az"; sleep 15; act restore "$az") &
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
    if ! alive; then echo "  the server died in window $w"; break; fi
    tail -1 "$work/windows" | awk -v az="$az" -v rss="$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")" -v fds="$(ls "/proc/$pid/fd" | wc -l)" \
        '{printf "  window %2d (%4d-%4d s, %s killed): %7d requests, %5d non-2xx, %4d socket errors; RSS %6d KiB, fds %4d\n", $1, ($1-1)*30, $1*30, az, $2, $3, $4, rss, fds}'
    [ "$w" = 2 ] && sample "after 1 min"
done
crashed=0
if alive; then
    sample "end of load"
    # The group replaces and rebalances on its own clock: wait until nothing
    # launches or drains, then for the idle connections' timeouts (60 s).
    for _ in $(seq 150); do settled && break; sleep 2; done
    sleep "${SETTLE:-75}"
    sample "after load, settled"
else
    crashed=1
    tail -20 "$work/serve.err"
fi

python3 - "$work/samples" "$work/windows" "$crashed" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
by = {" ".join(r[:-3]): tuple(map(int, r[-3:])) for r in rows}
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
    (_, f0, n0), (_, f1, n1) = by["start"], by["after load, settled"]
    # Each node listening holds one fd: the fleet may end a different size.
    base = f0 + (n1 - n0)
    print(f"  open fds at the start {f0} with {n0} nodes listening, after the load {f1} with {n1}"
          f" (target <= {base}: the start's plus one per node more)")
    ok &= f1 <= base
else:
    ok = False
print("== soak: every target met" if ok else "== soak: a target was missed")
sys.exit(0 if ok else 1)
PY

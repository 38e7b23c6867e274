#!/usr/bin/env bash
# Live-mode benchmark (not a test; not in CI): the load balancer against one
# node hit directly and against nginx as a round-robin proxy with upstream
# keepalive to the same nodes (wrk -c50), and the RESP store against
# redis-server (redis-benchmark -c 50 -t get,set, then with -P 16). Prints
# the four ratios the README quotes. Installs wrk, nginx, redis-server and
# redis-benchmark when missing (scripts/need.sh).
# DURATION=10s and ROUNDS=5 by default; everything runs on loopback on this
# machine, the balancer with `serve`'s default lanes (LANES=N to change).
set -euo pipefail
cd "$(dirname "$0")/.."
dur="${DURATION:-10s}"
n="${REQUESTS:-300000}"
source scripts/need.sh
source scripts/serving.sh
need wrk:wrk nginx:nginx redis-server:redis-server redis-benchmark:redis-tools curl:curl
cargo build --release --quiet
bin="$PWD/target/release/stratus"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

lb=$(port); adm=$(port); resp=$(port); rport=$(port); ngx=$(port)

# cookie sessions: no stickiness, so the balancer spreads wrk's requests like nginx does.
"$bin" serve steady-state --strategy cookie ${LANES:+--lanes "$LANES"} --listen "127.0.0.1:$lb" --admin "127.0.0.1:$adm" \
    --token bench --resp "127.0.0.1:$resp" 2>"$work/serve.err" &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$lb/" >/dev/null && break; sleep 0.1; done
nodes=$(curl -sf -H 'Authorization: Bearer bench' "http://127.0.0.1:$adm/admin/state" \
    | python3 -c 'import json,sys; print(" ".join(n["addr"] for n in json.load(sys.stdin)["nodes"]))')
first=${nodes%% *}

mkdir -p "$work/nginx/logs"
{
    echo "worker_processes auto; pid $work/nginx/nginx.pid; error_log $work/nginx/error.log;"
    echo "events { worker_connections 4096; }"
    echo "http { access_log off; upstream nodes {"
    for a in $nodes; do echo "  server $a;"; done
    echo "  keepalive 64; }"
    echo "  server { listen 127.0.0.1:$ngx; location / { proxy_pass http://nodes;"
    echo "    proxy_http_version 1.1; proxy_set_header Connection \"\"; } } }"
} > "$work/nginx.conf"
nginx -c "$work/nginx.conf" -p "$work/nginx" -g 'daemon off;' &
pids+=($!)

redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
pids+=($!)
sleep 0.5

rps_wrk() { wrk -t2 -c50 -d"$dur" --latency "$1" | awk '/Requests\/sec/ {print $2}'; }
rps_rb() { redis-benchmark -p "$1" -c 50 -n "$n" -t get,set -q "${@:2}" 2>/dev/null | tr '\r' '\n' \
    | awk '/requests per second/ {for (i=1;i<=NF;i++) if ($i=="requests") {s+=$(i-1); c++}} END {printf "%.0f\n", s/c}'; }

# The machine's own noise moves one run by 10 % or more, so every comparison
# alternates its two sides for $rounds rounds and the ratios use medians.
rounds="${ROUNDS:-5}"
echo "== wrk -t2 -c50 -d$dur, $rounds alternating rounds ($(nproc) cores, $("$bin" --version))"
: > "$work/wrk"
for r in $(seq "$rounds"); do
    node=$(rps_wrk "http://$first/"); lbr=$(rps_wrk "http://127.0.0.1:$lb/"); ng=$(rps_wrk "http://127.0.0.1:$ngx/")
    echo "round $r: one node $node, stratus balancer $lbr, nginx $ng req/s"
    echo "$node $lbr $ng" >> "$work/wrk"
done
echo "== redis-benchmark -c 50 -t get,set -n $n (mean of GET and SET), $rounds alternating rounds"
: > "$work/rb"
for r in $(seq "$rounds"); do
    rs=$(rps_rb "$rport"); ss=$(rps_rb "$resp"); rsp=$(rps_rb "$rport" -P 16); ssp=$(rps_rb "$resp" -P 16)
    echo "round $r: redis-server $rs, stratus --resp $ss, -P 16: redis-server $rsp, stratus $ssp req/s"
    echo "$rs $ss $rsp $ssp" >> "$work/rb"
done
echo "== medians and ratios (target)"
python3 - "$work/wrk" "$work/rb" <<'PY'
import statistics as st, sys
w = [list(map(float, l.split())) for l in open(sys.argv[1])]
b = [list(map(float, l.split())) for l in open(sys.argv[2])]
med = lambda rows, i: st.median(r[i] for r in rows)
for name, rows, i in [("one node", w, 0), ("stratus balancer", w, 1), ("nginx round robin", w, 2),
                      ("redis-server", b, 0), ("stratus --resp", b, 1),
                      ("redis-server -P 16", b, 2), ("stratus --resp -P 16", b, 3)]:
    print(f"{name:22} {med(rows, i):>11,.0f} req/s")
for name, rows, a, z, t in [("balancer / one node", w, 1, 0, 0.5), ("balancer / nginx", w, 1, 2, 1.0),
                            ("resp / redis", b, 1, 0, 0.9), ("resp / redis, -P 16", b, 3, 2, 0.7)]:
    r = med(rows, a) / med(rows, z)
    each = [x[a] / x[z] for x in rows]
    print(f"{name:22} {r:5.2f}  (rounds {min(each):.2f}-{max(each):.2f}; target >= {t}) {'met' if r >= t else 'NOT met'}")
PY

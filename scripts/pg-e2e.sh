#!/usr/bin/env bash
# `stratus serve --db postgres` end to end (README, "Real engines"): the
# db-failover lesson on a short clock (tests/fixtures/engines/
# db-failover-short.toml) on real PostgreSQL servers, under `stratus load`
# with the primary's AZ killed mid-run. Checks, against the servers:
#   - checkout's writes fail during the promotion window (each waits the
#     driver's connect timeout on the dead primary, then the shopper tries
#     again, as in the simulation), and checkouts succeed after it (orders
#     the promoted primary holds were placed after the promotion);
#   - psql on the promoted primary counts exactly the orders the shop saw
#     committed (plus any COMMIT whose answer never came, counted by the
#     server as in doubt), and every order a shopper was told succeeded;
#   - the replica lag in the report was measured on the replica, above 0;
#   - after Ctrl-C no postgres process is left and the data folder is gone;
#   - the replica-lag lesson (tests/fixtures/engines/replica-lag-*.toml, the
#     two run side by side): order history read from the lagging replicas
#     misses orders the shoppers just placed, and read from the primary never.
# Installs the Debian package postgresql when missing. Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/need.sh
source scripts/serving.sh
need psql:postgresql-client python3:python3
# The server binaries live off PATH (/usr/lib/postgresql/N/bin): when none is
# there, name a tool that is never on PATH so `need` installs the package.
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    need /usr/lib/postgresql/N/bin/initdb:postgresql
fi
bin="${CARGO_TARGET_DIR:-target}/debug/stratus"
[ -x "$bin" ] || { echo "pg-e2e: $bin is not built (run cargo test --no-run first)" >&2; exit 1; }
work=$(mktemp -d)
serve_pid=
lag_pids=
cleanup() {
    [ -n "$serve_pid" ] && kill -INT "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
    # The replica-lag halves stop their own servers when their load ends.
    # shellcheck disable=SC2086
    [ -n "$lag_pids" ] && wait $lag_pids 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "pg-e2e: FAIL: $*" >&2; echo "--- serve log" >&2; tail -30 "$work/serve.log" >&2; exit 1; }

# One replica-lag half: serve FIXTURE on PostgreSQL, 15 s of stratus load,
# Ctrl-C; prints "stale-order-reads orders-committed" from the load report.
lag_half() {
    local fixture=$1 dir=$2 shop admin pid
    shop=$(port); admin=$(port)
    "$bin" serve "$fixture" --db postgres --listen "127.0.0.1:$shop" --admin "127.0.0.1:$admin" \
        --token e2e >"$dir/serve.log" 2>&1 &
    pid=$!
    # A half whose server did not come up says why, on stderr.
    wait_serving "$dir/serve.log" "$pid" || { echo "--- $fixture: serve log" >&2; tail -20 "$dir/serve.log" >&2; }
    "$bin" load "http://127.0.0.1:$shop" --scenario "$fixture" --duration 15s \
        --admin "http://127.0.0.1:$admin" --token e2e --format json --out "$dir/load.json" >/dev/null 2>&1 || true
    kill -INT "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
    python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))["database"]
print(d["stale_order_reads"], d["orders_committed"])' "$dir/load.json" 2>/dev/null || echo "none none"
}
# Both halves run beside the failover check, on servers of their own.
mkdir -p "$work/replicas" "$work/primary"
lag_half tests/fixtures/engines/replica-lag-replicas.toml "$work/replicas" >"$work/replicas/result" &
lag_pids=$!
lag_half tests/fixtures/engines/replica-lag-primary.toml "$work/primary" >"$work/primary/result" &
lag_pids="$lag_pids $!"

shop=$(port); admin=$(port)
scenario=tests/fixtures/engines/db-failover-short.toml
"$bin" serve "$scenario" --db postgres --listen "127.0.0.1:$shop" --admin "127.0.0.1:$admin" \
    --token e2e >"$work/serve.log" 2>&1 &
serve_pid=$!
wait_serving "$work/serve.log" "$serve_pid" || fail "serve did not come up"
base=$(sed -n 's/^postgres primary listens on .* (\(.*\)\/primary)$/\1/p' "$work/serve.log")
standby_port=$(sed -n 's/^postgres standby listens on 127.0.0.1:\([0-9]*\) .*/\1/p' "$work/serve.log")
[ -n "$base" ] && [ -n "$standby_port" ] || fail "no primary/standby lines in the serve log"

echo "== stratus load (30 s; us-east-1a, the primary's AZ, dies at 12 s)"
"$bin" load "http://127.0.0.1:$shop" --scenario "$scenario" --duration 30s \
    --admin "http://127.0.0.1:$admin" --token e2e --format json --out "$work/load.json"
grep -q "promoted (pg_promote)" "$work/serve.log" || fail "the standby was never promoted"
promoted_at=$(sed -n 's/^\[ *\([0-9.]*\)s\] db_failover .*/\1/p' "$work/serve.log")
in_doubt=$(curl -s -H "Authorization: Bearer e2e" "http://127.0.0.1:$admin/admin/database" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["commits_in_doubt"])')
sql() { psql -h 127.0.0.1 -p "$standby_port" -U stratus -d postgres -tAc "$1"; }
in_primary=$(sql "SELECT count(*) FROM orders")
after=$(sql "SELECT count(*) FROM orders WHERE placed_ns > ${promoted_at/./}000000")
read -r ok failed committed writes_failed lag p50 p99 lag_n <<<"$(python3 -c '
import json,sys; r=json.load(open(sys.argv[1]))
d=r["database"]; c=r["checkouts"]; l=d["replica_lag_ms"]
print(c["ok"], c["failed"], d["orders_committed"], d["failed_writes"], l["max"], l["p50"], l["p99"], l["applied"])' "$work/load.json")"
echo "checkouts ok $ok, failed $failed; orders committed $committed; failed writes $writes_failed; psql on the promoted primary: $in_primary orders ($after after the promotion at ${promoted_at}s); in doubt $in_doubt; replica lag p50 $p50, p99 $p99, max $lag ms over $lag_n samples"
[ "$writes_failed" -ge 1 ] || fail "no write failed during the promotion window"
[ "$after" -ge 1 ] || fail "no order was placed after the promotion"
# A checkout whose answer comes after the load's end is committed but not
# counted ok, as a simulated run ends with it unanswered (one did in a CI
# run: 74 orders held, 73 told): the shop's own count of COMMITs bounds the
# orders exactly, give or take those in doubt, and the shoppers' count
# bounds the COMMITs from below.
[ "$committed" -ge "$ok" ] || fail "the shop committed $committed orders; shoppers were told $ok"
[ "$in_primary" -ge "$committed" ] && [ "$in_primary" -le $((committed + in_doubt)) ] ||
    fail "the promoted primary holds $in_primary orders; the shop committed $committed (in doubt $in_doubt)"
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)' "$lag" ||
    fail "replica lag was not measured above zero"

echo "== Ctrl-C: nothing left running, the data folder removed"
kill -INT "$serve_pid"
wait "$serve_pid" || true
serve_pid=
if pgrep -f -- "-D $base/" >/dev/null; then fail "postgres processes left running under $base"; fi
[ ! -e "$base" ] || fail "$base was not removed"

echo "== the replica-lag lesson on PostgreSQL: order history from the replicas and from the primary"
# shellcheck disable=SC2086
wait $lag_pids
read -r stale_r orders_r <"$work/replicas/result"
read -r stale_p orders_p <"$work/primary/result"
echo "read_from = replicas: $stale_r stale order-history reads, $orders_r orders; read_from = primary: $stale_p stale, $orders_p orders"
[ "$orders_r" != none ] || { tail -20 "$work/replicas/serve.log" >&2; fail "the replicas run gave no report"; }
[ "$orders_p" != none ] || { tail -20 "$work/primary/serve.log" >&2; fail "the primary run gave no report"; }
[ "$orders_r" -ge 1 ] && [ "$orders_p" -ge 1 ] || fail "a replica-lag run placed no order"
[ "$stale_r" -ge 1 ] || fail "order history from the lagging replicas missed no fresh order"
[ "$stale_p" -eq 0 ] || fail "order history from the primary missed $stale_p fresh orders"
echo "pg-e2e: 2 passed, 0 failed"

#!/usr/bin/env bash
# `stratus serve --strategy store --store redis` end to end (README, "Real
# engines"): az-outage with the store primary's AZ killed mid-run, on a short
# clock (tests/fixtures/engines/store-failover-short.toml), on real Redis
# servers and three Sentinels, under `stratus load`. Checks:
#   - Sentinel promoted a replica in a surviving AZ (serve log and GET
#     /admin/store);
#   - carts lost (the shoppers' ground truth) are at most the writes inside
#     the replication window that GET /admin/store measured at the kill;
#   - the shop serves again without a restart: after the promotion checkouts
#     succeed, and a cart added now is on the promoted primary (redis-cli GET);
#   - after Ctrl-C no Redis server or Sentinel answers on its port and the
#     folder is gone.
# Installs the Debian packages redis-server and redis-tools when missing.
# Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/need.sh
source scripts/serving.sh
need redis-server:redis-server redis-cli:redis-tools python3:python3 curl:curl
bin="${CARGO_TARGET_DIR:-target}/debug/stratus"
[ -x "$bin" ] || { echo "redis-e2e: $bin is not built (run cargo test --no-run first)" >&2; exit 1; }
work=$(mktemp -d)
serve_pid=
cleanup() {
    [ -n "$serve_pid" ] && kill -INT "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "redis-e2e: FAIL: $*" >&2; echo "--- serve log" >&2; tail -40 "$work/serve.log" >&2; exit 1; }

shop=$(port); admin=$(port)
scenario=tests/fixtures/engines/store-failover-short.toml
"$bin" serve "$scenario" --strategy store --store redis --listen "127.0.0.1:$shop" \
    --admin "127.0.0.1:$admin" --token e2e >"$work/serve.log" 2>&1 &
serve_pid=$!
wait_serving "$work/serve.log" "$serve_pid" || fail "serve did not come up"
base=$(sed -n 's/^  store  sessions on redis-server, .*; files in \(.*\))$/\1/p' "$work/serve.log")
ports=$(sed -n 's/^\(redis\|sentinel\)-.* listens on 127.0.0.1:\([0-9]*\) .*/\2/p' "$work/serve.log")
[ -n "$base" ] && [ "$(echo "$ports" | wc -w)" -eq 6 ] || fail "expected 3 servers and 3 Sentinels in the serve log"
store() { curl -s -H "Authorization: Bearer e2e" "http://127.0.0.1:$admin/admin/store"; }

echo "== stratus load (30 s; us-east-1b, the store primary's AZ, dies at 10 s)"
"$bin" load "http://127.0.0.1:$shop" --scenario "$scenario" --duration 30s \
    --admin "http://127.0.0.1:$admin" --token e2e --format json --out "$work/load.json"
grep -q "sentinel_promoted" "$work/serve.log" || fail "Sentinel never promoted a replica"
store >"$work/store.json"
read -r promoted promoted_az promoted_port killed_at promoted_at window window_ms acked \
    lost items ok failed p50 pmax total rfailed abandoned <<<"$(python3 -c '
import json,sys
s=json.load(open(sys.argv[1])); r=json.load(open(sys.argv[2]))
p=s["promotions"][-1]; k=s["kills"][0]; l=s["replication_lag_bytes"]
print(p["server"], p["az"], p["port"], k["t_s"], p["t_s"], k["window_writes"], k["window_ms"],
      k["writes_acked"], r["shoppers"]["carts_lost"], r["shoppers"]["items_lost"],
      r["checkouts"]["ok"], r["checkouts"]["failed"], l["p50"], l["max"],
      r["requests"]["total"], r["requests"]["failed"], r["shoppers"]["abandoned_with_items"])' "$work/store.json" "$work/load.json")"
echo "Sentinel promoted $promoted ($promoted_az) at ${promoted_at}s, $(python3 -c "print(round($promoted_at-$killed_at,3))") s after the kill at ${killed_at}s"
echo "replication window at the kill: $window of $acked acknowledged writes, ${window_ms} ms; replicas behind by p50 $p50, max $pmax bytes"
echo "carts lost $lost ($items items), abandoned with items $abandoned; checkouts ok $ok, failed $failed; requests failed $rfailed of $total"
[ "$promoted_az" != "us-east-1b" ] || fail "the promoted server is in the dead AZ"
[ "$lost" -le "$window" ] || fail "$lost carts lost, more than the $window writes inside the replication window"

echo "== the shop serves again, on the promoted primary, without a restart"
jar="$work/jar"
curl -s -c "$jar" -b "$jar" -o /dev/null -w '%{http_code}\n' -X POST \
    -d 'product=3&size=1&colour=2' "http://127.0.0.1:$shop/cart/add" | grep -q 303 ||
    fail "adding to a cart after the promotion failed"
sid=$(awk '$6 == "sid" {print $7}' "$jar")
[ -n "$sid" ] || fail "no session cookie"
redis-cli -p "$promoted_port" GET "session:$sid" | grep -q '"product":3' ||
    fail "the cart is not on the promoted primary (redis-cli -p $promoted_port GET session:$sid)"
curl -s -c "$jar" -b "$jar" -H 'Accept: application/json' -X POST \
    "http://127.0.0.1:$shop/checkout" | grep -q '"ordered":true' || fail "checkout after the promotion failed"

echo "== Ctrl-C: nothing left running, the folder removed"
kill -INT "$serve_pid"
wait "$serve_pid" || true
serve_pid=
for p in $ports; do
    if redis-cli -p "$p" PING >/dev/null 2>&1; then fail "something still answers on 127.0.0.1:$p"; fi
done
[ ! -e "$base" ] || fail "$base was not removed"
echo "redis-e2e: 1 passed, 0 failed"

#!/usr/bin/env bash
# The crowd run (#18; not in CI: about a minute): benches/crowd.toml, about
# 860,000 shoppers in the shop at once by its end, once per strategy given
# (default: sticky store). Checks the targets:
#   peak RSS above the baseline of a small run (steady-state), per shopper
#   still in the shop at the end: at most 300 bytes;
#   at least 1.5 million simulated requests per wall-second. This one needs
#   a quiet machine: on a shared host the same build can miss it.
# Prints each run's figures. Exits 1 when a target is missed.
#   scripts/crowd.sh [STRATEGY...]
# STRATUS=BINARY measures that binary instead of building one, such as the
# profile-guided build: STRATUS=target/pgo/release/stratus after
# scripts/pgo.sh.
# Needs GNU time and python3 (installed from Debian packages when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
strategies=("$@")
[ ${#strategies[@]} -gt 0 ] || strategies=(sticky store)
source scripts/need.sh
need /usr/bin/time:time python3:python3

if [ -n "${STRATUS:-}" ]; then
    bin="$STRATUS"
else
    echo "== cargo build --release"
    cargo build --release --quiet
    bin="${CARGO_TARGET_DIR:-target}/release/stratus"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

/usr/bin/time -f '%M' -o "$work/base" "$bin" run steady-state --format json >/dev/null
for s in "${strategies[@]}"; do
    /usr/bin/time -f '%M' -o "$work/rss-$s" \
        "$bin" run benches/crowd.toml --strategy "$s" --format json >"$work/$s.json"
done

python3 - "$work" "${strategies[@]}" <<'PY'
import json, sys
work, strategies = sys.argv[1], sys.argv[2:]
kib = lambda name: int(open(f"{work}/{name}").read().split()[-1])
base = kib("base")
print(f"baseline (steady-state): peak RSS {base:,} KiB")
failed = False
for s in strategies:
    r = json.load(open(f"{work}/{s}.json"))
    rss = kib(f"rss-{s}")
    shoppers = r["shoppers"]["started"] - r["shoppers"]["finished"]
    per = (rss - base) * 1024 / shoppers
    speed = r["wall"]["sim_requests_per_second"]
    print(f"{s}: {r['requests']['total']:,} requests in {r['wall']['seconds']:.2f} s "
          f"({speed / 1e6:.2f} M/s), peak RSS {rss:,} KiB, {shoppers:,} shoppers in the shop: "
          f"{per:.1f} bytes a shopper above the baseline")
    if per > 300:
        print(f"  FAIL: more than 300 bytes a shopper"); failed = True
    if speed < 1.5e6:
        print(f"  FAIL: under 1.5 million requests a second"); failed = True
sys.exit(1 if failed else 0)
PY

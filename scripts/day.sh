#!/usr/bin/env bash
# The day-long run (#18; not in CI: about ten minutes): benches/day.toml, 24
# simulated hours at about 2,000 requests a second (about 175 million
# requests), run twice with its per-second series. Checks the targets:
#   both runs complete, with 86,400 rows of series;
#   peak RSS under 1 GiB (GNU time's %M);
#   the same bytes for the same seed (the reports outside `wall`).
# Prints each run's wall time, requests per wall-second and peak RSS.
# Exits 1 when a target is missed.  scripts/day.sh [STRATEGY]
# Needs GNU time and python3 (installed from Debian packages when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
strategy="${1:-sticky}"
source scripts/need.sh
need /usr/bin/time:time python3:python3

echo "== cargo test --no-run (the suite's optimised binary)"
cargo test --quiet --no-run
bin="${CARGO_TARGET_DIR:-target}/debug/stratus"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for i in 1 2; do
    /usr/bin/time -f '%M' -o "$work/rss$i" \
        "$bin" run benches/day.toml --strategy "$strategy" --format json --series >"$work/day$i.json"
done

python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
failed = False
reports = []
for i in (1, 2):
    r = json.load(open(f"{work}/day{i}.json"))
    rss_kib = int(open(f"{work}/rss{i}").read().split()[-1])
    w = r.pop("wall")
    reports.append(json.dumps(r, sort_keys=True))
    rows = len(r["series"])
    print(f"run {i}: {r['requests']['total']:,} requests in {w['seconds']:.1f} s "
          f"({w['sim_requests_per_second'] / 1e6:.2f} M/s), peak RSS {rss_kib / 1024:.0f} MiB, "
          f"{rows:,} series rows, shoppers started {r['shoppers']['started']:,}")
    if rows != 86_400:
        print(f"  FAIL: {rows} series rows, expected 86,400"); failed = True
    if rss_kib >= 1024 * 1024:
        print("  FAIL: peak RSS not under 1 GiB"); failed = True
if reports[0] != reports[1]:
    print("FAIL: the two runs differ outside wall"); failed = True
else:
    print("same bytes outside wall: yes")
sys.exit(1 if failed else 0)
PY

#!/usr/bin/env bash
# The browser pages in real headless Chromium, driven over the DevTools
# protocol by scripts/web_e2e.py (Python's standard library, no driver, no
# Node): the HTML report of `compare az-outage` shows the JSON report's carts
# lost and fetches nothing; the dashboard of `stratus serve` kills an AZ from
# its button, shows the nodes dead as /admin/state does, and a curl shopper's
# cart is lost under sticky and kept under store; `run az-outage --web` and
# `compare az-outage --web` (played at x10000, from the page's speed control
# for compare) end with the batch reports' carts lost on the page. Installs chromium, curl and
# python3 with apt-get when missing. Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/need.sh
need curl:curl chromium:chromium python3:python3

# The suite's optimised binary (the test profile), as .ci/run builds it.
cargo test --quiet --no-run 2>/dev/null || cargo test --quiet --no-run
bin="${CARGO_TARGET_DIR:-target}/debug/stratus"
python3 scripts/web_e2e.py "$bin" "$(command -v chromium)" "$@"

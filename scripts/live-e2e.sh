#!/usr/bin/env bash
# The live mode against real outside tools (tests/suite/live_tools.rs): curl with a
# cookie jar and the admin API (sticky loses the cart, store keeps it),
# headless Chromium adding an item and reading the cart page back, redis-cli
# through --resp, wrk against the load balancer, and --store-url against a
# real redis-server. Installs the Debian packages it needs when missing
# (apt-get, with sudo only when not root), then runs the tests with
# STRATUS_E2E=1 so a missing tool fails instead of skipping. Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/need.sh
need curl:curl chromium:chromium redis-cli:redis-tools redis-server:redis-server wrk:wrk

echo "== cargo test --test suite live_tools:: (STRATUS_E2E=1)"
STRATUS_E2E=1 cargo test --quiet --test suite live_tools::

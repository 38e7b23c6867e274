#!/usr/bin/env bash
# The live mode against real outside tools (tests/live_tools.rs): curl with a
# cookie jar and the admin API (sticky loses the cart, store keeps it),
# headless Chromium adding an item and reading the cart page back, redis-cli
# through --resp, wrk against the load balancer, and --store-url against a
# real redis-server. Installs the Debian packages it needs when missing
# (apt-get, with sudo only when not root), then runs the tests with
# STRATUS_E2E=1 so a missing tool fails instead of skipping. Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

# command -> Debian package
declare -A pkg=(
    [curl]=curl [chromium]=chromium [redis-cli]=redis-tools
    [redis-server]=redis-server [wrk]=wrk
)
missing=()
for tool in "${!pkg[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("${pkg[$tool]}")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "== installing ${missing[*]} with apt-get"
    if [ "$(id -u)" = 0 ]; then
        sudo=()
    elif command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "live-e2e: ${missing[*]} not installed and this user cannot install them (not root, no sudo)" >&2
        exit 1
    fi
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "== cargo test --test live_tools (STRATUS_E2E=1)"
STRATUS_E2E=1 cargo test --quiet --test live_tools

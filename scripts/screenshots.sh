#!/usr/bin/env bash
# Remakes docs/report.png and docs/dashboard.png (the README's pictures of the
# HTML report and the web dashboard) at 1280x800 in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/need.sh
need curl:curl chromium:chromium python3:python3
cargo test --quiet --no-run
bin="${CARGO_TARGET_DIR:-target}/debug/stratus"
python3 scripts/screenshots.py "$bin" "$(command -v chromium)"

#!/usr/bin/env bash
# Remakes docs/report.png, docs/dashboard.png and docs/compare-web.png (the
# README's pictures of the HTML report, the web dashboard of `stratus serve`
# and of `compare --web`) at 1280x800 in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/need.sh
need curl:curl chromium:chromium python3:python3
cargo test --quiet --no-run
bin="${CARGO_TARGET_DIR:-target}/debug/stratus"
python3 scripts/screenshots.py "$bin" "$(command -v chromium)"

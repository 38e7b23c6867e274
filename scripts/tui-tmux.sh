#!/usr/bin/env bash
# Drives the live dashboard the way a person would, in a detached tmux session
# (100x30): `stratus run az-outage --tui`, speed up, slow down, kill an AZ
# with `k` then `3`, speed up again, quit with `q`. Reads the screen with
# `tmux capture-pane -p` and checks it shows the AZ panel with the killed AZ's
# nodes dead, the carts-lost figure, and, after quitting, the report.
# Installs tmux with apt-get if it is missing. Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v tmux >/dev/null 2>&1; then
    echo "== tmux is missing: installing it with apt-get"
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq tmux >/dev/null
    elif command -v sudo >/dev/null 2>&1; then
        sudo apt-get update -qq && sudo apt-get install -y -qq tmux >/dev/null
    else
        echo "tui-tmux: tmux is not installed and this user cannot install it (not root, no sudo)" >&2
        exit 1
    fi
fi

# The binary the test suite runs (optimised by [profile.test]): after
# `cargo test` this builds nothing, where `--release` would build the whole
# workspace a second time.
echo "== cargo test --no-run (the suite's binary)"
cargo test --no-run --quiet
bin="$PWD/target/debug/stratus"
session="stratus-tui-$$"
shots="target/tui-tmux"
mkdir -p "$shots"
trap 'tmux kill-session -t "$session" 2>/dev/null || true' EXIT

screen() { tmux capture-pane -p -t "$session"; }
fail() {
    echo "tui-tmux: $1" >&2
    echo "--- the screen:" >&2
    screen >&2 || true
    exit 1
}
# wait_for PATTERN SECONDS: until the screen matches the extended regex.
wait_for() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        if screen | grep -Eq -- "$1"; then return 0; fi
        sleep 0.1
    done
    fail "waited $2 s for /$1/ on the screen"
}
keys() { tmux send-keys -t "$session" "$@"; sleep 0.15; }

# The pane keeps the shell's output (the report) after the dashboard exits.
tmux new-session -d -s "$session" -x 100 -y 30 \
    "$bin run az-outage --tui; echo \"stratus exited \$?\"; sleep 600"
tmux set-option -t "$session" history-limit 5000 >/dev/null

echo "== the dashboard starts at ×30"
wait_for 'availability zones' 10
wait_for '×30 ' 2
screen | grep -q 'us-east-1a up' || fail "no AZ panel"

echo "== + + speeds up to ×120"
keys +
keys +
wait_for '×120 ' 2
sleep 2

echo "== - seven times slows down to ×1, then k 3 kills us-east-1c"
for _ in 1 2 3 4 5 6 7; do keys -; done
wait_for '×1 ' 2
keys k
wait_for 'kill which AZ\?' 2
keys 3
wait_for 'injected kill_az us-east-1c' 3
# At ×1 the balancer needs about 15 wall seconds to notice: the AZ's nodes
# stay on screen, dead, long enough to read.
wait_for '3 us-east-1c DOWN X+' 5
screen > "$shots/after-kill.txt"
grep -Eq '\* ?kill_az +us-east-1c' "$shots/after-kill.txt" || fail "the injected kill is not marked in the event log"
grep -Eq 'carts lost [0-9,]+' "$shots/after-kill.txt" || fail "no carts-lost figure"

echo "== + ten times: ×1024, the sticky carts go with the AZ"
for _ in 1 2 3 4 5 6 7 8 9 10; do keys +; done
wait_for '×1024 ' 2
wait_for 'carts lost [1-9][0-9,]*' 20
screen > "$shots/carts-lost.txt"
lost=$(grep -Eo 'carts lost [0-9,]+' "$shots/carts-lost.txt" | head -1 | grep -Eo '[0-9,]+$' | tr -d ,)
echo "   carts lost on screen: $lost"

echo "== q quits; the report follows"
keys q
wait_for 'stratus exited 0' 30
tmux capture-pane -p -S -200 -t "$session" > "$shots/report.txt"
grep -q 'az-outage · strategy sticky · seed 7 · 1800 s simulated' "$shots/report.txt" || fail "no report after quitting"
report_lost=$(grep -Eo 'carts +LOST [0-9,]+' "$shots/report.txt" | grep -Eo '[0-9,]+$' | tr -d ,)
[ -n "$report_lost" ] || fail "the report has no carts lost line"
[ "$report_lost" -ge "$lost" ] || fail "the report lost $report_lost carts, fewer than the $lost on screen"
grep -q 'injected by hand (1;' "$shots/report.txt" || fail "the report does not list the injected kill"
grep -Eq 'kill_az +us-east-1c' "$shots/report.txt" || fail "the report's events miss the injected kill"
echo "   report: $report_lost carts lost, the injected kill listed"

echo "== tui-tmux: ok (screens in $shots/)"

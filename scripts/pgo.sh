#!/usr/bin/env bash
# A profile-guided build (#18; not in CI: about 15 minutes). The compiler
# learns from a training run which branches the simulation takes and which
# calls are hot, then lays the code out for them: the same source and the
# same results (every bundled scenario's report was byte-identical outside
# `wall` when the README's figures were taken; check again with a new
# compiler), a faster binary.
#   scripts/pgo.sh                 build target/pgo/release/stratus
#   scripts/pgo.sh bench [ARGS…]   then `cargo bench --bench throughput ARGS…`
#                                  built with the same profile
# Steps:
#   1. an instrumented release build (target/pgo-train);
#   2. training: every bundled scenario compared across its strategies,
#      az-outage at ten times the arrivals under each strategy, and a live
#      shop (`serve`) loaded by `stratus load` for a few seconds a strategy,
#      so the live driver's paths count as warm and are not laid out as
#      cold code;
#   3. the counts merged (llvm-profdata from rustup's llvm-tools component,
#      added when missing) into target/pgo/stratus.profdata;
#   4. the release build with -Cprofile-use (target/pgo).
# The profile is made fresh from the checkout each time: nothing is kept
# between versions, so a stale profile cannot mislead the compiler.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/serving.sh
mode="${1:-build}"
[ "$mode" = build ] || [ "$mode" = bench ] || {
    echo "usage: scripts/pgo.sh [build | bench [CRITERION ARGS...]]" >&2
    exit 64
}
[ $# -gt 0 ] && shift

sysroot="$(rustc --print sysroot)"
host="$(rustc -vV | sed -n 's/^host: //p')"
profdata="$sysroot/lib/rustlib/$host/bin/llvm-profdata"
if [ ! -x "$profdata" ]; then
    echo "== rustup component add llvm-tools (llvm-profdata, matching rustc's LLVM)"
    rustup component add llvm-tools
fi

root="$PWD/target"
raw="$root/pgo-train/profraw"
merged="$root/pgo/stratus.profdata"
rm -rf "$raw"
mkdir -p "$raw" "$root/pgo"

echo "== 1. instrumented build (target/pgo-train)"
RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-generate=$raw" \
    cargo build --release --quiet --bin stratus --target-dir "$root/pgo-train"
bin="$root/pgo-train/release/stratus"
# The build scripts ran instrumented too; only the training's counts count.
rm -rf "$raw" && mkdir -p "$raw"

echo "== 2. training"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
for f in scenarios/*.toml; do
    "$bin" compare "$(basename "$f" .toml)" --format json >/dev/null
done
sed 's/^arrivals_per_second = 20.0/arrivals_per_second = 200.0/' scenarios/az-outage.toml \
    >"$work/az-outage-x10.toml"
grep -q '^arrivals_per_second = 200.0' "$work/az-outage-x10.toml"
for s in sticky store cookie durable; do
    "$bin" run "$work/az-outage-x10.toml" --strategy "$s" --format json >/dev/null
done
for s in sticky store cookie; do
    lb=$(port) adm=$(port)
    "$bin" serve steady-state --strategy "$s" --listen "127.0.0.1:$lb" \
        --admin "127.0.0.1:$adm" --token pgo >"$work/serve-$s.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    wait_serving "$work/serve-$s.log" "$pid"
    "$bin" load "http://127.0.0.1:$lb" --rate 200 --duration 5s --format json >/dev/null
    # Ctrl-C: the server exits cleanly, and only then writes its counts.
    kill -INT "$pid"
    wait "$pid"
done

echo "== 3. llvm-profdata merge"
"$profdata" merge -o "$merged" "$raw"

# The profile knows functions by their symbol names, which carry a hash of
# each crate and its dependencies' features. A build that turns on one more
# feature somewhere below the model (a dev-dependency's, in `cargo bench`)
# names every model function differently, and the compiler then applies
# none of the profile there, without a word. So the optimised binary must
# share the model's names with the trained one.
model_symbols() { { nm --defined-only "$1" | grep -o '_ZN13stratus_model[^ ]*' || true; } | sort -u; }
same_names() {
    local n shared
    n=$(model_symbols "$1" | wc -l)
    shared=$(comm -12 <(model_symbols "$bin") <(model_symbols "$1") | wc -l)
    echo "$1 shares $shared of its $n model symbols with the trained binary"
    if [ "$shared" -le $((n / 2)) ]; then
        echo "error: the profile does not name this build's functions, so it was not applied;" \
            "compare its crates' features with the release build's (cargo tree -e features)" >&2
        exit 1
    fi
}

export RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-use=$merged"
if [ "$mode" = build ]; then
    echo "== 4. profile-guided build (target/pgo)"
    cargo build --release --quiet --bin stratus --target-dir "$root/pgo"
    same_names "$root/pgo/release/stratus"
    echo "built $root/pgo/release/stratus"
else
    echo "== 4. cargo bench --bench throughput $* (profile-guided, target/pgo)"
    exe=$(cargo bench --bench throughput --no-run --target-dir "$root/pgo" --message-format=json |
        sed -n 's/.*"executable":"\([^"]*throughput[^"]*\)".*/\1/p' | tail -1)
    same_names "$exe"
    cargo bench --bench throughput --target-dir "$root/pgo" -- "$@"
fi

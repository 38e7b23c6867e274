# Sourced by the end-to-end scripts that start `stratus serve` themselves.
# `port` prints a free loopback port; `wait_serving LOG PID` waits (at most
# 60 s) until the server started as PID, with its output in LOG, says it is
# up ("Ctrl-C stops"), and fails if it exits first or never says so.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_serving() {
    local log=$1 pid=$2
    for _ in $(seq 1 240); do
        grep -q "Ctrl-C stops" "$log" && return 0
        kill -0 "$pid" 2>/dev/null || { echo "serve exited while starting" >&2; return 1; }
        sleep 0.25
    done
    echo "serve did not start within 60 s" >&2
    return 1
}

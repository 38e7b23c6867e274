# Sourced by the end-to-end scripts that start `stratus serve` themselves.
# `port` prints a free loopback port; `wait_serving LOG PID` waits (at most
# 60 s) until the server started as PID, with its output in LOG, says it is
# up ("Ctrl-C stops"), and fails if it exits first or never says so.
#
# The port is drawn below the range the kernel hands out for port 0, which
# is where the PostgreSQL and Redis servers that `serve` starts (and every
# client connection) get theirs: a port from that range, free when drawn,
# was taken by one of them before `serve` bound it, in CI.
port() {
    python3 -c '
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(200):
    p = random.randrange(max(1024, low - 12000), low)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
else:
    raise SystemExit("no free port below the ephemeral range")
'
}
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

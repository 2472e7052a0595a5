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
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main():
    chain()  # warm up imports and caches
    t, s = best(chain)
    print(f"3-service chain, {s['produced']:,} requests ({s['ok']:,} ok, {s['calls']:,} service calls, "
          f"{s['events']:,} events): {t * 1000:.1f} ms per run, build + run + summary (target < 100 ms)")
    for name in ("order_flow", "fanout", "retry_storm", "backoff"):
        exp = get(name)
        t, cmp = best(lambda exp=exp: exp().summary, repeats=3)
        produced = sum(s["produced"] for s in cmp.values())
        print(f"  {name:12s} defaults, {len(cmp)} runs, {produced:,} requests in all: {t * 1000:.0f} ms")


if __name__ == "__main__":
    main()

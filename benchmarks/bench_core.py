"""Speed and memory of the core simulator. Run: ``python benchmarks/bench_core.py``.

Prints (1) an M/M/c work queue through eda_sim and through a minimal hand-written SimPy model in the
same process, (2) a topic with 3 subscriptions of 2 consumers (50 msg/s for 60 s, summary included),
(3) one million messages through a work queue with its peak memory, measured in a child process.
Figures go to the README ("Performance"). Timings are the best of several repeats.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import simpy

from eda_sim import Exponential, Poisson, Producer, System, Topic, WorkQueue, consumers

RATE, SERVICE, SERVERS, UNTIL = 30.0, 0.05, 2, 2_000.0  # rho = 0.75, about 60,000 messages


def best(fn, repeats=5):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def eda_sim_mmc():
    system = System(seed=1)
    q = WorkQueue(system, "queue")
    consumers(system, q, SERVERS, service=Exponential(SERVICE))
    Producer(system, Poisson(rate=RATE), q)
    r = system.run(UNTIL)
    return r.summary["completed"], r.summary["wait_mean"]


def simpy_mmc():
    """The textbook SimPy M/M/c: a Resource with c slots and a process per customer."""
    rng = np.random.default_rng(1)
    env = simpy.Environment()
    servers = simpy.Resource(env, SERVERS)
    waits = []

    def customer(arrived, service):
        with servers.request() as req:
            yield req
            waits.append(env.now - arrived)
            yield env.timeout(service)

    def source():
        gaps = rng.exponential(1 / RATE, int(RATE * UNTIL * 1.2))
        services = rng.exponential(SERVICE, len(gaps))
        for gap, service in zip(gaps.tolist(), services.tolist(), strict=True):
            yield env.timeout(gap)
            env.process(customer(env.now, service))

    env.process(source())
    env.run(until=UNTIL)
    return len(waits), sum(waits) / len(waits)


def topic_run():
    system = System(seed=1)
    topic = Topic(system, "orders")
    for name in ("billing", "audit", "email"):
        consumers(system, topic.subscribe(name), 2, service=Exponential(0.02))
    Producer(system, Poisson(rate=50), topic)
    return system.run(60).summary


MILLION = """
import resource, time, json
from eda_sim import System, WorkQueue, Producer, ConstantRate, Deterministic, Limits, consumers
t0 = time.perf_counter()
system = System(seed=1, limits=Limits(max_events=10_000_000))  # a deliberate big run: lift the budget
q = WorkQueue(system, "queue")
consumers(system, q, 4, service=Deterministic(0.0035))
Producer(system, ConstantRate(rate=1000), q, limit=1_000_000)
r = system.run(1_000.5)
s = r.summary
print(json.dumps({"completed": s["completed"], "bound_hit": s["bound_hit"], "seconds": time.perf_counter() - t0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

BASELINE = """
import resource, json
import eda_sim
print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main():
    t_sim, (n_sim, w_sim) = best(eda_sim_mmc)
    t_raw, (n_raw, w_raw) = best(simpy_mmc)
    print(f"M/M/{SERVERS} work queue, rho=0.75, {UNTIL:g} s simulated")
    print(f"  eda_sim      {t_sim * 1000:7.1f} ms  {n_sim / t_sim:9,.0f} msg/s  wait_mean {w_sim:.4f} s")
    print(f"  plain SimPy  {t_raw * 1000:7.1f} ms  {n_raw / t_raw:9,.0f} msg/s  wait_mean {w_raw:.4f} s")
    print(f"  ratio eda_sim / plain SimPy: {t_sim / t_raw:.2f}  (target <= 1.25)")

    t_topic, summary = best(topic_run, repeats=7)
    print(f"Topic, 3 subscriptions x 2 consumers, 50 msg/s for 60 s: {t_topic * 1000:.1f} ms per run "
          f"(target < 60 ms), {summary['completed']} copies completed")

    base = json.loads(subprocess.run([sys.executable, "-c", BASELINE], capture_output=True, text=True,
                                     check=True).stdout)
    big = json.loads(subprocess.run([sys.executable, "-c", MILLION], capture_output=True, text=True,
                                    check=True).stdout)
    print(f"One million messages through a work queue: {big['seconds']:.1f} s, "
          f"{big['completed']:,} completed, peak RSS {big['peak_mb']:.0f} MB "
          f"(imports alone {base['peak_mb']:.0f} MB; target < 150 MB)")


if __name__ == "__main__":
    main()

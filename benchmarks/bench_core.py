"""Speed and memory of the core simulator. Run: ``python benchmarks/bench_core.py [section ...]``.

Sections (all by default):

``mmc``      M/M/1 and M/M/5 (rho = 0.8, 100,000 customers): eda_sim against idiomatic SimPy (a
             ``Resource`` and a process per customer), hand-tuned SimPy (persistent consumer processes
             on a ``Store``, results in arrays) and Ciw. The contenders run interleaved in one process,
             in a rotating order, and the figure reported is the median over the repeats of the paired
             ratio ``eda_sim CPU time / contender CPU time`` of the same repeat, so a burst of load from
             another process moves both sides of a ratio instead of one contender's best time.
``topic``    a topic with 3 subscriptions x 2 consumers, 50 msg/s for 60 s, summary and ``records()``:
             CPU ms per run (median).
``memory``   one million messages through a work queue, measured in FRESH processes as the peak
             resident set (``VmHWM`` in ``/proc/self/status``) minus the peak of the same script with
             1,000 messages, per message; once with the summary only, once with ``records()`` too.
``scaling``  CPU microseconds per message as messages (10k -> 1M), consumers (1 -> 256), partitions
             (1 -> 512, one consumer) and subscriptions (1 -> 100) grow.

CPU time is ``time.process_time()`` of this process (the machine is shared; wall time is not). The
README's "Performance" section quotes these figures.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from array import array

import ciw
import numpy as np
import simpy

from eda_sim import (
    ConstantRate,
    Deterministic,
    Exponential,
    Limits,
    PartitionedLog,
    Poisson,
    Producer,
    System,
    Topic,
    WorkQueue,
    consumers,
    theory,
)

CUSTOMERS = 100_000
SERVICE = 0.1  # mean service time (s)
RHO = 0.8


def cpu(fn, *args):
    t0 = time.process_time()
    out = fn(*args)
    return time.process_time() - t0, out


# -- M/M/c: four implementations of the same model ---------------------------------------------------

def eda_sim_mmc(c, rate, until, seed):
    system = System(seed)
    q = WorkQueue(system, "queue")
    consumers(system, q, c, service=Exponential(SERVICE))
    Producer(system, Poisson(rate=rate), q)
    s = system.run(until).summary
    return s["completed"], s["wait_mean"]


def simpy_idiomatic(c, rate, until, seed):
    """The textbook SimPy M/M/c: a Resource with c slots and a process per customer."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    servers = simpy.Resource(env, c)
    waits = []

    def customer(arrived):
        with servers.request() as req:
            yield req
            waits.append(env.now - arrived)
            yield env.timeout(rng.exponential(SERVICE))

    def source():
        while True:
            yield env.timeout(rng.exponential(1 / rate))
            env.process(customer(env.now))

    env.process(source())
    env.run(until=until)
    return len(waits), sum(waits) / len(waits)


def simpy_tuned(c, rate, until, seed):
    """Hand-tuned SimPy: c persistent consumer processes on a Store, draws in blocks, waits in an array."""
    rng = np.random.default_rng(seed)
    n = int(rate * until * 1.1) + 1000
    gaps = rng.exponential(1 / rate, n).tolist()
    services = rng.exponential(SERVICE, n).tolist()
    env = simpy.Environment()
    store = simpy.Store(env)
    arrived = array("d")
    waits = array("d")

    def source():
        timeout, put, append = env.timeout, store.put, arrived.append
        for i, gap in enumerate(gaps):
            yield timeout(gap)
            append(env.now)
            put(i)

    def consumer():
        timeout, get = env.timeout, store.get
        while True:
            i = yield get()
            waits.append(env.now - arrived[i])
            yield timeout(services[i])

    env.process(source())
    for _ in range(c):
        env.process(consumer())
    env.run(until=until)
    return len(waits), sum(waits) / len(waits)


def ciw_mmc(c, rate, until, seed):
    network = ciw.create_network(arrival_distributions=[ciw.dists.Exponential(rate)],
                                 service_distributions=[ciw.dists.Exponential(1 / SERVICE)],
                                 number_of_servers=[c])
    ciw.seed(seed)
    sim = ciw.Simulation(network)
    sim.simulate_until_max_time(until)
    waits = [r.waiting_time for r in sim.get_all_records()]
    return len(waits), sum(waits) / len(waits)


CONTENDERS = {"eda_sim": eda_sim_mmc, "SimPy idiomatic": simpy_idiomatic, "SimPy hand-tuned": simpy_tuned,
              "Ciw": ciw_mmc}


def bench_mmc(repeats: int) -> dict:
    out = {}
    for c in (1, 5):
        rate = RHO * c / SERVICE
        until = CUSTOMERS / rate
        names = list(CONTENDERS)
        times = {n: [] for n in names}
        waits = {n: [] for n in names}
        for r in range(repeats):
            order = names[r % len(names):] + names[: r % len(names)]  # rotate who runs first
            for name in order:
                t, (_, wait) = cpu(CONTENDERS[name], c, rate, until, r + 1)
                times[name].append(t)
                waits[name].append(wait)
        wq = theory.mmc(rate, 1 / SERVICE, c).wait_mean
        print(f"M/M/{c}, rho={RHO}, {CUSTOMERS:,} customers, {repeats} interleaved repeats "
              f"(theory: mean wait {wq:.4f} s)")
        for name in names:
            ratios = [a / b for a, b in zip(times["eda_sim"], times[name], strict=True)]
            med = statistics.median(times[name])
            line = (f"  {name:17s} {med * 1000:7.0f} ms CPU median, {CUSTOMERS / med:9,.0f} customers/s, "
                    f"mean wait {statistics.mean(waits[name]):.4f} s")
            if name != "eda_sim":
                line += (f"   eda_sim / {name}: median {statistics.median(ratios):.2f} "
                         f"(range {min(ratios):.2f}-{max(ratios):.2f})")
            print(line)
            out[f"mm{c}:{name}"] = {"cpu_ms": med * 1000,
                                    "ratio": None if name == "eda_sim" else statistics.median(ratios)}
    return out


# -- topic ---------------------------------------------------------------------------------------------

def topic_run():
    system = System(seed=1)
    topic = Topic(system, "orders")
    for name in ("billing", "audit", "email"):
        consumers(system, topic.subscribe(name), 2, service=Exponential(0.02))
    Producer(system, Poisson(rate=50), topic)
    r = system.run(60)
    return r.summary, r.records()


def bench_topic(repeats: int) -> dict:
    topic_run()  # import pandas outside the timing
    times = [cpu(topic_run)[0] for _ in range(repeats)]
    med = statistics.median(times) * 1000
    print(f"Topic, 3 subscriptions x 2 consumers, 50 msg/s for 60 s, summary and records(): {med:.1f} ms CPU "
          f"(median of {repeats})")
    return {"topic_ms": med}


# -- memory, in fresh processes -------------------------------------------------------------------------

MEMORY = """
import json, sys
from eda_sim import System, WorkQueue, Producer, ConstantRate, Deterministic, Limits, consumers
n, records = int(sys.argv[1]), sys.argv[2] == "records"
if records:
    import pandas  # imported in the baseline too, so only the table itself is measured
system = System(seed=1, limits=Limits(max_events=10_000_000))  # a deliberate big run: lift the budget
q = WorkQueue(system, "queue")
consumers(system, q, 4, service=Deterministic(0.0035))
Producer(system, ConstantRate(rate=1000), q, limit=n)
r = system.run(n / 1000 + 0.5)
s = r.summary
rows = len(r.records()) if records else 0
status = open("/proc/self/status").read()
hwm = int(status.split("VmHWM:")[1].split()[0])  # kB
print(json.dumps({"completed": s["completed"], "rows": rows, "hwm_kb": hwm}))
"""


def peak(n: int, records: bool) -> dict:
    out = subprocess.run([sys.executable, "-c", MEMORY, str(n), "records" if records else "summary"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def bench_memory() -> dict:
    out = {}
    for records in (False, True):
        small, big = peak(1_000, records), peak(1_000_000, records)
        per = (big["hwm_kb"] - small["hwm_kb"]) * 1024 / (1_000_000 - 1_000)
        what = "summary and records()" if records else "summary"
        print(f"One million messages through a work queue ({what}): peak {big['hwm_kb'] / 1024:.0f} MB, "
              f"{small['hwm_kb'] / 1024:.0f} MB with 1,000 messages: {per:.0f} bytes per message "
              f"(target <= {150 if records else 60})")
        out["bytes_per_message_records" if records else "bytes_per_message"] = per
        out["peak_mb_records" if records else "peak_mb"] = big["hwm_kb"] / 1024
        out["base_mb_records" if records else "base_mb"] = small["hwm_kb"] / 1024
    return out


# -- scaling ---------------------------------------------------------------------------------------------

def per_message_us(build, repeats=3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        s = build().summary
        times.append(time.process_time() - t0)
    copies = max(1, s["to_handle"])
    return statistics.median(times) / copies * 1e6


def queue_run(n, c):
    rate = RHO * c / SERVICE

    def build():
        system = System(1, limits=Limits(max_events=20 * n + 100_000, max_backlog=10**7))
        q = WorkQueue(system, "queue")
        consumers(system, q, c, service=Exponential(SERVICE))
        Producer(system, Poisson(rate=rate), q)
        return system.run(n / rate)
    return build


def log_run(n, partitions):
    rate = RHO / SERVICE

    def build():
        system = System(1, keys=100_000, limits=Limits(max_events=20 * n + 100_000))
        log = PartitionedLog(system, "log", partitions=partitions)
        log.group("g", consumers=1, service=Exponential(SERVICE))
        Producer(system, Poisson(rate=rate, keys=100_000), log)
        return system.run(n / rate)
    return build


def topic_subs_run(n, subs):
    def build():
        system = System(1, limits=Limits(max_events=20 * n * subs + 100_000))
        topic = Topic(system, "t")
        for i in range(subs):
            consumers(system, topic.subscribe(f"s{i}"), 1, service=Deterministic(0.05))
        Producer(system, ConstantRate(rate=10), topic)
        return system.run(n / 10)
    return build


def bench_scaling(quick: bool) -> dict:
    out = {}
    print("Scaling: CPU microseconds per message copy (median of 3; summary included)")
    sizes = (10_000, 100_000) if quick else (10_000, 100_000, 1_000_000)
    row = {n: per_message_us(queue_run(n, 1), 1 if n >= 1_000_000 else 3) for n in sizes}
    print("  messages (1 consumer, rho 0.8)  " + "  ".join(f"{n:>9,}: {us:5.1f}" for n, us in row.items()))
    out["messages"] = row
    row = {c: per_message_us(queue_run(50_000, c)) for c in (1, 4, 16, 64, 256)}
    print("  consumers (50k messages)        " + "  ".join(f"{c:>4}: {us:5.1f}" for c, us in row.items()))
    out["consumers"] = row
    row = {p: per_message_us(log_run(50_000, p)) for p in (1, 8, 64, 512)}
    pairs = [per_message_us(log_run(50_000, 512), 1) / per_message_us(log_run(50_000, 1), 1) for _ in range(5)]
    print("  partitions (1 consumer, 50k)    " + "  ".join(f"{p:>4}: {us:5.1f}" for p, us in row.items())
          + f"   512 vs 1: {statistics.median(pairs):.2f}x (median of 5 paired runs; target <= 1.5)")
    out["partitions"] = {**row, "ratio_512_to_1": statistics.median(pairs)}
    row = {k: per_message_us(topic_subs_run(max(500, 20_000 // k), k)) for k in (1, 10, 100)}
    print("  subscriptions (1 consumer each) " + "  ".join(f"{k:>4}: {us:5.1f}" for k, us in row.items()))
    out["subscriptions"] = row
    return out


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    sections = [a for a in argv if not a.startswith("--")] or ["mmc", "topic", "memory", "scaling"]
    print("load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores")
    results = {}
    if "mmc" in sections:
        results["mmc"] = bench_mmc(3 if quick else 7)
    if "topic" in sections:
        results["topic"] = bench_topic(7 if quick else 15)
    if "memory" in sections:
        results["memory"] = bench_memory()
    if "scaling" in sections:
        results["scaling"] = bench_scaling(quick)
    if "--json" in argv:
        print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1:])

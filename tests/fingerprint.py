"""Fingerprints of the numbers the simulator produces, to prove a refactor changed none of them.

A fingerprint maps a configuration's name to its summary values (``events`` left out: it counts SimPy
events, which a leaner implementation is meant to reduce) and SHA-256 digests of its tables
(``records()``, ``timeseries()``, ``messages()``). For an experiment it digests every ``Result`` inside
the experiment's result object and every table or array its public zero-argument methods return.

Three sets of configurations:

- ``core``: M/M/1, M/M/5, a topic, ties-heavy constant-rate runs, partitioned logs with 1 to 64
  partitions, consumers and services querying a database, a request/response chain;
- ``random``: 60 small random systems (work queue, topic, partitioned log, with faults) built with the
  property tests' builders;
- ``experiments``: every registered experiment at its defaults; ``--full`` adds every slider at its
  minimum and maximum.

Run ``python tests/fingerprint.py --write`` to store ``tests/data/golden_numbers.json``, ``--check`` to
compare (``--full`` for the slider settings too, stored in ``golden_numbers_full.json``).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))  # run as a script: the repository root, for ``tests.test_properties``

from eda_sim import (  # noqa: E402
    ConstantRate,
    Database,
    Deterministic,
    Exponential,
    PartitionedLog,
    Poisson,
    Producer,
    System,
    Topic,
    WorkQueue,
    consumers,
)
from eda_sim.result import Result  # noqa: E402

GOLDEN = HERE / "data" / "golden_numbers.json"
GOLDEN_FULL = HERE / "data" / "golden_numbers_full.json"
IGNORED_KEYS = {"events"}


def without_events(obj):
    """``obj`` with the ``events`` counts (rows, columns, keys) taken out, at any depth."""
    if isinstance(obj, pd.DataFrame):
        return obj.drop(index="events", columns="events", errors="ignore")
    if isinstance(obj, pd.Series):
        return obj.drop(index="events", errors="ignore")
    if isinstance(obj, dict):
        return {k: without_events(v) for k, v in obj.items() if k not in IGNORED_KEYS}
    return obj


def digest(obj) -> str:
    obj = without_events(obj)
    if isinstance(obj, pd.DataFrame | pd.Series):
        text = obj.to_csv()
    elif isinstance(obj, np.ndarray):
        text = repr(obj.dtype) + repr(obj.shape) + obj.tobytes().hex()
    else:
        text = repr(obj)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def plain(value):
    if isinstance(value, float | np.floating):
        value = float(value)
        return "nan" if math.isnan(value) else repr(value)
    if isinstance(value, np.integer | bool | np.bool_):
        return int(value)
    return value if isinstance(value, int | str) else repr(value)


def of_result(r: Result) -> dict:
    out = {k: plain(v) for k, v in r.summary.items() if k not in IGNORED_KEYS}
    out["records"] = digest(r.records())
    out["timeseries"] = digest(r.timeseries())
    out["messages"] = digest(r.messages())
    return out


def _results_inside(obj, path="", seen=None, depth=0):
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 4:
        return
    seen.add(id(obj))
    if isinstance(obj, Result):
        yield path, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _results_inside(v, f"{path}[{k}]", seen, depth + 1)
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            yield from _results_inside(v, f"{path}[{i}]", seen, depth + 1)
    elif hasattr(obj, "__dict__") and type(obj).__module__.startswith("eda_sim.experiments"):
        for k, v in vars(obj).items():
            yield from _results_inside(v, f"{path}.{k}", seen, depth + 1)


def of_experiment(out) -> dict:
    fp = {}
    if isinstance(out, Result):
        return of_result(out)
    for path, r in _results_inside(out):
        fp[path] = of_result(r)
    for name in dir(out):
        if name.startswith("_"):
            continue
        attr = getattr(type(out), name, None)
        if isinstance(attr, property):
            value = getattr(out, name)
        elif callable(attr):
            try:
                value = getattr(out, name)()
            except (TypeError, ValueError):
                continue  # needs arguments, or does not apply to this result
        else:
            value = getattr(out, name)
        if isinstance(value, pd.DataFrame | pd.Series | np.ndarray | float | int | dict | tuple | list):
            if isinstance(value, dict | list | tuple):
                value = {k: v for k, v in value.items()} if isinstance(value, dict) else value
                if any(isinstance(v, Result) for v in (value.values() if isinstance(value, dict) else value)):
                    continue
            fp[f"{name}"] = digest(value)
    return fp


# -- core configurations ------------------------------------------------------------------------------

def _queue(seed, rate, service, n, until, workload=Poisson, **consumer_options):
    system = System(seed)
    q = WorkQueue(system, "q")
    consumers(system, q, n, service=service, **consumer_options)
    Producer(system, workload(rate=rate), q)
    return system.run(until)


def _topic():
    system = System(3)
    topic = Topic(system, "orders")
    for name in ("billing", "audit", "email"):
        consumers(system, topic.subscribe(name), 2, service=Exponential(0.02))
    Producer(system, Poisson(rate=50), topic)
    return system.run(60)


def _log(partitions, members, commit_every=1, retention=None, service=Exponential(0.01), rate=60.0,
         poll_interval=None, keys=1000):
    system = System(5, keys=keys)
    log = PartitionedLog(system, "log", partitions=partitions, retention=retention)
    g = log.group("g", consumers=members, service=service, commit_every=commit_every, poll_interval=poll_interval)
    log.group("late", consumers=2, service=Exponential(0.005), start="latest")
    g.scale_at(20, members + 1)
    g.rewind_at(40, 10.0)
    Producer(system, Poisson(rate=rate, keys=keys), log)
    return system.run(60)


def _db_consumers(connections, query_time):
    system = System(7)
    db = Database(system, "db", connections=connections, query_time=query_time)
    q = WorkQueue(system, "q")
    consumers(system, q, 6, service=Exponential(0.01), db=db, reads=2, writes=1, concurrency=2)
    Producer(system, Poisson(rate=60), q)
    return system.run(60)


def _rr_chain(db_connections=None):
    from eda_sim.resilience import Call
    from eda_sim.service import Client, Downstream, Service

    system = System(11)
    db = None if db_connections is None else Database(system, "db", connections=db_connections)
    Service(system, "c", workers=4, service=Exponential(0.01), db=db, reads=1 if db else 0)
    Service(system, "b", workers=4, service=Exponential(0.01), downstream=Downstream(calls=("c",)))
    Service(system, "a", workers=4, service=Exponential(0.01), downstream=Downstream(calls=("b",)))
    client = Client(system, Call(target="a", timeout=1.0))
    Producer(system, Poisson(rate=50), client)
    return system.run(60)


def core() -> dict:
    runs = {
        "mm1": lambda: _queue(1, 8.0, Exponential(0.1), 1, 3000),
        "mm5": lambda: _queue(2, 40.0, Exponential(0.1), 5, 600),
        "mm2_prefetch": lambda: _queue(3, 15.0, Exponential(0.1), 2, 600, prefetch=3, concurrency=2),
        "md4_constant": lambda: _queue(4, 1000.0, Deterministic(0.0035), 4, 30, workload=ConstantRate),
        "md2_ties": lambda: _queue(4, 10.0, Deterministic(0.2), 2, 60, workload=ConstantRate),
        "polling": lambda: _queue(5, 5.0, Exponential(0.1), 2, 300, poll_interval=0.5),
        "long_poll": lambda: _queue(5, 5.0, Exponential(0.1), 2, 300, poll_interval=0.5, long_poll=True),
        "ack_batches": lambda: _queue(6, 5.0, Exponential(0.1), 2, 300, ack_every=4, prefetch=8),
        "topic": _topic,
        "db_consumers": lambda: _db_consumers(4, Exponential(0.005)),
        "db_consumers_det": lambda: _db_consumers(2, Deterministic(0.004)),
        "rr_chain": _rr_chain,
        "rr_chain_db": lambda: _rr_chain(2),
    }
    for p in (1, 8, 64):
        runs[f"log_p{p}"] = lambda p=p: _log(p, 3)
        runs[f"log_p{p}_batched"] = lambda p=p: _log(p, 2, commit_every=5, poll_interval=0.2)
    runs["log_retention"] = lambda: _log(4, 2, retention=5.0, service=Exponential(0.05), rate=30)
    runs["log_det"] = lambda: _log(3, 3, service=Deterministic(0.02), rate=40)
    return {name: of_result(run()) for name, run in runs.items()}


# -- random small systems (the property tests' builders) -------------------------------------------

def _random_config(kind: str, rnd: random.Random) -> dict:
    def service():
        return (rnd.choice(["exp", "det"]), rnd.uniform(0.005, 0.5))

    def workload():
        k = rnd.choice(["poisson", "constant", "bursty"])
        if k == "bursty":
            return ("bursty", rnd.uniform(1, 30), rnd.uniform(0.5, 10), rnd.uniform(0.5, 10))
        return (k, rnd.uniform(0.5, 30))

    def consumer():
        return {"service": service(), "prefetch": rnd.randint(1, 5), "concurrency": rnd.randint(1, 3),
                "ack_every": rnd.randint(1, 4), "poll_interval": rnd.choice([None, rnd.uniform(0.05, 2)])}

    def queue():
        return {"capacity": rnd.choice([None, rnd.randint(1, 20)]),
                "overflow": rnd.choice(["reject", "drop_oldest", "block"]),
                "delivery_limit": rnd.choice([None, rnd.randint(1, 5)])}

    cfg = {"seed": rnd.randrange(2**32), "until": rnd.uniform(1, 60), "workload": workload(),
           "broker": {"publish_latency": rnd.choice([None, rnd.uniform(0.005, 0.5)]),
                      "when_down": rnd.choice(["buffer", "drop"])},
           "faults": [{"kind": rnd.choice(["down", "crash", "slow", "fail"]), "target": rnd.randint(0, 100),
                       "start": rnd.uniform(0, 50), "length": rnd.uniform(0.1, 30),
                       "factor": rnd.uniform(1, 20), "fraction": rnd.uniform(0, 1)}
                      for _ in range(rnd.randint(0, 3))]}
    if kind == "queue":
        cfg.update(queue=queue(), consumers=[consumer() for _ in range(rnd.randint(0, 3))])
    elif kind == "topic":
        cfg["subscriptions"] = [(queue(), [consumer() for _ in range(rnd.randint(1, 2))])
                                for _ in range(rnd.randint(1, 3))]
    else:
        cfg.update(partitions=rnd.randint(1, 6), retention=rnd.choice([None, rnd.uniform(1, 20)]),
                   groups=[{"consumers": rnd.randint(0, 4), "service": service(),
                            "start": rnd.choice(["earliest", "latest"]), "commit_every": rnd.randint(1, 10),
                            "max_attempts": rnd.choice([None, rnd.randint(1, 4)]),
                            "poll_interval": rnd.choice([None, rnd.uniform(0.05, 2)]),
                            "rebalance_time": rnd.choice([0.0, 0.5, 2.0]),
                            "scale_at": [(rnd.uniform(0, 60), rnd.randint(0, 4)) for _ in range(rnd.randint(0, 3))]}
                           for _ in range(rnd.randint(1, 3))])
    return cfg


def randoms(n: int = 20) -> dict:
    from tests import test_properties as tp

    builders = {"queue": tp.build_queue, "topic": tp.build_topic, "log": tp.build_log}
    out = {}
    for kind, build in builders.items():
        rnd = random.Random(kind)
        for i in range(n):
            cfg = _random_config(kind, rnd)
            out[f"{kind}{i}"] = of_result(build(cfg).run(until=cfg["until"]))
    return out


# -- experiments --------------------------------------------------------------------------------------

def experiments(full: bool = False) -> dict:
    from eda_sim.experiments import registry

    out = {}
    for name, exp in registry().items():
        out[name] = of_experiment(exp())
        if not full:
            continue
        for s in exp.sliders:
            values = list(s.options) if s.options else [s.min, s.max]
            for value in values:
                try:
                    out[f"{name}:{s.param}={value}"] = of_experiment(exp(**{s.param: value}))
                except ValueError as exc:
                    out[f"{name}:{s.param}={value}"] = f"ValueError: {exc}"
    return out


def fingerprint(full: bool = False) -> dict:
    return {"core": core(), "random": randoms(), "experiments": experiments(full)}


def differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    out = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, f"{prefix}{k}/")
        elif a != b:
            out.append(f"{prefix}{k}: {a!r} -> {b!r}")
    return out


def main(argv: list[str]) -> int:
    full = "--full" in argv
    path = GOLDEN_FULL if full else GOLDEN
    new = fingerprint(full)
    if "--write" in argv:
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(new, indent=1, sort_keys=True) + "\n")
        print(f"wrote {path}")
        return 0
    diff = differences(json.loads(path.read_text()), json.loads(json.dumps(new)))
    print("\n".join(diff) or "same numbers")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

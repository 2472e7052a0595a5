"""The alarm-driven hot paths give exactly what the SimPy-process forms give.

Consumers run their workers as :class:`eda_sim.consumer._Worker` objects driven by alarms, and query
the database through ``Database.start_query``; the process form (``Consumer._work`` with
``yield from db.query(...)``) is kept for subclasses. Forcing every consumer onto the process form must
change no number: same summaries (``events`` aside) and the same tables, with faults, polling, batches
of acks and a contended database. (``tests/test_same_numbers.py`` compares with the numbers stored
before the lean paths existed.)
"""

from __future__ import annotations

import random

import pytest

from eda_sim import (
    Consumer,
    Crash,
    Database,
    Deterministic,
    Exponential,
    FailFraction,
    Poisson,
    Producer,
    Slow,
    System,
    WorkQueue,
)
from tests import fingerprint as fp
from tests import test_properties as tp


def db_system(seed: int, query_time, faults=()):
    system = System(seed)
    db = Database(system, "db", connections=2, query_time=query_time)
    q = WorkQueue(system, "q", delivery_limit=4)
    for i in range(3):
        Consumer(system, q, f"c{i}", service=Exponential(0.02), concurrency=2, prefetch=3, db=db,
                 reads=2, writes=1, ack_every=2)
    Producer(system, Poisson(rate=40), q)
    for f in faults:
        system.inject(f)
    return system


DB_CASES = {
    "exponential queries": lambda: db_system(1, Exponential(0.01)),
    "deterministic queries (ties)": lambda: db_system(2, Deterministic(0.01)),
    "crashes, slow and failing database": lambda: db_system(3, Exponential(0.01), (
        Crash(target="c0", start=5, end=9), Crash(target="c1", start=7.5, end=20),
        Slow(target="db", start=10, end=15, factor=4), FailFraction(target="db", start=12, end=18, fraction=0.3))),
}


def both_forms(build, monkeypatch, until):
    lean = fp.of_result(build().run(until))
    with monkeypatch.context() as m:
        m.setattr(Consumer, "_lean", lambda self: False)
        process = fp.of_result(build().run(until))
    return lean, process


@pytest.mark.parametrize("case", list(DB_CASES))
def test_consumers_with_a_database_give_the_same_numbers_either_way(case, monkeypatch):
    lean, process = both_forms(DB_CASES[case], monkeypatch, 30)
    assert lean["completed"] > 500 and lean["db_reads"] > 1000
    assert lean == process


@pytest.mark.parametrize("kind", ["queue", "topic"])
def test_random_systems_give_the_same_numbers_either_way(kind, monkeypatch):
    build = {"queue": tp.build_queue, "topic": tp.build_topic}[kind]
    rnd = random.Random(f"lean-{kind}")
    for _ in range(15):
        cfg = fp._random_config(kind, rnd)
        lean, process = both_forms(lambda cfg=cfg: build(cfg), monkeypatch, cfg["until"])
        assert lean == process, cfg

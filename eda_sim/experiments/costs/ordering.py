"""Per-key ordering: competing consumers vs a partitioned log (experiment ``costs_ordering``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ... import validate as v
from ...broker import WorkQueue
from ...consumer import consumers
from ...distributions import Exponential
from ...lab.panel import Slider
from ...metrics import COMPLETED
from ...partitioned_log import PartitionedLog
from ...producer import Producer
from ...system import System
from ...workload import Poisson
from .. import experiment
from ._common import SEED_MAX, _arrays, _tidy
from .duplicates import (
    BROKERS,
)


# =====================================================================================================
# 3. Ordering: only per key, only within a partition
# =====================================================================================================
@dataclass(frozen=True, kw_only=True)
class OrderingParams:
    """Order-status events (created, paid, shipped...) for ``keys`` orders at ``rate``/s; ``consumers``
    compete on a work queue, or share ``partitions`` partitions of a log (key % partitions)."""

    consumers: int = 4
    keys: int = 20
    rate: float = 20.0
    service_mean: float = 0.15
    partitions: int = 8
    until: float = 40.0
    seed: int = 1

    def __post_init__(self):
        v.integer("consumers", self.consumers, 1, 64)
        v.integer("keys", self.keys, 1, 100_000)
        v.positive("rate", self.rate, 500)
        v.positive("service_mean", self.service_mean, 10)
        v.integer("partitions", self.partitions, 1, 256)
        v.positive("until", self.until, 1e5)
        v.integer("seed", self.seed, 0, SEED_MAX)


ORDERING_SLIDERS = (
    Slider("consumers", 1, 8, 1, unit="consumers", label="consumers",
           help="competing consumers on the queue = members of the log's consumer group (8 partitions)"),
    Slider("keys", 1, 200, 1, unit="orders", label="distinct keys",
           help="orders the events belong to; fewer keys = more events per order close together"),
    Slider("rate", 2.0, 26.0, 2.0, unit="events/s", label="event rate",
           help="status events per second; 4 consumers at 0.15 s each handle up to 26/s"),
)


def out_of_order(result, name: str) -> tuple[int, int]:
    """(completions out of order, completions) in subscription ``name``.

    A completion is out of order when an earlier-created message with the same key completed *after*
    it: a read model applying events as they complete would show "shipped" before "paid".
    """
    status, _, done, key = _arrays(result, name)
    ok = np.flatnonzero(status == COMPLETED)
    if len(ok) < 2:
        return 0, len(ok)
    keys, times = key[ok], done[ok]
    order = np.lexsort((ok, keys))  # by key, then message id (= creation order)
    k, d = keys[order], times[order]
    # A running maximum per key in one pass: offset each key's times so earlier keys never dominate.
    shifted = d + (k - k.min()) * (float(d.max()) + 1.0)
    running = np.maximum.accumulate(shifted)
    late = (k[1:] == k[:-1]) & (shifted[1:] < running[:-1])
    return int(late.sum()), len(ok)


@dataclass(frozen=True)
class OrderingResult:
    """``results["queue"]`` (work queue, subscription "status-events") and ``results["log"]`` (group "status")."""

    params: OrderingParams
    results: dict

    SUBSCRIPTION = {"queue": "status-events", "log": "status"}

    def out_of_order(self, broker: str) -> tuple[int, int]:
        return out_of_order(self.results[broker], self.SUBSCRIPTION[broker])

    def out_of_order_share(self, broker: str) -> float:
        late, n = self.out_of_order(broker)
        return late / n if n else math.nan

    def latencies(self, broker: str) -> np.ndarray:
        r = self.results[broker]
        return r.system.logs[self.SUBSCRIPTION[broker]].latencies(r.system.messages)

    def table(self):
        import pandas as pd

        rows = {}
        for broker, r in self.results.items():
            late, n = self.out_of_order(broker)
            rows[broker] = {"completed": n, "out_of_order": late, "out_of_order_share": late / n if n else math.nan,
                            "latency_p50_s": r.summary["latency_p50"], "latency_p95_s": r.summary["latency_p95"]}
        return _tidy(pd.DataFrame(rows).rename_axis("metric"))


def run_ordering_broker(p: OrderingParams, broker: str):
    v.choice("broker", broker, BROKERS)
    system = System(p.seed)
    if broker == "queue":
        target = WorkQueue(system, "status-events")
        consumers(system, target, p.consumers, name="status.consumer", service=Exponential(p.service_mean),
                  stream="status")
    else:
        target = PartitionedLog(system, "status-events", partitions=p.partitions)
        target.group("status", consumers=p.consumers, service=Exponential(p.service_mean))
    Producer(system, Poisson(rate=p.rate, keys=p.keys), target)
    return system.run(p.until)


@experiment("costs_ordering", "Per-key ordering: competing consumers vs a partitioned log", OrderingParams,
            ORDERING_SLIDERS)
def run_ordering(p: OrderingParams) -> OrderingResult:
    return OrderingResult(p, {broker: run_ordering_broker(p, broker) for broker in BROKERS})

"""At-least-once delivery and duplicate side effects (experiment ``costs_duplicates``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ... import validate as v
from ...broker import WorkQueue
from ...consumer import consumers
from ...distributions import Exponential
from ...fault import Crash
from ...lab.panel import Slider
from ...partitioned_log import PartitionedLog
from ...producer import Producer
from ...system import System
from ...workload import Poisson
from .. import experiment
from ._common import SEED_MAX, _tidy

# =====================================================================================================
# 2. At-least-once delivery: duplicates, and what an idempotent consumer saves
# =====================================================================================================
BROKERS = ("queue", "log")
CRASH_TIMES = (15.0, 30.0, 45.0)


@dataclass(frozen=True, kw_only=True)
class DuplicatesParams:
    """Payments consumers (``consumers`` of them) acknowledge (work queue) or commit (partitioned log)
    after every ``batch`` messages; consumer 1 crashes at 15, 30 and 45 s for ``crash_down`` s."""

    broker: str = "queue"
    batch: int = 10
    rate: float = 15.0
    service_mean: float = 0.1
    consumers: int = 2
    crash_down: float = 2.0
    until: float = 60.0
    seed: int = 1

    def __post_init__(self):
        v.choice("broker", self.broker, BROKERS)
        v.integer("batch", self.batch, 1, 1000)
        v.positive("rate", self.rate, 200)
        v.positive("service_mean", self.service_mean, 10)
        v.integer("consumers", self.consumers, 1, 16)
        v.number("crash_down", self.crash_down, 0.1, 14.0)
        v.number("until", self.until, max(CRASH_TIMES) + self.crash_down, 1e5, lo_open=True)
        v.integer("seed", self.seed, 0, SEED_MAX)


DUPLICATES_SLIDERS = (
    Slider("batch", 1, 50, 1, unit="messages", label="ack / commit every k",
           help="acknowledge (work queue) or commit offsets (log) once per k processed messages"),
    Slider("broker", options=BROKERS, label="broker",
           help="queue: RabbitMQ-style work queue (ack_every) · log: Kafka-style partitioned log (commit_every)"),
    Slider("rate", 2.0, 18.0, 1.0, unit="orders/s", label="order rate",
           help="payments to process per second (two consumers handle up to 20/s)"),
)


@dataclass(frozen=True)
class DuplicatesResult:
    """``results["each"]``: acknowledge every message; ``results["batch"]``: every ``batch`` messages."""

    params: DuplicatesParams
    results: dict

    def counts(self, variant: str) -> dict:
        """Orders paid, extra processings, and payment side effects with and without idempotency."""
        s = self.results[variant].summary
        return {"orders_paid": s["completed"], "duplicates": s["duplicates"],
                "charges_without_idempotency": s["completed"] + s["duplicates"],
                "charges_with_idempotency_key": s["completed"]}

    def duplicates_over_time(self, variant: str) -> tuple[np.ndarray, np.ndarray]:
        series = self.results[variant].system.series
        return np.frombuffer(series.t), np.frombuffer(series.columns["payments.duplicates"])

    def table(self):
        import pandas as pd

        return _tidy(pd.DataFrame({variant: self.counts(variant) for variant in self.results}).rename_axis("count"))


def run_duplicates_variant(p: DuplicatesParams, batch: int):
    """Orders → broker → payments consumers acking/committing every ``batch``; consumer 1 crashes."""
    system = System(p.seed, sample_every=0.25)
    if p.broker == "queue":
        # The same prefetch in both variants (at least ``batch``, so a batch can fill): only acks differ.
        broker = WorkQueue(system, "payments")
        consumers(system, broker, p.consumers, name="payments.consumer", service=Exponential(p.service_mean),
                  prefetch=max(p.batch, 1), ack_every=batch)
        log = broker.log
    else:
        broker = PartitionedLog(system, "orders", partitions=2 * p.consumers)
        log = broker.group("payments", consumers=p.consumers, service=Exponential(p.service_mean),
                           commit_every=batch).log
    system.series.add("payments.duplicates", lambda: log.duplicates)
    Producer(system, Poisson(rate=p.rate), broker)
    for t in CRASH_TIMES:
        system.inject(Crash(target="payments.consumer1", start=t, end=t + p.crash_down))
    return system.run(p.until)


@experiment("costs_duplicates", "At-least-once delivery: crashes, batched acks and duplicate side effects",
            DuplicatesParams, DUPLICATES_SLIDERS)
def run_duplicates(p: DuplicatesParams) -> DuplicatesResult:
    return DuplicatesResult(p, {"each": run_duplicates_variant(p, 1), "batch": run_duplicates_variant(p, p.batch)})

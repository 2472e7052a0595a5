"""The costs of EDA (notebook 07): what a broker, asynchrony and at-least-once delivery cost.

The guide's closing thought: EDA "adds complexity, requires message brokers, and careful monitoring".
Six small experiments turn that sentence into numbers, each on one seed shared by all its variants:

- ``costs_outage``: the broker is down (or slow) for a window. Publishes are held by the producer and
  accepted when it returns (the client waits about the rest of the outage), dropped, or slowed.
- ``costs_duplicates``: a consumer crashes while it holds processed but unacknowledged messages
  (``ack_every`` on a work queue, ``commit_every`` on a partitioned log): they are redelivered and
  processed again. Side effects (payments charged) double unless the consumer is idempotent.
- ``costs_ordering``: competing consumers on a work queue finish same-key messages out of order; a
  partitioned log keeps each key in one partition, in order, at the price of per-partition queues.
- ``costs_consistency``: a read model updated by a consumer misses an order until the consumer has
  applied it. The window is the consumer's latency; a synchronous write (R/R) has none, but the client
  waits for it instead.
- ``costs_monitoring``: a bad deploy makes consumers fail and slow down; the only signs are consumer
  lag and dead letters, so alerts on both are part of the build.
- ``costs_parts``: the same order flow built both ways: components by kind and network round trips
  per order, counted from the built and run systems.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from .. import theory
from .. import validate as v
from ..broker import Broker, Topic, WorkQueue
from ..consumer import Consumer, consumers
from ..database import Database
from ..distributions import Exponential, Uniform
from ..fault import Crash, Down, FailFraction, Slow
from ..metrics import COMPLETED, DROPPED
from ..panel import Slider
from ..partitioned_log import ConsumerGroup, GroupMember, PartitionedLog
from ..producer import Producer
from ..resilience import OK, Call, soon
from ..service import Client, Downstream, Service
from ..system import System
from ..workload import Poisson
from . import experiment

SEED_MAX = 2**63 - 1


def _tidy(frame, digits: int = 3):
    """A table for reading: whole numbers shown as integers, the rest rounded to ``digits`` decimals."""
    import pandas as pd

    def cell(x):
        x = float(x)
        return int(x) if x.is_integer() else round(x, digits)

    return pd.DataFrame({c: pd.Series([cell(x) for x in frame[c]], index=frame.index, dtype=object)
                         for c in frame.columns})


def _arrays(result, name: str):
    """(status, created, done, key) per message id for subscription ``name`` of a run (numpy views)."""
    system = result.system
    log, msgs = system.logs[name], system.messages
    n = min(len(log.status), msgs.count)
    return (np.frombuffer(log.status, dtype=np.int8, count=n), np.frombuffer(msgs.created, count=n),
            np.frombuffer(log.done, count=n), msgs.keys(n))


# =====================================================================================================
# 1. The broker is a dependency: outage and slowdown
# =====================================================================================================
OUTAGE_VARIANTS = ("buffer", "drop", "slow")


@dataclass(frozen=True, kw_only=True)
class OutageParams:
    """Orders published at ``rate``/s to a broker that is down (or ``slow_factor`` times slower) from
    ``outage_start`` for ``outage`` seconds. A publish normally takes ``publish_latency`` s on average
    (uniform within ±50 %); one billing consumer takes ``service_mean`` s per order."""

    rate: float = 5.0
    outage: float = 10.0
    outage_start: float = 20.0
    slow_factor: float = 20.0
    publish_latency: float = 0.005
    service_mean: float = 0.1
    until: float = 60.0
    seed: int = 1

    def __post_init__(self):
        v.positive("rate", self.rate, 100)
        v.positive("outage", self.outage, 3600)
        v.non_negative("outage_start", self.outage_start, 3600)
        v.number("slow_factor", self.slow_factor, 1.0, 1000.0)
        v.positive("publish_latency", self.publish_latency, 10)
        v.positive("service_mean", self.service_mean, 60)
        v.positive("until", self.until, 1e5)
        v.integer("seed", self.seed, 0, SEED_MAX)
        if self.outage_start + self.outage >= self.until:
            raise ValueError(f"outage_start + outage must end before until={self.until:g} s, got "
                             f"{self.outage_start:g} + {self.outage:g}")

    @property
    def outage_end(self) -> float:
        return self.outage_start + self.outage


OUTAGE_SLIDERS = (
    Slider("outage", 1.0, 30.0, 1.0, unit="s", label="outage length",
           help="how long the broker is down (or slow), starting at t = 20 s"),
    Slider("rate", 1.0, 9.0, 1.0, unit="orders/s", label="order rate", help="orders published per second"),
    Slider("slow_factor", 2.0, 200.0, 2.0, unit="×", label="slowdown",
           help="in the 'slow' variant every publish takes this many times longer (normally 5 ms)"),
)


@dataclass(frozen=True)
class OutageResult:
    """One Result per variant: ``buffer`` (producer holds publishes), ``drop`` (lost), ``slow``."""

    params: OutageParams
    results: dict

    def accept_waits(self, variant: str) -> tuple[np.ndarray, np.ndarray]:
        """(created, wait) per order: how long the producer waited for the broker's acknowledgement
        (s); NaN for an order that was never accepted (dropped)."""
        msgs = self.results[variant].system.messages
        created = np.frombuffer(msgs.created, count=msgs.count)
        return created, np.frombuffer(msgs.accepted, count=msgs.count) - created

    def in_outage(self, variant: str) -> np.ndarray:
        """Mask of the orders created inside the outage window."""
        created, _ = self.accept_waits(variant)
        p = self.params
        return (created >= p.outage_start) & (created < p.outage_end)

    def dropped_times(self, variant: str) -> np.ndarray:
        """Creation times of the orders the broker dropped."""
        status, created, _, _ = _arrays(self.results[variant], "orders")
        return created[status == DROPPED]

    def waiting_over_time(self, variant: str, t: np.ndarray) -> np.ndarray:
        """Orders created but not yet acknowledged by the broker at each time in ``t`` (lost ones excluded)."""
        created, waits = self.accept_waits(variant)
        ok = ~np.isnan(waits)
        c = np.sort(created[ok])
        a = np.sort(created[ok] + waits[ok])
        return np.searchsorted(c, t, side="right") - np.searchsorted(a, t, side="right")

    def lost_over_time(self, variant: str, t: np.ndarray) -> np.ndarray:
        """Orders lost so far (dropped by the broker) at each time in ``t``."""
        return np.searchsorted(np.sort(self.dropped_times(variant)), t, side="right")

    def table(self):
        import pandas as pd

        rows = {}
        for variant, r in self.results.items():
            _, waits = self.accept_waits(variant)
            inside = self.in_outage(variant)
            s = r.summary
            rows[variant] = {
                "orders": s["produced"], "orders_in_window": int(inside.sum()), "lost": s["dropped"],
                "accept_wait_mean_s": s["accept_mean"],
                "accept_wait_max_s": float(np.nanmax(waits)) if np.isfinite(waits).any() else math.nan,
                "end_to_end_p99_s": s["latency_p99"], "completed": s["completed"],
            }
        return _tidy(pd.DataFrame(rows).rename_axis("metric"))


def run_outage_variant(p: OutageParams, variant: str):
    """Orders → work queue "orders" → one billing consumer, with the broker fault of ``variant``."""
    v.choice("variant", variant, OUTAGE_VARIANTS)
    system = System(p.seed, sample_every=p.until / 120)
    latency = Uniform(0.5 * p.publish_latency, 1.5 * p.publish_latency)  # a few ms, never zero
    queue = WorkQueue(system, "orders", publish_latency=latency,
                      when_down="drop" if variant == "drop" else "buffer")
    Consumer(system, queue, "billing", service=Exponential(p.service_mean))
    Producer(system, Poisson(rate=p.rate), queue)
    if variant == "slow":
        system.inject(Slow(target="orders", start=p.outage_start, end=p.outage_end, factor=p.slow_factor))
    else:
        system.inject(Down(target="orders", start=p.outage_start, end=p.outage_end))
    return system.run(p.until)


@experiment("costs_outage", "Broker down or slow: producers wait, buffer or lose orders", OutageParams,
            OUTAGE_SLIDERS)
def run_outage(p: OutageParams) -> OutageResult:
    return OutageResult(p, {variant: run_outage_variant(p, variant) for variant in OUTAGE_VARIANTS})


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


# =====================================================================================================
# 4. Eventual consistency: the window between "accepted" and "visible"
# =====================================================================================================
@dataclass(frozen=True, kw_only=True)
class ConsistencyParams:
    """Orders at ``rate``/s; applying one to the read model (EDA) or writing it (R/R) takes
    ``service_mean`` s (exponential, one worker). A customer reads ``read_after`` s after "accepted"."""

    rate: float = 4.0
    service_mean: float = 0.1
    read_after: float = 0.25
    until: float = 240.0
    seed: int = 1

    def __post_init__(self):
        v.positive("rate", self.rate, 100)
        v.positive("service_mean", self.service_mean, 10)
        v.non_negative("read_after", self.read_after, 3600)
        v.positive("until", self.until, 1e5)
        v.integer("seed", self.seed, 0, SEED_MAX)


CONSISTENCY_SLIDERS = (
    Slider("read_after", 0.0, 2.0, 0.05, unit="s", label="read after",
           help="how long after 'order accepted' the customer opens 'my orders'"),
    Slider("service_mean", 0.02, 0.2, 0.01, unit="s", label="apply time",
           help="mean time to apply one order to the read model (or to write it, in R/R)"),
    Slider("rate", 1.0, 8.0, 0.5, unit="orders/s", label="order rate", help="orders per second"),
)


@dataclass(frozen=True)
class ConsistencyResult:
    """``results["eda"]``: publish, a consumer updates the read model; ``results["rr"]``: synchronous write."""

    params: ConsistencyParams
    results: dict

    def windows(self) -> np.ndarray:
        """EDA: seconds from "accepted" (the publish, instant here) to the order being in the read model."""
        r = self.results["eda"]
        return r.system.logs["order-events"].latencies(r.system.messages)

    def rr_waits(self) -> np.ndarray:
        """R/R: seconds the customer waits for "accepted" (the response comes after the write)."""
        msgs = self.results["rr"].system.messages
        w = np.frombuffer(msgs.accepted, count=msgs.count) - np.frombuffer(msgs.created, count=msgs.count)
        return w[~np.isnan(w)]

    def eda_waits(self) -> np.ndarray:
        """EDA: seconds the customer waits for "accepted" (the broker's publish acknowledgement)."""
        msgs = self.results["eda"].system.messages
        w = np.frombuffer(msgs.accepted, count=msgs.count) - np.frombuffer(msgs.created, count=msgs.count)
        return w[~np.isnan(w)]

    def stale_probability(self, d) -> np.ndarray:
        """Share of orders a read issued ``d`` s after "accepted" misses (EDA), for each d."""
        w = np.sort(self.windows())
        d = np.atleast_1d(np.asarray(d, dtype=float))
        return 1.0 - np.searchsorted(w, d, side="right") / len(w) if len(w) else np.full(d.shape, math.nan)

    def theory_stale(self, d) -> np.ndarray:
        """M/M/1: the time in system is exponential with mean W = 1/(mu - lambda), so P(window > d) = e^(-d/W).
        NaN when the consumer is overloaded (no steady state)."""
        p = self.params
        d = np.atleast_1d(np.asarray(d, dtype=float))
        try:
            w = theory.mm1(p.rate, 1.0 / p.service_mean).response_mean
        except ValueError:
            return np.full(d.shape, math.nan)
        return np.exp(-d / w)

    def table(self):
        import pandas as pd

        p = self.params
        win, rr = self.windows(), self.rr_waits()
        eda = self.eda_waits()
        return _tidy(pd.DataFrame({
            "eda": {"wait_for_accepted_mean_s": eda.mean(), "stale_window_mean_s": win.mean(),
                    "stale_window_p99_s": np.percentile(win, 99),
                    f"stale_read_after_{p.read_after:g}s": float(self.stale_probability(p.read_after)[0])},
            "rr": {"wait_for_accepted_mean_s": rr.mean(), "stale_window_mean_s": 0.0, "stale_window_p99_s": 0.0,
                   f"stale_read_after_{p.read_after:g}s": 0.0},
            "theory_eda_mm1": {"wait_for_accepted_mean_s": 0.0,
                               "stale_window_mean_s": _mm1_mean(p),
                               "stale_window_p99_s": _mm1_quantile(p, 0.99),
                               f"stale_read_after_{p.read_after:g}s": float(self.theory_stale(p.read_after)[0])},
        }).rename_axis("metric"))


def _mm1_mean(p: ConsistencyParams) -> float:
    try:
        return theory.mm1(p.rate, 1.0 / p.service_mean).response_mean
    except ValueError:
        return math.nan


def _mm1_quantile(p: ConsistencyParams, q: float) -> float:
    try:
        return theory.mm1_response_quantile(p.rate, 1.0 / p.service_mean, q)
    except ValueError:
        return math.nan


def run_consistency_arch(p: ConsistencyParams, arch: str):
    """Same orders, same apply/write times (stream "read-model"): EDA read model vs R/R synchronous write."""
    v.choice("arch", arch, ("rr", "eda"))
    system = System(p.seed)
    if arch == "eda":
        target = WorkQueue(system, "order-events")
        Consumer(system, target, "read-model", service=Exponential(p.service_mean), stream="read-model")
    else:
        Service(system, "orders", service=Exponential(p.service_mean), stream="read-model")
        target = Client(system, "orders", name="customer")
    Producer(system, Poisson(rate=p.rate), target)
    return system.run(p.until)


@lru_cache(maxsize=32)
def _consistency_runs(p: ConsistencyParams) -> dict:
    return {arch: run_consistency_arch(p, arch) for arch in ("rr", "eda")}


@experiment("costs_consistency", "Eventual consistency: how long a read model misses a new order",
            ConsistencyParams, CONSISTENCY_SLIDERS)
def run_consistency(p: ConsistencyParams) -> ConsistencyResult:
    # read_after only changes what is read off the runs, so the runs are shared across its values.
    return ConsistencyResult(p, _consistency_runs(replace(p, read_after=0.0)))


# =====================================================================================================
# 5. Monitoring: consumer lag and dead letters, with alert thresholds
# =====================================================================================================
@dataclass(frozen=True, kw_only=True)
class MonitoringParams:
    """A billing group (``consumers`` on ``partitions`` partitions) reads orders at ``rate``/s. From
    ``fault_start`` to ``fault_end`` a bad deploy fails ``fail_fraction`` of attempts and makes each
    ``slow_factor`` times slower; a message failing ``max_attempts`` times is dead-lettered."""

    fail_fraction: float = 0.3
    slow_factor: float = 2.0
    lag_threshold: int = 50
    dlq_threshold: int = 5
    max_attempts: int = 3
    rate: float = 10.0
    service_mean: float = 0.1
    consumers: int = 2
    partitions: int = 4
    fault_start: float = 60.0
    fault_end: float = 120.0
    until: float = 180.0
    seed: int = 1

    def __post_init__(self):
        v.number("fail_fraction", self.fail_fraction, 0.0, 0.95)
        v.number("slow_factor", self.slow_factor, 1.0, 100.0)
        v.integer("lag_threshold", self.lag_threshold, 1, 10**6)
        v.integer("dlq_threshold", self.dlq_threshold, 1, 10**6)
        v.integer("max_attempts", self.max_attempts, 1, 100)
        v.positive("rate", self.rate, 200)
        v.positive("service_mean", self.service_mean, 10)
        v.integer("consumers", self.consumers, 1, 64)
        v.integer("partitions", self.partitions, 1, 256)
        v.window("fault", self.fault_start, self.fault_end)
        v.number("until", self.until, self.fault_end, 1e5, lo_open=True)
        v.integer("seed", self.seed, 0, SEED_MAX)


MONITORING_SLIDERS = (
    Slider("fail_fraction", 0.0, 0.9, 0.05, unit="of attempts", label="failing",
           help="share of processing attempts that fail during the bad deploy (60–120 s)"),
    Slider("slow_factor", 1.0, 5.0, 0.25, unit="×", label="slowdown",
           help="each attempt takes this many times longer during the bad deploy"),
    Slider("lag_threshold", 10, 300, 5, unit="messages", label="lag alert at",
           help="page someone when the consumer group's lag exceeds this"),
    Slider("dlq_threshold", 1, 50, 1, unit="messages", label="dead-letter alert at",
           help="page someone when this many messages have been dead-lettered"),
    Slider("max_attempts", 1, 6, 1, unit="attempts", label="attempts before DLQ",
           help="a message failing this many times goes to the dead-letter queue"),
)


@dataclass(frozen=True)
class MonitoringResult:
    """One Result (``results["eda"]``) and the two alerts read off its time series."""

    params: MonitoringParams
    results: dict

    @property
    def result(self):
        return self.results["eda"]

    def series(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(time, lag, dead-lettered so far), sampled every second."""
        s = self.result.system.series
        return (np.frombuffer(s.t), np.frombuffer(s.columns["billing.lag"]),
                np.frombuffer(s.columns["billing.dead_lettered"]))

    @staticmethod
    def _first_above(t, values, threshold) -> float:
        above = np.flatnonzero(values >= threshold)
        return float(t[above[0]]) if len(above) else math.nan

    def lag_alert_time(self) -> float:
        """First sample (s) at which the lag is at or above ``lag_threshold``; NaN if it never is."""
        t, lag, _ = self.series()
        return self._first_above(t, lag, self.params.lag_threshold)

    def dlq_alert_time(self) -> float:
        t, _, dlq = self.series()
        return self._first_above(t, dlq, self.params.dlq_threshold)

    def normal_lag_max(self) -> float:
        """The highest lag before the fault: the noise an alert threshold must stay above."""
        t, lag, _ = self.series()
        return float(lag[t < self.params.fault_start].max())

    def capacity(self, during_fault: bool) -> float:
        """Messages per second the group can finish: active consumers over the mean time per message,
        which during the fault is ``slow_factor`` × service × expected attempts (1 + f + ... + f^(a-1))."""
        p = self.params
        active = min(p.consumers, p.partitions)
        if not during_fault:
            return active / p.service_mean
        attempts = sum(p.fail_fraction ** i for i in range(p.max_attempts))
        return active / (p.service_mean * p.slow_factor * attempts)

    def theory_lag(self, t) -> np.ndarray:
        """Fluid model of the lag (queueing noise left out): it grows at rate - capacity during the fault
        when that is positive, then drains at the normal capacity - rate."""
        p = self.params
        t = np.asarray(t, dtype=float)
        grow = max(0.0, p.rate - self.capacity(True))
        drain = self.capacity(False) - p.rate
        peak = grow * (p.fault_end - p.fault_start)
        during = grow * (np.clip(t, p.fault_start, p.fault_end) - p.fault_start)
        after = np.maximum(0.0, peak - drain * (t - p.fault_end)) if drain > 0 else np.full(t.shape, peak)
        return np.where(t <= p.fault_end, during, after)

    def theory_dead_letters(self, t) -> np.ndarray:
        """Expected dead letters by time t: during the fault messages are finished at min(rate, capacity)
        per second and each fails all its attempts with probability f^a (independent attempts)."""
        p = self.params
        inside = np.clip(np.asarray(t, dtype=float), p.fault_start, p.fault_end) - p.fault_start
        return min(p.rate, self.capacity(True)) * p.fail_fraction ** p.max_attempts * inside

    def table(self):
        import pandas as pd

        p, s = self.params, self.result.summary
        _, lag, dlq = self.series()
        return _tidy(pd.Series({
            "lag_before_fault_max": self.normal_lag_max(), "lag_max": float(lag.max()),
            "lag_alert_at_s": self.lag_alert_time(), "dead_lettered": s["dead_lettered"],
            "dead_letters_theory": float(self.theory_dead_letters(p.until)),
            "lag_max_theory_fluid": float(self.theory_lag(p.fault_end)),
            "dlq_alert_at_s": self.dlq_alert_time(), "failed_attempts": s["failed"],
            "completed": s["completed"], "produced": s["produced"],
        }, name="value").to_frame())


@lru_cache(maxsize=32)
def _monitoring_run(p: MonitoringParams):
    system = System(p.seed, sample_every=1.0)
    log = PartitionedLog(system, "orders", partitions=p.partitions)
    group = log.group("billing", consumers=p.consumers, service=Exponential(p.service_mean),
                      max_attempts=p.max_attempts)
    system.series.add("billing.dead_lettered", lambda: group.log.dead_lettered)
    Producer(system, Poisson(rate=p.rate), log)
    for member in group.members:
        if p.fail_fraction > 0:
            system.inject(FailFraction(target=member.name, start=p.fault_start, end=p.fault_end,
                                       fraction=p.fail_fraction))
        if p.slow_factor > 1:
            system.inject(Slow(target=member.name, start=p.fault_start, end=p.fault_end, factor=p.slow_factor))
    return system.run(p.until)


@experiment("costs_monitoring", "Monitoring: consumer lag and dead-letter alerts during a bad deploy",
            MonitoringParams, MONITORING_SLIDERS)
def run_monitoring(p: MonitoringParams) -> MonitoringResult:
    # The thresholds only read the run, so runs are shared across their values.
    base = replace(p, lag_threshold=MonitoringParams.lag_threshold, dlq_threshold=MonitoringParams.dlq_threshold)
    return MonitoringResult(p, {"eda": _monitoring_run(base)})


def check_lag_threshold(threshold, quiet_seeds=None, deploy: MonitoringParams | None = None) -> tuple[bool, str]:
    """Exercise check: a lag alert at ``threshold`` must stay silent in healthy runs (no failures, no
    slowdown, seeds ``quiet_seeds``: by default the deploy's seed and the next two) and fire during the bad
    deploy ``deploy`` (default: the default bad deploy, seed 1). Returns (ok, feedback)."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
        return False, f"Enter a number of messages, got {threshold!r}."
    if threshold < 1 or threshold != int(threshold):
        return False, f"Enter a whole number of messages of at least 1, got {threshold!r}."
    threshold = int(threshold)
    deploy = deploy or MonitoringParams()
    quiet_seeds = quiet_seeds or tuple(range(deploy.seed, deploy.seed + 3))
    quiet = [run_monitoring(replace(deploy, fail_fraction=0.0, slow_factor=1.0, lag_threshold=threshold, seed=s))
             for s in quiet_seeds]
    noisy = [r for r in quiet if not math.isnan(r.lag_alert_time())]
    if noisy:
        r = noisy[0]
        return False, (f"False alarm: with nothing wrong (seed {r.params.seed}) the lag reaches "
                       f"{r.series()[1].max():.0f} and the alert fires at {r.lag_alert_time():.0f} s. Go higher.")
    bad = run_monitoring(replace(deploy, lag_threshold=threshold))
    t = bad.lag_alert_time()
    if math.isnan(t):
        return False, (f"Silent: during the bad deploy the lag peaks at {bad.series()[1].max():.0f}, below "
                       f"{threshold}. Nobody is paged. Go lower.")
    return True, (f"Good: no false alarm in {len(quiet_seeds)} healthy runs (their lag stays at or below "
                  f"{max(r.series()[1].max() for r in quiet):.0f}), and the alert fires at {t:.0f} s, "
                  f"{t - bad.params.fault_start:.0f} s into the bad deploy.")


# =====================================================================================================
# 6. Moving parts and hops: the same order flow built both ways
# =====================================================================================================
REACTORS = ("billing", "audit", "email", "shipping", "analytics", "loyalty")


class EventPublisher:
    """The order service's publishing step, as a callee: ``call`` publishes the order's event to
    ``broker`` and answers ok at once (the event is in the broker, or in the producer's outbox while the
    broker is down). It lets a request/response :class:`Service` end its work with a publish."""

    def __init__(self, system, name: str, broker: Broker):
        if not isinstance(broker, Broker):
            raise ValueError(f"broker must be a Broker (Topic, WorkQueue, PartitionedLog), got {broker!r}")
        self.env = system.env
        self.name = system.register(name, self)
        self.broker = broker
        self.published = 0

    def call(self, mid: int, reply):
        self.published += 1
        self.broker.publish(mid)
        soon(self.env, reply, OK)
        return _Sent()


class _Sent:
    __slots__ = ("abandoned",)

    def __init__(self):
        self.abandoned = False


@dataclass(frozen=True, kw_only=True)
class PartsParams:
    """``reactors`` services (billing, audit, ...) must react to each new order. R/R: the order service
    calls them in parallel; EDA: it publishes one event to a topic with one subscription each."""

    reactors: int = 2
    rate: float = 5.0
    orders_service: float = 0.02
    reactor_service: float = 0.05
    until: float = 20.0
    seed: int = 1

    def __post_init__(self):
        v.integer("reactors", self.reactors, 1, len(REACTORS))
        v.positive("rate", self.rate, 100)
        v.positive("orders_service", self.orders_service, 10)
        v.positive("reactor_service", self.reactor_service, 10)
        v.positive("until", self.until, 1e5)
        v.integer("seed", self.seed, 0, SEED_MAX)


PARTS_SLIDERS = (
    Slider("reactors", 1, len(REACTORS), 1, unit="services", label="services reacting",
           help="billing, audit, email, shipping, analytics, loyalty: how many must act on each order"),
)

#: Component kinds, in the order the table and chart show them.
KINDS = ("client", "services (request/response)", "event publisher", "broker", "subscription queues",
         "dead-letter queues", "consumers", "database")


def count_parts(system) -> dict:
    """Registered components of a built system, by kind (see :data:`KINDS`)."""
    counts = dict.fromkeys(KINDS, 0)
    for c in system.components.values():
        if isinstance(c, Client):
            counts["client"] += 1
        elif isinstance(c, Service):
            counts["services (request/response)"] += 1
        elif isinstance(c, EventPublisher):
            counts["event publisher"] += 1
        elif isinstance(c, Database):
            counts["database"] += 1
        elif isinstance(c, (Consumer, GroupMember)):
            counts["consumers"] += 1
        elif isinstance(c, WorkQueue) and c.parent is not c:
            counts["subscription queues"] += 1
            counts["dead-letter queues"] += c.delivery_limit is not None
        elif isinstance(c, Broker):
            counts["broker"] += 1
            counts["dead-letter queues"] += getattr(c, "delivery_limit", None) is not None
        elif isinstance(c, ConsumerGroup):
            pass  # a group is bookkeeping; its members are counted as consumers
    return counts


def round_trips(result) -> dict:
    """Network round trips per order, by kind, measured in a run: calls answered by services, database
    queries, publishes (message + ack) and deliveries to consumers (message + ack)."""
    system = result.system
    n = max(system.messages.count, 1)
    calls = sum(c.received for c in system.components.values() if isinstance(c, Service))
    publishes = sum(c.published for c in system.components.values() if isinstance(c, EventPublisher))
    queries = system.counters.get("db_reads", 0) + system.counters.get("db_writes", 0)
    deliveries = sum(lg.delivered for name, lg in system.logs.items() if name != "shopper")
    return {"calls": calls / n, "database queries": queries / n, "publishes": publishes / n,
            "deliveries": deliveries / n}


def build_order_flow(p: PartsParams, arch: str) -> System:
    """The order flow with ``p.reactors`` reacting services, built as R/R or EDA (not yet run).

    Both: a shopper calls the order service, which stores the order (one database write). R/R: the
    order service then calls every reacting service in parallel and answers when all have. EDA: it
    publishes one OrderPlaced event and answers; a topic gives each reacting service a subscription
    (with a dead-letter queue) and a consumer. Reacting service i takes the same time in both.
    """
    v.choice("arch", arch, ("rr", "eda"))
    system = System(p.seed)
    db = Database(system, "orders-db", connections=5, query_time=Exponential(0.003))
    names = REACTORS[: p.reactors]
    if arch == "rr":
        for name in names:
            Service(system, name, workers=4, service=Exponential(p.reactor_service))
        downstream = Downstream(calls=names, mode="parallel")
    else:
        topic = Topic(system, "order-events")
        for name in names:
            queue = topic.subscribe(f"{name}-queue", delivery_limit=5)
            consumers(system, queue, 1, name=name, service=Exponential(p.reactor_service), stream=name,
                      concurrency=4)
        EventPublisher(system, "orders.publisher", topic)
        downstream = Downstream(calls=("orders.publisher",))
    Service(system, "orders", workers=4, service=Exponential(p.orders_service), db=db, writes=1,
            downstream=downstream)
    client = Client(system, Call(target="orders"), name="shopper")
    Producer(system, Poisson(rate=p.rate), client)
    return system


@dataclass(frozen=True)
class PartsResult:
    """``results["rr"]`` and ``results["eda"]``: the two builds, run on the same orders."""

    params: PartsParams
    results: dict

    def parts(self, arch: str) -> dict:
        return count_parts(self.results[arch].system)

    def round_trips(self, arch: str) -> dict:
        return round_trips(self.results[arch])

    def shopper_wait_p95(self, arch: str) -> float:
        """95th percentile of the shopper's wait for "order placed" (s)."""
        msgs = self.results[arch].system.messages
        w = np.frombuffer(msgs.accepted, count=msgs.count) - np.frombuffer(msgs.created, count=msgs.count)
        w = w[~np.isnan(w)]
        return float(np.percentile(w, 95)) if len(w) else math.nan

    def facts(self, arch: str) -> dict:
        """The numbers of the comparison table for one build."""
        parts, trips = self.parts(arch), self.round_trips(arch)
        n = self.params.reactors
        watch = (parts["services (request/response)"] + parts["consumers"] + parts["broker"]
                 + parts["subscription queues"] + parts["dead-letter queues"] + parts["database"])
        return {
            "moving parts (client excluded)": sum(parts.values()) - parts["client"],
            "network round trips per order": round(sum(trips.values()), 1),
            "asynchronous hand-offs per order (trace must be stitched)": round(trips["publishes"]
                                                                               + trips["deliveries"], 1),
            "things to monitor (error rate, lag or depth)": watch,
            "services named in the order service's code": n if arch == "rr" else 0,
            "shopper's wait p95 (ms)": round(1000 * self.shopper_wait_p95(arch), 1),
        }

    def table(self):
        import pandas as pd

        parts = pd.DataFrame({arch: self.parts(arch) for arch in self.results})
        facts = pd.DataFrame({arch: self.facts(arch) for arch in self.results})
        return _tidy(pd.concat([parts, facts]).rename_axis(f"order flow, {self.params.reactors} reacting services"))


@experiment("costs_parts", "Moving parts and round trips: one order flow built as R/R and as EDA", PartsParams,
            PARTS_SLIDERS)
def run_parts(p: PartsParams) -> PartsResult:
    return PartsResult(p, {arch: build_order_flow(p, arch).run(p.until) for arch in ("rr", "eda")})

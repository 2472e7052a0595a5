"""Architectural flexibility (notebook 05): scaling consumers, replay, backpressure, partitions.

Four experiments, one per claim of the guide's section 5, plus a bug-fix replay:

- ``scaling``: a flash sale swamps a billing consumer group on a partitioned log; extra consumers join
  at ``join_at`` and leave ``stay`` seconds later. The same run without them (same seed, same orders)
  shows the producer publishes exactly the same messages either way; only the lag changes.
- ``replay``: a new analytics service starts at ``join_at`` and needs every past order. EDA: its
  consumer group starts at the earliest retained offset and replays the log. R/R: it fetches each past
  order through the order API (one read of the order database each, ``backfill_rate`` per second),
  while customers keep looking up their orders on the same database.
- ``backpressure``: a flash sale into a bounded work queue with one slow consumer: what each overflow
  policy does at the bound (``reject``, ``drop_oldest``, ``block``) against an unbounded queue.
- ``partitions``: throughput against consumers on a log with ``partitions`` partitions (it stops at
  the partition count) and on a work queue (it keeps growing, but per-key order is lost).
- ``bugfix``: a bug ships at ``bug_at`` and is fixed at ``fixed_at``; the group rewinds to ``bug_at``
  and reprocesses, so every replayed order is a duplicate, and orders older than retention cannot be
  replayed at all.

Every variant of an experiment runs on the same seed with the same stream names, so the orders, their
keys and their processing times are identical across variants.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache

import numpy as np

from .. import theory
from .. import validate as v
from ..broker import OVERFLOW, Topic, WorkQueue
from ..consumer import Consumer, consumers
from ..database import Database
from ..distributions import Deterministic, Exponential
from ..metrics import COMPLETED, DROPPED
from ..panel import Slider
from ..partitioned_log import PartitionedLog
from ..producer import Producer
from ..service import Client, Service
from ..system import System
from ..workload import Poisson, Scheduled
from . import experiment

SEED_MAX = 2**63 - 1


# -- shared helpers ------------------------------------------------------------------------------------
def _log_arrays(result, name: str):
    """Status, done and created times of every message copy one subscription (or client) handled."""
    system = result.system
    log, msgs = system.logs[name], system.messages
    n = min(len(log.status), msgs.count)
    return (np.frombuffer(log.status, dtype=np.int8, count=n), np.frombuffer(log.done, count=n),
            np.frombuffer(msgs.created, count=n))


def _created(result) -> np.ndarray:
    msgs = result.system.messages
    return np.frombuffer(msgs.created, count=msgs.count)


def rate_per_bin(times, until: float, width: float):
    """Events per second in consecutive bins of ``width`` seconds: (bin centres, rates)."""
    edges = np.arange(0.0, until + width / 2, width)
    counts, _ = np.histogram(times, edges)
    return (edges[:-1] + edges[1:]) / 2, counts / width


def sliding_mean(x, y, until: float, width: float, step: float):
    """Mean of ``y`` over points whose ``x`` lies in a window of ``width`` s centred every ``step`` s.

    Windows with no point give NaN (a gap in the line)."""
    order = np.argsort(x, kind="stable")
    x, y = np.asarray(x)[order], np.asarray(y)[order]
    csum = np.concatenate(([0.0], np.cumsum(y)))
    centres = np.arange(width / 2, until - width / 2 + 1e-9, step)
    lo = np.searchsorted(x, centres - width / 2)
    hi = np.searchsorted(x, centres + width / 2)
    n = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, (csum[hi] - csum[lo]) / np.maximum(n, 1), np.nan)
    return centres, mean


def fluid_backlog(t, arrival_rate, capacity) -> np.ndarray:
    """Backlog of a fluid queue on the grid ``t``: it grows at arrival_rate - capacity and never goes
    below zero (the deterministic approximation of a queue whose rates change over time).

    ``arrival_rate`` and ``capacity`` are arrays on the same grid (messages per second)."""
    t = np.asarray(t, dtype=float)
    out = np.zeros_like(t)
    for i in range(1, len(t)):
        dt = t[i] - t[i - 1]
        out[i] = max(0.0, out[i - 1] + (arrival_rate[i - 1] - capacity[i - 1]) * dt)
    return out


# ======================================================================================================
# (a) scaling: consumers join and leave while the producer carries on
# ======================================================================================================
@dataclass(frozen=True, kw_only=True)
class ScalingParams:
    """Orders at ``rate``/s, a flash sale at ``spike_rate``/s from ``spike_start`` for ``spike_length`` s,
    into a log with ``partitions``. The billing group starts with one consumer (``service_mean`` s per
    order); at ``join_at`` it scales to ``consumers`` and back to one after ``stay`` seconds. Each change
    is a rebalance that pauses the group for ``rebalance_time`` s; consumers commit every
    ``commit_every`` orders, so a rebalance redoes up to that many (duplicates)."""

    consumers: int = 3
    join_at: float = 60.0
    stay: float = 90.0
    commit_every: int = 1
    rate: float = 3.0
    spike_rate: float = 10.0
    spike_start: float = 40.0
    spike_length: float = 60.0
    service_mean: float = 0.25
    partitions: int = 6
    rebalance_time: float = 2.0
    until: float = 240.0
    seed: int = 1

    def __post_init__(self):
        v.integer("consumers", self.consumers, 1, 50)
        v.positive("until", self.until, 1e5)
        v.non_negative("join_at", self.join_at, self.until)
        v.positive("stay", self.stay, 1e5)
        v.integer("commit_every", self.commit_every, 1, 10_000)
        v.positive("rate", self.rate, 1e4)
        v.non_negative("spike_rate", self.spike_rate, 1e4)
        v.non_negative("spike_start", self.spike_start, self.until)
        v.positive("spike_length", self.spike_length, 1e5)
        v.positive("service_mean", self.service_mean, 60)
        v.integer("partitions", self.partitions, 1, 1000)
        v.non_negative("rebalance_time", self.rebalance_time, 600)
        v.integer("seed", self.seed, 0, SEED_MAX)

    @property
    def leave_at(self) -> float:
        return self.join_at + self.stay

    def workload(self) -> Scheduled:
        end = self.spike_start + self.spike_length
        return Scheduled(rate=self.rate, spikes=((self.spike_start, end, self.spike_rate),))

    def arrival_rate(self, t):
        """The producer's rate (orders/s) at times ``t``."""
        t = np.asarray(t, dtype=float)
        inside = (t >= self.spike_start) & (t < self.spike_start + self.spike_length)
        return np.where(inside, self.spike_rate, self.rate)


SCALING_SLIDERS = (
    Slider("consumers", 1, 8, 1, label="consumers after scaling",
           help="billing consumers from the join time on (1 = never scale)"),
    Slider("join_at", 0.0, 120.0, 10.0, unit="s", label="extra consumers join at",
           help="when operations adds consumers; the producer is not told"),
    Slider("stay", 10.0, 200.0, 10.0, unit="s", label="they stay for",
           help="after this the group shrinks back to one consumer"),
    Slider("commit_every", 1, 100, 1, label="commit offsets every",
           help="orders processed between offset commits; a rebalance redoes the uncommitted ones"),
)

SCALING_VARIANTS = ("fixed", "scaled")


@dataclass(frozen=True)
class ScalingResult:
    """``results["fixed"]``: one consumer throughout; ``results["scaled"]``: consumers join and leave."""

    params: ScalingParams
    results: dict

    def lag(self, variant: str):
        """(sample times, billing lag in orders)."""
        s = self.results[variant].system.series
        return np.frombuffer(s.t), np.frombuffer(s.columns["billing.lag"])

    def members(self, variant: str):
        s = self.results[variant].system.series
        return np.frombuffer(s.t), np.frombuffer(s.columns["billing.members"])

    def published_rate(self, variant: str, width: float = 5.0):
        """(bin centres, orders published per second)."""
        return rate_per_bin(_created(self.results[variant]), self.params.until, width)

    def processed_rate(self, variant: str, width: float = 5.0):
        """(bin centres, orders processed per second, first processing only)."""
        status, done, _ = _log_arrays(self.results[variant], "billing")
        return rate_per_bin(done[status == COMPLETED], self.params.until, width)

    def same_orders(self) -> bool:
        """True if both runs published the same number of orders at the same times."""
        a, b = _created(self.results["fixed"]), _created(self.results["scaled"])
        return len(a) == len(b) and bool(np.array_equal(a, b))

    def peak_lag(self, variant: str) -> float:
        return float(self.lag(variant)[1].max())

    def drained_at(self, variant: str, threshold: float = 10.0) -> float:
        """First sample after the lag's peak at which it is back under ``threshold`` orders (NaN if never)."""
        t, lag = self.lag(variant)
        after = np.flatnonzero((np.arange(len(lag)) > np.argmax(lag)) & (lag <= threshold))
        return float(t[after[0]]) if len(after) else math.nan

    def fluid(self, variant: str, step: float = 0.5):
        """(t, lag) of the fluid model: lag grows at (arrival rate - active consumers x service rate)."""
        p = self.params
        t = np.arange(0.0, p.until + step / 2, step)
        active = np.ones_like(t)
        paused = np.zeros(len(t), dtype=bool)
        if variant == "scaled" and p.consumers != 1:
            active[(t >= p.join_at) & (t < p.leave_at)] = p.consumers
            for change in (p.join_at, p.leave_at):
                paused |= (t >= change) & (t < change + p.rebalance_time)
        capacity = np.minimum(active, p.partitions) / p.service_mean
        capacity[paused] = 0.0
        return t, fluid_backlog(t, p.arrival_rate(t), capacity)

    def table(self):
        import pandas as pd

        rows = {}
        for variant, r in self.results.items():
            s = r.summary
            rows[variant] = {"produced": s["produced"], "processed": s["completed"],
                             "peak_lag": self.peak_lag(variant), "drained_at_s": self.drained_at(variant),
                             "latency_p95_s": s["latency_p95"], "duplicates": s["duplicates"],
                             "rebalances": r.system.components["billing"].rebalances}
        return pd.DataFrame(rows).rename_axis("metric")


def run_scaling_variant(p: ScalingParams, variant: str):
    v.choice("variant", variant, SCALING_VARIANTS)
    system = System(p.seed, sample_every=1.0)
    log = PartitionedLog(system, "orders", partitions=p.partitions)
    group = log.group("billing", consumers=1, service=Exponential(p.service_mean),
                      commit_every=p.commit_every, rebalance_time=p.rebalance_time)
    if variant == "scaled" and p.consumers != 1:
        group.scale_at(p.join_at, p.consumers)
        if p.leave_at < p.until:
            group.scale_at(p.leave_at, 1)
    Producer(system, p.workload(), log, name="order-service")
    return system.run(p.until)


@lru_cache(maxsize=32)
def _fixed_run(p: ScalingParams):
    """The one-consumer run ignores the scaling sliders: cache it on everything else."""
    base = replace(p, consumers=1, join_at=0.0, stay=10.0)
    if base != p:
        return _fixed_run(base)
    return run_scaling_variant(p, "fixed")


@experiment("scaling", "Consumers join and leave a busy group; the producer is untouched", ScalingParams,
            SCALING_SLIDERS)
def run_scaling(p: ScalingParams) -> ScalingResult:
    return ScalingResult(p, {"fixed": _fixed_run(p), "scaled": run_scaling_variant(p, "scaled")})


# ======================================================================================================
# (b) replay from the log vs an R/R backfill through the source's API
# ======================================================================================================
@dataclass(frozen=True, kw_only=True)
class ReplayParams:
    """Orders at ``order_rate``/s into a log (``partitions``, ``retention`` s). At ``join_at`` a new
    analytics service (``replay_consumers`` consumers, ``replay_service_mean`` s per order) needs every
    past order. Customers look up orders at ``lookup_rate``/s through the order API: one read of the
    order database (``connections``, ``query_mean`` s per query) each. The R/R backfill fetches each
    past order through the same API at ``backfill_rate`` reads/s (at random moments, Poisson)."""

    backfill_rate: float = 10.0
    retention: float = 120.0
    replay_consumers: int = 1
    order_rate: float = 5.0
    join_at: float = 60.0
    replay_service_mean: float = 0.05
    partitions: int = 4
    lookup_rate: float = 4.0
    connections: int = 2
    query_mean: float = 0.1
    until: float = 150.0
    seed: int = 1

    def __post_init__(self):
        v.positive("backfill_rate", self.backfill_rate, 1e4)
        v.positive("retention", self.retention, 1e7)
        v.integer("replay_consumers", self.replay_consumers, 1, 100)
        v.positive("order_rate", self.order_rate, 1e4)
        v.positive("until", self.until, 1e5)
        v.number("join_at", self.join_at, 0.0, self.until, lo_open=True, hi_open=True)
        v.positive("replay_service_mean", self.replay_service_mean, 60)
        v.integer("partitions", self.partitions, 1, 1000)
        v.positive("lookup_rate", self.lookup_rate, 1e4)
        v.integer("connections", self.connections, 1, 1000)
        v.positive("query_mean", self.query_mean, 60)
        v.integer("seed", self.seed, 0, SEED_MAX)

    @property
    def service_rate(self) -> float:
        """Queries per second one database connection finishes (1 / query_mean)."""
        return 1.0 / self.query_mean


REPLAY_SLIDERS = (
    Slider("backfill_rate", 1.0, 20.0, 1.0, unit="reads/s", label="R/R backfill speed",
           help="reads per second the backfill sends the order database; it can serve 20/s in all"),
    Slider("retention", 10.0, 120.0, 10.0, unit="s", label="log retention",
           help="how long the log keeps an order; the history is 60 s old at the start"),
    Slider("replay_consumers", 1, 6, 1, label="replaying consumers",
           help="consumers of the new service's group (the log has 4 partitions)"),
)

ARCH_NAMES = {"rr": "backfill through the API (R/R)", "eda": "replay from the log (EDA)"}


@dataclass(frozen=True)
class ReplayResult:
    """``results["eda"]``: the new group replays the log; ``results["rr"]``: it backfills through the API.

    ``history``: orders created before the new service started (all in the database);
    ``retained``: those the log still held then; ``backfill_done``: when each backfill read finished."""

    params: ReplayParams
    results: dict
    history: int
    retained: int
    backfill_done: np.ndarray

    def db_reads(self, arch: str) -> int:
        return self.results[arch].system.components["orders-db"].reads

    def lookups_done(self, arch: str) -> int:
        """Customer lookups answered (one database read each)."""
        return self.results[arch].system.components["order-api"].ok

    def extra_reads(self, arch: str) -> int:
        """Database reads beyond the customers' own: what getting the history cost the source."""
        return self.db_reads(arch) - self.lookups_done(arch)

    def db_load(self, arch: str):
        """(sample times, queries per second the order database finished)."""
        s = self.results[arch].system.series
        return np.frombuffer(s.t), np.frombuffer(s.columns["orders-db.qps"])

    def lookup_latencies(self, arch: str):
        """(created, seconds) of every answered customer lookup."""
        status, done, created = _log_arrays(self.results[arch], "customers")
        ok = status == COMPLETED
        return created[ok], done[ok] - created[ok]

    def lookup_latency_curve(self, arch: str, width: float = 10.0, step: float = 2.0):
        """Mean lookup response time (s) over a sliding window of ``width`` s."""
        created, lat = self.lookup_latencies(arch)
        return sliding_mean(created, lat, self.params.until, width, step)

    def history_times(self, arch: str) -> np.ndarray:
        """When the new service got each past order (sorted): replayed from the log, or read via the API."""
        if arch == "rr":
            return np.sort(self.backfill_done)
        status, done, created = _log_arrays(self.results[arch], "analytics")
        past = (status == COMPLETED) & (created < self.params.join_at)
        return np.sort(done[past])

    def history_curve(self, arch: str):
        """(t, past orders obtained by t), a step curve from ``join_at`` to the end."""
        times = self.history_times(arch)
        t = np.concatenate(([self.params.join_at], times, [self.params.until]))
        n = np.concatenate(([0], np.arange(1, len(times) + 1), [len(times)]))
        return t, n

    def history_ready_at(self, arch: str) -> float:
        """When the new service had all the history it will ever get (NaN if it did not finish)."""
        times = self.history_times(arch)
        target = self.history if arch == "rr" else self.retained
        return float(times[-1]) if len(times) == target and len(times) else math.nan

    def backfill_window(self) -> tuple[float, float]:
        done = self.backfill_done
        return self.params.join_at, float(done.max()) if len(done) else self.params.join_at

    def mean_lookup_latency(self, arch: str, start: float, end: float) -> float:
        created, lat = self.lookup_latencies(arch)
        inside = (created >= start) & (created < end)
        return float(lat[inside].mean()) if inside.any() else math.nan

    def theory_latency(self, with_backfill: bool) -> float:
        """M/M/c mean response time of a lookup: Poisson lookups (plus the Poisson backfill reads) on
        ``connections`` connections. NaN when that load is more than the database can serve."""
        p = self.params
        lam = p.lookup_rate + (p.backfill_rate if with_backfill else 0.0)
        if lam >= p.connections * p.service_rate:
            return math.nan
        return theory.mmc(lam, p.service_rate, p.connections).response_mean

    def theory_curve(self):
        """(t, mean lookup response time) by M/M/c, with the backfill's expected window."""
        p = self.params
        end = p.join_at + self.history / p.backfill_rate
        base, busy = self.theory_latency(False), self.theory_latency(True)
        return (np.array([0.0, p.join_at, p.join_at, end, end, p.until]),
                np.array([base, base, busy, busy, base, base]))

    def table(self):
        import pandas as pd

        start, end = self.backfill_window()
        rows = {}
        for arch in ("eda", "rr"):
            rows[ARCH_NAMES[arch]] = {
                "past_orders_obtained": len(self.history_times(arch)),
                "history_ready_at_s": self.history_ready_at(arch),
                "extra_db_reads": self.extra_reads(arch),
                "lookup_latency_during_backfill_s": self.mean_lookup_latency(arch, start, end),
                "lookup_latency_before_s": self.mean_lookup_latency(arch, 0.0, self.params.join_at),
            }
        return pd.DataFrame(rows).rename_axis("metric")


def _read_one(db, done: list):
    yield from db.query("read")
    done.append(db.env.now)


def _backfill(system, db, p: ReplayParams, count, done: list):
    """The R/R backfill: at ``join_at`` learn how many orders exist, then read each one, at random
    moments averaging ``backfill_rate`` per second (each read is independent: a slow one does not hold
    back the next)."""
    env = system.env
    yield env.timeout(p.join_at)
    n = count()
    gaps = system.streams.generator("backfill").exponential(1.0 / p.backfill_rate, n)
    for gap in gaps:
        env.process(_read_one(db, done))
        yield env.timeout(gap)


def run_replay_variant(p: ReplayParams, arch: str):
    """One system: (Result, history, retained, backfill read times)."""
    v.choice("arch", arch, ("rr", "eda"))
    system = System(p.seed, sample_every=2.0)
    db = Database(system, "orders-db", connections=p.connections, query_time=Exponential(p.query_mean))
    Service(system, "order-api", workers=10_000, service=Deterministic(0.0), db=db, reads=1)
    customers = Client(system, "order-api", name="customers")
    Producer(system, Poisson(rate=p.lookup_rate), customers, name="customer-lookups", stream="lookups")
    log = PartitionedLog(system, "orders", partitions=p.partitions, retention=p.retention)
    Producer(system, Poisson(rate=p.order_rate), log, name="order-service")
    seen = {}
    done: list[float] = []

    def join(_):
        seen["history"] = sum(log.end(q) for q in range(p.partitions))
        seen["retained"] = sum(log.end(q) - log.start[q] for q in range(p.partitions))
        log.group("analytics", consumers=p.replay_consumers, service=Exponential(p.replay_service_mean),
                  start="earliest" if arch == "eda" else "latest")

    system.env.timeout(p.join_at).callbacks.append(join)
    if arch == "rr":
        system.env.process(_backfill(system, db, p, lambda: seen["history"], done))
    result = system.run(p.until)
    if "history" not in seen:  # a bound stopped the run before join_at: nobody joined, nothing was replayed
        seen["history"] = seen["retained"] = 0
    return result, seen["history"], seen["retained"], np.asarray(done)


@lru_cache(maxsize=32)
def _replay_eda(p: ReplayParams):
    base = replace(p, backfill_rate=ReplayParams.backfill_rate)  # the replay never reads the database
    if base != p:
        return _replay_eda(base)
    return run_replay_variant(p, "eda")


@lru_cache(maxsize=32)
def _replay_rr(p: ReplayParams):
    # The backfill reads the database, not the log: retention and the group size do not change it.
    base = replace(p, retention=ReplayParams.retention, replay_consumers=ReplayParams.replay_consumers)
    if base != p:
        return _replay_rr(base)
    return run_replay_variant(p, "rr")


@experiment("replay", "A new service gets the history: replay the log (EDA) vs backfill via the API (R/R)",
            ReplayParams, REPLAY_SLIDERS)
def run_replay(p: ReplayParams) -> ReplayResult:
    eda, history, retained, _ = _replay_eda(p)
    rr, history_rr, _, done = _replay_rr(p)
    if not (eda.bound_hit or rr.bound_hit):
        assert history == history_rr  # same seed, same orders
    return ReplayResult(p, {"rr": rr, "eda": eda}, max(history, history_rr), retained, done)


# ======================================================================================================
# (c) backpressure: a bounded queue and a slow consumer
# ======================================================================================================
POLICIES = ("unbounded", *OVERFLOW)


@dataclass(frozen=True, kw_only=True)
class BackpressureParams:
    """Orders at ``rate``/s with a flash sale at ``spike_rate``/s from ``spike_start`` for
    ``spike_length`` s, into a work queue holding at most ``capacity`` ready messages (``policy`` says
    what a full queue does; ``"unbounded"`` has no bound). One consumer takes ``service_mean`` s per
    order and holds up to ``prefetch`` unacknowledged messages."""

    policy: str = "block"
    capacity: int = 100
    prefetch: int = 10
    rate: float = 2.5
    spike_rate: float = 15.0
    spike_start: float = 40.0
    spike_length: float = 30.0
    service_mean: float = 0.2
    until: float = 200.0
    seed: int = 1

    def __post_init__(self):
        v.choice("policy", self.policy, POLICIES)
        v.integer("capacity", self.capacity, 1, 10**6)
        v.integer("prefetch", self.prefetch, 1, 10_000)
        v.positive("rate", self.rate, 1e4)
        v.non_negative("spike_rate", self.spike_rate, 1e4)
        v.positive("until", self.until, 1e5)
        v.non_negative("spike_start", self.spike_start, self.until)
        v.positive("spike_length", self.spike_length, 1e5)
        v.positive("service_mean", self.service_mean, 60)
        v.integer("seed", self.seed, 0, SEED_MAX)

    def workload(self) -> Scheduled:
        end = self.spike_start + self.spike_length
        return Scheduled(rate=self.rate, spikes=((self.spike_start, end, self.spike_rate),))

    def fluid_peak(self) -> float:
        """Messages the spike leaves waiting if nothing is lost: (spike_rate - 1/service_mean) x length."""
        return max(0.0, (self.spike_rate - 1.0 / self.service_mean) * self.spike_length)


BACKPRESSURE_SLIDERS = (
    Slider("policy", options=POLICIES, label="when the queue is full",
           help="unbounded: no limit; reject the new order; drop the oldest; block the producer"),
    Slider("capacity", 10, 400, 10, unit="messages", label="queue capacity",
           help="ready messages the queue holds (not counting the consumer's prefetched ones)"),
    Slider("prefetch", 1, 100, 1, unit="messages", label="consumer prefetch",
           help="unacknowledged messages the consumer may hold at once"),
)


@dataclass(frozen=True)
class BackpressureResult:
    """One run of one policy; ``results = {policy: Result}``."""

    params: BackpressureParams
    results: dict

    @property
    def result(self):
        return self.results[self.params.policy]

    def where_waiting(self):
        """(t, in the queue, prefetched by the consumer, held back at the producer) at each sample."""
        s = self.result.system.series
        t = np.frombuffer(s.t)
        created = _created(self.result)
        accepted = np.frombuffer(self.result.system.messages.accepted, count=len(created))
        # A publish is held back while created <= t < accepted (NaN: never accepted before the end).
        c = np.sort(created)
        a = np.sort(np.where(np.isnan(accepted), np.inf, accepted))
        held = np.searchsorted(c, t, side="right") - np.searchsorted(a, t, side="right")
        return (t, np.frombuffer(s.columns["orders.depth"]), np.frombuffer(s.columns["orders.unacked"]),
                held.astype(float))

    def lost_curve(self):
        """(t, orders lost so far): a step curve of drops."""
        status, done, _ = _log_arrays(self.result, "orders")
        times = np.sort(done[status == DROPPED])
        return (np.concatenate(([0.0], times, [self.params.until])),
                np.concatenate(([0], np.arange(1, len(times) + 1), [len(times)])))

    def producer_wait(self, width: float = 4.0, step: float = 2.0):
        """Mean seconds the producer waited for the broker to accept a publish, by creation time."""
        created = _created(self.result)
        accepted = np.frombuffer(self.result.system.messages.accepted, count=len(created))
        wait = np.where(np.isnan(accepted), self.params.until - created, accepted - created)
        return sliding_mean(created, wait, self.params.until, width, step)

    def latency(self, width: float = 4.0, step: float = 2.0):
        """Mean seconds from order to processed, for orders processed, by creation time."""
        status, done, created = _log_arrays(self.result, "orders")
        ok = status == COMPLETED
        return sliding_mean(created[ok], done[ok] - created[ok], self.params.until, width, step)

    def peak_queue(self) -> int:
        """The most ready messages the queue ever held, exactly (the sampled gauge can miss a peak that
        falls between two samples): each message is in the queue from its acceptance until a consumer
        takes it or it is dropped. At equal times departures count first, as the capacity check does."""
        status, done, _ = _log_arrays(self.result, "orders")
        n = len(status)
        accepted = np.frombuffer(self.result.system.messages.accepted, count=n)
        taken = np.frombuffer(self.result.system.logs["orders"].taken, count=n)
        entered = ~np.isnan(accepted)  # a publish still blocked at the end never entered
        leave = np.where(~np.isnan(taken), taken, np.where(status == DROPPED, done, np.inf))[entered]
        k = int(entered.sum())
        times = np.concatenate((leave, accepted[entered]))
        steps = np.concatenate((-np.ones(k), np.ones(k)))
        order = np.lexsort((steps, times))
        return int(np.cumsum(steps[order]).max(initial=0))

    def numbers(self) -> dict:
        s = self.result.summary
        created = _created(self.result)
        accepted = np.frombuffer(self.result.system.messages.accepted, count=len(created))
        wait = np.where(np.isnan(accepted), self.params.until - created, accepted - created)
        t, depth, unacked, held = self.where_waiting()
        return {"lost": s["dropped"], "lost_share": s["dropped"] / s["produced"],
                "producer_wait_max_s": float(wait.max()) if len(wait) else 0.0,
                "producer_wait_mean_s": float(wait.mean()) if len(wait) else 0.0,
                "latency_p95_s": s["latency_p95"], "peak_queue": self.peak_queue(),
                "peak_held_by_producer": float(held.max()),
                "peak_backlog": float((depth + unacked + held).max()), "processed": s["completed"]}

    def table(self):
        import pandas as pd

        return pd.DataFrame({self.params.policy: self.numbers()}).rename_axis("metric")


def run_backpressure_policy(p: BackpressureParams):
    system = System(p.seed, sample_every=1.0)
    bounded = p.policy != "unbounded"
    q = WorkQueue(system, "orders", capacity=p.capacity if bounded else None,
                  overflow=p.policy if bounded else "reject")
    Consumer(system, q, "slow-consumer", service=Exponential(p.service_mean), prefetch=p.prefetch)
    Producer(system, p.workload(), q, name="order-service")
    return system.run(p.until)


@lru_cache(maxsize=64)
def _backpressure_run(p: BackpressureParams):
    if p.policy == "unbounded" and p.capacity != BackpressureParams.capacity:  # capacity is not used
        return _backpressure_run(replace(p, capacity=BackpressureParams.capacity))
    return run_backpressure_policy(p)


def _backpressure(p: BackpressureParams) -> BackpressureResult:
    return BackpressureResult(p, {p.policy: _backpressure_run(p)})


@experiment("backpressure", "A slow consumer behind a bounded queue: reject, drop the oldest or block",
            BackpressureParams, BACKPRESSURE_SLIDERS)
def run_backpressure(p: BackpressureParams) -> BackpressureResult:
    return _backpressure(p)


def compare_policies(p: BackpressureParams) -> dict:
    """{policy: BackpressureResult} for every policy at these settings (each run cached)."""
    return {policy: _backpressure(replace(p, policy=policy)) for policy in POLICIES}


# ======================================================================================================
# (d) partitions cap a group's parallelism; a work queue does not, but loses per-key order
# ======================================================================================================
MAX_CONSUMERS = 12


@dataclass(frozen=True, kw_only=True)
class PartitionsParams:
    """Orders at ``rate``/s (more than all consumers together can take) with ``keys`` distinct keys,
    ``service_mean`` s each. ``consumers`` read them from a log with ``partitions`` partitions (a
    consumer group) or from a work queue (competing consumers); throughput is orders processed per
    second over ``until`` s."""

    partitions: int = 6
    consumers: int = 8
    rate: float = 130.0
    service_mean: float = 0.1
    keys: int = 100
    until: float = 10.0
    seed: int = 1

    def __post_init__(self):
        v.integer("partitions", self.partitions, 1, 1000)
        v.integer("consumers", self.consumers, 1, 1000)
        v.positive("rate", self.rate, 1e5)
        v.positive("service_mean", self.service_mean, 60)
        v.integer("keys", self.keys, 1, 10**6)
        v.positive("until", self.until, 1e4)
        v.integer("seed", self.seed, 0, SEED_MAX)

    def ceiling(self, n) -> np.ndarray:
        """Theory: a group processes at most min(consumers, busy partitions) / service_mean orders/s,
        and no more than arrive. With ``keys`` keys only min(keys, partitions) partitions get orders."""
        busy = min(self.partitions, self.keys)
        return np.minimum(np.minimum(np.asarray(n, dtype=float), busy) / self.service_mean, self.rate)


PARTITIONS_SLIDERS = (
    Slider("partitions", 1, MAX_CONSUMERS, 1, label="partitions", help="partitions of the orders topic"),
    Slider("consumers", 1, MAX_CONSUMERS, 1, label="consumers", help="consumers in the group (and on the queue)"),
)


def out_of_order_share(result, name: str) -> float:
    """Share of processed orders that finished before an earlier order with the same key finished.

    Orders not processed by the end count as finishing at infinity (still pending)."""
    status, done, _ = _log_arrays(result, name)
    keys = result.system.messages.keys(len(status))
    mine = status != 0
    ids = np.flatnonzero(mine)
    if len(ids) < 2:
        return 0.0
    fin = np.where(status[ids] == COMPLETED, done[ids], np.inf)
    order = np.lexsort((ids, keys[ids]))  # by key, then creation order
    k, fin, ok = keys[ids][order], fin[order], (status[ids] == COMPLETED)[order]
    first = np.concatenate(([True], k[1:] != k[:-1]))
    # running maximum of finish times within each key: restart it at every key's first order
    seg = np.cumsum(first) - 1
    pending = result.elapsed + 0.5  # later than any finish, earlier than the next key's offset
    shifted = np.where(np.isinf(fin), pending, fin) + seg * 2 * (result.elapsed + 1.0)
    running = np.maximum.accumulate(shifted)
    earlier = np.concatenate(([-np.inf], running[:-1]))
    late = ~first & ok & (shifted < earlier)
    return float(late.sum() / ok.sum()) if ok.any() else 0.0


@dataclass(frozen=True)
class PartitionsResult:
    """A consumer group on the log and competing consumers on a work queue, ``params.consumers`` each.

    The numbers come from the cached sweep systems (:func:`sweep_system`), where group n processes
    exactly as a run with n consumers does, so moving the consumers slider runs nothing. ``results``
    holds the two single runs themselves, built on first use (the command line shows their summaries).
    """

    params: PartitionsParams

    @cached_property
    def results(self) -> dict:
        return {b: _partitions_run(self.params, b) for b in ("log", "queue")}

    def _run(self, broker: str):
        """(Result, name of the subscription or group) holding this size's numbers."""
        n = self.params.consumers
        if n <= MAX_CONSUMERS:
            return _sweep(self.params, broker, MAX_CONSUMERS), f"group{n}" if broker == "log" else f"queue{n}"
        return self.results[broker], "workers" if broker == "log" else "orders"

    def throughput(self, broker: str) -> float:
        result, name = self._run(broker)
        return result.system.logs[name].completed / self.params.until

    def partitions_per_consumer(self) -> list[int]:
        result, group = self._run("log")  # a group's delivery log has the group's name
        return [len(m.partitions) for m in result.system.components[group].members]

    def out_of_order(self, broker: str) -> float:
        result, name = self._run(broker)
        return out_of_order_share(result, name)

    def table(self):
        import pandas as pd

        p = self.params
        rows = {}
        for broker in ("log", "queue"):
            rows[broker] = {"throughput_per_s": self.throughput(broker),
                            "theory_ceiling_per_s": float(p.ceiling(p.consumers)) if broker == "log"
                            else min(p.consumers / p.service_mean, p.rate),
                            "idle_consumers": sum(n == 0 for n in self.partitions_per_consumer())
                            if broker == "log" else 0,
                            "out_of_order_share": self.out_of_order(broker)}
        return pd.DataFrame(rows).rename_axis("metric")


def run_partitions_broker(p: PartitionsParams, broker: str):
    """One system: a consumer group on a log, or competing consumers on a work queue. Both use the
    stream ``service:workers``, so order i takes the same time either way."""
    v.choice("broker", broker, ("log", "queue"))
    system = System(p.seed, keys=p.keys, sample_every=p.until)
    if broker == "log":
        target = PartitionedLog(system, "orders", partitions=p.partitions)
        target.group("workers", consumers=p.consumers, service=Exponential(p.service_mean))
    else:
        target = WorkQueue(system, "orders")
        consumers(system, target, p.consumers, service=Exponential(p.service_mean), stream="workers",
                  name="worker")
    Producer(system, Poisson(rate=p.rate, keys=p.keys), target, name="order-service")
    return system.run(p.until)


@lru_cache(maxsize=256)
def _partitions_run(p: PartitionsParams, broker: str):
    if broker == "queue" and p.partitions != PartitionsParams.partitions:  # a queue has no partitions
        return _partitions_run(replace(p, partitions=PartitionsParams.partitions), broker)
    return run_partitions_broker(p, broker)


@experiment("partitions", "Partitions cap a consumer group's parallelism; a queue does not, but loses order",
            PartitionsParams, PARTITIONS_SLIDERS)
def run_partitions(p: PartitionsParams) -> PartitionsResult:
    result = PartitionsResult(p)
    for broker in ("log", "queue"):
        result._run(broker)  # run (or fetch from the cache) inside this experiment's budget, not later
    return result


def sweep_system(p: PartitionsParams, broker: str, max_consumers: int = MAX_CONSUMERS):
    """One system holding the whole sweep: a log with one consumer group per size 1..max_consumers
    (groups are independent readers), or a topic with one work queue per size. Every group and queue
    uses the stream ``service:workers``, so group n processes exactly as the single run with n
    consumers does, and the orders are published once instead of once per size."""
    v.choice("broker", broker, ("log", "queue"))
    v.integer("max_consumers", max_consumers, 1, 100)
    system = System(p.seed, keys=p.keys, sample_every=p.until)  # no time series needed: skip the gauges
    service = Exponential(p.service_mean)
    if broker == "log":
        target = PartitionedLog(system, "orders", partitions=p.partitions)
        for n in range(1, max_consumers + 1):
            target.group(f"group{n}", consumers=n, service=service, stream="workers")
    else:
        target = Topic(system, "orders")
        for n in range(1, max_consumers + 1):
            consumers(system, target.subscribe(f"queue{n}"), n, service=service, stream="workers")
    Producer(system, Poisson(rate=p.rate, keys=p.keys), target, name="order-service")
    return system.run(p.until)


@lru_cache(maxsize=64)
def throughput_vs_consumers(p: PartitionsParams, max_consumers: int = MAX_CONSUMERS) -> dict:
    """For n = 1..max_consumers: throughput (orders/s) and out-of-order share, log and queue.

    Cached on everything but ``consumers``, and the queue's sweep ignores ``partitions`` too, so moving
    the consumers slider reruns no sweep and moving the partitions slider reruns only the log's."""
    base = replace(p, consumers=1)
    if base != p:
        return throughput_vs_consumers(base, max_consumers)
    n = np.arange(1, max_consumers + 1)
    out = {"consumers": n}
    for broker, prefix in (("log", "group"), ("queue", "queue")):
        result = _sweep(p, broker, max_consumers)
        out[f"{broker}_throughput"] = np.array([result.system.logs[f"{prefix}{k}"].completed for k in n]) / p.until
        out[f"{broker}_out_of_order"] = np.array([out_of_order_share(result, f"{prefix}{k}") for k in n])
    return out


@lru_cache(maxsize=64)
def _sweep(p: PartitionsParams, broker: str, max_consumers: int):
    """The sweep system, cached on everything but ``consumers`` (and ``partitions`` for the queue)."""
    base = replace(p, consumers=1)
    if broker == "queue":  # a queue has no partitions
        base = replace(base, partitions=PartitionsParams.partitions)
    if base != p:
        return _sweep(base, broker, max_consumers)
    return sweep_system(p, broker, max_consumers)


# ======================================================================================================
# bug fix: rewind the group and reprocess; duplicates, and what retention has already deleted
# ======================================================================================================
@dataclass(frozen=True, kw_only=True)
class BugfixParams:
    """Orders at ``rate``/s into a log kept ``retention`` s. A billing bug ships at ``bug_at`` and is
    fixed at ``fixed_at``; the fixed group rewinds to ``bug_at`` and reprocesses what the log holds."""

    retention: float = 120.0
    bug_at: float = 30.0
    fixed_at: float = 90.0
    rate: float = 5.0
    service_mean: float = 0.05
    partitions: int = 4
    until: float = 150.0
    seed: int = 1

    def __post_init__(self):
        v.positive("retention", self.retention, 1e7)
        v.positive("until", self.until, 1e5)
        v.non_negative("bug_at", self.bug_at, self.until)
        v.number("fixed_at", self.fixed_at, self.bug_at, self.until, lo_open=True)
        v.positive("rate", self.rate, 1e4)
        v.positive("service_mean", self.service_mean, 60)
        v.integer("partitions", self.partitions, 1, 1000)
        v.integer("seed", self.seed, 0, SEED_MAX)


@dataclass(frozen=True)
class BugfixResult:
    params: BugfixParams
    results: dict
    rewound: int

    def numbers(self) -> dict:
        p = self.params
        created = _created(self.results["run"])
        affected = int(((created >= p.bug_at) & (created < p.fixed_at)).sum())
        return {"orders_hit_by_the_bug": affected, "reprocessed": self.rewound,
                "duplicates": self.results["run"].summary["duplicates"],
                "could_not_be_replayed": affected - min(affected, self.rewound)}

    def table(self):
        import pandas as pd

        return pd.DataFrame({f"retention {self.params.retention:g} s": self.numbers()}).rename_axis("metric")


@experiment("bugfix", "Fix a bug, rewind the group, reprocess: duplicates and the retention horizon",
            BugfixParams)
def run_bugfix(p: BugfixParams) -> BugfixResult:
    system = System(p.seed)
    log = PartitionedLog(system, "orders", partitions=p.partitions, retention=p.retention)
    group = log.group("billing", consumers=1, service=Exponential(p.service_mean))
    Producer(system, Poisson(rate=p.rate), log, name="order-service")
    moved = {}
    system.env.timeout(p.fixed_at).callbacks.append(lambda _: moved.update(n=group.rewind(to=p.bug_at)))
    result = system.run(p.until)
    return BugfixResult(p, {"run": result}, moved.get("n", 0))

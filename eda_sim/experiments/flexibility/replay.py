"""A new service gets the history: replay the log vs backfill through the API (experiment ``replay``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from ... import theory
from ... import validate as v
from ...database import Database
from ...distributions import Deterministic, Exponential
from ...lab.panel import Slider
from ...metrics import COMPLETED
from ...partitioned_log import PartitionedLog
from ...producer import Producer
from ...service import Client, Service
from ...system import System
from ...workload import Poisson
from .. import experiment
from ._common import SEED_MAX, _log_arrays, sliding_mean


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

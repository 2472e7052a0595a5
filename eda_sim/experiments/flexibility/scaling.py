"""Consumers join and leave a busy group (experiment ``scaling``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from ... import validate as v
from ...distributions import Exponential
from ...lab.panel import Slider
from ...metrics import COMPLETED
from ...partitioned_log import PartitionedLog
from ...producer import Producer
from ...system import System
from ...workload import Scheduled
from .. import experiment
from ._common import SEED_MAX, _created, _log_arrays, fluid_backlog, rate_per_bin


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

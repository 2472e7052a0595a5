"""Broker down or slow: producers wait, buffer or lose orders (experiment ``costs_outage``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ... import validate as v
from ...broker import WorkQueue
from ...consumer import Consumer
from ...distributions import Exponential, Uniform
from ...fault import Down, Slow
from ...lab.panel import Slider
from ...metrics import DROPPED
from ...producer import Producer
from ...system import System
from ...workload import Poisson
from .. import experiment
from ._common import SEED_MAX, _arrays, _tidy

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

"""Eventual consistency: how long a read model misses a new order (experiment ``costs_consistency``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from ... import theory
from ... import validate as v
from ...broker import WorkQueue
from ...consumer import Consumer
from ...distributions import Exponential
from ...lab.panel import Slider
from ...producer import Producer
from ...service import Client, Service
from ...system import System
from ...workload import Poisson
from .. import experiment
from ._common import SEED_MAX, _tidy


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

"""Notebook 03's experiments: fanout (the package docstring says what each experiment shows)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from ... import theory
from ... import validate as v
from ...comparison import build_rr
from ...lab.panel import Slider
from .. import experiment
from ..comparisons import FanoutParams, fanout_spec
from .outage import SEED_MAX

MAX_LEAVES = 100
P_SLOW = (0.01, 0.02, 0.05)
SWEEP_N = (1, 2, 5, 10, 20, 30, 50, 70, 100)


@dataclass(frozen=True, kw_only=True)
class FanoutSweepParams:
    """Requests at ``rate``/s, each needing ``leaves`` backends (out of 100 simulated); a leaf answers in
    ``fast`` s, or ``slow`` s with probability ``p_slow``. A request is slow past the midpoint."""

    leaves: int = 20
    p_slow: float = 0.01
    fast: float = 0.01
    slow: float = 0.5
    rate: float = 10.0
    until: float = 30.0
    seed: int = 1

    def __post_init__(self):
        v.integer("leaves", self.leaves, 1, MAX_LEAVES)
        v.fraction("p_slow", self.p_slow)
        v.positive("fast", self.fast, 100.0)
        v.number("slow", self.slow, self.fast, 1000.0, lo_open=True)
        v.positive("rate", self.rate, 1e3)
        v.positive("until", self.until, 1e5)
        v.integer("seed", self.seed, 0, SEED_MAX)

    @property
    def slow_after(self) -> float:
        return (self.fast + self.slow) / 2

    def fanout(self) -> FanoutParams:
        """The ``fanout`` experiment's parameters for the full 100 leaves."""
        return FanoutParams(leaves=MAX_LEAVES, p_slow=self.p_slow, fast=self.fast, slow=self.slow, rate=self.rate,
                            until=self.until, seed=self.seed)


class FanoutSweepResult:
    """One R/R run of the ``fanout`` system with 100 leaves called in parallel.

    Leaves never queue here (8 workers each, a few percent busy), so leaf i's answer to request j takes
    the same time whichever other leaves the request calls: the latency a request *would* have with
    only leaves 1..n is the latest of those n answers. So one run gives the simulated slow share for
    every n; at n = 100 it is exactly what the clients measured.
    """

    def __init__(self, params: FanoutSweepParams, result, leaf: np.ndarray, prefix: np.ndarray):
        self.params = params
        self.result = result
        self.results = {"rr": result}
        self.leaf = leaf  # [i - 1, request]: seconds from the request to leaf i's answer (NaN: none yet)
        self._prefix = prefix  # [n - 1, request]: latency with leaves 1..n (NaN: one has not answered)

    def slow_answers(self, requests: int = 50) -> tuple[np.ndarray, np.ndarray]:
        """(leaf, request) of every slow answer among leaves 1..``leaves`` of the first ``requests``."""
        slow = self.leaf[:self.params.leaves, :requests] > self.params.slow_after
        leaf, req = np.nonzero(slow)
        return leaf + 1, req

    def latencies(self, n: int | None = None) -> np.ndarray:
        """Simulated latency (s) of every answered request that needs leaves 1..n (default: ``leaves``)."""
        n = self.params.leaves if n is None else v.integer("n", n, 1, MAX_LEAVES)
        lat = self._prefix[n - 1]
        return lat[~np.isnan(lat)]

    def slow_share(self, n: int | None = None) -> float:
        lat = self.latencies(n)
        return float(np.mean(lat > self.params.slow_after)) if len(lat) else math.nan

    def sweep(self, ns=SWEEP_N) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """n, simulated slow share, and the closed form 1 − (1 − p)^n."""
        ns = np.asarray(ns, dtype=int)
        sim = np.array([self.slow_share(int(n)) for n in ns])
        return ns, sim, theory.fanout_slow_probability(self.params.p_slow, ns)

    def table(self):
        import pandas as pd

        ns, sim, th = self.sweep()
        return pd.DataFrame({"simulated": sim, "theory": th, "requests": [len(self.latencies(int(n))) for n in ns]},
                            index=pd.Index(ns, name="leaves"))


@lru_cache(maxsize=16)
def _fanout_run(p: FanoutSweepParams) -> tuple:
    """The run and its prefix latencies; ``p.leaves`` is ignored (always 100 leaves)."""
    fp = p.fanout()
    result = build_rr(fanout_spec(fp), fp.seed).run(fp.until)
    system = result.system
    n = system.messages.count
    created = np.frombuffer(system.messages.created, count=n)
    leaf = np.vstack([system.component(f"leaf{i + 1}").done_times(n) for i in range(MAX_LEAVES)])
    leaf -= created
    prefix = np.maximum.accumulate(leaf, axis=0)  # NaN (not answered) propagates down the leaves
    return result, leaf, prefix


FANOUT_SLIDERS = (
    Slider("leaves", 1, MAX_LEAVES, 1, label="leaves n", help="backends each request waits for"),
    Slider("p_slow", options=P_SLOW, label="slow leaf share p", help="chance that one leaf answer is slow (0.5 s)"),
)


@experiment("coupling_fanout", "Fan-out: the share of slow requests for n = 1 … 100 leaves", FanoutSweepParams,
            FANOUT_SLIDERS)
def run_fanout_sweep(p: FanoutSweepParams) -> FanoutSweepResult:
    """Cached on everything but ``leaves``: moving n only re-reads the same run."""
    return FanoutSweepResult(p, *_fanout_run(replace(p, leaves=1)))



"""One design of a description, run once: the registered experiment the review's sweep runs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from ... import validate as v
from .. import experiment
from .engine import answers, backlog, build, measure, step_done
from .load import example, loads
from .spec import SEED_MAX, Design, SystemSpec


@dataclass(frozen=True, kw_only=True)
class DesignRunParams:
    """``spec`` (a :class:`SystemSpec`; None: the bundled ``example``) built as ``design`` (one letter per
    interaction: ``r`` request/response, ``e`` event-driven; empty: all R/R), run with ``seed``."""

    spec: SystemSpec | None = None
    example: str = "food_delivery"
    design: str = ""
    seed: int = 1

    def __post_init__(self):
        if self.spec is not None:
            v.instance("spec", self.spec, SystemSpec, "a SystemSpec (from load, loads or example)")
        spec = self.described
        if self.design:
            Design.from_code(self.design, spec)
        v.integer("seed", self.seed, 0, SEED_MAX)

    @property
    def described(self) -> SystemSpec:
        return self.spec if self.spec is not None else _example(self.example)

    @property
    def chosen(self) -> Design:
        spec = self.described
        return Design.from_code(self.design or "r" * len(spec.interactions), spec)


@lru_cache(maxsize=8)
def _example(name: str) -> SystemSpec:
    return example(name)


@lru_cache(maxsize=32)
def cached_loads(text: str, source: str = "<description>") -> SystemSpec:
    """:func:`loads`, remembered: the notebook re-reads the same text on every run."""
    return loads(text, source)


@dataclass(frozen=True)
class DesignRun:
    """One run: the description, the design, the core result and the review's numbers (``summary``)."""

    spec: SystemSpec
    design: Design
    result: object

    @property
    def system(self):
        return self.result.system

    @property
    def bound_hit(self) -> bool:
        return self.result.bound_hit

    @property
    def message(self) -> str:
        return self.result.message

    @cached_property
    def summary(self) -> dict:
        return measure(self.spec, self.design, self.result)

    def timeline(self, width: float = 2.0):
        """Per ``width``-s bin (by when requests arrived): requests placed, answered ok and lost per second,
        the 95th percentile of the client's wait (s), and requests waiting anywhere (sampled)."""
        import pandas as pd

        v.positive("width", width, 600)
        spec, system = self.spec, self.system
        created, told, ok = answers(spec, self.design, system, self.result.elapsed)
        n = len(created)
        steps = [step_done(system, i.callee, n) for i in spec.downstream]
        done = np.max(np.vstack(steps), axis=0) if n else np.zeros(0)
        good = ok & ~np.isnan(done)
        until = spec.workload.until
        edges = np.arange(0.0, until + width / 2, width)
        nb = len(edges) - 1
        idx = np.clip(np.searchsorted(edges, created, side="right") - 1, 0, nb - 1)
        wait = np.where(np.isnan(told), self.result.elapsed, told) - created
        wait = np.where(good, wait, np.maximum(wait, spec.settings.client_timeout))
        p95 = np.full(nb, math.nan)
        for b in range(nb):
            chunk = wait[idx == b]
            if len(chunk):
                p95[b] = float(np.percentile(chunk, 95))
        t, waiting = backlog(system)
        mid = edges[:-1] + width / 2
        return pd.DataFrame({
            "time": mid,
            "placed_per_s": np.bincount(idx, minlength=nb) / width,
            "ok_per_s": np.bincount(idx, weights=good, minlength=nb) / width,
            "lost_per_s": np.bincount(idx, weights=~good, minlength=nb) / width,
            "wait_p95": p95,
            "waiting": np.interp(mid, t, waiting) if len(t) else np.zeros(nb),
        })


@experiment("design_run", "Your system: one design of a description", DesignRunParams)
def run_design(p: DesignRunParams) -> DesignRun:
    spec, design = p.described, p.chosen
    return DesignRun(spec, design, build(spec, design, p.seed).run(spec.workload.until))

"""Arrival processes: when messages (or requests) are created, with their key and size.

Every workload is Poisson with a rate that may change over time (constant, on/off bursts, scheduled
spikes), except ``ConstantRate``. Poisson arrivals are drawn by inverting the cumulative rate of one
stream of unit exponentials, so two workloads that differ only in a spike share every draw outside it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from . import validate as v
from .distributions import Deterministic, Distribution

MAX_RATE = 1e6  # messages per second; anything faster is a typo, not a workload


@dataclass(frozen=True, kw_only=True)
class Workload:
    """Base: message keys are uniform over ``keys`` values; sizes (bytes) come from ``size``."""

    keys: int = 100
    size: Distribution = field(default_factory=lambda: Deterministic(1000.0))

    def __post_init__(self):
        v.integer("keys", self.keys, 1, 10**9)
        if not isinstance(self.size, Distribution):
            raise ValueError(f"size must be a Distribution, got {self.size!r}")

    def mean_rate(self, until: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def arrival_times(self, rng: np.random.Generator) -> Iterator[float]:  # pragma: no cover
        raise NotImplementedError

    # Piecewise-constant rate used by the Poisson workloads: (start, rate) breakpoints.
    def _rate_at(self, t: float) -> tuple[float, float]:
        """Return (rate at t, time the rate next changes)."""
        raise NotImplementedError  # pragma: no cover

    def _poisson_times(self, rng: np.random.Generator) -> Iterator[float]:
        t = 0.0
        while True:
            for e in rng.exponential(1.0, 1024).tolist():
                # Spend e units of cumulative rate, crossing rate changes as needed.
                while True:
                    rate, change = self._rate_at(t)
                    if rate > 0 and t + e / rate <= change:
                        t += e / rate
                        break
                    if math.isinf(change):
                        return  # rate zero forever: no more arrivals
                    e -= rate * (change - t)
                    t = change
                yield t


@dataclass(frozen=True, kw_only=True)
class _SteadyRate(Workload):
    """A workload whose rate is ``rate`` per second at every moment (Poisson and ConstantRate)."""

    rate: float

    def __post_init__(self):
        super().__post_init__()
        v.positive("rate", self.rate, MAX_RATE)

    def mean_rate(self, until):
        return self.rate


@dataclass(frozen=True, kw_only=True)
class Poisson(_SteadyRate):
    """Independent arrivals at ``rate`` per second (the M in M/M/c)."""

    def _rate_at(self, t):
        return self.rate, math.inf

    def arrival_times(self, rng):
        """What ``_poisson_times`` gives for a rate that never changes (t += e / rate), without its loop."""
        t, rate = 0.0, self.rate
        while True:
            for e in rng.exponential(1.0, 1024).tolist():
                t += e / rate
                yield t


@dataclass(frozen=True, kw_only=True)
class ConstantRate(_SteadyRate):
    """Exactly one arrival every 1/rate seconds, the first at 1/rate."""

    def arrival_times(self, rng):
        gap = 1.0 / self.rate
        i = 1
        while True:
            yield i * gap
            i += 1


@dataclass(frozen=True, kw_only=True)
class Bursty(Workload):
    """On/off traffic: Poisson at ``rate_on`` for ``on`` seconds, then ``rate_off`` for ``off`` seconds."""

    rate_on: float
    on: float
    off: float
    rate_off: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        v.positive("rate_on", self.rate_on, MAX_RATE)
        v.non_negative("rate_off", self.rate_off, MAX_RATE)
        v.positive("on", self.on)
        v.positive("off", self.off)

    def mean_rate(self, until):
        return (self.rate_on * self.on + self.rate_off * self.off) / (self.on + self.off)

    def _rate_at(self, t):
        period = self.on + self.off
        k, phase = divmod(t, period)
        start = k * period
        # The next change must lie after t: at a boundary, rounding can report the phase that just ended
        # (44.0 // 8.8 == 4.0), and returning a change <= t made the arrival loop spin forever.
        if phase < self.on and start + self.on > t:
            return self.rate_on, start + self.on
        if start + period > t:
            return self.rate_off, start + period
        return self.rate_on, start + period + self.on  # t is already at the next period's start

    def arrival_times(self, rng):
        return self._poisson_times(rng)


@dataclass(frozen=True, kw_only=True)
class Scheduled(Workload):
    """Poisson at ``rate``, except inside each ``(start, end, rate)`` spike window."""

    rate: float
    spikes: tuple[tuple[float, float, float], ...] = ()

    def __post_init__(self):
        super().__post_init__()
        v.non_negative("rate", self.rate, MAX_RATE)
        last_end = 0.0
        for i, spike in enumerate(sorted(self.spikes)):
            if len(spike) != 3:
                raise ValueError(f"spikes[{i}] must be (start, end, rate), got {spike!r}")
            s, e = v.window(f"spikes[{i}]", spike[0], spike[1])
            v.non_negative(f"spikes[{i}] rate", spike[2], MAX_RATE)
            if s < last_end:
                raise ValueError(f"spikes must not overlap; spikes[{i}] starts at {s:g} before {last_end:g}")
            last_end = e
        object.__setattr__(self, "spikes", tuple(tuple(map(float, s)) for s in sorted(self.spikes)))

    def mean_rate(self, until):
        extra = sum((min(e, until) - s) * (r - self.rate) for s, e, r in self.spikes if s < until)
        return self.rate + extra / until

    def _rate_at(self, t):
        for s, e, r in self.spikes:
            if t < s:
                return self.rate, s
            if t < e:
                return r, e
        return self.rate, math.inf

    def arrival_times(self, rng):
        return self._poisson_times(rng)

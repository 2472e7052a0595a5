"""Small distribution objects that know their mean and draw from a caller's numpy Generator.

They hold no randomness of their own: the caller passes the stream, so two architectures fed the same
stream see exactly the same draws (common random numbers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import validate as v


class Distribution:
    """Base class: ``mean`` and ``sample(rng, n)`` returning a float64 array of n draws."""

    mean: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def draw(self, rng: np.random.Generator) -> float:
        return float(self.sample(rng, 1)[0])

    def scaled(self, factor: float) -> Distribution:
        """The same shape with every draw multiplied by ``factor``."""
        return Scaled(self, factor)


@dataclass(frozen=True)
class Exponential(Distribution):
    """Memoryless time with the given mean (service of an M/M/c queue)."""

    mean: float

    def __post_init__(self):
        v.positive("mean", self.mean)

    def sample(self, rng, n):
        return rng.exponential(self.mean, n)

    @property
    def cv2(self) -> float:
        return 1.0


@dataclass(frozen=True)
class Deterministic(Distribution):
    """Always the same value (service of an M/D/1 queue)."""

    value: float

    def __post_init__(self):
        v.non_negative("value", self.value)

    @property
    def mean(self) -> float:
        return self.value

    def sample(self, rng, n):
        return np.full(n, self.value)


@dataclass(frozen=True)
class Uniform(Distribution):
    low: float
    high: float

    def __post_init__(self):
        v.non_negative("low", self.low)
        v.number("high", self.high, self.low)

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    def sample(self, rng, n):
        return rng.uniform(self.low, self.high, n)


@dataclass(frozen=True)
class LogNormal(Distribution):
    """Right-skewed time given by its mean and its coefficient of variation (std / mean)."""

    mean: float
    cv: float = 1.0

    def __post_init__(self):
        v.positive("mean", self.mean)
        v.positive("cv", self.cv, 20)

    def sample(self, rng, n):
        s2 = math.log1p(self.cv**2)
        mu = math.log(self.mean) - s2 / 2
        return rng.lognormal(mu, math.sqrt(s2), n)


@dataclass(frozen=True)
class Mixture(Distribution):
    """Two-point mixture: with probability ``p_slow`` a draw comes from ``slow``, else from ``fast``.

    ``Mixture(Deterministic(0.01), Deterministic(1.0), 0.01)`` is "99% of calls take 10 ms, 1% take 1 s".
    """

    fast: Distribution
    slow: Distribution
    p_slow: float

    def __post_init__(self):
        v.instance("fast", self.fast, Distribution, "a Distribution (Deterministic, Exponential, ...)")
        v.instance("slow", self.slow, Distribution, "a Distribution (Deterministic, Exponential, ...)")
        v.fraction("p_slow", self.p_slow)

    @property
    def mean(self) -> float:
        return (1 - self.p_slow) * self.fast.mean + self.p_slow * self.slow.mean

    def sample(self, rng, n):
        # Draw both branches and the coin for every element, so the stream advances by the same
        # amount whatever p_slow is: changing p_slow does not reshuffle unrelated draws.
        coin = rng.random(n)
        fast = self.fast.sample(rng, n)
        slow = self.slow.sample(rng, n)
        return np.where(coin < self.p_slow, slow, fast)


@dataclass(frozen=True)
class Scaled(Distribution):
    base: Distribution
    factor: float

    def __post_init__(self):
        v.instance("base", self.base, Distribution, "a Distribution (Deterministic, Exponential, ...)")
        v.positive("factor", self.factor)

    @property
    def mean(self) -> float:
        return self.base.mean * self.factor

    def sample(self, rng, n):
        return self.base.sample(rng, n) * self.factor


def as_distribution(name: str, value) -> Distribution:
    """Accept a Distribution, or a plain number meaning an exponential time with that mean."""
    if isinstance(value, Distribution):
        return value
    return Exponential(v.positive(name, value))

"""One ``SeedSequence`` per run, one independent stream per named source of randomness.

Streams are addressed by name ("arrivals", "service:billing", ...), not by creation order, so adding
a component to a model never changes the draws another component sees. That is what lets R/R and EDA
(or two variants of one experiment) run on exactly the same arrivals and service times.
"""

from __future__ import annotations

import zlib
from array import array

import numpy as np

from . import validate as v
from .distributions import Deterministic

BLOCK = 1024


def _name_key(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """Named child streams of one root ``SeedSequence``; the same seed gives the same draws anywhere."""

    def __init__(self, seed: int):
        self.seed = v.integer("seed", seed, 0, 2**63 - 1)
        self.root = np.random.SeedSequence(self.seed)
        self._generators: dict[str, np.random.Generator] = {}
        self._draws: dict[tuple, Draws] = {}

    def generator(self, name: str) -> np.random.Generator:
        """The generator for ``name`` (a child of the root sequence keyed by the name)."""
        g = self._generators.get(name)
        if g is None:
            child = np.random.SeedSequence(self.root.entropy, spawn_key=(*self.root.spawn_key, _name_key(name)))
            g = self._generators[name] = np.random.Generator(np.random.PCG64(child))
        return g

    def draws(self, name: str, dist) -> Draws:
        """The i-th draw of ``dist`` on stream ``name``, shared by every component that asks.

        Consumers of one queue share one sequence, so message i takes the same time whichever consumer
        takes it. If a second, different distribution asks for the same name it gets its own stream.
        """
        d = self._draws.get((name, dist))
        if d is None:
            taken = any(n == name for n, _ in self._draws)
            if isinstance(dist, Deterministic):  # every draw is the value and takes nothing from a stream
                d = self._draws[(name, dist)] = ConstantDraws(dist.value)
            else:
                d = self._draws[(name, dist)] = Draws(self.generator(f"{name}#{dist!r}" if taken else name), dist)
        return d


class Draws:
    """The i-th draw of a distribution on a stream, drawn in blocks as needed.

    Value ``i`` depends only on the stream and ``i``, never on the order in which components ask, so
    message 17's billing time is the same in every architecture.
    """

    __slots__ = ("_rng", "_dist", "_values")

    def __init__(self, rng: np.random.Generator, dist):
        self._rng = rng
        self._dist = dist
        self._values = array("d")  # 8 bytes a draw: a million messages cost 8 MB, not 32

    def __getitem__(self, i: int) -> float:
        values = self._values
        while i >= len(values):
            values.frombytes(self._dist.sample(self._rng, BLOCK).astype(float).tobytes())
        return values[i]


class ConstantDraws:
    """The draws of a ``Deterministic`` distribution: the same value for every i, and no array of them."""

    __slots__ = ("value",)

    def __init__(self, value: float):
        self.value = float(value)

    def __getitem__(self, i: int) -> float:
        return self.value

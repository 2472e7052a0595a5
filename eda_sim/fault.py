"""Injected faults: a component down for a window, slowed, failing a fraction of operations, or crashed.

A fault is a frozen description; ``System.inject`` schedules it. At its start the target's
:class:`Health` changes, at its end it is restored. Components read their health when they work, so
faults cost nothing while none is active.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import validate as v


class Health:
    """A component's current condition, the product of every active fault."""

    __slots__ = ("down", "slow", "fail", "_active", "on_change")

    def __init__(self):
        self.down = False
        self.slow = 1.0
        self.fail = 0.0
        self._active: list = []
        self.on_change = None  # callback(health, was_down) set by the component

    def _recompute(self):
        was_down = self.down
        self.down = any(isinstance(f, (Down, Crash)) for f in self._active)
        self.slow = 1.0
        ok = 1.0
        for f in self._active:
            if isinstance(f, Slow):
                self.slow *= f.factor
            elif isinstance(f, FailFraction):
                ok *= 1.0 - f.fraction
        self.fail = 1.0 - ok
        if self.on_change is not None:
            self.on_change(was_down)

    def start(self, fault):
        self._active.append(fault)
        self._recompute()

    def end(self, fault):
        self._active.remove(fault)
        self._recompute()


@dataclass(frozen=True, kw_only=True)
class Fault:
    """Base: the ``target`` component's name and the window [start, end) in simulated seconds."""

    target: str
    start: float
    end: float

    def __post_init__(self):
        if not isinstance(self.target, str) or not self.target:
            raise ValueError(f"target must be a component name, got {self.target!r}")
        v.window(type(self).__name__.lower(), self.start, self.end)

    def attach(self, system) -> None:
        component = system.component(self.target)
        health = getattr(component, "health", None)
        if health is None:
            raise ValueError(f"component {self.target!r} cannot take faults")
        env = system.env
        # Windows are absolute simulated times, also for a fault attached mid-run (a window already
        # under way starts now).
        env.timeout(max(0.0, self.start - env.now)).callbacks.append(lambda _: health.start(self))
        env.timeout(max(0.0, self.end - env.now)).callbacks.append(lambda _: health.end(self))


@dataclass(frozen=True, kw_only=True)
class Down(Fault):
    """Unavailable for the whole window: a consumer stops taking work, a broker refuses publishes,
    a service or database fails every call."""


@dataclass(frozen=True, kw_only=True)
class Crash(Fault):
    """The process dies at ``start`` and restarts at ``end``; work it had not acknowledged is lost
    and redelivered by the broker."""


@dataclass(frozen=True, kw_only=True)
class Slow(Fault):
    """Every operation takes ``factor`` times longer during the window."""

    factor: float = 5.0

    def __post_init__(self):
        super().__post_init__()
        v.number("factor", self.factor, 1.0, 1000.0)


@dataclass(frozen=True, kw_only=True)
class FailFraction(Fault):
    """A ``fraction`` of operations fail (a processing error, an HTTP 500) during the window."""

    fraction: float = 0.5

    def __post_init__(self):
        super().__post_init__()
        v.fraction("fraction", self.fraction)

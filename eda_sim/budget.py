"""One budget for a whole experiment: every simulation it builds draws its events from the same pool.

An experiment may build one System or twenty (a sweep over offered load, eight seeds of a scorecard).
Each System has its own :class:`~eda_sim.system.Limits`, but without a shared pool twenty systems would
get twenty fresh budgets. :func:`allowance` opens a pool for everything run inside it: the registered
experiments (``@experiment``), a control panel's refresh and the command line all open one, so a slider
move or a CLI call is bounded as a whole. Nested pools share the outermost one.

A System run inside a pool gets ``min(Limits.max_events, events left in the pool)`` events; when the
pool is empty, later systems stop at once with ``bound_hit`` and a reason saying so. The event count
is deterministic (same seed, same cut); the wall-clock ``deadline`` is a last resort for a machine
far slower than expected and, unlike the event count, depends on the machine.
"""

from __future__ import annotations

import contextlib
import time
from contextvars import ContextVar
from dataclasses import dataclass

from . import validate as v

#: Events one experiment may process over all its simulations: about ten seconds of simulation.
#: Every experiment at its default settings uses under 100,000 (the most: core_load, about 85,000).
EXPERIMENT_EVENTS = 10_000_000
#: Wall-clock seconds after which a run inside the pool stops (checked every CHECK_EVERY events).
EXPERIMENT_SECONDS = 120.0
CHECK_EVERY = 65_536


@dataclass
class Allowance:
    """What is left of one pool: events, the wall-clock deadline, and how much was spent by how many runs."""

    total: int
    seconds: float
    label: str
    events: int = 0
    spent: int = 0
    runs: int = 0
    deadline: float = 0.0

    def __post_init__(self):
        self.events = self.total
        self.deadline = time.monotonic() + self.seconds

    def spend(self, n: int) -> None:
        self.events = max(0, self.events - n)
        self.spent += n
        self.runs += 1

    def late(self) -> bool:
        return time.monotonic() > self.deadline

    def reason_events(self, now: float, until: float) -> str:
        return (f"{self.label}'s event budget of {self.total:,} SimPy events, shared by all its simulations, "
                f"was used up at t={now:.3g} s of {until:g} s (after {self.runs} earlier run(s)): lower the "
                f"rates, durations, counts or grid size")

    def reason_time(self, now: float, until: float) -> str:
        return (f"{self.label} passed its {self.seconds:g} s wall-clock deadline at t={now:.3g} s of {until:g} s: "
                f"lower the rates, durations, counts or grid size")


class Exhausted(Exception):  # noqa: N818 - a state, not a bug: caught by the experiment wrapper
    """A simulation was about to start with nothing left in its pool; the experiment stops here."""


@dataclass(frozen=True)
class Stopped:
    """What an experiment returns when its pool ran dry before its last simulation could start.

    It has the summary keys the command line and the panels look at (``bound_hit``, ``bound_reason``)
    and nothing else: any other attribute raises an AttributeError that repeats the reason.
    """

    experiment: str
    reason: str
    events: int

    @property
    def bound_hit(self) -> bool:
        return True

    @property
    def message(self) -> str:
        return self.reason

    @property
    def summary(self) -> dict:
        return {"bound_hit": True, "bound_reason": self.reason, "events": self.events}

    def table(self):
        import pandas as pd

        return pd.DataFrame({"bound_hit": [True], "bound_reason": [self.reason]}, index=[self.experiment])

    def __getattr__(self, name: str):
        raise AttributeError(f"{self.experiment} stopped before it could finish, so it has no {name!r}: "
                             f"{self.reason}")


_current: ContextVar[Allowance | None] = ContextVar("eda_sim_allowance", default=None)


def child(events: int):
    """A pool of at most ``events`` inside the current one (charged to it on exit), or a new pool."""
    outer = _current.get()
    events = events if outer is None else min(events, outer.events)
    seconds = EXPERIMENT_SECONDS if outer is None else max(1e-3, outer.deadline - time.monotonic())
    pool = Allowance(events, seconds, "a sweep run" if outer is None else outer.label)
    token = _current.set(pool)
    try:
        yield pool
    finally:
        _current.reset(token)
        if outer is not None:
            outer.events = max(0, outer.events - pool.spent)
            outer.spent += pool.spent
            outer.runs += pool.runs


child = contextlib.contextmanager(child)


def current() -> Allowance | None:
    """The pool open in this context, or None (a bare System: only its own Limits apply)."""
    return _current.get()


@contextlib.contextmanager
def allowance(label: str = "this experiment", *, events: int | None = None, seconds: float | None = None):
    """Run the body with one pool of ``events`` and ``seconds`` (default: EXPERIMENT_EVENTS and
    EXPERIMENT_SECONDS); inside another pool, share that one."""
    outer = _current.get()
    if outer is not None:
        yield outer
        return
    events = EXPERIMENT_EVENTS if events is None else events
    seconds = EXPERIMENT_SECONDS if seconds is None else seconds
    pool = Allowance(v.integer("events", events, 0, 10**10), v.positive("seconds", seconds, 1e6), label)
    token = _current.set(pool)
    try:
        yield pool
    finally:
        _current.reset(token)

"""The simulated system: one SimPy environment, one seed, the components, and a bounded run.

A run stops at ``until`` simulated seconds, or earlier when it exhausts its event budget or its backlog
grows past ``Limits.max_backlog`` (an unstable queue). Either way it returns promptly with
``bound_hit`` set and a message saying which bound and why, so no slider setting can freeze a kernel.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import math
from dataclasses import dataclass
from heapq import heappop

import simpy
from simpy.core import URGENT, EmptySchedule, StopSimulation

from . import budget
from . import validate as v
from .alarm import Alarm
from .distributions import Deterministic
from .fault import Fault
from .metrics import Messages, Series
from .randomness import Streams
from .result import Result


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Bounds on one run. ``max_events`` SimPy events cost about a second per million here."""

    max_events: int = 2_000_000
    max_backlog: int = 200_000
    max_components: int = 20_000  # consumers, services, queues...: what is built before the event loop

    def __post_init__(self):
        v.integer("max_events", self.max_events, 1_000, 10**9)
        v.integer("max_backlog", self.max_backlog, 10, 10**8)
        v.integer("max_components", self.max_components, 10, 10**7)


def transactional(init):
    """Decorate a component's ``__init__``: if it raises (a bad parameter), undo its registrations.

    Without this, ``Consumer(system, q, prefetch=0)`` would fail but keep its name, and the corrected
    retry in the next notebook cell would fail with "name already used", hiding the real mistake.
    """

    @functools.wraps(init)
    def wrapper(self, owner, *args, **kwargs):
        system = owner if isinstance(owner, System) else getattr(owner, "system", None)
        if not isinstance(system, System):
            raise TypeError(f"{type(self).__name__}'s first argument must be the System it belongs to, "
                            f"got {type(owner).__name__} {owner!r:.80}")
        snapshot = (set(system.components), set(system.logs), set(system.series.gauges), system.workers_total)
        try:
            init(self, owner, *args, **kwargs)
        except Exception:
            names, logs, gauges, workers = snapshot
            for key in set(system.components) - names:
                del system.components[key]
            for key in set(system.logs) - logs:
                del system.logs[key]
            for key in set(system.series.gauges) - gauges:
                del system.series.gauges[key]
                del system.series.columns[key]
            system.workers_total = workers
            raise

    return wrapper


class BoundHit(Exception):
    """Raised inside the simulation to stop it early; carries the reason shown to the user."""


@contextlib.contextmanager
def _cycle_collector_paused():
    """Pause Python's cyclic garbage collector during a run (reference counting still frees everything).

    Why: a run allocates many short-lived containers (event-queue entries, alarms, queries), and those
    allocations trigger the cycle collector, whose full collections scan every object in the process. In a
    notebook kernel full of widgets and figures one costs 50-100 ms and showed up as 100-300 ms spikes in
    slider moves. The run itself makes no garbage cycles per message (a finished query drops its alarm).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def fail_later(env, exc: BaseException) -> None:
    """Raise ``exc`` out of the run once the events already queued for this moment are done.

    That is when SimPy raises the exception of a failed process, so a callback that hits a bound stops
    the run at the same event as the process it replaced.
    """

    def fail(_):
        raise exc

    Alarm(env, fail).set(0)


class System:
    """Holds the environment, the random streams and every component of one run.

    Build components with this system as their first argument, then call :meth:`run`.
    """

    def __init__(self, seed: int = 1, *, limits: Limits | None = None, sample_every: float | None = None,
                 keys: int = 100, size=None):
        self.streams = Streams(seed)
        self.seed = self.streams.seed
        self.limits = limits or Limits()
        if sample_every is not None:
            v.positive("sample_every", sample_every)
        self.sample_every = sample_every
        self.env = simpy.Environment()
        self.messages = Messages(self.streams.generator("keys"), self.streams.generator("sizes"),
                                 v.integer("keys", keys, 1, 10**9), size or Deterministic(1000.0))
        self.components: dict[str, object] = {}
        self.logs: dict[str, object] = {}  # subscription name -> DeliveryLog
        self.series = Series()
        self.faults: list = []
        self.workers_total = 0
        self.busy_time = 0.0  # worker-seconds spent processing, for utilisation
        self.counters: dict[str, float] = {}
        self.summary_hooks: list = []  # callables (system, elapsed) -> dict of extra keys, e.g. request/response
        self.bound_reason = ""
        self.events = 0
        self.ran = False

    # -- registration -------------------------------------------------------------------------
    def register(self, name: str, component) -> str:
        v.label("name", name)
        if len(self.components) >= self.limits.max_components:
            raise ValueError(f"this system already holds {len(self.components):,} components (consumers, services, "
                             f"queues...), the most Limits.max_components={self.limits.max_components:,} allows: "
                             f"lower the counts that multiply (consumers per queue × queues, leaves × workers)")
        if name in self.components:
            raise ValueError(f"name {name!r} is already used by another component")
        self.components[name] = component
        return name

    def component(self, name: str):
        try:
            return self.components[name]
        except KeyError:
            known = ", ".join(sorted(self.components)) or "none"
            raise ValueError(f"no component named {name!r}; known: {known}") from None

    def add_log(self, log) -> None:
        if log.name in self.logs:
            raise ValueError(f"two subscriptions named {log.name!r}")
        self.logs[log.name] = log

    def count(self, name: str, n: float = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n

    def backlog(self) -> int:
        """Messages waiting in every broker, for the unstable-queue bound."""
        return sum(c.backlog() for c in self.components.values() if hasattr(c, "backlog"))

    def inject(self, fault) -> None:
        """Schedule a fault (see :mod:`eda_sim.fault`) against a registered component."""
        v.instance("fault", fault, Fault, "a Down, Crash, Slow or FailFraction fault, e.g. "
                                          "Down(target='q', start=10, end=20)")
        fault.attach(self)
        self.faults.append(fault)

    # -- running -------------------------------------------------------------------------------
    def run(self, until: float):
        """Run to ``until`` simulated seconds (or an earlier bound) and return a :class:`Result`."""
        with _cycle_collector_paused():
            return self._run(until)

    def _run(self, until: float):
        until = v.positive("until", until, 1e7)
        if self.ran:
            raise ValueError("a System runs once; build a new one (same seed) to run again")
        self.ran = True
        env = self.env
        step = self.sample_every or until / 200
        env.process(self._sampler(step, until))
        stop = simpy.Event(env)
        stop._ok, stop._value = True, None
        stop.callbacks.append(StopSimulation.callback)
        env.schedule(stop, URGENT, until)
        pool = budget.current()
        if pool is not None and pool.events <= 0:
            raise budget.Exhausted(pool.reason_events(0.0, until))
        allowed = self.limits.max_events if pool is None else min(self.limits.max_events, pool.events)
        queue = env._queue
        n = i = 0
        try:
            while True:
                if n >= allowed:
                    if pool is not None and allowed < self.limits.max_events:
                        self.bound_reason = pool.reason_events(env.now, until)
                    else:
                        self.bound_reason = (f"event budget of {allowed:,} SimPy events used up at "
                                             f"t={env.now:.3g} s of {until:g} s: the load is too high for a "
                                             f"live run; lower the rate or the duration")
                    break
                chunk = min(budget.CHECK_EVERY, allowed - n)
                # SimPy's Environment.step, inlined: one Python call less per event, about 8% of a run.
                for i in range(chunk):  # noqa: B007 - i is read when a step ends the run
                    try:
                        env._now, _, _, event = heappop(queue)
                    except IndexError:
                        raise EmptySchedule from None
                    callbacks, event.callbacks = event.callbacks, None
                    for callback in callbacks:
                        callback(event)
                    if not event._ok and not hasattr(event, "_defused"):
                        exc = type(event._value)(*event._value.args)  # a failed process: raise a copy, as SimPy does
                        exc.__cause__ = event._value
                        raise exc
                n += chunk
                i = 0
                if pool is not None and pool.late():
                    self.bound_reason = pool.reason_time(env.now, until)
                    break
        except StopSimulation:
            n += i
        except EmptySchedule:
            n += i
        except BoundHit as exc:
            n += i
            self.bound_reason = str(exc)
        if pool is not None:
            pool.spend(n)
            if self.bound_reason.startswith(pool.label) and env.now <= 0:
                raise budget.Exhausted(self.bound_reason)  # cut before any simulated time passed: nothing to show
        self.events = n
        return Result(self, until, env.now)

    def _sampler(self, step: float, until: float):
        env = self.env
        limit = self.limits.max_backlog
        series = self.series
        t = 0.0
        while True:
            series.sample(env.now)
            self.check_backlog(limit)
            t += step
            if t > until + 1e-9:
                return
            yield env.timeout(step)

    def check_backlog(self, limit: int) -> None:
        """Stop the run (BoundHit) when more than ``limit`` messages wait: the queue is unstable."""
        backlog = self.backlog()
        if backlog > limit:
            raise BoundHit(f"unstable: {backlog:,} messages waiting at t={self.env.now:.3g} s exceeds "
                           f"max_backlog={limit:,}; arrivals outpace the consumers")

    def utilisation(self, elapsed: float) -> float:
        if self.workers_total == 0 or elapsed <= 0:
            return math.nan
        return self.busy_time / (self.workers_total * elapsed)

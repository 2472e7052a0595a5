"""A reusable SimPy event that calls one function when it fires: the hot paths' lean replacement for a process.

A SimPy process pays, per step, a fresh ``Timeout`` object, a generator resume and SimPy's bookkeeping
around it. The paths every message takes (a producer's arrivals, a consumer's service, a database
query) are plain callbacks instead, each owning an :class:`Alarm` it sets again after it fired.

An alarm takes its place on the environment's queue exactly as a ``Timeout`` (or a process's
``Initialize`` and ``Interruption`` events, with ``URGENT``) created at the same moment would, so the
order of simultaneous events, and therefore every number a run produces, is the one the process-based
code gave. ``System.run`` processes it like any other event (``callbacks``, ``_ok``).
"""

from __future__ import annotations

from heapq import heappush

from simpy.core import NORMAL, URGENT

__all__ = ["NORMAL", "URGENT", "Alarm"]


class Alarm:
    """Calls ``fn(alarm)`` when it fires; ``set`` it again after that (never while it is pending).

    ``cancel()`` a pending alarm to make it fire as a no-op; a cancelled alarm is spent (its entry is
    still queued), so the owner makes a new one.
    """

    __slots__ = ("env", "callbacks", "_ok", "_value", "_fire", "queue", "eid")

    def __init__(self, env, fn):
        self.env = env
        self.callbacks = None  # None: not pending (SimPy's marker for a processed event)
        self._ok = True
        self._value = None
        self._fire = [fn]  # SimPy's step reads this list and never changes it, so one list serves every firing
        self.queue = env._queue  # the environment's event queue and id counter, for set() and its
        self.eid = env._eid  # inlined copies in the per-message paths (consumer, producer)

    def set(self, delay: float, priority: int = NORMAL) -> None:
        """Fire ``delay`` seconds from now (what ``env.schedule(event, priority, delay)`` does)."""
        self.callbacks = self._fire
        heappush(self.queue, (self.env._now + delay, priority, next(self.eid), self))

    def succeed(self) -> None:
        """Fire now, after the events already queued for this moment: an ``Event.succeed()`` look-alike,
        so an alarm can wait where a process would wait on an event (a consumer's idle workers)."""
        self.callbacks = self._fire  # set(0), inlined: a worker is woken this way for most messages
        heappush(self.queue, (self.env._now, NORMAL, next(self.eid), self))

    def cancel(self) -> None:
        self.callbacks = []

    @property
    def pending(self) -> bool:
        return self.callbacks is not None and self.callbacks is self._fire

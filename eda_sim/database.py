"""A database with a connection pool: queries wait for a connection, take a query time, and are counted."""

from __future__ import annotations

from collections import deque

from simpy.events import Event, Timeout

from . import validate as v
from .alarm import Alarm
from .distributions import Exponential, as_distribution
from .fault import Health
from .system import transactional


class DatabaseError(Exception):
    """A query failed (the database is down or failing a fraction of queries)."""


class Database:
    """``connections`` queries run at once; the rest wait in FIFO order. Counts reads and writes.

    Gauges: ``<name>.qps`` (queries finished per second over the last sampling step),
    ``<name>.waiting`` (queries waiting for a connection), ``<name>.busy`` (connections in use).
    Totals: ``wait_sum`` seconds that the ``waited`` queries which got a connection spent waiting for it
    (so ``wait_sum / waited`` is the mean wait, the Wq of queueing theory), ``busy_time`` connection-seconds.

    The pool is a counter and a FIFO of waiting queries rather than a ``simpy.Resource``: a query that
    finds a free connection costs one SimPy event (its query time) instead of three (request, query
    time, release). It hands out connections exactly as ``simpy.Resource`` does, in the same order and
    at the same events (see :meth:`_grant`), so every run gives the numbers it gave with the Resource.
    """

    @transactional
    def __init__(self, system, name: str = "db", *, connections: int = 10, query_time=Exponential(0.005)):
        self.system = system
        self.env = system.env
        self.name = system.register(name, self)
        self.connections = v.integer("connections", connections, 1, 10_000)
        self.query_time = as_distribution("query_time", query_time)
        self.in_use = 0  # connections held, or granted to a waiting query that has not yet resumed
        self._waiters: deque[Event] = deque()  # queries waiting for a connection, oldest first
        self._waking = 0  # granted waiters whose grant event SimPy has not yet processed
        self.health = Health()
        self._rng = system.streams.generator(f"query:{name}")
        self._fail_rng = system.streams.generator(f"fail:{name}")
        self._block: list[float] = []
        self.reads = self.writes = self.errors = 0
        self.waited = 0
        self.wait_sum = self.busy_time = 0.0
        self._last = (0.0, 0)
        system.series.add(f"{name}.qps", self._qps)
        system.series.add(f"{name}.waiting", lambda: len(self._waiters))
        system.series.add(f"{name}.busy", lambda: self.in_use)

    def _qps(self) -> float:
        t0, n0 = self._last
        now, n = self.env.now, self.reads + self.writes
        self._last = (now, n)
        return (n - n0) / (now - t0) if now > t0 else 0.0

    def _draw(self) -> float:
        if not self._block:
            self._block = self.query_time.sample(self._rng, 1024).tolist()[::-1]
        return self._block.pop()

    # -- the connection pool ------------------------------------------------------------------------
    def _grant(self, _=None) -> None:
        """Give a free connection to the oldest waiting query, if there is one and a connection is free.

        ``simpy.Resource`` does exactly this (one query at most) when a request is made and when a
        release event is processed; granting schedules the waiter's event, as ``Request.succeed`` does.
        """
        if self._waiters and self.in_use < self.connections:
            ev = self._waiters.popleft()
            self.in_use += 1
            self._waking += 1
            ev.succeed()

    def _woken(self, _) -> None:
        self._waking -= 1

    def _release(self) -> None:
        """A connection comes back. The Resource granted it on at its release event, a moment later, so
        the grant happens at an alarm in that place; with nobody waiting that event changes nothing."""
        self.in_use -= 1
        if self._waiters:
            Alarm(self.env, self._grant).set(0)

    def query(self, kind: str = "read", mid: int | None = None):
        """A SimPy process step: ``yield from db.query("read")``. Raises DatabaseError on failure."""
        health = self.health
        if health.down:
            self.errors += 1
            raise DatabaseError(f"{self.name} is down")
        env = self.env
        asked = env._now
        if self._waiters or self._waking or self.in_use >= self.connections:
            # Wait in line. (With nobody waiting but an earlier grant still to resume, this query is
            # granted at once but resumes after it, as a Resource request would.)
            ev = Event(env)
            ev.callbacks.append(self._woken)
            self._waiters.append(ev)
            self._grant()
            try:
                yield ev
            except BaseException:
                if ev.triggered:  # granted, not yet resumed: hand the connection back
                    self._release()
                else:
                    self._waiters.remove(ev)
                    if self._waiters:
                        Alarm(env, self._grant).set(0)  # the Resource's release event for a cancelled request
                raise
        else:
            self.in_use += 1  # a free connection and nobody ahead: no event needed to take it
        try:
            self.waited += 1
            self.wait_sum += env._now - asked
            held = self._draw() * health.slow
            yield Timeout(env, held)
            self.busy_time += held
        finally:
            self._release()
        if health.fail and self._fail_rng.random() < health.fail:
            self.errors += 1
            raise DatabaseError(f"{self.name} query failed")
        if kind == "write":
            self.writes += 1
            self.system.count("db_writes")
        else:
            self.reads += 1
            self.system.count("db_reads")

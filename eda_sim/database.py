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

    def _must_wait(self) -> bool:
        """Whether a new query queues: someone is ahead, or an earlier grant has still to resume (then the
        query is granted at once but resumes after it, as a Resource request would), or no connection."""
        return bool(self._waiters) or self._waking > 0 or self.in_use >= self.connections

    def _take(self, asked: float) -> float:
        """A query got its connection: count its wait, draw how long it holds the connection."""
        self.waited += 1
        self.wait_sum += self.env._now - asked
        return self._draw() * self.health.slow

    def _outcome(self, kind: str) -> bool:
        """After the query time: False if it failed (counted as an error), else count the read or write."""
        health = self.health
        if health.fail and self._fail_rng.random() < health.fail:
            self.errors += 1
            return False
        if kind == "write":
            self.writes += 1
            self.system.count("db_writes")
        else:
            self.reads += 1
            self.system.count("db_reads")
        return True

    def query(self, kind: str = "read", mid: int | None = None):
        """A SimPy process step: ``yield from db.query("read")``. Raises DatabaseError on failure."""
        if self.health.down:
            self.errors += 1
            raise DatabaseError(f"{self.name} is down")
        env = self.env
        asked = env._now
        if self._must_wait():
            ev = Event(env)
            ev.callbacks.append(self._woken)
            self._waiters.append(ev)
            self._grant()
            try:
                yield ev
            except BaseException:
                self._leave(ev)
                raise
        else:
            self.in_use += 1  # a free connection and nobody ahead: no event needed to take it
        try:
            held = self._take(asked)
            yield Timeout(env, held)
            self.busy_time += held
        finally:
            self._release()
        if not self._outcome(kind):
            raise DatabaseError(f"{self.name} query failed")

    def _leave(self, ev) -> None:
        """A waiting query's caller gave up (a crash): hand back its connection if it was granted one,
        else leave the line (the Resource then processed a release event: the alarm in its place)."""
        if ev.triggered:
            self._release()  # granted, not yet resumed
        else:
            self._waiters.remove(ev)
            if self._waiters:
                Alarm(self.env, self._grant).set(0)

    def start_query(self, kind: str, mid: int | None, done) -> _Query | None:
        """:meth:`query` for code driven by callbacks rather than a SimPy process: run one query now and
        call ``done(ok)`` when it is over (``ok`` False: the database is down or failed it). Its events go
        where the process form puts them. Returns a handle whose ``abandon()`` gives up the query."""
        if self.health.down:
            self.errors += 1
            done(False)
            return None
        return _Query(self, kind, done)


class _Query:
    """One query of :meth:`Database.start_query`: waiting for a connection, then holding it."""

    __slots__ = ("db", "kind", "done", "asked", "held", "abandoned", "_grant", "_timer")

    def __init__(self, db: Database, kind: str, done):
        self.db, self.kind, self.done = db, kind, done
        self.abandoned = False
        self.asked = db.env._now
        self._grant = self._timer = None
        if db._must_wait():
            self._grant = Alarm(db.env, self._granted)
            db._waiters.append(self._grant)
            db._grant()
        else:
            db.in_use += 1
            self._hold()

    def _granted(self, _) -> None:
        self.db._waking -= 1
        self._grant = None
        if not self.abandoned:
            self._hold()

    def _hold(self) -> None:
        db = self.db
        self.held = db._take(self.asked)
        self._timer = Alarm(db.env, self._over)
        self._timer.set(self.held)

    def _over(self, _) -> None:
        db = self.db
        self._timer = None
        db.busy_time += self.held
        db._release()
        self.done(db._outcome(self.kind))

    def abandon(self) -> None:
        """The caller is gone (a crash): give back the connection, or the place in line."""
        db = self.db
        self.abandoned = True
        if self._timer is not None:  # holding a connection
            self._timer.cancel()
            self._timer = None
            db._release()
        elif self._grant is not None:
            if self._grant.pending:  # granted, its event still to come (it will only count itself done)
                db._release()
            else:
                db._waiters.remove(self._grant)
                self._grant = None
                if db._waiters:
                    Alarm(db.env, db._grant).set(0)

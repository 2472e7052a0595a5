"""A database with a connection pool: queries wait for a connection, take a query time, and are counted."""

from __future__ import annotations

import simpy

from . import validate as v
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
    """

    @transactional
    def __init__(self, system, name: str = "db", *, connections: int = 10, query_time=Exponential(0.005)):
        self.system = system
        self.env = system.env
        self.name = system.register(name, self)
        self.connections = v.integer("connections", connections, 1, 10_000)
        self.query_time = as_distribution("query_time", query_time)
        self.pool = simpy.Resource(self.env, self.connections)
        self.health = Health()
        self._rng = system.streams.generator(f"query:{name}")
        self._fail_rng = system.streams.generator(f"fail:{name}")
        self._block: list[float] = []
        self.reads = self.writes = self.errors = 0
        self.waited = 0
        self.wait_sum = self.busy_time = 0.0
        self._last = (0.0, 0)
        system.series.add(f"{name}.qps", self._qps)
        system.series.add(f"{name}.waiting", lambda: len(self.pool.queue))
        system.series.add(f"{name}.busy", lambda: self.pool.count)

    def _qps(self) -> float:
        t0, n0 = self._last
        now, n = self.env.now, self.reads + self.writes
        self._last = (now, n)
        return (n - n0) / (now - t0) if now > t0 else 0.0

    def _draw(self) -> float:
        if not self._block:
            self._block = self.query_time.sample(self._rng, 1024).tolist()[::-1]
        return self._block.pop()

    def query(self, kind: str = "read", mid: int | None = None):
        """A SimPy process step: ``yield from db.query("read")``. Raises DatabaseError on failure."""
        health = self.health
        if health.down:
            self.errors += 1
            raise DatabaseError(f"{self.name} is down")
        env = self.env
        with self.pool.request() as req:
            asked = env.now
            yield req
            self.waited += 1
            self.wait_sum += env.now - asked
            held = self._draw() * health.slow
            yield env.timeout(held)
            self.busy_time += held
        if health.fail and self._fail_rng.random() < health.fail:
            self.errors += 1
            raise DatabaseError(f"{self.name} query failed")
        if kind == "write":
            self.writes += 1
            self.system.count("db_writes")
        else:
            self.reads += 1
            self.system.count("db_reads")

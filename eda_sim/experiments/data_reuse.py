"""``data_reuse``: N services need every order's data. Who reads the database, and how often?

Notebook 02. Orders arrive (Poisson, ``rate`` per second). An order service does its own work and
writes each order to the database (one write). Then ``services`` downstream services (billing, audit,
shipping, ...) each need the order's data. Three designs, on the same orders and the same work times:

- ``rr``: request/response. The order service calls the N services in parallel with the order's id
  (:mod:`eda_sim.service`); each one reads the order back from the database: N reads per order. The
  client waits until all N have answered.
- ``fat``: event-carried state. After the write the order service publishes ``OrderPlaced`` with the
  whole order to a :class:`~eda_sim.broker.Topic`; each service has a subscription and reads nothing.
- ``thin``: a thin event ("order 42 was placed, call me back"): the event carries only the id, so each
  consumer reads the order back: N reads per order again.

The database has ``db_connections`` connections and an exponential query time of mean ``query_ms``.
It saturates when the queries asked per second reach its capacity: ``rate (1 + N) query_time =
connections`` for R/R and thin events, hence ``N* = connections / (rate query_time) - 1``.

A run sends ``orders`` orders and then lets the system drain (up to ``until``), so every order's
queries are counted and "queries per order" is exact. Every service (and every consumer) has a pool of
``WORKERS`` workers; the R/R order service's pool is large enough never to be the bottleneck, so the
only shared resource is the database. ``event_kb`` (the size of the order's data) changes only the
traffic figures, not the simulation, so runs are cached without it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from .. import theory
from .. import validate as v
from ..broker import Topic
from ..consumer import Consumer
from ..database import Database
from ..distributions import Exponential
from ..lab.panel import Slider
from ..producer import Producer
from ..service import Client, Downstream, Service
from ..system import System
from ..workload import Poisson
from . import experiment

VARIANTS = ("rr", "fat", "thin")
NAMES = {"rr": "Request/Response", "fat": "Event-driven, fat events", "thin": "Event-driven, thin events"}
SERVICE_NAMES = ("billing", "audit", "shipping", "analytics", "loyalty", "fraud", "email", "search")
MAX_SERVICES = len(SERVICE_NAMES)
WORKERS = 16  # workers per downstream service, and concurrency (and prefetch) per consumer
ORDER_WORKERS = 10_000  # the R/R order service's pool: never the bottleneck
ORDER_WORK = Exponential(0.001)  # the order service's own work before the write (s)
PUBLISH = Exponential(0.002)  # time for the broker to acknowledge a publish (s)
THIN_KB = 0.2  # an id-only message (a thin event, or an R/R call): id, type, timestamp, headers


@dataclass(frozen=True, kw_only=True)
class DataReuseParams:
    """``services`` services need each of ``orders`` orders arriving at ``rate``/s; the database has
    ``db_connections`` connections and ``query_ms`` ms per query; the order's data is ``event_kb`` KB."""

    services: int = 6
    rate: float = 40.0
    db_connections: int = 4
    query_ms: float = 20.0
    event_kb: float = 4.0
    work_ms: float = 10.0
    orders: int = 150
    until: float = 600.0
    seed: int = 1

    def __post_init__(self):
        v.integer("services", self.services, 1, MAX_SERVICES)
        v.positive("rate", self.rate, 1000)
        v.integer("db_connections", self.db_connections, 1, 1000)
        v.positive("query_ms", self.query_ms, 10_000)
        v.positive("event_kb", self.event_kb, 100_000)
        v.positive("work_ms", self.work_ms, 10_000)
        v.integer("orders", self.orders, 1, 100_000)
        v.positive("until", self.until, 1e5)
        v.integer("seed", self.seed, 0, 2**63 - 1)

    @property
    def query_time(self) -> float:
        """Mean query time in seconds."""
        return self.query_ms / 1000

    def queries_per_order(self, variant: str, services: int | None = None) -> int:
        """Database queries one order costs: 1 write, plus N reads unless the event carries the data."""
        v.choice("variant", variant, VARIANTS)
        n = self.services if services is None else services
        return 1 if variant == "fat" else 1 + n

    @property
    def capacity(self) -> float:
        """Queries per second the database can serve: connections / mean query time."""
        return self.db_connections / self.query_time

    @property
    def saturation(self) -> float:
        """N*: the number of services at which R/R (or thin events) asks the database for exactly its
        capacity, rate (1 + N*) query_time = connections."""
        return self.db_connections / (self.rate * self.query_time) - 1

    def db_utilisation(self, variant: str, services: int | None = None) -> float:
        """Offered load per connection, rho = rate * queries per order * query_time / connections."""
        return self.rate * self.queries_per_order(variant, services) * self.query_time / self.db_connections

    def db_theory(self, variant: str, services: int | None = None):
        """M/M/c estimate of the database (``theory.QueueMetrics``), treating queries as Poisson
        arrivals at rate * queries per order; None when rho >= 1 (no steady state: the queue grows)."""
        if self.db_utilisation(variant, services) >= 1:
            return None
        q = self.rate * self.queries_per_order(variant, services)
        return theory.mmc(q, 1 / self.query_time, self.db_connections)

    def db_wait_theory(self, variant: str, services: int | None = None) -> float:
        """M/M/c mean wait for a connection (s); NaN when the database is overloaded."""
        m = self.db_theory(variant, services)
        return m.wait_mean if m is not None else float("nan")

    def db_time_theory(self, variant: str, services: int | None = None) -> float:
        """M/M/c mean time per query, wait plus query (s); NaN when the database is overloaded."""
        m = self.db_theory(variant, services)
        return m.response_mean if m is not None else float("nan")

    def simulated(self) -> DataReuseParams:
        """The parameters the simulation depends on (``event_kb`` only changes the traffic arithmetic)."""
        return replace(self, event_kb=DataReuseParams.event_kb)


SLIDERS = (
    Slider("services", 1, MAX_SERVICES, 1, label="services N",
           help="downstream services that need every order (billing, audit, shipping, ...)"),
    Slider("db_connections", 1, 16, 1, unit="connections", label="DB connections",
           help="queries the database runs at once; the rest wait"),
    Slider("query_ms", 2.0, 50.0, 1.0, unit="ms", label="query time", help="mean time of one database query"),
    Slider("event_kb", 0.5, 32.0, 0.5, unit="KB", label="order size",
           help="the order's data: what a fat event or a read carries"),
    Slider("rate", 5.0, 100.0, 5.0, unit="orders/s", label="order rate", help="orders placed per second"),
)


class OrderService:
    """The EDA order service (a :class:`Producer` target): its own work, one write, then publish.

    Its work time for order i is the i-th draw of stream ``service:orders``, as for the R/R order
    service, so both architectures see the same work times.
    """

    def __init__(self, system, db: Database, topic: Topic, *, service=ORDER_WORK):
        self.name = system.register("orders", self)
        self.env = system.env
        self.db = db
        self.topic = topic
        self.draws = system.streams.draws("service:orders", service)

    def publish(self, mid: int) -> None:
        self.env.process(self._handle(mid))

    def _handle(self, mid: int):
        yield self.env.timeout(self.draws[mid])
        yield from self.db.query("write", mid)
        self.topic.publish(mid)


def run_variant(p: DataReuseParams, variant: str):
    """One system: the same orders, work times and database, wired as ``variant``."""
    v.choice("variant", variant, VARIANTS)
    system = System(p.seed, sample_every=p.until / 20)  # the gauges are not used: sample rarely
    db = Database(system, "orders_db", connections=p.db_connections, query_time=Exponential(p.query_time))
    names = SERVICE_NAMES[:p.services]
    work = Exponential(p.work_ms / 1000)
    if variant == "rr":
        for name in names:
            Service(system, name, workers=WORKERS, service=work, db=db, reads=1)
        Service(system, "orders", workers=ORDER_WORKERS, service=ORDER_WORK, db=db, writes=1,
                downstream=Downstream(calls=names, mode="parallel"))
        target = Client(system, "orders", name="shop")
    else:
        topic = Topic(system, "order_events", publish_latency=PUBLISH)
        thin = variant == "thin"
        for name in names:
            Consumer(system, topic.subscribe(name), f"{name}.consumer", service=work, concurrency=WORKERS,
                     prefetch=WORKERS, db=db if thin else None, reads=int(thin), stream=name)
        target = OrderService(system, db, topic)
    Producer(system, Poisson(rate=p.rate), target, limit=p.orders)
    return system.run(p.until)


@dataclass(frozen=True)
class DataReuseResult:
    """One Result per design (``rr``, ``fat``, ``thin``), and the numbers notebook 02 talks about."""

    params: DataReuseParams
    results: dict

    def _db(self, variant: str) -> Database:
        return self.results[variant].system.component("orders_db")

    def orders(self, variant: str) -> int:
        return self.results[variant].system.messages.count

    def arrival_span(self, variant: str) -> float:
        """Time of the last order's arrival (s): the window the orders came in."""
        msgs = self.results[variant].system.messages
        return msgs.created[msgs.count - 1] if msgs.count else float("nan")

    def reads_per_order(self, variant: str) -> float:
        return self._db(variant).reads / self.orders(variant)

    def writes_per_order(self, variant: str) -> float:
        return self._db(variant).writes / self.orders(variant)

    def queries_per_order(self, variant: str) -> float:
        return self.reads_per_order(variant) + self.writes_per_order(variant)

    def queries_per_s(self, variant: str) -> float:
        """Database queries asked per second while orders arrive: queries / arrival window."""
        db = self._db(variant)
        return (db.reads + db.writes) / self.arrival_span(variant)

    def db_wait_mean(self, variant: str) -> float:
        """Mean time a query waited for a free connection (s)."""
        db = self._db(variant)
        return db.wait_sum / db.waited if db.waited else float("nan")

    def db_time_mean(self, variant: str) -> float:
        """Mean time per query (s): waiting for a connection plus running (W of queueing theory)."""
        db = self._db(variant)
        return (db.wait_sum + db.busy_time) / db.waited if db.waited else float("nan")

    def db_utilisation(self, variant: str) -> float:
        """Share of connection time spent on queries while orders arrived (can exceed 1 = overload)."""
        db = self._db(variant)
        return db.busy_time / (db.connections * self.arrival_span(variant))

    def handled(self, variant: str) -> np.ndarray:
        """Per order: time from the order to the moment the last of the N services finished with it (s).

        NaN for an order some service had not finished when the run stopped. For R/R that is the client's
        response time (the order service answers after all N calls); for EDA, the latest consumer.
        """
        r = self.results[variant]
        msgs = r.system.messages
        n = msgs.count
        created = np.frombuffer(msgs.created, count=n)
        if variant == "rr":
            log = r.system.logs["shop"]
            ok = np.frombuffer(log.status, dtype=np.int8, count=n) == 2
            done = np.where(ok, np.frombuffer(log.done, count=n), np.nan)
        else:
            done = np.full(n, -np.inf)
            for log in r.system.logs.values():
                status = np.frombuffer(log.status, dtype=np.int8, count=min(n, len(log.status)))
                d = np.full(n, np.nan)
                k = len(status)
                d[:k] = np.where(status == 2, np.frombuffer(log.done, count=k), np.nan)
                done = np.maximum(done, d)  # a NaN (not finished) anywhere stays NaN
        return done - created

    def latency_p95(self, variant: str) -> float:
        """95th percentile of :meth:`handled` over the orders every service finished (s)."""
        h = self.handled(variant)
        h = h[~np.isnan(h)]
        return float(np.percentile(h, 95)) if len(h) else float("nan")

    def unfinished(self, variant: str) -> int:
        """Orders some service had not finished when the run stopped (0 when the run drained)."""
        return int(np.isnan(self.handled(variant)).sum())

    def client_wait(self, variant: str) -> np.ndarray:
        """What the customer waits for (s): R/R, the whole chain; EDA, the write and the publish ack."""
        msgs = self.results[variant].system.messages
        n = msgs.count
        return np.frombuffer(msgs.accepted, count=n) - np.frombuffer(msgs.created, count=n)

    def data_age(self, variant: str) -> np.ndarray:
        """Per service and order: how old the order data is when the service finishes with it (s).

        A fat event is a snapshot taken when it was published: its age is the time from the publish to
        the end of processing, and any update in between is missed. R/R and thin-event services read the
        current row just before they finish (age zero here).
        """
        r = self.results[variant]
        if variant != "fat":
            return np.zeros(self.orders(variant) * self.params.services)
        msgs = r.system.messages
        n = msgs.count
        accepted = np.frombuffer(msgs.accepted, count=n)
        ages = []
        for log in r.system.logs.values():
            k = min(n, len(log.status))
            ok = np.frombuffer(log.status, dtype=np.int8, count=k) == 2
            ages.append((np.frombuffer(log.done, count=k) - accepted[:k])[ok])
        return np.concatenate(ages) if ages else np.empty(0)

    def traffic_kb_per_s(self, variant: str) -> dict:
        """Network traffic to the N services while orders arrive (KB/s), by what is carried.

        ``full copies`` (the order's data in fat events), ``id-only messages`` (thin events or R/R calls)
        and ``read back`` (the order's data returned by database reads). Counted from the run: copies
        delivered and reads completed, times the message size, over the arrival window.
        """
        r = self.results[variant]
        span = self.arrival_span(variant)
        kb = self.params.event_kb
        if variant == "rr":
            messages = sum(s.received for s in _services(r.system) if s.name != "orders")
        else:
            messages = sum(log.delivered for log in r.system.logs.values())
        reads = self._db(variant).reads
        return {
            "full copies": messages * kb / span if variant == "fat" else 0.0,
            "id-only messages": messages * THIN_KB / span if variant != "fat" else 0.0,
            "read back": reads * kb / span,
        }

    def traffic_table(self):
        """:meth:`traffic_kb_per_s` of every design in MB/s, with the total."""
        import pandas as pd

        table = pd.DataFrame({NAMES[v]: self.traffic_kb_per_s(v) for v in self.results}) / 1000
        table.loc["total"] = table.sum()
        return table.rename_axis("MB/s")

    def table(self):
        import pandas as pd

        p = self.params
        rows = {}
        for variant in self.results:
            wait = self.client_wait(variant)
            age = self.data_age(variant)
            rows[NAMES[variant]] = {
                "db_reads_per_order": self.reads_per_order(variant),
                "db_writes_per_order": self.writes_per_order(variant),
                "db_queries_per_s": self.queries_per_s(variant),
                "db_utilisation": self.db_utilisation(variant),
                "db_wait_mean_ms": self.db_wait_mean(variant) * 1000,
                "db_wait_theory_ms": p.db_wait_theory(variant) * 1000,
                "db_time_per_query_ms": self.db_time_mean(variant) * 1000,
                "db_time_theory_ms": p.db_time_theory(variant) * 1000,
                "all_services_done_p95_ms": self.latency_p95(variant) * 1000,
                "client_wait_p95_ms": float(np.nanpercentile(wait, 95)) * 1000,
                "traffic_kb_per_s": sum(self.traffic_kb_per_s(variant).values()),
                "data_age_p95_ms": float(np.percentile(age, 95)) * 1000 if len(age) else float("nan"),
                "unfinished_orders": self.unfinished(variant),
            }
        return pd.DataFrame(rows).rename_axis("metric")


def _services(system) -> list[Service]:
    return [c for c in system.components.values() if isinstance(c, Service)]


@lru_cache(maxsize=32)
def _simulate(p: DataReuseParams) -> dict:
    return {variant: run_variant(p, variant) for variant in VARIANTS}


@experiment("data_reuse", "N services need each order: R/R reads vs fat and thin events", DataReuseParams, SLIDERS)
def run_data_reuse(p: DataReuseParams) -> DataReuseResult:
    return DataReuseResult(p, _simulate(p.simulated()))


SERVICES = tuple(range(1, MAX_SERVICES + 1))


@lru_cache(maxsize=16)
def services_sweep(p: DataReuseParams, services: tuple = SERVICES) -> dict:
    """Every design for each N in ``services``, everything else as in ``p`` (for the sweep charts).

    Returns ``{"services": array, variant: {"queries_per_s", "latency_p95", "db_wait_mean", "db_time_mean"}:
    arrays}``.
    Cached on everything but ``services`` (and ``event_kb``), so it runs once per setting.
    """
    base = replace(p.simulated(), services=1)
    if base != p:
        return services_sweep(base, services)
    out = {"services": np.asarray(services, dtype=float)}
    runs = [run_data_reuse(replace(p, services=n)) for n in services]
    for variant in VARIANTS:
        out[variant] = {
            "queries_per_s": np.array([r.queries_per_s(variant) for r in runs]),
            "latency_p95": np.array([r.latency_p95(variant) for r in runs]),
            "db_wait_mean": np.array([r.db_wait_mean(variant) for r in runs]),
            "db_time_mean": np.array([r.db_time_mean(variant) for r in runs]),
        }
    return out

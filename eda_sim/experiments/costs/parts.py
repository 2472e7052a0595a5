"""Moving parts and round trips of one order flow built both ways (experiment ``costs_parts``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ... import validate as v
from ...broker import Broker, Topic, WorkQueue
from ...consumer import Consumer, consumers
from ...database import Database
from ...distributions import Exponential
from ...lab.panel import Slider
from ...partitioned_log import ConsumerGroup, GroupMember
from ...producer import Producer
from ...resilience import OK, Call, soon
from ...service import Client, Downstream, Service
from ...system import System
from ...workload import Poisson
from .. import experiment
from ._common import SEED_MAX, _tidy

# =====================================================================================================
# 6. Moving parts and hops: the same order flow built both ways
# =====================================================================================================
REACTORS = ("billing", "audit", "email", "shipping", "analytics", "loyalty")


class EventPublisher:
    """The order service's publishing step, as a callee: ``call`` publishes the order's event to
    ``broker`` and answers ok at once (the event is in the broker, or in the producer's outbox while the
    broker is down). It lets a request/response :class:`Service` end its work with a publish."""

    def __init__(self, system, name: str, broker: Broker):
        if not isinstance(broker, Broker):
            raise ValueError(f"broker must be a Broker (Topic, WorkQueue, PartitionedLog), got {broker!r}")
        self.env = system.env
        self.name = system.register(name, self)
        self.broker = broker
        self.published = 0

    def call(self, mid: int, reply):
        self.published += 1
        self.broker.publish(mid)
        soon(self.env, reply, OK)
        return _Sent()


class _Sent:
    __slots__ = ("abandoned",)

    def __init__(self):
        self.abandoned = False


@dataclass(frozen=True, kw_only=True)
class PartsParams:
    """``reactors`` services (billing, audit, ...) must react to each new order. R/R: the order service
    calls them in parallel; EDA: it publishes one event to a topic with one subscription each."""

    reactors: int = 2
    rate: float = 5.0
    orders_service: float = 0.02
    reactor_service: float = 0.05
    until: float = 20.0
    seed: int = 1

    def __post_init__(self):
        v.integer("reactors", self.reactors, 1, len(REACTORS))
        v.positive("rate", self.rate, 100)
        v.positive("orders_service", self.orders_service, 10)
        v.positive("reactor_service", self.reactor_service, 10)
        v.positive("until", self.until, 1e5)
        v.integer("seed", self.seed, 0, SEED_MAX)


PARTS_SLIDERS = (
    Slider("reactors", 1, len(REACTORS), 1, unit="services", label="services reacting",
           help="billing, audit, email, shipping, analytics, loyalty: how many must act on each order"),
)

#: Component kinds, in the order the table and chart show them.
KINDS = ("client", "services (request/response)", "event publisher", "broker", "subscription queues",
         "dead-letter queues", "consumers", "database")


def count_parts(system) -> dict:
    """Registered components of a built system, by kind (see :data:`KINDS`)."""
    counts = dict.fromkeys(KINDS, 0)
    for c in system.components.values():
        if isinstance(c, Client):
            counts["client"] += 1
        elif isinstance(c, Service):
            counts["services (request/response)"] += 1
        elif isinstance(c, EventPublisher):
            counts["event publisher"] += 1
        elif isinstance(c, Database):
            counts["database"] += 1
        elif isinstance(c, (Consumer, GroupMember)):
            counts["consumers"] += 1
        elif isinstance(c, WorkQueue) and c.parent is not c:
            counts["subscription queues"] += 1
            counts["dead-letter queues"] += c.delivery_limit is not None
        elif isinstance(c, Broker):
            counts["broker"] += 1
            counts["dead-letter queues"] += getattr(c, "delivery_limit", None) is not None
        elif isinstance(c, ConsumerGroup):
            pass  # a group is bookkeeping; its members are counted as consumers
    return counts


def round_trips(result) -> dict:
    """Network round trips per order, by kind, measured in a run: calls answered by services, database
    queries, publishes (message + ack) and deliveries to consumers (message + ack)."""
    system = result.system
    n = max(system.messages.count, 1)
    calls = sum(c.received for c in system.components.values() if isinstance(c, Service))
    publishes = sum(c.published for c in system.components.values() if isinstance(c, EventPublisher))
    queries = system.counters.get("db_reads", 0) + system.counters.get("db_writes", 0)
    deliveries = sum(lg.delivered for name, lg in system.logs.items() if name != "shopper")
    return {"calls": calls / n, "database queries": queries / n, "publishes": publishes / n,
            "deliveries": deliveries / n}


def build_order_flow(p: PartsParams, arch: str) -> System:
    """The order flow with ``p.reactors`` reacting services, built as R/R or EDA (not yet run).

    Both: a shopper calls the order service, which stores the order (one database write). R/R: the
    order service then calls every reacting service in parallel and answers when all have. EDA: it
    publishes one OrderPlaced event and answers; a topic gives each reacting service a subscription
    (with a dead-letter queue) and a consumer. Reacting service i takes the same time in both.
    """
    v.choice("arch", arch, ("rr", "eda"))
    system = System(p.seed)
    db = Database(system, "orders-db", connections=5, query_time=Exponential(0.003))
    names = REACTORS[: p.reactors]
    if arch == "rr":
        for name in names:
            Service(system, name, workers=4, service=Exponential(p.reactor_service))
        downstream = Downstream(calls=names, mode="parallel")
    else:
        topic = Topic(system, "order-events")
        for name in names:
            queue = topic.subscribe(f"{name}-queue", delivery_limit=5)
            consumers(system, queue, 1, name=name, service=Exponential(p.reactor_service), stream=name,
                      concurrency=4)
        EventPublisher(system, "orders.publisher", topic)
        downstream = Downstream(calls=("orders.publisher",))
    Service(system, "orders", workers=4, service=Exponential(p.orders_service), db=db, writes=1,
            downstream=downstream)
    client = Client(system, Call(target="orders"), name="shopper")
    Producer(system, Poisson(rate=p.rate), client)
    return system


@dataclass(frozen=True)
class PartsResult:
    """``results["rr"]`` and ``results["eda"]``: the two builds, run on the same orders."""

    params: PartsParams
    results: dict

    def parts(self, arch: str) -> dict:
        return count_parts(self.results[arch].system)

    def round_trips(self, arch: str) -> dict:
        return round_trips(self.results[arch])

    def shopper_wait_p95(self, arch: str) -> float:
        """95th percentile of the shopper's wait for "order placed" (s)."""
        msgs = self.results[arch].system.messages
        w = np.frombuffer(msgs.accepted, count=msgs.count) - np.frombuffer(msgs.created, count=msgs.count)
        w = w[~np.isnan(w)]
        return float(np.percentile(w, 95)) if len(w) else math.nan

    def facts(self, arch: str) -> dict:
        """The numbers of the comparison table for one build."""
        parts, trips = self.parts(arch), self.round_trips(arch)
        n = self.params.reactors
        watch = (parts["services (request/response)"] + parts["consumers"] + parts["broker"]
                 + parts["subscription queues"] + parts["dead-letter queues"] + parts["database"])
        return {
            "moving parts (client excluded)": sum(parts.values()) - parts["client"],
            "network round trips per order": round(sum(trips.values()), 1),
            "asynchronous hand-offs per order (trace must be stitched)": round(trips["publishes"]
                                                                               + trips["deliveries"], 1),
            "things to monitor (error rate, lag or depth)": watch,
            "services named in the order service's code": n if arch == "rr" else 0,
            "shopper's wait p95 (ms)": round(1000 * self.shopper_wait_p95(arch), 1),
        }

    def table(self):
        import pandas as pd

        parts = pd.DataFrame({arch: self.parts(arch) for arch in self.results})
        facts = pd.DataFrame({arch: self.facts(arch) for arch in self.results})
        return _tidy(pd.concat([parts, facts]).rename_axis(f"order flow, {self.params.reactors} reacting services"))


@experiment("costs_parts", "Moving parts and round trips: one order flow built as R/R and as EDA", PartsParams,
            PARTS_SLIDERS)
def run_parts(p: PartsParams) -> PartsResult:
    return PartsResult(p, {arch: build_order_flow(p, arch).run(p.until) for arch in ("rr", "eda")})

"""The capstone's design knobs, the scenario script, the presets and how a design is built."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import simpy

from ... import validate as v
from ...broker import WorkQueue
from ...consumer import Consumer
from ...database import Database
from ...distributions import Deterministic, Exponential, Uniform
from ...fault import Crash, Down, FailFraction
from ...metrics import COMPLETED
from ...partitioned_log import PartitionedLog
from ...producer import Producer
from ...resilience import OK, Call, Caller, RetryPolicy
from ...service import Client, Downstream, Service
from ...system import System
from ...workload import Scheduled
from ..costs import EventPublisher

SEED_MAX = 2**63 - 1
STYLES = ("rr", "eda")
INTERACTIONS = ("place", "pay", "notify", "analytics")
DOWNSTREAM = {"pay": "payment", "notify": "notify", "analytics": "analytics"}  # interaction -> component

#: Work per order at each step (seconds, exponential), the same whichever way the step is built.
WORK = {"orders": Exponential(0.02), "payment": Exponential(0.15), "notify": Exponential(0.03),
        "analytics": Exponential(0.06)}
#: Database reads of a synchronous downstream service (it looks the order up; an event carries it).
RR_READS = {"payment": 1, "notify": 1, "analytics": 1}
WRITES = {"payment": 1, "notify": 0, "analytics": 0}
DB_CONNECTIONS = 8
QUERY_TIME = Exponential(0.005)
PUBLISH_LATENCY = Uniform(0.002, 0.008)  # the command queue's acknowledgement of a customer's publish
COMMIT_EVERY = 20
BACKOFF_BASE = 0.1


# =====================================================================================================
# The design a team chooses, and the scenario every team faces
# =====================================================================================================
@dataclass(frozen=True, kw_only=True)
class Design:
    """One choice per interaction (``"rr"`` or ``"eda"``) and a few knobs. Defaults: the naive hybrid.

    ``workers``: threads of each synchronous service and consumers in each consumer group.
    ``timeout`` (s, per try) and ``retries`` apply to every synchronous call between services.
    ``idempotent``: payment is deduplicated by order id (one extra database read per payment attempt).
    ``partitions``: partitions of the OrderPlaced log; a group never uses more consumers than that.
    """

    place: str = "rr"
    pay: str = "rr"
    notify: str = "eda"
    analytics: str = "eda"
    workers: int = 4
    timeout: float = 0.5
    retries: int = 1
    idempotent: bool = False
    partitions: int = 8
    seed: int = 1

    def __post_init__(self):
        for name in INTERACTIONS:
            v.choice(name, getattr(self, name), STYLES)
        v.integer("workers", self.workers, 1, 32)
        v.number("timeout", self.timeout, 0.05, 10.0)
        v.integer("retries", self.retries, 0, 5)
        if not isinstance(self.idempotent, bool):
            raise ValueError(f"idempotent must be True or False, got {self.idempotent!r}")
        v.integer("partitions", self.partitions, 1, 64)
        v.integer("seed", self.seed, 0, SEED_MAX)

    @property
    def synchronous(self) -> tuple[str, ...]:
        """Downstream components called synchronously by the order service, in call order."""
        return tuple(DOWNSTREAM[i] for i in DOWNSTREAM if getattr(self, i) == "rr")

    @property
    def event_driven(self) -> tuple[str, ...]:
        """Downstream components that consume OrderPlaced events."""
        return tuple(DOWNSTREAM[i] for i in DOWNSTREAM if getattr(self, i) == "eda")

    def label(self) -> str:
        """A short description, e.g. ``"place rr · pay eda · notify eda · analytics eda"``."""
        return " · ".join(f"{i} {getattr(self, i)}" for i in INTERACTIONS)


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """The fixed script: normal load, a lunch spike, a payment-provider outage, then a crash.

    Orders arrive at random (Poisson) at ``rate``/s, at ``spike_rate``/s from ``spike_start`` to
    ``spike_end``, and stop at ``traffic_end`` so the run's last seconds show what is still unfinished.
    The payment step (our payment service and its provider) is down from ``outage_start`` to
    ``outage_end``: synchronous calls to it fail at once (HTTP 503); payment consumers pause. From
    ``crash_start`` to ``crash_end`` one payment worker is dead: R/R loses its share of the calls
    (the load balancer still sends it 1/workers of them), EDA loses consumer 1 and its group
    rebalances. The app gives up after ``app_timeout`` s. A notification counts as on time within
    ``notify_within`` s of the order.
    """

    rate: float = 4.0
    spike_rate: float = 12.0
    spike_start: float = 20.0
    spike_end: float = 40.0
    outage_start: float = 50.0
    outage_end: float = 65.0
    crash_start: float = 66.0
    crash_end: float = 69.0
    traffic_end: float = 80.0
    until: float = 90.0
    app_timeout: float = 5.0
    notify_within: float = 2.0

    def __post_init__(self):
        v.positive("rate", self.rate, 100)
        v.non_negative("spike_rate", self.spike_rate, 200)
        v.window("spike", self.spike_start, self.spike_end)
        v.window("outage", self.outage_start, self.outage_end)
        v.window("crash", self.crash_start, self.crash_end)
        v.positive("until", self.until, 3600)
        v.number("traffic_end", self.traffic_end, 0.0, self.until, lo_open=True)
        for name in ("spike_end", "outage_end", "crash_end"):
            if getattr(self, name) > self.traffic_end:
                raise ValueError(f"{name} must be at most traffic_end={self.traffic_end:g} s, "
                                 f"got {getattr(self, name):g}")
        v.positive("app_timeout", self.app_timeout, 600)
        v.positive("notify_within", self.notify_within, 600)

    def workload(self) -> Scheduled:
        """Poisson orders: ``rate``, the lunch spike, and nothing after ``traffic_end``."""
        return Scheduled(rate=self.rate, spikes=((self.spike_start, self.spike_end, self.spike_rate),
                                                 (self.traffic_end, self.until + 1.0, 0.0)))

    def windows(self) -> dict[str, tuple[float, float]]:
        """The shaded windows of the timeline: name -> (start, end) in seconds."""
        return {"lunch spike": (self.spike_start, self.spike_end),
                "payment provider down": (self.outage_start, self.outage_end),
                "payment worker crash": (self.crash_start, self.crash_end)}


SCENARIO = Scenario()

#: Four designs the room compares. They share every knob except idempotency (off only in the naive hybrid).
PRESETS: dict[str, Design] = {
    "all R/R": Design(place="rr", pay="rr", notify="rr", analytics="rr", idempotent=True),
    "all EDA": Design(place="eda", pay="eda", notify="eda", analytics="eda", idempotent=True),
    "hybrid": Design(place="rr", pay="eda", notify="eda", analytics="eda", idempotent=True),
    "naive hybrid": Design(),
}


# =====================================================================================================
# Building a design
# =====================================================================================================
class CommandWorker(Consumer):
    """An order worker for ``place="eda"``: takes a PlaceOrder command from the queue, runs the order
    service's logic (a call to the ``orders`` service, which holds the synchronous steps) and pushes the
    answer to the customer's app (``answered(mid, ok)``), then acknowledges the command."""

    def __init__(self, system, queue, name: str, *, answered):
        super().__init__(system, queue, name, service=Deterministic(0.0), stream="order-commands")
        self.caller = Caller(system, Call(target="orders"), self.name)
        self._answered = answered

    def _work(self):
        env, buffer, queue = self.env, self.buffer, self.queue
        while True:
            if not buffer:
                ev = env.event()
                self._waiting.append(ev)
                try:
                    yield ev
                except simpy.Interrupt:
                    return
                continue
            mid = buffer.popleft()
            answer = env.event()
            self.caller.start(mid, lambda outcome, _tries, ev=answer: ev.succeed(outcome))
            try:
                outcome = yield answer
            except simpy.Interrupt:
                return
            self._answered(mid, outcome == OK)
            queue.log.complete(mid, env.now)
            queue.ack(self, [mid])


class Customers:
    """What each customer was told and when, for ``place="eda"``: the confirmations the order workers push
    back to the app (with ``place="rr"`` the :class:`~eda_sim.service.Client` keeps the answers)."""

    def __init__(self, env):
        self.answered: dict[int, tuple[float, bool]] = {}
        self.env = env

    def record(self, mid: int, ok: bool) -> None:
        self.answered[mid] = (self.env.now, ok)


def build(design: Design, scenario: Scenario = SCENARIO) -> System:
    """The food-delivery backend as ``design`` says, with the scenario's faults scheduled (not yet run)."""
    if not isinstance(design, Design):
        raise ValueError(f"design must be a Design, got {design!r}")
    if not isinstance(scenario, Scenario):
        raise ValueError(f"scenario must be a Scenario, got {scenario!r}")
    system = System(design.seed, sample_every=1.0)
    db = Database(system, "db", connections=DB_CONNECTIONS, query_time=QUERY_TIME)
    idem = int(design.idempotent)
    retry = (RetryPolicy(backoff="full_jitter", max_attempts=design.retries + 1, base=BACKOFF_BASE)
             if design.retries else RetryPolicy())
    for name in design.synchronous:
        Service(system, name, workers=design.workers, service=WORK[name], db=db,
                reads=RR_READS[name] + (idem if name == "payment" else 0), writes=WRITES[name])
    calls = [Call(target=name, timeout=design.timeout, retry=retry) for name in design.synchronous]
    if design.event_driven:
        log = PartitionedLog(system, "order-events", partitions=design.partitions)
        for name in design.event_driven:
            reads = idem if name == "payment" else 0
            log.group(name, consumers=design.workers, service=WORK[name], commit_every=COMMIT_EVERY,
                      db=db if reads or WRITES[name] else None, reads=reads, writes=WRITES[name])
        EventPublisher(system, "orders.publisher", log)
        calls.append(Call(target="orders.publisher"))
    Service(system, "orders", workers=design.workers, service=WORK["orders"], db=db, writes=1,
            downstream=Downstream(calls=tuple(calls)) if calls else None)
    customers = Customers(system.env)
    if design.place == "rr":
        target = Client(system, Call(target="orders", timeout=scenario.app_timeout), name="customers")
    else:
        target = WorkQueue(system, "order-commands", publish_latency=PUBLISH_LATENCY)
        for i in range(design.workers):
            CommandWorker(system, target, f"orders.worker{i + 1}", answered=customers.record)
    system.register("customers.answers", customers)
    Producer(system, scenario.workload(), target)
    _inject_faults(system, design, scenario)
    return system


def _inject_faults(system: System, design: Design, s: Scenario) -> None:
    if design.pay == "rr":
        system.inject(Down(target="payment", start=s.outage_start, end=s.outage_end))
        system.inject(FailFraction(target="payment", start=s.crash_start, end=s.crash_end,
                                   fraction=1.0 / design.workers))
    else:
        for i in range(design.workers):
            system.inject(Down(target=f"payment.consumer{i + 1}", start=s.outage_start, end=s.outage_end))
        system.inject(Crash(target="payment.consumer1", start=s.crash_start, end=s.crash_end))


# =====================================================================================================
# Measuring a run
# =====================================================================================================
def _done_times(system: System, name: str, n: int) -> np.ndarray:
    """When each of orders 0..n-1 was first handled at ``name`` (R/R service or consumer group); NaN: never."""
    component = system.components.get(name)
    if isinstance(component, Service):
        return component.done_times(n)
    log = system.logs[name]
    out = np.full(n, math.nan)
    k = min(n, len(log.status))
    status = np.frombuffer(log.status, dtype=np.int8, count=k)
    out[:k] = np.where(status == COMPLETED, np.frombuffer(log.done, count=k), math.nan)
    return out


def moving_parts(design: Design) -> dict[str, int]:
    """What a team builds, deploys and watches: services (always four: orders, payment, notifier,
    analytics, whether each is called or consumes events), brokers, consumer groups (each with its
    own offsets and lag to monitor) and the database."""
    groups = len(design.event_driven) + (design.place == "eda")
    brokers = int(bool(design.event_driven)) + (design.place == "eda")
    return {"services": 4, "brokers": brokers, "consumer groups": groups, "database": 1}

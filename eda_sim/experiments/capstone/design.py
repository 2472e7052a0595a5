"""The capstone's design knobs, the scenario script, the presets and how a design is built."""

from __future__ import annotations

from dataclasses import dataclass

from ... import validate as v
from ...distributions import Exponential, Uniform
from ...system import System
from ...workload import Scheduled
from ..your_system import engine
from ..your_system import spec as sp

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
def spec_for(design: Design, scenario: Scenario = SCENARIO):
    """The capstone as a system description (``your_system``) with ``design``'s knobs and ``scenario``'s
    script: the engine that builds every design of any description builds the capstone's too. With the
    built-in designs' knobs it equals the bundled example ``food_delivery`` (a test checks)."""
    s = scenario
    services = (sp.ServiceSpec(name="orders", workers=design.workers, work=WORK["orders"], writes=1),
                *(sp.ServiceSpec(name=c, workers=design.workers, work=WORK[c], reads=RR_READS[c], writes=WRITES[c])
                  for c in DOWNSTREAM.values()))
    interactions = (sp.InteractionSpec(name="place", caller=sp.CLIENT, callee="orders", needs_answer=True),
                    sp.InteractionSpec(name="pay", caller="orders", callee="payment", once=True),
                    sp.InteractionSpec(name="notify", caller="orders", callee="notify", fresh_within=s.notify_within),
                    sp.InteractionSpec(name="analytics", caller="orders", callee="analytics"))
    failures = (sp.FailureSpec(name="payment provider down", target="payment", kind="down",
                               start=s.outage_start, end=s.outage_end),
                sp.FailureSpec(name="payment worker crash", target="payment", kind="crash",
                               start=s.crash_start, end=s.crash_end))
    settings = sp.Settings(client_timeout=s.app_timeout, timeout=design.timeout, retries=design.retries,
                           backoff=BACKOFF_BASE, broker="log", partitions=design.partitions,
                           commit_every=COMMIT_EVERY, publish_latency=PUBLISH_LATENCY, idempotent=design.idempotent,
                           db_connections=DB_CONNECTIONS, query_time=QUERY_TIME, topic="order-events",
                           commands="order-commands")
    workload = sp.WorkloadSpec(rate=s.rate, bursts=((s.spike_start, s.spike_end, s.spike_rate),), keys=100,
                               traffic_end=s.traffic_end, until=s.until)
    return sp.SystemSpec(name="Food delivery (the capstone)", entry="orders", services=services,
                         interactions=interactions, workload=workload, failures=failures, settings=settings)


def styles_of(design: Design):
    """``design``'s choices as the engine's :class:`~eda_sim.experiments.your_system.Design`."""
    return sp.Design(tuple(getattr(design, i) for i in INTERACTIONS))


def build(design: Design, scenario: Scenario = SCENARIO) -> System:
    """The food-delivery backend as ``design`` says, with the scenario's faults scheduled (not yet run)."""
    if not isinstance(design, Design):
        raise ValueError(f"design must be a Design, got {design!r}")
    if not isinstance(scenario, Scenario):
        raise ValueError(f"scenario must be a Scenario, got {scenario!r}")
    return engine.build(spec_for(design, scenario), styles_of(design), design.seed)


# =====================================================================================================
# Measuring a run
# =====================================================================================================
#: When each of orders 0..n-1 was first handled at a service or consumer group (NaN: never): the engine's.
_done_times = engine.step_done


def moving_parts(design: Design) -> dict[str, int]:
    """What a team builds, deploys and watches: services (always four: orders, payment, notifier,
    analytics, whether each is called or consumes events), brokers, consumer groups (each with its
    own offsets and lag to monitor) and the database."""
    return engine.moving_parts(spec_for(design), styles_of(design))

"""``capstone``: a food-delivery backend that teams design interaction by interaction and defend with numbers.

Notebook 08. Four interactions, each built as request/response (``"rr"``) or event-driven (``"eda"``):

============  ============================================  ==================================================
interaction   ``"rr"``                                      ``"eda"``
============  ============================================  ==================================================
``place``     the customer's app calls the order service     the app puts a PlaceOrder command on a queue; order
              and waits for its answer (app timeout 5 s)     workers take it and push the confirmation back
``pay``       the order service calls the payment service    a payment consumer group reads OrderPlaced events
``notify``    the order service calls the notifier           a notifier consumer group reads OrderPlaced
``analytics`` the order service calls analytics              an analytics consumer group reads OrderPlaced
============  ============================================  ==================================================

The order service always stores the order (one database write), then makes its synchronous calls one
after the other (payment first; the first failure fails the order), then publishes one OrderPlaced event
if any interaction is event-driven. Synchronous downstream services read the order from the database;
consumers get it in the event (notebook 02). Payment writes one payment record; an *idempotent* payment
looks its order id up first (one more read) and never charges an order twice.

Knobs (:class:`Design`): ``workers`` (threads per service = consumers per group), ``timeout`` and
``retries`` on every synchronous call between services (exponential backoff with full jitter from 0.1 s),
``idempotent`` payment, and ``partitions`` of the event log (a consumer group uses at most that many
consumers). Consumers commit their offsets every 20 messages (and when they catch up), like Kafka's
periodic auto-commit, so a crash makes them redo what they had not committed.

The scenario script (:class:`Scenario`) is the same for every team: orders at 4/s, a lunch spike at 12/s,
the payment provider down for 15 s, then one payment worker crashing for 3 s while payments catch up.
Every design runs on the same seed: order *i* arrives at the same time and takes the same work time at
each interaction whichever way it is built (streams ``arrivals`` and ``service:<interaction>``).

:func:`score` turns one run into rubric points (:data:`RUBRIC`); :func:`defence` writes the two
sentences a team would say; :func:`leaderboard` ranks :data:`PRESETS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from functools import cached_property, lru_cache

import numpy as np
import simpy

from .. import validate as v
from ..broker import WorkQueue
from ..consumer import Consumer
from ..database import Database
from ..distributions import Deterministic, Exponential, Uniform
from ..fault import Crash, Down, FailFraction
from ..metrics import COMPLETED
from ..panel import Slider
from ..partitioned_log import PartitionedLog
from ..producer import Producer
from ..resilience import OK, Call, Caller, RetryPolicy
from ..service import Client, Downstream, Service
from ..system import System
from ..workload import Scheduled
from . import experiment
from .costs import EventPublisher, _tidy

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


@dataclass(frozen=True)
class CapstoneResult:
    """One design run against the scenario: per-order facts, the rubric's metrics and the timeline."""

    design: Design
    scenario: Scenario
    result: object  # the core Result

    @property
    def system(self) -> System:
        return self.result.system

    @cached_property
    def orders(self) -> dict[str, np.ndarray]:
        """Per order: created, answered (when the customer was told), ok (told accepted), paid, notified and
        analysed times (NaN: never). Charges per order are in ``charges``."""
        system, design = self.system, self.design
        msgs = system.messages
        n = msgs.count
        created = np.frombuffer(msgs.created, count=n).copy()
        if design.place == "rr":
            client = system.component("customers")
            answered = np.frombuffer(msgs.accepted, count=n).copy()
            code = np.frombuffer(client.outcome, dtype=np.int8, count=min(n, len(client.outcome)))
            ok = np.zeros(n, dtype=bool)
            ok[:len(code)] = code == OK
        else:
            answers = system.component("customers.answers").answered
            answered = np.full(n, math.nan)
            ok = np.zeros(n, dtype=bool)
            for mid, (t, good) in answers.items():
                answered[mid], ok[mid] = t, good
        return {"created": created, "answered": answered, "ok": ok,
                "paid": _done_times(system, "payment", n), "notified": _done_times(system, "notify", n),
                "analysed": _done_times(system, "analytics", n)}

    @cached_property
    def charges(self) -> dict[str, int]:
        """Payment attempts that completed (``attempts``), distinct orders charged, and ``duplicates``:
        completions beyond the first per order (R/R: a retry after a timeout whose first try still went
        through; EDA: redelivery after the crash). With an idempotent payment they charge nobody."""
        system = self.system
        component = system.components.get("payment")
        if isinstance(component, Service):
            distinct = int(np.count_nonzero(~np.isnan(component.done_times(system.messages.count))))
            attempts = component.ok
        else:
            log = system.logs["payment"]
            distinct, attempts = log.completed, log.completed + log.duplicates
        repeats = attempts - distinct
        return {"attempts": attempts, "orders charged": distinct, "repeated completions": repeats,
                "duplicates": 0 if self.design.idempotent else repeats}

    @cached_property
    def metrics(self) -> dict[str, float]:
        """The numbers the rubric scores (see :data:`RUBRIC`) and a few it only reports."""
        o, s = self.orders, self.scenario
        n = len(o["created"])
        ok = o["ok"]
        paid = ~np.isnan(o["paid"])
        good = ok & paid
        answer = self.answer_waits()
        wait = self.scored_waits()
        accepted = max(int(ok.sum()), 1)
        notified = o["notified"] - o["created"]
        db = self.system.component("db")
        in_outage = (o["created"] >= s.outage_start) & (o["created"] < s.outage_end)
        return {
            "orders": n,
            "customer_wait_p95": float(np.percentile(wait, 95)) if n else math.nan,
            "customer_wait_p50": float(np.percentile(wait, 50)) if n else math.nan,
            "answer_wait_p95": float(np.percentile(answer, 95)) if n else math.nan,
            "answer_wait_p50": float(np.percentile(answer, 50)) if n else math.nan,
            "lost_share": float(np.mean(~good)) if n else math.nan,
            "lost": int(np.count_nonzero(~good)),
            "lost_in_outage": int(np.count_nonzero(~good & in_outage)),
            "told_failed": int(np.count_nonzero(~ok & ~np.isnan(o["answered"]))),
            "charged_but_told_failed": int(np.count_nonzero(~ok & paid)),
            "notified_on_time": float(np.mean(notified[ok] <= s.notify_within)) if ok.any() else math.nan,
            "duplicate_payments": self.charges["duplicates"],
            "repeated_payment_completions": self.charges["repeated completions"],
            "analytics_complete": float(np.count_nonzero(~np.isnan(o["analysed"]) & ok) / accepted),
            "db_queries_per_order": (db.reads + db.writes) / n if n else math.nan,
            "moving_parts": sum(moving_parts(self.design).values()),
            "payment_p95_after_order": float(np.percentile(o["paid"][good] - o["created"][good], 95))
            if good.any() else math.nan,
            "notified_before_payment": int(np.count_nonzero(
                ok & ~np.isnan(o["notified"]) & ~(o["paid"] - o["notified"] <= s.notify_within))),
        }

    def answer_waits(self) -> np.ndarray:
        """Per order: seconds until the customer was told anything ("confirmed" or "failed"); an order
        never answered waits until the end of the run."""
        o = self.orders
        return np.where(np.isnan(o["answered"]), self.result.elapsed, o["answered"]) - o["created"]

    def scored_waits(self) -> np.ndarray:
        """Per order: the wait the rubric scores. A confirmed and paid order counts its wait for the answer;
        an order that failed or was lost counts as the worst wait a customer can have, the app's timeout
        (or its real wait if that was longer), so failing fast earns no points for speed."""
        o = self.orders
        answer = self.answer_waits()
        good = o["ok"] & ~np.isnan(o["paid"])
        return np.where(good, answer, np.maximum(answer, self.scenario.app_timeout))

    @property
    def summary(self) -> dict:
        """The metrics and the rubric total (what the command line prints), and whether a bound cut the run."""
        core = self.result.summary
        return {**self.metrics, "score": self.total, "events": core["events"], "bound_hit": core["bound_hit"],
                "bound_reason": core["bound_reason"]}

    @cached_property
    def rubric(self):
        return score(self.design, self)

    @property
    def total(self) -> float:
        return float(self.rubric.loc["total", "points"])

    def timeline(self, width: float = 2.0):
        """Per ``width``-second bin (by when orders were placed): orders placed, confirmed and lost per
        second, and the 95th percentiles of the customers' wait and of the notification delay (s)."""
        if width == 2.0:
            return self._timeline_2s.copy()
        return self._timeline(width)

    @cached_property
    def _timeline_2s(self):
        return self._timeline(2.0)

    def _timeline(self, width: float):
        import pandas as pd

        v.positive("width", width, self.scenario.until)
        o = self.orders
        edges = np.arange(0.0, self.scenario.until + width / 2, width)
        nb = len(edges) - 1
        idx = np.clip(np.searchsorted(edges, o["created"], side="right") - 1, 0, nb - 1)
        wait = self.scored_waits()
        good = o["ok"] & ~np.isnan(o["paid"])
        return pd.DataFrame({
            "time": edges[:-1] + width / 2,
            "placed_per_s": np.bincount(idx, minlength=nb) / width,
            "confirmed_per_s": np.bincount(idx, weights=o["ok"], minlength=nb) / width,
            "lost_per_s": np.bincount(idx, weights=~good, minlength=nb) / width,
            "wait_p95": _binned_p95(idx, wait, nb),
            "notify_p95": _binned_p95(idx[o["ok"]], (o["notified"] - o["created"])[o["ok"]], nb),
        })

    def payment_backlog(self) -> tuple[np.ndarray, np.ndarray]:
        """(time, orders waiting for payment): the payment group's lag (EDA), or calls queued at and held
        by the payment service (R/R), every second."""
        series = self.system.series
        t = np.frombuffer(series.t)
        cols = series.columns
        if "payment.lag" in cols:
            return t, np.frombuffer(cols["payment.lag"])
        return t, np.frombuffer(cols["payment.queue"]) + np.frombuffer(cols["payment.busy"])

    def table(self):
        """The rubric (one row per criterion, then the total)."""
        return self.rubric


def hold_mean(design: Design) -> float:
    """Mean seconds an order-service worker is held per order: its own work and write, then every
    synchronous call's work and queries (waits ignored). The R/R chain the customer waits for."""
    q = QUERY_TIME.mean
    hold = WORK["orders"].mean + q
    for name in design.synchronous:
        reads = RR_READS[name] + (design.idempotent if name == "payment" else 0)
        hold += WORK[name].mean + (reads + WRITES[name]) * q
    return hold


def spike_load(design: Design, scenario: Scenario = SCENARIO) -> float:
    """Utilisation of the order service's worker pool during the lunch spike: rate x hold / workers."""
    return scenario.spike_rate * hold_mean(design) / design.workers


def payment_capacity(design: Design) -> tuple[float, int]:
    """(service rate per consumer, consumers that can work) of an event-driven payment group: the fluid
    model's mu and c (a group uses at most ``partitions`` consumers)."""
    per = WORK["payment"].mean + (WRITES["payment"] + design.idempotent) * QUERY_TIME.mean
    return 1.0 / per, min(design.workers, design.partitions)


def _binned_p95(idx: np.ndarray, values: np.ndarray, nb: int) -> np.ndarray:
    """95th percentile of ``values`` in each of ``nb`` bins (``idx`` gives each value's bin); NaN values
    (never happened) count as +inf, an empty bin is NaN."""
    out = np.full(nb, math.nan)
    values = np.where(np.isnan(values), np.inf, values)
    order = np.argsort(idx, kind="stable")
    bounds = np.searchsorted(idx[order], np.arange(nb + 1))
    for b in range(nb):
        chunk = values[order[bounds[b]:bounds[b + 1]]]
        if len(chunk):
            out[b] = np.percentile(chunk, 95, method="higher")
    return out


@lru_cache(maxsize=128)
def run_design(design: Design, scenario: Scenario = SCENARIO) -> CapstoneResult:
    """Build and run ``design`` against ``scenario`` (cached: the same design and seed give the same run)."""
    return CapstoneResult(design, scenario, build(design, scenario).run(scenario.until))


# =====================================================================================================
# The rubric
# =====================================================================================================
@dataclass(frozen=True)
class Criterion:
    """One line of the rubric: ``points`` at or better than ``full``, none at or worse than ``zero``,
    linear in between. ``metric`` names a key of :attr:`CapstoneResult.metrics`."""

    key: str
    label: str
    metric: str
    unit: str
    full: float
    zero: float
    points: float
    how: str

    def points_for(self, value: float) -> float:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return 0.0
        share = (value - self.zero) / (self.full - self.zero)
        return self.points * min(1.0, max(0.0, share))

    def shown(self, value: float) -> float:
        """``value`` in the unit the rubric prints (seconds as ms, shares as %)."""
        return value * {"ms": 1000.0, "%": 100.0}.get(self.unit, 1.0)

    def rule(self) -> str:
        """The threshold as a facilitator reads it out."""
        better = "≤" if self.full < self.zero else "≥"
        worse = "≥" if self.full < self.zero else "≤"
        if self.full == 0 and self.zero <= 1 and self.unit == "payments":
            return f"{self.points:g} points if 0, else none"
        best = f"at {_fmt(self.full, self.unit)}" if self.full == 0 else f"at {better} {_fmt(self.full, self.unit)}"
        return f"{self.points:g} points {best}, none at {worse} {_fmt(self.zero, self.unit)}, linear between"


def _fmt(value: float, unit: str) -> str:
    scaled = value * {"ms": 1000.0, "%": 100.0}.get(unit, 1.0)
    return f"{scaled:.4g} {unit}".strip()


RUBRIC: tuple[Criterion, ...] = (
    Criterion("wait", "customer wait p95", "customer_wait_p95", "ms", 0.3, 2.0, 20,
              "95th percentile of how long a customer waited for 'order confirmed'; an order that fails or is "
              "lost counts as the app's 5 s timeout, the worst wait there is"),
    Criterion("lost", "orders lost or failed", "lost_share", "%", 0.0, 0.05, 20,
              "share of orders not both confirmed to the customer and paid by the end of the run"),
    Criterion("notify", "notifications on time", "notified_on_time", "%", 0.99, 0.90, 15,
              "share of confirmed orders whose restaurant and courier were notified within 2 s"),
    Criterion("duplicates", "duplicate payments", "duplicate_payments", "payments", 0.0, 1.0, 15,
              "customers charged a second time for the same order"),
    Criterion("analytics", "analytics completeness", "analytics_complete", "%", 1.0, 0.9, 10,
              "share of confirmed orders recorded by analytics by the end of the run"),
    Criterion("db", "database load", "db_queries_per_order", "queries/order", 3.0, 6.0, 10,
              "database queries (reads and writes) per order placed"),
    Criterion("parts", "moving parts", "moving_parts", "parts", 5, 13, 10,
              "services + brokers + consumer groups + database (fewer is simpler to run and debug)"),
)
MAX_POINTS = sum(c.points for c in RUBRIC)


def rubric_table():
    """The rubric as a facilitator reads it: criterion, what is measured, and the points rule."""
    import pandas as pd

    return pd.DataFrame([{"criterion": c.label, "measured": c.how, "points": c.rule()} for c in RUBRIC]
                        ).set_index("criterion")


def score(design: Design, results: CapstoneResult):
    """The rubric applied to one run: a DataFrame indexed by criterion with the measured ``value`` and the
    ``full`` and ``zero`` thresholds in ``unit`` (ms, %, ...), the ``points`` earned and ``max_points``; the
    last row, ``total``, adds them up (out of 100). Every number comes from the simulated run of ``design``:
    points = max_points x the position of the value between ``zero`` and ``full``, clipped to [0, 1]."""
    import pandas as pd

    if not isinstance(results, CapstoneResult):
        raise ValueError(f"results must be a CapstoneResult (from run_design), got {type(results).__name__}")
    if results.design != design:
        raise ValueError("results were measured for another design; run run_design(design) first")
    m = results.metrics
    rows = [{"criterion": c.key, "label": c.label, "value": round(c.shown(m[c.metric]), 3), "unit": c.unit,
             "full": c.shown(c.full), "zero": c.shown(c.zero), "points": round(c.points_for(m[c.metric]), 2),
             "max_points": c.points} for c in RUBRIC]
    table = pd.DataFrame(rows).set_index("criterion")
    table.loc["total"] = {"label": "total", "value": math.nan, "unit": "points", "full": math.nan,
                          "zero": math.nan, "points": round(float(table["points"].sum()), 2),
                          "max_points": MAX_POINTS}
    return table


def describe(criterion: str, value: float) -> str:
    """A measured value, as :func:`score` shows it (ms, %, ...), in words, e.g. ``"customers waited 84 ms at
    the 95th percentile"``."""
    return {"wait": f"customers waited {value:,.0f} ms at the 95th percentile (a failed order counts as 5 s)",
            "lost": f"{value:.1f} % of orders lost or failed",
            "notify": f"{value:.1f} % of notifications within 2 s",
            "duplicates": f"{int(value)} duplicate payments",
            "analytics": f"analytics recorded {value:.1f} % of confirmed orders",
            "db": f"{value:.2f} database queries per order",
            "parts": f"{int(value)} moving parts"}[criterion]


def defence(design: Design, results: CapstoneResult) -> str:
    """Two sentences a team can open its defence with: its strongest and weakest criterion, with numbers."""
    table = score(design, results).drop(index="total")
    share = table["points"] / table["max_points"]
    # Strongest: the full-marks criterion worth most points; weakest: the most points lost.
    strongest = (share * 1000 + table["max_points"]).idxmax()
    weakest = (table["max_points"] - table["points"]).idxmax()
    total = table["points"].sum()
    s, w = table.loc[strongest], table.loc[weakest]
    text = (f"Total {total:.0f}/100. Strongest: {s['label']} ({describe(strongest, s['value'])}: "
            f"{s['points']:.0f}/{s['max_points']:.0f}).")
    if w["points"] < w["max_points"]:
        text += (f" Weakest: {w['label']} ({describe(weakest, w['value'])}: "
                 f"{w['points']:.0f}/{w['max_points']:.0f}).")
    else:
        text += " Every criterion has full marks."
    return text


# =====================================================================================================
# Presets, the leaderboard and the registered experiment
# =====================================================================================================
def preset(name: str, seed: int = 1) -> Design:
    """The preset design ``name`` with ``seed``."""
    v.choice("preset", name, PRESETS)
    return replace(PRESETS[name], seed=seed)


def leaderboard(seed: int = 1, scenario: Scenario = SCENARIO):
    """The presets ranked by total: points per criterion, the total, and the design in words."""
    return _leaderboard(seed, scenario).copy()


@lru_cache(maxsize=16)
def _leaderboard(seed: int, scenario: Scenario):
    import pandas as pd

    rows = {}
    for name in PRESETS:
        design = preset(name, seed)
        table = run_design(design, scenario).rubric
        rows[name] = {**{table.loc[c.key, "label"]: round(table.loc[c.key, "points"], 1) for c in RUBRIC},
                      "total": round(table.loc["total", "points"], 1), "design": design.label()}
    board = pd.DataFrame.from_dict(rows, orient="index").sort_values("total", ascending=False, kind="stable")
    board.index.name = "preset"
    return board


def best_preset(seed: int = 1, scenario: Scenario = SCENARIO) -> tuple[str, CapstoneResult]:
    """The preset with the highest total at this seed, and its run."""
    name = _leaderboard(seed, scenario).index[0]
    return name, run_design(preset(name, seed), scenario)


def matching_preset(design: Design) -> str | None:
    """The preset this design is (ignoring the seed), or None."""
    for name, p in PRESETS.items():
        if replace(p, seed=design.seed) == design:
            return name
    return None


def changes_from(design: Design, base: Design) -> list[str]:
    """The fields (seed aside) where ``design`` differs from ``base``."""
    return [f.name for f in fields(Design) if f.name != "seed" and getattr(design, f.name) != getattr(base, f.name)]


# =====================================================================================================
# The tables notebook 08 explains with
# =====================================================================================================
def preset_facts(seed: int = 1, scenario: Scenario = SCENARIO):
    """What each preset did, in measured units (not points): the numbers behind the leaderboard."""
    import pandas as pd

    rows = {}
    for name in PRESETS:
        m = run_design(preset(name, seed), scenario).metrics
        rows[name] = {
            "customer wait p95 (ms)": round(1000 * m["customer_wait_p95"]),
            "orders placed": m["orders"],
            "lost or failed": m["lost"],
            "  of which placed during the outage": m["lost_in_outage"],
            "notified within 2 s (%)": round(100 * m["notified_on_time"], 1),
            "payments processed twice": m["repeated_payment_completions"],
            "customers charged twice": m["duplicate_payments"],
            "analytics complete (%)": round(100 * m["analytics_complete"], 1),
            "database queries per order": round(m["db_queries_per_order"], 2),
            "moving parts": m["moving_parts"],
            "order → payment p95 (s)": round(m["payment_p95_after_order"], 1),
            "restaurant told > 2 s before payment": m["notified_before_payment"],
        }
    return _tidy(pd.DataFrame(rows)).rename_axis(f"seed {seed}")


def wait_explained(seed: int = 1, scenario: Scenario = SCENARIO):
    """Why customers wait: the order service's worker is held for the synchronous chain. Per preset, the
    mean hold, the pool's utilisation in the lunch spike, M/M/c's share of orders that queue and mean queue
    wait there (exponential work assumed: a rough guide), and the simulated customer waits."""
    import pandas as pd

    from .. import theory

    rows = {}
    for name in PRESETS:
        design = preset(name, seed)
        m = run_design(design, scenario).metrics
        hold, load = hold_mean(design), spike_load(design)
        q = theory.mmc(scenario.spike_rate, 1.0 / hold, design.workers) if load < 1 else None
        rows[name] = {
            "worker held per order (s)": round(hold, 3),
            "pool utilisation in the spike": round(load, 2),
            "M/M/c: share that queue": round(q.p_wait, 2) if q else math.inf,
            "M/M/c: mean queue wait (s)": round(q.wait_mean, 3) if q else math.inf,
            "simulated wait for an answer p50 (s)": round(m["answer_wait_p50"], 3),
            "simulated wait for an answer p95 (s)": round(m["answer_wait_p95"], 3),
        }
    return _tidy(pd.DataFrame(rows)).rename_axis(f"seed {seed}, spike at {scenario.spike_rate:g} orders/s")


def duplicates_explained(seed: int = 1, scenario: Scenario = SCENARIO):
    """The two ways a payment runs twice, measured with idempotency off and on.

    Timeout + retry (the naive hybrid): a try outlasting the timeout is retried while the provider still
    completes it; expected about calls x exp(-timeout / mean payment time). Redelivery after the crash (the
    hybrid): the group re-reads what it had not committed.
    """
    import pandas as pd

    naive, hybrid = preset("naive hybrid", seed), preset("hybrid", seed)
    mean = WORK["payment"].mean
    rows = {}
    for label, design in (("sync retry after a timeout (naive hybrid)", naive),
                          ("redelivery after the crash (hybrid)", hybrid)):
        off = run_design(replace(design, idempotent=False), scenario)
        on = run_design(replace(design, idempotent=True), scenario)
        expected = (off.metrics["orders"] * math.exp(-design.timeout / mean) if design.pay == "rr"
                    else math.nan)
        rows[label] = {
            "expected from exp(-timeout/mean)": round(expected, 1),
            "payments processed twice": off.metrics["repeated_payment_completions"],
            "charged twice, not idempotent": off.metrics["duplicate_payments"],
            "charged twice, idempotent": on.metrics["duplicate_payments"],
            "queries per order, not idempotent": round(off.metrics["db_queries_per_order"], 2),
            "queries per order, idempotent": round(on.metrics["db_queries_per_order"], 2),
        }
    return _tidy(pd.DataFrame(rows)).rename_axis(f"seed {seed}")


def breaking_points(seeds: tuple = (1, 2, 3, 4, 5), scenario: Scenario = SCENARIO):
    """The cases of "where the claim breaks": the hybrid against all EDA, the hybrid under-provisioned
    (one partition, one worker), and every preset's total over ``seeds`` (its spread)."""
    import pandas as pd

    seed = seeds[0]
    hybrid = preset("hybrid", seed)
    cases = {"hybrid": hybrid, "all EDA": preset("all EDA", seed),
             "hybrid, 1 partition": replace(hybrid, partitions=1), "hybrid, 1 worker": replace(hybrid, workers=1)}
    rows = {}
    for label, design in cases.items():
        r = run_design(design, scenario)
        m = r.metrics
        rows[label] = {"total": round(r.total, 1), "moving parts": m["moving_parts"],
                       "customer wait p95 (ms)": round(1000 * m["customer_wait_p95"]),
                       "lost or failed": m["lost"], "order → payment p95 (s)": round(m["payment_p95_after_order"], 1),
                       "restaurant told > 2 s before payment": m["notified_before_payment"]}
    cases_table = _tidy(pd.DataFrame(rows)).rename_axis(f"seed {seed}")
    totals = pd.DataFrame({name: [round(run_design(preset(name, s), scenario).total, 1) for s in seeds]
                           for name in PRESETS}, index=pd.Index(seeds, name="seed")).T
    totals["spread"] = totals.max(axis=1) - totals.min(axis=1)
    return cases_table, totals


#: Knobs first, then the four toggles: the order tests and benchmarks move them in. The panel shows the
#: toggles first (see eda_sim.views.capstone).
SLIDERS = (
    Slider("workers", 1, 8, 1, unit="per service", label="workers / consumers",
           help="threads of each service, consumers in each group"),
    Slider("timeout", 0.1, 3.0, 0.1, unit="s", label="call timeout",
           help="per try, on every synchronous call between services"),
    Slider("retries", 0, 3, 1, label="retries", help="on every synchronous call between services (backoff with "
                                                     "jitter)"),
    Slider("idempotent", options=(False, True), label="idempotent payment",
           help="look the order id up before charging: no double charge, one more read per payment"),
    Slider("partitions", 1, 16, 1, unit="partitions", label="log partitions",
           help="a consumer group uses at most this many consumers"),
    Slider("place", options=STYLES, label="place order",
           help="the customer waits · rr: call the order service · eda: command on a queue, answer pushed back"),
    Slider("pay", options=STYLES, label="pay", help="rr: the order service calls payment · eda: payment consumes "
                                                    "OrderPlaced"),
    Slider("notify", options=STYLES, label="notify restaurant + courier",
           help="rr: a call in the order request · eda: a consumer of OrderPlaced"),
    Slider("analytics", options=STYLES, label="analytics", help="rr: a call in the order request · eda: a "
                                                                "consumer of OrderPlaced"),
)


@experiment("capstone", "Food delivery: a design per interaction, scored against the workshop rubric", Design,
            SLIDERS)
def run_capstone(design: Design) -> CapstoneResult:
    return run_design(design, SCENARIO)


def check_design(design: Design, target: float = 80.0) -> tuple[bool, str]:
    """The exercise's check: does ``design`` score at least ``target`` with no duplicate payment and at most
    5 % of orders lost? (The rubric counts a failed or lost order as the worst wait, so failing fast no
    longer scores as speed; the check still says so in words when too many orders are lost.)"""
    if not isinstance(design, Design):
        return False, f"Give a Design, e.g. Design(pay='eda', idempotent=True); got {design!r}."
    r = run_design(design, SCENARIO)
    total, dups = r.total, r.metrics["duplicate_payments"]
    if total < target:
        return False, f"{total:.1f}/100 < {target:g}. {defence(design, r)} Start with the weakest criterion."
    if dups:
        return False, (f"{total:.1f}/100, but {dups} customers were charged twice: duplicate payments must be 0, "
                       f"whatever the total. Which mechanism charged them again?")
    lost = r.metrics["lost_share"]
    if lost > 0.05:
        return False, (f"{total:.1f}/100, but {lost:.0%} of orders were lost or failed: a fast 'sorry' is not a "
                       f"fast answer. Keep lost orders at or below 5 %.")
    same = matching_preset(design)
    changed = changes_from(design, replace(PRESETS["naive hybrid"], seed=design.seed))
    note = (f" This is the '{same}' preset: can you find another design that passes?" if same else
            f" You changed {len(changed)} setting(s) from the naive hybrid: {', '.join(changed)}.")
    return True, f"{total:.1f}/100 ≥ {target:g} with no duplicate payment. {defence(design, r)}{note}"

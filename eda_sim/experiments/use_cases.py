"""When to use what (notebook 06): the guide's use-case table, row by row, measured.

The guide's section 6 says which architecture suits which use case (✅ or ⚠️). Here every row becomes a
small workload run through both architectures on the same seed, in a healthy run and in a run where the
service doing the work is down for ``outage`` seconds:

``crud``         a client saves one record and needs the answer now. R/R: one call (service + one write).
                 EDA: a command is published, a consumer applies it, a reply event travels back.
``async``        jobs arrive with a burst above the workers' capacity. R/R: a worker pool with a bounded
                 queue and a client timeout (rejections and timeouts lose jobs). EDA: a work queue absorbs
                 the burst and the same workers drain it.
``integration``  ``services`` services must act on every order (billing, shipping, ...). R/R: the order
                 service calls them all in parallel, each reads the order from the database. EDA: one
                 event carrying the order, one subscription each (:mod:`eda_sim.comparison`).
``notify``       a notifier must react to events (order shipped). R/R: it polls the source every
                 ``poll_interval`` s (or long-polls, ``polling="long"``). EDA: the broker pushes each event.
``batch``        a new analytics service must reprocess the history. R/R: a backfill job calls the
                 analytics service for each past order, which reads it from the order database. EDA: the
                 analytics consumer group replays the retained log (``retention``).

Every row is measured on the same five criteria (:data:`CRITERIA`), each a key of the per-architecture
summary, so :func:`eda_sim.sweep.sweep` can average them over seeds with confidence intervals:

``time_s``           the time that matters in this row (p95; for ``batch``, the time to finish), s
``done_share``       share of the work done (answered within the deadline, job done, every service acted,
                     event handled, past order reprocessed) in the healthy run
``outage_share``     the same share in the run with an outage
``source_requests``  requests the source (its database, or its API) serves per unit of work, counting the
                     write that creates the data
``moving_parts``     components to build, run and watch (client and producer excluded)

:func:`scores` turns the means into 0–1 scores (higher is better) and a weighted score per row and
architecture; the ``scorecard`` experiment runs the whole grid once through ``sweep`` (cached) and
applies the learner's weights, so moving a weight costs only arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache

import numpy as np

from .. import validate as v
from ..broker import Broker, Topic, WorkQueue
from ..comparison import Flow, Handler, compare
from ..consumer import Consumer
from ..database import Database
from ..distributions import Exponential
from ..fault import Down
from ..metrics import COMPLETED
from ..panel import Slider
from ..partitioned_log import ConsumerGroup, PartitionedLog
from ..producer import Producer
from ..resilience import OK, Call
from ..service import Client, Service
from ..system import System
from ..workload import Poisson, Scheduled
from . import experiment
from .data_reuse import OrderService

SEED_MAX = 2**63 - 1
ARCHS = ("rr", "eda")
ARCH_LABEL = {"rr": "R/R", "eda": "EDA"}
CASES = ("crud", "async", "integration", "notify", "batch")
CASE_NAMES = {
    "crud": "Simple CRUD",
    "async": "High-throughput async workflows",
    "integration": "Multi-service integration",
    "notify": "Real-time notifications",
    "batch": "Offline or batch processing",
}
#: The guide's table, verbatim: (mark, comment) for R/R and for EDA.
GUIDE = {
    "crud": {"rr": ("✅", ""), "eda": ("⚠️", "may be overkill")},
    "async": {"rr": ("⚠️", "limited"), "eda": ("✅", "ideal")},
    "integration": {"rr": ("⚠️", "tightly coupled"), "eda": ("✅", "loosely coupled")},
    "notify": {"rr": ("⚠️", "polling required"), "eda": ("✅", "event-driven")},
    "batch": {"rr": ("⚠️", "limited"), "eda": ("✅", "event logs / replayable")},
}
#: What "the time that matters" is in each row.
TIME_MEANING = {
    "crud": "client waits for its answer (p95)",
    "async": "job submitted → job done (p95)",
    "integration": "caller waits for 'order placed' (p95)",
    "notify": "event → notification sent (p95)",
    "batch": "time to reprocess the whole history",
}
#: The service that does the work and goes down in the outage run.
OUTAGE_TARGET = {"crud": "records", "async": "jobs", "integration": "the last of the N services",
                 "notify": "notifier", "batch": "analytics"}


@dataclass(frozen=True)
class Criterion:
    """One column of the scorecard: the summary key it reads and how a value becomes a 0–1 score.

    ``kind="cost"`` (lower is better): score = best value / this value, so the better architecture
    scores 1 and one twice as slow (or twice as big) scores 0.5. ``kind="share"`` (higher is better):
    the share itself is the score.
    """

    key: str
    label: str
    unit: str
    kind: str
    help: str


CRITERIA = {
    "speed": Criterion("time_s", "speed", "s", "cost", "the time that matters in this row"),
    "throughput": Criterion("done_share", "work done", "share", "share",
                            "share of the work done in the healthy run"),
    "resilience": Criterion("outage_share", "work done despite an outage", "share", "share",
                            "share of the work done when the working service is down for a while"),
    "load": Criterion("source_requests", "load on the source", "requests per unit", "cost",
                      "requests the source's database or API serves per unit of work"),
    "simplicity": Criterion("moving_parts", "simplicity", "moving parts", "cost",
                            "components to build, run and watch"),
}
METRICS = tuple(c.key for c in CRITERIA.values())

DEADLINE = 1.0  # s: a waiting client (CRUD, integration) gives up after this
UNTIL = 60.0  # s: run length of the rows with a steady stream
OUTAGE_AT = 30.0  # s: when the working service goes down (rows with a steady stream)
HOP = Exponential(0.002)  # broker publish acknowledgement (s), and the reply event's hop in CRUD
CRUD_RATE = 5.0  # requests/s
INTEGRATION_RATE = 6.0  # orders/s
INTEGRATION_NAMES = ("billing", "shipping", "email", "analytics", "loyalty", "fraud", "search", "audit")
BATCH_HISTORY = 30.0  # s of orders before the analytics service starts (batch)
BATCH_UNTIL = 90.0
RETRY_AFTER = 1.0  # s: the R/R backfill job retries a failed call after this


@dataclass(frozen=True, kw_only=True)
class UseCaseParams:
    """One row of the guide's table (``case``) run as R/R and EDA, healthy and with an outage.

    ``load`` multiplies the row's arrival rate (CRUD 5/s, async 7.5/s with a 30/s burst, integration
    6/s, notifications 2/s, batch 10/s of history). ``outage`` is how long the working service is down
    (0: no outage run; the outage share is then the healthy share). ``services`` (integration),
    ``poll_interval`` and ``polling`` (notifications) and ``retention`` (batch) change one row only.
    """

    case: str = "crud"
    load: float = 1.0
    outage: float = 5.0
    services: int = 4
    poll_interval: float = 4.0
    polling: str = "fixed"
    retention: float = 60.0
    seed: int = 1

    def __post_init__(self):
        v.choice("case", self.case, CASES)
        v.number("load", self.load, 0.1, 3.0)
        v.number("outage", self.outage, 0.0, 20.0)
        v.integer("services", self.services, 1, len(INTEGRATION_NAMES))
        v.number("poll_interval", self.poll_interval, 0.5, 20.0)
        v.choice("polling", self.polling, ("fixed", "long"))
        v.number("retention", self.retention, 1.0, 1e5)
        v.integer("seed", self.seed, 0, SEED_MAX)

    @property
    def scenario(self) -> UseCaseParams:
        """These parameters without ``case`` and ``seed``: what a grid of rows and seeds shares."""
        return replace(self, case=UseCaseParams.case, seed=UseCaseParams.seed)

    @property
    def outage_window(self) -> tuple[float, float] | None:
        if self.outage == 0:
            return None
        start = BATCH_HISTORY + 3.0 if self.case == "batch" else OUTAGE_AT
        return start, start + self.outage


@dataclass
class Measured:
    """One architecture in one row: ``summary`` (the criteria, what ``sweep`` averages) and its runs."""

    summary: dict
    healthy: object  # a Result
    faulted: object | None  # the Result of the outage run (None without an outage)
    parts: dict  # moving parts by kind (see moving_parts)


# -- helpers ---------------------------------------------------------------------------------------------
JUDGED_BEFORE = 10.0  # s: units created in the last 10 s of a run are not judged (they had no time)


def _arrays(result, log_name: str):
    """(status, done, created) per message of one delivery log (subscription or client)."""
    system = result.system
    log, msgs = system.logs[log_name], system.messages
    n = msgs.count
    k = min(len(log.status), n)
    status = np.zeros(n, dtype=np.int8)
    done = np.full(n, math.nan)
    status[:k] = np.frombuffer(log.status, dtype=np.int8, count=k)
    done[:k] = np.frombuffer(log.done, count=k)
    return status, done, np.frombuffer(msgs.created, count=n).copy()


def judged(created: np.ndarray, until: float) -> np.ndarray:
    """Units created early enough to be judged: not in the last ``JUDGED_BEFORE`` seconds."""
    return created <= until - JUDGED_BEFORE


def censored_p95(created: np.ndarray, done: np.ndarray, until: float) -> float:
    """p95 of (done - created) over judged units; a unit never done counts as done at the end of the
    run (a lower bound on its time, as in notebook 01)."""
    keep = judged(created, until)
    t = np.where(np.isnan(done), until, done)[keep] - created[keep]
    return float(np.percentile(t, 95)) if len(t) else math.nan


def done_share(created: np.ndarray, done: np.ndarray, until: float) -> float:
    """Share of the judged units that were done (``done`` not NaN)."""
    keep = judged(created, until)
    return float(np.mean(~np.isnan(done[keep]))) if keep.any() else math.nan


PART_KINDS = ("services", "brokers", "queues", "consumer services", "databases")


def moving_parts(system, extra: dict | None = None) -> dict:
    """Components to build, deploy and watch, by kind (:data:`PART_KINDS`); ``extra`` adds parts the
    model leaves implicit (a service that only publishes, a reply queue, a backfill job).

    Like ``costs.count_parts`` (notebook 07), but a service counts once however many instances or
    consumers run it: an R/R service with 4 workers and a subscription's 4 competing consumers are
    each one part. A broker counts once; each queue (subscription) in it is a part. Clients and
    producers (the callers) are not counted.
    """
    out = dict.fromkeys(PART_KINDS, 0)
    consumed = set()
    for c in system.components.values():
        if isinstance(c, Service):
            out["services"] += 1
        elif isinstance(c, Database):
            out["databases"] += 1
        elif isinstance(c, Consumer):
            consumed.add(c.queue.name)
        elif isinstance(c, ConsumerGroup):
            out["consumer services"] += 1
        elif isinstance(c, WorkQueue):
            out["queues"] += 1
            out["brokers"] += c.parent is c  # a queue on its own is a broker holding one queue
        elif isinstance(c, Broker):
            out["brokers"] += 1
    out["consumer services"] += len(consumed)
    for kind, n in (extra or {}).items():
        out[v.choice("kind", kind, PART_KINDS)] += n
    return out


def _db_queries(result) -> int:
    c = result.system.counters
    return int(c.get("db_reads", 0) + c.get("db_writes", 0))


# -- crud --------------------------------------------------------------------------------------------------
class ReplyHop:
    """The EDA reply channel of the CRUD row: the reply event's broker hop back to the client.

    The delay for request i is the i-th draw of stream ``publish:replies``, from the same distribution
    as the command's own publish. The reply queue counts as a moving part.
    """

    def __init__(self, system):
        self.name = system.register("replies", self)
        self.draws = system.streams.draws("publish:replies", HOP)


def build_crud(p: UseCaseParams, arch: str, seed: int) -> tuple[System, dict]:
    """R/R: client → records service (one write). EDA: command → consumer (one write) → reply."""
    system = System(seed, sample_every=1.0)
    db = Database(system, "records-db", connections=4, query_time=Exponential(0.003))
    work = Exponential(0.005)
    if arch == "rr":
        Service(system, "records", workers=4, service=work, db=db, writes=1)
        target = Client(system, Call(target="records", timeout=DEADLINE), name="client")
        extra = {}
    else:
        topic = Topic(system, "commands", publish_latency=HOP)
        Consumer(system, topic.subscribe("records"), "records.consumer", service=work, concurrency=4,
                 prefetch=4, db=db, writes=1, stream="records")
        ReplyHop(system)
        target = topic
        extra = {"queues": 1}  # the reply queue the client listens on
    Producer(system, Poisson(rate=CRUD_RATE * p.load), target)
    return system, extra


def crud_answers(result, arch: str):
    """(created, answered) per request; answered is NaN without an answer within ``DEADLINE``.

    R/R: the response. EDA: the command applied by the consumer, plus the reply event's hop."""
    system = result.system
    n = system.messages.count
    created = np.frombuffer(system.messages.created, count=n).copy()
    if arch == "rr":
        client = system.component("client")
        answered = np.frombuffer(system.messages.accepted, count=n).copy()
        outcome = np.full(n, -1, dtype=np.int8)
        k = min(n, len(client.outcome))
        outcome[:k] = np.frombuffer(client.outcome, dtype=np.int8, count=k)
        answered[outcome != OK] = math.nan
    else:
        status, done, _ = _arrays(result, "records")
        reply = system.component("replies")
        hops = np.array([reply.draws[i] for i in range(n)])
        answered = np.where(status == COMPLETED, done + hops, math.nan)
        answered[answered > result.until] = math.nan  # the reply is still on its way at the end
    answered[answered - created > DEADLINE] = math.nan  # the client had given up
    return created, answered


def measure_crud(healthy, faulted, arch: str) -> dict:
    created, answered = crud_answers(healthy, arch)
    ok = ~np.isnan(answered)
    return {"time_s": censored_p95(created, answered, healthy.until),
            "done_share": done_share(created, answered, healthy.until),
            "outage_share": done_share(*crud_answers(faulted, arch), faulted.until) if faulted else math.nan,
            "source_requests": _db_queries(healthy) / max(int(ok.sum()), 1)}


# -- async ---------------------------------------------------------------------------------------------------
ASYNC_BURST = (10.0, 20.0)  # s
ASYNC_RATES = (7.5, 30.0)  # jobs/s outside and inside the burst
ASYNC_WORK = 0.2  # s per job: the 4 workers do 20 jobs/s


def build_async(p: UseCaseParams, arch: str, seed: int) -> tuple[System, dict]:
    """R/R: client → job service (4 workers, queue of 20, 2 s timeout). EDA: work queue → 4 consumers.
    Both do 20 jobs/s; the burst brings 30/s for 10 s."""
    system = System(seed, sample_every=1.0)
    db = Database(system, "results-db", connections=8, query_time=Exponential(0.002))
    work = Exponential(ASYNC_WORK)
    base, burst = ASYNC_RATES
    load = Scheduled(rate=base * p.load, spikes=((*ASYNC_BURST, burst * p.load),))
    if arch == "rr":
        Service(system, "jobs", workers=4, service=work, queue_limit=20, db=db, writes=1)
        target = Client(system, Call(target="jobs", timeout=2.0), name="client")
    else:
        target = WorkQueue(system, "jobs", publish_latency=HOP)
        Consumer(system, target, "jobs.consumer", service=work, concurrency=4, prefetch=4, db=db, writes=1,
                 stream="jobs")
    Producer(system, load, target)
    return system, {}


def async_done(result, arch: str):
    """(created, done) per job: done when the job service answered ok (R/R) or the consumer finished."""
    status, done, created = _arrays(result, "client" if arch == "rr" else "jobs")
    return created, np.where(status == COMPLETED, done, math.nan)


def measure_async(healthy, faulted, arch: str) -> dict:
    created, done = async_done(healthy, arch)
    return {"time_s": censored_p95(created, done, healthy.until),
            "done_share": done_share(created, done, healthy.until),
            "outage_share": done_share(*async_done(faulted, arch), faulted.until) if faulted else math.nan,
            "source_requests": _db_queries(healthy) / max(int(np.sum(~np.isnan(done))), 1)}


# -- integration ---------------------------------------------------------------------------------------------
def integration_flow(p: UseCaseParams) -> Flow:
    """Orders to ``p.services`` services (4 workers or consumers each). R/R: the order service calls them
    in parallel, each reads the order from the database; EDA: the event carries it. Billing writes."""
    handlers = tuple(Handler(name=name, service=Exponential(0.03), workers=4, reads=1, writes=int(i == 0))
                     for i, name in enumerate(INTEGRATION_NAMES[:p.services]))
    return Flow(workload=Poisson(rate=INTEGRATION_RATE * p.load), handlers=handlers, entry="orders", entry_workers=64,
                calls="parallel", timeout=DEADLINE, publish_latency=HOP, db_connections=8,
                query_time=Exponential(0.003), carried_state=True)


def integration_orders(result):
    """(created, client stopped waiting, every service done) per order."""
    o = result.system.component("orders.flow").orders()
    return o["created"], o["accepted"], o["done"]


def measure_integration(healthy, faulted, arch: str) -> dict:
    created, accepted, done = integration_orders(healthy)
    return {"time_s": censored_p95(created, accepted, healthy.until),
            "done_share": done_share(created, done, healthy.until),
            "outage_share": done_share(*integration_orders(faulted)[::2], faulted.until) if faulted else math.nan,
            "source_requests": _db_queries(healthy) / max(int(np.sum(~np.isnan(done))), 1)}


# -- notify --------------------------------------------------------------------------------------------------
def build_notify(p: UseCaseParams, arch: str, seed: int) -> tuple[System, dict]:
    """As notebook 04's ``reactivity``: a notifier on the source's stream of changes, polling (R/R,
    fixed or long polls) or pushed to (EDA)."""
    system = System(seed, sample_every=1.0)
    changes = WorkQueue(system, "changes")
    poll = None if arch == "eda" else p.poll_interval
    Consumer(system, changes, "notifier", service=Exponential(0.05), prefetch=100, poll_interval=poll,
             long_poll=arch == "rr" and p.polling == "long")
    Producer(system, Poisson(rate=2.0 * p.load), changes)
    if arch == "rr":  # the polled queue stands for the source service's "what changed since?" endpoint
        extra = {"brokers": -1, "queues": -1, "services": 1}
    else:  # the source service still exists: it publishes each change
        extra = {"services": 1}
    return system, extra


def notify_done(result):
    status, done, created = _arrays(result, "changes")
    return created, np.where(status == COMPLETED, done, math.nan)


def measure_notify(healthy, faulted, arch: str) -> dict:
    created, done = notify_done(healthy)
    polls = healthy.system.counters.get("polls", 0)
    return {"time_s": censored_p95(created, done, healthy.until),
            "done_share": done_share(created, done, healthy.until),
            "outage_share": done_share(*notify_done(faulted), faulted.until) if faulted else math.nan,
            # per change: the source stores (R/R) or publishes (EDA) it once, and answers every poll
            "source_requests": (len(created) + polls) / max(len(created), 1)}


# -- batch ---------------------------------------------------------------------------------------------------
class Backfill:
    """The R/R backfill job: from ``start``, call ``analytics`` for each past order, one at a time,
    retrying a failed call after ``RETRY_AFTER`` s (a patient batch job loses nothing)."""

    def __init__(self, system, analytics: Service, start: float):
        self.system = system
        self.env = system.env
        self.name = system.register("backfill", self)
        self.analytics = analytics
        self.history = 0
        self.done: list[float] = []
        self.env.process(self._run(start))

    def _run(self, start: float):
        env = self.env
        yield env.timeout(start)
        self.history = self.system.messages.count
        for mid in range(self.history):
            while True:
                answer = env.event()
                self.analytics.call(mid, lambda outcome, ev=answer: ev.succeed(outcome))
                outcome = yield answer
                if outcome == OK:
                    self.done.append(env.now)
                    break
                yield env.timeout(RETRY_AFTER)


def build_batch(p: UseCaseParams, arch: str, seed: int) -> tuple[System, dict]:
    """30 s of orders, each written to the order database; then a new analytics service needs them all.
    R/R: a backfill job calls analytics for each, which reads it from the database. EDA: the orders were
    also published to a log (``retention``); the analytics consumer group replays it from the start."""
    system = System(seed, sample_every=1.0)
    db = Database(system, "orders-db", connections=4, query_time=Exponential(0.01))
    history = Scheduled(rate=0.0, spikes=((0.0, BATCH_HISTORY, 10.0 * p.load),))
    work = Exponential(0.02)
    if arch == "rr":
        Service(system, "orders", workers=16, service=Exponential(0.001), db=db, writes=1)
        target = Client(system, "orders", name="shop")
        Backfill(system, Service(system, "analytics", service=work, db=db, reads=1), BATCH_HISTORY)
        extra = {"services": 1}  # the backfill job is one more thing to write and run
    else:
        log = PartitionedLog(system, "orders-log", partitions=1, retention=p.retention)
        target = OrderService(system, db, log, service=Exponential(0.001))
        system.env.timeout(BATCH_HISTORY).callbacks.append(
            lambda _: log.group("analytics", consumers=1, service=work, start="earliest"))
        extra = {"services": 1, "queues": 1}  # the order service (it writes and publishes); the topic
    Producer(system, history, target)
    return system, extra


def batch_times(result, arch: str) -> tuple[int, np.ndarray]:
    """(past orders, sorted times at which each one was reprocessed)."""
    system = result.system
    if arch == "rr":
        job = system.component("backfill")
        return job.history, np.sort(np.asarray(job.done))
    status, done, created = _arrays(result, "analytics")
    past = (status == COMPLETED) & (created < BATCH_HISTORY)
    return int(np.sum(created < BATCH_HISTORY)), np.sort(done[past])


def measure_batch(healthy, faulted, arch: str) -> dict:
    history, times = batch_times(healthy, arch)
    complete = len(times) == history and history > 0
    f_history, f_times = batch_times(faulted, arch) if faulted else (0, ())
    return {"time_s": float(times[-1] if complete else healthy.until) - BATCH_HISTORY,
            "done_share": len(times) / history if history else math.nan,
            "outage_share": len(f_times) / f_history if f_history else math.nan,
            "source_requests": _db_queries(healthy) / max(history, 1)}


# -- one row, both architectures -------------------------------------------------------------------------------
OUTAGE_COMPONENTS = {  # (R/R, EDA) component names of the service doing the work
    "crud": ("records", "records.consumer"),
    "async": ("jobs", "jobs.consumer"),
    "notify": ("notifier", "notifier"),
    "batch": ("analytics", "analytics.consumer1"),
}
BUILDERS = {"crud": (build_crud, measure_crud, UNTIL), "async": (build_async, measure_async, UNTIL),
            "notify": (build_notify, measure_notify, UNTIL), "batch": (build_batch, measure_batch, BATCH_UNTIL)}


def _inject(system, target: str, window) -> None:
    """Down ``target`` during ``window``. The EDA analytics consumer only exists from ``BATCH_HISTORY``
    on, so its fault is attached then (fault windows are absolute simulated times)."""
    start, end = window
    fault = Down(target=target, start=start, end=end)
    if target in system.components:
        system.inject(fault)
    else:
        system.env.timeout(BATCH_HISTORY).callbacks.append(lambda _: system.inject(fault))


def _finish(summary: dict, healthy_parts: dict, healthy, faulted) -> dict:
    if math.isnan(summary["outage_share"]):  # no outage run: the healthy run is all there is
        summary["outage_share"] = summary["done_share"]
    reasons = [r.message for r in (healthy, faulted) if r is not None and r.bound_hit]
    return {**summary, "moving_parts": sum(healthy_parts.values()), "bound_hit": bool(reasons),
            "bound_reason": "; ".join(reasons)}


def _run_row(p: UseCaseParams, arch: str) -> Measured:
    build, measure, until = BUILDERS[p.case]
    system, extra = build(p, arch, p.seed)
    healthy = system.run(until)
    parts = moving_parts(system, extra)
    faulted = None
    if p.outage_window is not None:
        system, _ = build(p, arch, p.seed)
        _inject(system, OUTAGE_COMPONENTS[p.case][ARCHS.index(arch)], p.outage_window)
        faulted = system.run(until)
    return Measured(_finish(measure(healthy, faulted, arch), parts, healthy, faulted), healthy, faulted, parts)


def _run_integration(p: UseCaseParams) -> dict:
    flow = integration_flow(p)
    healthy = compare(flow, until=UNTIL, seed=p.seed, sample_every=1.0)
    faulted = None
    if p.outage_window is not None:
        down = Down(target=flow.handlers[-1].name, start=p.outage_window[0], end=p.outage_window[1])
        faulted = compare(flow, until=UNTIL, seed=p.seed, faults=[down], sample_every=1.0)
    out = {}
    for arch in ARCHS:
        h = healthy.results[arch]
        f = faulted.results[arch] if faulted else None
        parts = moving_parts(h.system, {"services": 1} if arch == "eda" else None)  # EDA: the order service
        out[arch] = Measured(_finish(measure_integration(h, f, arch), parts, h, f), h, f, parts)
    return out


@dataclass(frozen=True)
class UseCaseResult:
    """One row: ``results = {"rr": Measured, "eda": Measured}``, each with ``.summary`` (the criteria)."""

    params: UseCaseParams
    results: dict

    @property
    def summary(self) -> dict:
        return {arch: m.summary for arch, m in self.results.items()}

    def table(self):
        import pandas as pd

        rows = {f"{c.label} ({c.unit})": {arch: self.results[arch].summary[c.key] for arch in ARCHS}
                for c in CRITERIA.values()}
        return pd.DataFrame(rows).T.rename_axis(CASE_NAMES[self.params.case])


USE_CASE_SLIDERS = (
    Slider("case", options=CASES, label="use case", help="one row of the guide's table"),
    Slider("load", 0.2, 3.0, 0.1, unit="×", label="load", help="arrival rate as a multiple of the row's default"),
    Slider("outage", 0.0, 20.0, 1.0, unit="s", label="outage",
           help="how long the service doing the work is down in the outage run"),
    Slider("services", 1, len(INTEGRATION_NAMES), 1, label="services (integration)",
           help="services that must act on every order"),
    Slider("polling", options=("fixed", "long"), label="R/R polling (notifications)",
           help="fixed: ask every T seconds; long: a held-open request answered when news arrives"),
    Slider("retention", 5.0, 60.0, 5.0, unit="s", label="log retention (batch)",
           help="how long the log keeps an order; the history is 30 s long"),
)


@experiment("use_case", "One row of the guide's use-case table, as R/R and EDA (healthy and with an outage)",
            UseCaseParams, USE_CASE_SLIDERS)
def run_use_case(p: UseCaseParams) -> UseCaseResult:
    if p.case == "integration":
        return UseCaseResult(p, _run_integration(p))
    return UseCaseResult(p, {arch: _run_row(p, arch) for arch in ARCHS})


# -- the scorecard: every row, several seeds, weighted -----------------------------------------------------------
PRECISION = {"quick": 3, "full": 8}  # seeds per row


@lru_cache(maxsize=32)
def measured_grid(scenario: UseCaseParams, seeds: tuple[int, ...], cases: tuple[str, ...] = CASES):
    """Rows ``cases`` of the table for each of ``seeds``, through :func:`eda_sim.sweep.sweep`: its tidy
    table (case, variant = architecture, metric, mean, std, n, ci_low, ci_high) of the five criteria.

    Cached on the scenario, the seeds and the rows, so changing a weight (or the row shown in detail)
    runs nothing.
    """
    from ..sweep import sweep  # the sweep module imports the experiment registry

    if scenario != scenario.scenario:
        return measured_grid(scenario.scenario, seeds, cases)
    for case in cases:
        v.choice("case", case, CASES)
    return sweep("use_case", {"case": list(cases)}, seeds=list(seeds), base=scenario, metrics=list(METRICS))


def criterion_scores(means) -> dict:
    """{case: {arch: {criterion: score}}} from ``means[case][arch][key]``: 0–1, higher is better.

    A cost (time, load, parts) scores best / value, so the better architecture gets 1 and one twice as
    slow gets 0.5 (two zeros tie at 1); a share scores itself.
    """
    out = {}
    for case in means:
        out[case] = {arch: {} for arch in ARCHS}
        for name, c in CRITERIA.items():
            values = {arch: float(means[case][arch][c.key]) for arch in ARCHS}
            for arch, x in values.items():
                if c.kind == "share":
                    s = x
                else:
                    best = min(values.values())
                    s = 1.0 if x == best else best / x if x > 0 else 0.0
                out[case][arch][name] = float(np.clip(s, 0.0, 1.0)) if math.isfinite(s) else 0.0
    return out


def weighted_scores(scores: dict, weights: dict) -> dict:
    """{case: {arch: Σ weight × score / Σ weight}}: the scorecard's cells, 0–1."""
    total = sum(weights.values())
    if not total > 0:
        raise ValueError("at least one weight must be above 0: give some criterion a weight")
    return {case: {arch: sum(weights[k] * s[k] for k in weights) / total for arch, s in by_arch.items()}
            for case, by_arch in scores.items()}


@dataclass(frozen=True, kw_only=True)
class ScorecardParams:
    """The learner's weights (0–5) for the five criteria, the precision (seeds per row), the row shown
    in detail, and the scenario every row runs in (as in :class:`UseCaseParams`)."""

    w_speed: float = 1.0
    w_throughput: float = 1.0
    w_resilience: float = 1.0
    w_load: float = 1.0
    w_simplicity: float = 1.0
    precision: str = "quick"
    detail: str = "async"
    load: float = 1.0
    outage: float = 5.0
    services: int = 4
    poll_interval: float = 4.0
    polling: str = "fixed"
    retention: float = 60.0
    seed: int = 1

    def __post_init__(self):
        for name in CRITERIA:
            v.number(f"w_{name}", getattr(self, f"w_{name}"), 0.0, 5.0)
        if not sum(self.weights.values()) > 0:
            raise ValueError("the weights w_speed, ..., w_simplicity must not all be 0: give some criterion a "
                             "weight in (0, 5]")
        v.choice("precision", self.precision, tuple(PRECISION))
        v.choice("detail", self.detail, CASES)
        v.integer("seed", self.seed, 0, SEED_MAX - max(PRECISION.values()))
        self.scenario  # noqa: B018 - checks the scenario fields (load, outage, ...)

    @property
    def weights(self) -> dict:
        return {name: float(getattr(self, f"w_{name}")) for name in CRITERIA}

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(range(self.seed, self.seed + PRECISION[self.precision]))

    @property
    def scenario(self) -> UseCaseParams:
        return UseCaseParams(load=self.load, outage=self.outage, services=self.services,
                             poll_interval=self.poll_interval, polling=self.polling, retention=self.retention)


SCORECARD_SLIDERS = (
    *(Slider(f"w_{name}", 0.0, 5.0, 0.5, label=f"weight: {c.label}", help=c.help) for name, c in CRITERIA.items()),
    Slider("precision", options=tuple(PRECISION), label="precision",
           help=f"seeds per row: quick {PRECISION['quick']} (ready at once), full {PRECISION['full']} "
                f"(the first time it runs the whole grid, {PRECISION['full'] * len(CASES)} runs: one to a few "
                "seconds, progress in the status line; cached afterwards)"),
    Slider("detail", options=CASES, label="row in detail", help="the row whose measurements the right chart shows"),
)


@dataclass(frozen=True)
class Scorecard:
    """The measured grid (``grid``: the sweep's tidy table) and the scores under ``params``' weights."""

    params: ScorecardParams
    grid: object  # pandas DataFrame

    @cached_property
    def _lookup(self) -> dict:
        """{(case, arch, key): {mean, std, n, ci_low, ci_high}} from the sweep's table, built once."""
        cols = ("mean", "std", "n", "ci_low", "ci_high")
        return {(r.case, r.variant, r.metric): {c: float(getattr(r, c)) for c in cols}
                for r in self.grid.itertuples(index=False)}

    @cached_property
    def cases(self) -> tuple[str, ...]:
        """The rows measured (all of :data:`CASES` unless the grid was run for fewer)."""
        present = {case for case, _, _ in self._lookup}
        return tuple(c for c in CASES if c in present)

    def stat(self, case: str, arch: str, key: str, column: str = "mean") -> float:
        """One number of the sweep's table: ``column`` (mean, ci_low, ci_high, std, n) of ``key``."""
        v.choice("case", case, self.cases)
        v.choice("arch", arch, ARCHS)
        return self._lookup[(case, arch, key)][column]

    @cached_property
    def means(self) -> dict:
        """{case: {arch: {summary key: mean over seeds}}}, straight from the sweep's table."""
        return {case: {arch: {key: self.stat(case, arch, key) for key in METRICS} for arch in ARCHS}
                for case in self.cases}

    @cached_property
    def scores(self) -> dict:
        """{case: {arch: {criterion: 0–1 score}}} (see :func:`criterion_scores`)."""
        return criterion_scores(self.means)

    @cached_property
    def weighted(self) -> dict:
        """{case: {arch: weighted score}} under ``params.weights``."""
        return weighted_scores(self.scores, self.params.weights)

    def winner(self, case: str) -> str:
        w = self.weighted[case]
        return "eda" if w["eda"] > w["rr"] else "rr"

    def margin(self, case: str) -> float:
        """How far the winner's weighted score is above the other's (0–1)."""
        w = self.weighted[case]
        return abs(w["eda"] - w["rr"])

    @staticmethod
    def guide_pick(case: str) -> str:
        """The architecture the guide ticks (✅) for this row."""
        return next(arch for arch in ARCHS if GUIDE[case][arch][0] == "✅")

    def agrees(self, case: str) -> bool:
        return self.winner(case) == self.guide_pick(case)

    @property
    def summary(self) -> dict:
        """The weighted scores, ``<case>_rr`` and ``<case>_eda`` (what ``--json`` prints)."""
        return {f"{case}_{arch}": score for case, by_arch in self.weighted.items() for arch, score in by_arch.items()}

    def table(self):
        """One row per use case: both weighted scores, the measured winner and margin, the guide's pick."""
        import pandas as pd

        w = self.weighted
        rows = [{"use case": CASE_NAMES[c], "R/R": w[c]["rr"], "EDA": w[c]["eda"],
                 "measured winner": "R/R" if self.winner(c) == "rr" else "EDA", "margin": self.margin(c),
                 "guide's ✅": "R/R" if self.guide_pick(c) == "rr" else "EDA", "agrees": self.agrees(c)}
                for c in self.cases]
        return pd.DataFrame(rows).set_index("use case")

    def overview(self):
        """Every row's measured means and 0–1 scores, one line per (use case, criterion)."""
        import pandas as pd

        rows = []
        for case in self.cases:
            for name, c in CRITERIA.items():
                rows.append({"use case": CASE_NAMES[case], "criterion": f"{c.label} ({c.unit})",
                             **{f"{ARCH_LABEL[a]}": self.stat(case, a, c.key) for a in ARCHS},
                             **{f"{ARCH_LABEL[a]} score": self.scores[case][a][name] for a in ARCHS}})
        return pd.DataFrame(rows).set_index(["use case", "criterion"])

    def measurements(self, case: str | None = None):
        """The raw means and 95 % intervals of one row (default: ``params.detail``), one line per criterion."""
        import pandas as pd

        case = case or self.params.detail
        rows = []
        for name, c in CRITERIA.items():
            for arch in ARCHS:
                rows.append({"criterion": name, "unit": c.unit, "arch": arch,
                             **{col: self.stat(case, arch, c.key, col) for col in ("mean", "ci_low", "ci_high", "n")},
                             "score": self.scores[case][arch][name]})
        return pd.DataFrame(rows).set_index(["criterion", "arch"])


@experiment("scorecard", "The guide's use-case table, measured: weighted scores per row and architecture",
            ScorecardParams, SCORECARD_SLIDERS)
def run_scorecard(p: ScorecardParams) -> Scorecard:
    return Scorecard(p, measured_grid(p.scenario, p.seeds))


#: One change each that makes the measured winner differ from the guide's pick (notebook 06, "where the
#: claim breaks"): label -> (row, the scenario change).
FLIPS = {
    "Notifications: R/R long-polls (instead of polling every 4 s)": ("notify", {"polling": "long"}),
    "Async jobs at half the load (the burst fits the workers)": ("async", {"load": 0.5}),
    "Batch: the log keeps 10 s (the history is 30 s long)": ("batch", {"retention": 10.0}),
}


def flips(params: ScorecardParams | None = None, scenarios: dict | None = None):
    """For each scenario of ``scenarios`` (default :data:`FLIPS`): the row's weighted scores at
    ``params`` (default: the scorecard's defaults) and with the change, and the winner of each.

    Only the changed row is run again (same seeds, through ``sweep``); the default grid is the cached one.
    """
    import pandas as pd

    params = params or ScorecardParams()
    base = run_scorecard(params)
    rows = []
    for label, (case, change) in (scenarios or FLIPS).items():
        v.choice("case", case, CASES)
        changed = Scorecard(replace(params, **change, detail=case),
                            measured_grid(replace(params.scenario, **change), params.seeds, (case,)))
        rows.append({"scenario": label, "case": case,
                     "change": ", ".join(f"{k}={val!r}" for k, val in change.items()),
                     **{f"{arch}_default": base.weighted[case][arch] for arch in ARCHS},
                     **{f"{arch}_changed": changed.weighted[case][arch] for arch in ARCHS},
                     "winner_default": ARCH_LABEL[base.winner(case)],
                     "winner_changed": ARCH_LABEL[changed.winner(case)],
                     "guide": ARCH_LABEL[Scorecard.guide_pick(case)]})
    return pd.DataFrame(rows).set_index("scenario")


def break_even(card: Scorecard, case: str, criterion: str) -> float:
    """The weight on ``criterion`` at which R/R and EDA tie in row ``case``, the other weights as in
    ``card.params``: solves Σ w_k (score_rr,k − score_eda,k) = 0 for that one weight.

    NaN when the criterion does not separate the two, or when no weight of at least 0 makes them tie.
    """
    v.choice("criterion", criterion, tuple(CRITERIA))
    s = card.scores[v.choice("case", case, card.cases)]
    diff = {k: s["rr"][k] - s["eda"][k] for k in CRITERIA}
    if diff[criterion] == 0:
        return math.nan
    rest = sum(w * diff[k] for k, w in card.params.weights.items() if k != criterion)
    w = -rest / diff[criterion]
    return w if w >= 0 else math.nan


def closed_form_rows(card: Scorecard) -> list[dict]:
    """Back-of-the-envelope values of some measured means: dicts with the row (``case``), ``arch``, the
    summary ``key``, a description (``quantity``, ``closed form``), ``theory`` and ``measured``."""
    from .. import theory

    sc = card.params.scenario
    rows = []

    def add(case, arch, quantity, formula, value, key):
        if case in card.cases:
            rows.append({"case": case, "arch": arch, "key": key, "row": CASE_NAMES[case], "quantity": quantity,
                         "closed form": formula, "theory": value, "measured": card.stat(case, arch, key)})

    base, burst = ASYNC_RATES
    capacity = 4 / ASYNC_WORK  # jobs/s
    burst_len = ASYNC_BURST[1] - ASYNC_BURST[0]
    jobs = base * sc.load * (UNTIL - JUDGED_BEFORE - burst_len) + burst * sc.load * burst_len
    excess = max(0.0, burst * sc.load - capacity) * burst_len
    add("async", "rr", "R/R: most of the judged jobs it can do (share)", "1 − (burst − capacity) × 10 s / jobs",
        1 - excess / jobs, "done_share")
    add("integration", "rr", "R/R: database queries per order", "N reads + 1 write", sc.services + 1.0,
        "source_requests")
    add("integration", "eda", "EDA: database queries per order", "1 write (the event carries the order)", 1.0,
        "source_requests")
    if sc.polling == "fixed":
        add("notify", "rr", "R/R: p95 time, event → notified (s)", "≈ 0.95 T (polling delay)",
            theory.polling_delay_quantile(sc.poll_interval, 0.95), "time_s")
        add("notify", "rr", "R/R: source requests per change", "1 + 1/(λT)",
            1 + 1 / (2.0 * sc.load * sc.poll_interval), "source_requests")
    add("notify", "eda", "EDA: p95 time, event → notified (s)", "processing only: m ln 20 (m = 0.05 s)",
        0.05 * math.log(20), "time_s")
    history = 10.0 * sc.load * BATCH_HISTORY
    add("batch", "rr", "R/R: time to reprocess the history (s)", "n × (10 ms read + 20 ms work)", history * 0.03,
        "time_s")
    add("batch", "eda", "EDA: time to reprocess the history (s)", "n × 20 ms work", history * 0.02, "time_s")
    return rows


def closed_forms(card: Scorecard):
    """The closed forms beside the measured means, one line per quantity (notebook 06, "Explain")."""
    import pandas as pd

    rows = closed_form_rows(card)
    columns = ["row", "quantity", "closed form", "theory", "measured"]
    return pd.DataFrame(rows, columns=[*columns, "case"]).drop(columns="case").set_index(["row", "quantity"])

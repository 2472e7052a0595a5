"""How each row of the use-case table is built and measured, as R/R and as EDA."""

from __future__ import annotations

import math

import numpy as np

from ...broker import Topic, WorkQueue
from ...comparison import Flow, Handler
from ...consumer import Consumer
from ...database import Database
from ...distributions import Exponential
from ...metrics import COMPLETED
from ...partitioned_log import PartitionedLog
from ...producer import Producer
from ...resilience import OK, Call
from ...service import Client, Service
from ...system import System
from ...workload import Poisson, Scheduled
from ..data_reuse import OrderService
from ._common import (
    BATCH_HISTORY,
    CRUD_RATE,
    DEADLINE,
    HOP,
    INTEGRATION_NAMES,
    INTEGRATION_RATE,
    RETRY_AFTER,
    ReplyHop,
    UseCaseParams,
    _arrays,
    _db_queries,
    censored_p95,
    done_share,
)


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

"""Build one design of a description as a simulated system, and measure a run of it.

How each interaction is built (the entry service is the one clients call):

- ``client -> entry`` as R/R: the client calls the entry service and waits (up to ``client_timeout``).
  As EDA, two forms. When the client needs an answer (``needs_answer``) or some step is still
  synchronous, the client puts a command on a queue; entry workers take it, run the entry service and
  push the answer back (the client waits for that answer). Otherwise the client publishes the event
  itself and is told "accepted" when the broker acknowledges it; there is no entry service to wait for.
- ``entry -> service`` as R/R: the entry service calls it (one after another, in file order; a failure
  fails the request) and the service reads what it needs from the database. As EDA: the entry service
  publishes one event per request after its calls; the service consumes it (a consumer group of a
  partitioned log, or its own queue on a topic) and the event carries the data, so it skips its reads.

Every design of a description runs on the same seed and streams (``arrivals``, ``service:<name>``), so
request *i* arrives at the same time and takes the same work at each service in every design.
"""

from __future__ import annotations

import math

import numpy as np
import simpy

from ...broker import Topic, WorkQueue
from ...consumer import Consumer, consumers
from ...database import Database
from ...distributions import Deterministic
from ...fault import Crash, Down, FailFraction, Slow
from ...metrics import COMPLETED, IN_FLIGHT
from ...partitioned_log import PartitionedLog
from ...producer import Producer
from ...resilience import OK, Call, Caller, RetryPolicy
from ...service import Client, Downstream, Service
from ...system import Limits, System
from ..costs import EventPublisher
from .spec import Design, SystemSpec

RECOVERED_BELOW = 5  # requests or messages waiting in all queues: "recovered" once back at or under this


class CommandWorker(Consumer):
    """An entry worker for an event-driven ``client -> entry``: takes a command from the queue, runs the
    entry service (a call to it, which makes the synchronous calls and publishes) and pushes the answer to
    the client (``answered(mid, ok)``), then acknowledges the command."""

    def __init__(self, system, queue, name: str, *, entry: str, answered):
        super().__init__(system, queue, name, service=Deterministic(0.0), stream=queue.name)
        self.caller = Caller(system, Call(target=entry), self.name)
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


class Answers:
    """What each client was told and when, when the answer is pushed back by an entry worker."""

    def __init__(self, env):
        self.answered: dict[int, tuple[float, bool]] = {}
        self.env = env

    def record(self, mid: int, ok: bool) -> None:
        self.answered[mid] = (self.env.now, ok)


def entry_form(spec: SystemSpec, design: Design) -> str:
    """How ``client -> entry`` is built: ``"call"`` (R/R), ``"command"`` or ``"publish"`` (see module)."""
    styles = design.styles
    if styles[0] == "rr":
        return "call"
    if spec.interactions[0].needs_answer or "rr" in styles[1:]:
        return "command"
    return "publish"


def names(spec: SystemSpec) -> dict[str, str]:
    """Component names of the brokers: the event topic or log, and the command queue."""
    s = spec.settings
    return {"events": s.topic or f"{spec.entry}.events", "commands": s.commands or f"{spec.entry}.commands"}


def build(spec: SystemSpec, design: Design, seed: int = 1, *, limits: Limits | None = None) -> System:
    """``spec`` built as ``design``, its failures scheduled, not yet run."""
    if len(design.styles) != len(spec.interactions):
        raise ValueError(f"design must choose a style for each of the {len(spec.interactions)} interactions, "
                         f"got {len(design.styles)}")
    s = spec.settings
    form = entry_form(spec, design)
    system = System(seed, limits=limits, sample_every=s.sample_every)
    once = {i.callee for i in spec.downstream if i.once and s.idempotent}
    needs_db = any(x.reads or x.writes for x in spec.services) or bool(once)
    db = Database(system, "db", connections=s.db_connections, query_time=s.query_time) if needs_db else None
    retry = (RetryPolicy(backoff="full_jitter", max_attempts=s.retries + 1, base=s.backoff)
             if s.retries else RetryPolicy())
    when_down = {f.target: f.when_down for f in spec.failures if f.kind == "down"}
    styles = design.of(spec)
    sync = [i for i in spec.downstream if styles[i.name] == "rr"]
    events = [i for i in spec.downstream if styles[i.name] == "eda"]
    for i in sync:
        svc = spec.service(i.callee)
        Service(system, svc.name, workers=svc.workers, service=svc.work, db=db,
                reads=svc.reads + (svc.name in once), writes=svc.writes, when_down=when_down.get(svc.name, "error"))
    calls = [Call(target=i.callee, timeout=s.timeout, retry=retry) for i in sync]
    n = names(spec)
    broker = None
    if events:
        if s.broker == "log":
            broker = PartitionedLog(system, n["events"], partitions=s.partitions)
        else:
            broker = Topic(system, n["events"], publish_latency=s.publish_latency if form == "publish" else None)
        for i in events:
            svc = spec.service(i.callee)
            reads = int(svc.name in once)
            group_db = db if reads or svc.writes else None
            if s.broker == "log":
                broker.group(svc.name, consumers=svc.workers, service=svc.work, commit_every=s.commit_every,
                             db=group_db, reads=reads, writes=svc.writes)
            else:
                consumers(system, broker.subscribe(svc.name), svc.workers, name=f"{svc.name}.consumer",
                          service=svc.work, db=group_db, reads=reads, writes=svc.writes)
    answers = Answers(system.env)
    system.register("client.answers", answers)
    if form == "publish":
        target = broker
    else:
        if events:
            EventPublisher(system, f"{spec.entry}.publisher", broker)
            calls.append(Call(target=f"{spec.entry}.publisher"))
        entry = spec.service(spec.entry)
        Service(system, entry.name, workers=entry.workers, service=entry.work, db=db, reads=entry.reads,
                writes=entry.writes, when_down=when_down.get(entry.name, "error"),
                downstream=Downstream(calls=tuple(calls)) if calls else None)
        if form == "call":
            target = Client(system, Call(target=entry.name, timeout=s.client_timeout), name="client")
        else:
            target = WorkQueue(system, n["commands"], publish_latency=s.publish_latency)
            record = answers.record if spec.interactions[0].needs_answer else _ignore
            for k in range(entry.workers):
                CommandWorker(system, target, f"{entry.name}.worker{k + 1}", entry=entry.name, answered=record)
    Producer(system, spec.workload.workload(), target)
    for f in spec.failures:
        for fault in faults(spec, design, f):
            system.inject(fault)
    return system


def _ignore(mid: int, ok: bool) -> None:
    """The client was already told "accepted" by the broker; the entry worker's answer goes nowhere."""


def faults(spec: SystemSpec, design: Design, f) -> list:
    """The simulator's faults for failure ``f`` in ``design``: a synchronous service takes it itself; an
    event-driven one through its consumers. Empty when the target is not built (the entry service when
    clients publish directly)."""
    styles = design.of(spec)
    if f.target == spec.entry:
        if entry_form(spec, design) == "publish":
            return []
        style = "rr"
    else:
        style = next(styles[i.name] for i in spec.downstream if i.callee == f.target)
    window = {"target": f.target, "start": f.start, "end": f.end}
    workers = spec.service(f.target).workers
    if style == "rr":
        return [{"down": lambda: Down(**window), "slow": lambda: Slow(**window, factor=f.factor),
                 "errors": lambda: FailFraction(**window, fraction=f.fraction),
                 "crash": lambda: FailFraction(**window, fraction=1.0 / workers)}[f.kind]()]
    members = [f"{f.target}.consumer{k + 1}" for k in range(workers)]
    if f.kind == "crash":
        return [Crash(target=members[0], start=f.start, end=f.end)]
    make = {"down": lambda m: Down(target=m, start=f.start, end=f.end),
            "slow": lambda m: Slow(target=m, start=f.start, end=f.end, factor=f.factor),
            "errors": lambda m: FailFraction(target=m, start=f.start, end=f.end, fraction=f.fraction)}[f.kind]
    return [make(m) for m in members]


def moving_parts(spec: SystemSpec, design: Design) -> dict[str, int]:
    """What a team builds, deploys and watches: services, brokers, consumer groups (each with offsets or
    a queue to monitor) and the database."""
    form = entry_form(spec, design)
    events = sum(s == "eda" for s in design.styles[1:])
    services = len(spec.services) - (form == "publish")
    brokers = int(events > 0) + (form == "command")
    groups = events + (form == "command")
    db = int(any(x.reads or x.writes for x in spec.services) or any(i.once for i in spec.downstream))
    return {"services": services, "brokers": brokers, "consumer groups": groups, "database": db}


# =====================================================================================================
# Measuring a run
# =====================================================================================================
def step_done(system: System, name: str, n: int) -> np.ndarray:
    """When service ``name`` first finished each of requests 0..n-1 (called or consuming); NaN: never."""
    component = system.components.get(name)
    if isinstance(component, Service):
        return component.done_times(n)
    log = system.logs[name]
    out = np.full(n, math.nan)
    k = min(n, len(log.status))
    status = np.frombuffer(log.status, dtype=np.int8, count=k)
    out[:k] = np.where(status == COMPLETED, np.frombuffer(log.done, count=k), math.nan)
    return out


def repeats(system: System, name: str) -> int:
    """Completions at ``name`` beyond the first per request: a retry after a timeout whose first try went
    through (R/R), or a redelivery after a crash (EDA)."""
    component = system.components.get(name)
    if isinstance(component, Service):
        distinct = int(np.count_nonzero(~np.isnan(component.done_times(system.messages.count))))
        return component.ok - distinct
    log = system.logs[name]
    return log.duplicates


def answers(spec: SystemSpec, design: Design, system: System, end: float | None = None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per request: created, when the client stopped waiting (NaN: still waiting at ``end``) and whether it
    was told "ok". An answer later than ``client.timeout`` never reaches the client: it gave up at the
    timeout, so the request counts as failed then, whichever way the entry is built."""
    msgs = system.messages
    n = msgs.count
    created = np.frombuffer(msgs.created, count=n).copy()
    form = entry_form(spec, design)
    if form == "command" and spec.interactions[0].needs_answer:
        told = np.full(n, math.nan)
        ok = np.zeros(n, dtype=bool)
        for mid, (t, good) in system.component("client.answers").answered.items():
            if mid < n:
                told[mid], ok[mid] = t, good
    elif form == "call":
        told, ok = client_answers(system.component("client"), n)
    else:
        told = np.frombuffer(msgs.accepted, count=n).copy()  # the broker acknowledged the publish
        ok = ~np.isnan(told)
    timeout = spec.settings.client_timeout
    gave_up = ~(told - created <= timeout)  # late or never answered
    if end is not None:
        gave_up &= created + timeout <= end  # still waiting, not yet given up, at the end of the run
    ok &= ~gave_up
    told = np.where(gave_up, created + timeout, told)
    return created, told, ok


def client_answers(client: Client, n: int) -> tuple[np.ndarray, np.ndarray]:
    """When a :class:`Client` stopped waiting for each of requests 0..n-1 (NaN: still waiting) and whether
    the answer was ok, from the client's own log: ``messages.accepted`` is also written by a broker when
    the entry service publishes, possibly after the client gave up."""
    k = min(n, len(client.log.status), len(client.outcome))
    status = np.frombuffer(client.log.status, dtype=np.int8, count=k)
    told = np.full(n, math.nan)
    told[:k] = np.where(status > IN_FLIGHT, np.frombuffer(client.log.done, count=k), math.nan)
    ok = np.zeros(n, dtype=bool)
    ok[:k] = np.frombuffer(client.outcome, dtype=np.int8, count=k) == OK
    return told, ok


def backlog(system: System) -> tuple[np.ndarray, np.ndarray]:
    """(time, requests waiting anywhere): service queues, consumer-group lag and queue depths, per second."""
    series = system.series
    t = np.frombuffer(series.t)
    cols = [np.frombuffer(c) for name, c in series.columns.items()
            if name.endswith((".queue", ".lag", ".depth")) and not name.startswith("db.")]
    return t, (np.sum(cols, axis=0) if cols else np.zeros_like(t))


def recovery_time(t: np.ndarray, waiting: np.ndarray, end: float) -> float:
    """Seconds after ``end`` until the backlog is first back to ``RECOVERED_BELOW`` or fewer; NaN: never."""
    after = np.flatnonzero(t >= end)
    if not len(after):
        return math.nan
    calm = after[waiting[after] <= RECOVERED_BELOW]
    return float(max(0.0, t[calm[0]] - end)) if len(calm) else math.nan


def out_of_order(keys: np.ndarray, done: np.ndarray) -> int:
    """Pairs of consecutive requests with the same key (in creation order) whose later one was done first."""
    idx = np.flatnonzero(~np.isnan(done))
    if len(idx) < 2:
        return 0
    order = idx[np.lexsort((idx, keys[idx]))]
    k, d = keys[order], done[order]
    same = k[1:] == k[:-1]
    return int(np.count_nonzero(same & (d[1:] < d[:-1])))


def measure(spec: SystemSpec, design: Design, result) -> dict:
    """The review's numbers for one run (all times in seconds; see :data:`METRICS`)."""
    system = result.system
    end = result.elapsed
    created, told, ok = answers(spec, design, system, end)
    n = len(created)
    s = spec.settings
    steps = {i.name: step_done(system, i.callee, n) for i in spec.downstream}
    done = np.max(np.vstack(list(steps.values())), axis=0) if n else np.zeros(0)
    good = ok & ~np.isnan(done)
    raw = np.where(np.isnan(told), end, told) - created
    scored = np.where(good, raw, np.maximum(raw, s.client_timeout))
    styles = design.of(spec)
    out = {"requests": n}
    for q in (50, 95, 99):
        out[f"wait_p{q}"] = float(np.percentile(scored, q)) if n else math.nan
    # A request lost or failed is never usefully done: it counts as "not done by the end of the run".
    lat = np.where(good, done - created, end - created)
    out["done_p50"] = float(np.percentile(lat, 50)) if n else math.nan
    out["done_p95"] = float(np.percentile(lat, 95)) if n else math.nan
    out["goodput"] = float(good.sum() / spec.workload.traffic_end)
    out["lost_share"] = float(np.mean(~good)) if n else math.nan
    out["lost"] = int(np.count_nonzero(~good))
    out["told_failed"] = int(np.count_nonzero(~ok & ~np.isnan(told)))
    wrong = np.zeros(n, dtype=bool)
    for i in spec.downstream:
        if i.needs_answer and styles[i.name] == "eda":
            wrong |= ok & ~(steps[i.name] <= told)
    out["answered_before_needed"] = int(np.count_nonzero(wrong))
    fresh = good.copy()  # a lost request is not fresh
    window = np.zeros(n)
    for i in spec.downstream:
        lag = steps[i.name] - created
        if i.fresh_within is not None:
            fresh &= lag <= i.fresh_within
        if styles[i.name] == "eda":
            window = np.fmax(window, np.where(np.isnan(steps[i.name]), end, steps[i.name]) - told)
    out["fresh_share"] = float(np.mean(fresh)) if n else math.nan
    out["consistency_p95"] = float(np.percentile(np.clip(window[ok], 0, None), 95)) if ok.any() else math.nan
    dup = absorbed = 0
    for i in spec.downstream:
        if i.once:
            r = repeats(system, i.callee)
            absorbed += r if s.idempotent else 0
            dup += 0 if s.idempotent else r
    out["duplicates"] = dup
    out["duplicates_absorbed"] = absorbed
    keys = system.messages.keys(n)
    out["out_of_order"] = sum(out_of_order(keys, steps[i.name]) for i in spec.downstream if i.ordered)
    db = system.components.get("db")
    out["db_queries_per_request"] = (db.reads + db.writes) / n if db is not None and n else 0.0
    out["moving_parts"] = sum(moving_parts(spec, design).values())
    t, waiting = backlog(system)
    worst = 0.0
    for k, f in enumerate(spec.failures):
        inside = (created >= f.start) & (created < f.end)
        out[f"lost_in_failure_{k}"] = int(np.count_nonzero(inside & ~good))
        out[f"goodput_in_failure_{k}"] = float(np.count_nonzero(inside & good) / (f.end - f.start))
        before = waiting[t <= f.start]
        out[f"backlog_at_failure_{k}"] = float(before[-1]) if len(before) else 0.0
        rec = recovery_time(t, waiting, f.end)
        out[f"recovery_{k}"] = rec
        worst = max(worst, rec if math.isfinite(rec) else spec.workload.until - f.end)
    out["recovery_worst"] = worst
    out["backlog_max"] = float(waiting.max()) if len(waiting) else 0.0
    out["events"] = result.summary["events"]
    out["bound_hit"] = int(result.bound_hit)  # a number, so the sweep keeps it
    return out

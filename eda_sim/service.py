"""Request/response: services with worker pools, their downstream calls, and the clients that wait.

A :class:`Service` has ``workers`` (a thread pool's concurrency limit) and a FIFO queue for calls
waiting for one (``queue_limit`` refuses calls beyond it: outcome "rejected"). A worker that takes a
call spends the call's service time, runs its database queries, then makes its downstream calls and
*stays held* until they answer: that is how a slow or failing dependency fills the pools upstream.
A caller that times out stops waiting, but the callee never hears of it and finishes the work anyway
(counted as wasted): the engine of retry storms and metastable failures.

Common random numbers: the first call of request ``i`` at service S takes the i-th draw of stream
``service:S``, exactly as an EDA consumer of a subscription named S does, so both architectures see
the same service time for order i. Any further call of the same request at S (a retry, a hedge, a
second fan-out leg) draws from the separate stream ``service:S:repeat`` in the order they happen.

A :class:`Client` sends one request per arrival of a core workload (it is a :class:`Producer` target)
and records one outcome per request: ok, error, timeout, rejected or breaker_open. Its requests are
message copies in a DeliveryLog named after it: an ok request is completed, any other final outcome
is dropped (nobody keeps it), so the core's conservation check covers request/response runs too.
The summary keys this module adds are documented in ``docs/request_response.md``.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from dataclasses import dataclass

import numpy as np
from simpy.events import Timeout

from . import validate as v
from .alarm import URGENT, Alarm
from .distributions import as_distribution
from .fault import Health
from .metrics import CHUNK, DeliveryLog, _grow
from .resilience import ERROR, OK, OUTCOMES, REJECTED, Call, Caller, callee, soon

MODES = ("sequential", "parallel", "first_k")
WHEN_DOWN = ("error", "hang")
IN_FLIGHT = -1  # a client request with no final outcome yet


@dataclass(frozen=True, kw_only=True)
class Downstream:
    """The calls a service makes for each request, after its own work.

    ``mode="sequential"``: one after another, stopping at the first failure. ``"parallel"``: all at
    once, done when all answered ok (failed at the first failure). ``"first_k"``: all at once, done
    when ``k`` answered ok (failed once that is impossible); the others are abandoned. Calls may be
    given as service names or :class:`~eda_sim.resilience.Call` objects.
    """

    calls: tuple
    mode: str = "sequential"
    k: int | None = None

    def __post_init__(self):
        calls = self.calls if isinstance(self.calls, (tuple, list)) else (self.calls,)
        calls = tuple(Call(target=c) if isinstance(c, str) else c for c in calls)
        if not calls or not all(isinstance(c, Call) for c in calls):
            raise ValueError(f"calls must be one or more service names or Call objects, got {self.calls!r}")
        object.__setattr__(self, "calls", calls)
        v.choice("mode", self.mode, MODES)
        if self.mode == "first_k":
            v.integer("k", self.k, 1, len(calls))
        elif self.k is not None:
            raise ValueError(f"k is only used with mode='first_k', got k={self.k!r} with mode={self.mode!r}")

    @property
    def needed(self) -> int:
        return self.k if self.mode == "first_k" else len(self.calls)


class _Request:
    """One call at one service: who to answer, when it arrived and started, whether the caller left."""

    __slots__ = ("mid", "reply", "arrived", "started", "abandoned")

    def __init__(self, mid: int, reply, now: float):
        self.mid = mid
        self.reply = reply
        self.arrived = now
        self.started = math.nan
        self.abandoned = False


class Service:
    """A synchronous service: ``workers`` at a time, FIFO queue, service time, queries, downstream calls.

    ``service`` is a Distribution (a plain number means exponential with that mean). ``db`` with
    ``reads``/``writes`` runs queries after the service time; a failed query fails the call.
    ``downstream`` (a :class:`Downstream`) lists the services it calls; they must be built first.
    Faults: ``Slow`` stretches service times, ``FailFraction`` fails that share of calls, ``Down``
    (and ``Crash``) either fail every call at once (``when_down="error"``, connection refused) or
    stall the service (``"hang"``: calls wait in its queue and are served after it recovers).
    Gauges: ``<name>.queue`` (calls waiting for a worker) and ``<name>.busy`` (workers held).
    """

    def __init__(self, system, name: str, *, workers: int = 1, service=0.01, queue_limit: int | None = None,
                 downstream: Downstream | None = None, db=None, reads: int = 0, writes: int = 0,
                 when_down: str = "error", stream: str | None = None):
        v.system(system, "Service")
        self.workers = v.integer("workers", workers, 1, 100_000)
        self.service = as_distribution("service", service)
        self.queue_limit = None if queue_limit is None else v.integer("queue_limit", queue_limit, 0, 10**8)
        if downstream is not None and not isinstance(downstream, Downstream):
            raise ValueError(f"downstream must be a Downstream or None, got {downstream!r}")
        self.reads = v.integer("reads", reads, 0, 1000)
        self.writes = v.integer("writes", writes, 0, 1000)
        if (reads or writes) and db is None:
            raise ValueError("reads and writes need a db (a Database) to query")
        self.when_down = v.choice("when_down", when_down, WHEN_DOWN)
        for c in downstream.calls if downstream else ():
            callee(system, c)  # fail before registering anything: build downstream services first
        self.system = system
        self.env = system.env
        self.name = system.register(name, self)
        self.db = db
        self.downstream = downstream
        self.callers = [Caller(system, c, self.name) for c in downstream.calls] if downstream else []
        stream = f"service:{stream or name}"
        self._draws = system.streams.draws(stream, self.service)
        self._repeat_draws = system.streams.draws(f"{stream}:repeat", self.service)
        self._repeats = 0
        self._seen = bytearray()
        self._fail_rng = system.streams.generator(f"fail:{name}")
        self.health = Health()
        self.health.on_change = self._health_changed
        self.queue: deque[_Request] = deque()
        self.busy = 0
        self.done = array("d")  # per request id: when this service first completed it ok
        self.received = self.ok = self.errors = self.rejected = self.started = 0
        self.busy_time = self.wasted_time = self.wait_sum = 0.0
        system.workers_total += self.workers
        system.series.add(f"{name}.queue", lambda: len(self.queue))
        system.series.add(f"{name}.busy", lambda: self.busy)
        install_summary(system)

    def backlog(self) -> int:
        """Calls waiting for a worker (the System's unstable-queue bound counts them)."""
        return len(self.queue)

    # -- arrival ---------------------------------------------------------------------------------
    def call(self, mid: int, reply) -> _Request:
        """A caller sends request ``mid``; ``reply(outcome)`` is called once, later, with the answer."""
        req = _Request(mid, reply, self.env.now)
        self.received += 1
        health = self.health
        if health.down and self.when_down == "error":
            self.errors += 1
            soon(self.env, reply, ERROR)
        elif self.busy < self.workers and not health.down:
            self._start(req)
        elif self.queue_limit is not None and len(self.queue) >= self.queue_limit:
            self.rejected += 1
            soon(self.env, reply, REJECTED)
        else:
            self.queue.append(req)
        return req

    def _start(self, req: _Request) -> None:
        now = self.env.now
        self.busy += 1
        self.started += 1
        req.started = now
        self.wait_sum += now - req.arrived
        mid, seen = req.mid, self._seen
        if mid >= len(seen):
            seen.extend(bytes(mid + CHUNK - len(seen)))
        if seen[mid]:  # a retry, hedge or second leg of the same request: the repeat stream
            self._repeats += 1
            t = self._repeat_draws[self._repeats - 1]
        else:
            seen[mid] = 1
            t = self._draws[mid]
        Timeout(self.env, t * self.health.slow, req).callbacks.append(self._served)

    # -- work ------------------------------------------------------------------------------------
    def _served(self, ev) -> None:
        req = ev._value
        health = self.health
        if (health.down and self.when_down == "error") or (health.fail and self._fail_rng.random() < health.fail):
            self._finish(req, ERROR)
        elif self.db is not None:
            # The queries start where a process started for them would (an URGENT event now).
            Alarm(self.env, lambda _: self._query(req, 0)).set(0, URGENT)
        else:
            self._call_downstream(req)

    def _query(self, req: _Request, i: int) -> None:
        """Run query ``i`` of the request's reads then writes, one after another; then the downstream calls."""
        if i == self.reads + self.writes:
            self._call_downstream(req)
            return

        def done(ok: bool) -> None:
            if ok:
                self._query(req, i + 1)
            else:
                self._finish(req, ERROR)

        self.db.start_query("read" if i < self.reads else "write", req.mid, done)

    def _call_downstream(self, req: _Request) -> None:
        callers = self.callers
        if not callers:
            self._finish(req, OK)
        elif len(callers) == 1:  # the common single call, without the bookkeeping of a group
            callers[0].start(req.mid, lambda outcome, _tries: self._finish(req, OK if outcome == OK else ERROR))
        else:
            _Wait(self, req)

    def _finish(self, req: _Request, outcome: int) -> None:
        """Free the worker, start the next queued call, then answer (so no caller jumps the queue)."""
        now = self.env.now
        held = now - req.started
        self.busy_time += held
        self.system.busy_time += held
        if req.abandoned:
            self.wasted_time += held
        self.busy -= 1
        if outcome == OK:
            self.ok += 1
            mid = req.mid
            if mid >= len(self.done):
                _grow(self.done, mid + 1, math.nan)
            if self.done[mid] != self.done[mid]:
                self.done[mid] = now
        else:
            self.errors += 1
        if self.queue:
            self._next()
        req.reply(outcome)

    def _next(self) -> None:
        queue = self.queue
        while queue and self.busy < self.workers and not self.health.down:
            self._start(queue.popleft())

    def _health_changed(self, was_down: bool) -> None:
        down = self.health.down
        if down and not was_down and self.when_down == "error":
            queued, self.queue = self.queue, deque()
            for req in queued:  # refused connections: every waiting call fails now
                self.errors += 1
                req.reply(ERROR)
        elif was_down and not down:
            self._next()

    def done_times(self, n: int) -> np.ndarray:
        """First ok completion time of requests 0..n-1 at this service (NaN: never completed)."""
        out = np.full(n, math.nan)
        k = min(n, len(self.done))
        out[:k] = np.frombuffer(self.done, count=k)
        return out


class _Wait:
    """One request's downstream calls in progress at its service (see :class:`Downstream`)."""

    __slots__ = ("service", "req", "pending", "ok", "failed", "finished", "next")

    def __init__(self, service: Service, req: _Request):
        self.service = service
        self.req = req
        self.ok = self.failed = 0
        self.finished = False
        callers = service.callers
        self.pending: list = [None] * len(callers)
        if service.downstream.mode == "sequential":
            self.next = 1
            self._start(0)
        else:
            self.next = len(callers)
            for i in range(len(callers)):
                self._start(i)

    def _start(self, i: int) -> None:
        self.pending[i] = self.service.callers[i].start(self.req.mid, lambda outcome, _tries: self._answered(outcome))

    def _answered(self, outcome: int) -> None:
        if self.finished:
            return
        spec = self.service.downstream
        n = len(spec.calls)
        if outcome == OK:
            self.ok += 1
            if self.ok >= spec.needed:
                self._end(OK)
            elif self.next < n and spec.mode == "sequential":
                self.next += 1
                self._start(self.next - 1)
        else:
            self.failed += 1
            if spec.mode == "sequential" or self.failed > n - spec.needed:
                self._end(ERROR)

    def _end(self, outcome: int) -> None:
        self.finished = True
        for caller, p in zip(self.service.callers, self.pending, strict=True):
            if p is not None and not p.finished:
                caller.cancel(p)
        self.service._finish(self.req, outcome)


class Client:
    """Sends one request per arrival (a :class:`Producer` target) through ``call`` and records the answer.

    ``call`` is a :class:`Call` or a service name. Per request it keeps the outcome, the number of
    tries, and the time the client stopped waiting (``messages.accepted``: answer, error or giving up).
    Gauges, per second over the last sampling step: ``<name>.offered`` (new requests),
    ``<name>.sent`` (tries sent, retries included) and ``<name>.goodput`` (ok answers).
    """

    def __init__(self, system, call: Call | str, *, name: str = "client"):
        v.system(system, "Client")
        spec = Call(target=call) if isinstance(call, str) else call
        callee(system, spec)  # fail before registering anything
        self.system = system
        self.env = system.env
        self.name = system.register(name, self)
        self.log = DeliveryLog(self.name)
        system.add_log(self.log)
        self.caller = Caller(system, spec, self.name, log=self.log)
        self.outcome = array("b")
        self.tries = array("h")
        self.counts = [0] * len(OUTCOMES)
        self.offered = self.tries_done = 0  # requests sent; tries made by requests that have an outcome
        self._accepted = system.messages.accepted
        system.series.add(f"{self.name}.offered", _rate(self.env, lambda: self.offered))
        system.series.add(f"{self.name}.sent", _rate(self.env, lambda: self.caller.tries))
        system.series.add(f"{self.name}.goodput", _rate(self.env, lambda: self.counts[OK]))
        install_summary(system)

    def publish(self, mid: int) -> None:
        """A new request (called by a Producer)."""
        self.log.assign(mid, self.env.now)
        self.offered += 1
        if mid >= len(self.outcome):
            _grow(self.outcome, mid + 1, IN_FLIGHT)
            _grow(self.tries, mid + 1, 0)
        self.caller.start(mid, lambda outcome, tries: self._answered(mid, outcome, tries))

    def _answered(self, mid: int, outcome: int, tries: int) -> None:
        now = self.env.now
        self._accepted[mid] = now
        self.outcome[mid] = outcome
        self.tries[mid] = tries
        self.tries_done += tries
        self.counts[outcome] += 1
        if outcome == OK:
            self.log.complete(mid, now)
        else:
            self.log.drop(mid, now)

    def frame(self):
        """One row per request: created, answered, latency (s), outcome, tries."""
        import pandas as pd  # imported when a table is asked for

        msgs = self.system.messages
        n = min(len(self.outcome), msgs.count)
        code = np.frombuffer(self.outcome, dtype=np.int8, count=n)
        mine = np.flatnonzero(np.frombuffer(self.log.status, dtype=np.int8, count=min(n, len(self.log.status))))
        created = np.frombuffer(msgs.created, count=n)[mine]
        answered = np.frombuffer(msgs.accepted, count=n)[mine]
        names = np.array([*OUTCOMES, "in_flight"], dtype=object)
        return pd.DataFrame({
            "client": self.name, "message": mine, "created": created, "answered": answered,
            "latency": answered - created,
            "outcome": pd.Categorical(names[code[mine]], categories=[*OUTCOMES, "in_flight"]),
            "tries": np.frombuffer(self.tries, dtype=np.int16, count=n)[mine].astype(np.int64),
        })


def _rate(env, count):
    """A gauge: how fast ``count()`` grew since the previous sample, per second."""
    last = [0.0, 0]

    def gauge() -> float:
        now, n = env.now, count()
        t0, n0 = last
        last[0], last[1] = now, n
        return (n - n0) / (now - t0) if now > t0 else 0.0

    return gauge


# -- summary and tables -------------------------------------------------------------------------------
def _parts(system):
    clients = [c for c in system.components.values() if isinstance(c, Client)]
    services = [c for c in system.components.values() if isinstance(c, Service)]
    return clients, services


def callers(system) -> list[Caller]:
    """Every call edge in the system: the clients' and the services' downstream callers."""
    clients, services = _parts(system)
    return [c.caller for c in clients] + [k for s in services for k in s.callers]


def rr_summary(system, elapsed: float) -> dict:
    """The request/response summary keys (documented in docs/request_response.md)."""
    clients, services = _parts(system)
    counts = [sum(c.counts[i] for c in clients) for i in range(len(OUTCOMES))]
    finished = sum(counts)
    offered = sum(c.offered for c in clients)
    tries = sum(c.tries_done for c in clients)
    edges = callers(system)
    calls = sum(s.received for s in services)
    started = sum(s.started for s in services)
    busy = sum(s.busy_time for s in services)
    per_second = (lambda n: n / elapsed) if elapsed > 0 else (lambda n: math.nan)
    return {
        **dict(zip(("ok", "errors", "timeouts", "rejected", "breaker_open"), counts, strict=True)),
        "attempts_mean": tries / finished if finished else math.nan,
        "retries": sum(e.retries for e in edges),
        "hedges": sum(e.hedges for e in edges),
        "budget_denied": sum(e.budget_denied for e in edges),
        "breaker_transitions": sum(len(e.breaker.transitions) for e in edges if e.breaker is not None),
        "calls": calls,
        "amplification": calls / offered if offered else math.nan,
        "offered": per_second(offered),
        "goodput": per_second(counts[OK]),
        "queue_wait_mean": sum(s.wait_sum for s in services) / started if started else math.nan,
        "wasted": sum(s.wasted_time for s in services) / busy if busy > 0 else math.nan,
    }


def install_summary(system) -> None:
    """Add the request/response keys to this system's summary (once)."""
    if rr_summary not in system.summary_hooks:
        system.summary_hooks.append(rr_summary)


def request_records(result):
    """One row per client request of a run: client, message, created, answered, latency, outcome, tries."""
    import pandas as pd

    clients, _ = _parts(result.system)
    frames = [c.frame() for c in clients]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def service_records(result):
    """One row per service: workers, calls received, ok, errors, rejected, utilisation, waits, waste."""
    import pandas as pd

    _, services = _parts(result.system)
    elapsed = result.elapsed
    rows = [{
        "service": s.name, "workers": s.workers, "calls": s.received, "ok": s.ok, "errors": s.errors,
        "rejected": s.rejected, "utilisation": s.busy_time / (s.workers * elapsed) if elapsed > 0 else math.nan,
        "queue_wait_mean": s.wait_sum / s.started if s.started else math.nan,
        "wasted": s.wasted_time / s.busy_time if s.busy_time > 0 else math.nan,
    } for s in services]
    return pd.DataFrame(rows)


def breaker_records(result):
    """Every circuit-breaker transition of a run: time, edge, from, to."""
    import pandas as pd

    rows = [{"time": t, "edge": e.name, "from": a, "to": b}
            for e in callers(result.system) if e.breaker is not None for t, a, b in e.breaker.transitions]
    return pd.DataFrame(rows, columns=["time", "edge", "from", "to"]).sort_values("time", kind="stable",
                                                                                   ignore_index=True)


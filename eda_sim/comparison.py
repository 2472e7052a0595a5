"""One business flow, two architectures, identical arrivals and service draws.

A :class:`Flow` is an entry point (the guide's OrderSvc) and the handlers that must act on each
order (Billing, Audit). As request/response the client calls the entry service, which calls every
handler (one after another or in parallel) and answers when they are done; as EDA the order is
published to a topic with one subscription per handler, the client waits only for the publish
acknowledgement, and each handler's consumers work through their subscription.

Both systems use the same seed, the "arrivals" stream for orders and the stream ``service:<handler>``
for handler times, so order i takes the same billing time in both. The entry service's own work
(``entry_time``) exists only in R/R: in EDA the producer publishes directly and the broker's
acknowledgement (``publish_latency``) is what the client waits for.

Both summaries gain the flow keys (see docs/request_response.md): ``done``, ``done_share`` and
``done_mean/p50/p95/p99/max`` (an order is done when every handler has completed it),
``accept_p50/p95/p99/max`` (the client's wait), and ``slow_share`` when ``slow_after`` is set.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from . import validate as v
from .broker import Topic
from .consumer import consumers
from .database import Database
from .distributions import Deterministic, Distribution, Exponential, as_distribution
from .fault import Fault
from .metrics import COMPLETED, percentiles
from .producer import Producer
from .resilience import BreakerConfig, Call, RetryPolicy
from .service import WHEN_DOWN, Client, Downstream, Service
from .system import Limits, System
from .workload import Workload

ARCHITECTURES = ("rr", "eda")


@dataclass(frozen=True, kw_only=True)
class Handler:
    """A service that must act on every order: R/R service or EDA subscription with its consumers.

    ``workers`` is the R/R worker pool and the number of EDA consumers (one message at a time each).
    ``reads``/``writes`` are database queries per order (EDA skips the reads when events carry state).
    """

    name: str
    service: Distribution = Exponential(0.05)
    workers: int = 1
    reads: int = 0
    writes: int = 0

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        object.__setattr__(self, "service", as_distribution("service", self.service))
        v.integer("workers", self.workers, 1, 1000)
        v.integer("reads", self.reads, 0, 1000)
        v.integer("writes", self.writes, 0, 1000)


@dataclass(frozen=True, kw_only=True)
class Flow:
    """A business flow, buildable as R/R (:func:`build_rr`) or EDA (:func:`build_eda`).

    R/R only: ``entry_time``, ``entry_workers``, ``entry_queue_limit`` (the entry service), ``calls``
    ("sequential" or "parallel" calls to the handlers), ``timeout``/``retry``/``breaker`` (the client's
    call to the entry), ``call_timeout`` (entry to each handler) and ``when_down`` (handler outages).
    EDA only: ``publish_latency`` (broker acknowledgement) and ``carried_state`` (events carry the data,
    so handlers skip their reads). ``slow_after`` (s) adds the ``slow_share`` key to both summaries.
    """

    workload: Workload
    handlers: tuple[Handler, ...]
    entry: str = "orders"
    entry_time: Distribution = Deterministic(0.0)
    entry_workers: int = 32
    entry_queue_limit: int | None = None
    calls: str = "sequential"
    timeout: float | None = None
    retry: RetryPolicy = RetryPolicy()
    breaker: BreakerConfig | None = None
    call_timeout: float | None = None
    when_down: str = "error"
    publish_latency: Distribution | None = None
    db_connections: int = 10
    query_time: Distribution = Exponential(0.005)
    carried_state: bool = False
    slow_after: float | None = None

    def __post_init__(self):
        if not isinstance(self.workload, Workload):
            raise ValueError(f"workload must be a Workload (Poisson, ConstantRate, ...), got {self.workload!r}")
        handlers = tuple(self.handlers) if isinstance(self.handlers, (tuple, list)) else (self.handlers,)
        if not handlers or not all(isinstance(h, Handler) for h in handlers):
            raise ValueError(f"handlers must be one or more Handler objects, got {self.handlers!r}")
        names = [self.entry, *(h.name for h in handlers)]
        if len(set(names)) != len(names):
            raise ValueError(f"the entry and handler names must differ, got {names}")
        object.__setattr__(self, "handlers", handlers)
        object.__setattr__(self, "entry_time", as_distribution("entry_time", self.entry_time))
        v.integer("entry_workers", self.entry_workers, 1, 100_000)
        if self.entry_queue_limit is not None:
            v.integer("entry_queue_limit", self.entry_queue_limit, 0, 10**8)
        v.choice("calls", self.calls, ("sequential", "parallel"))
        # Call checks timeout, retry and breaker; call_timeout is checked the same way.
        Call(target=self.entry, timeout=self.timeout, retry=self.retry, breaker=self.breaker)
        if self.call_timeout is not None:
            v.positive("call_timeout", self.call_timeout, 1e6)
        v.choice("when_down", self.when_down, WHEN_DOWN)
        if self.publish_latency is not None and not isinstance(self.publish_latency, Distribution):
            raise ValueError(f"publish_latency must be a Distribution or None, got {self.publish_latency!r}")
        v.integer("db_connections", self.db_connections, 1, 10_000)
        object.__setattr__(self, "query_time", as_distribution("query_time", self.query_time))
        if self.slow_after is not None:
            v.positive("slow_after", self.slow_after, 1e6)

    @property
    def uses_db(self) -> bool:
        return any(h.reads or h.writes for h in self.handlers)


class FlowProbe:
    """Registered as ``<entry>.flow``: knows when each order was fully handled, adds the flow keys."""

    def __init__(self, system: System, flow: Flow, done_times: Callable[[int], np.ndarray]):
        self.system = system
        self.flow = flow
        self.done_times = done_times  # n -> array of n "every handler completed order i" times (NaN: not yet)
        system.register(f"{flow.entry}.flow", self)
        system.summary_hooks.append(self.summary)

    def orders(self) -> dict[str, np.ndarray]:
        msgs = self.system.messages
        n = msgs.count
        return {"created": np.frombuffer(msgs.created, count=n).copy(),
                "accepted": np.frombuffer(msgs.accepted, count=n).copy(), "done": self.done_times(n)}

    def summary(self, system, elapsed) -> dict:
        o = self.orders()
        n = len(o["created"])
        lat = o["done"] - o["created"]
        lat = lat[~np.isnan(lat)]
        wait = o["accepted"] - o["created"]
        wait = wait[~np.isnan(wait)]
        out = {"done": len(lat), "done_share": len(lat) / n if n else math.nan,
               **_renamed(percentiles(lat), "done"), **_renamed(percentiles(wait), "accept")}
        if self.flow.slow_after is not None:
            out["slow_share"] = float(np.mean(lat > self.flow.slow_after)) if len(lat) else math.nan
        return out


def _renamed(stats: dict, prefix: str) -> dict:
    """The core's latency_mean/p50/p95/p99/max keys under another prefix."""
    return {key.replace("latency", prefix, 1): value for key, value in stats.items()}


def _latest(arrays: list[np.ndarray]) -> np.ndarray:
    return np.max(np.vstack(arrays), axis=0)  # NaN anywhere (a handler not done) stays NaN


def _db(system: System, flow: Flow):
    return Database(system, "db", connections=flow.db_connections, query_time=flow.query_time) if flow.uses_db \
        else None


def build_rr(flow: Flow, seed: int = 1, *, limits: Limits | None = None, sample_every: float | None = None) -> System:
    """The flow as request/response: client → entry service → every handler service."""
    system = System(seed, limits=limits, sample_every=sample_every)
    db = _db(system, flow)
    handlers = [Service(system, h.name, workers=h.workers, service=h.service, db=db, reads=h.reads,
                        writes=h.writes, when_down=flow.when_down) for h in flow.handlers]
    calls = tuple(Call(target=h.name, timeout=flow.call_timeout) for h in flow.handlers)
    Service(system, flow.entry, workers=flow.entry_workers, service=flow.entry_time,
            queue_limit=flow.entry_queue_limit, downstream=Downstream(calls=calls, mode=flow.calls))
    client = Client(system, Call(target=flow.entry, timeout=flow.timeout, retry=flow.retry, breaker=flow.breaker))
    Producer(system, flow.workload, client)
    FlowProbe(system, flow, lambda n: _latest([s.done_times(n) for s in handlers]))
    return system


def build_eda(flow: Flow, seed: int = 1, *, limits: Limits | None = None, sample_every: float | None = None) -> System:
    """The flow as EDA: producer → topic ``entry`` → one subscription (and consumer group) per handler."""
    system = System(seed, limits=limits, sample_every=sample_every)
    db = _db(system, flow)
    topic = Topic(system, flow.entry, publish_latency=flow.publish_latency)
    for h in flow.handlers:
        consumers(system, topic.subscribe(h.name), h.workers, name=f"{h.name}.consumer", service=h.service,
                  db=db, reads=0 if flow.carried_state else h.reads, writes=h.writes)
    Producer(system, flow.workload, topic)
    logs = [q.log for q in topic.subscriptions.values()]
    FlowProbe(system, flow, lambda n: _latest([_completed_at(lg, n) for lg in logs]))
    return system


def _completed_at(log, n: int) -> np.ndarray:
    out = np.full(n, math.nan)
    k = min(n, len(log.status))
    status = np.frombuffer(log.status, dtype=np.int8, count=k)
    done = np.frombuffer(log.done, count=k)
    out[:k] = np.where(status == COMPLETED, done, math.nan)
    return out


def handler_done_times(system: System, arch: str, handler: str, n: int) -> np.ndarray:
    """When ``handler`` finished each of orders 0..n-1 (NaN: never): the R/R service's completion, or the
    EDA subscription's."""
    if arch == "rr":
        return system.component(handler).done_times(n)
    log = system.logs[handler]
    out = np.full(n, math.nan)
    k = min(n, len(log.status))
    status = np.frombuffer(log.status, dtype=np.int8, count=k)
    out[:k] = np.where(status == COMPLETED, np.frombuffer(log.done, count=k), math.nan)
    return out


def eda_faults(flow: Flow, fault: Fault) -> list[Fault]:
    """A fault on a handler hits every consumer of its subscription; on the entry, the topic."""
    handler = next((h for h in flow.handlers if h.name == fault.target), None)
    if handler is None:
        return [fault]
    return [dataclasses.replace(fault, target=f"{handler.name}.consumer{i + 1}") for i in range(handler.workers)]


class Comparison:
    """Several runs of one scenario side by side: ``results`` maps a column name to its Result.

    For :func:`compare` the columns are ``"rr"`` and ``"eda"``. ``table()`` has a row per metric and
    a column per run (plus ``theory`` when a closed-form value is known); ``summary`` maps each
    column to its full summary (what ``--json`` prints).
    """

    def __init__(self, results: dict, theory: dict[str, float] | None = None):
        if not results:
            raise ValueError("a Comparison needs at least one result")
        self.results = dict(results)
        self.theory = dict(theory or {})

    @property
    def summary(self) -> dict[str, dict]:
        return {name: r.summary for name, r in self.results.items()}

    @property
    def bound_hit(self) -> bool:
        return any(r.bound_hit for r in self.results.values())

    @property
    def message(self) -> str:
        return "; ".join(f"{name}: {r.message}" for name, r in self.results.items() if r.message)

    def table(self):
        """Tidy table: index ``metric``, one column per run (and ``theory``), numbers only."""
        import pandas as pd

        rows: dict[str, dict] = {}
        for name, summary in self.summary.items():
            for key, value in summary.items():
                if isinstance(value, (int, float)):  # bools included, as 0/1
                    rows.setdefault(key, {})[name] = float(value)
        for key, value in self.theory.items():
            rows.setdefault(key, {})["theory"] = float(value)
        columns = list(self.results) + (["theory"] if self.theory else [])
        table = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=columns)
        table.index.name = "metric"
        return table

    def timeseries(self):
        """Every run's gauges stacked, with a column naming the run (long format, for plotting)."""
        import pandas as pd

        frames = [r.timeseries().assign(architecture=name) for name, r in self.results.items()]
        return pd.concat(frames, ignore_index=True)

    def orders(self):
        """One row per order: created, then for each run when the client stopped waiting and when done."""
        import pandas as pd

        data = {}
        for name, r in self.results.items():
            probe = next((c for c in r.system.components.values() if isinstance(c, FlowProbe)), None)
            if probe is None:
                continue
            o = probe.orders()
            data.setdefault("created", o["created"])
            data[f"{name}_accepted"], data[f"{name}_done"] = o["accepted"], o["done"]
        if not data:
            raise ValueError("these runs were not built from a Flow, so they have no orders")
        n = min(len(x) for x in data.values())
        return pd.DataFrame({"order": np.arange(n), **{k: x[:n] for k, x in data.items()}})

    def __repr__(self) -> str:
        parts = ", ".join(f"{name}: {r!r}" for name, r in self.results.items())
        return f"<Comparison {parts}>"


def compare(flow: Flow, *, until: float, seed: int = 1, faults: Iterable[Fault] = (), limits: Limits | None = None,
            sample_every: float | None = None, hooks: Iterable[Callable] = (),
            theory: dict[str, float] | None = None) -> Comparison:
    """Run ``flow`` as R/R and as EDA with the same seed; return both in a :class:`Comparison`.

    ``faults`` name the entry or a handler (see :func:`eda_faults`). Each of ``hooks`` is called as
    ``hook(architecture, system, elapsed)`` when a summary is built and returns extra keys.
    """
    if not isinstance(flow, Flow):
        raise ValueError(f"flow must be a Flow, got {flow!r}")
    faults = tuple(faults)
    hooks = tuple(hooks)
    results = {}
    for arch, build in (("rr", build_rr), ("eda", build_eda)):
        system = build(flow, seed, limits=limits, sample_every=sample_every)
        for fault in faults:
            for f in (eda_faults(flow, fault) if arch == "eda" else [fault]):
                system.inject(f)
        for hook in hooks:
            system.summary_hooks.append(lambda s, e, a=arch, h=hook: h(a, s, e))
        results[arch] = system.run(until)
    return Comparison(results, theory)

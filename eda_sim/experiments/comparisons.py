"""Request/response beside EDA: the experiments of notebooks 01 and 03.

``order_flow``   an order stream through both architectures (what the client waits for, when work is done)
``fanout``       one request waits for n leaves: the tail at scale, with the closed form beside it
``retry_storm``  a downstream outage under retries, backoff, a retry budget and a breaker (metastability)
``backoff``      clients contending for one resource with each backoff policy (the AWS jitter comparison)

Each returns a :class:`~eda_sim.comparison.Comparison`: ``table()`` has a row per metric and a column
per architecture (``rr``, ``eda``) or per backoff policy; ``--json`` prints one summary per column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import validate as v
from ..comparison import Comparison, Flow, Handler, compare
from ..distributions import Deterministic, Exponential, Mixture
from ..fault import Down
from ..lab.panel import Slider
from ..producer import Producer
from ..resilience import BACKOFFS, OK, BreakerConfig, Call, RetryBudget, RetryPolicy
from ..service import Client, Service
from ..system import System
from ..theory import fanout_slow_probability
from ..workload import ConstantRate, Poisson
from . import experiment

SEED_MAX = 2**63 - 1


# -- order_flow -----------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class OrderFlowParams:
    """Orders at ``rate`` per second; billing and audit take exponential times with the given means.

    ``workers`` is each handler's worker pool (R/R) and consumer count (EDA); ``entry_workers`` the
    order service's pool, which R/R holds while billing and audit run; ``calls`` how it calls them.
    """

    rate: float = 20.0
    billing_time: float = 0.04
    audit_time: float = 0.02
    workers: int = 2
    entry_workers: int = 32
    calls: str = "sequential"
    until: float = 120.0
    seed: int = 1

    def __post_init__(self):
        v.positive("rate", self.rate, 1e4)
        v.positive("billing_time", self.billing_time, 100.0)
        v.positive("audit_time", self.audit_time, 100.0)
        v.integer("workers", self.workers, 1, 1000)
        v.integer("entry_workers", self.entry_workers, 1, 10_000)
        v.choice("calls", self.calls, ("sequential", "parallel"))
        v.positive("until", self.until, 1e6)
        v.integer("seed", self.seed, 0, SEED_MAX)


def order_flow_spec(p: OrderFlowParams) -> Flow:
    return Flow(workload=Poisson(rate=p.rate), entry_workers=p.entry_workers, calls=p.calls,
                handlers=(Handler(name="billing", service=Exponential(p.billing_time), workers=p.workers),
                          Handler(name="audit", service=Exponential(p.audit_time), workers=p.workers)))


ORDER_SLIDERS = (
    Slider("rate", 1.0, 60.0, 1.0, unit="orders/s", help="orders placed per second (Poisson)"),
    Slider("billing_time", 0.005, 0.2, 0.005, unit="s", help="mean time billing spends on one order"),
    Slider("audit_time", 0.005, 0.2, 0.005, unit="s", help="mean time audit spends on one order"),
    Slider("workers", 1, 8, 1, help="R/R: workers per service; EDA: consumers per subscription"),
    Slider("calls", options=("sequential", "parallel"), help="R/R: how the order service calls billing and audit"),
)


@experiment("order_flow", "Order placed, then billing and audit: R/R vs EDA", OrderFlowParams, ORDER_SLIDERS)
def run_order_flow(p: OrderFlowParams) -> Comparison:
    return compare(order_flow_spec(p), until=p.until, seed=p.seed)


# -- fanout ---------------------------------------------------------------------------------------
MAX_LEAF_CONSUMERS = 10_000  # leaves × leaf_workers: the EDA build has one consumer per leaf worker
@dataclass(frozen=True, kw_only=True)
class FanoutParams:
    """Each request needs all ``leaves``; a leaf answers in ``fast`` s, or in ``slow`` s with
    probability ``p_slow``. A request counts as slow past the midpoint of the two."""

    leaves: int = 20
    p_slow: float = 0.02
    fast: float = 0.01
    slow: float = 0.5
    rate: float = 10.0
    leaf_workers: int = 8
    until: float = 120.0
    seed: int = 1

    def __post_init__(self):
        v.integer("leaves", self.leaves, 1, 200)
        v.fraction("p_slow", self.p_slow)
        v.positive("fast", self.fast, 100.0)
        v.number("slow", self.slow, self.fast, 1000.0, lo_open=True)
        v.positive("rate", self.rate, 1e4)
        v.integer("leaf_workers", self.leaf_workers, 1, 1000)
        # EDA builds one consumer per leaf worker: cap what is built before the first event runs.
        v.integer(f"leaf_workers (with leaves={self.leaves}: leaves × leaf_workers ≤ {MAX_LEAF_CONSUMERS:,})",
                  self.leaf_workers, 1, min(1000, MAX_LEAF_CONSUMERS // self.leaves))
        v.positive("until", self.until, 1e6)
        v.integer("seed", self.seed, 0, SEED_MAX)

    @property
    def slow_after(self) -> float:
        return (self.fast + self.slow) / 2


def fanout_spec(p: FanoutParams) -> Flow:
    leaf = Mixture(Deterministic(p.fast), Deterministic(p.slow), p.p_slow)
    handlers = tuple(Handler(name=f"leaf{i + 1}", service=leaf, workers=p.leaf_workers) for i in range(p.leaves))
    return Flow(workload=Poisson(rate=p.rate), entry="front", entry_workers=10_000, handlers=handlers,
                calls="parallel", slow_after=p.slow_after)


FANOUT_SLIDERS = (
    Slider("leaves", 1, 100, 1, help="backends every request waits for"),
    Slider("p_slow", 0.0, 0.1, 0.005, help="chance that one leaf answer is slow"),
    Slider("slow", 0.1, 2.0, 0.1, unit="s", help="how long a slow leaf answer takes"),
    Slider("rate", 1.0, 20.0, 1.0, unit="req/s", help="requests per second"),
)


@experiment("fanout", "Fan-out: one slow leaf in n makes the request slow (tail at scale)", FanoutParams,
            FANOUT_SLIDERS)
def run_fanout(p: FanoutParams) -> Comparison:
    theory = {"slow_share": fanout_slow_probability(p.p_slow, p.leaves)}
    return compare(fanout_spec(p), until=p.until, seed=p.seed, theory=theory)


# -- retry_storm ----------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class RetryStormParams:
    """Clients → api (``workers``, exponential ``service_time``) → backend, which has an outage.

    Clients wait ``timeout`` per try and retry up to ``retries`` times (0: never) with ``backoff``
    from ``base`` seconds (cap 5 s), within a retry budget of ``budget`` retries per request (0: none),
    optionally behind a circuit breaker. The api waits ``call_timeout`` for the backend and queues at
    most ``queue_limit`` requests. The backend (``backend_workers``, ``backend_time``) is down from
    ``outage_start`` to ``outage_end``: ``"hang"`` stalls it (calls wait unanswered), ``"error"``
    refuses calls at once. In EDA the backend's consumers stop and its subscription backs up.
    """

    rate: float = 24.0
    workers: int = 4
    service_time: float = 0.1
    timeout: float = 1.0
    retries: int = 2
    backoff: str = "fixed"
    base: float = 0.1
    budget: float = 0.0
    breaker: bool = False
    outage_start: float = 60.0
    outage_end: float = 75.0
    outage: str = "hang"
    queue_limit: int = 200
    call_timeout: float = 0.5
    backend_workers: int = 4
    backend_time: float = 0.02
    until: float = 300.0
    seed: int = 1

    def __post_init__(self):
        v.positive("rate", self.rate, 1e4)
        v.integer("workers", self.workers, 1, 1000)
        v.positive("service_time", self.service_time, 100.0)
        v.positive("timeout", self.timeout, 1e4)
        v.integer("retries", self.retries, 0, 10)
        v.choice("backoff", self.backoff, BACKOFFS[1:])
        v.number("base", self.base, 0.0, 5.0)
        v.number("budget", self.budget, 0.0, 1.0)
        if not isinstance(self.breaker, bool):
            raise ValueError(f"breaker must be True or False, got {self.breaker!r}")
        v.window("outage", self.outage_start, self.outage_end)
        v.choice("outage", self.outage, ("hang", "error"))
        v.integer("queue_limit", self.queue_limit, 0, 10**6)
        v.positive("call_timeout", self.call_timeout, 1e4)
        v.integer("backend_workers", self.backend_workers, 1, 1000)
        v.positive("backend_time", self.backend_time, 100.0)
        v.number("until", self.until, self.outage_end + 20.0, 1e6)
        v.integer("seed", self.seed, 0, SEED_MAX)

    @property
    def late_window(self) -> tuple[float, float]:
        """Requests created here are judged: the second half of the time after the outage, minus 10 s."""
        return (self.outage_end + self.until) / 2, self.until - 10.0


def retry_storm_spec(p: RetryStormParams) -> Flow:
    if p.retries:
        budget = RetryBudget(ratio=p.budget) if p.budget > 0 else None
        retry = RetryPolicy(backoff=p.backoff, max_attempts=p.retries + 1, base=p.base, cap=max(5.0, p.base),
                            budget=budget)
    else:
        retry = RetryPolicy()
    breaker = BreakerConfig(failure_rate=0.5, window=20, min_calls=10, open_for=5.0, trial_calls=3) \
        if p.breaker else None
    return Flow(workload=Poisson(rate=p.rate), entry="api", entry_time=Exponential(p.service_time),
                entry_workers=p.workers, entry_queue_limit=p.queue_limit, timeout=p.timeout, retry=retry,
                breaker=breaker, call_timeout=p.call_timeout, when_down=p.outage,
                handlers=(Handler(name="backend", service=Exponential(p.backend_time), workers=p.backend_workers),))


RECOVERED_BELOW = 5  # requests or messages waiting: "recovered" once the backlog is back under this


def storm_keys(p: RetryStormParams):
    """A summary hook adding ``ok_share_after``, ``done_share_after``, ``recovery_time``, ``backlog_max``."""

    def hook(arch: str, system, elapsed: float) -> dict:
        msgs = system.messages
        n = msgs.count
        created = np.frombuffer(msgs.created, count=n)
        lo, hi = p.late_window
        late = (created >= lo) & (created < hi)
        probe = system.component("api.flow")
        done = ~np.isnan(probe.done_times(n))
        if arch == "rr":
            client = system.component("client")
            answered_ok = np.frombuffer(client.outcome, dtype=np.int8, count=min(n, len(client.outcome))) == OK
            ok = np.zeros(n, bool)
            ok[:len(answered_ok)] = answered_ok
        else:
            ok = ~np.isnan(np.frombuffer(msgs.accepted, count=n))
        suffix = ".queue" if arch == "rr" else ".depth"
        cols = [c for name, c in system.series.columns.items() if name.endswith(suffix)]
        t = np.frombuffer(system.series.t)
        backlog = np.sum([np.frombuffer(c) for c in cols], axis=0) if cols else np.zeros(len(t))
        after = np.flatnonzero((t >= p.outage_end) & (backlog <= RECOVERED_BELOW))
        k = int(late.sum())
        return {"ok_share_after": float(ok[late].mean()) if k else math.nan,
                "done_share_after": float(done[late].mean()) if k else math.nan,
                "recovery_time": float(t[after[0]] - p.outage_end) if len(after) else math.nan,
                "backlog_max": float(backlog.max()) if len(backlog) else math.nan}

    return hook


STORM_SLIDERS = (
    Slider("rate", 2.0, 36.0, 1.0, unit="req/s", help="requests per second; the api serves about 33/s"),
    Slider("retries", 0, 5, 1, help="retries per request after a failed try (0: no retries)"),
    Slider("backoff", options=BACKOFFS[1:], help="delay between tries (AWS blog names)"),
    Slider("base", 0.0, 2.0, 0.05, unit="s", help="first backoff delay"),
    Slider("budget", 0.0, 0.5, 0.05, help="retry budget: retries allowed per request (0: unlimited)"),
    Slider("breaker", options=(False, True), help="circuit breaker on the client's calls"),
    Slider("outage_end", 61.0, 120.0, 1.0, unit="s", help="when the backend outage (from 60 s) ends"),
    Slider("timeout", 0.2, 5.0, 0.1, unit="s", help="how long a client waits for one try"),
)


@experiment("retry_storm", "Retry storm: a short outage, retries, backoff, budget, breaker", RetryStormParams,
            STORM_SLIDERS)
def run_retry_storm(p: RetryStormParams) -> Comparison:
    outage = Down(target="backend", start=p.outage_start, end=p.outage_end)
    return compare(retry_storm_spec(p), until=p.until, seed=p.seed, faults=[outage], hooks=[storm_keys(p)])


# -- backoff --------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class BackoffParams:
    """``clients`` arrive together to write one resource that admits one write at a time (a write
    holds it ``work_time`` s; a write that finds it busy is refused, like an optimistic-concurrency
    conflict). Each client retries up to ``max_attempts`` tries with each backoff policy in turn."""

    clients: int = 50
    base: float = 0.01
    cap: float = 1.0
    work_time: float = 0.01
    max_attempts: int = 100
    until: float = 600.0
    seed: int = 1

    def __post_init__(self):
        v.integer("clients", self.clients, 1, 10_000)
        v.positive("base", self.base, 100.0)
        v.number("cap", self.cap, self.base, 1e4)
        v.positive("work_time", self.work_time, 100.0)
        v.integer("max_attempts", self.max_attempts, 2, 100)
        v.positive("until", self.until, 1e6)
        v.integer("seed", self.seed, 0, SEED_MAX)


def _completion_time(system, elapsed: float) -> dict:
    """``completion_time``: when the last client succeeded, NaN unless every client did (a client that
    used up its attempts gave up: it is not finished, whatever its last answer time); ``gave_up``:
    clients whose final answer was a failure; ``last_answer_time``: when the last final answer of any
    kind came (NaN if a client is still waiting)."""
    client = system.component("client")
    n = system.messages.count
    answered = np.frombuffer(system.messages.accepted, count=n)
    outcome = np.frombuffer(client.outcome, dtype=np.int8, count=min(n, len(client.outcome)))
    ok = np.zeros(n, bool)
    ok[: len(outcome)] = outcome == OK
    waiting = np.isnan(answered)
    gave_up = int(np.count_nonzero(~waiting & ~ok))
    all_answered = client.offered > 0 and not waiting.any()
    return {"completion_time": float(answered.max()) if all_answered and gave_up == 0 else math.nan,
            "gave_up": gave_up,
            "last_answer_time": float(answered.max()) if all_answered else math.nan}


def contention_run(p: BackoffParams, backoff: str):
    """One backoff policy against the contended resource; returns the Result."""
    system = System(p.seed)
    Service(system, "resource", workers=1, queue_limit=0, service=Deterministic(p.work_time))
    retry = RetryPolicy(backoff=backoff, max_attempts=1 if backoff == "none" else p.max_attempts, base=p.base,
                        cap=p.cap)
    client = Client(system, Call(target="resource", retry=retry))
    Producer(system, ConstantRate(rate=1e6), client, limit=p.clients)
    system.summary_hooks.append(_completion_time)
    return system.run(p.until)


BACKOFF_SLIDERS = (
    Slider("clients", 2, 200, 1, help="clients contending at the same moment"),
    Slider("base", 0.005, 0.2, 0.005, unit="s", help="first backoff delay"),
    Slider("cap", 0.1, 10.0, 0.1, unit="s", help="longest backoff delay"),
)


@experiment("backoff", "Contending clients: exponential backoff with and without jitter (AWS)", BackoffParams,
            BACKOFF_SLIDERS)
def run_backoff(p: BackoffParams) -> Comparison:
    return Comparison({name: contention_run(p, name) for name in BACKOFFS})

"""A slow consumer behind a bounded queue: reject, drop the oldest or block (experiment ``backpressure``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from ... import validate as v
from ...broker import OVERFLOW, WorkQueue
from ...consumer import Consumer
from ...distributions import Exponential
from ...lab.panel import Slider
from ...metrics import COMPLETED, DROPPED
from ...producer import Producer
from ...system import System
from ...workload import Scheduled
from .. import experiment
from ._common import SEED_MAX, _created, _log_arrays, sliding_mean

# ======================================================================================================
# (c) backpressure: a bounded queue and a slow consumer
# ======================================================================================================
POLICIES = ("unbounded", *OVERFLOW)


@dataclass(frozen=True, kw_only=True)
class BackpressureParams:
    """Orders at ``rate``/s with a flash sale at ``spike_rate``/s from ``spike_start`` for
    ``spike_length`` s, into a work queue holding at most ``capacity`` ready messages (``policy`` says
    what a full queue does; ``"unbounded"`` has no bound). One consumer takes ``service_mean`` s per
    order and holds up to ``prefetch`` unacknowledged messages."""

    policy: str = "block"
    capacity: int = 100
    prefetch: int = 10
    rate: float = 2.5
    spike_rate: float = 15.0
    spike_start: float = 40.0
    spike_length: float = 30.0
    service_mean: float = 0.2
    until: float = 200.0
    seed: int = 1

    def __post_init__(self):
        v.choice("policy", self.policy, POLICIES)
        v.integer("capacity", self.capacity, 1, 10**6)
        v.integer("prefetch", self.prefetch, 1, 10_000)
        v.positive("rate", self.rate, 1e4)
        v.non_negative("spike_rate", self.spike_rate, 1e4)
        v.positive("until", self.until, 1e5)
        v.non_negative("spike_start", self.spike_start, self.until)
        v.positive("spike_length", self.spike_length, 1e5)
        v.positive("service_mean", self.service_mean, 60)
        v.integer("seed", self.seed, 0, SEED_MAX)

    def workload(self) -> Scheduled:
        end = self.spike_start + self.spike_length
        return Scheduled(rate=self.rate, spikes=((self.spike_start, end, self.spike_rate),))

    def fluid_peak(self) -> float:
        """Messages the spike leaves waiting if nothing is lost: (spike_rate - 1/service_mean) x length."""
        return max(0.0, (self.spike_rate - 1.0 / self.service_mean) * self.spike_length)


BACKPRESSURE_SLIDERS = (
    Slider("policy", options=POLICIES, label="when the queue is full",
           help="unbounded: no limit; reject the new order; drop the oldest; block the producer"),
    Slider("capacity", 10, 400, 10, unit="messages", label="queue capacity",
           help="ready messages the queue holds (not counting the consumer's prefetched ones)"),
    Slider("prefetch", 1, 100, 1, unit="messages", label="consumer prefetch",
           help="unacknowledged messages the consumer may hold at once"),
)


@dataclass(frozen=True)
class BackpressureResult:
    """One run of one policy; ``results = {policy: Result}``."""

    params: BackpressureParams
    results: dict

    @property
    def result(self):
        return self.results[self.params.policy]

    def where_waiting(self):
        """(t, in the queue, prefetched by the consumer, held back at the producer) at each sample."""
        s = self.result.system.series
        t = np.frombuffer(s.t)
        created = _created(self.result)
        accepted = np.frombuffer(self.result.system.messages.accepted, count=len(created))
        # A publish is held back while created <= t < accepted (NaN: never accepted before the end).
        c = np.sort(created)
        a = np.sort(np.where(np.isnan(accepted), np.inf, accepted))
        held = np.searchsorted(c, t, side="right") - np.searchsorted(a, t, side="right")
        return (t, np.frombuffer(s.columns["orders.depth"]), np.frombuffer(s.columns["orders.unacked"]),
                held.astype(float))

    def lost_curve(self):
        """(t, orders lost so far): a step curve of drops."""
        status, done, _ = _log_arrays(self.result, "orders")
        times = np.sort(done[status == DROPPED])
        return (np.concatenate(([0.0], times, [self.params.until])),
                np.concatenate(([0], np.arange(1, len(times) + 1), [len(times)])))

    def producer_wait(self, width: float = 4.0, step: float = 2.0):
        """Mean seconds the producer waited for the broker to accept a publish, by creation time."""
        created = _created(self.result)
        accepted = np.frombuffer(self.result.system.messages.accepted, count=len(created))
        wait = np.where(np.isnan(accepted), self.params.until - created, accepted - created)
        return sliding_mean(created, wait, self.params.until, width, step)

    def latency(self, width: float = 4.0, step: float = 2.0):
        """Mean seconds from order to processed, for orders processed, by creation time."""
        status, done, created = _log_arrays(self.result, "orders")
        ok = status == COMPLETED
        return sliding_mean(created[ok], done[ok] - created[ok], self.params.until, width, step)

    def peak_queue(self) -> int:
        """The most ready messages the queue ever held, exactly (the sampled gauge can miss a peak that
        falls between two samples): each message is in the queue from its acceptance until a consumer
        takes it or it is dropped. At equal times departures count first, as the capacity check does."""
        status, done, _ = _log_arrays(self.result, "orders")
        n = len(status)
        accepted = np.frombuffer(self.result.system.messages.accepted, count=n)
        taken = np.frombuffer(self.result.system.logs["orders"].taken, count=n)
        entered = ~np.isnan(accepted)  # a publish still blocked at the end never entered
        leave = np.where(~np.isnan(taken), taken, np.where(status == DROPPED, done, np.inf))[entered]
        k = int(entered.sum())
        times = np.concatenate((leave, accepted[entered]))
        steps = np.concatenate((-np.ones(k), np.ones(k)))
        order = np.lexsort((steps, times))
        return int(np.cumsum(steps[order]).max(initial=0))

    def numbers(self) -> dict:
        s = self.result.summary
        created = _created(self.result)
        accepted = np.frombuffer(self.result.system.messages.accepted, count=len(created))
        wait = np.where(np.isnan(accepted), self.params.until - created, accepted - created)
        t, depth, unacked, held = self.where_waiting()
        return {"lost": s["dropped"], "lost_share": s["dropped"] / s["produced"],
                "producer_wait_max_s": float(wait.max()) if len(wait) else 0.0,
                "producer_wait_mean_s": float(wait.mean()) if len(wait) else 0.0,
                "latency_p95_s": s["latency_p95"], "peak_queue": self.peak_queue(),
                "peak_held_by_producer": float(held.max()),
                "peak_backlog": float((depth + unacked + held).max()), "processed": s["completed"]}

    def table(self):
        import pandas as pd

        return pd.DataFrame({self.params.policy: self.numbers()}).rename_axis("metric")


def run_backpressure_policy(p: BackpressureParams):
    system = System(p.seed, sample_every=1.0)
    bounded = p.policy != "unbounded"
    q = WorkQueue(system, "orders", capacity=p.capacity if bounded else None,
                  overflow=p.policy if bounded else "reject")
    Consumer(system, q, "slow-consumer", service=Exponential(p.service_mean), prefetch=p.prefetch)
    Producer(system, p.workload(), q, name="order-service")
    return system.run(p.until)


@lru_cache(maxsize=64)
def _backpressure_run(p: BackpressureParams):
    if p.policy == "unbounded" and p.capacity != BackpressureParams.capacity:  # capacity is not used
        return _backpressure_run(replace(p, capacity=BackpressureParams.capacity))
    return run_backpressure_policy(p)


def _backpressure(p: BackpressureParams) -> BackpressureResult:
    return BackpressureResult(p, {p.policy: _backpressure_run(p)})


@experiment("backpressure", "A slow consumer behind a bounded queue: reject, drop the oldest or block",
            BackpressureParams, BACKPRESSURE_SLIDERS)
def run_backpressure(p: BackpressureParams) -> BackpressureResult:
    return _backpressure(p)


def compare_policies(p: BackpressureParams) -> dict:
    """{policy: BackpressureResult} for every policy at these settings (each run cached)."""
    return {policy: _backpressure(replace(p, policy=policy)) for policy in POLICIES}

"""Partitions cap a consumer group's parallelism (experiment ``partitions``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property, lru_cache

import numpy as np

from ... import validate as v
from ...broker import Topic, WorkQueue
from ...consumer import consumers
from ...distributions import Exponential
from ...lab.panel import Slider
from ...metrics import COMPLETED
from ...partitioned_log import PartitionedLog
from ...producer import Producer
from ...system import System
from ...workload import Poisson
from .. import experiment
from ._common import SEED_MAX, _log_arrays

# ======================================================================================================
# (d) partitions cap a group's parallelism; a work queue does not, but loses per-key order
# ======================================================================================================
MAX_CONSUMERS = 12


@dataclass(frozen=True, kw_only=True)
class PartitionsParams:
    """Orders at ``rate``/s (more than all consumers together can take) with ``keys`` distinct keys,
    ``service_mean`` s each. ``consumers`` read them from a log with ``partitions`` partitions (a
    consumer group) or from a work queue (competing consumers); throughput is orders processed per
    second over ``until`` s."""

    partitions: int = 6
    consumers: int = 8
    rate: float = 130.0
    service_mean: float = 0.1
    keys: int = 100
    until: float = 10.0
    seed: int = 1

    def __post_init__(self):
        v.integer("partitions", self.partitions, 1, 1000)
        v.integer("consumers", self.consumers, 1, 1000)
        v.positive("rate", self.rate, 1e5)
        v.positive("service_mean", self.service_mean, 60)
        v.integer("keys", self.keys, 1, 10**6)
        v.positive("until", self.until, 1e4)
        v.integer("seed", self.seed, 0, SEED_MAX)

    def ceiling(self, n) -> np.ndarray:
        """Theory: a group processes at most min(consumers, busy partitions) / service_mean orders/s,
        and no more than arrive. With ``keys`` keys only min(keys, partitions) partitions get orders."""
        busy = min(self.partitions, self.keys)
        return np.minimum(np.minimum(np.asarray(n, dtype=float), busy) / self.service_mean, self.rate)


PARTITIONS_SLIDERS = (
    Slider("partitions", 1, MAX_CONSUMERS, 1, label="partitions", help="partitions of the orders topic"),
    Slider("consumers", 1, MAX_CONSUMERS, 1, label="consumers", help="consumers in the group (and on the queue)"),
)


def out_of_order_share(result, name: str) -> float:
    """Share of processed orders that finished before an earlier order with the same key finished.

    Orders not processed by the end count as finishing at infinity (still pending)."""
    status, done, _ = _log_arrays(result, name)
    keys = result.system.messages.keys(len(status))
    mine = status != 0
    ids = np.flatnonzero(mine)
    if len(ids) < 2:
        return 0.0
    fin = np.where(status[ids] == COMPLETED, done[ids], np.inf)
    order = np.lexsort((ids, keys[ids]))  # by key, then creation order
    k, fin, ok = keys[ids][order], fin[order], (status[ids] == COMPLETED)[order]
    first = np.concatenate(([True], k[1:] != k[:-1]))
    # running maximum of finish times within each key: restart it at every key's first order
    seg = np.cumsum(first) - 1
    pending = result.elapsed + 0.5  # later than any finish, earlier than the next key's offset
    shifted = np.where(np.isinf(fin), pending, fin) + seg * 2 * (result.elapsed + 1.0)
    running = np.maximum.accumulate(shifted)
    earlier = np.concatenate(([-np.inf], running[:-1]))
    late = ~first & ok & (shifted < earlier)
    return float(late.sum() / ok.sum()) if ok.any() else 0.0


@dataclass(frozen=True)
class PartitionsResult:
    """A consumer group on the log and competing consumers on a work queue, ``params.consumers`` each.

    The numbers come from the cached sweep systems (:func:`sweep_system`), where group n processes
    exactly as a run with n consumers does, so moving the consumers slider runs nothing. ``results``
    holds the two single runs themselves, built on first use (the command line shows their summaries).
    """

    params: PartitionsParams

    @cached_property
    def results(self) -> dict:
        return {b: _partitions_run(self.params, b) for b in ("log", "queue")}

    def _run(self, broker: str):
        """(Result, name of the subscription or group) holding this size's numbers."""
        n = self.params.consumers
        if n <= MAX_CONSUMERS:
            return _sweep(self.params, broker, MAX_CONSUMERS), f"group{n}" if broker == "log" else f"queue{n}"
        return self.results[broker], "workers" if broker == "log" else "orders"

    def throughput(self, broker: str) -> float:
        result, name = self._run(broker)
        return result.system.logs[name].completed / self.params.until

    def partitions_per_consumer(self) -> list[int]:
        result, group = self._run("log")  # a group's delivery log has the group's name
        return [len(m.partitions) for m in result.system.components[group].members]

    def out_of_order(self, broker: str) -> float:
        result, name = self._run(broker)
        return out_of_order_share(result, name)

    def table(self):
        import pandas as pd

        p = self.params
        rows = {}
        for broker in ("log", "queue"):
            rows[broker] = {"throughput_per_s": self.throughput(broker),
                            "theory_ceiling_per_s": float(p.ceiling(p.consumers)) if broker == "log"
                            else min(p.consumers / p.service_mean, p.rate),
                            "idle_consumers": sum(n == 0 for n in self.partitions_per_consumer())
                            if broker == "log" else 0,
                            "out_of_order_share": self.out_of_order(broker)}
        return pd.DataFrame(rows).rename_axis("metric")


def run_partitions_broker(p: PartitionsParams, broker: str):
    """One system: a consumer group on a log, or competing consumers on a work queue. Both use the
    stream ``service:workers``, so order i takes the same time either way."""
    v.choice("broker", broker, ("log", "queue"))
    system = System(p.seed, keys=p.keys, sample_every=p.until)
    if broker == "log":
        target = PartitionedLog(system, "orders", partitions=p.partitions)
        target.group("workers", consumers=p.consumers, service=Exponential(p.service_mean))
    else:
        target = WorkQueue(system, "orders")
        consumers(system, target, p.consumers, service=Exponential(p.service_mean), stream="workers",
                  name="worker")
    Producer(system, Poisson(rate=p.rate, keys=p.keys), target, name="order-service")
    return system.run(p.until)


@lru_cache(maxsize=256)
def _partitions_run(p: PartitionsParams, broker: str):
    if broker == "queue" and p.partitions != PartitionsParams.partitions:  # a queue has no partitions
        return _partitions_run(replace(p, partitions=PartitionsParams.partitions), broker)
    return run_partitions_broker(p, broker)


@experiment("partitions", "Partitions cap a consumer group's parallelism; a queue does not, but loses order",
            PartitionsParams, PARTITIONS_SLIDERS)
def run_partitions(p: PartitionsParams) -> PartitionsResult:
    result = PartitionsResult(p)
    for broker in ("log", "queue"):
        result._run(broker)  # run (or fetch from the cache) inside this experiment's budget, not later
    return result


def sweep_system(p: PartitionsParams, broker: str, max_consumers: int = MAX_CONSUMERS):
    """One system holding the whole sweep: a log with one consumer group per size 1..max_consumers
    (groups are independent readers), or a topic with one work queue per size. Every group and queue
    uses the stream ``service:workers``, so group n processes exactly as the single run with n
    consumers does, and the orders are published once instead of once per size."""
    v.choice("broker", broker, ("log", "queue"))
    v.integer("max_consumers", max_consumers, 1, 100)
    system = System(p.seed, keys=p.keys, sample_every=p.until)  # no time series needed: skip the gauges
    service = Exponential(p.service_mean)
    if broker == "log":
        target = PartitionedLog(system, "orders", partitions=p.partitions)
        for n in range(1, max_consumers + 1):
            target.group(f"group{n}", consumers=n, service=service, stream="workers")
    else:
        target = Topic(system, "orders")
        for n in range(1, max_consumers + 1):
            consumers(system, target.subscribe(f"queue{n}"), n, service=service, stream="workers")
    Producer(system, Poisson(rate=p.rate, keys=p.keys), target, name="order-service")
    return system.run(p.until)


@lru_cache(maxsize=64)
def throughput_vs_consumers(p: PartitionsParams, max_consumers: int = MAX_CONSUMERS) -> dict:
    """For n = 1..max_consumers: throughput (orders/s) and out-of-order share, log and queue.

    Cached on everything but ``consumers``, and the queue's sweep ignores ``partitions`` too, so moving
    the consumers slider reruns no sweep and moving the partitions slider reruns only the log's."""
    base = replace(p, consumers=1)
    if base != p:
        return throughput_vs_consumers(base, max_consumers)
    n = np.arange(1, max_consumers + 1)
    out = {"consumers": n}
    for broker, prefix in (("log", "group"), ("queue", "queue")):
        result = _sweep(p, broker, max_consumers)
        out[f"{broker}_throughput"] = np.array([result.system.logs[f"{prefix}{k}"].completed for k in n]) / p.until
        out[f"{broker}_out_of_order"] = np.array([out_of_order_share(result, f"{prefix}{k}") for k in n])
    return out


@lru_cache(maxsize=64)
def _sweep(p: PartitionsParams, broker: str, max_consumers: int):
    """The sweep system, cached on everything but ``consumers`` (and ``partitions`` for the queue)."""
    base = replace(p, consumers=1)
    if broker == "queue":  # a queue has no partitions
        base = replace(base, partitions=PartitionsParams.partitions)
    if base != p:
        return _sweep(base, broker, max_consumers)
    return sweep_system(p, broker, max_consumers)

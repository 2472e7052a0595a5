"""What a run returns: the summary, tidy tables built on demand, and the conservation check."""

from __future__ import annotations

import math
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from .metrics import ConservationError, percentiles

if TYPE_CHECKING:
    import pandas as pd

    from .system import System


class Result:
    """The outcome of one :meth:`System.run`.

    ``summary`` is a dict of the documented keys; ``records()`` has one row per message copy per
    subscription; ``timeseries()`` has one row per sampling step. Conservation is checked on creation:
    every copy a subscription was given is completed, dead-lettered, dropped or still in flight.
    """

    def __init__(self, system: System, until: float, elapsed: float):
        self.system = system
        self.until = until
        self.elapsed = elapsed
        self.seed = system.seed
        self.check_conservation()

    @cached_property
    def summary(self) -> dict:
        return summarize(self.system, self.until, self.elapsed)

    @property
    def bound_hit(self) -> bool:
        return bool(self.system.bound_reason)

    @property
    def message(self) -> str:
        """Why the run stopped early, or an empty string."""
        return self.system.bound_reason

    def check_conservation(self) -> None:
        for component in self.system.components.values():
            check = getattr(component, "check", None)
            if check is not None and hasattr(component, "received"):
                check()  # a broker: received == reached + held + publishing
        for log in self.system.logs.values():
            log.check()
            if log.assigned > self.system.messages.count:
                raise ConservationError(f"{log.name}: more copies assigned than messages produced")

    def records(self) -> pd.DataFrame:
        """One row per (subscription, message): times, fate, deliveries, wait and latency in seconds."""
        import pandas as pd  # imported when a table is asked for: a plain run never pays for it

        frames = [log.frame(self.system.messages) for log in self.system.logs.values()]
        if not frames:
            return pd.DataFrame()
        if len(frames) == 1:
            return frames[0]
        return pd.concat(frames, ignore_index=True)

    def messages(self) -> pd.DataFrame:
        """One row per message produced: id, key, size (bytes), created and accepted times (s)."""
        return self.system.messages.frame()

    def timeseries(self) -> pd.DataFrame:
        """Gauges sampled every ``sample_every`` seconds (queue depth, lag, busy workers...)."""
        return self.system.series.frame()

    def by_subscription(self) -> pd.DataFrame:
        """Counts per subscription: assigned, completed, dead-lettered, dropped, in flight, duplicates."""
        import pandas as pd  # imported when a table is asked for: a plain run never pays for it

        rows = []
        for log in self.system.logs.values():
            rows.append({"subscription": log.name, "to_handle": log.assigned, "delivered": log.delivered,
                         "completed": log.completed, "failed": log.failed, "dropped": log.dropped,
                         "dead_lettered": log.dead_lettered, "in_flight": log.in_flight,
                         "duplicates": log.duplicates})
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        s = self.summary
        extra = f", bound_hit: {s['bound_reason']}" if s["bound_hit"] else ""
        return (f"<Result seed={self.seed} produced={s['produced']} completed={s['completed']} "
                f"latency_p50={s['latency_p50']:.4g}s{extra}>")


def _accept_mean(msgs) -> float:
    """Mean seconds from creation to acceptance over the accepted messages (with one temporary array)."""
    waits = np.frombuffer(msgs.accepted, count=msgs.count) - np.frombuffer(msgs.created, count=msgs.count)
    missing = np.isnan(waits)
    if missing.any():
        waits = waits[~missing]
    return float(waits.mean()) if len(waits) else math.nan


def summarize(system: System, until: float, elapsed: float) -> dict:
    """The documented summary of a run (see README, "Summary keys")."""
    logs = list(system.logs.values())
    msgs = system.messages
    completed = sum(lg.completed for lg in logs)
    waited = sum(lg.waited for lg in logs)
    accept_mean = _accept_mean(msgs)
    lat = [lg.latencies(msgs) for lg in logs]
    lat = lat[0] if len(lat) == 1 else np.concatenate(lat) if lat else np.empty(0)
    brokers = [c for c in system.components.values() if hasattr(c, "received") and hasattr(c, "reached")]
    out = {
        "produced": msgs.count,
        "published": sum(b.reached for b in brokers),
        "held": sum(b.held for b in brokers),
        "publishing": sum(b.publishing for b in brokers),
        "to_handle": sum(lg.assigned for lg in logs),
        "delivered": sum(lg.delivered for lg in logs),
        "completed": completed,
        "failed": sum(lg.failed for lg in logs),
        "dropped": sum(lg.dropped for lg in logs),
        "dead_lettered": sum(lg.dead_lettered for lg in logs),
        "in_flight": sum(lg.in_flight for lg in logs),
        "duplicates": sum(lg.duplicates for lg in logs),
        "throughput": completed / elapsed if elapsed > 0 else math.nan,
        "wait_mean": sum(lg.wait_sum for lg in logs) / waited if waited else math.nan,
        **percentiles(lat, scratch=True),
        "accept_mean": accept_mean,
        "utilisation": system.utilisation(elapsed),
        "db_reads": int(system.counters.get("db_reads", 0)),
        "db_writes": int(system.counters.get("db_writes", 0)),
        "sim_time": elapsed,
        "events": system.events,
        "bound_hit": bool(system.bound_reason),
        "bound_reason": system.bound_reason,
    }
    for hook in system.summary_hooks:
        out.update(hook(system, elapsed))
    return out

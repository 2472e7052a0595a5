"""Consumer lag and dead-letter alerts during a bad deploy (experiment ``costs_monitoring``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from ... import validate as v
from ...distributions import Exponential
from ...fault import FailFraction, Slow
from ...lab.panel import Slider
from ...partitioned_log import PartitionedLog
from ...producer import Producer
from ...system import System
from ...workload import Poisson
from .. import experiment
from ._common import SEED_MAX, _tidy


# =====================================================================================================
# 5. Monitoring: consumer lag and dead letters, with alert thresholds
# =====================================================================================================
@dataclass(frozen=True, kw_only=True)
class MonitoringParams:
    """A billing group (``consumers`` on ``partitions`` partitions) reads orders at ``rate``/s. From
    ``fault_start`` to ``fault_end`` a bad deploy fails ``fail_fraction`` of attempts and makes each
    ``slow_factor`` times slower; a message failing ``max_attempts`` times is dead-lettered."""

    fail_fraction: float = 0.3
    slow_factor: float = 2.0
    lag_threshold: int = 50
    dlq_threshold: int = 5
    max_attempts: int = 3
    rate: float = 10.0
    service_mean: float = 0.1
    consumers: int = 2
    partitions: int = 4
    fault_start: float = 60.0
    fault_end: float = 120.0
    until: float = 180.0
    seed: int = 1

    def __post_init__(self):
        v.number("fail_fraction", self.fail_fraction, 0.0, 0.95)
        v.number("slow_factor", self.slow_factor, 1.0, 100.0)
        v.integer("lag_threshold", self.lag_threshold, 1, 10**6)
        v.integer("dlq_threshold", self.dlq_threshold, 1, 10**6)
        v.integer("max_attempts", self.max_attempts, 1, 100)
        v.positive("rate", self.rate, 200)
        v.positive("service_mean", self.service_mean, 10)
        v.integer("consumers", self.consumers, 1, 64)
        v.integer("partitions", self.partitions, 1, 256)
        v.window("fault", self.fault_start, self.fault_end)
        v.number("until", self.until, self.fault_end, 1e5, lo_open=True)
        v.integer("seed", self.seed, 0, SEED_MAX)


MONITORING_SLIDERS = (
    Slider("fail_fraction", 0.0, 0.9, 0.05, unit="of attempts", label="failing",
           help="share of processing attempts that fail during the bad deploy (60–120 s)"),
    Slider("slow_factor", 1.0, 5.0, 0.25, unit="×", label="slowdown",
           help="each attempt takes this many times longer during the bad deploy"),
    Slider("lag_threshold", 10, 300, 5, unit="messages", label="lag alert at",
           help="page someone when the consumer group's lag exceeds this"),
    Slider("dlq_threshold", 1, 50, 1, unit="messages", label="dead-letter alert at",
           help="page someone when this many messages have been dead-lettered"),
    Slider("max_attempts", 1, 6, 1, unit="attempts", label="attempts before DLQ",
           help="a message failing this many times goes to the dead-letter queue"),
)


@dataclass(frozen=True)
class MonitoringResult:
    """One Result (``results["eda"]``) and the two alerts read off its time series."""

    params: MonitoringParams
    results: dict

    @property
    def result(self):
        return self.results["eda"]

    def series(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(time, lag, dead-lettered so far), sampled every second."""
        s = self.result.system.series
        return (np.frombuffer(s.t), np.frombuffer(s.columns["billing.lag"]),
                np.frombuffer(s.columns["billing.dead_lettered"]))

    @staticmethod
    def _first_above(t, values, threshold) -> float:
        above = np.flatnonzero(values >= threshold)
        return float(t[above[0]]) if len(above) else math.nan

    def lag_alert_time(self) -> float:
        """First sample (s) at which the lag is at or above ``lag_threshold``; NaN if it never is."""
        t, lag, _ = self.series()
        return self._first_above(t, lag, self.params.lag_threshold)

    def dlq_alert_time(self) -> float:
        t, _, dlq = self.series()
        return self._first_above(t, dlq, self.params.dlq_threshold)

    def normal_lag_max(self) -> float:
        """The highest lag before the fault: the noise an alert threshold must stay above."""
        t, lag, _ = self.series()
        return float(lag[t < self.params.fault_start].max())

    def capacity(self, during_fault: bool) -> float:
        """Messages per second the group can finish: active consumers over the mean time per message,
        which during the fault is ``slow_factor`` × service × expected attempts (1 + f + ... + f^(a-1))."""
        p = self.params
        active = min(p.consumers, p.partitions)
        if not during_fault:
            return active / p.service_mean
        attempts = sum(p.fail_fraction ** i for i in range(p.max_attempts))
        return active / (p.service_mean * p.slow_factor * attempts)

    def theory_lag(self, t) -> np.ndarray:
        """Fluid model of the lag (queueing noise left out): it grows at rate - capacity during the fault
        when that is positive, then drains at the normal capacity - rate."""
        p = self.params
        t = np.asarray(t, dtype=float)
        grow = max(0.0, p.rate - self.capacity(True))
        drain = self.capacity(False) - p.rate
        peak = grow * (p.fault_end - p.fault_start)
        during = grow * (np.clip(t, p.fault_start, p.fault_end) - p.fault_start)
        after = np.maximum(0.0, peak - drain * (t - p.fault_end)) if drain > 0 else np.full(t.shape, peak)
        return np.where(t <= p.fault_end, during, after)

    def theory_dead_letters(self, t) -> np.ndarray:
        """Expected dead letters by time t: during the fault messages are finished at min(rate, capacity)
        per second and each fails all its attempts with probability f^a (independent attempts)."""
        p = self.params
        inside = np.clip(np.asarray(t, dtype=float), p.fault_start, p.fault_end) - p.fault_start
        return min(p.rate, self.capacity(True)) * p.fail_fraction ** p.max_attempts * inside

    def table(self):
        import pandas as pd

        p, s = self.params, self.result.summary
        _, lag, dlq = self.series()
        return _tidy(pd.Series({
            "lag_before_fault_max": self.normal_lag_max(), "lag_max": float(lag.max()),
            "lag_alert_at_s": self.lag_alert_time(), "dead_lettered": s["dead_lettered"],
            "dead_letters_theory": float(self.theory_dead_letters(p.until)),
            "lag_max_theory_fluid": float(self.theory_lag(p.fault_end)),
            "dlq_alert_at_s": self.dlq_alert_time(), "failed_attempts": s["failed"],
            "completed": s["completed"], "produced": s["produced"],
        }, name="value").to_frame())


@lru_cache(maxsize=32)
def _monitoring_run(p: MonitoringParams):
    system = System(p.seed, sample_every=1.0)
    log = PartitionedLog(system, "orders", partitions=p.partitions)
    group = log.group("billing", consumers=p.consumers, service=Exponential(p.service_mean),
                      max_attempts=p.max_attempts)
    system.series.add("billing.dead_lettered", lambda: group.log.dead_lettered)
    Producer(system, Poisson(rate=p.rate), log)
    for member in group.members:
        if p.fail_fraction > 0:
            system.inject(FailFraction(target=member.name, start=p.fault_start, end=p.fault_end,
                                       fraction=p.fail_fraction))
        if p.slow_factor > 1:
            system.inject(Slow(target=member.name, start=p.fault_start, end=p.fault_end, factor=p.slow_factor))
    return system.run(p.until)


@experiment("costs_monitoring", "Monitoring: consumer lag and dead-letter alerts during a bad deploy",
            MonitoringParams, MONITORING_SLIDERS)
def run_monitoring(p: MonitoringParams) -> MonitoringResult:
    # The thresholds only read the run, so runs are shared across their values.
    base = replace(p, lag_threshold=MonitoringParams.lag_threshold, dlq_threshold=MonitoringParams.dlq_threshold)
    return MonitoringResult(p, {"eda": _monitoring_run(base)})


def check_lag_threshold(threshold, quiet_seeds=None, deploy: MonitoringParams | None = None) -> tuple[bool, str]:
    """Exercise check: a lag alert at ``threshold`` must stay silent in healthy runs (no failures, no
    slowdown, seeds ``quiet_seeds``: by default the deploy's seed and the next two) and fire during the bad
    deploy ``deploy`` (default: the default bad deploy, seed 1). Returns (ok, feedback)."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
        return False, f"Enter a number of messages, got {threshold!r}."
    if threshold < 1 or threshold != int(threshold):
        return False, f"Enter a whole number of messages of at least 1, got {threshold!r}."
    threshold = int(threshold)
    deploy = deploy or MonitoringParams()
    quiet_seeds = quiet_seeds or tuple(range(deploy.seed, deploy.seed + 3))
    quiet = [run_monitoring(replace(deploy, fail_fraction=0.0, slow_factor=1.0, lag_threshold=threshold, seed=s))
             for s in quiet_seeds]
    noisy = [r for r in quiet if not math.isnan(r.lag_alert_time())]
    if noisy:
        r = noisy[0]
        return False, (f"False alarm: with nothing wrong (seed {r.params.seed}) the lag reaches "
                       f"{r.series()[1].max():.0f} and the alert fires at {r.lag_alert_time():.0f} s. Go higher.")
    bad = run_monitoring(replace(deploy, lag_threshold=threshold))
    t = bad.lag_alert_time()
    if math.isnan(t):
        return False, (f"Silent: during the bad deploy the lag peaks at {bad.series()[1].max():.0f}, below "
                       f"{threshold}. Nobody is paged. Go lower.")
    return True, (f"Good: no false alarm in {len(quiet_seeds)} healthy runs (their lag stays at or below "
                  f"{max(r.series()[1].max() for r in quiet):.0f}), and the alert fires at {t:.0f} s, "
                  f"{t - bad.params.fault_start:.0f} s into the bad deploy.")

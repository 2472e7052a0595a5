"""``reactivity``: how soon does a service notice new data? Polling every T vs push vs long polling.

Notebook 04. Events (say "order shipped") happen at ``rate`` per second. A notification service must
react to each one. Three ways to learn about them, on the same arrivals and the same processing times:

- ``poll``: R/R style, the service asks the source "anything new?" every ``poll_interval`` seconds and
  takes everything that is there (a batch of up to ``batch``);
- ``long_poll``: the question is held open up to ``poll_interval`` and answered as soon as an event
  exists;
- ``push``: EDA style, the broker delivers each event as it is published.

Detection delay is the time an event waits before the service takes it (``wait`` in the records). For
fixed polling it is uniform on (0, T) at low load, so its mean is T/2 (``theory.polling_delay_mean``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from .. import theory
from .. import validate as v
from ..broker import WorkQueue
from ..consumer import Consumer
from ..distributions import Exponential
from ..lab.panel import Slider
from ..producer import Producer
from ..system import System
from ..workload import Bursty, Poisson
from . import experiment

MODES = ("poll", "long_poll", "push")


@dataclass(frozen=True, kw_only=True)
class ReactivityParams:
    """Events at ``rate``/s (bursty when ``burst`` > 1), one consumer, ``service_mean`` s per event."""

    rate: float = 2.0
    poll_interval: float = 4.0
    service_mean: float = 0.05
    burst: float = 1.0
    batch: int = 100
    until: float = 300.0
    seed: int = 1

    def __post_init__(self):
        v.positive("rate", self.rate, 1000)
        v.positive("poll_interval", self.poll_interval, 3600)
        v.positive("service_mean", self.service_mean, 60)
        v.number("burst", self.burst, 1, 50)
        v.integer("batch", self.batch, 1, 100_000)
        v.positive("until", self.until, 1e5)
        v.integer("seed", self.seed, 0, 2**63 - 1)

    def workload(self):
        """Poisson at ``rate``, or on/off bursts with the same mean: ``burst`` times the rate, 1/burst
        of the time (5-second bursts)."""
        if self.burst == 1:
            return Poisson(rate=self.rate)
        on = 5.0
        return Bursty(rate_on=self.rate * self.burst, on=on, off=on * (self.burst - 1))


SLIDERS = (
    Slider("poll_interval", 0.5, 20.0, 0.5, unit="s", label="polling period T",
           help="how often the polling service asks for news; long polls are held open this long"),
    Slider("rate", 0.2, 5.0, 0.2, unit="events/s", label="event rate", help="events per second (mean)"),
    Slider("burst", 1.0, 20.0, 1.0, unit="×", label="burstiness",
           help="1 = steady Poisson; k = the same mean rate in 5 s bursts k times as intense"),
    Slider("service_mean", 0.01, 0.5, 0.01, unit="s", label="processing time",
           help="mean time to handle one event once it is known"),
)


@dataclass(frozen=True)
class ReactivityResult:
    """One Result per mode, and the numbers notebook 04 plots."""

    params: ReactivityParams
    results: dict

    def delays(self, mode: str) -> np.ndarray:
        """Detection delays (s): time from the event to the service taking it."""
        log = self.results[mode].system.logs["changes"]
        n = len(log.status)
        taken = np.frombuffer(log.taken, count=n)
        enq = np.frombuffer(log.enqueued, count=n)
        d = taken - enq
        return d[~np.isnan(d)]

    def requests_per_s(self, mode: str) -> float:
        """Requests the source service answers per second (polls; zero for push)."""
        r = self.results[mode]
        return r.system.counters.get("polls", 0) / r.elapsed

    def empty_fraction(self, mode: str) -> float:
        c = self.results[mode].system.counters
        return c.get("empty_polls", 0) / c["polls"] if c.get("polls") else float("nan")

    def table(self):
        import pandas as pd

        rows = {}
        for mode in self.results:
            d = self.delays(mode)
            rows[mode] = {
                "delay_mean_s": float(d.mean()) if len(d) else float("nan"),
                "delay_p95_s": float(np.percentile(d, 95)) if len(d) else float("nan"),
                "requests_per_s": self.requests_per_s(mode),
                "empty_poll_fraction": self.empty_fraction(mode),
                "completed": self.results[mode].summary["completed"],
            }
        rows["theory_poll"] = {
            "delay_mean_s": theory.polling_delay_mean(self.params.poll_interval),
            "delay_p95_s": theory.polling_delay_quantile(self.params.poll_interval, 0.95),
            "requests_per_s": 1 / self.params.poll_interval,
            "empty_poll_fraction": theory.polling_empty_fraction(self.params.rate, self.params.poll_interval)
            if self.params.burst == 1 else float("nan"),
            "completed": float("nan"),
        }
        return pd.DataFrame(rows).rename_axis("metric")


def run_mode(p: ReactivityParams, mode: str):
    """One system: the same events and processing times, discovered by ``mode``."""
    v.choice("mode", mode, MODES)
    system = System(p.seed, sample_every=p.until / 100)
    changes = WorkQueue(system, "changes")
    # Every mode takes up to ``batch`` events at a time, so "wait" is purely the detection delay and
    # any queueing behind a busy notifier shows up in the reaction time (latency) instead.
    Consumer(system, changes, "notifier", service=Exponential(p.service_mean), prefetch=p.batch,
             poll_interval=None if mode == "push" else p.poll_interval, long_poll=mode == "long_poll")
    Producer(system, p.workload(), changes)
    return system.run(p.until)


@experiment("reactivity", "Polling every T vs push vs long polling (detection delay)", ReactivityParams, SLIDERS)
def run_reactivity(p: ReactivityParams) -> ReactivityResult:
    return ReactivityResult(p, {mode: run_mode(p, mode) for mode in MODES})


PERIODS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


@lru_cache(maxsize=64)
def delay_vs_period(p: ReactivityParams, periods: tuple = PERIODS, until: float = 150.0):
    """Mean detection delay of fixed polling for each period in ``periods`` (for the sweep chart).

    Cached on everything but ``poll_interval``, so moving the T slider costs nothing here.
    """
    base = replace(p, poll_interval=1.0, until=until)
    if base != p:
        return delay_vs_period(base, periods, until)
    out = []
    for t in periods:
        r = ReactivityResult(p, {"poll": run_mode(replace(p, poll_interval=float(t)), "poll")})
        d = r.delays("poll")
        out.append(d.mean() if len(d) else np.nan)
    return np.asarray(periods, dtype=float), np.asarray(out)

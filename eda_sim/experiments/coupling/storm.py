"""Notebook 03's experiments: storm (the package docstring says what each experiment shows)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from ... import validate as v
from ...comparison import Comparison, build_rr
from ...fault import Down
from ...lab.panel import Slider
from .. import experiment
from ..comparisons import RetryStormParams, retry_storm_spec, storm_keys
from .outage import SEED_MAX

POLICIES = {  # name: the retry_storm settings it stands for
    "naive": dict(retries=2, backoff="fixed", base=0.1, budget=0.0, breaker=False),
    "no_retries": dict(retries=0, backoff="fixed", base=0.1, budget=0.0, breaker=False),
    "backoff_budget": dict(retries=2, backoff="full_jitter", base=0.1, budget=0.1, breaker=False),
    "breaker": dict(retries=2, backoff="fixed", base=0.1, budget=0.0, breaker=True),
}
POLICY_LABELS = {
    "naive": "naive retries (2 retries, 0.1 s apart)",
    "no_retries": "no retries",
    "backoff_budget": "backoff with full jitter + retry budget (10%)",
    "breaker": "naive retries behind a circuit breaker",
}


@dataclass(frozen=True, kw_only=True)
class StormParams:
    """The ``retry_storm`` system at half scale (an api with ``workers`` workers of 0.1 s, so it serves
    about 20 requests/s, queue limit ``queue_limit``), clients at ``rate``/s waiting ``timeout`` s per try,
    retrying by ``policy`` (see ``POLICIES``). The backend is down (calls hang) from ``outage_start`` for
    ``down_for`` s. Request/response only: the EDA side of an outage is ``coupling_outage``."""

    policy: str = "naive"
    rate: float = 12.0
    down_for: float = 5.0
    timeout: float = 1.0
    workers: int = 2
    queue_limit: int = 100
    outage_start: float = 10.0
    until: float = 60.0
    seed: int = 1

    def __post_init__(self):
        v.choice("policy", self.policy, tuple(POLICIES))
        v.positive("rate", self.rate, 1e4)
        v.positive("down_for", self.down_for, 1e5)
        v.positive("timeout", self.timeout, 1e4)
        v.integer("workers", self.workers, 1, 1000)
        v.integer("queue_limit", self.queue_limit, 0, 10**6)
        v.non_negative("outage_start", self.outage_start, 1e5)
        v.number("until", self.until, self.outage_start + self.down_for + 20.0, 1e6)
        v.integer("seed", self.seed, 0, SEED_MAX)

    @property
    def outage_end(self) -> float:
        return self.outage_start + self.down_for

    def storm(self) -> RetryStormParams:
        """The same system as ``retry_storm`` parameters."""
        return RetryStormParams(rate=self.rate, workers=self.workers, timeout=self.timeout,
                                queue_limit=self.queue_limit, outage_start=self.outage_start,
                                outage_end=self.outage_end, until=self.until, seed=self.seed, **POLICIES[self.policy])

    @property
    def capacity(self) -> float:
        """Requests per second the api can serve (its workers over its mean service time)."""
        s = self.storm()
        return s.workers / s.service_time


class StormResult(Comparison):
    """One R/R run (``results[policy]``) with the ``retry_storm`` keys: ``ok_share_after`` (share of
    requests placed well after the outage that succeeded), ``recovery_time``, ``backlog_max``, and the
    request/response keys (``goodput``, ``attempts_mean``, ``wasted``...)."""

    def __init__(self, params: StormParams, result):
        super().__init__({params.policy: result})
        self.params = params
        self.result = result

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(times, values) of one gauge: ``client.offered``, ``client.sent``, ``client.goodput`` (per second
        over the last second), ``api.queue``, ``api.busy``."""
        s = self.result.system.series
        if name not in s.columns:
            raise ValueError(f"no gauge {name!r}; gauges: {', '.join(s.columns)}")
        return np.frombuffer(s.t), np.frombuffer(s.columns[name])

    def goodput_after(self) -> float:
        """Ok answers per second for the requests placed late after the outage (``late_window``)."""
        return self.result.summary["ok_share_after"] * self.params.rate


@lru_cache(maxsize=256)
def _storm(p: StormParams) -> StormResult:
    sp = p.storm()
    system = build_rr(retry_storm_spec(sp), sp.seed, sample_every=1.0)
    system.inject(Down(target="backend", start=sp.outage_start, end=sp.outage_end))
    keys = storm_keys(sp)
    system.summary_hooks.append(lambda s, e: keys("rr", s, e))
    result = system.run(sp.until)
    _ = result.summary  # computed once, and kept with the cached run
    return StormResult(p, result)


STORM_SLIDERS = (
    Slider("policy", options=tuple(POLICIES), label="retry policy",
           help="naive: 2 retries 0.1 s apart; backoff_budget: full jitter, retries ≤ 10% of requests"),
    Slider("down_for", 1.0, 15.0, 1.0, unit="s", label="outage length", help="backend down (calls hang) from 10 s"),
    Slider("rate", 4.0, 18.0, 1.0, unit="req/s", help="new requests per second; the api serves about 20/s"),
    Slider("timeout", 0.5, 3.0, 0.5, unit="s", label="client timeout", help="how long a client waits for one try"),
)


@experiment("coupling_storm", "After a short outage: naive retries vs backoff, budget and breaker", StormParams,
            STORM_SLIDERS)
def run_storm(p: StormParams) -> StormResult:
    return _storm(p)


LOADS = (4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0)


@lru_cache(maxsize=32)
def goodput_vs_load(p: StormParams, loads: tuple = LOADS) -> tuple[np.ndarray, np.ndarray]:
    """Goodput (ok answers/s) late after the outage for each offered load in ``loads`` (req/s), all else
    as in ``p``. Cached: the same sweep is never simulated twice."""
    base = replace(p, rate=LOADS[0])
    if base != p:
        return goodput_vs_load(base, loads)
    good = [_storm(replace(p, rate=float(r))).goodput_after() for r in loads]
    return np.asarray(loads, dtype=float), np.asarray(good)


# -- coupling_fanout ------------------------------------------------------------------------------

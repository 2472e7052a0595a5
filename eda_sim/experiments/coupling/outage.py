"""Notebook 03's experiments: outage (the package docstring says what each experiment shows)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ... import theory
from ... import validate as v
from ...comparison import Comparison, Flow, Handler, build_eda, build_rr, eda_faults, handler_done_times
from ...distributions import Deterministic, Exponential
from ...fault import Down
from ...lab.panel import Slider
from ...metrics import DROPPED
from ...resilience import OK
from ...service import WHEN_DOWN
from ...workload import Poisson
from .. import experiment
from ..comparisons import RECOVERED_BELOW

SEED_MAX = 2**63 - 1
TARGETS = ("billing", "broker")


# -- coupling_outage ------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class OutageParams:
    """Orders at ``rate``/s; billing (``workers`` workers or consumers, exponential ``billing_time``) and
    audit (2, ``audit_time``) act on each one.

    R/R: the client waits up to ``timeout`` s for the order service (``entry_workers`` workers), which
    calls billing then audit and waits for them as long as it takes (no timeout of its own, like an
    HTTP client left at its default). EDA: the client waits for the broker's acknowledgement
    (``publish_latency`` s). From ``outage_start`` for ``down_for`` s the ``target`` is down: billing
    (``when_down="hang"`` stalls its calls, ``"error"`` refuses them; in EDA its consumers stop), or
    the EDA broker (R/R has none, so only EDA is hit; the producer holds its orders until it is back).
    ``deadline`` (s) is the time by which an order counts as done on time.
    """

    rate: float = 10.0
    billing_time: float = 0.15
    workers: int = 2
    audit_time: float = 0.05
    entry_workers: int = 16
    timeout: float = 2.0
    when_down: str = "hang"
    target: str = "billing"
    outage_start: float = 15.0
    down_for: float = 10.0
    publish_latency: float = 0.005
    deadline: float = 5.0
    until: float = 70.0
    seed: int = 1

    def __post_init__(self):
        v.positive("rate", self.rate, 1000.0)
        v.positive("billing_time", self.billing_time, 60.0)
        v.integer("workers", self.workers, 1, 100)
        v.positive("audit_time", self.audit_time, 60.0)
        v.integer("entry_workers", self.entry_workers, 1, 10_000)
        v.positive("timeout", self.timeout, 3600.0)
        v.choice("when_down", self.when_down, WHEN_DOWN)
        v.choice("target", self.target, TARGETS)
        v.non_negative("outage_start", self.outage_start, 1e5)
        v.positive("down_for", self.down_for, 1e5)
        v.non_negative("publish_latency", self.publish_latency, 10.0)
        v.positive("deadline", self.deadline, 1e5)
        v.number("until", self.until, self.outage_end + 10.0, 1e5)
        v.integer("seed", self.seed, 0, SEED_MAX)

    @property
    def outage_end(self) -> float:
        return self.outage_start + self.down_for

    @property
    def capacity(self) -> float:
        """Orders per second billing can handle (it is the slower handler at the defaults)."""
        return self.workers / self.billing_time

    def drain_theory(self) -> float:
        """Fluid drain time of billing's backlog after the outage (``theory.outage_drain_time``)."""
        return theory.outage_drain_time(self.rate, 1 / self.billing_time, self.workers, self.down_for)

    def backlog_theory(self, t):
        """Fluid backlog of billing at times ``t`` (``theory.outage_backlog``)."""
        return theory.outage_backlog(t, self.rate, 1 / self.billing_time, self.workers, self.outage_start,
                                     self.outage_end)


def outage_flow(p: OutageParams) -> Flow:
    return Flow(workload=Poisson(rate=p.rate), entry="orders", entry_time=Exponential(0.01),
                entry_workers=p.entry_workers, timeout=p.timeout, when_down=p.when_down,
                publish_latency=Deterministic(p.publish_latency) if p.publish_latency > 0 else None,
                handlers=(Handler(name="billing", service=Exponential(p.billing_time), workers=p.workers),
                          Handler(name="audit", service=Exponential(p.audit_time), workers=2)))


def _backlog(system, arch: str) -> tuple[np.ndarray, np.ndarray]:
    """Sampled work waiting: R/R calls queued for a worker at any service; EDA orders waiting for billing
    (ready in its subscription, or not yet acknowledged by the broker: held while it is down)."""
    t = np.frombuffer(system.series.t)
    if arch == "eda":
        cols = [system.series.columns["billing.depth"], system.series.columns["orders.pending"]]
    else:
        cols = [c for name, c in system.series.columns.items() if name.endswith(".queue")]
    return t, np.sum([np.frombuffer(c) for c in cols], axis=0)


def _unacknowledged(system):
    """A gauge: orders placed that the broker has not acknowledged yet (held by the producer while the
    broker is down, or on their way to it)."""
    msgs = system.messages

    def gauge() -> float:
        n = msgs.count
        return float(np.count_nonzero(np.isnan(np.frombuffer(msgs.accepted, count=n)))) if n else 0.0

    return gauge


def _client_failed(system, arch: str, n: int) -> np.ndarray:
    """True for orders whose client was told they failed (R/R: any outcome but ok; EDA: publish refused)."""
    if arch == "rr":
        code = np.frombuffer(system.component("client").outcome, dtype=np.int8, count=n)
        return (code != OK) & (code >= 0)
    return np.frombuffer(system.logs["billing"].status, dtype=np.int8, count=n) == DROPPED  # refused at publish


def drain_time(t: np.ndarray, backlog: np.ndarray, end: float) -> float:
    """Seconds from ``end`` until the sampled backlog is first back to 5 or fewer (NaN: never); 0 when
    the first sample after ``end`` is already calm."""
    after = np.flatnonzero(t > end)
    if not len(after):
        return math.nan
    if backlog[after[0]] <= RECOVERED_BELOW:
        return 0.0
    calm = after[backlog[after] <= RECOVERED_BELOW]
    return float(t[calm[0]] - end) if len(calm) else math.nan


def outage_keys(p: OutageParams):
    """A summary hook adding ``failed_share``, ``on_time_share``, ``drain_time``, ``backlog_max`` and
    ``done_but_failed`` (documented on :class:`OutageResult`)."""

    def hook(arch: str, system, elapsed: float) -> dict:
        hit = arch == "eda" or p.target == "billing"  # R/R has no broker to lose
        n = system.messages.count
        created = np.frombuffer(system.messages.created, count=n)
        done = system.component("orders.flow").done_times(n)
        failed = _client_failed(system, arch, n)
        t, backlog = _backlog(system, arch)
        return {
            "failed_share": float(failed.mean()) if n else math.nan,
            "on_time_share": float(np.mean(done - created <= p.deadline)) if n else math.nan,
            "drain_time": drain_time(t, backlog, p.outage_end) if hit else 0.0,
            "backlog_max": float(backlog.max()) if len(backlog) else math.nan,
            "done_but_failed": int(np.sum(failed & ~np.isnan(done))),
        }

    return hook


class OutageResult(Comparison):
    """Both runs of one outage (``results["rr"]``, ``results["eda"]``) and the per-order numbers.

    Summary keys added to both columns (``table()``):

    - ``failed_share``: share of orders whose client was told they failed (R/R: error, timeout or
      rejected; EDA: publish refused, never with a buffering producer);
    - ``on_time_share``: share of orders every handler finished within ``deadline`` s of being placed;
    - ``drain_time``: seconds from the outage's end until the backlog (R/R: calls queued at services;
      EDA: orders waiting for billing, in its subscription or held by the producer) is first 5 or
      fewer; NaN if never; 0 for R/R when only the broker failed (it has none);
    - ``backlog_max``: the largest sampled backlog;
    - ``done_but_failed``: orders billed and audited although their client was told they failed.

    The ``theory`` column holds the fluid drain time λD/(cμ − λ) of billing's backlog.
    """

    def __init__(self, params: OutageParams, results: dict):
        drain = params.drain_theory()
        super().__init__(results, {"drain_time": drain if math.isfinite(drain) else math.nan,
                                   "backlog_max": params.rate * params.down_for})
        self.params = params

    @cached_property
    def per_order(self) -> dict[str, np.ndarray]:
        """Arrays over orders: ``created``; per architecture ``<arch>_wait`` (the client's wait, NaN while
        waiting), ``<arch>_failed``, ``<arch>_done`` (every handler done) and ``<arch>_<handler>_done``."""
        n = min(r.system.messages.count for r in self.results.values())
        first = next(iter(self.results.values())).system
        out = {"created": np.frombuffer(first.messages.created, count=n).copy()}
        for arch, r in self.results.items():
            s = r.system
            out[f"{arch}_wait"] = np.frombuffer(s.messages.accepted, count=n) - out["created"]
            out[f"{arch}_failed"] = _client_failed(s, arch, n)
            out[f"{arch}_done"] = s.component("orders.flow").done_times(n)
            for h in ("billing", "audit"):
                out[f"{arch}_{h}_done"] = handler_done_times(s, arch, h, n)
        return out

    def binned(self, values: np.ndarray, width: float = 1.0, how: str = "mean") -> tuple[np.ndarray, np.ndarray]:
        """``values`` per order averaged (``how="mean"``) or counted as a share of orders (``"share"``,
        for booleans) in bins of ``width`` s of the time the order was placed. Empty bins are NaN."""
        v.positive("width", width)
        v.choice("how", how, ("mean", "share"))
        created = self.per_order["created"]
        edges = np.arange(0.0, self.params.until + width / 2, width)
        idx = np.clip(np.digitize(created, edges) - 1, 0, len(edges) - 2)
        x = np.asarray(values, dtype=float)
        ok = ~np.isnan(x)
        total = np.bincount(idx[ok], weights=x[ok], minlength=len(edges) - 1)
        count = np.bincount(idx[ok], minlength=len(edges) - 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            y = np.where(count > 0, total / count, np.nan)
        return (edges[:-1] + edges[1:]) / 2, y

    def backlog(self, arch: str) -> tuple[np.ndarray, np.ndarray]:
        """(times, work waiting) as sampled; see ``drain_time``."""
        return _backlog(self.results[arch].system, arch)

    def series(self, arch: str, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(times, values) of one sampled gauge, e.g. ``series("rr", "orders.busy")``."""
        s = self.results[arch].system.series
        if name not in s.columns:
            raise ValueError(f"no gauge {name!r} in the {arch} run; gauges: {', '.join(s.columns)}")
        return np.frombuffer(s.t), np.frombuffer(s.columns[name])

    def done_share_before(self, arch: str, t: float) -> float:
        """Share of the orders placed before ``t`` that every handler had finished by the end of the run."""
        o = self.per_order
        placed = o["created"] < t
        return float(np.mean(~np.isnan(o[f"{arch}_done"][placed]))) if placed.any() else math.nan


def run_outage_params(p: OutageParams) -> OutageResult:
    flow = outage_flow(p)
    fault = Down(target="orders" if p.target == "broker" else "billing", start=p.outage_start, end=p.outage_end)
    hook = outage_keys(p)
    results = {}
    for arch, build in (("rr", build_rr), ("eda", build_eda)):
        system = build(flow, p.seed, sample_every=0.5)
        if arch == "eda":
            system.series.add("orders.pending", _unacknowledged(system))
            for f in eda_faults(flow, fault):
                system.inject(f)
        elif p.target == "billing":  # a request/response system has no broker to lose
            system.inject(fault)
        system.summary_hooks.append(lambda s, e, a=arch: hook(a, s, e))
        results[arch] = system.run(p.until)
    return OutageResult(p, results)


OUTAGE_SLIDERS = (
    Slider("down_for", 1.0, 30.0, 1.0, unit="s", label="outage length",
           help="how long the target is down, from 15 s"),
    Slider("rate", 2.0, 12.0, 1.0, unit="orders/s", help="orders per second; 2 billing workers handle 13.3/s"),
    Slider("workers", 2, 6, 1, label="billing workers", help="R/R: billing's worker pool; EDA: its consumers"),
    Slider("when_down", options=WHEN_DOWN, label="billing when down",
           help="error: connection refused at once; hang: calls stall until it is back"),
    Slider("target", options=TARGETS, label="what fails",
           help="billing, or the EDA broker (R/R has no broker)"),
)


@experiment("coupling_outage", "One service down for a while: what R/R and EDA clients see", OutageParams,
            OUTAGE_SLIDERS)
def run_outage(p: OutageParams) -> OutageResult:
    return run_outage_params(p)


@dataclass(frozen=True, kw_only=True)
class DeployParams(OutageParams):
    """The outage flow during a deploy: billing restarts for ``down_for`` s and refuses connections."""

    down_for: float = 2.0
    when_down: str = "error"


DEPLOY_SLIDERS = (
    Slider("down_for", 0.5, 10.0, 0.5, unit="s", label="restart takes",
           help="how long billing is down while its new version starts"),
    Slider("rate", 2.0, 12.0, 1.0, unit="orders/s", help="orders per second"),
    Slider("when_down", options=WHEN_DOWN, label="billing when down",
           help="error: connection refused; hang: calls stall until the new version is up"),
)


@experiment("coupling_deploy", "Deploying billing: a short restart seen by R/R clients, not by EDA", DeployParams,
            DEPLOY_SLIDERS)
def run_deploy(p: DeployParams) -> OutageResult:
    return run_outage_params(p)


# -- coupling_storm -------------------------------------------------------------------------------

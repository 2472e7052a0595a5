"""Notebook 01 (core difference): what the client waits for, load, scaling, and the guide's table measured.

All three experiments are the ``order_flow`` experiment (order placed → billing and audit, see
:mod:`eda_sim.experiments.comparisons`) with two additions:

- ``hop``: the broker's acknowledgement. An EDA publish is accepted ``hop`` seconds after the order is
  placed, and the subscriptions see the event only then (Kafka ``acks=all``, RabbitMQ publisher
  confirms: a few milliseconds). With ``hop=0`` the EDA side is exactly ``order_flow``'s.
- ``orders``: each run places about that many orders (it lasts ``orders / rate`` seconds), so a run
  costs the same at any rate and a slider move stays fast.

``core_difference``  one order stream as R/R and EDA: client wait vs work done, per order
``core_load``        the same at one rate, beside a sweep over offered load (cached on all but ``rate``)
``core_scaling``     add billing instances (EDA: consumers; R/R: workers) with the R/R order endpoint's
                     pool fixed; a sweep over the number of instances (cached on all but that number)

In the sweeps an order that is not finished (or not answered) when a run stops counts with the time it
had waited so far, a lower bound: over capacity, dropping those orders would hide the queue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache

import numpy as np

from .. import theory
from .. import validate as v
from ..comparison import Comparison, Flow, Handler, build_eda, build_rr, compare, handler_done_times
from ..distributions import Deterministic, Exponential
from ..fault import Down
from ..lab.panel import Slider
from ..workload import Poisson
from . import experiment
from .comparisons import OrderFlowParams, order_flow_spec

SEED_MAX = 2**63 - 1
ARCHS = ("rr", "eda")


def _until(orders: int, rate: float) -> float:
    return orders / rate


def _flow_with_hop(flow: Flow, hop: float) -> Flow:
    return replace(flow, publish_latency=Deterministic(hop)) if hop > 0 else flow


def _orders(result) -> dict[str, np.ndarray]:
    """Per order of one run: created, when the client stopped waiting, when every handler was done."""
    return result.system.component("orders.flow").orders()


def _censored(start: np.ndarray, end: np.ndarray, stop: float) -> np.ndarray:
    """Seconds from ``start`` to ``end``; an order with no ``end`` yet counts as waiting until ``stop``."""
    return np.where(np.isnan(end), stop, end) - start


def _handler_done(result, arch: str, handler: str) -> np.ndarray:
    """When ``handler`` finished each order of ``result`` (NaN: not yet)."""
    return handler_done_times(result.system, arch, handler, result.system.messages.count)


# -- core_difference --------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class CoreParams:
    """``order_flow`` (rate, billing and audit means, ``workers`` per handler, R/R ``calls``) plus the
    broker ``hop`` (s) and the number of ``orders`` per run (the run lasts ``orders / rate`` s)."""

    rate: float = 20.0
    billing_time: float = 0.04
    audit_time: float = 0.02
    workers: int = 2
    calls: str = "sequential"
    hop: float = 0.005
    orders: int = 800
    seed: int = 1

    def __post_init__(self):
        v.positive("rate", self.rate, 1e4)
        v.positive("billing_time", self.billing_time, 100.0)
        v.positive("audit_time", self.audit_time, 100.0)
        v.integer("workers", self.workers, 1, 1000)
        v.choice("calls", self.calls, ("sequential", "parallel"))
        v.number("hop", self.hop, 0.0, 10.0)
        v.integer("orders", self.orders, 50, 200_000)
        v.integer("seed", self.seed, 0, SEED_MAX)

    @property
    def until(self) -> float:
        return _until(self.orders, self.rate)

    @property
    def capacity(self) -> float:
        """Orders per second the slower handler can finish: ``workers`` / its mean time (ρ = 1 there)."""
        return self.workers / max(self.billing_time, self.audit_time)

    @property
    def rho(self) -> float:
        """Utilisation of the slower handler's workers (R/R) or consumers (EDA)."""
        return self.rate / self.capacity

    def order_flow_params(self) -> OrderFlowParams:
        return OrderFlowParams(rate=self.rate, billing_time=self.billing_time, audit_time=self.audit_time,
                               workers=self.workers, calls=self.calls, until=self.until, seed=self.seed)

    def flow(self) -> Flow:
        return _flow_with_hop(order_flow_spec(self.order_flow_params()), self.hop)

    def rr_latency_theory(self) -> float:
        """Mean R/R client wait with sequential calls: the M/M/c response times of billing and audit,
        summed (a Jackson tandem: by Burke's theorem audit also sees Poisson arrivals). NaN at ρ ≥ 1."""
        if self.rho >= 1:
            return math.nan
        return sum(theory.mmc(self.rate, 1 / t, self.workers).response_mean
                   for t in (self.billing_time, self.audit_time))


CORE_SLIDERS = (
    Slider("rate", 1.0, 60.0, 1.0, unit="orders/s", help="orders placed per second (Poisson)"),
    Slider("billing_time", 0.005, 0.2, 0.005, unit="s", label="billing time",
           help="mean time billing spends on one order"),
    Slider("audit_time", 0.005, 0.2, 0.005, unit="s", label="audit time", help="mean time audit spends on one order"),
    Slider("workers", 1, 8, 1, help="R/R: workers per handler service; EDA: consumers per subscription"),
    Slider("calls", options=("sequential", "parallel"), label="R/R calls",
           help="how the R/R order service calls billing and audit"),
    Slider("hop", 0.0, 0.05, 0.001, unit="s", label="broker hop",
           help="EDA: time for the broker to store and acknowledge an event"),
)


@dataclass(frozen=True)
class CoreResult:
    """Both architectures on the same orders; ``comparison`` is the :class:`Comparison` of ``order_flow``."""

    params: CoreParams
    comparison: Comparison

    @property
    def results(self) -> dict:
        return self.comparison.results

    @property
    def summary(self) -> dict:
        return self.comparison.summary

    def table(self):
        return self.comparison.table()

    @cached_property
    def _per_order(self) -> dict:
        out = {}
        for arch in ARCHS:
            o = _orders(self.results[arch])
            out[arch] = {"wait": o["accepted"] - o["created"], "done": o["done"] - o["created"]}
        return out

    def client_wait(self, arch: str) -> np.ndarray:
        """Seconds each order's client waited (R/R: the answer; EDA: the publish acknowledgement); NaN if
        it was still waiting when the run stopped."""
        return self._per_order[v.choice("arch", arch, ARCHS)]["wait"]

    def done(self, arch: str) -> np.ndarray:
        """Seconds from each order to its last handler finishing it (NaN: not done when the run stopped)."""
        return self._per_order[v.choice("arch", arch, ARCHS)]["done"]

    def quantiles(self):
        """Client wait and work done, p50 and p95 in milliseconds: a row per quantity, a column per architecture."""
        import pandas as pd

        rows = {}
        for what, key in (("client waits", "accept"), ("work done", "done")):
            for q in (50, 95):
                rows[f"{what}, p{q} (ms)"] = {arch: self.summary[arch][f"{key}_p{q}"] * 1e3 for arch in ARCHS}
        return pd.DataFrame(rows).T.rename_axis("measure")


@lru_cache(maxsize=64)
def _simulate(p: CoreParams) -> CoreResult:
    cmp = compare(p.flow(), until=p.until, seed=p.seed)
    for r in cmp.results.values():
        _ = r.summary  # computed once and kept with the cached run
    return CoreResult(p, cmp)


@experiment("core_difference", "One order stream: what the client waits for vs when the work is done",
            CoreParams, CORE_SLIDERS)
def run_core(p: CoreParams) -> CoreResult:
    return _simulate(p)


# -- core_load --------------------------------------------------------------------------------------
#: Offered load as a share of the slower handler's capacity, for the sweep (ρ > 1: overloaded).
RHOS = (0.1, 0.25, 0.4, 0.55, 0.7, 0.8, 0.87, 0.93, 0.97, 1.05, 1.2)
LOAD_METRICS = ("throughput", "accepted_rate", "wait_mean", "wait_p95", "done_mean", "done_p95")


@dataclass(frozen=True)
class LoadSweep:
    """For each offered rate (orders/s), per architecture: ``throughput`` (orders done per second),
    ``accepted_rate`` (orders the client got an answer or acknowledgement for, per second), and the
    client wait and work done, mean and p95 in seconds (unfinished orders counted as waiting so far)."""

    rates: np.ndarray
    capacity: float
    rr: dict
    eda: dict
    theory_rr_mean: np.ndarray

    def __getitem__(self, arch: str) -> dict:
        return {"rr": self.rr, "eda": self.eda}[v.choice("arch", arch, ARCHS)]

    def frame(self):
        """One row per offered rate: ρ, then ``<arch> <metric>`` columns and the R/R theory mean."""
        import pandas as pd

        data = {"rho": self.rates / self.capacity}
        for arch in ARCHS:
            data.update({f"{arch} {m}": self[arch][m] for m in LOAD_METRICS})
        data["rr wait_mean theory"] = self.theory_rr_mean
        return pd.DataFrame(data, index=pd.Index(self.rates, name="rate (orders/s)"))


def load_point(result: CoreResult) -> dict:
    """The sweep's numbers for one run: {arch: {metric: value}} (see :class:`LoadSweep`)."""
    out = {}
    for arch in ARCHS:
        r = result.results[arch]
        o = _orders(r)
        elapsed = r.elapsed
        wait = _censored(o["created"], o["accepted"], elapsed)
        done = _censored(o["created"], o["done"], elapsed)
        out[arch] = {
            "throughput": float(np.sum(~np.isnan(o["done"]))) / elapsed,
            "accepted_rate": float(np.sum(~np.isnan(o["accepted"]))) / elapsed,
            "wait_mean": float(wait.mean()), "wait_p95": float(np.percentile(wait, 95)),
            "done_mean": float(done.mean()), "done_p95": float(np.percentile(done, 95)),
        }
    return out


RATE_MAX = 1e4  # CoreParams' limit on ``rate``


def load_sweep(p: CoreParams, rhos: tuple = RHOS) -> LoadSweep:
    """Every run of ``p`` at the offered loads ``rhos`` × capacity, all else as in ``p``.

    Cached on everything but ``rate``, so moving the rate slider costs nothing here. The sweep's top
    rate comes from ``workers`` and the handler times, not from ``rate``, so a sweep that would pass the
    rate limit is refused naming those parameters and the largest ``workers`` that fits.
    """
    top = max(rhos) * p.capacity
    if top > RATE_MAX:
        slowest = max(p.billing_time, p.audit_time)
        fits = max(1, int(RATE_MAX * slowest / max(rhos)))
        raise ValueError(f"workers={p.workers} with billing_time={p.billing_time:g} s and audit_time="
                         f"{p.audit_time:g} s can finish {p.capacity:,.0f} orders/s, so the load sweep (up to "
                         f"{max(rhos):g} × that) would need {top:,.0f} orders/s, above the limit of {RATE_MAX:,.0f}: "
                         f"use workers in [1, {fits}] or a slower handler (max of the two times >= "
                         f"{max(rhos) * p.workers / RATE_MAX:.3g} s)")
    return _load_sweep(replace(p, rate=1.0), tuple(rhos))


@lru_cache(maxsize=32)
def _load_sweep(p: CoreParams, rhos: tuple) -> LoadSweep:
    rates = np.array([rho * p.capacity for rho in rhos])
    points = [load_point(_simulate(replace(p, rate=float(rate)))) for rate in rates]
    per_arch = {arch: {m: np.array([pt[arch][m] for pt in points]) for m in LOAD_METRICS} for arch in ARCHS}
    theory_mean = np.array([replace(p, rate=float(rate)).rr_latency_theory() for rate in rates]) \
        if p.calls == "sequential" else np.full(len(rates), math.nan)
    return LoadSweep(rates, p.capacity, per_arch["rr"], per_arch["eda"], theory_mean)


@dataclass(frozen=True)
class LoadResult:
    """The run at ``params.rate`` (``run``) and the sweep over offered load (``sweep``)."""

    params: CoreParams
    run: CoreResult
    sweep: LoadSweep

    @property
    def point(self) -> dict:
        return load_point(self.run)

    @property
    def results(self) -> dict:
        """The run at ``params.rate``: {"rr": Result, "eda": Result} (what the command line prints)."""
        return self.run.results


LOAD_SLIDERS = (
    Slider("rate", 1.0, 60.0, 1.0, unit="orders/s", help="orders placed per second: the circled run"),
    Slider("calls", options=("sequential", "parallel"), label="R/R calls",
           help="how the R/R order service calls billing and audit"),
)


@experiment("core_load", "Throughput and latency as offered load rises: R/R vs EDA", CoreParams, LOAD_SLIDERS)
def run_load(p: CoreParams) -> LoadResult:
    return LoadResult(p, _simulate(p), load_sweep(p))


# -- core_scaling -----------------------------------------------------------------------------------
INSTANCES = tuple(range(1, 9))
SCALING_METRICS = ("throughput", "wait_p95", "done_p95", "endpoint_busy")
ENDPOINT_OPTIONS = (2, 4, 8, 16, 32)


@dataclass(frozen=True, kw_only=True)
class ScalingParams:
    """Orders at ``rate``/s; billing (the slow handler) runs on ``billing_instances`` workers (R/R) or
    consumers (EDA), audit on ``audit_workers``. The R/R order endpoint has ``endpoint_workers``, each held
    while billing and audit run; EDA has no such pool (the producer publishes and moves on)."""

    rate: float = 60.0
    billing_time: float = 0.04
    audit_time: float = 0.02
    billing_instances: int = 2
    audit_workers: int = 2
    endpoint_workers: int = 4
    hop: float = 0.005
    orders: int = 800
    seed: int = 1

    def __post_init__(self):
        v.positive("rate", self.rate, 1e4)
        v.positive("billing_time", self.billing_time, 100.0)
        v.positive("audit_time", self.audit_time, 100.0)
        v.integer("billing_instances", self.billing_instances, 1, max(INSTANCES))
        v.integer("audit_workers", self.audit_workers, 1, 1000)
        v.integer("endpoint_workers", self.endpoint_workers, 1, 10_000)
        v.number("hop", self.hop, 0.0, 10.0)
        v.integer("orders", self.orders, 50, 200_000)
        v.integer("seed", self.seed, 0, SEED_MAX)

    @property
    def until(self) -> float:
        return _until(self.orders, self.rate)

    def flow(self) -> Flow:
        handlers = (Handler(name="billing", service=Exponential(self.billing_time), workers=self.billing_instances),
                    Handler(name="audit", service=Exponential(self.audit_time), workers=self.audit_workers))
        return _flow_with_hop(Flow(workload=Poisson(rate=self.rate), handlers=handlers,
                                   entry_workers=self.endpoint_workers), self.hop)

    def capacity(self, instances: int | None = None) -> float:
        """Orders/s billing and audit can finish together (the R/R endpoint pool aside)."""
        k = self.billing_instances if instances is None else instances
        return min(k / self.billing_time, self.audit_workers / self.audit_time)


@lru_cache(maxsize=256)
def _scaling_run(arch: str, p: ScalingParams):
    """One architecture at one setting (EDA ignores ``endpoint_workers``: it has no endpoint pool)."""
    if arch == "eda" and p.endpoint_workers != ENDPOINT_OPTIONS[0]:
        return _scaling_run(arch, replace(p, endpoint_workers=ENDPOINT_OPTIONS[0]))
    build = build_rr if arch == "rr" else build_eda
    result = build(p.flow(), p.seed).run(p.until)
    _ = result.summary  # computed once and kept with the cached run
    return result


def _scaling_point(arch: str, p: ScalingParams) -> dict:
    """Throughput (done/s), client wait p95, done p95 (s), and the mean number of R/R endpoint workers held
    (Little's law: rate × time each order holds one)."""
    r = _scaling_run(arch, p)
    o = _orders(r)
    wait = _censored(o["created"], o["accepted"], r.elapsed)
    done = _censored(o["created"], o["done"], r.elapsed)
    busy = r.system.component("orders").busy_time / r.elapsed if arch == "rr" else 0.0
    return {"throughput": float(np.sum(~np.isnan(o["done"]))) / r.elapsed,
            "wait_p95": float(np.percentile(wait, 95)), "done_p95": float(np.percentile(done, 95)),
            "endpoint_busy": busy}


@dataclass(frozen=True)
class ScalingResult:
    """``sweep[arch][metric]``: an array over ``instances`` (billing workers or consumers)."""

    params: ScalingParams
    instances: np.ndarray
    sweep: dict

    def at(self, arch: str, metric: str, instances: int | None = None) -> float:
        k = self.params.billing_instances if instances is None else instances
        return float(self.sweep[v.choice("arch", arch, ARCHS)][metric][list(self.instances).index(k)])

    @property
    def results(self) -> dict:
        """The runs at ``params.billing_instances``: {"rr": Result, "eda": Result} (for the command line)."""
        return {arch: _scaling_run(arch, self.params) for arch in ARCHS}

    def needed(self, arch: str, share: float = 0.97) -> float:
        """Fewest billing instances finishing at least ``share`` of the offered orders per second (NaN: none)."""
        ok = np.flatnonzero(self.sweep[v.choice("arch", arch, ARCHS)]["throughput"] >= share * self.params.rate)
        return float(self.instances[ok[0]]) if len(ok) else math.nan


def scaling_sweep(p: ScalingParams, instances: tuple = INSTANCES) -> ScalingResult:
    """Both architectures for each number of billing instances, all else as in ``p`` (cached on all but
    ``billing_instances``; the result's ``params`` is ``p``)."""
    return replace(_scaling_sweep(replace(p, billing_instances=instances[0]), tuple(instances)), params=p)


@lru_cache(maxsize=32)
def _scaling_sweep(p: ScalingParams, instances: tuple) -> ScalingResult:
    sweep = {arch: {m: np.array([_scaling_point(arch, replace(p, billing_instances=k))[m] for k in instances])
                    for m in SCALING_METRICS} for arch in ARCHS}
    return ScalingResult(p, np.asarray(instances), sweep)


SCALING_SLIDERS = (
    Slider("billing_instances", 1, max(INSTANCES), 1, label="billing instances",
           help="R/R: billing service workers; EDA: consumers of the billing subscription"),
    Slider("endpoint_workers", options=ENDPOINT_OPTIONS, label="R/R endpoint workers",
           help="R/R only: the order endpoint's pool; each order holds a worker until billing and audit answer"),
)


@experiment("core_scaling", "Scaling: add billing consumers (EDA) vs workers (R/R) with the endpoint pool fixed",
            ScalingParams, SCALING_SLIDERS)
def run_scaling(p: ScalingParams) -> ScalingResult:
    return scaling_sweep(p)


# -- the guide's table, measured ---------------------------------------------------------------------
OUTAGE = (20.0, 30.0)  # billing down (s) in the coupling run


@lru_cache(maxsize=16)
def outage_run(p: CoreParams, start: float = OUTAGE[0], end: float = OUTAGE[1]) -> CoreResult:
    """``p`` with billing down from ``start`` to ``end`` (R/R: calls fail at once; EDA: consumers stop)."""
    if not start < end <= p.until:
        raise ValueError(f"the outage ({start:g} to {end:g} s) must end within the run (until={p.until:g} s); "
                         f"raise orders or lower the rate")
    cmp = compare(p.flow(), until=p.until, seed=p.seed, faults=[Down(target="billing", start=start, end=end)])
    return CoreResult(p, cmp)


def _refused(result) -> int:
    """Publishes the EDA broker refused (the client's only way to see a failure)."""
    return result.system.component("orders").refused


GUIDE = {  # aspect: (R/R, EDA), as the guide's table has them
    "Communication": ("Synchronous, client waits", "Asynchronous, producer emits events"),
    "Coupling": ("Tight, direct dependencies", "Loose, decoupled services"),
    "Data flow": ("Direct request → response", "Event stream, multiple consumers"),
    "Reactivity": ("Reactive per request only", "Reactive to events in real-time"),
    "Scaling": ("Scale endpoints", "Scale consumers independently"),
}


def measured_table(p: CoreParams | None = None, scaling: ScalingParams | None = None):
    """The guide's comparison table with measured numbers beside each row (a pandas DataFrame).

    Index (aspect, measured as); columns: the guide's words for R/R and EDA (on the first row of each
    aspect), then the measured R/R and EDA values (floats). The numbers come from ``core_difference`` at
    ``p`` (defaults if None), the same orders with billing down for 10 s (:func:`outage_run`), and the
    ``core_scaling`` sweep at ``scaling``.
    """
    import pandas as pd

    p = p or CoreParams()
    run, down = _simulate(p), outage_run(p)
    grow = scaling_sweep(scaling or ScalingParams())
    s, d = run.summary, down.summary
    n = {arch: s[arch]["produced"] for arch in ARCHS}
    audit = {arch: np.nanpercentile(_handler_done(run.results[arch], arch, "audit")
                                    - _orders(run.results[arch])["created"], 50) for arch in ARCHS}
    rows = [
        ("Communication", "client waits, p95 (ms)", s["rr"]["accept_p95"] * 1e3, s["eda"]["accept_p95"] * 1e3),
        ("Communication", "work done (billing and audit), p95 (ms)", s["rr"]["done_p95"] * 1e3,
         s["eda"]["done_p95"] * 1e3),
        ("Coupling", "billing down 10 s: orders the client saw fail", d["rr"]["errors"], _refused(down.results["eda"])),
        ("Coupling", "billing down 10 s: orders done by the end (%)", d["rr"]["done_share"] * 100,
         d["eda"]["done_share"] * 100),
        ("Coupling", "billing down 10 s: work done, p99 (s)", d["rr"]["done_p99"], d["eda"]["done_p99"]),
        ("Data flow", "messages the order producer sends per order", s["rr"]["calls"] / n["rr"] - 1, 1.0),
        ("Data flow", "copies of the order the handlers receive", s["rr"]["calls"] / n["rr"] - 1,
         s["eda"]["to_handle"] / n["eda"]),
        ("Reactivity", "audit finished after the order, p50 (ms)", audit["rr"] * 1e3, audit["eda"] * 1e3),
        ("Scaling", "order-endpoint workers held, mean", endpoint_held(run), 0.0),
        ("Scaling", f"billing instances needed for {grow.params.rate:g} orders/s", grow.needed("rr"),
         grow.needed("eda")),
    ]
    seen = set()
    records = []
    for aspect, measured, rr, eda in rows:
        guide = ("", "") if aspect in seen else GUIDE[aspect]
        seen.add(aspect)
        records.append({"aspect": aspect, "measured as": measured, "guide: R/R": guide[0], "guide: EDA": guide[1],
                        "R/R": float(rr), "EDA": float(eda)})
    return pd.DataFrame(records).set_index(["aspect", "measured as"])


def endpoint_held(result: CoreResult) -> float:
    """Mean number of R/R order-endpoint workers busy (held while billing and audit run): λW by Little's law."""
    r = result.results["rr"]
    return r.system.component("orders").busy_time / r.elapsed


def done_vs_answer(p: CoreParams | None = None, rates=(2.0, 20.0, 45.0)):
    """Median R/R client wait (= its work done) and EDA work done (ms) at each rate, for both ways the R/R
    order service can call billing and audit: where EDA finishes later, and by how much."""
    import pandas as pd

    p = p or CoreParams()
    rows = []
    for calls in ("sequential", "parallel"):
        for rate in rates:
            s = _simulate(replace(p, rate=float(rate), calls=calls)).summary
            rows.append({"R/R calls": calls, "rate (orders/s)": rate, "R/R done p50 (ms)": s["rr"]["done_p50"] * 1e3,
                         "EDA done p50 (ms)": s["eda"]["done_p50"] * 1e3})
    table = pd.DataFrame(rows).set_index(["R/R calls", "rate (orders/s)"])
    table["EDA − R/R (ms)"] = table["EDA done p50 (ms)"] - table["R/R done p50 (ms)"]
    return table

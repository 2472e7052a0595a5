"""One row run both ways, healthy and with an outage (experiment ``use_case``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...comparison import compare
from ...fault import Down
from ...lab.panel import Slider
from .. import experiment
from ._common import (
    ARCHS,
    BATCH_HISTORY,
    BATCH_UNTIL,
    CASE_NAMES,
    CASES,
    CRITERIA,
    INTEGRATION_NAMES,
    UNTIL,
    Measured,
    UseCaseParams,
    moving_parts,
)
from .rows import (
    build_async,
    build_batch,
    build_crud,
    build_notify,
    integration_flow,
    measure_async,
    measure_batch,
    measure_crud,
    measure_integration,
    measure_notify,
)

# -- one row, both architectures -------------------------------------------------------------------------------
OUTAGE_COMPONENTS = {  # (R/R, EDA) component names of the service doing the work
    "crud": ("records", "records.consumer"),
    "async": ("jobs", "jobs.consumer"),
    "notify": ("notifier", "notifier"),
    "batch": ("analytics", "analytics.consumer1"),
}
BUILDERS = {"crud": (build_crud, measure_crud, UNTIL), "async": (build_async, measure_async, UNTIL),
            "notify": (build_notify, measure_notify, UNTIL), "batch": (build_batch, measure_batch, BATCH_UNTIL)}


def _inject(system, target: str, window) -> None:
    """Down ``target`` during ``window``. The EDA analytics consumer only exists from ``BATCH_HISTORY``
    on, so its fault is attached then (fault windows are absolute simulated times)."""
    start, end = window
    fault = Down(target=target, start=start, end=end)
    if target in system.components:
        system.inject(fault)
    else:
        system.env.timeout(BATCH_HISTORY).callbacks.append(lambda _: system.inject(fault))


def _finish(summary: dict, healthy_parts: dict, healthy, faulted) -> dict:
    if math.isnan(summary["outage_share"]):  # no outage run: the healthy run is all there is
        summary["outage_share"] = summary["done_share"]
    reasons = [r.message for r in (healthy, faulted) if r is not None and r.bound_hit]
    return {**summary, "moving_parts": sum(healthy_parts.values()), "bound_hit": bool(reasons),
            "bound_reason": "; ".join(reasons)}


def _run_row(p: UseCaseParams, arch: str) -> Measured:
    build, measure, until = BUILDERS[p.case]
    system, extra = build(p, arch, p.seed)
    healthy = system.run(until)
    parts = moving_parts(system, extra)
    faulted = None
    if p.outage_window is not None:
        system, _ = build(p, arch, p.seed)
        _inject(system, OUTAGE_COMPONENTS[p.case][ARCHS.index(arch)], p.outage_window)
        faulted = system.run(until)
    return Measured(_finish(measure(healthy, faulted, arch), parts, healthy, faulted), healthy, faulted, parts)


def _run_integration(p: UseCaseParams) -> dict:
    flow = integration_flow(p)
    healthy = compare(flow, until=UNTIL, seed=p.seed, sample_every=1.0)
    faulted = None
    if p.outage_window is not None:
        down = Down(target=flow.handlers[-1].name, start=p.outage_window[0], end=p.outage_window[1])
        faulted = compare(flow, until=UNTIL, seed=p.seed, faults=[down], sample_every=1.0)
    out = {}
    for arch in ARCHS:
        h = healthy.results[arch]
        f = faulted.results[arch] if faulted else None
        parts = moving_parts(h.system, {"services": 1} if arch == "eda" else None)  # EDA: the order service
        out[arch] = Measured(_finish(measure_integration(h, f, arch), parts, h, f), h, f, parts)
    return out


@dataclass(frozen=True)
class UseCaseResult:
    """One row: ``results = {"rr": Measured, "eda": Measured}``, each with ``.summary`` (the criteria)."""

    params: UseCaseParams
    results: dict

    @property
    def summary(self) -> dict:
        return {arch: m.summary for arch, m in self.results.items()}

    def table(self):
        import pandas as pd

        rows = {f"{c.label} ({c.unit})": {arch: self.results[arch].summary[c.key] for arch in ARCHS}
                for c in CRITERIA.values()}
        return pd.DataFrame(rows).T.rename_axis(CASE_NAMES[self.params.case])


USE_CASE_SLIDERS = (
    Slider("case", options=CASES, label="use case", help="one row of the guide's table"),
    Slider("load", 0.2, 3.0, 0.1, unit="×", label="load", help="arrival rate as a multiple of the row's default"),
    Slider("outage", 0.0, 20.0, 1.0, unit="s", label="outage",
           help="how long the service doing the work is down in the outage run"),
    Slider("services", 1, len(INTEGRATION_NAMES), 1, label="services (integration)",
           help="services that must act on every order"),
    Slider("polling", options=("fixed", "long"), label="R/R polling (notifications)",
           help="fixed: ask every T seconds; long: a held-open request answered when news arrives"),
    Slider("retention", 5.0, 60.0, 5.0, unit="s", label="log retention (batch)",
           help="how long the log keeps an order; the history is 30 s long"),
)


@experiment("use_case", "One row of the guide's use-case table, as R/R and EDA (healthy and with an outage)",
            UseCaseParams, USE_CASE_SLIDERS)
def run_use_case(p: UseCaseParams) -> UseCaseResult:
    if p.case == "integration":
        return UseCaseResult(p, _run_integration(p))
    return UseCaseResult(p, {arch: _run_row(p, arch) for arch in ARCHS})

"""Notebook 01's control panels: the experiments' controls and their charts."""


from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ....experiments import get
from ....experiments.core_difference import (
    ARCHS,
    ENDPOINT_OPTIONS,
    load_sweep,
    scaling_sweep,
)
from ... import plots
from ...panel import ControlPanel

RR, EDA = plots.LABELS["rr"], plots.LABELS["eda"]
NAMES = {  # the three things measured per order, as every chart of this notebook names them
    ("rr", "wait"): f"{RR}: client waits (= work done)",
    ("eda", "wait"): f"{EDA}: client waits (broker ack)",
    ("eda", "done"): f"{EDA}: work done (billing and audit)",
}
STYLE = {("rr", "wait"): ("rr", None), ("eda", "wait"): ("eda", "dot"), ("eda", "done"): ("eda", None)}
THIS_RUN = "this run"


def _grid(panel: ControlPanel, *rows) -> ControlPanel:
    """Controls first, then the figures in rows of equal-width columns."""
    panel.widget.children = (panel.controls_box, *[plots.side_by_side(*row) for row in rows])
    return panel


def _note(fig, y: float = 1.0) -> None:
    fig.add_annotation(name="note", text="", xref="paper", yref="paper", x=1.0, y=y, xanchor="right",
                       yanchor="top", showarrow=False, align="right",
                       font=dict(size=11, color=plots.COLORS["neutral"]), bgcolor="rgba(255,255,255,0.85)")


def _set_note(fig, text: str) -> None:
    next(an for an in fig.layout.annotations if an.name == "note").text = text


def _vline(fig, name: str, y: float = 0.97, side: str = "left") -> None:
    """A dotted vertical marker with a label on its right (``side="left"``: the label's left edge at the
    line) or on its left (``"right"``), both moved by :func:`_move_vline`."""
    fig.add_shape(type="line", name=name, x0=0, x1=0, y0=0, y1=1, yref="paper", layer="below",
                  line=dict(color=plots.COLORS["neutral"], width=1.5, dash="dot"))
    fig.add_annotation(name=name, text="", x=0, y=y, xref="x", yref="paper", xanchor=side, yanchor="top",
                       showarrow=False, font=dict(size=11, color=plots.COLORS["neutral"]),
                       bgcolor="rgba(255,255,255,0.85)")


def _move_vline(fig, name: str, x: float, text: str) -> None:
    next(sh for sh in fig.layout.shapes if sh.name == name).update(x0=x, x1=x)
    next(an for an in fig.layout.annotations if an.name == name).update(x=x, text=text)


def _circle(fig) -> None:
    """Open circles marking the run the sliders chose, on top of the sweep's lines."""
    plots.line(fig, THIS_RUN, mode="markers", color=plots.COLORS["neutral"])
    fig.data[-1].marker.update(size=13, symbol="circle-open", line=dict(width=2))


def _gappy(y) -> np.ndarray:
    """NaN as None, so plotly leaves a gap instead of failing to draw the line."""
    y = np.asarray(y, dtype=float)
    return np.where(np.isnan(y), None, y.astype(object))


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.0f} ms" if seconds < 9.9995 else f"{seconds:.0f} s"


def _log_axis(axis, low: float, high: float) -> None:
    ticks = [t for t in (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50)
             if low <= t <= high]
    axis.update(type="log", range=[math.log10(low), math.log10(high)], tickvals=ticks,
                ticktext=[f"{t:g}" for t in ticks])


# -- (1) what the client waits for vs when the work is done ------------------------------------------
BARS = ("client waits, p50", "client waits, p95", "work done, p50", "work done, p95")


def wait_panel(**overrides) -> ControlPanel:
    """Per order: the R/R client's wait (the whole chain), the EDA client's wait (the broker's ack) and
    when EDA's handlers finished; as distributions (left) and as p50/p95 bars (right)."""
    exp = get("core_difference")
    params = exp.make_params(**overrides)

    ecdf = plots.figure("Share of orders answered or done within a time", "time since the order was placed (ms)",
                        "share of orders (%)", height=380)
    for key, name in NAMES.items():
        arch, dash = STYLE[key]
        plots.line(ecdf, name, arch=arch, dash=dash)
    ecdf.layout.yaxis.range = [0, 101]
    _note(ecdf, y=0.35)

    bars = plots.figure("Median and 95th percentile per order", "what is measured, per order",
                        "time since the order was placed (ms)",
                        height=380)
    for arch in ARCHS:
        plots.bar(bars, plots.LABELS[arch], x=list(BARS), arch=arch)
        bars.data[-1].textposition = "outside"
    bars.layout.barmode = "group"
    bars.layout.yaxis.rangemode = "tozero"

    def update(result):
        xmax = 0.0
        for (arch, what), name in NAMES.items():
            values = result.client_wait(arch) if what == "wait" else result.done(arch)
            x, y = plots.ecdf(values * 1e3)
            plots.set_xy(ecdf, name, x, y * 100)
            if len(x):
                xmax = max(xmax, float(np.percentile(values[~np.isnan(values)], 99)) * 1e3)
        ecdf.layout.xaxis.range = [-0.02 * xmax, xmax * 1.05]  # the slowest 1 % would squash the rest
        s = result.summary
        for arch in ARCHS:
            ys = [s[arch][k] * 1e3 for k in ("accept_p50", "accept_p95", "done_p50", "done_p95")]
            i = plots.trace_index(bars, plots.LABELS[arch])
            bars.data[i].y = ys
            bars.data[i].text = [f"{y:.0f}" if y >= 10 else f"{y:.1f}" for y in ys]
        top = max(s[a][k] for a in ARCHS for k in ("accept_p95", "done_p95")) * 1e3
        bars.layout.yaxis.range = [0, top * 1.18 or 1]
        p = result.params
        _set_note(ecdf, f"{s['rr']['produced']} orders at {p.rate:g}/s, the same in both<br>"
                        f"slowest 1% off the right edge")

    return _grid(ControlPanel(exp.run, params, exp.sliders, update, [ecdf, bars], name="core_difference",
                              show_figures=False), [ecdf, bars])


# -- (2) throughput and latency as offered load rises ------------------------------------------------
def load_panel(**overrides) -> ControlPanel:
    """A sweep over offered load (cached on everything but the rate): orders done per second and mean
    time per order, capacity marked, the M/M/c closed form for R/R dashed; the run at the chosen rate
    circled."""
    exp = get("core_load")
    params = exp.make_params(**overrides)
    for calls in ("sequential", "parallel"):  # warm the sweep cache: the calls toggle only looks sweeps up
        load_sweep(replace(params, calls=calls))

    speed = plots.figure("Orders finished per second as offered load rises", "offered load (orders/s)",
                         "orders per second", height=400)
    plots.theory_line(speed, [], [], "theory: min(offered, capacity)")
    plots.line(speed, f"{RR}: answered = done", arch="rr", mode="lines+markers")
    speed.data[-1].update(line_width=7, opacity=0.45, marker_size=11)  # under EDA's line where they agree
    plots.line(speed, f"{EDA}: accepted (acked)", arch="eda", mode="lines+markers", dash="dot")
    plots.line(speed, f"{EDA}: done", arch="eda", mode="lines+markers")
    _circle(speed)
    _vline(speed, "capacity", y=0.12, side="right")
    speed.layout.yaxis.rangemode = "tozero"
    speed.layout.xaxis.rangemode = "tozero"

    latency = plots.figure("Mean time per order as offered load rises", "offered load (orders/s)",
                           "mean time per order (s, log scale)", height=400)
    plots.theory_line(latency, [], [], "theory R/R: M/M/c billing + M/M/c audit")
    for key, name in NAMES.items():
        arch, dash = STYLE[key]
        plots.line(latency, name, arch=arch, dash=dash, mode="lines+markers")
    _circle(latency)
    _vline(latency, "capacity", y=0.97, side="right")
    _log_axis(latency.layout.yaxis, 0.002, 5.0)
    latency.layout.xaxis.rangemode = "tozero"

    def update(result):
        sw, p = result.sweep, result.params
        cap = sw.capacity
        xmax = max(sw.rates.max(), p.rate) * 1.05
        for fig in (speed, latency):
            fig.layout.xaxis.range = [0, xmax]
            _move_vline(fig, "capacity", cap, f"capacity {cap:.0f}/s (ρ = 1) ")
        grid = np.linspace(0, xmax, 60)
        plots.set_xy(speed, "theory: min(offered, capacity)", grid, np.minimum(grid, cap))
        plots.set_xy(speed, f"{RR}: answered = done", sw.rates, sw.rr["throughput"])
        plots.set_xy(speed, f"{EDA}: accepted (acked)", sw.rates, sw.eda["accepted_rate"])
        plots.set_xy(speed, f"{EDA}: done", sw.rates, sw.eda["throughput"])
        point = result.point
        plots.set_xy(speed, THIS_RUN, [p.rate] * 3, [point["rr"]["throughput"], point["eda"]["accepted_rate"],
                                                     point["eda"]["throughput"]])
        fine = np.linspace(0.02, 0.985, 80) * cap
        theory = [replace(p, rate=float(r)).rr_latency_theory() if p.calls == "sequential" else math.nan
                  for r in fine]
        plots.set_xy(latency, "theory R/R: M/M/c billing + M/M/c audit", fine, _gappy(theory))
        plots.set_xy(latency, NAMES["rr", "wait"], sw.rates, sw.rr["wait_mean"])
        plots.set_xy(latency, NAMES["eda", "wait"], sw.rates, sw.eda["wait_mean"])
        plots.set_xy(latency, NAMES["eda", "done"], sw.rates, sw.eda["done_mean"])
        plots.set_xy(latency, THIS_RUN, [p.rate] * 3, [point["rr"]["wait_mean"], point["eda"]["wait_mean"],
                                                       point["eda"]["done_mean"]])

    return _grid(ControlPanel(exp.run, params, exp.sliders, update, [speed, latency], name="core_load",
                              show_figures=False), [speed, latency])


# -- (3) scaling: add consumers to the slow handler vs add workers ------------------------------------
def scaling_panel(**overrides) -> ControlPanel:
    """Billing instances 1 to 8 at a fixed rate: orders finished per second and p95 time per order, R/R
    (with its order endpoint's pool fixed) beside EDA; the current setting marked."""
    exp = get("core_scaling")
    params = exp.make_params(**overrides)
    for workers in ENDPOINT_OPTIONS:  # warm the cache: the endpoint toggle only looks sweeps up
        scaling_sweep(replace(params, endpoint_workers=workers))

    speed = plots.figure("Orders finished per second as billing instances are added",
                         "billing instances (R/R workers, EDA consumers)", "orders per second", height=400)
    plots.theory_line(speed, [], [], "theory: min(offered, billing capacity)")
    plots.line(speed, "R/R endpoint limit: its workers ÷ (billing + audit time)", arch="rr", dash="dashdot")
    plots.line(speed, f"{RR}: done", arch="rr", mode="lines+markers")
    speed.data[-1].update(line_width=7, opacity=0.45, marker_size=11)  # under EDA's line where they agree
    plots.line(speed, f"{EDA}: done", arch="eda", mode="lines+markers")
    _circle(speed)
    _vline(speed, "setting", y=0.12)
    speed.layout.xaxis.update(range=[0.5, 8.5], dtick=1)
    _note(speed, y=0.3)

    tail = plots.figure("95th percentile time per order", "billing instances (R/R workers, EDA consumers)",
                        "p95 time per order (s, log scale)", height=400)
    for key, name in NAMES.items():
        arch, dash = STYLE[key]
        plots.line(tail, name, arch=arch, dash=dash, mode="lines+markers")
    _circle(tail)
    _vline(tail, "setting", y=0.97)
    tail.layout.xaxis.update(range=[0.5, 8.5], dtick=1)
    _log_axis(tail.layout.yaxis, 0.002, 20.0)

    def update(result):
        p, k = result.params, result.instances
        sw = result.sweep
        grid = np.linspace(0.5, 8.5, 81)
        plots.set_xy(speed, "theory: min(offered, billing capacity)", grid,
                     np.minimum(p.rate, [p.capacity(g) for g in grid]))
        limit = p.endpoint_workers / (p.billing_time + p.audit_time)
        shown = limit < 1.5 * p.rate
        plots.set_xy(speed, "R/R endpoint limit: its workers ÷ (billing + audit time)",
                     [0.5, 8.5] if shown else [], [limit, limit] if shown else [])
        plots.set_xy(speed, f"{RR}: done", k, sw["rr"]["throughput"])
        plots.set_xy(speed, f"{EDA}: done", k, sw["eda"]["throughput"])
        speed.layout.yaxis.range = [0, p.rate * 1.15]
        for fig in (speed, tail):
            _move_vline(fig, "setting", p.billing_instances, f" {p.billing_instances} billing instance"
                                                             f"{'s' if p.billing_instances > 1 else ''}")
        plots.set_xy(tail, NAMES["rr", "wait"], k, sw["rr"]["wait_p95"])
        plots.set_xy(tail, NAMES["eda", "wait"], k, sw["eda"]["wait_p95"])
        plots.set_xy(tail, NAMES["eda", "done"], k, sw["eda"]["done_p95"])
        here = p.billing_instances
        plots.set_xy(speed, THIS_RUN, [here] * 2, [result.at(a, "throughput") for a in ARCHS])
        plots.set_xy(tail, THIS_RUN, [here] * 3, [result.at("rr", "wait_p95"), result.at("eda", "wait_p95"),
                                                   result.at("eda", "done_p95")])
        busy = result.at("rr", "endpoint_busy")
        _set_note(speed, f"offered {p.rate:g} orders/s<br>R/R endpoint: {busy:.1f} of {p.endpoint_workers} "
                         f"workers held on average")

    return _grid(ControlPanel(exp.run, params, exp.sliders, update, [speed, tail], name="core_scaling",
                              show_figures=False), [speed, tail])




# -- what the notebook shows and asks -----------------------------------------------------------------------

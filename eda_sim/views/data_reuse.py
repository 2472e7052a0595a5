"""Notebook 02 (data reuse): database queries and latency as the number of services needing an order grows."""

from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np

from .. import plots
from ..experiments import get
from ..experiments.data_reuse import MAX_SERVICES, SERVICES, VARIANTS, services_sweep
from ..panel import ControlPanel

STYLE = {  # legend name, colour, marker symbol: fat events are the EDA of the claim, thin the EDA that breaks it
    "rr": ("Request/Response", plots.COLORS["rr"], "circle"),
    "fat": ("Event-driven, fat events", plots.COLORS["eda"], "square"),
    "thin": ("Event-driven, thin events", plots.COLORS["extra"], "diamond-open"),
}
TRAFFIC = {  # what reaches the N services, by what it carries
    "full copies": ("the order, inside each event", "#56B4E9"),
    "id-only messages": ("id-only events or calls", "#999999"),
    "read back": ("the order, read back from the DB", "#E69F00"),
}
MANY, ONE, CAPACITY = "theory: 1 + N queries per order", "theory: 1 query per order", "DB capacity"
MMC_MANY, MMC_ONE = "M/M/c: 1 + N queries per order", "M/M/c: 1 query per order"
N_GRID = np.arange(1, MAX_SERVICES + 1)


def _services_axis(fig) -> None:
    fig.layout.xaxis.update(range=[0.5, MAX_SERVICES + 0.5], dtick=1)


def _log_axis(axis, low: float, high: float) -> None:
    """A log axis from ``low`` to ``high`` with plain 1-2-5 tick labels (10, 20, 50, 100 ...)."""
    ticks = [m * 10.0**e for e in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
             for m in (1, 2, 5) if low <= m * 10.0**e <= high]
    axis.update(type="log", range=[math.log10(low), math.log10(high)], tickvals=ticks,
                ticktext=[f"{t:,.0f}" if t >= 1 else f"{t:g}" for t in ticks])


def _guide(fig, name: str, dash: str = "dash", color: str = plots.COLORS["theory"]) -> None:
    """A reference line labelled on the chart, not in the legend (see :func:`_place`)."""
    plots.line(fig, name, color=color, dash=dash)
    fig.data[-1].showlegend = False
    fig.add_annotation(name=name, x=0, y=0, text="", showarrow=False, font=dict(size=11, color=color))


def _place(fig, name: str, x, y, text: str, *, log_y: bool = False, **where) -> None:
    """Move the label of guide ``name`` (``y`` in data units; log axes take log10)."""
    for note in fig.layout.annotations:
        if note.name == name:
            shown = text and y is not None and math.isfinite(y) and (y > 0 or not log_y)
            note.update(x=x, y=(math.log10(y) if log_y else y) if shown else 0, text=text if shown else "",
                        **where)
            return
    raise ValueError(f"no label named {name!r}")


def _saturation(fig, n_star: float, low: float, high: float, *, log_y: bool = False) -> None:
    """The dotted vertical line at N*, with its value written at the top."""
    inside = 0.5 <= n_star <= MAX_SERVICES + 0.5
    plots.set_xy(fig, "saturation N*", [n_star, n_star] if inside else [], [low, high] if inside else [])
    if inside:
        text = f"saturation N* = {n_star:.1f} "
    elif n_star > MAX_SERVICES:
        text = f"N* = {n_star:.1f}: the database never saturates here "
    elif n_star > 0:
        text = f"N* = {n_star:.1f}: saturated even with one service "
    else:
        text = f"N* = {n_star:.1f}: even the writes alone saturate the database "
    x = min(max(n_star, 0.5), MAX_SERVICES + 0.5)
    _place(fig, "saturation N*", x, high, text, log_y=log_y, xanchor="right" if x > 2.5 else "left",
           yanchor="top")


def _marker(fig, variant: str) -> None:
    name, color, symbol = STYLE[variant]
    plots.line(fig, name, mode="markers", color=color)
    fig.data[-1].marker.update(size=14 if "open" in symbol else 10, symbol=symbol, line=dict(width=2))


def panel(**overrides) -> ControlPanel:
    """Sliders for N, database connections, query time, order size and rate; four linked charts."""
    exp = get("data_reuse")
    params = exp.make_params(**overrides)

    queries = plots.figure("Database queries per second: this run and theory", "services that need each order, N",
                           "queries per second asked of the DB", height=380)
    _services_axis(queries)
    _guide(queries, MANY)
    _guide(queries, ONE, dash="dot")
    _guide(queries, CAPACITY, dash="dashdot", color=plots.COLORS["neutral"])
    _guide(queries, "saturation N*", dash="dot", color=plots.COLORS["neutral"])
    for variant in VARIANTS:
        _marker(queries, variant)

    done = plots.figure("How long until every service has handled the order",
                        "time from order to the last service done (ms, log scale)", "share of orders (%)",
                        height=380)
    for variant, (name, color, _) in STYLE.items():
        plots.line(done, name, color=color, dash="dot" if variant == "thin" else None)
    done.layout.yaxis.range = [0, 101]

    db_time = plots.figure("Time per database query: wait for a connection + run",
                           "services that need each order, N", "mean time per query (ms, log scale)", height=380)
    _services_axis(db_time)
    _guide(db_time, MMC_MANY)
    _guide(db_time, MMC_ONE, dash="dot")
    _guide(db_time, "saturation N*", dash="dot", color=plots.COLORS["neutral"])
    for variant in VARIANTS:
        _marker(db_time, variant)

    traffic = plots.figure("Network traffic to the N services", "design", "traffic (MB/s)", height=380)
    for name, color in TRAFFIC.values():
        plots.bar(traffic, name, x=[STYLE[v][0] for v in VARIANTS], color=color)
    traffic.layout.barmode = "stack"
    traffic.layout.legend.traceorder = "normal"
    plots.line(traffic, "total", mode="text")
    traffic.data[-1].update(showlegend=False, textposition="top center")

    def update(result):
        p = result.params
        n = p.services
        # Queries per second: theory lines over N, the DB's capacity, and this run's three measurements.
        measured = [result.queries_per_s(v) for v in VARIANTS]
        many = p.rate * (1 + N_GRID)
        demand = max(many[-1], *measured)
        capacity_shown = p.capacity <= 2.5 * demand  # a capacity far above the demand would flatten the lines
        top = max(demand, p.capacity if capacity_shown else 0) * 1.15
        plots.set_xy(queries, MANY, N_GRID, many)
        _place(queries, MANY, MAX_SERVICES, many[-1], "theory: 1 + N queries per order (R/R, thin) ",
               xanchor="right", yanchor="bottom")
        plots.set_xy(queries, ONE, N_GRID, np.full(len(N_GRID), p.rate))
        _place(queries, ONE, MAX_SERVICES, p.rate, "theory: 1 query per order (fat) ", xanchor="right",
               yanchor="bottom")
        plots.set_xy(queries, CAPACITY, [0.5, MAX_SERVICES + 0.5], [p.capacity, p.capacity])
        connections = f"{p.db_connections} connection{'s' if p.db_connections > 1 else ''}"
        _place(queries, CAPACITY, 0.55, min(p.capacity, top * 0.93), f"DB capacity: {connections} ÷ {p.query_ms:g} ms"
               f" = {p.capacity:,.0f} queries/s{'' if capacity_shown else ' (far above this chart)'}",
               xanchor="left", yanchor="bottom")
        _saturation(queries, p.saturation, 0, top)
        for variant, value in zip(VARIANTS, measured, strict=True):
            plots.set_xy(queries, STYLE[variant][0], [n], [value])
        queries.layout.yaxis.range = [0, top]

        handled = {v: result.handled(v) * 1000 for v in VARIANTS}
        for variant in VARIANTS:
            x, y = plots.ecdf(handled[variant])
            plots.set_xy(done, STYLE[variant][0], x, y * 100)
        finite = np.concatenate([h[np.isfinite(h) & (h > 0)] for h in handled.values()])
        _log_axis(done.layout.xaxis, finite.min() / 1.3, finite.max() * 1.3)

        # Time per query: M/M/c where the database keeps up, the run's mean at this N.
        times = [result.db_time_mean(v) * 1000 for v in VARIANTS]
        many_t = np.array([p.db_time_theory("rr", k) for k in N_GRID]) * 1000
        one_t = np.array([p.db_time_theory("fat", k) for k in N_GRID]) * 1000
        ok_many, ok_one = ~np.isnan(many_t), ~np.isnan(one_t)
        values = [x for x in [*times, *many_t[ok_many], *one_t[ok_one]] if x > 0 and math.isfinite(x)]
        low, high = min(values) / 1.5, max(values) * 2.5
        plots.set_xy(db_time, MMC_MANY, N_GRID[ok_many], many_t[ok_many])
        last = int(N_GRID[ok_many][-1]) if ok_many.any() else None
        _place(db_time, MMC_MANY, last, many_t[ok_many][-1] if last else None,
               "theory M/M/c: 1 + N queries per order", log_y=True, xanchor="right", yanchor="bottom")
        plots.set_xy(db_time, MMC_ONE, N_GRID[ok_one], one_t[ok_one])
        _place(db_time, MMC_ONE, MAX_SERVICES, one_t[-1] if ok_one[-1] else None,
               "theory M/M/c: 1 query per order ", log_y=True, xanchor="right", yanchor="top")
        _saturation(db_time, p.saturation, low, high, log_y=True)
        for variant, value in zip(VARIANTS, times, strict=True):
            plots.set_xy(db_time, STYLE[variant][0], [n], [value])
        _log_axis(db_time.layout.yaxis, low, high)

        parts = {v: result.traffic_kb_per_s(v) for v in VARIANTS}
        for part, (name, _) in TRAFFIC.items():
            traffic.data[plots.trace_index(traffic, name)].y = [parts[v][part] / 1000 for v in VARIANTS]
        totals = [sum(parts[v].values()) / 1000 for v in VARIANTS]
        plots.set_xy(traffic, "total", [STYLE[v][0] for v in VARIANTS], totals)
        traffic.data[-1].text = [f"{t:.2f} MB/s" for t in totals]
        traffic.layout.yaxis.range = [0, max(totals) * 1.2]

    figures = [queries, done, db_time, traffic]
    p = ControlPanel(exp.run, params, exp.sliders, update, figures, name="data_reuse", show_figures=False)
    p.widget.children = (*p.widget.children, grid(*figures))
    return p


def grid(*figs, columns: int = 2) -> widgets.GridBox:
    """Figures in rows of ``columns`` equal-width cells."""
    return widgets.GridBox(children=list(figs), layout=widgets.Layout(
        grid_template_columns=f"repeat({columns}, minmax(0, 1fr))", grid_gap="8px", width="100%"))


def sweep_figures(params=None) -> tuple:
    """Two charts of the whole sweep N = 1..8, simulated (24 runs, cached): the 95th percentile time until
    every service is done, and the mean time per database query beside its M/M/c estimate."""
    params = params or get("data_reuse").defaults()
    sweep = services_sweep(params)
    ns = sweep["services"]
    latency = plots.figure("Simulated for N = 1 … 8: time until every service is done",
                           "services that need each order, N", "95th percentile (ms, log scale)", height=380)
    db_time = plots.figure("Simulated for N = 1 … 8: time per database query", "services that need each order, N",
                           "mean time per query (ms, log scale)", height=380)
    for fig in (latency, db_time):
        _services_axis(fig)
    many_t = np.array([params.db_time_theory("rr", int(k)) for k in ns]) * 1000
    one_t = np.array([params.db_time_theory("fat", int(k)) for k in ns]) * 1000
    ok_many, ok_one = ~np.isnan(many_t), ~np.isnan(one_t)
    _guide(db_time, MMC_MANY)
    _guide(db_time, MMC_ONE, dash="dot")
    plots.set_xy(db_time, MMC_MANY, ns[ok_many], many_t[ok_many])
    plots.set_xy(db_time, MMC_ONE, ns[ok_one], one_t[ok_one])
    for variant, (name, color, symbol) in STYLE.items():
        for fig, key in ((latency, "latency_p95"), (db_time, "db_time_mean")):
            plots.line(fig, name, ns, sweep[variant][key] * 1000, mode="lines+markers", color=color,
                       dash="dot" if variant == "thin" else None)
            fig.data[-1].marker.update(symbol=symbol, size=9)
    for fig in (latency, db_time):
        values = [y for t in fig.data if t.y is not None for y in t.y
                  if y is not None and y > 0 and math.isfinite(y)]
        low, high = min(values) / 1.5, max(values) * 2.5
        _guide(fig, "saturation N*", dash="dot", color=plots.COLORS["neutral"])
        _saturation(fig, params.saturation, low, high, log_y=True)
        _log_axis(fig.layout.yaxis, low, high)
    if ok_many.any():
        last = int(ns[ok_many][-1])
        _place(db_time, MMC_MANY, last, many_t[ok_many][-1], "theory M/M/c: 1 + N queries per order",
               log_y=True, xanchor="right", yanchor="bottom")
    if ok_one[-1]:
        _place(db_time, MMC_ONE, MAX_SERVICES, one_t[-1], "theory M/M/c: 1 query per order ", log_y=True,
               xanchor="right", yanchor="top")
    return latency, db_time


def theory_table(params) -> dict:
    """The closed forms notebook 02 quotes, for the default or current parameters."""
    out = {
        "database capacity (queries/s)": params.capacity,
        "saturation point N*": params.saturation,
    }
    for variant, label in (("rr", "R/R or thin events"), ("fat", "fat events")):
        out[f"queries per order, {label}"] = params.queries_per_order(variant)
        out[f"DB utilisation, {label}"] = params.db_utilisation(variant)
        out[f"M/M/c mean time per query, {label} (ms)"] = params.db_time_theory(variant) * 1000
    return out


PANELS = {"panel": panel}
__all__ = ["PANELS", "SERVICES", "grid", "panel", "sweep_figures", "theory_table"]

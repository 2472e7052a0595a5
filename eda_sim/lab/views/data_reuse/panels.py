"""Notebook 02's control panels: the experiments' controls and their charts."""


from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
import pandas as pd

from ....experiments import get
from ....experiments.data_reuse import MAX_SERVICES, NAMES, VARIANTS, DataReuseParams, services_sweep
from ... import plots, tables
from ...panel import ControlPanel

STYLE = {  # legend name, colour, marker symbol: fat events are the EDA of the claim, thin the EDA that breaks it
    "rr": (NAMES["rr"], plots.COLORS["rr"], "circle"),
    "fat": (NAMES["fat"], plots.COLORS["eda"], "square"),
    "thin": (NAMES["thin"], plots.COLORS["extra"], "diamond-open"),
}
TRAFFIC = {  # what reaches the N services, by what it carries
    "full copies": ("the order, inside each event", "#56B4E9"),
    "id-only messages": ("id-only events or calls", "#999999"),
    "read back": ("the order, read back from the DB", "#E69F00"),
}
MANY, ONE, CAPACITY = "theory: 1 + N queries per order", "theory: 1 query per order", "DB capacity"
MMC_MANY, MMC_ONE = "M/M/c: 1 + N queries per order", "M/M/c: 1 query per order"
N_GRID = np.arange(1, MAX_SERVICES + 1)


class _Chart:
    """One figure plus the indices of its named traces and labels, so that an update touches only what
    changed: plotly validates every property it is given, and the labels are the slow part."""

    def __init__(self, title: str, x_title: str, y_title: str, *, services_axis: bool = True):
        self.fig = plots.figure(title, x_title, y_title, height=380)
        if services_axis:
            self.fig.layout.xaxis.update(range=[0.5, MAX_SERVICES + 0.5], dtick=1)
        self.traces: dict[str, int] = {}
        self.notes: dict[str, int] = {}
        self.last: dict = {}

    def line(self, name: str, x=(), y=(), **style) -> None:
        self.traces[name] = plots.line(self.fig, name, x, y, **style)

    def guide(self, name: str, dash: str = "dash", color: str = plots.COLORS["theory"]) -> None:
        """A reference line labelled on the chart, not in the legend (see :meth:`place`)."""
        self.line(name, color=color, dash=dash)
        self.fig.data[-1].showlegend = False
        self.fig.add_annotation(name=name, x=0, y=0, text="", showarrow=False, font=dict(size=11, color=color))
        self.notes[name] = len(self.fig.layout.annotations) - 1

    def marker(self, variant: str) -> None:
        name, color, symbol = STYLE[variant]
        self.line(name, mode="markers", color=color)
        self.fig.data[-1].marker.update(size=14 if "open" in symbol else 10, symbol=symbol, line=dict(width=2))

    def _changed(self, key, value) -> bool:
        if key in self.last and _same(self.last[key], value):
            return False
        self.last[key] = value
        return True

    def set(self, name: str, x, y) -> None:
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if self._changed(("trace", name), (x, y)):
            plots.set_xy(self.fig, self.traces[name], x, y)

    def set_y(self, name: str, y) -> None:
        """Only the y values (a bar chart keeps its categories)."""
        y = np.asarray(y, dtype=float)
        if self._changed(("trace", name), y):
            self.fig.data[self.traces[name]].y = y

    def place(self, name: str, x, y, text: str, *, log_y: bool = False, **where) -> None:
        """Move the label of guide ``name`` (``y`` in data units; log axes take log10); hide it when
        ``y`` is None or cannot be drawn."""
        shown = bool(text) and y is not None and math.isfinite(y) and (y > 0 or not log_y)
        values = dict(x=x if shown else 0, y=(math.log10(y) if log_y else y) if shown else 0,
                      text=text if shown else "", **where)
        if self._changed(("note", name), values):
            self.fig.layout.annotations[self.notes[name]].update(**values)

    def saturation(self, n_star: float, low: float, high: float, *, log_y: bool = False) -> None:
        """The dotted vertical line at N* (drawn by ``guide("saturation N*")``), its value on top."""
        inside = 0.5 <= n_star <= MAX_SERVICES + 0.5
        self.set("saturation N*", [n_star, n_star] if inside else [], [low, high] if inside else [])
        if inside:
            text = f"saturation N* = {n_star:.1f} "
        elif n_star > MAX_SERVICES:
            text = f"N* = {n_star:.1f}: the database never saturates here "
        elif n_star > 0:
            text = f"N* = {n_star:.1f}: saturated even with one service "
        else:
            text = f"N* = {n_star:.1f}: even the writes alone saturate the database "
        x = min(max(n_star, 0.5), MAX_SERVICES + 0.5)
        self.place("saturation N*", x, high, text, log_y=log_y, xanchor="right" if x > 2.5 else "left",
                   yanchor="top")

    def log_axis(self, axis: str, low: float, high: float) -> None:
        """Axis ``"xaxis"`` or ``"yaxis"`` on a log scale from ``low`` to ``high``, ticks 10, 20, 50, 100..."""
        ticks = [m * 10.0**e for e in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
                 for m in (1, 2, 5) if low <= m * 10.0**e <= high]
        target = self.fig.layout[axis]
        if self._changed(("ticks", axis), ticks):
            target.update(type="log", tickvals=ticks, ticktext=[f"{t:,.0f}" if t >= 1 else f"{t:g}" for t in ticks])
        target.range = [math.log10(low), math.log10(high)]


def _same(a, b) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b, equal_nan=True)
    return a == b


def panel(**overrides) -> ControlPanel:
    """Sliders for N, database connections, query time, order size and rate; four linked charts."""
    exp = get("data_reuse")
    params = exp.make_params(**overrides)

    queries = _Chart("Database queries per second: this run and theory", "services that need each order, N",
                     "queries per second asked of the DB")
    queries.guide(MANY)
    queries.guide(ONE, dash="dot")
    queries.guide(CAPACITY, dash="dashdot", color=plots.COLORS["neutral"])
    queries.guide("saturation N*", dash="dot", color=plots.COLORS["neutral"])
    for variant in VARIANTS:
        queries.marker(variant)

    done = _Chart("How long until every service has handled the order",
                  "time from order to the last service done (ms, log scale)", "share of orders (%)",
                  services_axis=False)
    for variant, (name, color, _) in STYLE.items():
        done.line(name, color=color, dash="dot" if variant == "thin" else None)
    done.fig.layout.yaxis.range = [0, 101]

    db_time = _Chart("Time per database query: wait for a connection + run", "services that need each order, N",
                     "mean time per query (ms, log scale)")
    db_time.guide(MMC_MANY)
    db_time.guide(MMC_ONE, dash="dot")
    db_time.guide("saturation N*", dash="dot", color=plots.COLORS["neutral"])
    for variant in VARIANTS:
        db_time.marker(variant)

    traffic = _Chart("Network traffic to the N services", "design", "traffic (MB/s)", services_axis=False)
    designs = [STYLE[v][0] for v in VARIANTS]
    for name, color in TRAFFIC.values():
        traffic.traces[name] = plots.bar(traffic.fig, name, x=designs, color=color)
    traffic.fig.layout.barmode = "stack"
    traffic.fig.layout.legend.traceorder = "normal"
    traffic.line("total", x=designs, mode="text")
    traffic.fig.data[-1].update(showlegend=False, textposition="top center")

    def update(result):
        p = result.params
        n = p.services
        # Queries per second: theory lines over N, the DB's capacity, and this run's three measurements.
        measured = [result.queries_per_s(v) for v in VARIANTS]
        many = p.rate * (1 + N_GRID)
        demand = max(many[-1], *measured)
        capacity_shown = p.capacity <= 2.5 * demand  # a capacity far above the demand would flatten the lines
        top = max(demand, p.capacity if capacity_shown else 0) * 1.15
        queries.set(MANY, N_GRID, many)
        queries.place(MANY, MAX_SERVICES, many[-1], "theory: 1 + N queries per order (R/R, thin) ",
                      xanchor="right", yanchor="bottom", yshift=6)  # clear of the marker at N = 8
        queries.set(ONE, N_GRID, np.full(len(N_GRID), p.rate))
        queries.place(ONE, MAX_SERVICES, p.rate, "theory: 1 query per order (fat) ", xanchor="right",
                      yanchor="bottom", yshift=6)  # clear of the fat marker, which sits on this line
        queries.set(CAPACITY, [0.5, MAX_SERVICES + 0.5], [p.capacity, p.capacity])
        connections = f"{p.db_connections} connection{'s' if p.db_connections > 1 else ''}"
        queries.place(CAPACITY, 0.55, min(p.capacity, top * 0.93),
                      f"DB capacity: {p.capacity:,.0f} queries/s{'' if capacity_shown else ' (far above this chart)'}"
                      f"<br>({connections} ÷ {p.query_ms:g} ms)", xanchor="left", yanchor="bottom",
                      align="left")  # two short lines, left of the knee where the R/R line crosses it
        queries.saturation(p.saturation, 0, top)
        for variant, value in zip(VARIANTS, measured, strict=True):
            queries.set(STYLE[variant][0], [n], [value])
        queries.fig.layout.yaxis.range = [0, top]

        handled = {v: result.handled(v) * 1000 for v in VARIANTS}
        for variant in VARIANTS:
            x, y = plots.ecdf(handled[variant])
            done.set(STYLE[variant][0], x, y * 100)
        finite = np.concatenate([h[np.isfinite(h) & (h > 0)] for h in handled.values()])
        done.log_axis("xaxis", finite.min() / 1.3, finite.max() * 1.3)

        # Time per query: M/M/c where the database keeps up, the run's mean at this N.
        times = [result.db_time_mean(v) * 1000 for v in VARIANTS]
        many_t = np.array([p.db_time_theory("rr", k) for k in N_GRID]) * 1000
        one_t = np.array([p.db_time_theory("fat", k) for k in N_GRID]) * 1000
        ok_many, ok_one = ~np.isnan(many_t), ~np.isnan(one_t)
        values = [x for x in [*times, *many_t[ok_many], *one_t[ok_one]] if x > 0 and math.isfinite(x)]
        low, high = min(values) / 1.5, max(values) * 2.5
        db_time.set(MMC_MANY, N_GRID[ok_many], many_t[ok_many])
        last = int(N_GRID[ok_many][-1]) if ok_many.any() else None
        db_time.place(MMC_MANY, last, many_t[ok_many][-1] if last else None,
                      "M/M/c: 1 + N queries", log_y=True, xanchor="right" if last and last >= 3 else "left",
                      yanchor="bottom")  # short, so it stays clear of the y-axis title
        db_time.set(MMC_ONE, N_GRID[ok_one], one_t[ok_one])
        db_time.place(MMC_ONE, MAX_SERVICES, one_t[-1] if ok_one[-1] else None,
                      "M/M/c: 1 query per order ", log_y=True, xanchor="right", yanchor="top",
                      yshift=-6)  # clear of the fat marker, which sits on this line
        db_time.saturation(p.saturation, low, high, log_y=True)
        for variant, value in zip(VARIANTS, times, strict=True):
            db_time.set(STYLE[variant][0], [n], [value])
        db_time.log_axis("yaxis", low, high)

        parts = {v: result.traffic_kb_per_s(v) for v in VARIANTS}
        for part, (name, _) in TRAFFIC.items():
            traffic.set_y(name, [parts[v][part] / 1000 for v in VARIANTS])
        totals = [sum(parts[v].values()) / 1000 for v in VARIANTS]
        traffic.set_y("total", totals)
        traffic.fig.data[-1].text = [f"{t:.2f} MB/s" for t in totals]
        traffic.fig.layout.yaxis.range = [0, max(totals) * 1.2]

    figures = [c.fig for c in (queries, done, db_time, traffic)]
    p = ControlPanel(exp.run, params, exp.sliders, update, figures, name="data_reuse", show_figures=False)
    p.widget.children = (*p.widget.children, grid(*figures))
    return p


def grid(*figs, columns: int = 2) -> widgets.GridBox:
    """Figures in rows of up to ``columns`` equal-width cells that wrap when the page is narrow."""
    return widgets.GridBox(children=[fig.widget for fig in figs], layout=widgets.Layout(
        grid_template_columns=f"repeat(auto-fit, minmax(max(min(100%, {plots.MIN_CHART_WIDTH}px), "
                              f"calc((100% - {columns - 1} * 8px) / {columns})), 1fr))",
        grid_gap="8px", width="100%"))


def sweep_figures(params=None) -> tuple:
    """Two charts of the whole sweep N = 1..8, simulated (24 runs, cached): the 95th percentile time until
    every service is done, and the mean time per database query beside its M/M/c estimate."""
    params = params or get("data_reuse").defaults()
    sweep = services_sweep(params)
    ns = sweep["services"]
    latency = _Chart("Simulated for N = 1 … 8: time until every service is done", "services that need each order, N",
                     "95th percentile (ms, log scale)")
    db_time = _Chart("Simulated for N = 1 … 8: time per database query", "services that need each order, N",
                     "mean time per query (ms, log scale)")
    many_t = np.array([params.db_time_theory("rr", int(k)) for k in ns]) * 1000
    one_t = np.array([params.db_time_theory("fat", int(k)) for k in ns]) * 1000
    ok_many, ok_one = ~np.isnan(many_t), ~np.isnan(one_t)
    db_time.guide(MMC_MANY)
    db_time.guide(MMC_ONE, dash="dot")
    db_time.set(MMC_MANY, ns[ok_many], many_t[ok_many])
    db_time.set(MMC_ONE, ns[ok_one], one_t[ok_one])
    for variant, (name, color, symbol) in STYLE.items():
        for chart, key in ((latency, "latency_p95"), (db_time, "db_time_mean")):
            chart.line(name, ns, sweep[variant][key] * 1000, mode="lines+markers", color=color,
                       dash="dot" if variant == "thin" else None)
            chart.fig.data[-1].marker.update(symbol=symbol, size=9)
    for chart in (latency, db_time):
        values = [y for t in chart.fig.data if t.y is not None for y in t.y
                  if y is not None and y > 0 and math.isfinite(y)]
        low, high = min(values) / 1.5, max(values) * 2.5
        chart.guide("saturation N*", dash="dot", color=plots.COLORS["neutral"])
        chart.saturation(params.saturation, low, high, log_y=True)
        chart.log_axis("yaxis", low, high)
    if ok_many.any():
        last = int(ns[ok_many][-1])
        db_time.place(MMC_MANY, last, many_t[ok_many][-1], "M/M/c: 1 + N queries", log_y=True,
                      xanchor="right" if last >= 3 else "left", yanchor="bottom")
    if ok_one[-1]:
        db_time.place(MMC_ONE, MAX_SERVICES, one_t[-1], "M/M/c: 1 query per order ", log_y=True,
                      xanchor="right", yanchor="top")
    return latency.fig, db_time.fig


def theory_table(params=None):
    """The closed forms notebook 02 quotes, for the default or given parameters, as a tidy table
    ("–" where M/M/c has no steady state because the database is overloaded)."""
    params = params or DataReuseParams()
    rows = {}
    for variant, label in (("rr", "R/R or thin events"), ("fat", "fat events")):
        rows[label] = {
            "queries per order": params.queries_per_order(variant),
            "queries per second": params.rate * params.queries_per_order(variant),
            "DB utilisation ρ": round(params.db_utilisation(variant), 2),
            "M/M/c time per query (ms)": round(params.db_time_theory(variant) * 1000, 1),
        }
    caption = (f"Theory at N = {params.services}: database capacity {params.capacity:,.0f} queries/s, "
               f"saturation point N* = {params.saturation:.1f}")
    return tables.tidy(pd.DataFrame(rows).T.rename_axis("design"), caption=caption)


# -- what the notebook says about a run ------------------------------------------------------------------

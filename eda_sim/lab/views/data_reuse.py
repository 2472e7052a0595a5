"""Notebook 02 (data reuse): database queries and latency as the number of services needing an order grows."""

from __future__ import annotations

import math
from dataclasses import replace

import ipywidgets as widgets
import numpy as np
import pandas as pd
from IPython.display import HTML

from ...experiments import get
from ...experiments.data_reuse import MAX_SERVICES, NAMES, VARIANTS, DataReuseParams, services_sweep
from .. import plots, tables
from ..exercises import Exercise, Numeric, Prediction
from ..panel import ControlPanel
from ._revealed import markdown_widget, stacked

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
LABELS = {
    "services": "services that need each order, N", "rate": "orders per second", "db_connections":
    "database connections", "query_ms": "mean query time (ms)", "event_kb": "order size (KB)",
    "work_ms": "each service's own work per order (ms)", "orders": "orders per run", "until":
    "longest run (simulated s)", "seed": "seed",
}


def settings(params=None):
    """The experiment's default (or given) parameters as a table."""
    return tables.parameters(params or DataReuseParams(), LABELS)


def _settings_text(p) -> str:
    return (f"N = {p.services}, {p.rate:g} orders/s, {p.db_connections} connections, {p.query_ms:g} ms per "
            f"query, seed {p.seed}")


#: Rows of :func:`run_table`: label, key of the experiment's table, decimals.
_RUN_ROWS = (
    ("database reads per order", "db_reads_per_order", 0),
    ("database writes per order", "db_writes_per_order", 0),
    ("database queries per second", "db_queries_per_s", 0),
    ("database utilisation (measured)", "db_utilisation", 2),
    ("time per query: wait + run (ms)", "db_time_per_query_ms", 0),
    ("M/M/c time per query (ms)", "db_time_theory_ms", 0),
    ("until every service is done, p95 (ms)", "all_services_done_p95_ms", 0),
    ("customer's wait, p95 (ms)", "client_wait_p95_ms", 0),
    ("network traffic to the services (MB/s)", "traffic_kb_per_s", 2),
    ("age of the order copy used, p95 (ms)", "data_age_p95_ms", 0),
)


def run_table(result):
    """A run's numbers per design, rounded per row, "–" where a value does not apply."""
    raw = result.table()
    raw.loc["traffic_kb_per_s"] = raw.loc["traffic_kb_per_s"] / 1000
    rows = {label: raw.loc[key].round(decimals) for label, key, decimals in _RUN_ROWS}
    frame = pd.DataFrame(rows).T.rename_axis("measured in this run")
    frame.loc["age of the order copy used, p95 (ms)", [NAMES["rr"], NAMES["thin"]]] = np.nan  # read fresh
    return tables.tidy(frame, caption=f"Measured in the panel's run with {_settings_text(result.params)} "
                                      "(moved a slider? run this cell again)")




# -- predictions, exercises and checks -----------------------------------------------------------------
SLOWDOWN = ("R/R is faster (no broker hop)", "about the same (within 50 %)", "R/R is 1.5 to 5 times slower",
            "R/R is more than 5 times slower")

PREDICTIONS = {
    "slowdown": ("95th percentile time until all 6 services have handled an order:", SLOWDOWN),
}


def prediction(key: str = "slowdown") -> Prediction:
    """The notebook's prediction ``key`` (see :data:`PREDICTIONS`)."""
    prompt, options = PREDICTIONS[key]
    return Prediction(prompt, options)


def slowdown(result) -> str:
    """The option of the "slowdown" prediction that ``result`` supports."""
    ratio = result.latency_p95("rr") / result.latency_p95("fat")
    return SLOWDOWN[0] if ratio < 1 else SLOWDOWN[1] if ratio < 1.5 else SLOWDOWN[2] if ratio <= 5 else SLOWDOWN[3]


def outcome(pred: Prediction, panel: ControlPanel) -> widgets.Widget:
    """Reveal the "slowdown" prediction from the panel's run; the numbers appear once it is recorded."""
    pred.reveal(slowdown(panel.result))

    def show():
        r = panel.result
        rr, fat = r.latency_p95("rr"), r.latency_p95("fat")
        sentence = (f"95th percentile until every service is done: **R/R {rr * 1000:,.0f} ms, fat events "
                    f"{fat * 1000:,.0f} ms**, R/R {rr / fat:.1f} times slower.")
        return stacked(sentence, run_table(r))

    return pred.after(show)


EXPLAIN = """**Why latency explodes.** The database is a queue with c = 4 servers (connections), each serving a
query in 20 ms on average. Its utilisation is ρ = rate × (1 + N) × 0.02 s ÷ 4: 0.2 for fat events and
1.4 for R/R at N = 6 (the default run measured 1.32, because its queries happened to be a little
shorter than 20 ms on average). Below ρ = 1 queries wait a little, and the M/M/c formula (Erlang C)
predicts how long. Above it there is no steady state: 40 % more work arrives than the database can do,
so the backlog grows for as long as the orders keep coming. Here a burst of 150 orders (under 4
seconds) already pushes R/R's 95th percentile past a second, about 15 times that of fat events; a
longer burst would make it worse without limit, because the number depends on how long the overload
lasts. (Numbers for the default settings.)
"""


def smallest_connections(params) -> int:
    """Fewest database connections that keep R/R (1 + N queries per order) below saturation, ρ < 1."""
    c = 1
    while replace(params, db_connections=c).db_utilisation("rr") >= 1:
        c += 1
    return c


def _check_connections(panel: ControlPanel):
    """The panel's connections must be the smallest number with ρ < 1 for its own N, rate and query time."""
    p, r = panel.params, panel.result
    need = smallest_connections(p)
    top = next(s.max for s in panel.sliders if s.param == "db_connections")
    if need > top:
        return False, (f"With N = {p.services}, {p.rate:g} orders/s and {p.query_ms:g} ms per query R/R needs "
                       f"{need} connections, more than the slider offers: lower the rate, N or the query time.")
    rho = p.db_utilisation("rr")
    measured = (f"this run measured {r.db_utilisation('rr'):.2f}, and every service was done within "
                f"{r.latency_p95('rr') * 1000:,.0f} ms for 95 % of orders")
    if p.db_connections < need:
        return False, (f"{p.db_connections} connections: ρ = {rho:.2f}, the database is overloaded ({measured}). "
                       "Add connections.")
    if p.db_connections > need:
        fewer = replace(p, db_connections=p.db_connections - 1).db_utilisation("rr")
        return False, (f"{p.db_connections} connections keep ρ = {rho:.2f} below 1, but "
                       f"{p.db_connections - 1} would too (ρ = {fewer:.2f}): find the smallest.")
    less = replace(p, db_connections=need - 1).db_utilisation("rr") if need > 1 else None
    before = f" With {need - 1} it would be {less:.2f}." if less is not None else ""
    return True, (f"Yes: {need} connections give ρ = {rho:.2f} ({measured}).{before} Near ρ = 1 queries still "
                  "queue a lot: real databases are kept well below it.")


def exercise(key: str, panel: ControlPanel | None = None):
    """The notebook's exercise ``key``: ``"connections"`` (a number) or ``"set connections"`` (reads
    ``panel``, the notebook's control panel)."""
    if key == "connections":
        p = DataReuseParams()
        need = smallest_connections(p)
        load = p.rate * (1 + p.services) * p.query_time
        return Numeric(
            f"Keep {p.rate:g} orders per second, {p.query_ms:g} ms per query and N = {p.services} services. "
            "Your database administrator can add connections. What is the **smallest** number of connections "
            "that keeps R/R below saturation (ρ < 1)?",
            answer=need, tolerance=0, unit="connections",
            explanation=f"R/R asks for {p.rate:g} × (1 + {p.services}) = {p.rate * (1 + p.services):.0f} queries per "
                        f"second, each holding a connection for {p.query_time:g} s on average: {load:.1f} "
                        f"connections busy. {need - 1} are overloaded (ρ = "
                        f"{replace(p, db_connections=need - 1).db_utilisation('rr'):.2f}); {need} run at ρ = "
                        f"{replace(p, db_connections=need).db_utilisation('rr'):.2f}.",
            hint="Busy connections = queries per second × seconds per query (Little's law). How many queries "
                 "per second does R/R send at N = 6?",
        )
    if key == "set connections":
        if panel is None:
            raise ValueError("exercise 'set connections' needs the notebook's panel")
        return Exercise(
            "Now set it in the panel above: choose **DB connections** so that R/R's database is just below "
            "saturation (the smallest number with ρ < 1) for the panel's *current* N, order rate and query "
            "time, then press *Check*. It reads the panel's current run.",
            check=lambda: _check_connections(panel),
            hint="The top-left chart draws the database's capacity (dash-dot): R/R's dashed line must stay "
                 "under it at your N. Capacity = connections ÷ query time.",
            solution="The smallest whole number above rate × (1 + N) × query time. At the defaults that is "
                     "40 × 7 × 0.02 s = 5.6, so **6 connections**: ρ = 0.93. With 5, ρ = 1.12 and the queue "
                     "grows for as long as orders arrive. Near ρ = 1 the latency is still high (p95 about "
                     "0.24 s against 0.09 s for fat events): real systems keep utilisation well below 1.",
        )
    raise KeyError(f"no exercise {key!r}; choose 'connections' or 'set connections'")


# -- deep dive and "where the claim breaks" --------------------------------------------------------------
def sweep_grid(params=None) -> widgets.GridBox:
    """The two sweep charts N = 1 … 8 side by side (24 runs, cached)."""
    return grid(*sweep_figures(params))


SWEEP = """\
Fat events stay nearly flat: their database load never changes, and the slight rise is the wait for the
slowest of N consumers. R/R and thin events grow gently up to N = 3, where ρ = 0.8, reach the knee at
N\\* = 4, and then climb steeply.
"""


def sweep_section(params=None) -> widgets.VBox:
    """The sweep charts with what they show (held back by the notebook's prediction: build them before
    handing them to ``after``, so that recording the prediction only has to show them)."""
    return stacked(sweep_grid(params), SWEEP)


def long_run(services: int = 3, orders: int = 3000) -> HTML:
    """Mean wait for a connection in a long R/R run beside its M/M/c value."""
    r = get("data_reuse")(services=services, orders=orders)
    return markdown_widget(f"N = {services}, {orders:,} orders: mean wait for a connection "
                           f"**{r.db_wait_mean('rr') * 1000:.1f} ms** "
                           f"(M/M/c: {r.params.db_wait_theory('rr') * 1000:.1f} ms).")


def checkout(result) -> HTML:
    """The customer's wait until the order is accepted, fat vs thin events, in ``result``."""
    fat, thin = (np.percentile(result.client_wait(v), 95) * 1000 for v in ("fat", "thin"))
    return markdown_widget(f"Customer's wait until the order is accepted, 95th percentile: fat events "
                              f"**{fat:,.0f} ms**, thin events **{thin:,.0f} ms** ({_settings_text(result.params)}).")


def traffic_table(event_kb: float = 32.0):
    """Network traffic to the services (MB/s) by what it carries, for orders of ``event_kb`` KB."""
    frame = get("data_reuse")(event_kb=event_kb).traffic_table().round(2)
    frame.index = frame.index.rename("traffic (MB/s)")
    return tables.tidy(frame, caption=f"Orders of {event_kb:g} KB, other settings at their defaults")


def staleness(result) -> HTML:
    """How old the fat event's copy of the order is when a service finishes with it."""
    age = result.data_age("fat") * 1000
    return markdown_widget(f"Age of the order copy when a service finishes with it (fat events): median "
                              f"**{np.median(age):.0f} ms**, 95th percentile **{np.percentile(age, 95):.0f} ms** "
                              f"({_settings_text(result.params)}).")


def light_table(services: int = 2):
    """Queries, utilisation and latency at a small N, every design."""
    frame = get("data_reuse")(services=services).table().loc[
        ["db_queries_per_s", "db_utilisation", "all_services_done_p95_ms"]]
    frame.index = ["database queries per second", "database utilisation (measured)",
                   "until every service is done, p95 (ms)"]
    frame = frame.apply(lambda row: row.round(2 if "utilisation" in row.name else 0), axis=1)
    return tables.tidy(frame, caption=f"N = {services}, other settings at their defaults")


PANELS = {"panel": panel}

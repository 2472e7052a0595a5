"""Notebook 08 (workshop capstone): the design panel, the leaderboard and the rubric as figures.

The panel has one toggle per interaction and the knobs of :class:`~eda_sim.experiments.capstone.Design`.
Each move runs the team's design once against the fixed scenario; the best preset at the same seed is
run once per seed and cached, so a move costs one simulation plus the figure update.
"""

from __future__ import annotations

import html
import math

import ipywidgets as widgets
import numpy as np
from plotly.subplots import make_subplots

from .. import plots, theory
from ..experiments import capstone as cap
from ..experiments import get
from ..panel import ControlPanel

YOU = plots.COLORS["extra"]  # the team's design
BEST = plots.COLORS["neutral"]  # the best preset, dashed
PLACED = "#BBBBBB"
THRESHOLD = plots.COLORS["extra2"]
#: One colour per criterion in the leaderboard (Paul Tol's colour-blind-safe palette, away from the R/R and
#: EDA colours, which mean architectures elsewhere in the lab).
CRITERION_COLORS = ("#88CCEE", "#CC6677", "#DDCC77", "#117733", "#332288", "#AA4499", "#44AA99")
WINDOW_STYLE = {"lunch spike": 0.08, "payment provider down": 0.22, "payment worker crash": 0.22}
ROWS = ("Orders per second: placed (grey), lost or failed (lines)",
        "Customer wait, 95th percentile (s, log scale)",
        "Notification delay, 95th percentile (s, log scale)",
        "Orders waiting for payment (EDA: consumer lag, as Kafka reports it from committed offsets)")


def _value_text(criterion: str, value: float) -> str:
    """A measured value as :func:`~eda_sim.experiments.capstone.score` shows it, with its unit."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return {"wait": f"{value:.0f} ms", "lost": f"{value:.1f} %", "notify": f"{value:.1f} %",
            "duplicates": f"{int(value)} charged twice", "analytics": f"{value:.1f} %",
            "db": f"{value:.2f} queries/order", "parts": f"{int(value)} parts"}[criterion]


# -- the rubric as bars -------------------------------------------------------------------------------
def rubric_figure(height: int = 380) -> plots.LabFigure:
    """Points per criterion: the team's design and the best preset, with each criterion's maximum."""
    fig = plots.figure("Rubric", "points (the label at each bar is what was measured)", "criterion", height=height)
    labels = [f"{c.label} (/{c.points:g})" for c in cap.RUBRIC]
    plots.bar(fig, "your design", y=labels, color=YOU)
    plots.bar(fig, "best preset", y=labels, color=BEST)
    plots.line(fig, "maximum", x=[c.points for c in cap.RUBRIC], y=labels, mode="markers", color=BEST)
    for trace in fig.data[:2]:
        trace.orientation = "h"
        trace.textposition = "outside"
        trace.cliponaxis = False
    fig.data[2].marker.update(symbol="line-ns-open", size=22, line=dict(width=2, color=BEST))
    fig.layout.update(barmode="group", bargap=0.25)
    fig.layout.yaxis.update(autorange="reversed", title=None)
    fig.layout.xaxis.update(range=[0, 26], dtick=5)
    fig.layout.margin.l = 210
    return fig


def show_rubric(fig, mine: cap.CapstoneResult, best_name: str, best: cap.CapstoneResult) -> None:
    """Write both rubrics into ``fig``."""
    for name, r in (("your design", mine), ("best preset", best)):
        table = r.rubric
        trace = fig.data[plots.trace_index(fig, name)]
        trace.x = [table.loc[c.key, "points"] for c in cap.RUBRIC]
        trace.text = [_value_text(c.key, table.loc[c.key, "value"]) for c in cap.RUBRIC]
    fig.layout.title.text = (f"Rubric: your design {mine.total:.0f}/100 · best preset ({best_name}) "
                             f"{best.total:.0f}/100")


# -- the timeline -------------------------------------------------------------------------------------
def timeline_figure(scenario: cap.Scenario = cap.SCENARIO, height: int = 760) -> plots.LabFigure:
    """Four stacked charts over the scenario's time, with the spike, the outage and the crash shaded."""
    fig = make_subplots(rows=4, cols=1, shared_xaxes=True, vertical_spacing=0.06, subplot_titles=ROWS,
                        figure=plots.LabFigure())
    fig.layout.update(template=plots.TEMPLATE, height=height, margin=dict(l=64, r=16, t=100, b=52),
                      title=dict(text="Your design through the scenario (2-second bins, by order time)", x=0.0,
                                 xanchor="left", y=0.99, yanchor="top", font=dict(size=15)),
                      legend=dict(orientation="h", x=0.0, xanchor="left", y=1.035, yanchor="bottom"))
    for annotation in fig.layout.annotations:
        annotation.update(x=0.0, xanchor="left", font=dict(size=12))

    def add(name, row, color, dash=None, legend=True, group=None, width=2.0, **kw):
        fig.add_scatter(x=[], y=[], name=name, mode="lines", line=dict(color=color, dash=dash, width=width),
                        row=row, col=1, legendgroup=group or name, showlegend=legend, **kw)

    add("orders placed", 1, PLACED, fill="tozeroy", group="placed")
    add("best preset", 1, BEST, group="best", width=1.2)
    add("your design", 1, YOU, group="you")
    for row, key in ((2, "wait"), (3, "notify"), (4, "backlog")):
        add(f"best preset: {key}", row, BEST, legend=False, group="best", width=1.2)
        add(f"your design: {key}", row, YOU, legend=False, group="you")
    add("rubric threshold", 2, THRESHOLD, dash="dot", group="threshold")
    add("threshold: notify", 3, THRESHOLD, dash="dot", legend=False, group="threshold")
    add("theory: λ × outage, then drains at cμ − λ", 4, plots.COLORS["theory"], dash="dash", group="theory")
    for row in (2, 3):
        fig.update_yaxes(type="log", range=[-2, 1], dtick=1, exponentformat="none", row=row, col=1)
    fig.update_yaxes(title_text="orders/s", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="wait (s)", row=2, col=1)
    fig.update_yaxes(title_text="delay (s)", row=3, col=1)
    fig.update_yaxes(title_text="orders", rangemode="tozero", row=4, col=1)
    fig.update_xaxes(title_text="time (s)", range=[0, scenario.until], row=4, col=1)
    for name, (start, end) in scenario.windows().items():  # one band through all four charts
        fig.add_shape(type="rect", xref="x", yref="paper", x0=start, x1=end, y0=0, y1=1, layer="below",
                      line_width=0, fillcolor=plots.COLORS["outage"], opacity=WINDOW_STYLE[name], name=name)
        fig.add_annotation(x=start, xref="x", y=1.0, yref="paper", yanchor="top", xanchor="left", showarrow=False,
                           text=name.replace(" ", "<br>", 1), align="left",
                           font=dict(size=10, color=plots.COLORS["neutral"]))
    return fig


def show_timeline(fig, mine: cap.CapstoneResult, best_name: str, best: cap.CapstoneResult) -> None:
    """Write both designs' timelines into ``fig``."""
    s = mine.scenario
    you, other = mine.timeline(), best.timeline()
    t = you["time"].to_numpy()
    plots.set_xy(fig, "orders placed", t, you["placed_per_s"].to_numpy())
    plots.set_xy(fig, "your design", t, you["lost_per_s"].to_numpy())
    plots.set_xy(fig, "best preset", t, other["lost_per_s"].to_numpy())
    for key, column in (("wait", "wait_p95"), ("notify", "notify_p95")):
        plots.set_xy(fig, f"your design: {key}", t, _finite(you[column].to_numpy()))
        plots.set_xy(fig, f"best preset: {key}", t, _finite(other[column].to_numpy()))
    for name, r in (("your design", mine), ("best preset", best)):
        bt, backlog = r.payment_backlog()
        plots.set_xy(fig, f"{name}: backlog", bt, backlog)
    wait_full = next(c.full for c in cap.RUBRIC if c.key == "wait")
    plots.set_xy(fig, "rubric threshold", [0, s.until], [wait_full, wait_full])
    plots.set_xy(fig, "threshold: notify", [0, s.until], [s.notify_within, s.notify_within])
    plots.set_xy(fig, "theory: λ × outage, then drains at cμ − λ", *fluid_backlog(mine, best))
    fig.layout.title.text = (f"Your design (green) and the best preset, {best_name} (grey), through the scenario "
                             f"(2-second bins by order time)")


def fluid_backlog(mine: cap.CapstoneResult, best: cap.CapstoneResult) -> tuple[np.ndarray, np.ndarray]:
    """The fluid model of the outage's payment backlog (:func:`eda_sim.theory.outage_backlog`) for the first
    of the two designs that pays by events (empty if neither does)."""
    r = next((r for r in (mine, best) if r.design.pay == "eda"), None)
    if r is None:
        return np.empty(0), np.empty(0)
    s = r.scenario
    mu, c = cap.payment_capacity(r.design)
    t = np.linspace(s.outage_start - 2, s.until, 200)
    return t, theory.outage_backlog(t, s.rate, mu, c, s.outage_start, s.outage_end)


def _finite(values: np.ndarray) -> list:
    """Infinite delays (never happened) drawn at the top of the log axis instead of vanishing; empty bins
    (NaN) become gaps (None, which also compares equal, unlike NaN)."""
    values = np.where(np.isinf(values), 10.0, values)
    return [None if math.isnan(x) else float(x) for x in values]


# -- the design panel ---------------------------------------------------------------------------------
def panel(**overrides) -> ControlPanel:
    """Toggles per interaction and the knobs; the rubric (yours vs the best preset), the defence, the timeline.

    Starts at the naive hybrid (``Design()``); ``panel(pay="eda")`` starts elsewhere.
    """
    exp = get("capstone")
    params = exp.make_params(**overrides)
    rubric = rubric_figure()
    timeline = timeline_figure()
    defence = widgets.HTML()

    def update(result: cap.CapstoneResult):
        best_name, best = cap.best_preset(result.design.seed, result.scenario)
        show_rubric(rubric, result, best_name, best)
        show_timeline(timeline, result, best_name, best)
        same = cap.matching_preset(result.design)
        title = f"preset '{same}'" if same else "your design"
        defence.value = (f"<div style='padding:4px 8px; border-left:4px solid {YOU}'><b>Defence of {title}</b> "
                         f"({html.escape(result.design.label())}): "
                         f"{html.escape(cap.defence(result.design, result))}</div>")

    p = ControlPanel(exp.run, params, exp.sliders, update, [rubric, timeline], name="capstone", show_figures=False)
    p.defence = defence
    rows = list(p.controls_box.children)  # one row per slider, in SLIDERS order, then seed and share rows
    n = len(p.sliders)
    first = [i for i, s in enumerate(p.sliders) if s.param in cap.INTERACTIONS]
    rest = [i for i in range(n) if i not in first]
    p.controls_box.children = [rows[i] for i in first + rest] + rows[n:]  # the four toggles on top
    p.widget.children = (p.controls_box, rubric.widget, defence, timeline.widget)
    return p


# -- the leaderboard ----------------------------------------------------------------------------------
def leaderboard_figure(seed: int = 1, scenario: cap.Scenario = cap.SCENARIO, height: int = 330) -> plots.LabFigure:
    """The presets as stacked bars of points per criterion, best at the top, totals at the end."""
    board = cap.leaderboard(seed, scenario)
    fig = plots.figure(f"Leaderboard of the presets (seed {seed})", "points (out of 100)", "preset", height=height)
    names = list(board.index)
    for c, color in zip(cap.RUBRIC, CRITERION_COLORS, strict=True):
        plots.bar(fig, c.label, x=board[c.label].to_numpy(), y=names, color=color)
        fig.data[-1].orientation = "h"
        fig.data[-1].hovertemplate = f"{c.label}: %{{x:.1f}} of {c.points:g}<extra>%{{y}}</extra>"
    plots.line(fig, "total", x=board["total"].to_numpy(), y=names, mode="text")
    fig.data[-1].update(text=[f"  {v:.1f}" for v in board["total"]], textposition="middle right", showlegend=False)
    fig.layout.update(barmode="stack")
    fig.layout.yaxis.update(autorange="reversed", title=None)
    fig.layout.xaxis.update(range=[0, 110], dtick=10)
    fig.layout.margin.l = 100
    fig.layout.legend.update(y=1.04, traceorder="normal")
    return fig


PANELS = {"panel": panel}

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
from IPython.display import display
from plotly.subplots import make_subplots

from ... import theory
from ...experiments import capstone as cap
from ...experiments import get
from .. import plots, tables
from ..exercises import Exercise, Prediction, markdown_html
from ..panel import ControlPanel
from .capstone_teams import (  # noqa: F401 - the instructor's leaderboard, re-exported for notebook 08
    EXAMPLE,
    TeamBoard,
    board_table,
    preset_row,
    rule_text,
    team_leaderboard,
)

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

    Starts at the naive hybrid (``Design()``); ``panel(pay="eda")`` starts elsewhere. A row of buttons sets
    every control to a preset's values; under the defence, which preset the settings are or the closest one
    and what differs (the presets have idempotent payment on, except the naive hybrid).
    """
    exp = get("capstone")
    params = exp.make_params(**overrides)
    rubric = rubric_figure()
    timeline = timeline_figure()
    defence = widgets.HTML()

    def update(result: cap.CapstoneResult):
        note = html.escape(cap.preset_note(result.design), quote=False)
        best_name, best = cap.best_preset(result.design.seed, result.scenario)
        show_rubric(rubric, result, best_name, best)
        show_timeline(timeline, result, best_name, best)
        same = cap.matching_preset(result.design)
        title = f"preset '{same}'" if same else "your design"
        defence.value = (f"<div style='padding:4px 8px; border-left:4px solid {YOU}'><b>Defence of {title}</b> "
                         f"({html.escape(result.design.label())}): "
                         f"{html.escape(cap.defence(result.design, result))}<br>"
                         f"<span style='color:#6b6b6b'>{note}</span></div>")

    p = ControlPanel(exp.run, params, exp.sliders, update, [rubric, timeline], name="capstone", show_figures=False)
    p.defence = defence
    rows = list(p.controls_box.children)  # one row per slider, in SLIDERS order, then seed and share rows
    n = len(p.sliders)
    first = [i for i, s in enumerate(p.sliders) if s.param in cap.INTERACTIONS]
    rest = [i for i in range(n) if i not in first]
    p.presets = preset_row(p)  # the presets' exact settings, one click each
    p.controls_box.children = [p.presets] + [rows[i] for i in first + rest] + rows[n:]  # the four toggles on top
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


# =====================================================================================================
# The lesson: the prediction, what the leaderboard shows, and the exercise of notebook 08
# =====================================================================================================
# The question and its answer live here, beside the panel, so the notebook's code cells do not show them.
# Every number in the texts is computed from the runs when the text is shown.
PREDICTIONS = {"top preset": ("Which preset scores highest on the rubric?", tuple(cap.PRESETS))}


def prediction(key: str) -> Prediction:
    """The notebook's prediction ``key`` (see :data:`PREDICTIONS`)."""
    prompt, options = PREDICTIONS[key]
    return Prediction(prompt, options)


def scenario_text(scenario: cap.Scenario = cap.SCENARIO) -> widgets.Widget:
    """The scenario's script in one sentence."""
    s = scenario
    return widgets.HTMLMath(markdown_html(
        f"**The script ({s.until:.0f} s):** orders at {s.rate:g}/s; a lunch spike at {s.spike_rate:g}/s from "
        f"{s.spike_start:.0f} to {s.spike_end:.0f} s; the payment provider down from {s.outage_start:.0f} to "
        f"{s.outage_end:.0f} s; one payment worker crashed from {s.crash_start:.0f} to {s.crash_end:.0f} s; no new "
        f"orders after {s.traffic_end:.0f} s (the last {s.until - s.traffic_end:.0f} s show what is still "
        f"unfinished). The app gives up on an answer after {s.app_timeout:g} s."))


def rubric() -> object:
    """The rubric as the facilitator reads it out, tidy."""
    return tables.tidy(cap.rubric_table(), caption="Every number the rubric scores comes from the simulated run")


def _output(*items) -> widgets.Output:
    out = widgets.Output()
    with out:
        for item in items:
            display(item)
    return out


def leaderboard_text(seed: int = 1) -> str:
    board = cap.leaderboard(seed)
    top, second = board.index[0], board.index[1]
    gap = board.loc[top, "total"] - board.loc[second, "total"]
    rest = ", ".join(f"{name} {board.loc[name, 'total']:.1f}" for name in board.index[2:])
    return (f"**{top}** tops the board with {board.loc[top, 'total']:.1f} points, **{second}** is {gap:.1f} points "
            f"behind, and the others are far back ({rest}). The two designs with synchronous payment lose every "
            "order placed during the payment outage, and a failed order counts as the worst wait (5 s), so they "
            "lose the points for lost orders and for the wait together. The numbers behind the points, in "
            "measured units:")


def reveal(prediction: Prediction, seed: int = 1) -> widgets.Widget:
    """Give the prediction its verdict and return the leaderboard (chart, table, explanation, facts), held back
    until the learner has recorded a guess."""
    board = cap.leaderboard(seed)
    prediction.reveal(board.index[0])

    def build():
        fig = leaderboard_figure(seed)
        table = tables.tidy(board.drop(columns="design"), decimals=1,
                            caption=f"Points per criterion, seed {seed}")
        facts = tables.tidy(cap.preset_facts(seed), decimals=2, caption=f"What each preset did, seed {seed}")
        return widgets.VBox([fig.widget, _output(table), widgets.HTMLMath(markdown_html(leaderboard_text(seed))),
                             _output(facts)])

    return prediction.after(build)


def wait_table(seed: int = 1):
    return tables.tidy(cap.wait_explained(seed), decimals=3,
                       caption="Why customers wait: the order service's worker is held for the synchronous chain")


def duplicates_table(seed: int = 1):
    return tables.tidy(cap.duplicates_explained(seed), decimals=2,
                       caption="The two ways a payment runs twice ('–': the estimate applies to the timeout only)")


def breaks_text(seeds: tuple = (1, 2, 3, 4, 5)) -> str:
    """Where the claim breaks, with the numbers of the runs (Markdown)."""
    cases, totals = cap.breaking_points(seeds)
    seed = seeds[0]
    hybrid, eda = cap.run_design(cap.preset("hybrid", seed)), cap.run_design(cap.preset("all EDA", seed))
    m = hybrid.metrics
    thin = min(cases.loc["total", "hybrid, 1 partition"], cases.loc["total", "hybrid, 1 worker"])
    unpaid = min(cases.loc["lost or failed", "hybrid, 1 partition"],
                 cases.loc["lost or failed", "hybrid, 1 worker"])
    rr_waits = [cap.run_design(cap.preset("all R/R", s)).metrics["answer_wait_p95"] for s in seeds]
    hy_waits = [cap.run_design(cap.preset("hybrid", s)).metrics["answer_wait_p95"] for s in seeds]
    return "\n".join([
        f"1. **All EDA is only {hybrid.total - eda.total:.1f} points behind the hybrid, and all of it is moving "
        "parts.** Putting the order itself on a queue buys the customer nothing: they still wait for the "
        "confirmation, which now crosses a broker and a worker. The rule of thumb holds, but weakly.",
        f"2. **Accepted is not paid.** In the hybrid, the 95th percentile from order to payment is about "
        f"{m['payment_p95_after_order']:.0f} s, and {m['notified_before_payment']} orders reached the restaurant "
        "more than 2 s before their payment went through: during the outage restaurants cook food nobody has "
        "paid for yet. A declined card then needs a compensating action the synchronous design never needs. The "
        "rubric does not score this; your business might.",
        f"3. **Event-driven is not capacity.** The hybrid with one partition or one worker cannot keep up with the "
        f"lunch spike: {unpaid:.0f} or more orders are still unpaid when the run ends, and it drops to "
        f"{thin:.0f} points. A queue moves the failure from the customer to the backlog.",
        f"4. **A design near its capacity is a gamble.** All R/R keeps its order service "
        f"{cap.spike_load(cap.preset('all R/R')):.0%} busy in the spike: over seeds {seeds[0]}–{seeds[-1]} its "
        f"95th-percentile wait for an answer ranges from {min(rr_waits):.1f} to {max(rr_waits):.1f} s and its "
        f"total spreads over {totals.loc['all R/R', 'spread']:.1f} points, while the hybrid's wait stays near "
        f"{1000 * max(hy_waits):.0f} ms and its total within {totals.loc['hybrid', 'spread']:.1f} points. "
        "Defend a design on more than one seed.",
        "5. **The rubric decides.** These weights reward short waits and few queries, which asynchronous work buys "
        "by construction. Payment certainty at checkout, one stack trace per failed order and fewer things to page "
        "someone about are R/R's strengths; only \"moving parts\" is scored, worth 10 points.",
    ])


def breaks(prediction: Prediction, seeds: tuple = (1, 2, 3, 4, 5)) -> widgets.Widget:
    """Where the claim breaks, with the cases table and every preset's totals over ``seeds`` (they rank the
    presets, so they wait for the prediction)."""

    def build():
        cases, totals = cap.breaking_points(seeds)
        return widgets.VBox([widgets.HTMLMath(markdown_html(breaks_text(seeds))),
                             _output(tables.tidy(cases, decimals=1, caption=f"The hybrid and its variants, seed "
                                                                                   f"{seeds[0]}"),
                                     tables.tidy(totals, decimals=1, caption="Each preset's total on five seeds, and "
                                                                             "the spread between best and worst"))])

    return prediction.after(build)


def exercise(key: str, panel):
    """The notebook's exercise ``key``: "design" (checked on the panel's current design and seed)."""
    if key != "design":
        raise ValueError(f"exercise must be 'design', got {key!r}")
    return Exercise(
        "Set a design in the panel that scores **at least 80** with **no duplicate payment** and **at most 5 % of "
        "orders lost**, then press Check (it runs the panel's current design, seed included).",
        check=lambda: cap.check_design(panel.params),
        hint="The naive hybrid loses all 20 points for lost orders and all 20 for the wait (every order placed "
             "during the payment outage fails, and a failed order counts as a 5 s wait), and 15 for double "
             "charges. Which toggle keeps orders alive while payment is down, and which knob stops a second charge?",
        solution="Two changes to the naive hybrid: **pay → eda** (orders are accepted during the outage and paid "
                 "afterwards: nothing fails, so the points for lost orders and for the wait come back) and "
                 "**idempotent payment → True** (retries and redeliveries charge nobody twice). That is the hybrid "
                 "preset, about 94 points. Other passing designs keep notify or analytics synchronous (about 92) "
                 "or put the order on a queue too (about 92). No design with synchronous payment passes in this "
                 "scenario: the 15 s outage fails more than 5 % of orders.")

"""Notebook 09's charts of a design review, shared by the notebook's panels and the HTML report.

Each chart has a builder (``*_figure``, empty traces in the lab's style) and a filler (``show_*``) that writes
a :class:`~eda_sim.experiments.your_system.Review` into it, so a panel builds its figures once and refills
them in place on every run. :func:`figures` builds and fills all four at once (the report's path).

* ranked designs: stacked bars of points per criterion, the score's 95 % interval over seeds, designs not
  ranked (a step the answer needs is event-driven) marked;
* per rehearsed failure: requests lost and recovery time of the leaders, all R/R and all EDA;
* timeline (one seed) of the winner, all R/R and all EDA, the failure windows shaded;
* client wait (p50, p95, p99) against the time until the work is done, per design.
"""

from __future__ import annotations

import html
import math

import numpy as np
from plotly.subplots import make_subplots

from ....experiments.your_system import CRITERIA, METRIC, DesignRunParams, run_design
from ....experiments.your_system.verdict import WORDS
from ....sweep import t_quantile
from ... import plots

#: One colour per criterion (Paul Tol's "muted" palette: colour-blind safe, away from the R/R and EDA colours).
CRITERION_COLORS = dict(zip(CRITERIA, ("#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE", "#882255",
                                       "#44AA99", "#999933", "#AA4499"), strict=True))
WINNER = plots.COLORS["extra"]
OTHER = "#8C8C8C"
PLACED = "#BBBBBB"
TOP = 10  # ranked designs shown in the ranking chart (all R/R and all EDA always are)
NOT_RANKED_SHOWN = 3
BAR_HEIGHT = 26


def extremes(review) -> tuple[str, str]:
    """Codes of the all-R/R and all-EDA designs."""
    n = len(review.spec.interactions)
    return "r" * n, "e" * n


def display_name(review, code: str) -> str:
    """A design's label for charts: the winner and the two extremes say so."""
    rr, eda = extremes(review)
    label = review.label(code)
    if code == review.winner:
        return f"{label} (winner)"
    if code in (rr, eda) and not review.eligible(code):
        return f"{label} (not ranked)"
    return label


LEADERS = (plots.COLORS["extra2"], "#E69F00", "#56B4E9")  # the runner-up and the next ones, after the winner


def color_of(review, code: str) -> str:
    rr, eda = extremes(review)
    if code == review.winner:
        return WINNER
    return {rr: plots.COLORS["rr"], eda: plots.COLORS["eda"]}.get(code, OTHER)


def scores(review, weights=None):
    """Per design (rows, in the order tried): mean score and its 95 % t interval over seeds under ``weights``."""
    import pandas as pd

    per_seed = review._seed_points(weights or review.weights).sum(axis=1).unstack("seed")
    rows = {}
    for code, values in per_seed.iterrows():
        x = values.to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        mean = float(x.mean()) if len(x) else math.nan
        half = (t_quantile(0.975, len(x) - 1) * float(x.std(ddof=1)) / math.sqrt(len(x))) if len(x) > 1 else math.nan
        rows[code] = {"score": mean, "low": mean - half, "high": mean + half}
    return pd.DataFrame.from_dict(rows, orient="index").reindex(review.means.index)


def shown_designs(review, weights=None) -> list[str]:
    """The designs the ranking chart shows, best first: the top ranked, all R/R and all EDA, then the best
    designs that are not ranked."""
    ranked = review.ranking(weights)
    shown = ranked[:TOP]
    for code in extremes(review):
        if code in ranked and code not in shown:
            shown.append(code)
    totals = review.points(weights)["total"]
    barred = [c for c in totals.sort_values(ascending=False, kind="stable").index if not review.eligible(c)]
    return shown + barred[:NOT_RANKED_SHOWN]


# -- (a) ranked designs -----------------------------------------------------------------------------------
def ranking_figure() -> plots.LabFigure:
    fig = plots.figure("Designs ranked by score", "points (◆ score, 95 % interval over seeds; | full marks)",
                       "design", height=420)
    fig.layout.margin.t = 140  # room for the legend's rows on a narrow page or a printed one
    for c in CRITERIA:
        plots.bar(fig, WORDS[c], color=CRITERION_COLORS[c])
        fig.data[-1].update(orientation="h", hovertemplate=f"{WORDS[c]}: %{{x:.1f}} points<extra>%{{y}}</extra>")
    plots.line(fig, "score (95 % interval)", mode="markers", color=plots.COLORS["neutral"])
    fig.data[-1].update(marker=dict(size=7, symbol="diamond"), showlegend=False,
                        error_x=dict(type="data", symmetric=False, array=[], arrayminus=[], thickness=1.5,
                                     color=plots.COLORS["neutral"]),
                        hovertemplate="score %{x:.1f}<extra>%{y}</extra>")
    plots.line(fig, "all weights (full marks)", mode="markers", color=plots.COLORS["neutral"])
    fig.data[-1].update(marker=dict(symbol="line-ns-open", size=18, line=dict(width=2)), showlegend=False,
                        hovertemplate="full marks: %{x:.0f}<extra></extra>")
    fig.layout.update(barmode="stack", bargap=0.3)
    fig.layout.yaxis.update(autorange="reversed", title=None, automargin=True)
    fig.layout.legend.update(traceorder="normal", font=dict(size=11))
    return fig


def show_ranking(fig, review, weights=None) -> None:
    """Fill :func:`ranking_figure` with ``review`` scored under ``weights`` (None: the review's own)."""
    weights = dict(weights or review.weights)
    codes = shown_designs(review, weights)
    pts = review.points(weights)
    ranked = review.ranking(weights)
    labels = []
    for code in codes:
        if code in ranked:
            labels.append(f"{ranked.index(code) + 1}. {review.label(code)}")
        else:
            labels.append(f"✗ {review.label(code)} (not ranked)")
    ci = scores(review, weights).loc[codes]
    full = sum(weights.values())
    with fig.batch_update():
        for c in CRITERIA:
            plots.set_xy(fig, WORDS[c], pts.loc[codes, c].to_numpy(dtype=float), labels)
        dots = fig.data[plots.trace_index(fig, "score (95 % interval)")]
        dots.x, dots.y = ci["score"].to_numpy(dtype=float), labels
        dots.error_x.array = _finite(ci["high"] - ci["score"])
        dots.error_x.arrayminus = _finite(ci["score"] - ci["low"])
        plots.set_xy(fig, "all weights (full marks)", [full] * len(codes), labels)
        fig.layout.height = 150 + BAR_HEIGHT * len(codes)
        fig.layout.xaxis.range = [0, full * 1.04 or 1]
        win = ranked[0]
        fig.layout.title.text = (f"Designs ranked by score: {review.label(win)} wins with {pts.loc[win, 'total']:.1f} "
                                 f"of {full:.0f}")


# -- (b) rehearsed failures -------------------------------------------------------------------------------
def failure_designs(review, top: int = 3) -> list[str]:
    """The designs the failure chart compares: the first ``top`` ranked, then all R/R and all EDA."""
    return list(dict.fromkeys([*review.ranking()[:top], *extremes(review)]))


def failures_figure() -> plots.LabFigure:
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12, figure=plots.LabFigure(),
                        subplot_titles=("Requests lost or failed among those that arrived during the failure",
                                        "Recovery: seconds until the backlog was back to normal"))
    fig.layout.update(template=plots.TEMPLATE, height=480, barmode="group", margin=dict(l=64, r=16, t=130, b=52),
                      title=dict(text="Rehearsed failures", x=0.0, xanchor="left", y=0.99, yanchor="top",
                                 font=dict(size=15)),
                      legend=dict(orientation="h", x=0.0, xanchor="left", y=1.06, yanchor="bottom",
                                  font=dict(size=11)), uirevision="keep")
    for annotation in fig.layout.annotations:
        annotation.update(x=0.0, xanchor="left", font=dict(size=12))
    fig.update_yaxes(title_text="requests", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="recovery (s)", rangemode="tozero", row=2, col=1)
    fig.update_xaxes(title_text="rehearsed failure", row=2, col=1)
    for k in range(5):  # slots: a figure keeps its traces; a review fills as many as it compares
        for row, key in ((1, "lost"), (2, "recovery")):
            fig.add_bar(x=[], y=[], name=f"slot {k}: {key}", legendgroup=f"slot {k}", showlegend=row == 1,
                        row=row, col=1)
    return fig


def show_failures(fig, review) -> None:
    spec, means = review.spec, review.means
    names = [f.name for f in spec.failures]
    codes = failure_designs(review)
    with fig.batch_update():
        for k in range(5):
            lost, recovery = fig.data[2 * k], fig.data[2 * k + 1]
            if k < len(codes) and names:
                code = codes[k]
                color = color_of(review, code)
                if color == OTHER:  # two or three leaders besides the winner: tell them apart
                    color = LEADERS[min(k, len(LEADERS) - 1)]
                label = display_name(review, code)
                lost.update(x=names, y=[float(means.loc[code, f"lost_in_failure_{i}"]) for i in range(len(names))],
                            name=label, marker_color=color, visible=True,
                            hovertemplate="%{y:.0f} lost<extra>%{fullData.name}</extra>")
                recovery.update(x=names, y=_finite([means.loc[code, f"recovery_{i}"] for i in range(len(names))]),
                                name=label, marker_color=color, visible=True,
                                hovertemplate="%{y:.1f} s<extra>%{fullData.name}</extra>")
            else:
                for trace in (lost, recovery):
                    trace.update(x=[], y=[], visible=False)
        fig.layout.title.text = ("Rehearsed failures: the leaders, all R/R and all EDA (means over seeds)"
                                 if names else "No failure rehearsed in this description")


# -- (c) timeline -------------------------------------------------------------------------------------------
TIMELINE_ROWS = ("Requests per second: placed (grey) and answered in full (lines)",
                 "Requests lost or failed per second",
                 "Client wait, 95th percentile (s, log scale; a failed request counts as the timeout)")


def timeline_designs(review) -> list[str]:
    """Winner, all R/R and all EDA (each once)."""
    return list(dict.fromkeys([review.winner, *extremes(review)]))


def timeline_figure() -> plots.LabFigure:
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.08, subplot_titles=TIMELINE_ROWS,
                        figure=plots.LabFigure())
    fig.layout.update(template=plots.TEMPLATE, height=660, margin=dict(l=64, r=16, t=130, b=52),
                      title=dict(text="Through the run", x=0.0, xanchor="left", y=0.99, yanchor="top",
                                 font=dict(size=15)),
                      legend=dict(orientation="h", x=0.0, xanchor="left", y=1.045, yanchor="bottom",
                                  font=dict(size=11)), uirevision="keep")
    for annotation in fig.layout.annotations:
        annotation.update(x=0.0, xanchor="left", font=dict(size=12))
    fig.add_scatter(x=[], y=[], name="placed", mode="lines", fill="tozeroy", line=dict(color=PLACED, width=1),
                    legendgroup="placed", row=1, col=1)
    for k in range(3):
        for row, key in ((1, "ok"), (2, "lost"), (3, "wait")):
            fig.add_scatter(x=[], y=[], name=f"slot {k}: {key}", mode="lines", legendgroup=f"slot {k}",
                            showlegend=row == 1, line=dict(width=2), row=row, col=1)
    fig.update_yaxes(title_text="requests/s", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="lost/s", rangemode="tozero", row=2, col=1)
    fig.update_yaxes(title_text="wait (s)", type="log", dtick=1, exponentformat="none", row=3, col=1)
    fig.update_xaxes(title_text="time (s)", row=3, col=1)
    return fig


def show_timeline(fig, review, seed: int | None = None) -> None:
    """Runs the winner, all R/R and all EDA once on ``seed`` (the review's first seed) and draws them."""
    spec = review.spec
    seed = review.seeds[0] if seed is None else seed
    codes = timeline_designs(review)
    lines = {code: run_design(DesignRunParams(spec=spec, design=code, seed=seed)).timeline() for code in codes}
    first = lines[codes[0]]
    dashes = {0: None, 1: "dot", 2: "dash"}
    with fig.batch_update():
        plots.set_xy(fig, "placed", first["time"].to_numpy(), first["placed_per_s"].to_numpy())
        for k in range(3):
            traces = fig.data[1 + 3 * k: 4 + 3 * k]
            if k < len(codes):
                code, line = codes[k], lines[codes[k]]
                t = line["time"].to_numpy()
                label = display_name(review, code)
                style = dict(color=color_of(review, code), dash=dashes[k], width=2.5 if k == 0 else 1.8)
                for trace, column in zip(traces, ("ok_per_s", "lost_per_s", "wait_p95"), strict=True):
                    trace.update(x=t, y=_finite(line[column].to_numpy()), name=label, line=style, visible=True)
            else:
                for trace in traces:
                    trace.update(x=[], y=[], visible=False)
    # One band per rehearsed failure through all three rows, its name at the top (set outside batch_update:
    # shapes replaced inside it lose their properties).
    fig.layout.shapes = [dict(type="rect", xref="x", yref="paper", x0=f.start, x1=f.end, y0=0, y1=1, layer="below",
                              line_width=0, fillcolor=plots.COLORS["outage"], opacity=0.2, name=f.name)
                         for f in spec.failures]
    fig.layout.annotations = [*fig.layout.annotations[:len(TIMELINE_ROWS)], *[
        dict(x=f.start, xref="x", y=1.0, yref="paper", yanchor="top", xanchor="left", showarrow=False,
             text=_wrap(f.name), align="left", font=dict(size=10, color=plots.COLORS["neutral"]))
        for f in spec.failures]]
    with fig.batch_update():
        fig.update_xaxes(range=[0, spec.workload.until])
        fig.layout.title.text = f"Through the run (seed {seed}, 2-second bins by arrival time)"


# -- (d) client wait against time until done -------------------------------------------------------------
def wait_figure() -> plots.LabFigure:
    fig = plots.figure("Client wait against time until the work is done",
                       "time until every step is done, 95th percentile (s)",
                       "client wait (s, log scale): dot p95, bar p50 to p99", height=420)
    for name, color in (("other designs", OTHER), ("not ranked", OTHER), ("all R/R", plots.COLORS["rr"]),
                        ("all EDA", plots.COLORS["eda"]), ("winner", WINNER)):
        plots.line(fig, name, mode="markers", color=color)
        fig.data[-1].update(marker=dict(size=12 if name == "winner" else 9, color=color,
                                        symbol="circle-open" if name == "not ranked" else "circle",
                                        line=dict(width=1.5, color=color)),
                            error_y=dict(type="data", symmetric=False, array=[], arrayminus=[], thickness=1,
                                         width=0, color=color),
                            hovertemplate="%{text}<br>wait p95 %{y:.3f} s, done p95 %{x:.2f} s<extra></extra>")
    fig.layout.yaxis.update(type="log", dtick=1, exponentformat="none")
    fig.layout.xaxis.update(rangemode="tozero")
    return fig


def show_wait(fig, review) -> None:
    m = review.means
    rr, eda = extremes(review)
    groups = {"other designs": [], "not ranked": [], "all R/R": [], "all EDA": [], "winner": []}
    for code in m.index:
        if code == review.winner:
            groups["winner"].append(code)
        elif code == rr:
            groups["all R/R"].append(code)
        elif code == eda:
            groups["all EDA"].append(code)
        elif not review.eligible(code):
            groups["not ranked"].append(code)
        else:
            groups["other designs"].append(code)
    with fig.batch_update():
        for name, codes in groups.items():
            trace = fig.data[plots.trace_index(fig, name)]
            p50, p95, p99 = (m.loc[codes, k].to_numpy(dtype=float) for k in ("wait_p50", "wait_p95", "wait_p99"))
            trace.x = _finite(m.loc[codes, "done_p95"].to_numpy(dtype=float))
            trace.y = _finite(p95)
            trace.text = [review.label(c) for c in codes]
            trace.error_y.array = _finite(p99 - p95)
            trace.error_y.arrayminus = _finite(p95 - p50)
            trace.showlegend = bool(codes)


def figures(review) -> dict[str, plots.LabFigure]:
    """All four charts of ``review``, filled (the report's path; the panels keep theirs and refill them)."""
    out = {"ranking": ranking_figure(), "failures": failures_figure(), "timeline": timeline_figure(),
           "wait": wait_figure()}
    show_ranking(out["ranking"], review)
    show_failures(out["failures"], review)
    show_timeline(out["timeline"], review)
    show_wait(out["wait"], review)
    return out


def _finite(values) -> list:
    """NaN and infinite values as gaps (None), everything else as float."""
    return [None if x is None or not math.isfinite(float(x)) else float(x) for x in np.asarray(values, dtype=float)]


def _wrap(text: str, width: int = 18) -> str:
    """A failure's name on lines of at most ``width`` characters (``<br>`` between them)."""
    words, lines = html.escape(text).split(), [""]
    for w in words:
        if lines[-1] and len(lines[-1]) + 1 + len(w) > width:
            lines.append(w)
        else:
            lines[-1] = f"{lines[-1]} {w}".strip()
    return "<br>".join(lines)


__all__ = ["CRITERION_COLORS", "METRIC", "figures", "ranking_figure", "show_ranking", "failures_figure",
           "show_failures", "timeline_figure", "show_timeline", "wait_figure", "show_wait", "scores",
           "shown_designs"]

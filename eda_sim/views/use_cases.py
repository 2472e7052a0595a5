"""Notebook 06 (when to use what): the measured scorecard beside the guide's table, and one row up close."""

from __future__ import annotations

import math
import time

import ipywidgets as widgets
from plotly.subplots import make_subplots

from .. import plots
from ..experiments import get
from ..experiments.use_cases import ARCHS, CASE_NAMES, CASES, CRITERIA, GUIDE, TIME_MEANING, closed_form_rows
from ..panel import ControlPanel, _status
from ..sweep import progress_to

ARCH_SHORT = {"rr": "R/R", "eda": "EDA"}
ROWS = [CASE_NAMES[c] for c in CASES]
COLUMNS = [plots.LABELS[a] for a in ARCHS]
SCORE_SCALE = [[0.0, "#f7f7f7"], [1.0, "#7fbc41"]]  # 0: pale grey, 1: green (dark text stays readable)
GUIDE_COLORS = {"✅": "#b8e186", "⚠️": "#fde0b0"}
GUIDE_GLYPH = {"✅": "✔", "⚠️": "⚠"}  # text glyphs every font has (the emoji need an emoji font)
AGREE_COLORS = [[0.0, "#f4a582"], [1.0, "#e6e6e6"]]  # differs: salmon; agrees: light grey
LABEL_SIDE = {"rr": "middle left", "eda": "middle right"}  # values written outwards: equal values never collide
SUBPLOT_TITLES = {  # short titles of the detail chart's panels, with units
    "speed": "time (s)",
    "throughput": "work done (share)",
    "resilience": "done, with outage (share)",
    "load": "source requests per unit",
    "simplicity": "moving parts (count)",
}


def _guide_text(case: str, arch: str) -> str:
    mark, comment = GUIDE[case][arch]
    return f"{GUIDE_GLYPH[mark]} {comment.replace(' / ', ' /<br>')}".strip()


def _style(fig: plots.LabFigure, title: str, height: int) -> None:
    fig.update_layout(template=plots.TEMPLATE, height=height, title=dict(text=title, x=0.0, xanchor="left",
                                                                          font=dict(size=15)),
                      margin=dict(l=16, r=16, t=96, b=40))


def scorecard_figure() -> plots.LabFigure:
    """Three heatmaps side by side, one row per use case: the measured weighted scores (R/R, EDA), the
    guide's ✅/⚠️, and whether the measured winner is the guide's pick."""
    base = make_subplots(rows=1, cols=3, shared_yaxes=True, column_widths=[0.44, 0.40, 0.16],
                         horizontal_spacing=0.015,
                         subplot_titles=("measured: weighted score (0–1), your weights", "the guide's table",
                                         "same pick?"))
    fig = plots.LabFigure(base)
    empty = [[0.0, 0.0] for _ in CASES]
    fig.add_heatmap(z=empty, x=COLUMNS, y=ROWS, zmin=0, zmax=1, colorscale=SCORE_SCALE, name="measured",
                    text=[["", ""] for _ in CASES], texttemplate="%{text}", textfont=dict(size=13), showscale=False,
                    hovertemplate="%{y}<br>%{x}: %{z:.2f}<extra></extra>", row=1, col=1)
    marks = [[GUIDE[c][a][0] for a in ARCHS] for c in CASES]
    fig.add_heatmap(z=[[1.0 if m == "✅" else 0.0 for m in row] for row in marks], x=COLUMNS, y=ROWS,
                    zmin=0, zmax=1, colorscale=[[0.0, GUIDE_COLORS["⚠️"]], [1.0, GUIDE_COLORS["✅"]]],
                    showscale=False, name="guide", texttemplate="%{text}", textfont=dict(size=13),
                    text=[[_guide_text(c, a) for a in ARCHS] for c in CASES],
                    hovertemplate="%{y}<br>%{x}: %{text}<extra>the guide</extra>", row=1, col=2)
    fig.add_heatmap(z=[[1.0] for _ in CASES], x=["measured = guide"], y=ROWS, zmin=0, zmax=1,
                    colorscale=AGREE_COLORS, showscale=False, name="agreement", texttemplate="%{text}",
                    text=[[""] for _ in CASES], textfont=dict(size=13),
                    hovertemplate="%{y}: %{text}<extra></extra>", row=1, col=3)
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_yaxes(side="left", row=1, col=1)
    fig.update_xaxes(side="bottom", showgrid=False)
    _style(fig, "When to use what: measured scores beside the guide's ticks", 380)
    fig.update_layout(margin=dict(l=250, r=16, t=96, b=40))
    return fig


def update_scorecard(fig, card) -> None:
    """Write a :class:`~eda_sim.experiments.use_cases.Scorecard`'s weighted scores into the heatmaps."""
    w = card.weighted
    z, text, agree, verdict = [], [], [], []
    for case in CASES:
        row = [w[case][a] for a in ARCHS]
        z.append(row)
        win = card.winner(case)
        cells = []
        for a in ARCHS:
            label = f"<b>{w[case][a]:.2f}</b>"
            if a == win:
                label += f"<br>wins by {card.margin(case):.2f}" if card.margin(case) >= 0.005 else "<br>tie"
            cells.append(label)
        text.append(cells)
        ok = card.agrees(case)
        agree.append([1.0 if ok else 0.0])
        verdict.append(["yes" if ok else f"no: {ARCH_SHORT[win]} wins"])
    fig.data[0].z, fig.data[0].text = z, text
    fig.data[2].z, fig.data[2].text = agree, verdict


def detail_figure() -> plots.LabFigure:
    """One panel per criterion: the raw measured mean for R/R and EDA, with its 95 % interval."""
    names = list(CRITERIA)
    base = make_subplots(rows=1, cols=len(names), horizontal_spacing=0.06,
                         subplot_titles=[SUBPLOT_TITLES[n] for n in names])
    fig = plots.LabFigure(base)
    for i, name in enumerate(names):
        for arch in ARCHS:
            fig.add_scatter(x=[ARCH_SHORT[arch]], y=[0.0], mode="markers+text", name=plots.LABELS[arch],
                            showlegend=False, marker=dict(color=plots.COLORS[arch], size=11),
                            error_y=dict(type="data", symmetric=False, array=[0.0], arrayminus=[0.0], width=6,
                                         color=plots.COLORS[arch]),
                            text=[""], textposition=LABEL_SIDE[arch], cliponaxis=False,
                            hovertemplate=f"{SUBPLOT_TITLES[name]}<br>%{{x}}: %{{y:.4g}}<extra></extra>",
                            row=1, col=i + 1)
        tick = dict(symbol="line-ew", size=26, color=plots.COLORS["theory"],
                    line=dict(width=2.5, color=plots.COLORS["theory"]))
        fig.add_scatter(x=[], y=[], mode="markers", name="closed form", showlegend=False, marker=tick,
                        hovertemplate="closed form: %{y:.4g}<extra></extra>", row=1, col=i + 1)
        fig.update_yaxes(rangemode="tozero", row=1, col=i + 1)
        if CRITERIA[name].kind == "share":
            fig.update_yaxes(range=[0, 1.08], row=1, col=i + 1)
    fig.update_xaxes(range=[-1.6, 2.1])
    fig.update_annotations(font=dict(size=12))  # the panel titles
    _style(fig, "", 340)
    fig.update_layout(margin=dict(l=40, r=16, t=100, b=40))
    return fig


def _fmt(x: float, unit: str) -> str:
    if not math.isfinite(x):
        return "n/a"
    if unit == "s":
        return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.1f} s"
    if unit == "share":
        return f"{x:.0%}"
    return f"{x:.2f}".rstrip("0").rstrip(".")


def update_detail(fig, card, case: str) -> None:
    """Write one row's means and intervals (from the sweep's table) into :func:`detail_figure`, with the
    closed forms of that row where there are some."""
    theory = {(r["arch"], r["key"]): r["theory"] for r in closed_form_rows(card) if r["case"] == case}
    per = len(ARCHS) + 1  # traces per panel: one per architecture, then the closed form
    for i, c in enumerate(CRITERIA.values()):
        known = [a for a in ARCHS if (a, c.key) in theory]
        plots.set_xy(fig, per * i + len(ARCHS), [ARCH_SHORT[a] for a in known], [theory[(a, c.key)] for a in known])
        for j, arch in enumerate(ARCHS):
            mean = card.stat(case, arch, c.key)
            lo, hi = card.stat(case, arch, c.key, "ci_low"), card.stat(case, arch, c.key, "ci_high")
            trace = fig.data[per * i + j]
            trace.y = [mean]
            trace.error_y.array = [max(hi - mean, 0.0) if math.isfinite(hi) else 0.0]
            trace.error_y.arrayminus = [max(mean - lo, 0.0) if math.isfinite(lo) else 0.0]
            pad = "    "  # clear of the closed form's tick
            trace.text = [_fmt(mean, c.unit) + pad if LABEL_SIDE[arch] == "middle left" else pad + _fmt(mean, c.unit)]
    n = len(card.params.seeds)
    fig.layout.title.text = (f"{CASE_NAMES[case]}: what was measured (mean of {n} seeds, 95 % interval)<br>"
                             f"<sup>time that matters here: {TIME_MEANING[case]}"
                             + (" · grey tick: a back-of-the-envelope closed form" if theory else "") + "</sup>")


def panel(**overrides) -> ControlPanel:
    """Weights for the five criteria, the precision (seeds per row) and the row shown in detail.

    The grid of runs is measured once per precision (through ``eda_sim.sweep``) and cached, so moving a
    weight or choosing another row only recomputes the scores.
    """
    exp = get("scorecard")
    params = exp.make_params(**overrides)
    heat, detail = scorecard_figure(), detail_figure()

    def update(card):
        update_scorecard(heat, card)
        update_detail(detail, card, card.params.detail)

    def run(params):
        """The experiment, with the grid's progress in the status line when it has to be measured (the
        first time at a precision: "full" takes a second or two; cached afterwards)."""
        start = time.perf_counter()

        def report(done: int, total: int) -> None:
            if p is None:
                return  # the panel's first run, before its status line exists
            elapsed = time.perf_counter() - start
            left = f", about {elapsed / done * (total - done):.1f} s left" if done else ""
            p.status.value = _status(f"measuring the {params.precision} grid ({len(params.seeds)} seeds per row, "
                                     f"once, then cached): run {done} of {total}, {elapsed:.1f} s{left}…")

        with progress_to(report):
            return exp.run(params)

    p = None
    p = ControlPanel(run, params, exp.sliders, update, [heat, detail], name="scorecard", show_figures=False)
    p.widget = widgets.VBox([p.controls_box, heat.widget, detail.widget])
    return p


# -- where the guide's verdict flips --------------------------------------------------------------------------
def flips_figure(flips) -> plots.LabFigure:
    """Weighted scores of R/R and EDA at the default setting (open circles) and after one change (filled),
    per scenario (``flips``: the table of :func:`eda_sim.experiments.use_cases.flips`), with the winners."""
    fig = plots.figure("Change one thing and the verdict flips", "weighted score (0–1, equal weights)",
                       "scenario", height=120 + 80 * len(flips))
    labels = list(flips.index)
    offset = {"rr": -0.13, "eda": 0.13}  # R/R just above the scenario's line, EDA just below
    for arch in ARCHS:
        y = [i + offset[arch] for i in range(len(labels))]
        for when, symbol in (("default", "circle-open"), ("changed", "circle")):
            fig.add_scatter(x=flips[f"{arch}_{when}"].astype(float).to_numpy(), y=y, mode="markers",
                            name=f"{plots.LABELS[arch]}, {when}",
                            marker=dict(color=plots.COLORS[arch], size=12, symbol=symbol, line=dict(width=2)),
                            hovertemplate="%{x:.2f}<extra>%{fullData.name}</extra>")
        for yi, label in zip(y, labels, strict=True):
            a, b = float(flips.loc[label, f"{arch}_default"]), float(flips.loc[label, f"{arch}_changed"])
            if abs(b - a) > 0.01:
                fig.add_annotation(x=b, y=yi, ax=a, ay=yi, xref="x", yref="y", axref="x", ayref="y", text="",
                                   showarrow=True, arrowhead=2, arrowsize=1.2, arrowwidth=1.5,
                                   arrowcolor=plots.COLORS[arch], standoff=7)
    for i, label in enumerate(labels):
        row = flips.loc[label]
        fig.add_annotation(x=1.015, y=i, xref="x", yref="y", xanchor="left", showarrow=False, align="left",
                           text=f"winner: {row.winner_default} → <b>{row.winner_changed}</b>",
                           font=dict(size=12, color=plots.COLORS["neutral"]))
    fig.update_yaxes(tickvals=list(range(len(labels))), ticktext=labels, autorange="reversed", title=None,
                     showgrid=False)
    fig.update_xaxes(range=[0.4, 1.16], tickvals=[0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    fig.update_layout(margin=dict(l=330))
    return fig


PANELS = {"panel": panel}

"""Notebook 06 (when to use what): the measured scorecard beside the guide's table, and one row up close."""

from __future__ import annotations

import math
import time

import ipywidgets as widgets
import pandas as pd
from IPython.display import display
from plotly.subplots import make_subplots

from ... import validate as v
from ...experiments import get
from ...experiments.use_cases import (
    ARCHS,
    CASE_NAMES,
    CASES,
    CRITERIA,
    GUIDE,
    TIME_MEANING,
    Scorecard,
    ScorecardParams,
    closed_form_rows,
)
from ...sweep import progress_to
from .. import plots, tables
from ..exercises import LiveExercise, Prediction
from ..panel import ControlPanel, _status

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
    # The winners go into the row labels (a note beside the plot area was cut off on narrow pages, leaving
    # "winner: EDA" where the winner had flipped to R/R).
    ticktext = [f"{label}<br><b>winner: {flips.loc[label, 'winner_default']} → "
                f"{flips.loc[label, 'winner_changed']}</b>" for label in labels]
    fig.update_yaxes(tickvals=list(range(len(labels))), ticktext=ticktext, autorange="reversed", title=None,
                     showgrid=False)
    fig.update_xaxes(range=[0.4, 1.03], tickvals=[0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    fig.update_layout(margin=dict(l=330))
    return fig


PANELS = {"panel": panel}


# -- the lesson: the prediction, its reveal, the explanations and the exercises of notebook 06 -------------------
# The questions live here, beside the panels, so a learner reading the notebook's code cells does not read the
# answers. Every number in the texts below is computed from a run when the text is shown.
AGREE_OPTIONS = ("all 5 rows", "4 rows", "3 rows", "2 rows or fewer")
PREDICTIONS = {
    "rows that agree": ("With equal weights, the measured winner is the architecture the guide ticks in:",
                        AGREE_OPTIONS),
}


def prediction(key: str) -> Prediction:
    """The notebook's prediction ``key`` (see :data:`PREDICTIONS`)."""
    prompt, options = PREDICTIONS[key]
    return Prediction(prompt, options)


def equal_weights(panel) -> Scorecard:
    """The scorecard at equal weights, with the panel's precision and seed (what the prediction asks about)."""
    p = panel.params if panel is not None else ScorecardParams()
    return get("scorecard")(**{f"w_{name}": 1.0 for name in CRITERIA}, precision=p.precision, seed=p.seed)


def agreement_option(card: Scorecard) -> str:
    """The prediction option that describes ``card``: in how many rows the measured winner is the guide's pick."""
    agree = sum(card.agrees(case) for case in CASES)
    return {5: "all 5 rows", 4: "4 rows", 3: "3 rows"}.get(agree, "2 rows or fewer")


def scores_table(card: Scorecard, caption: str | None = None):
    """The weighted scores of every row, the measured winner, its margin and the guide's pick, tidy."""
    table = card.table().rename(columns={"guide's ✅": "guide's pick"})  # the emoji needs an emoji font
    table["agrees"] = table["agrees"].map({True: "yes", False: "no"})
    return tables.tidy(table, decimals=2, caption=caption)


def reveal(prediction: Prediction, panel) -> widgets.Widget:
    """Give the prediction its verdict (equal weights, the panel's seed and precision) and return the table that
    answers it, held back until the learner has recorded a guess."""
    card = equal_weights(panel)
    prediction.reveal(agreement_option(card))
    n = len(card.params.seeds)
    return prediction.after(lambda: scores_table(
        card, f"Equal weights, {n} seeds per row (seeds {card.params.seeds[0]}–{card.params.seeds[-1]}): "
              f"the measured winner is the guide's pick in {sum(card.agrees(c) for c in CASES)} of 5 rows."))


def _ms_or_s(x: float) -> str:
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.1f} s"


def explanation(card: Scorecard) -> str:
    """Row by row, why each architecture scored what it did (Markdown, numbers from ``card``)."""
    s = card.stat
    parts = {a: {c: int(s(c, a, "moving_parts")) for c in CASES} for a in ARCHS}
    agree = sum(card.agrees(c) for c in CASES)
    margins = [card.margin(c) for c in CASES]
    lines = [
        f"At equal weights the measured winner is the guide's pick in **{agree} of 5 rows**, by margins of "
        f"{min(margins):.2f} to {max(margins):.2f} on a 0–1 scale: verdicts, not knockouts.",
        "",
        f"- **Simple CRUD.** R/R answers in about {_ms_or_s(s('crud', 'rr', 'time_s'))} (p95), EDA in about "
        f"{_ms_or_s(s('crud', 'eda', 'time_s'))}: the command's publish and the reply's hop are two short broker "
        f"trips. EDA's real cost here is **{parts['eda']['crud']} moving parts instead of {parts['rr']['crud']}**. "
        f"With the records service down for 5 s both keep about {s('crud', 'rr', 'outage_share'):.0%} of the "
        "requests: a client that needs the answer now gives up after 1 s, queue or no queue.",
        f"- **High-throughput async.** The burst brings 30 jobs/s to workers that do 20/s. R/R refuses what its "
        f"queue of 20 cannot hold: it does {s('async', 'rr', 'done_share'):.0%} of the jobs "
        f"({s('async', 'rr', 'outage_share'):.0%} with the outage), and its p95 of about "
        f"{s('async', 'rr', 'time_s'):.0f} s is the lost jobs, counted as done at the end of the run. EDA accepts "
        f"everything; 95 % of its jobs are done within about {s('async', 'eda', 'time_s'):.1f} s.",
        f"- **Multi-service integration.** The R/R caller waits for the slowest of 4 parallel calls (about "
        f"{_ms_or_s(s('integration', 'rr', 'time_s'))} at p95) against "
        f"{_ms_or_s(s('integration', 'eda', 'time_s'))} for the broker's acknowledgement; each R/R service reads "
        f"the order back ({s('integration', 'rr', 'source_requests'):.0f} queries per order against "
        f"{s('integration', 'eda', 'source_requests'):.0f}); one service down fails "
        f"{1 - s('integration', 'rr', 'outage_share'):.0%} of the R/R orders and none in EDA. The price: "
        f"{parts['eda']['integration']} moving parts against {parts['rr']['integration']}.",
        f"- **Real-time notifications.** Polling every 4 s adds a delay uniform on (0, 4 s): p95 about "
        f"{s('notify', 'rr', 'time_s'):.1f} s (0.95 × 4 s = 3.8 s). Push leaves only the notifier's own "
        f"processing, about {s('notify', 'eda', 'time_s'):.2f} s.",
        f"- **Offline or batch.** The replay takes about {s('batch', 'eda', 'time_s'):.1f} s, the backfill "
        f"{s('batch', 'rr', 'time_s'):.1f} s, because it reads every past order back from the database: "
        f"{s('batch', 'rr', 'source_requests'):.0f} queries per order against "
        f"{s('batch', 'eda', 'source_requests'):.0f}.",
    ]
    return "\n".join(lines)


def explain(prediction: Prediction, panel) -> widgets.Widget:
    """The row-by-row explanation at equal weights, shown once the prediction is recorded."""
    return prediction.after(lambda: explanation(equal_weights(panel)))


def overview_table(card: Scorecard):
    """Every row's measured means and 0–1 scores, tidy (NaN shown as "–")."""
    return tables.tidy(card.overview(), decimals=3,
                       caption=f"Equal weights, seeds {card.params.seeds[0]}–{card.params.seeds[-1]}: "
                               "the mean of each criterion and its 0–1 score")


def closed_forms_table(card: Scorecard):
    """The closed forms beside the measured means, tidy."""
    from ...experiments.use_cases import closed_forms

    return tables.tidy(closed_forms(card), decimals=3,
                       caption="Back-of-the-envelope values (the grey ticks of the detail chart) beside the means")


def only_table(panel, criterion: str):
    """The scorecard with all the weight on one criterion (the panel's seed and precision), tidy. The panel
    itself is not moved."""
    v.choice("criterion", criterion, tuple(CRITERIA))
    p = panel.params
    card = get("scorecard")(**{f"w_{name}": (5.0 if name == criterion else 0.0) for name in CRITERIA},
                            precision=p.precision, seed=p.seed)
    return scores_table(card, f"Only {CRITERIA[criterion].label} counts (weight 5, the others 0)")


def flips_view(prediction: Prediction) -> widgets.Widget:
    """The flips chart and its table (each shows a row's default winner, so they wait for the prediction)."""
    from ...experiments.use_cases import flips

    def build():
        table = flips()
        shown = pd.DataFrame({
            "change": table["change"].str.replace("'", ""),
            "R/R before": table["rr_default"], "EDA before": table["eda_default"],
            "R/R after": table["rr_changed"], "EDA after": table["eda_changed"],
            "winner": table["winner_default"] + " → " + table["winner_changed"]}, index=table.index)
        fig = flips_figure(table)
        out = widgets.Output()
        with out:
            display(tables.tidy(shown, decimals=2, caption="Weighted scores at equal weights, before and after "
                                                            "the change (the default seeds)"))
        return widgets.VBox([fig.widget, out])

    return prediction.after(build)


# -- the exercises ------------------------------------------------------------------------------------------
def tie_weight(panel, case: str = "notify", criterion: str = "simplicity") -> float:
    """The weight on ``criterion`` at which R/R and EDA tie in ``case``, the other weights 1, at the panel's
    seed and precision."""
    from ...experiments.use_cases import break_even

    return break_even(equal_weights(panel), case, criterion)


def _tie_solution(panel) -> str:
    card = equal_weights(panel)
    s = card.scores["notify"]
    w = tie_weight(panel)
    d_speed, d_load = s["eda"]["speed"] - s["rr"]["speed"], s["eda"]["load"] - s["rr"]["load"]
    d_simple = s["rr"]["simplicity"] - s["eda"]["simplicity"]
    return (f"**{w:.2f}** (seeds {card.params.seeds[0]}–{card.params.seeds[-1]}). Only speed, load and "
            f"simplicity separate the two. R/R's weighted sum minus EDA's is w × {d_simple:.2f} for simplicity "
            f"({s['rr']['simplicity']:.2f} against {s['eda']['simplicity']:.2f}), minus {d_speed:.2f} for speed "
            f"({s['rr']['speed']:.2f} against {s['eda']['speed']:.2f}) and {d_load:.2f} for the load "
            f"({s['rr']['load']:.2f} against {s['eda']['load']:.2f}). It is 0 at w = ({d_speed:.2f} + "
            f"{d_load:.2f}) / {d_simple:.2f} ≈ {w:.2f}: weigh simplicity about {w:.0f} times as much as speed "
            f"and R/R's {int(card.stat('notify', 'rr', 'moving_parts'))} parts beat EDA's "
            f"{int(card.stat('notify', 'eda', 'moving_parts'))}.")


def _check_tie(panel, value) -> tuple[bool, str]:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False, f"Type a number, e.g. 1.5 (got {value!r})."
    w = tie_weight(panel)
    if abs(value - w) <= 0.15:
        return True, f"Right: the two tie at a simplicity weight of about {w:.2f}."
    direction = "high" if value > w else "low"
    return False, (f"{value:g} is too {direction}. Write R/R's weighted score minus EDA's as a function of the "
                   "simplicity weight w and solve for 0.")


def _check_panel(panel) -> tuple[bool, str]:
    p = panel.params
    changed = [name for name in CRITERIA if getattr(p, f"w_{name}") != 1.0]
    if changed != ["simplicity"]:
        names = ", ".join(f"'weight: {CRITERIA[name].label}'" for name in changed) or "nothing"
        return False, f"Move only the slider 'weight: simplicity' (you changed: {names})."
    w = tie_weight(panel)
    if panel.result.winner("notify") != "rr":
        return False, f"At {p.w_simplicity:g} EDA still wins notifications: raise the simplicity weight."
    if p.w_simplicity - 0.5 > w:
        return False, f"R/R wins at {p.w_simplicity:g}, but a smaller simplicity weight would do: find the smallest."
    return True, f"Right: from {p.w_simplicity:g} on, R/R wins notifications (the tie is at {w:.2f})."


def _panel_solution(panel) -> str:
    w = tie_weight(panel)
    smallest = math.floor(w / 0.5) * 0.5 + 0.5
    return (f"The tie is at about {w:.2f}, so **{smallest:g}** is the smallest slider value (it moves in steps of "
            f"0.5): `panel.set(w_simplicity={smallest:g})` makes the notifications cell read R/R. Then "
            "`panel.reset()`.")


def exercise(key: str, panel):
    """The notebook's exercise ``key``: "tie weight" (type a number) or "set the panel" (checked on the panel)."""
    if key == "tie weight":
        return LiveExercise(
            "Keep every weight at 1 except **simplicity**. At what simplicity weight do R/R and EDA tie in the "
            "real-time notifications row? Work it out from that row's scores (pick *row in detail: notify*, or "
            "`panel.result.measurements('notify')`), type it and press Check.",
            check=lambda value: _check_tie(panel, value),
            solution=lambda: _tie_solution(panel),
            hint="A weighted score is Σ weight × score ÷ Σ weights; at a tie the two sums are equal. Speed, work "
                 "done, outage and load have weight 1: write R/R's sum minus EDA's as "
                 "w × (R/R's simplicity score − EDA's) + (the other criteria's differences) and solve for w.")
    if key == "set the panel":
        return LiveExercise(
            "Now set the panel: move only **weight: simplicity** to the smallest value on the slider that makes "
            "R/R win the notifications row, then press Check.",
            check=lambda: _check_panel(panel),
            solution=lambda: _panel_solution(panel),
            hint="The slider moves in steps of 0.5: take the first step above the tie you computed.")
    raise ValueError(f"exercise must be one of 'tie weight', 'set the panel', got {key!r}")

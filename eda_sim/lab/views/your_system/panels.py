"""Notebook 09's panels: the description editor that runs a design review, and the weights that re-rank it.

:class:`EditorPanel` holds a description's TOML in a text area (an example, or the learner's own), checks it
as it is edited (an error names its line and key, never a traceback), runs the review with a progress bar and
shows the four charts of :mod:`.charts`, the ranked table and the verdict. Reviews are remembered per text, so
going back to an example shows it again at once.

:func:`weights_panel` is a :class:`~eda_sim.lab.panel.ControlPanel` with one slider per criterion: a move
re-scores the designs already run (``Review.points(weights)``), it never runs them again.
"""

from __future__ import annotations

import html
import time
from collections import OrderedDict
from dataclasses import dataclass, fields

import ipywidgets as widgets
import pandas as pd

from .... import validate as v
from ....experiments.your_system import (
    CRITERIA,
    DEFAULT_WEIGHTS,
    EXAMPLES,
    DescriptionError,
    Review,
    cached_loads,
    example_text,
    review,
)
from ....experiments.your_system.verdict import WORDS
from ....sweep import progress_to
from ... import tables
from ...panel import ControlPanel, Slider
from . import charts

EXAMPLE_LABELS = {"food_delivery": "food delivery", "order_flow": "order flow", "notifications": "notifications",
                  "outage": "outage (03)"}
_GREEN, _RED, _GREY = "#1b7837", "#b2182b", "#6b6b6b"
CACHE_SIZE = 8
_REVIEWS: OrderedDict[str, Review] = OrderedDict()
STYLE = ("<style>.eda-toml textarea {font-family: ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace; "
         "font-size: 12.5px; line-height: 1.4; white-space: pre; tab-size: 4}</style>")


def source_name(text: str) -> str:
    """The name an error message gives the text: the example's file, or "your description"."""
    for name in EXAMPLES:
        if text == example_text(name):
            return f"{name}.toml"
    return "your description"


def reviewed(text: str, listener=None) -> Review:
    """The review of description ``text`` (remembered for the last :data:`CACHE_SIZE` texts).

    Raises :class:`DescriptionError` (a ValueError naming line and key) for a bad description, ValueError
    for one too large to review. ``listener(done, total)`` hears of each run (:func:`progress_to`)."""
    v.instance("text", text, str, "the description's TOML text")
    if text in _REVIEWS:
        _REVIEWS.move_to_end(text)
        return _REVIEWS[text]
    spec = cached_loads(text, source_name(text))
    if listener is None:
        result = review(spec, progress=False)
    else:
        with progress_to(listener):
            result = review(spec, progress=False)
    _REVIEWS[text] = result
    while len(_REVIEWS) > CACHE_SIZE:
        _REVIEWS.popitem(last=False)
    return result


def example_review(name: str = "food_delivery") -> Review:
    """The review of a bundled example (remembered)."""
    return reviewed(example_text(name))


# -- what a review shows besides the charts ------------------------------------------------------------------
TABLE_COLUMNS = {"rank": "rank", "design": "design", "score": "score", "interval": "95 % interval",
                 "wait_p50": "wait p50 (ms)", "wait_p95": "wait p95 (ms)", "wait_p99": "wait p99 (ms)",
                 "done_p95": "done p95 (s)", "lost_share": "lost (%)", "duplicates": "duplicates",
                 "out_of_order": "out of order", "fresh_share": "fresh in time (%)",
                 "recovery_worst": "worst recovery (s)", "db_queries_per_request": "DB queries/request",
                 "moving_parts": "moving parts"}
#: The columns the notebook shows (the report shows them all, and each interaction's style).
SHORT = ("rank", "design", "score", "interval", "wait_p95", "done_p95", "lost_share", "duplicates",
         "recovery_worst", "moving_parts")


def ranked_frame(r: Review, full: bool = False) -> pd.DataFrame:
    """The review's table for reading: units in the headers, waits in ms, shares in %, the score's interval as
    text; ``full`` adds every measure and each interaction's style (R/R or EDA)."""
    t = r.table()
    out = t.copy()
    out["interval"] = [f"{lo:.1f} to {hi:.1f}" if pd.notna(lo) else "–" for lo, hi in zip(t["score_low"],
                                                                                        t["score_high"], strict=True)]
    for key in ("wait_p50", "wait_p95", "wait_p99"):
        out[key] = out[key] * 1000
    for key in ("lost_share", "fresh_share"):
        out[key] = out[key] * 100
    out["rank"] = out["rank"].astype(float)
    out = out[list(TABLE_COLUMNS if full else SHORT)].rename(columns=TABLE_COLUMNS)
    if full:
        for k, i in enumerate(r.spec.interactions):
            out.insert(2 + k, i.name, t[i.name].map({"rr": "R/R", "eda": "EDA"}))
    return out


def ranked_table(r: Review, rows: int | None = 12):
    """:func:`ranked_frame` tidy (the first ``rows`` designs; None: all)."""
    frame = ranked_frame(r)
    shown = frame if rows is None or len(frame) <= rows else frame.head(rows)
    more = "" if len(shown) == len(frame) else f"; the first {rows} of {len(frame)} designs"
    caption = (f"Every design tried, best first (rank '–': not ranked, a step the answer needs is event-driven), "
               f"means over seeds {', '.join(map(str, r.seeds))}{more}")
    styled = tables.tidy(shown.reset_index(drop=True), decimals={c: 1 for c in shown.columns}, caption=caption)
    return styled.hide(axis="index")


def verdict_html(r: Review) -> str:
    """The verdict sentences as an HTML list (every sentence escaped: names come from the description)."""
    items = "".join(f"<li>{html.escape(s)}</li>" for s in r.reasons)
    return (f"<div style='border-left:4px solid {charts.WINNER}; padding:2px 10px; margin:6px 0'>"
            f"<b>Verdict</b><ul style='margin:4px 0; padding-left:1.2em'>{items}</ul></div>")


def _output(*items) -> widgets.Output:
    """Tables (Stylers) in an output area, as one widget."""
    out = widgets.Output()
    for item in items:
        out.append_display_data(item)
    return out


def _line(text: str, color: str = _GREY) -> str:
    return f"<span style='color:{color}; font-size:0.92em'>{html.escape(text)}</span>"


# -- the editor -----------------------------------------------------------------------------------------------
class EditorPanel:
    """Examples, the description's text, Validate / Run, the message line, a progress bar, then the charts,
    the table and the verdict. ``panel.review`` is the last review that ran; ``panel.error`` the last error."""

    def __init__(self, example: str = "order_flow", *, run: bool = True):
        v.choice("example", example, EXAMPLES)
        self.review: Review | None = None
        self.error: str | None = None
        self.last_s: float | None = None
        self._listeners: list = []
        self._quiet = False
        self.examples = widgets.ToggleButtons(options=[(EXAMPLE_LABELS[n], n) for n in EXAMPLES], value=example,
                                              description="example", style={"description_width": "5em"},
                                              tooltip="load a bundled example and review it")
        self.examples.observe(self._on_example, names="value")
        self.editor = widgets.Textarea(value=example_text(example), continuous_update=False,
                                       layout=widgets.Layout(width="100%", height="30em"))
        self.editor.add_class("eda-toml")
        self.editor.observe(lambda _: self.validate(), names="value")
        self.validate_button = widgets.Button(description="Validate", icon="check",
                                              tooltip="check the description without running it")
        self.validate_button.on_click(lambda _: self.validate())
        self.run_button = widgets.Button(description="Run the review", icon="play", button_style="primary",
                                         tooltip="run every design of the description on its seeds")
        self.run_button.on_click(lambda _: self.run())
        self.message = widgets.HTML()
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="runs",
                                            style={"description_width": "5em"},
                                            layout=widgets.Layout(width="24em", visibility="hidden"))
        self.progress_text = widgets.HTML()
        self.controls_box = widgets.VBox([
            widgets.HTML(STYLE), self.examples, self.editor,
            widgets.HBox([self.validate_button, self.run_button, self.message],
                         layout=widgets.Layout(align_items="center", flex_flow="row wrap")),
            widgets.HBox([self.progress, self.progress_text], layout=widgets.Layout(align_items="center"))])
        self.ranking, self.failures = charts.ranking_figure(), charts.failures_figure()
        self.timeline, self.wait = charts.timeline_figure(), charts.wait_figure()
        self.figures = (self.ranking, self.failures, self.timeline, self.wait)
        self.verdict = widgets.HTML()
        self.table = widgets.Output()
        self.widget = widgets.VBox([self.controls_box, self.ranking.widget, self.verdict, self.failures.widget,
                                    self.wait.widget, self.timeline.widget, self.table],
                                   layout=widgets.Layout(width="100%"))
        self.widget.add_class("eda-panel")  # how the browser test finds a panel and its charts
        if run:
            self.run()

    # ---- programmatic API ---------------------------------------------------------------------------
    @property
    def text(self) -> str:
        return self.editor.value

    @property
    def spec(self):
        """The description in the editor, or None when it does not read (see ``error``)."""
        return self.validate()

    def validate(self):
        """Read the text; show "ready" or the error (line, key, what was expected). Returns the spec or None."""
        try:
            spec = cached_loads(self.text, source_name(self.text))
        except (DescriptionError, ValueError, TypeError) as exc:
            self.error = str(exc)
            self.message.value = _line(f"⚠ {exc}", _RED)
            return None
        n = len(spec.interactions)
        self.error = None
        if not self._quiet:
            self.message.value = _line(f"✓ {spec.name}: {len(spec.services)} services, {n} interactions, "
                                       f"{len(spec.failures)} failures rehearsed, {len(spec.seeds)} seeds; "
                                       f"press Run the review", _GREEN)
        return spec

    def load_example(self, name: str) -> Review | None:
        """Put example ``name`` in the editor and review it (the same as clicking its button)."""
        v.choice("example", name, EXAMPLES)
        if self.examples.value != name:
            self.examples.value = name  # the observer loads and runs it
        else:
            self._load(name)
        return self.review

    def set_text(self, text: str, run: bool = True) -> Review | None:
        """Replace the description (as if typed) and, with ``run``, review it."""
        v.instance("text", text, str, "the description's TOML text")
        self._quiet = True
        try:
            self.editor.value = text
        finally:
            self._quiet = False
        return self.run() if run else None

    def run(self) -> Review | None:
        """Validate and review the text; show the result. Errors go to the message line; returns None then."""
        self._quiet = True
        try:
            spec = self.validate()
        finally:
            self._quiet = False
        if spec is None:
            return None
        start = time.perf_counter()
        self.run_button.disabled = True
        self.message.value = _line(f"reviewing {spec.name}…")
        try:
            result = reviewed(self.text, self._report)
        except ValueError as exc:  # too large to review, or a run that refused its parameters
            self.error = str(exc)
            self.message.value = _line(f"⚠ {exc}", _RED)
            return None
        finally:
            self.run_button.disabled = False
            self.progress.layout.visibility = "hidden"
            self.progress_text.value = ""
        self.show(result)
        self.last_s = time.perf_counter() - start
        designs = len(result.means)
        self.message.value = _line(f"✓ {spec.name}: {designs} designs × {len(result.seeds)} seeds reviewed in "
                                   f"{self.last_s:.1f} s", _GREEN)
        return result

    def show(self, r: Review) -> None:
        """Draw review ``r``: charts, verdict and table."""
        charts.show_ranking(self.ranking, r)
        charts.show_failures(self.failures, r)
        charts.show_timeline(self.timeline, r)
        charts.show_wait(self.wait, r)
        for fig in self.figures:
            fig.sync()
        self.verdict.value = verdict_html(r)
        self.table.outputs = ()
        self.table.append_display_data(ranked_table(r))
        self.review, self.error = r, None
        for listener in self._listeners:
            listener(r)

    def on_review(self, listener) -> None:
        """Call ``listener(review)`` after every review this panel shows."""
        self._listeners.append(listener)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # ---- widgets ------------------------------------------------------------------------------------
    def _on_example(self, change) -> None:
        self._load(change["new"])

    def _load(self, name: str) -> None:
        self.set_text(example_text(name), run=True)

    def _report(self, done: int, total: int) -> None:
        self.progress.layout.visibility = "visible"
        self.progress.max = max(total, 1)
        self.progress.value = done
        self.progress_text.value = _line(f"run {done} of {total}")


def editor_panel(example: str = "order_flow") -> EditorPanel:
    """The description editor, with ``example`` loaded and reviewed."""
    return EditorPanel(example)


# -- the weights ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class WeightsParams:
    """Points per criterion (0 to 100 each). ``seed`` is kept for the panel's share codes only: the review's
    seeds come from the description."""

    wait: float = DEFAULT_WEIGHTS["wait"]
    lost: float = DEFAULT_WEIGHTS["lost"]
    done: float = DEFAULT_WEIGHTS["done"]
    fresh: float = DEFAULT_WEIGHTS["fresh"]
    duplicates: float = DEFAULT_WEIGHTS["duplicates"]
    order: float = DEFAULT_WEIGHTS["order"]
    recovery: float = DEFAULT_WEIGHTS["recovery"]
    db: float = DEFAULT_WEIGHTS["db"]
    parts: float = DEFAULT_WEIGHTS["parts"]
    seed: int = 1

    def __post_init__(self):
        for c in CRITERIA:
            v.number(f"weights.{c}", getattr(self, c), 0, 100)

    @property
    def weights(self) -> dict[str, float]:
        return {c: float(getattr(self, c)) for c in CRITERIA}

    @classmethod
    def of(cls, r: Review) -> WeightsParams:
        return cls(**{c: float(w) for c, w in r.weights.items()})


assert [f.name for f in fields(WeightsParams)][:-1] == list(CRITERIA)

WEIGHT_SLIDERS = [Slider(c, 0.0, 100.0, 1.0, unit="points", label=WORDS[c], help="")
                  for c in CRITERIA]


@dataclass(frozen=True)
class Reranked:
    """A review scored under other weights: ``ranking`` (eligible designs, best first) and ``points``."""

    review: Review
    weights: dict
    ranking: list
    points: pd.DataFrame

    @property
    def winner(self) -> str:
        return self.ranking[0]


def rerank(r: Review, weights: dict) -> Reranked:
    """``r`` re-scored under ``weights`` without running anything again."""
    if not any(weights.values()):
        raise ValueError("weights: at least one weight must be above 0")
    return Reranked(r, dict(weights), r.ranking(weights), r.points(weights))


def weights_panel(source: EditorPanel | Review | None = None, *, example: str = "food_delivery") -> ControlPanel:
    """One slider per criterion re-ranking a review: ``source`` is the editor panel (the panel follows its
    reviews), a Review, or None (the bundled ``example``'s review)."""
    def current() -> Review:
        if isinstance(source, EditorPanel):
            return source.review
        return source if isinstance(source, Review) else example_review(example)

    fig = charts.ranking_figure()
    note = widgets.HTML()

    def run(params: WeightsParams) -> Reranked:
        return rerank(current(), params.weights)

    def update(result: Reranked) -> None:
        r = result.review
        charts.show_ranking(fig, r, result.weights)
        own = r.winner
        if result.winner == own:
            text = f"Winner under these weights: {r.label(own)}, as with the description's weights."
            color = _GREY
        else:
            text = (f"Winner under these weights: {r.label(result.winner)} "
                    f"({result.points.loc[result.winner, 'total']:.1f} points); with the description's weights, "
                    f"{r.label(own)}. The verdict flipped.")
            color = _RED
        note.value = _line(text, color)

    p = ControlPanel(run, WeightsParams.of(current()), WEIGHT_SLIDERS, update, [fig], name="weights",
                     show_figures=False)
    p.seed_box.layout.display = "none"  # the seeds are the description's
    p.note = note
    p.widget.children = (p.controls_box, note, fig.widget)

    def follow(r: Review) -> None:
        p.defaults = WeightsParams.of(r)
        p.reset()

    if isinstance(source, EditorPanel):
        source.on_review(follow)
    return p


PANELS = {"weights_panel": weights_panel}

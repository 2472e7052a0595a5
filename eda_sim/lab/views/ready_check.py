"""The ready-check notebook: proves that widgets and charts work in the learner's own browser.

A tiny queue panel (one slider, one chart) and a status line. The line turns green only when the
browser reports that it drew the chart (the Chart widget's ``rendered`` counter, raised by the lab's
extension after each draw), and says so again once the chart has followed a slider move. With no
report within ``timeout_s`` it turns red and says what usually went wrong.

The status line is a widget (an HTML output would not update in Voila, which only syncs widgets after
the page loads). For the usual failure, where no widget works at all and panels print as text such as
``VBox(…)``, a plain HTML note follows it: the status widget hides that note with a style
rule as soon as it is drawn, so the note is only seen where widgets are not.
"""

from __future__ import annotations

import html
import platform
import threading
import uuid

import ipywidgets as widgets
from IPython.display import HTML, display

from ... import __version__
from ...experiments import get
from .. import plots
from ..panel import ControlPanel

TROUBLESHOOTING = "docs/workshop/setup.md#troubleshooting"
TIMEOUT_S = 30.0
WAITING, READY, FOLLOWED, FAILED = "waiting", "ready", "followed", "failed"
_COLORS = {WAITING: ("#8a5a00", "#fff4d6"), READY: ("#1b6e2a", "#e3f5e6"), FOLLOWED: ("#1b6e2a", "#e3f5e6"),
           FAILED: ("#9b1c1c", "#fde2e2")}


def panel(**overrides) -> ControlPanel:
    """One slider (arrivals per second) and one chart: messages waiting in a small work queue."""
    exp = get("queue")
    params = exp.make_params(**{"until": 60.0, "consumers": 2, **overrides})
    fig = plots.figure("Messages waiting in the queue", "time (s)", "messages waiting", height=300, legend=False)
    plots.line(fig, "waiting", arch="eda")

    def update(result):
        ts = result.timeseries()
        plots.set_xy(fig, "waiting", ts["time"].to_numpy(), ts["queue.depth"].to_numpy())

    rate = next(s for s in exp.sliders if s.param == "rate")
    return ControlPanel(exp.run, params, [rate], update, [fig], name="ready")


class ReadyCheck:
    """The panel plus a status line that reports what the browser did (see the module docstring)."""

    def __init__(self, timeout_s: float = TIMEOUT_S):
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float):
            raise TypeError(f"timeout_s must be a number of seconds, got {timeout_s!r}")
        if not 1 <= timeout_s <= 600:
            raise ValueError(f"timeout_s must be from 1 to 600 seconds, got {timeout_s!r}")
        self.timeout_s = float(timeout_s)
        self.panel = panel()
        self.chart = self.panel.figures[0].widget
        self.state = WAITING
        self.status = widgets.HTML(self._html())
        self._moved_at: int | None = None  # the draw count when the learner last moved the slider
        self._display_id = f"eda-ready-{uuid.uuid4().hex}"
        self._timer: threading.Timer | None = None
        self.chart.observe(self._on_rendered, names="rendered")
        self.panel.controls["rate"].observe(self._on_slider, names="value")

    # ---- what the learner reads ---------------------------------------------------------------

    def message(self) -> str:
        """The status line's text for the current state (plain text, no markup)."""
        versions = f"Python {platform.python_version()}, eda_sim {__version__}"
        if self.state == WAITING:
            return (f"Waiting for the chart to report from the browser… (up to {self.timeout_s:.0f} s; "
                    f"this line changes by itself)")
        if self.state == READY:
            return (f"Ready: widgets and charts work in this browser ({versions}). "
                    "Last step: move the slider and watch the chart follow.")
        if self.state == FOLLOWED:
            return (f"Ready: widgets and charts work in this browser ({versions}). "
                    f"The chart followed your slider (drawn {self.chart.rendered} times). You are all set.")
        return (f"Not ready: the chart did not draw within {self.timeout_s:.0f} s. A box above saying "
                "\"Click to show javascript error\" or \"Error displaying widget\" means the lab's chart "
                "extension is missing from this Jupyter (reinstall the lab, then restart Jupyter and reload "
                f"the page); no box and no chart means the page is still loading (reload it). See {TROUBLESHOOTING}")

    def _html(self) -> str:
        fg, bg = _COLORS[self.state]
        mark = {WAITING: "…", READY: "✔", FOLLOWED: "✔", FAILED: "✘"}[self.state]
        return (f'<style>.eda-ready-note {{display: none}}</style>'
                f'<div class="eda-ready eda-ready-{self.state}" style="color:{fg};background:{bg};'
                f'padding:0.6em 0.9em;border-radius:4px;font-weight:600">{mark} {html.escape(self.message())}</div>')

    def _note(self, failed: bool) -> str:
        """The plain HTML note for a page where widgets do not render (hidden by the status widget)."""
        fg, bg = _COLORS[FAILED if failed else WAITING]
        text = ("Not ready: the lab's widgets did not load in this browser." if failed
                else "Waiting for the lab's widgets to load in this browser…")
        text += (f" If this line stays, and the slider and chart above show as text such as VBox(…), "
                 f"the widgets are not working: see {TROUBLESHOOTING}")
        return (f'<div class="eda-ready-note" style="color:{fg};background:{bg};padding:0.6em 0.9em;'
                f'border-radius:4px;font-weight:600">{html.escape(text)}</div>')

    # ---- showing and updating -----------------------------------------------------------------

    def show(self) -> None:
        """Display the panel and the status line, and start the timeout."""
        display(self.panel)
        display(self.status)
        display(HTML(self._note(failed=False)), display_id=self._display_id)
        self._timer = threading.Timer(self.timeout_s, self._on_timeout)
        self._timer.daemon = True
        self._timer.start()

    def _set(self, state: str) -> None:
        self.state = state
        self.status.value = self._html()

    def _on_rendered(self, change) -> None:
        if change["new"] <= 0:
            return
        if self._moved_at is not None and change["new"] > self._moved_at:  # also refreshes the count
            self._set(FOLLOWED)
        elif self.state in (WAITING, FAILED):
            self._set(READY)

    def _on_slider(self, _change) -> None:
        if self.chart.rendered > 0:  # a move before the first draw proves nothing about following
            self._moved_at = self.chart.rendered

    def _on_timeout(self) -> None:
        if self.state == WAITING and self.chart.rendered == 0:
            self._set(FAILED)
            # Where widgets do not render at all the note is what the learner sees: make it say so.
            display(HTML(self._note(failed=True)), display_id=self._display_id, update=True)

    def _ipython_display_(self) -> None:
        self.show()


def ready_check(timeout_s: float = TIMEOUT_S) -> ReadyCheck:
    """A :class:`ReadyCheck`; a notebook cell ending with it shows the panel and the status line."""
    return ReadyCheck(timeout_s)


PANELS = {"panel": panel}

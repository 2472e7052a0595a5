"""Notebook 00 (start here): the guide's order example as an animated message flow, both architectures.

:class:`FlowAnimator` draws one run of :class:`eda_sim.lab.flow.OrderExample` twice, event-driven on top
and request/response below, and moves through simulated time with a play/pause button, a frame
slider and step buttons (``ipywidgets.Play``, not plotly animation frames, so it also works in
Voilà). Every frame only sets trace data; the positions were computed once per run by
:mod:`eda_sim.lab.flow`, and a frame sends only the figure's data to the browser, not its layout
(:meth:`eda_sim.lab.plots.LabFigure.sync`). Under it a small chart shows orders answered and orders done
over time, with a cursor at the current moment.

:func:`panel` adds sliders (order rate, burst, billing time, workers) that rebuild the run.


The panels are in ``panels``, the lesson around them in ``lesson``; both are re-exported here.
"""

from .lesson import (
    BURST_WAIT,
    EXPLAIN,
    LABELS,
    PANELS,
    PREDICTIONS,
    _check_empty_queue,
    _check_follow,
    burst_answer,
    burst_waits,
    counts,
    exercise,
    explain,
    littles_law,
    order_gap,
    outcome,
    prediction,
    quiet_table,
    run_table,
    settings,
)
from .panels import (
    _CAPTION,
    ARCHS,
    MARKER,
    ROW_TITLES,
    SLIDERS,
    SPEEDS,
    TOP,
    FlowAnimator,
    _axes,
    _decorations,
    _gaps,
    _kinds,
    animation,
    panel,
)

__all__ = [
    "ARCHS", "BURST_WAIT", "EXPLAIN", "FlowAnimator", "LABELS", "MARKER", "PANELS", "PREDICTIONS", "ROW_TITLES",
    "SLIDERS", "SPEEDS", "TOP", "_CAPTION", "_axes", "_check_empty_queue", "_check_follow", "_decorations",
    "_gaps", "_kinds", "animation", "burst_answer", "burst_waits", "counts", "exercise", "explain",
    "littles_law", "order_gap", "outcome", "panel", "prediction", "quiet_table", "run_table", "settings",
]

"""Plot helpers: one look for every chart, traces and windows updated in place."""

from __future__ import annotations

import inspect

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from eda_sim import plots


def test_colours_and_labels_are_fixed_per_architecture():
    assert set(plots.LABELS) == {"rr", "eda"}
    assert plots.LABELS["rr"] == "Request/Response" and plots.LABELS["eda"] == "Event-driven"
    assert {"rr", "eda", "theory", "outage"} <= set(plots.COLORS)
    assert plots.COLORS["rr"] != plots.COLORS["eda"]


def test_figure_style():
    fig = plots.figure("Lag", "time (s)", "lag (messages)", height=300, y_range=(0, 10))
    assert isinstance(fig, go.FigureWidget)
    layout = fig.layout
    assert layout.title.text == "Lag"
    assert layout.xaxis.title.text == "time (s)" and layout.yaxis.title.text == "lag (messages)"
    assert layout.height == 300 and tuple(layout.yaxis.range) == (0, 10)
    assert layout.legend.orientation == "h" and layout.legend.y > 1   # above the plot
    assert layout.template == pio.templates["plotly_white"]
    assert layout.margin.l <= 80 and layout.margin.r <= 40
    assert plots.figure("t", "x (s)", "y (s)", legend=False).layout.showlegend is False


@pytest.mark.parametrize("x_title, y_title", [("", "y (s)"), ("x (s)", "  ")])
def test_figure_requires_axis_titles(x_title, y_title):
    with pytest.raises(ValueError, match="axis title"):
        plots.figure("t", x_title, y_title)


def test_line_and_bar_use_architecture_colours_and_return_indices():
    fig = plots.figure("t", "time (s)", "latency (ms)")
    assert plots.line(fig, "R/R", [0, 1], [2, 3], arch="rr") == 0
    assert plots.line(fig, "EDA", arch="eda", dash="dot", mode="lines+markers") == 1
    assert plots.bar(fig, "count", ["a", "b"], [1, 2], arch="eda") == 2
    assert plots.line(fig, "custom", color="#123456") == 3
    assert fig.data[0].line.color == plots.COLORS["rr"]
    assert fig.data[1].line.color == plots.COLORS["eda"] and fig.data[1].line.dash == "dot"
    assert fig.data[1].mode == "lines+markers"
    assert fig.data[2].marker.color == plots.COLORS["eda"]
    assert fig.data[3].line.color == "#123456"
    with pytest.raises(ValueError, match="already has a trace named 'EDA'"):
        plots.line(fig, "EDA")
    with pytest.raises(ValueError, match="arch"):
        plots.line(fig, "other", arch="kafka")


def test_theory_line_is_dashed_grey():
    fig = plots.figure("t", "load (-)", "wait (s)")
    i = plots.theory_line(fig, [0.1, 0.5], [0.1, 1.0], "M/M/1")
    assert fig.data[i].line.dash == "dash" and fig.data[i].line.color == plots.COLORS["theory"]
    assert fig.data[i].name == "M/M/1"


def test_set_xy_updates_the_same_trace_in_place():
    fig = plots.figure("t", "time (s)", "lag (messages)")
    plots.line(fig, "R/R", arch="rr")
    plots.line(fig, "EDA", arch="eda")
    trace = fig.data[1]
    with fig.batch_update():
        plots.set_xy(fig, "EDA", np.arange(3), np.array([1.0, 2.0, 4.0]))
        plots.set_xy(fig, 0, [0, 1], [5, 6])
    assert fig.data[1] is trace and len(fig.data) == 2
    np.testing.assert_array_equal(np.asarray(fig.data[1].y), [1.0, 2.0, 4.0])
    assert list(fig.data[0].y) == [5, 6]
    with pytest.raises(ValueError, match="no trace named 'Kafka'"):
        plots.set_xy(fig, "Kafka", [], [])
    with pytest.raises(ValueError, match="no trace 5"):
        plots.set_xy(fig, 5, [], [])


def test_outage_window_is_one_shape_moved_in_place():
    fig = plots.figure("t", "time (s)", "errors (1/s)")
    plots.shade_window(fig, 10, 20)
    assert len(fig.layout.shapes) == 1
    shape = fig.layout.shapes[0]
    assert (shape.x0, shape.x1, shape.name, shape.label.text) == (10, 20, "outage", "outage")
    assert shape.yref == "y domain" and shape.fillcolor == plots.COLORS["outage"]
    with fig.batch_update():
        plots.move_window(fig, 30, 45)
    assert len(fig.layout.shapes) == 1
    assert (fig.layout.shapes[0].x0, fig.layout.shapes[0].x1) == (30, 45)
    plots.shade_window(fig, 0, 5, label="deploy")
    plots.move_window(fig, 1, 2, label="deploy")
    assert [(s.name, s.x0) for s in fig.layout.shapes] == [("outage", 30), ("deploy", 1)]
    with pytest.raises(ValueError, match="already has a window"):
        plots.shade_window(fig, 1, 2)
    with pytest.raises(ValueError, match="shade_window"):
        plots.move_window(fig, 1, 2, label="restart")


def test_side_by_side_lays_figures_in_one_row():
    a, b = plots.figure("a", "x (s)", "y (s)"), plots.figure("b", "x (s)", "y (s)")
    box = plots.side_by_side(a, b)
    assert isinstance(box, widgets.GridBox) and box.children == (a, b)
    assert "repeat(2" in box.layout.grid_template_columns


def test_no_cdn_references():
    source = inspect.getsource(plots).lower()
    assert "cdn" not in source and "http" not in source
    fig = plots.figure("t", "time (s)", "y (s)")
    plots.line(fig, "EDA", [0, 1], [1, 2], arch="eda")
    bundle = fig._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "cdn" not in str(bundle).lower()

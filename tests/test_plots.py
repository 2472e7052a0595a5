"""Plot helpers: one look for every chart, traces and windows updated in place."""

from __future__ import annotations

import hashlib
import inspect
import json
from pathlib import Path

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from eda_sim.lab import plots


def test_colours_and_labels_are_fixed_per_architecture():
    assert set(plots.LABELS) == {"rr", "eda"}
    assert plots.LABELS["rr"] == "Request/Response" and plots.LABELS["eda"] == "Event-driven"
    assert {"rr", "eda", "theory", "outage"} <= set(plots.COLORS)
    assert plots.COLORS["rr"] != plots.COLORS["eda"]


def test_figure_style():
    fig = plots.figure("Lag", "time (s)", "lag (messages)", height=300, y_range=(0, 10))
    assert isinstance(fig, plots.LabFigure) and isinstance(fig, go.Figure)
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


def test_side_by_side_lays_figures_in_a_row_that_wraps():
    a, b = plots.figure("a", "x (s)", "y (s)"), plots.figure("b", "x (s)", "y (s)")
    box = plots.side_by_side(a, b)
    assert isinstance(box, widgets.GridBox) and box.children == (a.widget, b.widget)
    columns = box.layout.grid_template_columns
    assert "auto-fit" in columns and f"{plots.MIN_CHART_WIDTH}px" in columns  # wraps below that width


def test_chart_state_is_the_figure_as_json_and_follows_sync():
    fig = plots.figure("Lag", "time (s)", "lag (messages)")
    plots.line(fig, "EDA", [0, 1, 2], [1.0, float("nan"), 3.0], arch="eda")
    chart = fig.widget  # created on first use, filled at once: never an empty chart in the browser
    assert chart is fig.widget
    data, layout = json.loads(chart.figure_data), json.loads(chart.figure_layout)
    assert data[0]["name"] == "EDA" and data[0]["y"] == [1.0, None, 3.0]  # NaN becomes a gap
    assert layout["title"]["text"] == "Lag" and layout["xaxis"]["title"]["text"] == "time (s)"
    assert "width" not in layout  # the width always follows the chart's box
    plots.set_xy(fig, "EDA", [0, 1], [5, 6])
    assert json.loads(chart.figure_data)[0]["y"] == [1.0, None, 3.0]  # nothing sent before sync()
    sent = []
    chart.observe(lambda change: sent.append(change["name"]), names=["figure_data", "figure_layout"])
    fig.sync()
    assert json.loads(chart.figure_data)[0]["y"] == [5, 6]
    assert sent == ["figure_data"]  # a change of data alone sends no layout
    fig.layout.title.text = "Lag, again"
    fig.sync()
    fig.sync()  # nothing changed: nothing sent
    assert sent == ["figure_data", "figure_layout"]
    assert json.loads(chart.figure_layout)["title"]["text"] == "Lag, again"


def test_chart_state_is_small():
    """The state carries the figure only: no plotly.js bundle (FigureWidget's ~5 MB per chart)."""
    fig = plots.figure("t", "time (s)", "y (s)")
    plots.line(fig, "EDA", np.arange(400.0), np.arange(400.0), arch="eda")
    state = fig.widget.get_state()
    size = sum(len(v) for v in state.values() if isinstance(v, str))
    assert size < 60_000, size
    assert state["_model_module"] == plots.FRONTEND and state["_view_name"] == "ChartView"


def test_chart_widget_matches_the_built_frontend():
    """Python and the prebuilt extension agree on the module name and version, and the build is current."""
    frontend = Path(plots.__file__).parent / "frontend"
    package = json.loads((frontend / "package.json").read_text())
    built = json.loads((frontend / "labextension" / "package.json").read_text())
    assert package["name"] == built["name"] == plots.FRONTEND
    assert package["version"] == built["version"] == plots.FRONTEND_VERSION
    assert any((frontend / "labextension" / "static").glob("remoteEntry.*.js"))
    sums = (frontend / "labextension" / "source.sha256").read_text().splitlines()
    recorded = dict(line.split()[::-1] for line in sums)
    for name, digest in recorded.items():
        assert hashlib.sha256((frontend / name).read_bytes()).hexdigest() == digest, (
            f"{name} changed since the last build: run scripts/build_frontend.sh")


def test_no_cdn_references():
    source = inspect.getsource(plots).lower()
    assert "cdn" not in source and "http" not in source
    fig = plots.figure("t", "time (s)", "y (s)")
    plots.line(fig, "EDA", [0, 1], [1, 2], arch="eda")
    bundle = fig._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "cdn" not in str(bundle).lower()

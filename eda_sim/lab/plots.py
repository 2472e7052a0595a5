"""Plot helpers shared by every notebook, so all charts in the lab look alike.

Each architecture keeps one colour everywhere (Request/Response vermillion, Event-driven blue, from
the colour-blind-safe Okabe-Ito palette), reference curves are dashed grey, and outage windows are a
grey band.

Figures are :class:`LabFigure` objects: ordinary ``plotly.graph_objects.Figure`` objects (build and
change them with plotly's own API) that are shown through :class:`Chart`, a small widget of the lab's
own. A Chart's widget state is just the figure as JSON; the lab's JupyterLab/Voila extension
(``eda_sim/lab/frontend``) loads plotly.js once per page from the local server and redraws a chart with
``Plotly.react`` whenever that JSON changes. So a page with twenty charts moves kilobytes, not twenty
copies of plotly.js, it renders the same in JupyterLab and in Voila (both draw from the state), and
nothing is fetched from another host. After changing a figure, call :meth:`LabFigure.sync` (a
control panel does it after every run).

Typical use::

    fig = plots.figure("Consumer lag", "time (s)", "lag (messages)")
    plots.line(fig, "R/R backlog", arch="rr")
    plots.line(fig, "EDA backlog", arch="eda")
    plots.shade_window(fig, 10, 20)
    fig                                    # in a notebook cell: shows the chart
    ...
    plots.set_xy(fig, "EDA backlog", result.t, result.lag)   # in a panel's update(result)
    plots.move_window(fig, result.outage_start, result.outage_end)
    fig.sync()                             # a ControlPanel calls this for its figures
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import ipywidgets as widgets
import plotly.graph_objects as go
import traitlets
from plotly.io.json import to_json_plotly

#: Name and version of the lab's chart extension (eda_sim/lab/frontend/package.json).
FRONTEND = "eda-lab-charts"
FRONTEND_VERSION = "0.1.0"

#: One fixed colour per architecture plus neutral colours for extra series.
COLORS: dict[str, str] = {
    "rr": "#D55E00",       # Request/Response: vermillion
    "eda": "#0072B2",      # Event-driven: blue
    "theory": "#7F7F7F",   # closed-form reference curves (drawn dashed)
    "outage": "#9E9E9E",   # shaded outage / fault windows
    "extra": "#009E73",    # a third series (bluish green)
    "extra2": "#CC79A7",   # a fourth series (reddish purple)
    "neutral": "#444444",  # text and thin guide lines
}

#: Legend names for the two architectures.
LABELS: dict[str, str] = {"rr": "Request/Response", "eda": "Event-driven"}

TEMPLATE = "plotly_white"
_OUTAGE_OPACITY = 0.18
#: Narrowest a chart gets before side-by-side charts wrap onto the next row (px).
MIN_CHART_WIDTH = 440


class Chart(widgets.DOMWidget):
    """The browser side of a :class:`LabFigure`: its traces and layout as JSON text.

    Two traits, so that a change of data alone (the usual slider move, an animation frame) sends no
    layout; a third, ``rendered``, comes back from the browser after each draw. Drawn by the
    ``eda-lab-charts`` extension with ``Plotly.react`` (zoom survives updates: see ``uirevision`` in
    :func:`figure`).
    """

    _model_name = traitlets.Unicode("ChartModel").tag(sync=True)
    _model_module = traitlets.Unicode(FRONTEND).tag(sync=True)
    _model_module_version = traitlets.Unicode(f"^{FRONTEND_VERSION}").tag(sync=True)
    _view_name = traitlets.Unicode("ChartView").tag(sync=True)
    _view_module = traitlets.Unicode(FRONTEND).tag(sync=True)
    _view_module_version = traitlets.Unicode(f"^{FRONTEND_VERSION}").tag(sync=True)
    figure_data = traitlets.Unicode("[]").tag(sync=True)
    figure_layout = traitlets.Unicode("{}").tag(sync=True)
    #: How many times a browser drew this chart (the extension adds one after each successful draw).
    #: It stays 0 where no browser draws it: a plain kernel, or a page without the lab's extension.
    rendered = traitlets.Int(0).tag(sync=True)

    def __repr__(self) -> str:
        # What a page without the extension shows instead of the chart (never the JSON itself).
        title = (json.loads(self.figure_layout).get("title") or {}).get("text") or "untitled"
        return f"[chart '{title}': drawn by the lab's eda-lab-charts extension, which is not loaded here]"


class LabFigure(go.Figure):
    """A plotly Figure that is shown as a live :class:`Chart` widget.

    Change it with plotly's API, then call :meth:`sync` to send what changed to the browser.
    Displaying the figure (a cell's last line, or inside a panel) syncs it first, so a chart
    filled before it is shown never comes up empty.
    """

    @property
    def widget(self) -> Chart:
        """The Chart widget showing this figure (created on first use, then kept)."""
        chart = self.__dict__.get("_chart")
        if chart is None:
            if self.layout.uirevision is None:
                self.layout.uirevision = "keep"  # a learner's zoom survives the next update
            chart = Chart(layout=widgets.Layout(width="100%", min_width="0"))
            self.__dict__["_chart"] = chart
            self.sync()
        return chart

    def sync(self) -> None:
        """Send the figure's current data and layout to its chart (only the parts that changed)."""
        chart = self.__dict__.get("_chart")
        if chart is None:
            return  # not shown yet: the first display sends everything
        data = to_json_plotly(self._data)  # plotly's own encoder: numpy arrays, NaN -> null
        layout = to_json_plotly(self._layout)
        with chart.hold_sync():
            if data != chart.figure_data:
                chart.figure_data = data
            if layout != chart.figure_layout:
                chart.figure_layout = layout

    def _repr_mimebundle_(self, *args, **kwargs):
        return self.widget._repr_mimebundle_(*args, **kwargs)

    def _ipython_display_(self):
        # plotly's Figure has its own _ipython_display_ (its renderers), which IPython prefers to
        # _repr_mimebundle_: without this a cell ending in a figure would not show the Chart.
        from IPython.display import display

        display(self.widget)


def figure(title: str, x_title: str, y_title: str, *, height: int = 360,
           y_range: Sequence[float] | None = None, legend: bool = True) -> LabFigure:
    """An empty LabFigure in the lab's style.

    Axis titles are required and should carry their units, e.g. ``"time (s)"``, ``"latency (ms)"``,
    so a learner never has to guess what a number means. The legend sits horizontally above the
    plot, where it does not hide data. The width always follows the chart's box.
    """
    for name, text in (("x_title", x_title), ("y_title", y_title)):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{name} must be a non-empty axis title with units, e.g. 'time (s)'")
    if y_range is not None and len(y_range) != 2:
        raise ValueError(f"y_range must be (low, high), got {y_range!r}")
    top = 36 + (28 if title else 0) + (24 if legend else 0)
    layout = go.Layout(
        template=TEMPLATE,
        title=dict(text=title, x=0.0, xanchor="left", y=0.98, yanchor="top", font=dict(size=15)),
        height=height,
        margin=dict(l=64, r=16, t=top, b=52),
        xaxis=dict(title=dict(text=x_title), zeroline=False),
        yaxis=dict(title=dict(text=y_title), zeroline=False,
                   range=list(y_range) if y_range is not None else None),
        showlegend=legend,
        legend=dict(orientation="h", x=0.0, xanchor="left", y=1.02, yanchor="bottom"),
        uirevision="keep",  # a learner's zoom survives slider moves
    )
    return LabFigure(layout=layout)


def line(fig, name: str, x=(), y=(), *, arch: str | None = None, dash: str | None = None,
         mode: str = "lines", color: str | None = None) -> int:
    """Add a named line (scatter) trace and return its index in ``fig.data``.

    ``arch`` ("rr" or "eda") picks the architecture's colour; ``color`` overrides it.
    Names must be unique within a figure because :func:`set_xy` finds traces by name.
    """
    _check_new_name(fig, name)
    fig.add_scatter(x=x, y=y, name=name, mode=mode, line=dict(color=_color(arch, color), dash=dash))
    return len(fig.data) - 1


def bar(fig, name: str, x=(), y=(), *, arch: str | None = None, color: str | None = None) -> int:
    """Add a named bar trace coloured like :func:`line` and return its index."""
    _check_new_name(fig, name)
    fig.add_bar(x=x, y=y, name=name, marker=dict(color=_color(arch, color)))
    return len(fig.data) - 1


def theory_line(fig, x, y, name: str) -> int:
    """Add a dashed grey reference curve (a closed-form result) and return its index."""
    return line(fig, name, x, y, dash="dash", color=COLORS["theory"])


def set_xy(fig, name_or_index: str | int, x, y) -> None:
    """Replace one trace's data in place. Call it inside ``fig.batch_update()``."""
    trace = fig.data[trace_index(fig, name_or_index)]
    trace.x = x
    trace.y = y


def trace_index(fig, name_or_index: str | int) -> int:
    """The index of the trace with this name (or check that an index exists)."""
    if isinstance(name_or_index, int) and not isinstance(name_or_index, bool):
        if not -len(fig.data) <= name_or_index < len(fig.data):
            raise ValueError(f"no trace {name_or_index}: the figure has {len(fig.data)} traces")
        return name_or_index % len(fig.data)
    for i, trace in enumerate(fig.data):
        if trace.name == name_or_index:
            return i
    names = ", ".join(repr(t.name) for t in fig.data) or "none"
    raise ValueError(f"no trace named {name_or_index!r}; traces: {names}")


def shade_window(fig, start: float, end: float, label: str = "outage") -> None:
    """Shade the vertical band ``start <= x <= end`` and label it (e.g. an outage window).

    The band is one layout shape named ``label`` carrying its own text label, so
    :func:`move_window` can move band and label together without adding shapes.
    """
    if _find_shape(fig, label) is not None:
        raise ValueError(f"the figure already has a window named {label!r}; use move_window")
    fig.add_vrect(
        x0=start, x1=end, name=label, layer="below", line_width=0,
        fillcolor=COLORS["outage"], opacity=_OUTAGE_OPACITY,
        label=dict(text=label, textposition="top left", font=dict(size=11, color=COLORS["neutral"])),
    )


def move_window(fig, start: float, end: float, label: str = "outage") -> None:
    """Move the band drawn by :func:`shade_window` in place (no new shape is added)."""
    index = _find_shape(fig, label)
    if index is None:
        raise ValueError(f"no window named {label!r}; draw it first with shade_window")
    fig.layout.shapes[index].update(x0=start, x1=end)


def side_by_side(*figs) -> widgets.GridBox:
    """Lay out figures in a row of equal columns that wraps when the page is narrow.

    Each column is at least MIN_CHART_WIDTH px (or the whole width, if narrower), so on a laptop or
    a projector three charts become two and one rather than three squeezed ones.
    """
    if not figs:
        raise ValueError("side_by_side needs at least one figure")
    children = [fig.widget if isinstance(fig, LabFigure) else fig for fig in figs]
    return widgets.GridBox(
        children=children,
        layout=widgets.Layout(
            grid_template_columns=f"repeat(auto-fit, minmax(min(100%, {MIN_CHART_WIDTH}px), 1fr))",
            grid_gap="8px", width="100%"),
    )


def _color(arch: str | None, color: str | None) -> str | None:
    if color is not None:
        return color
    if arch is None:
        return None
    if arch not in LABELS:
        raise ValueError(f"arch must be one of {', '.join(map(repr, LABELS))}, got {arch!r}")
    return COLORS[arch]


def _check_new_name(fig, name: str) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"a trace needs a non-empty name, got {name!r}")
    if any(trace.name == name for trace in fig.data):
        raise ValueError(f"the figure already has a trace named {name!r}")


def _find_shape(fig, label: str) -> int | None:
    for i, shape in enumerate(fig.layout.shapes):
        if shape.name == label:
            return i
    return None



def ecdf(values, max_points: int = 400):
    """x, y of the empirical CDF of ``values`` (share of values <= x), thinned to ``max_points``.

    Thinning keeps every chart light enough to update in place on each slider move.
    """
    import numpy as np

    x = np.sort(np.asarray(values, dtype=float))
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return np.empty(0), np.empty(0)
    y = np.arange(1, len(x) + 1) / len(x)
    if len(x) > max_points:
        idx = np.unique(np.linspace(0, len(x) - 1, max_points).round().astype(int))
        x, y = x[idx], y[idx]
    return x, y

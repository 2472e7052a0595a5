"""Notebook 00's panel: the animated message flow, EDA above R/R, moving through simulated time."""

from __future__ import annotations

import time

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ... import flow, plots
from ...panel import ControlPanel, Slider

ARCHS = ("eda", "rr")  # top row, bottom row
ROW_TITLES = {
    "eda": "publish once; each subscription gets its own copy",
    "rr": "OrderSvc calls Billing, then Audit; the client waits",
}
QUEUED, WORKING, FINISHED, HIDDEN = 0, 1, 2, 3
GREY, LIGHT, INK = "#9a9a9a", "#d9d9d9", plots.COLORS["neutral"]
SPEEDS = {"¼×": 0.25, "½×": 0.5, "1×": 1.0}
MARKER = 17  # px, room for a two-digit order number
TOP = 4.55  # y of each row's title line, in drawing units

SLIDERS = (
    Slider("rate", 0.2, 3.0, 0.2, unit="orders/s", label="order rate",
           help="orders per second, at random, outside the burst"),
    Slider("burst_rate", 0.0, 20.0, 1.0, unit="orders/s", label="burst",
           help="orders per second during the 1-second burst at t = 3 s"),
    Slider("billing_time", 0.05, 1.0, 0.05, unit="s", label="billing time",
           help="mean time Billing spends on one order (Audit: 0.2 s)"),
    Slider("workers", 1, flow.MAX_WORKERS, 1, label="Billing/Audit workers",
           help="R/R: workers per service; EDA: consumers per subscription"),
    Slider("entry_workers", 1, flow.MAX_ENTRY_WORKERS, 1, label="OrderSvc workers",
           help="R/R only: each is held until Billing and Audit have answered"),
)


def _kinds(trace: flow.Trace) -> np.ndarray:
    """Marker style per station (queued, working, finished), plus HIDDEN at index -1."""
    out = []
    for name in trace.stations:
        if name.endswith(".queue"):
            out.append(QUEUED)
        elif name.endswith(".done") or name == "answered":
            out.append(FINISHED)
        else:
            out.append(WORKING)
    return np.array([*out, HIDDEN])


def _axes(row: int) -> tuple[str, str]:
    return ("x", "y") if row == 1 else (f"x{row}", f"y{row}")


def _decorations(lay: flow.Layout, row: int) -> tuple[list, list]:
    """Boxes, lanes, arrows and labels of one row, as layout shapes and annotations."""
    xref, yref = _axes(row)
    shapes = []
    notes = [dict(xref=xref, yref=yref, x=0.0, y=TOP, xanchor="left", showarrow=False,
                  text=f"<b>{plots.LABELS[lay.arch]}</b> · {ROW_TITLES[lay.arch]}",
                  font=dict(size=13, color=plots.COLORS[lay.arch]))]
    for box in lay.boxes:
        fill = "rgba(0,114,178,0.06)" if box.name == "bus" else ("white" if box.dashed else "#f4f4f4")
        shapes.append(dict(type="rect", xref=xref, yref=yref, x0=box.x0, y0=box.y0, x1=box.x1, y1=box.y1,
                           layer="below", fillcolor=fill,
                           line=dict(color=GREY if box.dashed else INK, width=1,
                                     dash="dot" if box.dashed else "solid")))
        if not box.label:
            continue
        if box.name == "answered":  # beside its box, under the client
            notes.append(dict(xref=xref, yref=yref, x=box.x1 + 0.05, y=(box.y0 + box.y1) / 2, text=box.label,
                              showarrow=False, xanchor="left", font=dict(size=10, color=GREY)))
        else:
            notes.append(dict(xref=xref, yref=yref, x=(box.x0 + box.x1) / 2, y=box.y1 + 0.03, showarrow=False,
                              text=box.label if box.dashed else f"<b>{box.label}</b>", yanchor="bottom",
                              font=dict(size=10 if box.dashed else 11, color=GREY if box.dashed else INK)))
    for spot in lay.spots.values():
        if spot.kind == "lane":  # the queue's lane: a light band, head (next to be served) on the right
            shapes.append(dict(type="rect", xref=xref, yref=yref, x0=spot.x - spot.gap * (spot.cap - 0.5),
                               x1=spot.x + spot.gap / 2, y0=spot.y - 0.17, y1=spot.y + 0.17, layer="below",
                               line=dict(width=0), fillcolor="rgba(0,0,0,0.05)"))
            if spot.cap > 6:
                notes.append(dict(xref=xref, yref=yref, x=spot.x + spot.gap / 2, y=spot.y - 0.19, text="next out →",
                                  showarrow=False, xanchor="right", yanchor="top", font=dict(size=9, color=GREY)))
    for x0, y0, x1, y1, label, dashed in lay.paths:
        notes.append(dict(xref=xref, yref=yref, axref=xref, ayref=yref, ax=x0, ay=y0, x=x1, y=y1, text="",
                          showarrow=True, arrowhead=2, arrowsize=1.1, arrowwidth=1.4,
                          arrowcolor=GREY if dashed else INK, standoff=1, startstandoff=1))
        if label:
            notes.append(dict(xref=xref, yref=yref, x=(x0 + x1) / 2, y=(y0 + y1) / 2, text=label,
                              showarrow=False, yshift=-8 if dashed else 8, font=dict(size=9, color=GREY)))
    return shapes, notes


class FlowAnimator:
    """The animated message flow of one :class:`~eda_sim.lab.flow.OrderAnimation`, both architectures.

    ``figure`` (the two rows) and ``timeline`` (answered and done over time) are LabFigures;
    ``widget`` holds them with the player: play/pause, a frame slider, step buttons and a speed
    choice. :meth:`show` draws frame ``k``; :meth:`load` swaps in another run (same frame kept).
    ``last_ms`` is the kernel time of the last frame drawn.
    """

    def __init__(self, animation: flow.OrderAnimation | None = None, *, start: float = 0.0):
        animation = animation or flow.run(flow.OrderExample())
        self.last_ms: float | None = None
        self._layouts: dict = {}
        self._decor: tuple | None = None
        self._index: dict = {}
        self.figure = self._make_figure()
        self.timeline = self._make_timeline()
        first = animation.traces["eda"]
        self.play = widgets.Play(value=0, min=0, max=first.frames - 1, step=1, interval=100, show_repeat=False,
                                 description="play", tooltip="play / pause; ■ goes back to t = 0")
        self.slider = widgets.IntSlider(value=0, min=0, max=first.frames - 1, step=1, readout=False,
                                        description="time", continuous_update=True,
                                        layout=widgets.Layout(width="28em"))
        widgets.link((self.play, "value"), (self.slider, "value"))
        self.clock = widgets.HTML()
        back = widgets.Button(description="", icon="step-backward", tooltip="one frame (0.05 s) back",
                              layout=widgets.Layout(width="3.2em"))
        fwd = widgets.Button(description="", icon="step-forward", tooltip="one frame (0.05 s) forward",
                             layout=widgets.Layout(width="3.2em"))
        back.on_click(lambda _: self.step(-1))
        fwd.on_click(lambda _: self.step(1))
        self.speed = widgets.ToggleButtons(options=list(SPEEDS), value="½×", description="speed",
                                           tooltips=["a quarter of real time", "half of real time", "real time"],
                                           style={"button_width": "4.2em", "description_width": "3.5em"})
        self.speed.observe(lambda _: self._set_interval(), names="value")
        self.caption = widgets.HTML(_CAPTION)
        self.load(animation)
        self.slider.observe(lambda change: self.show(change["new"]), names="value")
        self.goto(start)
        player = widgets.HBox([self.play, back, fwd, self.slider, self.clock, self.speed],
                              layout=widgets.Layout(align_items="center", flex_flow="row wrap"))
        self.widget = widgets.VBox([player, self.figure.widget, self.caption, self.timeline.widget])

    # -- controls ---------------------------------------------------------------------------------
    @property
    def frame(self) -> int:
        return int(self.slider.value)

    @property
    def t(self) -> float:
        return float(self.traces["eda"].times[self.frame])

    def step(self, n: int = 1) -> int:
        """Move ``n`` frames (negative: back), staying inside the run; return the frame shown."""
        self.slider.value = int(np.clip(self.frame + n, 0, self.slider.max))
        return self.frame

    def goto(self, t: float) -> int:
        """Show the last frame at or before ``t`` seconds; return its index."""
        k = self.traces["eda"].frame_at(t)
        if k == self.frame:
            self.show(k)
        self.slider.value = k
        return k

    def sync(self) -> None:
        """Send what changed in both figures to the browser."""
        self.figure.sync()
        self.timeline.sync()

    def _set_interval(self) -> None:
        dt = self.traces["eda"].dt or 0.05
        self.play.interval = max(20, int(round(1000 * dt / SPEEDS[self.speed.value])))

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # -- figures ----------------------------------------------------------------------------------
    def _make_figure(self) -> plots.LabFigure:
        fig = go.Figure(make_subplots(rows=2, cols=1, vertical_spacing=0.03))
        fig.update_layout(template=plots.TEMPLATE, height=700, margin=dict(l=8, r=8, t=8, b=8),
                          legend=dict(orientation="h", x=0.0, y=-0.01, yanchor="top", xanchor="left",
                                      font=dict(size=11)), plot_bgcolor="white", hovermode=False)
        fig.update_xaxes(range=[0, 12], visible=False, fixedrange=True)
        fig.update_yaxes(range=[0.15, 4.75], visible=False, fixedrange=True)
        # Legend-only samples in neutral colours: the rows use each architecture's own colour.
        for name, marker in (
            ("order waiting in a queue", dict(color="white", line=dict(color=INK, width=2))),
            ("order being worked on", dict(color=INK)),
            ("finished (shown briefly)", dict(color=LIGHT, line=dict(color=GREY, width=1))),
            ("R/R: OrderSvc worker held, waiting for replies", dict(color="white", symbol="square",
                                                                    line=dict(color=INK, width=2))),
            ("client waiting for its answer", dict(color="white", size=9, line=dict(color=INK, width=1.5))),
        ):
            fig.add_scatter(x=[None], y=[None], mode="markers", name=name,
                            marker=dict(size=marker.pop("size", 12), **marker))
        fig.add_scatter(x=[None], y=[None], mode="lines", name="hop since the last frame",
                        line=dict(color=GREY, width=2))
        for row, arch in enumerate(ARCHS, start=1):
            c = plots.COLORS[arch]
            add = lambda key, **kw: self._add(fig, row, arch, key, **kw)  # noqa: B023 - called right away
            add("hops", mode="lines", line=dict(color=GREY, width=2))
            add("waiting", mode="markers", marker=dict(size=9, color="white", line=dict(color=c, width=1.5)))
            add("held", mode="markers+text", marker=dict(size=MARKER + 2, symbol="square", color="white",
                                                         line=dict(color=c, width=2)),
                textfont=dict(size=9, color=c))
            add("finished", mode="markers+text", marker=dict(size=MARKER, color=LIGHT, line=dict(color=GREY, width=1)),
                textfont=dict(size=9, color=INK))
            add("queued", mode="markers+text", marker=dict(size=MARKER, color="white", line=dict(color=c, width=2)),
                textfont=dict(size=9, color=c))
            add("working", mode="markers+text", marker=dict(size=MARKER, color=c, line=dict(color=c, width=1)),
                textfont=dict(size=9, color="white"))
            add("counts", mode="text", textfont=dict(size=11, color=INK))
            add("totals", mode="text", textfont=dict(size=12, color=c), textposition="middle left")
            if row == 1:
                add("clock", mode="text", textfont=dict(size=16, color=INK), textposition="middle right")
        return plots.LabFigure(fig)

    def _add(self, fig, row: int, arch: str, key: str, **kw) -> None:
        xref, yref = _axes(row)
        fig.add_scatter(x=[], y=[], name=f"{arch} {key}", showlegend=False, xaxis=xref, yaxis=yref,
                        textposition=kw.pop("textposition", "middle center"), **kw)
        self._index[(arch, key)] = len(fig.data) - 1

    def _make_timeline(self) -> plots.LabFigure:
        fig = plots.figure("Orders answered and orders done, as time passes", "simulated time (s)",
                           "orders (cumulative)", height=300)
        for name, arch, dash in (("EDA: client answered (broker ack)", "eda", "dot"),
                                 ("EDA: work done (Billing and Audit)", "eda", None),
                                 ("R/R: client answered = work done", "rr", None)):
            plots.line(fig, name, arch=arch, dash=dash)
            fig.data[-1].line.update(shape="hv", width=2.5)
        plots.line(fig, "now (the moment drawn above)", color=INK, dash="dash")
        plots.shade_window(fig, 0, 1, label="burst")
        return fig

    # -- data -------------------------------------------------------------------------------------
    def load(self, animation: flow.OrderAnimation) -> None:
        """Use another run (after a slider move); keeps the current frame when it still exists."""
        self.animation = animation
        self.traces = animation.traces
        self._style = {a: _kinds(t) for a, t in self.traces.items()}
        self._labels = {a: (t.order + 1).astype(str) for a, t in self.traces.items()}
        layouts = {a: t.layout for a, t in self.traces.items()}
        frames = self.traces["eda"].frames
        if layouts != self._layouts:
            shapes, notes = [], []
            for row, arch in enumerate(ARCHS, start=1):
                s, n = _decorations(layouts[arch], row)
                shapes += s
                notes += n
            self._decorate(shapes, notes)
            self._layouts = layouts
        self._timeline_lines(animation)
        self.play.max = self.slider.max = frames - 1
        self._set_interval()
        self._draw(min(self.frame, frames - 1))
        self.sync()

    def _decorate(self, shapes: list, notes: list) -> None:
        """Set the drawing's shapes and annotations, touching only those that changed (it is faster)."""
        layout = self.figure.layout
        last = self._decor
        if last is None or len(last[0]) != len(shapes) or len(last[1]) != len(notes):
            layout.shapes, layout.annotations = shapes, notes
        else:
            for items, old, new in ((layout.shapes, last[0], shapes), (layout.annotations, last[1], notes)):
                for i, (a, b) in enumerate(zip(old, new, strict=True)):
                    if a != b:
                        items[i].update(b)
        self._decor = (shapes, notes)

    def _timeline_lines(self, animation) -> None:
        p = animation.params
        for name, times in (("EDA: client answered (broker ack)", self.traces["eda"].accepted),
                            ("EDA: work done (Billing and Audit)", self.traces["eda"].finished),
                            ("R/R: client answered = work done", self.traces["rr"].finished)):
            t = np.sort(times[~np.isnan(times)])
            plots.set_xy(self.timeline, name, np.concatenate([[0.0], t, [p.until]]),
                         np.concatenate([[0], np.arange(1, len(t) + 1), [len(t)]]))
        plots.move_window(self.timeline, p.burst_start, p.burst_start + p.burst_length, label="burst")
        self._top = max(len(self.traces["eda"].created), 1) * 1.08
        self.timeline.layout.xaxis.range = [0, p.until]
        self.timeline.layout.yaxis.range = [0, self._top]

    def show(self, k: int) -> None:
        """Draw frame ``k`` in both rows and move the timeline's cursor."""
        start = time.perf_counter()
        self._draw(k)
        self.sync()
        self.last_ms = (time.perf_counter() - start) * 1000

    def _draw(self, k: int) -> None:
        k = int(np.clip(k, 0, self.traces["eda"].frames - 1))
        t = float(self.traces["eda"].times[k])
        for arch in ARCHS:
            self._draw_row(arch, k)
        self.figure.data[self._index[("eda", "clock")]].update(x=[0.0], y=[3.75], text=[f"<b>t = {t:.2f} s</b>"])
        plots.set_xy(self.timeline, "now (the moment drawn above)", [t, t], [0, self._top])
        self.clock.value = f"<b>t = {t:.2f} s</b>"

    def _draw_row(self, arch: str, k: int) -> None:
        tr = self.traces[arch]
        data = self.figure.data
        idx = lambda key: data[self._index[(arch, key)]]  # noqa: E731
        style = self._style[arch][tr.station[k]]
        x, y = tr.x[k], tr.y[k]
        shown = ~np.isnan(x)
        labels = self._labels[arch]
        for key, code in (("queued", QUEUED), ("working", WORKING), ("finished", FINISHED)):
            m = shown & (style == code)
            idx(key).update(x=x[m], y=y[m], text=labels[m])
        hx, hy = tr.moves(k)
        idx("hops").update(x=_gaps(hx), y=_gaps(hy))
        w = ~np.isnan(tr.waiting_x[k])
        idx("waiting").update(x=tr.waiting_x[k][w], y=tr.waiting_y[k][w])
        if tr.held_x.shape[1]:
            h = ~np.isnan(tr.held_x[k])
            idx("held").update(x=tr.held_x[k][h], y=tr.held_y[k][h], text=(np.flatnonzero(h) + 1).astype(str))
        cx, cy, texts, sides = [], [], [], []
        for name, (px, py, side, label) in tr.layout.texts.items():
            if name == "client":
                n = int(tr.waiting[k])
                text = f"<b>{n}</b> waiting" if n else "none waiting"
            else:
                n = tr.count(name, k)
                cap = tr.layout.spots[name].cap
                text = f"{label}: <b>{n}</b>" + (f" (+{n - cap})" if n > cap else "")  # +k: not drawn
            cx.append(px)
            cy.append(py)
            texts.append(text)
            sides.append("middle right" if side == "right" else "middle center")
        idx("counts").update(x=cx, y=cy, text=texts, textposition=sides)
        placed = int((tr.created <= tr.times[k] + 1e-12).sum())
        idx("totals").update(x=[12.0], y=[TOP], text=[f"placed <b>{placed}</b> · answered <b>{tr.answered[k]}</b>"
                                                     f" · done <b>{tr.done[k]}</b>"])


def _gaps(a: np.ndarray) -> list:
    """NaN as None: plotly draws a gap, and the value compares equal to itself in tests."""
    return [None if v != v else float(v) for v in a]


_CAPTION = (
    '<div style="font-size:0.9em; color:#444; max-width:60em">'
    "Each circle is one order (its number inside), drawn where it is at time <i>t</i>. "
    "<b>Top, event-driven:</b> OrderSvc publishes the order to the Event Bus and the client is answered as "
    "soon as the bus acknowledges it; each subscription (Billing, Audit) gets its own copy, which waits in "
    "that subscription's queue until a consumer is free. <b>Bottom, request/response:</b> the client's request "
    "holds an OrderSvc worker (square) while OrderSvc calls Billing and then Audit; the client is answered "
    "only after both. Hollow circle: waiting in a queue; filled: being worked on; grey: just finished. "
    "Grey lines show the hops made since the previous frame. Both rows are the same seed: the same orders "
    "at the same moments, and the same billing and audit time for each order.</div>"
)


def panel(**overrides) -> ControlPanel:
    """Sliders for the example (rate, burst, billing time, workers) above the animated flow."""
    params = flow.OrderExample(**overrides)
    animator = FlowAnimator(flow.run(params))
    p = ControlPanel(flow.run, params, SLIDERS, animator.load, [animator.figure, animator.timeline],
               name="start_here", show_figures=False)
    p.widget.children = (p.controls_box, animator.widget)
    p.animator = animator
    return p


def animation(**overrides) -> FlowAnimator:
    """The animated flow alone, for the example with ``overrides`` (no sliders)."""
    return FlowAnimator(flow.run(flow.OrderExample(**overrides)))

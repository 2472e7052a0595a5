"""Notebook 05's panels: scaling consumers, replay vs backfill, backpressure, partitions (``PANELS``)."""

from __future__ import annotations

import numpy as np

from ....experiments import get
from ....experiments.flexibility import (
    ARCH_NAMES,
    MAX_CONSUMERS,
    POLICIES,
    compare_policies,
    throughput_vs_consumers,
)
from ... import plots
from ...panel import ControlPanel

BASELINE = plots.COLORS["extra2"]  # the run without the change (same seed), in every chart of this notebook
QUEUE = plots.COLORS["extra"]  # a work queue, beside the log (EDA blue)
POLICY_COLORS = {"unbounded": plots.COLORS["neutral"], "reject": "#E69F00", "drop_oldest": "#56B4E9",
                 "block": plots.COLORS["eda"]}  # Okabe-Ito


def _grid(panel: ControlPanel, *rows) -> ControlPanel:
    """Show the controls, then the figures in rows (a row of one figure takes the full width)."""
    panel.widget.children = (panel.controls_box, *[plots.side_by_side(*row) for row in rows])
    return panel


def _note(fig, text: str = "") -> None:
    """A one-line note in the top-right corner of the plot (numbers the chart's text refers to)."""
    fig.add_annotation(name="note", text=text, xref="paper", yref="paper", x=1.0, y=1.0, xanchor="right",
                       yanchor="top",
                       showarrow=False, align="right", font=dict(size=11, color=plots.COLORS["neutral"]),
                       bgcolor="rgba(255,255,255,0.8)")


def _set_note(fig, text: str) -> None:
    next(an for an in fig.layout.annotations if an.name == "note").text = text


def _vline(fig, name: str, y: float = 0.86) -> None:
    """A dotted vertical marker (a layout shape named ``name``) with a label at height ``y`` (0..1 of the
    plot), both moved by :func:`_move_vline`."""
    fig.add_shape(type="line", name=name, x0=0, x1=0, y0=0, y1=1, yref="paper", layer="above",
                  line=dict(color=plots.COLORS["neutral"], width=1.5, dash="dot"))
    fig.add_annotation(name=name, text="", x=0, y=y, xref="x", yref="paper", xanchor="left", showarrow=False,
                       font=dict(size=11, color=plots.COLORS["neutral"]), bgcolor="rgba(255,255,255,0.8)")


def _move_vline(fig, name: str, x: float, text: str, visible: bool = True) -> None:
    next(sh for sh in fig.layout.shapes if sh.name == name).update(x0=x, x1=x, visible=visible)
    next(an for an in fig.layout.annotations if an.name == name).update(x=x, text=text, visible=visible)


def _set_gappy(fig, name: str, x, y) -> None:
    """Set a line whose y may hold NaN (no data, no steady state): NaN becomes None, a gap in the line."""
    y = np.asarray(y, dtype=float)
    plots.set_xy(fig, name, x, np.where(np.isnan(y), None, y.astype(object)))


def _hline(fig, name: str, y: float, x0: float, x1: float) -> None:
    plots.set_xy(fig, name, [x0, x1], [y, y])


def _lag_story(result, variant: str, label: str) -> str:
    drained = result.drained_at(variant)
    end = (f"still {result.lag(variant)[1][-1]:.0f} at the end" if np.isnan(drained)
           else f"back under 10 at {drained:.0f} s")
    return f"{label}: peak lag {result.peak_lag(variant):.0f}, {end}"


# -- (a) scaling ---------------------------------------------------------------------------------------
def scaling_panel(**overrides) -> ControlPanel:
    """Lag and rates while consumers join and leave a busy group; the same run without them beside it."""
    exp = get("scaling")
    params = exp.make_params(**overrides)

    lag = plots.figure("Billing lag: orders published but not yet processed", "time (s)",
                       "consumer lag (orders)", height=360)
    plots.line(lag, "1 consumer throughout", color=BASELINE)
    plots.line(lag, "consumers added, then removed", arch="eda")
    plots.theory_line(lag, [], [], "fluid model: lag grows at λ − c·μ")
    plots.shade_window(lag, params.spike_start, params.spike_start + params.spike_length, label="flash sale")
    _vline(lag, "join", y=0.75)
    _vline(lag, "leave", y=0.75)
    lag.layout.yaxis.rangemode = "tozero"
    _note(lag)

    rates = plots.figure("The producer publishes exactly the same orders in both runs", "time (s)",
                         "orders per second", height=360)
    plots.line(rates, "published, 1-consumer run", color=BASELINE)
    plots.line(rates, "published, scaled run", arch="eda", dash="dot")
    plots.line(rates, "processed, 1-consumer run", color=BASELINE)
    plots.line(rates, "processed, scaled run", arch="eda")
    rates.data[0].line.width = 6
    rates.data[0].opacity = 0.35
    rates.data[2].opacity = 0.6
    rates.layout.yaxis.rangemode = "tozero"

    def update(result):
        p = result.params
        for variant, name in (("fixed", "1 consumer throughout"), ("scaled", "consumers added, then removed")):
            plots.set_xy(lag, name, *result.lag(variant))
        (t1, f1), (t2, f2) = result.fluid("fixed"), result.fluid("scaled")  # one dashed trace, two pieces
        plots.set_xy(lag, "fluid model: lag grows at λ − c·μ", np.concatenate((t1, [None], t2)),
                     np.concatenate((f1, [None], f2)))
        scaled = p.consumers != 1
        extra = p.consumers - 1
        plural = "s" if abs(extra) > 1 else ""
        _move_vline(lag, "join", p.join_at, f"{extra:+d} consumer{plural}".replace("-", "−"), visible=scaled)
        _move_vline(lag, "leave", p.leave_at, f"{-extra:+d} consumer{plural}".replace("-", "−"),
                    visible=scaled and p.leave_at < p.until)
        s = result.results["scaled"].summary
        _set_note(lag, f"{_lag_story(result, 'scaled', 'scaled run')}, duplicates {s['duplicates']}<br>"
                       f"{_lag_story(result, 'fixed', '1-consumer run')}")
        lag.layout.yaxis.range = [0, max(result.peak_lag("fixed"), result.peak_lag("scaled"), 10) * 1.3]
        plots.set_xy(rates, "published, 1-consumer run", *result.published_rate("fixed"))
        plots.set_xy(rates, "published, scaled run", *result.published_rate("scaled"))
        plots.set_xy(rates, "processed, 1-consumer run", *result.processed_rate("fixed"))
        plots.set_xy(rates, "processed, scaled run", *result.processed_rate("scaled"))

    panel = ControlPanel(exp.run, params, exp.sliders, update, [lag, rates], name="scaling", show_figures=False)
    return _grid(panel, [lag], [rates])


# -- (b) replay vs backfill ------------------------------------------------------------------------------
def replay_panel(**overrides) -> ControlPanel:
    """A new service gets the history: database load, customers' latency, and history obtained over time."""
    exp = get("replay")
    params = exp.make_params(**overrides)

    load = plots.figure("Load on the order database", "time (s)", "queries per second", height=340)
    plots.line(load, ARCH_NAMES["rr"], arch="rr")
    plots.line(load, ARCH_NAMES["eda"], arch="eda")
    plots.theory_line(load, [], [], "what the database can serve")
    plots.shade_window(load, params.join_at, params.join_at, label="R/R backfill")
    load.layout.yaxis.rangemode = "tozero"

    latency = plots.figure("Customers' order lookups: mean response time", "time the lookup was made (s)",
                           "mean response time, 10 s window (s)", height=340)
    plots.line(latency, ARCH_NAMES["rr"], arch="rr")
    plots.line(latency, ARCH_NAMES["eda"], arch="eda")
    plots.theory_line(latency, [], [], "theory: M/M/c database")
    plots.shade_window(latency, params.join_at, params.join_at, label="R/R backfill")
    latency.layout.yaxis.rangemode = "tozero"

    history = plots.figure("Past orders the new service has obtained", "time (s)", "past orders (count)",
                           height=340)
    plots.line(history, ARCH_NAMES["rr"], arch="rr")
    plots.line(history, ARCH_NAMES["eda"], arch="eda")
    plots.line(history, "orders in the database", dash="dash", color=plots.COLORS["rr"])
    plots.line(history, "orders still in the log", dash="dash", color=plots.COLORS["eda"])
    for trace in history.data[2:]:
        trace.line.width = 1
    history.layout.yaxis.rangemode = "tozero"
    _note(history)
    next(an for an in history.layout.annotations if an.name == "note").update(y=0.0, yanchor="bottom")

    def update(result):
        p = result.params
        start, end = result.backfill_window()
        for arch in ("rr", "eda"):
            plots.set_xy(load, ARCH_NAMES[arch], *result.db_load(arch))
            _set_gappy(latency, ARCH_NAMES[arch], *result.lookup_latency_curve(arch))
            plots.set_xy(history, ARCH_NAMES[arch], *result.history_curve(arch))
        capacity = p.connections * p.service_rate
        _hline(load, "what the database can serve", capacity, 0, p.until)
        load.layout.yaxis.range = [0, max(capacity, *result.db_load("rr")[1]) * 1.25]
        plots.move_window(load, start, end, label="R/R backfill")
        plots.move_window(latency, start, end, label="R/R backfill")
        t, w = result.theory_curve()
        _set_gappy(latency, "theory: M/M/c database", t, w)
        highest = max(np.nanmax(result.lookup_latency_curve(a)[1]) for a in ("rr", "eda"))
        latency.layout.yaxis.range = [0, max(highest, np.nanmax(w)) * 1.3]
        _hline(history, "orders in the database", result.history, p.join_at, p.until)
        _hline(history, "orders still in the log", result.retained, p.join_at, p.until)
        _set_note(history, f"the new service starts at {p.join_at:.0f} s<br>extra database reads: "
                           f"R/R {result.extra_reads('rr')}, EDA {result.extra_reads('eda')}")
        history.layout.xaxis.range = [p.join_at - 5, p.until]

    panel = ControlPanel(exp.run, params, exp.sliders, update, [load, latency, history], name="replay",
                         show_figures=False)
    return _grid(panel, [load, latency], [history])


# -- (c) backpressure ------------------------------------------------------------------------------------
def backpressure_panel(**overrides) -> ControlPanel:
    """Where orders wait, what is lost and who waits, for one overflow policy; all policies compared."""
    exp = get("backpressure")
    params = exp.make_params(**overrides)

    where = plots.figure("Where the orders wait", "time (s)", "orders", height=340)
    plots.line(where, "in the queue", arch="eda")
    plots.line(where, "prefetched by the consumer", color=plots.COLORS["extra"])
    plots.line(where, "held back at the producer", arch="rr")
    plots.theory_line(where, [], [], "queue capacity")
    plots.shade_window(where, params.spike_start, params.spike_start + params.spike_length, label="flash sale")
    where.layout.yaxis.rangemode = "tozero"

    lost = plots.figure("Orders lost so far", "time (s)", "orders lost (count)", height=340, legend=False)
    plots.line(lost, "orders lost", color=plots.COLORS["neutral"])
    plots.shade_window(lost, params.spike_start, params.spike_start + params.spike_length, label="flash sale")
    lost.layout.yaxis.rangemode = "tozero"
    _note(lost)

    waits = plots.figure("Who waits, and how long", "time the order was created (s)",
                         "mean seconds, 4 s window", height=340)
    plots.line(waits, "producer waits for the broker to accept", arch="rr")
    plots.line(waits, "order waits until processed", arch="eda")
    plots.shade_window(waits, params.spike_start, params.spike_start + params.spike_length, label="flash sale")
    waits.layout.yaxis.rangemode = "tozero"

    compare = plots.figure("Every policy at this capacity and prefetch", "what a full queue does",
                           "orders lost (count)", height=340, legend=False)
    plots.bar(compare, "orders lost", x=list(POLICIES))
    compare.data[0].marker.color = [POLICY_COLORS[p] for p in POLICIES]
    compare.data[0].textposition = "outside"
    compare.data[0].cliponaxis = False
    compare.layout.xaxis.update(tickvals=list(POLICIES), ticktext=list(POLICIES))

    def update(result):
        p = result.params
        t, queued, prefetched, held = result.where_waiting()
        plots.set_xy(where, "in the queue", t, queued)
        plots.set_xy(where, "prefetched by the consumer", t, prefetched)
        plots.set_xy(where, "held back at the producer", t, held)
        if p.policy == "unbounded":
            plots.set_xy(where, "queue capacity", [], [])
        else:
            _hline(where, "queue capacity", p.capacity, 0, p.until)
        top = max(queued.max(), prefetched.max(), held.max(), 0 if p.policy == "unbounded" else p.capacity)
        where.layout.yaxis.range = [0, max(top, 10) * 1.2]
        plots.set_xy(lost, "orders lost", *result.lost_curve())
        n = result.numbers()
        lost.layout.yaxis.range = [0, max(n["lost"], 10) * 1.25]
        _set_note(lost, f"{p.policy}: {n['lost']} of {result.result.summary['produced']} orders lost "
                        f"({n['lost_share']:.0%})")
        _set_gappy(waits, "producer waits for the broker to accept", *result.producer_wait())
        _set_gappy(waits, "order waits until processed", *result.latency())
        numbers = {policy: r.numbers() for policy, r in compare_policies(p).items()}
        compare.data[0].y = [numbers[q]["lost"] for q in POLICIES]
        compare.data[0].text = [_policy_text(numbers[q]) for q in POLICIES]
        compare.layout.xaxis.ticktext = [f"<b>{q}</b> (shown)" if q == p.policy else q for q in POLICIES]
        top = max(numbers[q]["lost"] for q in POLICIES)
        compare.layout.yaxis.range = [0, max(top, 10) * 1.6]

    panel = ControlPanel(exp.run, params, exp.sliders, update, [where, lost, waits, compare],
                         name="backpressure", show_figures=False)
    return _grid(panel, [where, lost], [waits, compare])


def _policy_text(n: dict) -> str:
    wait = n["producer_wait_max_s"]
    waits = "producer never waits" if wait < 0.5 else f"producer waits up to {wait:.0f} s"
    return (f"lost {n['lost']} ({n['lost_share']:.0%})<br>{waits}<br>backlog peaks at {n['peak_backlog']:.0f}"
            f"<br>p95 latency {n['latency_p95_s']:.0f} s")


# -- (d) partitions ------------------------------------------------------------------------------------
def partitions_panel(**overrides) -> ControlPanel:
    """Throughput and per-key order against consumers, log vs queue; who owns which partition."""
    exp = get("partitions")
    params = exp.make_params(**overrides)
    grid = np.arange(1, MAX_CONSUMERS + 1)

    speed = plots.figure("Throughput as consumers are added", "consumers", "orders processed per second",
                         height=340)
    plots.line(speed, "log: consumer group", arch="eda", mode="lines+markers")
    plots.line(speed, "work queue: competing consumers", color=QUEUE, mode="lines+markers")
    plots.theory_line(speed, [], [], "theory: min(consumers, partitions) / service time")
    plots.line(speed, "this run", mode="markers", color=plots.COLORS["neutral"])
    speed.data[-1].marker.update(size=14, symbol="circle-open", line=dict(width=2))
    speed.layout.xaxis.dtick = 1
    speed.layout.yaxis.rangemode = "tozero"

    order = plots.figure("Orders finished before an earlier order of the same customer", "consumers",
                         "out of order (% of orders)", height=340)
    plots.line(order, "log: consumer group", arch="eda", mode="lines+markers")
    plots.line(order, "work queue: competing consumers", color=QUEUE, mode="lines+markers")
    order.layout.xaxis.dtick = 1
    order.layout.yaxis.rangemode = "tozero"

    owners = plots.figure("Partitions each consumer of the group owns", "consumer", "partitions owned",
                          height=300, legend=False)
    plots.bar(owners, "partitions", arch="eda")
    owners.data[0].textposition = "outside"
    owners.data[0].cliponaxis = False
    owners.layout.yaxis.update(rangemode="tozero", dtick=1)

    def update(result):
        p = result.params
        sweep = throughput_vs_consumers(p)
        plots.set_xy(speed, "log: consumer group", grid, sweep["log_throughput"])
        plots.set_xy(speed, "work queue: competing consumers", grid, sweep["queue_throughput"])
        plots.set_xy(speed, "theory: min(consumers, partitions) / service time", grid, p.ceiling(grid))
        plots.set_xy(speed, "this run", [p.consumers] * 2, [result.throughput("log"), result.throughput("queue")])
        plots.set_xy(order, "log: consumer group", grid, sweep["log_out_of_order"] * 100)
        plots.set_xy(order, "work queue: competing consumers", grid, sweep["queue_out_of_order"] * 100)
        owned = result.partitions_per_consumer()
        owners.data[0].x = [f"c{i + 1}" for i in range(len(owned))]
        owners.data[0].y = owned
        owners.data[0].text = [str(k) if k else "idle" for k in owned]
        owners.data[0].marker.color = [plots.COLORS["eda"] if k else plots.COLORS["theory"] for k in owned]
        owners.layout.yaxis.range = [0, max(owned) * 1.3 + 0.5]

    panel = ControlPanel(exp.run, params, exp.sliders, update, [speed, order, owners], name="partitions",
                         show_figures=False)
    return _grid(panel, [speed, order], [owners])


PANELS = {"scaling": scaling_panel, "replay": replay_panel, "backpressure": backpressure_panel,
          "partitions": partitions_panel}

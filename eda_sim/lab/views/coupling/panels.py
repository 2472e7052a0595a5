"""Notebook 03's control panels: the experiments' controls and their charts."""


from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .... import theory
from ....experiments import get
from ....experiments.coupling import LOADS, MAX_LEAVES, P_SLOW, POLICIES, POLICY_LABELS, SWEEP_N, goodput_vs_load
from ... import plots, tables
from ...panel import ControlPanel

RR, EDA = plots.COLORS["rr"], plots.COLORS["eda"]
GUIDE = plots.COLORS["neutral"]


def _grid(panel: ControlPanel, *rows) -> ControlPanel:
    """Show the controls, then the figures in rows (a row of one figure takes the full width)."""
    panel.widget.children = (panel.controls_box, *[plots.side_by_side(*row) for row in rows])
    return panel


def _note(fig, y: float = 1.0) -> None:
    """A short text in the top-right corner of the plot, set by :func:`_set_note`."""
    fig.add_annotation(name="note", text="", xref="paper", yref="paper", x=1.0, y=y, xanchor="right",
                       yanchor="top", showarrow=False, align="right", font=dict(size=11, color=GUIDE),
                       bgcolor="rgba(255,255,255,0.85)")


def _set_note(fig, text: str) -> None:
    next(an for an in fig.layout.annotations if an.name == "note").text = text


def _window(fig, start: float, end: float, label: str) -> None:
    """Move the shaded window and change its label (only what changed: layout writes are slow)."""
    shape = next(sh for sh in fig.layout.shapes if sh.name == "outage")
    if (shape.x0, shape.x1) != (start, end):
        shape.update(x0=start, x1=end)
    if shape.label.text != label:
        shape.label.text = label


def _gaps(y) -> np.ndarray:
    """NaN (an empty bin) as None, which plotly draws as a gap and which compares equal to itself."""
    y = np.asarray(y, dtype=float)
    return np.where(np.isnan(y), None, y)


def _seconds(x: float) -> str:
    return "not in this run" if math.isnan(x) else f"{x:.1f} s"


# -- 1. one outage, both architectures ----------------------------------------------------------------
def _headroom(fig, *values, room: float = 1.4) -> None:
    """Fit the y axis to ``values`` (arrays or numbers) with room above for the window label and notes."""
    top = max(float(np.nanmax(np.asarray(x, dtype=float), initial=0.0)) for x in values) or 1.0
    fig.layout.yaxis.range = [-0.03 * room * top, room * top]


def _outage_panel(name: str, title, overrides: dict) -> ControlPanel:
    exp = get(name)
    params = exp.make_params(**overrides)
    start, end = params.outage_start, params.outage_end

    wait = plots.figure(f"{title(params)}: what the client waits for", "time the order was placed (s)",
                        "client's wait (s, mean per second)", height=340)
    plots.line(wait, "R/R: wait for the answer", arch="rr")
    plots.line(wait, "EDA: wait for the broker's ack", arch="eda")
    plots.line(wait, "R/R client timeout", color=GUIDE, dash="dot")

    failed = plots.figure("Orders the client was told failed", "time the order was placed (s)",
                          "orders failed (%, per second)", height=340, y_range=(-3, 103))
    plots.line(failed, "R/R: error or timeout", arch="rr")
    plots.line(failed, "EDA: publish refused", arch="eda", dash="dash")

    backlog = plots.figure("Where the work piles up", "time (s)", "requests or orders waiting", height=340)
    plots.line(backlog, "R/R: calls queued at the services", arch="rr")
    backlog.data[-1].line.width, backlog.data[-1].opacity = 6, 0.4  # wide and pale: the EDA line often runs on it
    plots.line(backlog, "R/R: order-service workers held", arch="rr", dash="dot")
    plots.line(backlog, "EDA: billing's consumer lag (orders waiting)", arch="eda")
    plots.theory_line(backlog, [], [], "theory (fluid): grows λ/s, drains at cμ − λ")
    _note(backlog)

    done = plots.figure("When is the order really done?", "time the order was placed (s)",
                        "placed → done (s, mean per second)", height=340)
    plots.line(done, "R/R: done (client got ok)", arch="rr")
    plots.line(done, "EDA: billing done", arch="eda")
    plots.line(done, "EDA: audit done", color=plots.COLORS["extra"], dash="dash")
    plots.line(done, "deadline", color=GUIDE, dash="dot")
    _note(done)

    figures = (wait, failed, backlog, done)
    for fig in figures:
        plots.shade_window(fig, start, end)
    failed.layout.shapes[0].label.textposition = "middle left"  # the lines run along 0% and 100%
    for fig in (wait, failed, done):  # per-second bins drawn as steps, changing at the bin edges
        fig.update_traces(line_shape="hvh")

    def update(r):
        p = r.params
        o = r.per_order
        wait.layout.title.text = f"{title(p)}: what the client waits for"
        x, y = r.binned(o["rr_wait"])
        y_eda = r.binned(o["eda_wait"])[1]
        plots.set_xy(wait, "R/R: wait for the answer", x, _gaps(y))
        plots.set_xy(wait, "EDA: wait for the broker's ack", x, _gaps(y_eda))
        plots.set_xy(wait, "R/R client timeout", [0, p.until], [p.timeout, p.timeout])
        _headroom(wait, y, y_eda, p.timeout)

        plots.set_xy(failed, "R/R: error or timeout", x, _gaps(r.binned(o["rr_failed"])[1] * 100))
        plots.set_xy(failed, "EDA: publish refused", x, _gaps(r.binned(o["eda_failed"])[1] * 100))

        t, rr_backlog = r.backlog("rr")
        plots.set_xy(backlog, "R/R: calls queued at the services", t, rr_backlog)
        plots.set_xy(backlog, "R/R: order-service workers held", *r.series("rr", "orders.busy"))
        plots.set_xy(backlog, "EDA: billing's consumer lag (orders waiting)", *r.backlog("eda"))
        plots.set_xy(backlog, "theory (fluid): grows λ/s, drains at cμ − λ", t, p.backlog_theory(t))
        s = r.summary
        rr_note = (f"R/R queues clear in {_seconds(s['rr']['drain_time'])}" if p.target == "billing"
                   else "R/R has no broker: nothing piles up")
        _set_note(backlog, f"EDA drains in {_seconds(s['eda']['drain_time'])} "
                           f"(theory {_seconds(r.theory['drain_time'])})<br>{rr_note}")
        _headroom(backlog, rr_backlog, r.backlog("eda")[1], room=1.3)

        ok_wait = np.where(o["rr_failed"], np.nan, o["rr_done"] - o["created"])
        lines = {"R/R: done (client got ok)": r.binned(ok_wait)[1],
                 "EDA: billing done": r.binned(o["eda_billing_done"] - o["created"])[1],
                 "EDA: audit done": r.binned(o["eda_audit_done"] - o["created"])[1]}
        for trace, values in lines.items():
            plots.set_xy(done, trace, x, _gaps(values))
        plots.set_xy(done, "deadline", [0, p.until], [p.deadline, p.deadline])
        _headroom(done, p.deadline, *lines.values())
        _set_note(done, f"EDA: {1 - s['eda']['failed_share']:.0%} accepted, {s['eda']['on_time_share']:.0%} "
                        f"done within {p.deadline:g} s<br>R/R: {s['rr']['done_but_failed']} orders done although"
                        f"<br>the client was told they failed")  # narrow: clear of the window's label

        label = "billing down" if p.target == "billing" else "broker down (EDA only)"
        for fig in figures:
            _window(fig, p.outage_start, p.outage_end, label)
            if fig.layout.xaxis.range != (0, p.until):
                fig.layout.xaxis.range = [0, p.until]

    panel = ControlPanel(exp.run, params, exp.sliders, update, list(figures), name=name, show_figures=False)
    return _grid(panel, (wait, failed), (backlog, done))


def outage_panel(**overrides) -> ControlPanel:
    """Billing (or the broker) down for a while: client wait, failures, backlogs, and when orders are done."""
    return _outage_panel("coupling_outage", lambda p: f"{'Billing' if p.target == 'billing' else 'The broker'} "
                                                      f"down for {p.down_for:g} s", overrides)


def deploy_panel(**overrides) -> ControlPanel:
    """Billing restarts for a deploy: the same four charts for a short window."""
    return _outage_panel("coupling_deploy", lambda p: f"Billing restarts for a deploy ({p.down_for:g} s)",
                         overrides)


OUTAGE_ROWS = {  # summary key: what the notebook calls it (percentages are shown as %)
    "produced": "orders placed",
    "failed_share": "client told the order failed (%)",
    "accept_p99": "client's wait, 99th percentile (s)",
    "done_share": "orders done by the end of the run (%)",
    "on_time_share": "orders done within the deadline (%)",
    "backlog_max": "largest backlog (requests or orders)",
    "drain_time": "backlog drained after the outage (s)",
    "done_but_failed": "orders done although the client was told they failed",
}
PERCENT = {"failed_share", "done_share", "on_time_share"}


def outage_table(result, caption: str | None = None):
    """The outage's headline numbers, one row per question, a column per architecture (and theory, "–"
    where it has nothing to say), as a tidy table."""
    table = result.table().loc[list(OUTAGE_ROWS)]
    table.loc[list(PERCENT)] *= 100
    decimals = {"accept_p99": 3}  # seconds to the ms; percentages and other seconds to one decimal
    table = table.apply(lambda row: row.map(lambda v: tables.number(v, decimals.get(row.name, 1))), axis=1)
    table = table.rename(index=OUTAGE_ROWS, columns={"rr": plots.LABELS["rr"], "eda": plots.LABELS["eda"],
                                                     "theory": "theory (fluid)"})
    return tables.tidy(table, caption=caption)


SCENARIOS = {
    "defaults (billing hangs)": {},
    "billing refuses calls at once": dict(when_down="error"),
    "3 billing workers / consumers": dict(workers=3),
    "12 orders/s (90% of billing)": dict(rate=12.0),
    "the broker is down instead": dict(target="broker"),
}


def scenario_table(scenarios: dict | None = None, **overrides):
    """One row per scenario (name: parameter changes) of ``coupling_outage``: what each client sees and
    how long EDA takes to catch up. ``overrides`` apply to every scenario."""
    import pandas as pd

    exp = get("coupling_outage")
    rows = {}
    for name, change in (scenarios or SCENARIOS).items():
        r = exp(**{**overrides, **change})
        rr, eda = r.summary["rr"], r.summary["eda"]
        rows[name] = {
            "R/R: told failed (%)": 100 * rr["failed_share"],
            "EDA: told failed (%)": 100 * eda["failed_share"],
            "EDA: longest client wait (s)": float(np.nanmax(r.per_order["eda_wait"])),
            "EDA: done within deadline (%)": 100 * eda["on_time_share"],
            "EDA: drain time (s)": eda["drain_time"],
            "drain time, theory (s)": r.theory["drain_time"],
        }
    frame = pd.DataFrame.from_dict(rows, orient="index").rename_axis("scenario")
    return tables.tidy(frame, decimals={"EDA: longest client wait (s)": 3}, caption=(
        "One run per scenario, seed 1, the other settings at their defaults (not the panel's). "
        "Drain time –: not drained by the end of the run."))


# -- 2. retry storm after a short outage -----------------------------------------------------------
def storm_panel(**overrides) -> ControlPanel:
    """Offered load, tries and goodput over time after a short backend outage, and the api's queue."""
    exp = get("coupling_storm")
    params = exp.make_params(**overrides)
    for policy in POLICIES:  # warm the cache: switching policy only redraws
        exp.run(replace(params, policy=policy))

    rates = plots.figure("Offered load, tries sent and goodput (R/R)", "time (s)", "requests per second",
                         height=360)
    plots.line(rates, "new requests (offered load)", color=GUIDE)
    plots.line(rates, "tries sent, retries included", arch="rr", dash="dash")
    plots.line(rates, "goodput: ok answers", arch="rr")
    plots.theory_line(rates, [], [], "what the api can serve")
    _note(rates)

    queue = plots.figure("Requests waiting at the api", "time (s)", "requests queued for a worker", height=360)
    plots.line(queue, "api queue", arch="rr")
    plots.line(queue, "queue limit (more are rejected)", color=GUIDE, dash="dot")
    _note(queue)
    for fig in (rates, queue):
        plots.shade_window(fig, params.outage_start, params.outage_end)

    def update(r):
        p = r.params
        t, offered = r.series("client.offered")
        plots.set_xy(rates, "new requests (offered load)", t, offered)
        plots.set_xy(rates, "tries sent, retries included", *r.series("client.sent"))
        plots.set_xy(rates, "goodput: ok answers", *r.series("client.goodput"))
        plots.set_xy(rates, "what the api can serve", [0, p.until], [p.capacity, p.capacity])
        rates.layout.yaxis.range = [0, 1.45 * max(2 * p.capacity, np.nanmax(r.series("client.sent")[1]))]
        s = r.result.summary
        _set_note(rates, f"{POLICY_LABELS[p.policy]}<br>late after the outage: "
                         f"{s['ok_share_after']:.0%} of requests succeed")
        plots.set_xy(queue, "api queue", *r.series("api.queue"))
        plots.set_xy(queue, "queue limit (more are rejected)", [0, p.until], [p.queue_limit, p.queue_limit])
        queue.layout.yaxis.range = [0, 1.45 * p.queue_limit]
        _set_note(queue, f"tries per request: {s['attempts_mean']:.2f}<br>"
                         f"api time spent on abandoned requests: {s['wasted']:.0%}")
        for fig in (rates, queue):
            _window(fig, p.outage_start, p.outage_end, "backend down")

    panel = ControlPanel(exp.run, params, exp.sliders, update, [rates, queue], name="coupling_storm",
                         show_figures=False)
    return _grid(panel, (rates, queue))


LOAD_STYLE = {  # every line is request/response: colours tell the policies apart, not the architectures
    "naive": ("naive retries", RR, None),
    "no_retries": ("no retries", GUIDE, "dashdot"),
    "backoff_budget": ("backoff + jitter + budget", plots.COLORS["extra2"], "dash"),
    "breaker": ("circuit breaker", plots.COLORS["extra"], "dot"),
}


def load_figure(params=None, policies=tuple(LOAD_STYLE)):
    """Goodput late after the outage vs offered load, one line per retry policy (simulated, cached), beside
    the goodput of a healthy api: all of the offered load, up to its capacity."""
    params = params or get("coupling_storm").defaults()
    fig = plots.figure(f"After a {params.down_for:g} s outage: goodput vs offered load", "offered load (requests/s)",
                       "goodput late after the outage (ok/s)", height=380)
    x = np.linspace(0, max(LOADS), 50)
    fig.layout.margin.t += 24  # the legend takes two rows
    plots.theory_line(fig, x, np.minimum(x, params.capacity), "healthy api (goodput = load)")
    for policy in policies:
        name, color, dash = LOAD_STYLE[policy]
        loads, good = goodput_vs_load(replace(params, policy=policy))
        plots.line(fig, name, loads, good, color=color, dash=dash, mode="lines+markers")
    return fig


# -- 3. fan-out tail -----------------------------------------------------------------------------------
SHOWN = 50  # requests drawn one per row
def fanout_panel(**overrides) -> ControlPanel:
    """Share of slow requests vs the number of leaves, with 1 − (1 − p)^n, and the latency at this n."""
    exp = get("coupling_fanout")
    params = exp.make_params(**overrides)
    for p_slow in P_SLOW:  # warm the cache: one 100-leaf run per p
        exp.run(replace(params, p_slow=p_slow))

    share = plots.figure("A request waiting for n leaves is slow if any leaf is", "leaves each request waits for, n",
                         "slow requests (%)", height=360, y_range=(-3, 103))
    plots.theory_line(share, [], [], "theory: 1 − (1 − p)ⁿ")
    plots.line(share, "simulated (R/R)", arch="rr", mode="markers")
    share.data[-1].marker.size = 8
    plots.line(share, "this n", mode="markers", color=GUIDE)
    share.data[-1].marker.update(size=14, symbol="circle-open", line=dict(width=2))
    share.layout.xaxis.range = [0, MAX_LEAVES + 2]

    grid = plots.figure(f"The first {SHOWN} requests: one slow leaf makes the request slow",
                        "leaf the request waits for (1 … n)", "request number", height=360)
    plots.line(grid, "slow request (the client waits 0.5 s)", arch="rr")
    grid.data[-1].line.width, grid.data[-1].opacity = 7, 0.3
    plots.line(grid, "slow leaf answer", arch="rr", mode="markers")
    grid.data[-1].marker.update(symbol="x", size=8)
    grid.layout.yaxis.update(range=[SHOWN + 0.5, -1.5], dtick=10)

    def update(r):
        p = r.params
        n_grid = np.arange(1, MAX_LEAVES + 1)
        plots.set_xy(share, "theory: 1 − (1 − p)ⁿ", n_grid, theory.fanout_slow_probability(p.p_slow, n_grid) * 100)
        ns, sim, _ = r.sweep(SWEEP_N)
        plots.set_xy(share, "simulated (R/R)", ns, _gaps(sim * 100))
        plots.set_xy(share, "this n", [p.leaves], [r.slow_share() * 100])
        leaf, req = r.slow_answers(SHOWN)
        plots.set_xy(grid, "slow leaf answer", leaf, req)
        rows = np.unique(req)
        xs = np.tile(np.array([0.5, p.leaves + 0.5, None], dtype=object), len(rows))  # None: a break
        plots.set_xy(grid, "slow request (the client waits 0.5 s)", xs, np.repeat(rows, 3))
        grid.layout.xaxis.range = [0, p.leaves + 1]
        grid.layout.title.text = (f"The first {SHOWN} requests with n = {p.leaves}: {len(rows)} slow "
                                  f"(of all {len(r.latencies())}: {r.slow_share():.0%})")

    panel = ControlPanel(exp.run, params, exp.sliders, update, [share, grid], name="coupling_fanout",
                         show_figures=False)
    return _grid(panel, (share, grid))


PANELS = {"outage": outage_panel, "deploy": deploy_panel, "storm": storm_panel, "fanout": fanout_panel}


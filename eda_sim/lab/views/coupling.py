"""Notebook 03 (coupling and failure propagation): one outage seen by both architectures, a deploy, the
retry storm after a short outage, and the fan-out tail."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ... import theory
from ...experiments import get
from ...experiments.coupling import LOADS, MAX_LEAVES, P_SLOW, POLICIES, POLICY_LABELS, SWEEP_N, goodput_vs_load
from .. import exercises, plots, tables
from ..panel import ControlPanel
from ._revealed import closest, text_and_tables

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


# -- what the notebook shows around the panels -------------------------------------------------------
PARAMETER_LABELS = {
    "rate": "orders per second", "billing_time": "billing time per order, mean (s)",
    "workers": "billing workers (R/R) or consumers (EDA)", "audit_time": "audit time per order, mean (s)",
    "entry_workers": "order-service workers (R/R)", "timeout": "R/R client timeout (s)",
    "when_down": "billing when down", "target": "what fails", "outage_start": "outage starts at (s)",
    "down_for": "outage length (s)", "publish_latency": "broker acknowledgement (s)",
    "deadline": "an order is on time if done within (s)", "until": "simulated time (s)", "seed": "seed",
}


def parameters(params=None):
    """The outage experiment's settings as a table (the defaults unless ``params`` is given)."""
    return tables.parameters(params or get("coupling_outage").defaults(), PARAMETER_LABELS)


FAILED_OPTIONS = {0: "none", 100: "about 100: the orders placed during the outage", 200: "about 200",
                  400: "about 400"}
STORM_OPTIONS = ["recovers within a few seconds", "recovers, but only after 10–30 s",
                 "stays overloaded for the rest of the run"]
PREDICTIONS = {
    "outage failures": ("R/R orders the client sees fail:", list(FAILED_OPTIONS.values())),
    "retry storm": ("At 60% load, after the 5 s outage ends, the api with naive retries...", STORM_OPTIONS),
}


def prediction(key: str) -> exercises.Prediction:
    prompt, options = PREDICTIONS[key]
    return exercises.Prediction(prompt, options)


def _failed(summary: dict) -> int:
    return summary["errors"] + summary["timeouts"]


def reveal(pred: exercises.Prediction, key: str):
    """Give ``pred`` its verdict from the run its question describes (the default settings)."""
    if key == "outage failures":
        return pred.reveal(closest(FAILED_OPTIONS, _failed(get("coupling_outage")().summary["rr"])))
    if key == "retry storm":
        recovery = get("coupling_storm")().result.summary["recovery_time"]
        option = STORM_OPTIONS[2] if math.isnan(recovery) else STORM_OPTIONS[int(recovery > 5)]
        return pred.reveal(option)
    raise KeyError(f"no prediction {key!r}")


def outage_numbers(**overrides) -> dict:
    """The numbers notebook 03 quotes about the outage (default settings unless overridden)."""
    r = get("coupling_outage")(**overrides)
    p, rr, eda = r.params, r.summary["rr"], r.summary["eda"]
    return {"result": r, "failed": _failed(rr), "produced": rr["produced"], "failed_share": rr["failed_share"],
            "rr_drain": rr["drain_time"], "done_but_failed": rr["done_but_failed"],
            "backlog_max": eda["backlog_max"], "drain": eda["drain_time"], "drain_theory": p.drain_theory(),
            "spare": p.workers / p.billing_time - p.rate, "on_time": eda["on_time_share"],
            "failed_fast": rr["failed_share"] if p.when_down == "error" else None}


def explanation(key: str):
    """What a prediction holds back: the run's numbers and why (a function, called at reveal time)."""
    if key == "outage":
        return _explain_outage
    if key == "storm":
        return _explain_storm
    if key == "scenarios":
        return lambda: text_and_tables("", scenario_table())
    raise KeyError(f"no explanation {key!r}")


def _explain_outage():
    n = outage_numbers()
    r, p = n["result"], n["result"].params
    fast = outage_numbers(when_down="error")
    three = outage_numbers(workers=3)
    text = (
        f"**What the run shows** (the default settings, seed 1): the R/R client saw **{n['failed']} of "
        f"{n['produced']} orders fail** ({n['failed_share']:.0%}); the EDA client saw none, every publish "
        f"was acknowledged in {1000 * p.publish_latency:.0f} ms.\n\n"
        "**R/R: the failure travels upstream and outlasts the outage.** Each order-service worker that calls "
        f"billing is held until billing answers. At {p.rate:g} orders per second all {p.entry_workers} workers "
        "are stuck about a second after billing stops; new orders queue at the order service and their "
        f"clients give up after {p.timeout:g} s. When billing comes back it first serves the calls that "
        "stalled, then the order service works through its queue, and every one of those clients has "
        f"already gone. New orders wait behind them and time out too, so a {p.down_for:g} s outage fails "
        f"{n['failed']} orders and the R/R queues clear only {n['rr_drain']:.0f} s after billing is back. "
        "Audit, which never failed, gets no calls meanwhile: its caller is stuck waiting for billing. "
        f"Worse, billing did charge {n['done_but_failed']} of those orders: the client was told \"timeout\" "
        "while the work happened anyway, so a client that retries pays twice unless billing deduplicates.\n\n"
        "**EDA: the producer does not notice.** The broker accepts every order whatever billing is doing. "
        f"Billing's subscription grows by λ = {p.rate:g} orders per second during the outage (to about "
        f"λD = {p.rate * p.down_for:.0f}; this run peaked at {n['backlog_max']:.0f}), then shrinks at billing's "
        f"spare capacity cμ − λ = {p.workers}/{p.billing_time:g} − {p.rate:g} ≈ {n['spare']:.1f} orders per "
        f"second. The fluid estimate of the drain time is λD/(cμ − λ) = {n['drain_theory']:.0f} s; this run "
        f"measured {n['drain']:.0f} s (single runs vary by several seconds: try seeds 2 to 6). Audit has its "
        "own subscription and never slows down: the failure stays with billing.\n\n"
        f"Try the sliders: with **3 billing workers** the drain takes about {three['drain']:.0f} s (theory "
        f"{three['drain_theory']:.0f} s); with **billing when down = error** (connection refused) the R/R "
        f"client fails fast and only {fast['failed_share']:.0%} of the orders fail, about those placed during "
        "the outage. Timeouts and failing fast, not only the architecture, decide how far a failure spreads.")
    return text_and_tables(text, outage_table(r, caption="The default run (seed 1), not the panel's current "
                                                         "settings."))


def _explain_storm():
    s = get("coupling_storm")().result.summary
    policies = {policy: get("coupling_storm")(policy=policy).result.summary["recovery_time"]
                for policy in ("no_retries", "backoff_budget", "breaker")}
    text = (
        f"**What the run shows** (the defaults): with naive retries {s['ok_share_after']:.0%} of the "
        f"requests placed late after the outage succeed, each request costs {s['attempts_mean']:.2f} tries, "
        f"and {s['wasted']:.0%} of the api's time goes to requests whose client already gave up. The api "
        "never recovers.\n\n"
        "**Why.** During the outage the api's queue fills to its limit of 100. Once the backend is back, a "
        "request at the end of that queue waits 100 × 0.1 s / 2 = 5 s, far beyond the client's 1 s timeout. "
        "The client gives up and retries, the api still serves the abandoned copy, and the retry joins the "
        "back of the same queue. Every request now costs about three tries, so 12 requests per second become "
        "more tries than the api's 20 per second. Nothing is broken any more, yet goodput stays at zero.\n\n"
        f"The other policies all break that loop: without retries the queue drains in about "
        f"{policies['no_retries']:.0f} s; backoff with jitter and a retry budget keeps retries near 10% of "
        f"requests and recovers in about {policies['backoff_budget']:.0f} s; the circuit breaker opens, fails "
        f"calls fast instead of queueing them, and recovers within {policies['breaker']:.0f} s of the "
        "outage's end.\n\n"
        "The chart sweeps the offered load (each point is one simulated run, with the same 5 s outage). A "
        "healthy api serves everything up to 20 requests per second. After the outage, naive retries "
        "collapse from 6 requests per second on, **30% of capacity**; backoff with a budget holds to 12/s, "
        "the breaker to 14/s.")
    eda = retry_storm_table()
    return text_and_tables(text, load_figure(), "The same outage in EDA, from the lab's `retry_storm` "
                           "experiment (24 requests/s, a 15 s outage): the producer never retries against the "
                           "backend, the backend's subscription fills and drains in a few seconds, and every "
                           "order is accepted. R/R never recovers in that run.", eda)


STORM_ROWS = {"ok_share_after": "requests placed late after the outage that succeed (%)",
              "done_share_after": "of those, done by the end of the run (%)",
              "recovery_time": "recovered after the outage ended (s)",
              "backlog_max": "largest backlog (requests or orders)"}


def retry_storm_table():
    """R/R vs EDA after the same outage (``retry_storm`` at its defaults), tidy, "–" for never."""
    table = get("retry_storm")().table().loc[list(STORM_ROWS)]
    table.loc[["ok_share_after", "done_share_after"]] *= 100
    table = table.rename(index=STORM_ROWS, columns={"rr": plots.LABELS["rr"], "eda": plots.LABELS["eda"]})
    return tables.tidy(table, decimals=1, caption="retry_storm at its defaults (seed 1). Recovered –: never, "
                                                  "in this run.")


FANOUT_ROWS = {"slow_share": "slow orders (%)", "accept_p50": "client's wait, median (s)",
               "accept_p99": "client's wait, 99th percentile (s)", "done_p99": "order done, 99th percentile (s)",
               "amplification": "backend calls per order"}


def fanout_table():
    """R/R vs EDA with a slow leaf in n (``fanout``, 60 s), tidy: who waits for the slow leaves."""
    table = get("fanout")(until=60.0).table().loc[list(FANOUT_ROWS)]
    table.loc["slow_share"] *= 100
    table = table.rename(index=FANOUT_ROWS, columns={"rr": plots.LABELS["rr"], "eda": plots.LABELS["eda"],
                                                     "theory": "theory: 1 − (1 − p)ⁿ"})
    return tables.tidy(table, decimals=2, caption="The lab's fanout experiment at its defaults, 60 s, seed 1.")


def deploy_numbers() -> dict:
    """What the deploy paragraph quotes (default settings)."""
    r = get("coupling_deploy")()
    o, eda = r.per_order, r.summary["eda"]
    return {"result": r, "errors": r.summary["rr"]["errors"],
            "billed_max": float(np.nanmax(o["eda_billing_done"] - o["created"])),
            "rr_not_done": 1 - r.summary["rr"]["done_share"],
            "eda_not_done": round((1 - eda["done_share"]) * eda["produced"])}


# -- exercises -----------------------------------------------------------------------------------------
PROMISE_S = 10.0  # billing's team promises to work off the backlog within this many seconds


def smallest_consumers(params) -> int:
    """Fewest billing consumers whose fluid drain time after ``params``' outage is at most the promise."""
    c = 1
    while c / params.billing_time <= params.rate or replace(params, workers=c).drain_theory() > PROMISE_S + 1e-9:
        c += 1
    return c


def exercise(key: str, panel: ControlPanel | None = None):
    """``"billing consumers"`` (a number) and ``"check consumers"`` (reads the outage ``panel``)."""
    if key == "billing consumers":
        return exercises.Numeric(
            "Smallest number of billing consumers that drains a 10 s outage's backlog within 10 s:",
            answer=3, tolerance=0, unit="consumers",
            explanation="λD = 100 orders wait at the end of the outage. With c consumers the backlog shrinks at "
                        "c/0.15 − 10 per second, so 100 / (c/0.15 − 10) ≤ 10 needs c/0.15 ≥ 20, that is c ≥ 3: "
                        "exactly 10 s with 3 consumers, 30 s with 2, 6 s with 4.",
            hint="At the end of the outage about λD = 100 orders are waiting. How fast does the backlog shrink "
                 "with c consumers, each taking 0.15 s per order, while 10 new orders arrive every second?")
    if key == "check consumers":
        if panel is None:
            raise ValueError("exercise 'check consumers' needs the outage panel")

        def check():
            p = panel.params
            if (p.rate, p.down_for, p.target) != (10.0, 10.0, "billing"):
                return False, ("Set the rate back to 10 orders/s, the outage length to 10 s and *what fails* to "
                               "billing (or press Reset), then set billing workers.")
            drain = panel.result.summary["eda"]["drain_time"]
            measured = f"measured {drain:.1f} s" if math.isfinite(drain) else "not drained by the end of the run"
            need = smallest_consumers(p)
            said = (f"With {p.workers} consumers the fluid estimate is {p.drain_theory():.1f} s and this run "
                    f"(seed {p.seed}) {measured}.")
            if p.workers < need:
                return False, f"{said} More than the promised 10 s: add consumers."
            if p.workers > need:
                return False, f"{said} Within 10 s, but fewer consumers would keep the promise too."
            return True, f"{said} The fewest that keep the promise (single runs vary by a few seconds)."

        return exercises.Exercise(
            "Set **billing workers** to your answer in the first panel (outage length 10 s, rate 10 orders/s), "
            "then check. The check reads the panel's current run.",
            check=check,
            hint="Compare the dashed fluid line's drain with the measured one in the *Where the work piles up* "
                 "chart as you move the billing workers slider.",
            solution="Three consumers: 100 / (3/0.15 − 10) = 10 s. With 3 billing workers the panel shows a "
                     "measured drain of about 10 s (seed 1: 10.0 s; seeds 2 to 6: 6.5 to 12.5 s).")
    raise KeyError(f"no exercise {key!r}; choose 'billing consumers' or 'check consumers'")

"""Notebook 07 (the costs of EDA): one small panel per cost, each listed in ``PANELS``."""

from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
from IPython.display import display

from ...experiments import get
from ...experiments.costs import CRASH_TIMES, KINDS
from .. import plots, tables
from ..exercises import Exercise, Prediction, markdown_html
from ..panel import ControlPanel

ALERT = plots.COLORS["extra2"]  # alert thresholds and the moment an alert fires


def _hline(fig, name: str, color: str, dash: str = "dot") -> None:
    plots.line(fig, name, color=color, dash=dash)


# -- 1. broker outage and slowdown --------------------------------------------------------------------
OUTAGE_STYLE = {  # variant: legend name, colour
    "buffer": ("down, producer buffers", plots.COLORS["eda"]),
    "slow": ("slow (× slowdown)", plots.COLORS["extra"]),
    "drop": ("down, publishes dropped", plots.COLORS["extra2"]),
}


def outage_panel(**overrides) -> ControlPanel:
    """The broker is down (or slow) for a window: the producer's wait per order, and orders at risk."""
    exp = get("costs_outage")
    params = exp.make_params(**overrides)

    waits = plots.figure("How long each order waits for the broker to accept it",
                         "time the order was placed (s)", "wait for the broker's ack (s, log scale)", height=360)
    waits.layout.yaxis.update(type="log", dtick=1, exponentformat="none", range=[-3, math.log10(50)])
    for variant in ("buffer", "slow"):
        name, color = OUTAGE_STYLE[variant]
        plots.line(waits, name, mode="markers", color=color)
        waits.data[-1].marker.size = 5
    plots.theory_line(waits, [], [], "rest of the outage (end − t)")
    plots.shade_window(waits, params.outage_start, params.outage_end, label="broker down / slow")

    risk = plots.figure("Orders not safely in the broker", "time (s)", "orders", height=360)
    plots.line(risk, "lost so far (drop)", color=OUTAGE_STYLE["drop"][1])
    risk.data[-1].line.width, risk.data[-1].opacity = 7, 0.45  # wide and pale: the buffer line runs on it
    plots.line(risk, "held by the producer (buffer)", color=OUTAGE_STYLE["buffer"][1])
    plots.line(risk, "held by the producer (slow)", color=OUTAGE_STYLE["slow"][1], dash="dash")
    plots.shade_window(risk, params.outage_start, params.outage_end, label="broker down / slow")

    def update(result):
        p = result.params
        for variant in ("buffer", "slow"):
            created, wait = result.accept_waits(variant)
            ok = ~np.isnan(wait)
            plots.set_xy(waits, OUTAGE_STYLE[variant][0], created[ok], wait[ok])
        t_in = np.linspace(p.outage_start, p.outage_end - 0.02 * p.outage, 60)
        plots.set_xy(waits, "rest of the outage (end − t)", t_in, p.outage_end - t_in)
        plots.move_window(waits, p.outage_start, p.outage_end, label="broker down / slow")
        t = np.linspace(0, p.until, 481)
        plots.set_xy(risk, "held by the producer (buffer)", t, result.waiting_over_time("buffer", t))
        plots.set_xy(risk, "lost so far (drop)", t, result.lost_over_time("drop", t))
        plots.set_xy(risk, "held by the producer (slow)", t, result.waiting_over_time("slow", t))
        plots.move_window(risk, p.outage_start, p.outage_end, label="broker down / slow")

    return ControlPanel(exp.run, params, exp.sliders, update, [waits, risk], name="costs_outage")


# -- 2. at-least-once delivery and duplicates ---------------------------------------------------------
DUP_STYLE = {"each": ("ack / commit every message", plots.COLORS["extra"]),
             "batch": ("ack / commit every k messages", plots.COLORS["eda"])}


def duplicates_panel(**overrides) -> ControlPanel:
    """A consumer crashes three times: duplicates over time, and double charges with and without an
    idempotency key."""
    exp = get("costs_duplicates")
    params = exp.make_params(**overrides)

    over_time = plots.figure("Payments processed a second time (consumer 1 crashes 3 times)", "time (s)",
                             "duplicate processings so far", height=360)
    for name, color in DUP_STYLE.values():
        plots.line(over_time, name, color=color)
    over_time.data[-1].line.shape = over_time.data[-2].line.shape = "hv"
    for i, t in enumerate(CRASH_TIMES, 1):
        plots.shade_window(over_time, t, t + params.crash_down, label=f"crash {i}")

    charges = plots.figure("Customers charged twice", "acknowledgement policy", "double charges", height=360)
    plots.bar(charges, "no idempotency key", x=[name for name, _ in DUP_STYLE.values()],
              color=plots.COLORS["extra2"])
    plots.bar(charges, "with an idempotency key", x=[name for name, _ in DUP_STYLE.values()],
              color=plots.COLORS["extra"])
    for trace in charges.data:
        trace.textposition = "outside"
    charges.layout.yaxis.rangemode = "tozero"

    def update(result):
        most = 0
        for variant, (name, _) in DUP_STYLE.items():
            t, dups = result.duplicates_over_time(variant)
            plots.set_xy(over_time, name, t, dups)
            most = max(most, max(dups, default=0))
        over_time.layout.yaxis.range = [0, max(most, 4) * 1.35]  # headroom: the curve stays below the crash labels
        counts = [result.counts(v) for v in DUP_STYLE]
        extra = [c["charges_without_idempotency"] - c["orders_paid"] for c in counts]
        kept = [c["charges_with_idempotency_key"] - c["orders_paid"] for c in counts]
        labels = ["ack / commit every message", f"every k = {result.params.batch} messages"]
        charges.data[0].x = charges.data[1].x = labels
        charges.data[0].y = extra
        charges.data[0].text = [f"{e} of {c['orders_paid']} orders" for e, c in zip(extra, counts, strict=True)]
        charges.data[1].y = kept
        charges.data[1].text = [f"{k}" for k in kept]
        charges.layout.yaxis.range = [0, max(max(extra) * 1.3, 5)]
        for i, t in enumerate(CRASH_TIMES, 1):
            plots.move_window(over_time, t, t + result.params.crash_down, label=f"crash {i}")

    return ControlPanel(exp.run, params, exp.sliders, update, [over_time, charges], name="costs_duplicates")


# -- 3. ordering ------------------------------------------------------------------------------------
ORDER_STYLE = {"queue": ("work queue, competing consumers", plots.COLORS["extra"]),
               "log": ("partitioned log, key → partition", plots.COLORS["eda"])}


def ordering_panel(**overrides) -> ControlPanel:
    """Out-of-order completions per key on a work queue vs a partitioned log, and what ordering costs."""
    exp = get("costs_ordering")
    params = exp.make_params(**overrides)

    wrong = plots.figure("Events applied before an earlier event of the same order", "broker",
                         "events out of order (%)", height=360, legend=False)
    plots.bar(wrong, "out of order", x=[name for name, _ in ORDER_STYLE.values()], color=plots.COLORS["neutral"])
    wrong.data[0].marker.color = [c for _, c in ORDER_STYLE.values()]
    wrong.data[0].textposition = "outside"

    latency = plots.figure("The price of order: one queue per partition", "time from event to applied (s)",
                           "share of events applied (%)", height=360)
    for name, color in ORDER_STYLE.values():
        plots.line(latency, name, color=color)

    def update(result):
        shares = [100 * result.out_of_order_share(b) for b in ORDER_STYLE]
        counts = [result.out_of_order(b) for b in ORDER_STYLE]
        wrong.data[0].y = shares
        wrong.data[0].text = [f"{late} of {n}" for late, n in counts]
        wrong.layout.yaxis.range = [0, max(max(shares) * 1.3, 2)]
        for broker, (name, _) in ORDER_STYLE.items():
            x, y = plots.ecdf(result.latencies(broker))
            plots.set_xy(latency, name, x, y * 100)

    return ControlPanel(exp.run, params, exp.sliders, update, [wrong, latency], name="costs_ordering")


# -- 4. eventual consistency ------------------------------------------------------------------------
D_GRID = np.linspace(0.0, 2.0, 201)
WAIT_RR = "Request/Response: until the write is done"
WAIT_EDA = "Event-driven: until the broker acks (instant here)"


def consistency_panel(**overrides) -> ControlPanel:
    """P(a read d seconds after "accepted" misses the order): EDA read model vs a synchronous write."""
    exp = get("costs_consistency")
    params = exp.make_params(**overrides)

    stale = plots.figure("Does the customer's read miss their new order?",
                         "read issued d seconds after 'order accepted' (s)", "reads that miss the order (%)",
                         height=360)
    plots.line(stale, "Event-driven: read model updated by a consumer", arch="eda")
    plots.theory_line(stale, [], [], "theory (M/M/1): e^(−d/W)")
    plots.line(stale, "Request/Response: written before the answer", arch="rr")
    plots.line(stale, "this read", mode="markers+text", color=plots.COLORS["neutral"])
    stale.data[-1].marker.update(size=12, symbol="circle-open", line=dict(width=2))
    stale.data[-1].textposition = "top right"

    accepted = plots.figure("How long the customer waits for 'order accepted'", "wait (s)",
                            "share of customers answered (%)", height=360)
    plots.line(accepted, WAIT_RR, arch="rr")
    plots.line(accepted, WAIT_EDA, arch="eda")

    def update(result):
        p = result.params
        plots.set_xy(stale, "Event-driven: read model updated by a consumer", D_GRID,
                     100 * result.stale_probability(D_GRID))
        theory = 100 * result.theory_stale(D_GRID)
        stable = bool(np.isfinite(theory).all())  # an overloaded consumer has no steady state: no curve
        plots.set_xy(stale, "theory (M/M/1): e^(−d/W)", D_GRID if stable else [], theory if stable else [])
        plots.set_xy(stale, "Request/Response: written before the answer", D_GRID, np.zeros_like(D_GRID))
        here = 100 * float(result.stale_probability(p.read_after)[0])
        plots.set_xy(stale, "this read", [p.read_after], [here])
        stale.data[-1].text = [f"{here:.0f}% miss it"]
        stale.layout.xaxis.range = [0, max(D_GRID[-1], p.read_after) * 1.02]
        for name, waits in ((WAIT_RR, result.rr_waits()), (WAIT_EDA, result.eda_waits())):
            x, y = plots.ecdf(waits)
            if len(x) and x[0] == x[-1]:  # every wait is the same (0): draw the step as a line
                x, y = np.array([0.0, x[0], x[0], 2.0]), np.array([0.0, 0.0, 1.0, 1.0])
            plots.set_xy(accepted, name, x, y * 100)

    return ControlPanel(exp.run, params, exp.sliders, update, [stale, accepted], name="costs_consistency")


# -- 5. monitoring ----------------------------------------------------------------------------------
def _alert_title(what: str, t_alert: float, fault_start: float) -> str:
    if math.isnan(t_alert):
        return f"{what}: the alert never fires"
    if t_alert < fault_start:
        return f"{what}: false alarm at {t_alert:.0f} s, before anything broke"
    return f"{what}: alert fires at {t_alert:.0f} s, {t_alert - fault_start:.0f} s into the bad deploy"


def monitoring_panel(**overrides) -> ControlPanel:
    """Consumer lag and dead letters during a bad deploy, with alert thresholds and when they fire."""
    exp = get("costs_monitoring")
    params = exp.make_params(**overrides)

    lag = plots.figure("Consumer lag", "time (s)", "lag (messages behind)", height=360)
    plots.line(lag, "billing group lag", arch="eda")
    plots.theory_line(lag, [], [], "fluid model")
    _hline(lag, "alert threshold", ALERT)
    plots.line(lag, "alert fires", mode="markers", color=ALERT)
    lag.data[-1].marker.update(size=12, symbol="triangle-up")
    plots.shade_window(lag, params.fault_start, params.fault_end, label="bad deploy")

    dlq = plots.figure("Dead-lettered messages", "time (s)", "messages in the dead-letter queue", height=360)
    plots.line(dlq, "dead-lettered so far", arch="eda")
    dlq.data[-1].line.shape = "hv"
    plots.theory_line(dlq, [], [], "expected: throughput × f^attempts")
    _hline(dlq, "alert threshold", ALERT)
    plots.line(dlq, "alert fires", mode="markers", color=ALERT)
    dlq.data[-1].marker.update(size=12, symbol="triangle-up")
    plots.shade_window(dlq, params.fault_start, params.fault_end, label="bad deploy")

    def update(result):
        p = result.params
        t, lags, dead = result.series()
        ends = [0.0, p.until]
        plots.set_xy(lag, "billing group lag", t, lags)
        plots.set_xy(lag, "fluid model", t, result.theory_lag(t))
        plots.set_xy(lag, "alert threshold", ends, [p.lag_threshold] * 2)
        t_lag = result.lag_alert_time()
        plots.set_xy(lag, "alert fires", [] if math.isnan(t_lag) else [t_lag],
                     [] if math.isnan(t_lag) else [p.lag_threshold])
        lag.layout.title.text = _alert_title("Consumer lag", t_lag, p.fault_start)
        lag.layout.yaxis.range = [0, max(lags.max(), p.lag_threshold) * 1.1]
        plots.set_xy(dlq, "dead-lettered so far", t, dead)
        plots.set_xy(dlq, "expected: throughput × f^attempts", t, result.theory_dead_letters(t))
        plots.set_xy(dlq, "alert threshold", ends, [p.dlq_threshold] * 2)
        t_dlq = result.dlq_alert_time()
        plots.set_xy(dlq, "alert fires", [] if math.isnan(t_dlq) else [t_dlq],
                     [] if math.isnan(t_dlq) else [p.dlq_threshold])
        dlq.layout.title.text = _alert_title("Dead letters", t_dlq, p.fault_start)
        dlq.layout.yaxis.range = [0, max(dead.max(), p.dlq_threshold) * 1.15]

    return ControlPanel(exp.run, params, exp.sliders, update, [lag, dlq], name="costs_monitoring")


# -- 6. moving parts and round trips ------------------------------------------------------------------
SHOWN_KINDS = [k for k in KINDS if k != "client"]
TRIP_COLORS = {"calls": "#E69F00", "database queries": plots.COLORS["theory"], "publishes": plots.COLORS["extra"],
               "deliveries": plots.COLORS["extra2"]}  # Okabe-Ito orange, then the lab's neutral colours
ARCHS = ("rr", "eda")


def parts_panel(**overrides) -> ControlPanel:
    """Components by kind for the order flow built both ways, and the round trips one order makes."""
    exp = get("costs_parts")
    params = exp.make_params(**overrides)

    parts = plots.figure("Moving parts to build, deploy and watch", "component kind", "components (count)", height=380)
    for arch in ARCHS:
        plots.bar(parts, plots.LABELS[arch], x=SHOWN_KINDS, arch=arch)
        parts.data[-1].textposition = "outside"
    parts.layout.xaxis.tickangle = -30

    trips = plots.figure("Network round trips one order makes", "architecture", "round trips per order (measured)",
                         height=380)
    for kind, color in TRIP_COLORS.items():
        plots.bar(trips, kind, x=[plots.LABELS[a] for a in ARCHS], color=color)
        trips.data[-1].textposition = "inside"
    trips.layout.barmode = "stack"

    def update(result):
        p = result.params
        counts = {arch: result.parts(arch) for arch in ARCHS}
        for i, arch in enumerate(ARCHS):
            y = [counts[arch][k] for k in SHOWN_KINDS]
            parts.data[i].y = y
            parts.data[i].text = [str(n) for n in y]
        top = max(max(c.values()) for c in counts.values())
        parts.layout.yaxis.range = [0, top * 1.25 + 0.5]
        total = {arch: sum(c[k] for k in SHOWN_KINDS) for arch, c in counts.items()}
        parts.layout.title.text = (f"Moving parts with {p.reactors} reacting service{'s' if p.reactors > 1 else ''}:"
                                   f" R/R {total['rr']}, EDA {total['eda']}")
        per_order = {arch: result.round_trips(arch) for arch in ARCHS}
        for i, kind in enumerate(TRIP_COLORS):
            y = [round(per_order[arch][kind], 2) for arch in ARCHS]
            trips.data[i].y = y
            trips.data[i].text = [f"{kind} {v:.1f}" if v >= 0.05 else "" for v in y]
        sums = [sum(per_order[arch].values()) for arch in ARCHS]
        trips.layout.yaxis.range = [0, max(sums) * 1.15]
        trips.layout.title.text = (f"Network round trips one order makes: R/R {sums[0]:.1f}, EDA {sums[1]:.1f}")

    return ControlPanel(exp.run, params, exp.sliders, update, [parts, trips], name="costs_parts")


PANELS = {
    "outage": outage_panel,
    "duplicates": duplicates_panel,
    "ordering": ordering_panel,
    "consistency": consistency_panel,
    "monitoring": monitoring_panel,
    "parts": parts_panel,
}


# =====================================================================================================
# The lesson: predictions, what each run showed, tidy tables and the exercises of notebook 07
# =====================================================================================================
# The questions live here, beside the panels, so the notebook's code cells do not show the answers. Texts that
# state a result are shown only once the prediction before them is recorded, with numbers from the run.
OUTAGE_OPTIONS = ("about 5 ms, as usual", "about 2 s", "about 8 s", "it is lost")
DUP_OPTIONS = ("neither", "only the consumer that acks every 10 messages", "only the consumer that acks every message",
               "both")
STALE_OPTIONS = ("about 0 %", "about 20 %", "about 50 %", "about 90 %")
PREDICTIONS = {
    "outage": ("Wait for the broker's acknowledgement of an order placed at t = 22 s:", OUTAGE_OPTIONS),
    "duplicates": ("After three crashes, which payments consumer charges some customers twice?", DUP_OPTIONS),
    "stale reads": ("Orders arrive 4 per second and applying one takes 0.1 s on average. Reading 0.25 s after "
                    "'accepted', what share of customers do not see their new order (EDA)?", STALE_OPTIONS),
}


def prediction(key: str) -> Prediction:
    """The notebook's prediction ``key`` (see :data:`PREDICTIONS`)."""
    prompt, options = PREDICTIONS[key]
    return Prediction(prompt, options)


def _shown(table, text: str = "") -> widgets.Widget:
    """A tidy table (a Styler) and, under it, Markdown text: one widget for :meth:`Prediction.after`."""
    out = widgets.Output()
    with out:
        display(table)
    return widgets.VBox([out, widgets.HTMLMath(markdown_html(text))] if text else [out])


def _relabel(frame, rows: dict | None = None, columns: dict | None = None):
    return frame.rename(index=rows or {}, columns=columns or {})


def _as_of(panel, what: str) -> str:
    return (f"{what}, seed {panel.params.seed}: the panel's run when this table was made (the charts above follow "
            "the sliders; this table does not)")


# -- 1. outage ----------------------------------------------------------------------------------------
OUTAGE_ROWS = {"orders": "orders placed", "orders_in_window": "placed during the outage", "lost": "lost",
               "accept_wait_mean_s": "wait for the broker's ack, mean (s)",
               "accept_wait_max_s": "wait for the broker's ack, longest (s)",
               "end_to_end_p99_s": "order → billed, p99 (s)", "completed": "billed by the end"}
OUTAGE_COLUMNS = {"buffer": "down, producer buffers", "drop": "down, publishes dropped", "slow": "slow broker"}


def outage_table(result):
    p = result.params
    return tables.tidy(_relabel(result.table(), OUTAGE_ROWS, OUTAGE_COLUMNS), decimals=3,
                       caption=f"Broker down or slow from {p.outage_start:g} to {p.outage_end:g} s, "
                               f"{p.rate:g} orders/s, slowdown {p.slow_factor:g}×")


def outage_option(result, at: float = 22.0) -> str:
    created, waits = result.accept_waits("buffer")
    i = int(np.abs(created - at).argmin())
    w = waits[i]
    return "about 8 s" if w > 5 else "about 2 s" if w > 0.5 else "about 5 ms, as usual"


def outage_text(result) -> str:
    p = result.params
    s = {v: result.results[v].summary for v in OUTAGE_VARIANTS_SHOWN}
    created, waits = result.accept_waits("buffer")
    inside = result.in_outage("buffer")
    i = int(np.abs(created - 22.0).argmin())
    longest = float(np.nanmax(waits[inside])) if inside.any() else 0.0
    big = get("costs_outage")(outage=30.0, rate=9.0, seed=p.seed).results["buffer"].summary
    return (
        f"**What happened.** With buffering nothing is lost ({s['buffer']['dropped']} of "
        f"{s['buffer']['produced']} orders), but each of the {int(inside.sum())} orders placed during the outage "
        f"waits for the broker to return: the *rest of the outage*, the dashed line *end − t*, from {longest:.1f} s "
        f"down to a few ms. The order placed at t = {created[i]:.2f} s waited {waits[i]:.2f} s. Billing then gets "
        f"the pile at once (order → billed p99: {s['buffer']['latency_p99']:.1f} s, against "
        f"{s['drop']['latency_p99']:.1f} s). Dropping loses those orders ({s['drop']['dropped']}). "
        f"A slow broker loses nothing but multiplies every publish: {p.slow_factor:g}× "
        f"turns 5 ms into about {p.slow_factor * p.publish_latency:.2f} s. And a backlog drains only at the *spare* "
        f"capacity: after a 30 s outage at 9 orders/s, billing (10 orders/s) has 1 order/s to spare and has billed "
        f"{big['completed']} of {big['produced']} orders when the run ends."
    )


OUTAGE_VARIANTS_SHOWN = ("buffer", "drop", "slow")


def reveal_outage(prediction: Prediction, panel) -> widgets.Widget:
    """The outage prediction's verdict from the panel's run, and the table and explanation it holds back."""
    prediction.reveal(outage_option(panel.result))
    return prediction.after(lambda: _shown(outage_table(panel.result), outage_text(panel.result)))


# -- 2. duplicates ----------------------------------------------------------------------------------------
DUP_ROWS = {"orders_paid": "orders paid", "duplicates": "payments processed a second time",
            "charges_without_idempotency": "charges, no idempotency key",
            "charges_with_idempotency_key": "charges, with an idempotency key"}


def duplicates_table(result):
    p = result.params
    return tables.tidy(_relabel(result.table(), DUP_ROWS, {"each": "ack every message",
                                                           "batch": f"ack every {p.batch} messages"}),
                       caption=f"{'Work queue' if p.broker == 'queue' else 'Partitioned log'}, {p.rate:g} "
                               f"orders/s, consumer 1 crashes at 15, 30 and 45 s")


def duplicates_option(result) -> str:
    each, batch = result.counts("each")["duplicates"] > 0, result.counts("batch")["duplicates"] > 0
    return {(False, False): "neither", (False, True): "only the consumer that acks every 10 messages",
            (True, False): "only the consumer that acks every message", (True, True): "both"}[(each, batch)]


def duplicates_text(result) -> str:
    p = result.params
    each, batch = result.counts("each"), result.counts("batch")
    other = "log" if p.broker == "queue" else "queue"
    alt = get("costs_duplicates")(batch=p.batch, rate=p.rate, seed=p.seed, broker=other).counts("batch")
    return (
        f"**What happened.** Acknowledging every message, {each['duplicates']} payments were processed twice; "
        f"acknowledging every {p.batch}, {batch['duplicates']} of {batch['orders_paid']} were: whatever consumer 1 "
        f"had processed but not yet acknowledged when it crashed. On a "
        f"{'partitioned log' if other == 'log' else 'work queue'} the same crashes give {alt['duplicates']}: on a "
        "log a crash is a *rebalance*, every partition goes back to its last committed offset, and the other "
        "consumer's uncommitted work is redone too. The right-hand chart counts what customers see: without an "
        "idempotency key each duplicate is a second charge; with one (the order id stored with the charge, or the "
        "provider's `Idempotency-Key` header) duplicates charge nobody. Brokers deliver *at least once*; "
        "*exactly once* effects come from idempotent consumers."
    )


def reveal_duplicates(prediction: Prediction, panel) -> widgets.Widget:
    prediction.reveal(duplicates_option(panel.result))
    return prediction.after(lambda: _shown(duplicates_table(panel.result), duplicates_text(panel.result)))


# -- 3. ordering (a deep dive without a prediction) -------------------------------------------------------
ORDERING_ROWS = {"completed": "events applied", "out_of_order": "applied out of order",
                 "out_of_order_share": "out of order (share)", "latency_p50_s": "event → applied, p50 (s)",
                 "latency_p95_s": "event → applied, p95 (s)"}


def ordering_table(panel):
    p = panel.params
    return tables.tidy(_relabel(panel.result.table(), ORDERING_ROWS,
                                {"queue": "work queue", "log": "partitioned log"}), decimals=3,
                       caption=_as_of(panel, f"{p.consumers} consumers, {p.keys} keys, {p.rate:g} events/s"))


# -- 4. eventual consistency -------------------------------------------------------------------------------
def consistency_table(result):
    p = result.params
    frame = result.table()
    frame = frame.rename(index={"wait_for_accepted_mean_s": "customer waits for 'accepted', mean (s)",
                                "stale_window_mean_s": "staleness window, mean (s)",
                                "stale_window_p99_s": "staleness window, p99 (s)",
                                frame.index[-1]: f"reads {p.read_after:g} s after 'accepted' that miss (share)"},
                         columns={"eda": "EDA", "rr": "R/R", "theory_eda_mm1": "EDA, theory (M/M/1)"})
    return tables.tidy(frame, decimals=3, caption=f"{p.rate:g} orders/s, {1000 * p.service_mean:g} ms to apply one, "
                                                  f"seed {p.seed}")


def stale_share(result) -> float:
    return float(result.stale_probability(result.params.read_after)[0])


def stale_option(result) -> str:
    missed = 100 * stale_share(result)
    return min(STALE_OPTIONS, key=lambda option: abs(float(option.split()[1]) - missed))


def consistency_text(result) -> str:
    p = result.params
    win = result.windows()
    lam, mu = p.rate, 1.0 / p.service_mean
    text = (f"**What happened.** An order's *staleness window* runs from \"accepted\" to \"applied to the read "
            f"model\": the consumer's queueing plus its processing. A read at d = 0 always misses; "
            f"{p.read_after:g} s later, {stale_share(result):.1%} still miss; the 99th percentile of the window is "
            f"{np.percentile(win, 99):.2f} s. ")
    if lam < mu:
        w = 1.0 / (mu - lam)
        text += (f"The dashed curve is the closed form: one consumer, Poisson arrivals, exponential work is an M/M/1 "
                 f"queue, whose time in system is exponential with mean W = 1/(μ − λ) = 1/({mu:g} − {lam:g}) = "
                 f"{w:.3f} s, so a read *d* seconds later misses with probability e<sup>−d/W</sup>: "
                 f"{math.exp(-p.read_after / w):.1%} at {p.read_after:g} s. ")
    else:
        text += "The consumer cannot keep up (λ ≥ μ): the window grows all run long, and M/M/1 has no steady state. "
    text += (f"R/R never misses, but its customer *waited* for the write, {result.rr_waits().mean():.3f} s on "
             f"average, as long as the read model lagged ({win.mean():.3f} s): the same work on the same queue. "
             "Asynchrony moves the wait from the writer to whoever reads next.")
    return text


def reveal_consistency(prediction: Prediction, panel) -> widgets.Widget:
    prediction.reveal(stale_option(panel.result))
    return prediction.after(lambda: _shown(consistency_table(panel.result), consistency_text(panel.result)))


# -- 5. monitoring (a deep dive) -----------------------------------------------------------------------------
MONITORING_ROWS = {"lag_before_fault_max": "lag before the deploy, highest", "lag_max": "lag, highest",
                   "lag_alert_at_s": "lag alert fires at (s)", "dead_lettered": "dead-lettered",
                   "dead_letters_theory": "dead letters expected (theory)",
                   "lag_max_theory_fluid": "highest lag, fluid model", "dlq_alert_at_s": "dead-letter alert at (s)",
                   "failed_attempts": "failed attempts", "completed": "completed", "produced": "produced"}


def monitoring_table(panel):
    p = panel.params
    return tables.tidy(_relabel(panel.result.table(), MONITORING_ROWS), decimals=1,
                       caption=_as_of(panel, f"{p.fail_fraction:.0%} of attempts failing, {p.slow_factor:g}× slower, "
                                             "a '–' alert never fired"))


# -- 6. moving parts ---------------------------------------------------------------------------------------------
def parts_table(result, caption: str | None = None):
    frame = result.table().rename(columns={"rr": "R/R", "eda": "EDA"})
    return tables.tidy(frame, decimals=1, caption=caption)


# -- the exercises ----------------------------------------------------------------------------------------------
class LiveExercise(Exercise):
    """An :class:`~eda_sim.lab.exercises.Exercise` whose solution is written when asked for, from the notebook's
    current state (the panel's settings and seed)."""

    def __init__(self, prompt: str, check, solution, hint: str):
        self._solution_of = solution
        super().__init__(prompt, check, solution="(written from your current run when you ask for it)", hint=hint)

    def show_solution(self) -> str:
        self.solution = self._solution_of()
        return super().show_solution()


def read_wait(panel) -> tuple[float, float]:
    """(closed form, this run) of the shortest wait after 'accepted' with at most 5 % stale reads, at the
    consistency panel's current settings; the closed form is NaN when the consumer cannot keep up."""
    p = panel.params
    lam, mu = p.rate, 1.0 / p.service_mean
    theory_d = math.log(20) / (mu - lam) if lam < mu else math.nan
    return theory_d, float(np.percentile(panel.result.windows(), 95))


def _read_tolerance(d: float) -> float:
    return max(0.06, 0.12 * d)


def _check_read_wait(panel, value) -> tuple[bool, str]:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False, f"Type a number of seconds, e.g. 0.3 (got {value!r})."
    theory_d, run_d = read_wait(panel)
    p = panel.params
    if math.isnan(theory_d):
        return False, (f"At {p.rate:g} orders/s and {1000 * p.service_mean:g} ms each the consumer cannot keep up: "
                       "no wait is long enough. Move the panel's sliders back (Reset) and try again.")
    if abs(value - theory_d) <= _read_tolerance(theory_d) or abs(value - run_d) <= _read_tolerance(run_d):
        return True, (f"Right: about {theory_d:.2f} s by the closed form and {run_d:.2f} s in this run "
                      f"({p.rate:g} orders/s, {1000 * p.service_mean:g} ms per order).")
    direction = "short: more than 5 % of reads still miss" if value < min(theory_d, run_d) else "long: it works, but " \
        "the customer waits more than needed"
    return False, f"{value:g} s is too {direction}."


def _read_wait_solution(panel) -> str:
    p = panel.params
    theory_d, run_d = read_wait(panel)
    if math.isnan(theory_d):
        return "At these settings the consumer cannot keep up, so there is no answer: press the panel's Reset."
    mu = 1.0 / p.service_mean
    w = 1.0 / (mu - p.rate)
    return (f"**About {theory_d:.2f} s.** P(stale) = e<sup>−d/W</sup> with W = 1/(μ − λ) = 1/({mu:g} − {p.rate:g}) "
            f"= {w:.3f} s, so e<sup>−d/W</sup> ≤ 0.05 gives d ≥ W ln 20 = {w:.3f} × {math.log(20):.2f} ≈ "
            f"{theory_d:.2f} s. This run needs {run_d:.2f} s (the 95th percentile of its windows): "
            f"{len(panel.result.windows())} orders are one sample, not the long-run average. Both are accepted; in "
            "production, measure the window and keep a margin.")


def lag_range(deploy) -> tuple[int, int]:
    """(lowest, highest) lag alert threshold that is silent in three healthy runs (the deploy's seed and the next
    two) and fires during ``deploy``; lowest > highest when no threshold does both."""
    from dataclasses import replace

    from ...experiments.costs import run_monitoring

    quiet = max(float(run_monitoring(replace(deploy, fail_fraction=0.0, slow_factor=1.0, seed=s)).series()[1].max())
                for s in range(deploy.seed, deploy.seed + 3))
    bad = float(run_monitoring(deploy).series()[1].max())
    return int(math.floor(quiet)) + 1, int(math.floor(bad))


def _deploy(panel):
    from dataclasses import replace

    from ...experiments.costs import MonitoringParams

    p = panel.params
    return replace(MonitoringParams(), **{f: getattr(p, f) for f in ("fail_fraction", "slow_factor", "max_attempts",
                                                                      "seed")})


def _check_threshold(panel, value) -> tuple[bool, str]:
    from ...experiments.costs import check_lag_threshold

    lo, hi = lag_range(_deploy(panel))
    if lo > hi:
        return False, ("With the panel's current deploy the lag never rises above what healthy runs reach: no "
                       "threshold can tell them apart. Press the panel's Reset for the default bad deploy.")
    return check_lag_threshold(value, deploy=_deploy(panel))


def _threshold_solution(panel) -> str:
    from dataclasses import replace

    from ...experiments.costs import run_monitoring

    deploy = _deploy(panel)
    lo, hi = lag_range(deploy)
    if lo > hi:
        return "With the panel's current deploy no threshold works: press the panel's Reset and ask again."
    t_lo = run_monitoring(replace(deploy, lag_threshold=lo)).lag_alert_time() - deploy.fault_start
    t_hi = run_monitoring(replace(deploy, lag_threshold=hi)).lag_alert_time() - deploy.fault_start
    return (f"**Any whole number from {lo} to {hi}.** Healthy runs (seeds {deploy.seed}–{deploy.seed + 2}) reach a "
            f"lag of {lo - 1} at most, and this bad deploy pushes it to {hi}. Lower thresholds page sooner ({lo} "
            f"fires {t_lo:.0f} s into the deploy, {hi} only after {t_hi:.0f} s) but leave less margin for a busier "
            "day. Real teams alert on lag *and* on how long it has stayed high, and on any dead letter.")


def exercise(key: str, panel):
    """The notebook's exercise ``key``: "read wait" (the consistency panel) or "lag threshold" (the monitoring
    panel). Both check against the panel's current settings and seed."""
    if key == "read wait":
        return LiveExercise(
            "Shortest wait *d* (in seconds) after \"order accepted\" with at most 5 % of reads missing the order, at "
            "the settings of the eventual-consistency panel:",
            check=lambda value: _check_read_wait(panel, value),
            solution=lambda: _read_wait_solution(panel),
            hint="One consumer, Poisson orders, exponential work: P(a read d seconds later misses) = e^(−d/W) with "
                 "W = 1/(μ − λ), μ = 1 / apply time. Solve e^(−d/W) = 0.05, or move *read after* until the circle "
                 "reads 5 %.")
    if key == "lag threshold":
        return LiveExercise(
            "Lag alert threshold (messages) that never fires in a healthy run (three seeds, from the panel's) but "
            "fires during the bad deploy set in the monitoring panel:",
            check=lambda value: _check_threshold(panel, value),
            solution=lambda: _threshold_solution(panel),
            hint="Look at the lag before 60 s in the monitoring panel: that is what a healthy group looks like (other "
                 "seeds wander a little higher). Then read the peak during the deploy: the threshold goes between.")
    raise ValueError(f"exercise must be one of 'read wait', 'lag threshold', got {key!r}")

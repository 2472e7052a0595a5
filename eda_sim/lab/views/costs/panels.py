"""Notebook 07's panels: one small panel per cost of EDA, listed in ``PANELS``."""

from __future__ import annotations

import math

import numpy as np

from ....experiments import get
from ....experiments.costs import CRASH_TIMES, KINDS
from ... import plots
from ...panel import ControlPanel

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

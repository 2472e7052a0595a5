"""Notebook 07's lesson around the panels: predictions, what each run showed, tidy tables and the exercises."""

from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
from IPython.display import display

from ....experiments import get
from ... import tables
from ...exercises import LiveExercise, Prediction, markdown_html

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

    from ....experiments.costs import run_monitoring

    quiet = max(float(run_monitoring(replace(deploy, fail_fraction=0.0, slow_factor=1.0, seed=s)).series()[1].max())
                for s in range(deploy.seed, deploy.seed + 3))
    bad = float(run_monitoring(deploy).series()[1].max())
    return int(math.floor(quiet)) + 1, int(math.floor(bad))


def _deploy(panel):
    from dataclasses import replace

    from ....experiments.costs import MonitoringParams

    p = panel.params
    return replace(MonitoringParams(), **{f: getattr(p, f) for f in ("fail_fraction", "slow_factor", "max_attempts",
                                                                      "seed")})


def _check_threshold(panel, value) -> tuple[bool, str]:
    from ....experiments.costs import check_lag_threshold

    lo, hi = lag_range(_deploy(panel))
    if lo > hi:
        return False, ("With the panel's current deploy the lag never rises above what healthy runs reach: no "
                       "threshold can tell them apart. Press the panel's Reset for the default bad deploy.")
    return check_lag_threshold(value, deploy=_deploy(panel))


def _threshold_solution(panel) -> str:
    from dataclasses import replace

    from ....experiments.costs import run_monitoring

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

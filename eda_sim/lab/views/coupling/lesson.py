"""Notebook 03's lesson around its panels: settings, predictions, what the run showed, exercises."""


from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ....experiments import get
from ... import exercises, plots, tables
from ...panel import ControlPanel
from .._revealed import closest, text_and_tables
from .panels import load_figure, outage_table, scenario_table

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

"""Notebook 00's lesson around the animation: settings, the prediction, what the run showed and the exercises."""

from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
from IPython.display import HTML

from .... import theory
from ... import flow, plots, tables
from ...exercises import Exercise, Prediction
from ...panel import ControlPanel
from .._revealed import markdown_widget, stacked
from .panels import (
    panel,
)

# -- what the notebook shows and asks ---------------------------------------------------------------------
LABELS = {
    "rate": "order rate outside the burst (orders/s)", "burst_rate": "order rate during the burst (orders/s)",
    "burst_start": "burst starts at (s)", "burst_length": "burst lasts (s)",
    "arrivals_end": "last order at most at (s)",
    "billing_time": "Billing time per order, mean (s)", "audit_time": "Audit time per order, mean (s)",
    "workers": "Billing/Audit workers (EDA: consumers)", "entry_workers": "OrderSvc workers (R/R only)",
    "publish_latency": "Event Bus acknowledgement (s)", "until": "simulated time (s)",
    "dt": "animation frame (s)", "linger": "finished orders stay visible for (s)", "seed": "seed",
}


def settings(params=None):
    """The example's default (or given) settings as a table."""
    return tables.parameters(params or flow.OrderExample(), LABELS, decimals=2)




def counts(params=None):
    """Orders placed and orders done in each architecture (no timings: those come after the prediction)."""
    table = flow.run(params or flow.OrderExample()).table().loc[["orders placed", "orders done by the end"]]
    return tables.tidy(table.rename(columns=plots.LABELS), decimals=0)


def run_table(result, caption: str | None = None):
    """The animation's run in numbers, R/R beside EDA ("–" where a row does not apply)."""
    table = result.table().rename(columns=plots.LABELS)
    p = result.params
    caption = caption or (f"The panel's run with {p.rate:g} orders/s, burst {p.burst_rate:g}/s, billing "
                          f"{p.billing_time:g} s, {p.workers} Billing/Audit worker{'s' if p.workers > 1 else ''}, "
                          f"{p.entry_workers} OrderSvc workers, seed {p.seed} (moved a slider? run this cell again)")
    return tables.tidy(table, decimals=2, caption=caption)


BURST_WAIT = ("both get an answer within a few milliseconds",
              "EDA: within a few milliseconds; R/R: only after seconds",
              "EDA: only after seconds; R/R: within a few milliseconds",
              "both wait for seconds")

PREDICTIONS = {
    "burst wait": ("How long does that client wait for an answer in each architecture?", BURST_WAIT),
}


def prediction(key: str = "burst wait") -> Prediction:
    """The notebook's prediction ``key`` (see :data:`PREDICTIONS`)."""
    prompt, options = PREDICTIONS[key]
    return Prediction(prompt, options)


def burst_waits(result) -> tuple[int, float, float]:
    """Orders placed in the burst and their mean wait for an answer (s): (count, R/R, EDA)."""
    p, orders = result.params, result.orders()
    burst = orders[(orders.created >= p.burst_start) & (orders.created < p.burst_start + p.burst_length)]
    if burst.empty:  # no burst: every order
        burst = orders
    rr, eda = (float((burst[f"{a}_accepted"] - burst.created).mean()) for a in ("rr", "eda"))
    return len(burst), rr, eda


def burst_answer(result) -> str:
    """The option of the "burst wait" prediction that ``result`` supports (fast: under 0.1 s)."""
    _, rr, eda = burst_waits(result)
    fast = (eda < 0.1, rr < 0.1)
    return BURST_WAIT[[(True, True), (True, False), (False, True), (False, False)].index(fast)]


def outcome(pred: Prediction, panel: ControlPanel) -> widgets.Widget:
    """Reveal the "burst wait" prediction from the panel's run; the waits appear once it is recorded."""
    pred.reveal(burst_answer(panel.result))

    def show():
        n, rr, eda = burst_waits(panel.result)
        return stacked(f"{n} orders were placed during the burst. Their mean wait for an answer: "
                       f"**R/R {rr:.2f} s, EDA {eda * 1000:.0f} ms** (the panel's run; moved a slider? run this "
                       "cell again).")

    return pred.after(show)


EXPLAIN = """At t = 4 s (default settings) the burst has just brought ten orders in one second, far more than
Billing (one order per 0.35 s) can take. **The work has to wait somewhere**, and where it waits is the
difference between the two rows:

- **EDA**: the orders wait as *messages*. Seven copies are queued for Billing and five for Audit on the
  Event Bus, and nobody else is held up: every client already has its answer (the broker acknowledged
  each order 10 ms after it was placed), and OrderSvc is free to take the next order.
- **R/R**: the orders wait as *people and threads*. Eight clients are still waiting for an answer, all
  four OrderSvc workers are held waiting for Billing or Audit, and four more requests wait for an
  OrderSvc worker to become free. Three calls wait in front of Billing.

The animation also shows the guide's point about fan-out: in EDA each order is published **once** and
the bus gives Billing and Audit their own copy, so Audit works on an order *while* Billing works on it.
In R/R, OrderSvc calls them one after the other, so an order's Audit work starts only when its Billing
work is finished. That is why the EDA orders are also *done* sooner on average (1.6 s against 2.25 s
with the default settings), not only *answered* sooner.
"""


def explain(pred: Prediction, panel: ControlPanel) -> widgets.Widget:
    """Move the animation to the end of the burst; the run's numbers and what they mean appear once the
    prediction is recorded."""
    p = panel.params
    panel.animator.goto(p.burst_start + p.burst_length)
    return pred.after(lambda: stacked(run_table(panel.result), EXPLAIN))


def littles_law(result) -> HTML:
    """Little's law L = λW for the waiting clients of both rows of ``result``."""
    lines = []
    for arch in ("rr", "eda"):
        tr = result.traces[arch]
        rate = len(tr.created) / result.params.until  # orders per second over the run
        wait = float(np.nanmean(tr.accepted - tr.created))
        lines.append(f"- **{plots.LABELS[arch]}**: clients waiting, averaged over every frame, "
                     f"L = **{tr.waiting.mean():.3f}**; Little's law λ·W = {rate:.2f}/s × {wait:.3f} s = "
                     f"**{theory.littles_law(rate, wait):.3f}**")
    return markdown_widget("\n".join(lines))


def quiet_table():
    """The example without a burst and with fast billing: the two rows finish at about the same time."""
    quiet = flow.run(flow.OrderExample(burst_rate=0.0, billing_time=0.05))
    rows = ["orders placed", "client wait, mean (s)", "order done after, mean (s)"]
    return tables.tidy(quiet.table().loc[rows].rename(columns=plots.LABELS), decimals=2,
                       caption="No burst, billing 0.05 s, other settings at their defaults")


# -- exercises ---------------------------------------------------------------------------------------------
def order_gap(result, order: int = 10) -> float:
    """Seconds by which order ``order`` (numbered from 1, as drawn) is done later with R/R than with EDA."""
    rows = result.orders()
    if len(rows) < order:
        return math.nan
    o = rows.iloc[order - 1]
    return float(o.rr_done - o.eda_done)


def _check_follow(panel: ControlPanel, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False, "Enter a number of seconds, such as 0.5."
    result = panel.result
    gap = order_gap(result)
    if math.isnan(gap):
        return False, ("In the panel's current run order 10 is not finished in both rows (or never placed): "
                       "press Reset and try again.")
    o = result.orders().iloc[9]
    if abs(value - gap) <= 0.1:
        return True, (f"Right: {gap:.2f} s. EDA finished order 10 at t = {o.eda_done:.2f} s, when its last copy "
                      f"was done; R/R answered its client at t = {o.rr_done:.2f} s: the request first waited for "
                      "an OrderSvc worker, then for Billing, and only then could Audit start.")
    return False, (f"Not quite: {value:g} s is too {'high' if value > gap else 'low'} for the panel's current "
                   "run. Read the two times at which order 10 reaches *done* and *answered*.")


def _check_empty_queue(panel: ControlPanel):
    p, table = panel.params, panel.result.table()
    if p.burst_rate < 10:
        return False, "Keep the burst at 10 orders/s or more: the point is to absorb it."
    queue = table.loc["longest queue for an OrderSvc worker", "rr"]
    if queue > 0:
        return False, f"At one moment {queue:.0f} requests were still waiting for an OrderSvc worker."
    wait = table.loc["client wait, longest (s)", "rr"]
    return True, (f"No request waited for OrderSvc. Yet the longest R/R client wait is still {wait:.2f} s: "
                  "the waiting moved to the queues in front of Billing and Audit.")


def exercise(key: str, panel: ControlPanel):
    """The notebook's exercise ``key`` (``"follow order 10"`` or ``"empty queue"``), checked against the
    panel's current run."""
    if key == "follow order 10":
        default = flow.run(flow.OrderExample())
        o = default.orders().iloc[9]
        return Exercise(
            "Order 10 is done this many seconds later with R/R than with EDA (in the panel's current run):",
            check=lambda value: _check_follow(panel, value),
            hint="Pause near t = 4 s and step forward. Note the time (top left of the drawing) when circle 10 "
                 "reaches *done* in the top row, then when it reaches *answered* in the bottom row.",
            solution=f"With the default settings: **{order_gap(default):.2f} s**. EDA finishes order 10 at "
                     f"t = {o.eda_done:.2f} s, when its Billing copy is done (its Audit copy was done earlier, in "
                     f"parallel). R/R answers its client at t = {o.rr_done:.2f} s: the request first waited for "
                     "an OrderSvc worker, then for Billing, and only then could Audit start. (If you moved the "
                     "sliders or the seed, press Reset, or read the times in your run.)",
        )
    if key == "empty queue":
        return Exercise(
            "Make the R/R OrderSvc queue stay empty during the burst (burst at 10 orders/s or more), then "
            "press *Check*: it reads the panel's current run.",
            check=lambda: _check_empty_queue(panel),
            hint="Each OrderSvc worker is held for an order's whole Billing and Audit time. More OrderSvc "
                 "workers help, and so does making that time shorter.",
            solution="Set **OrderSvc workers** to 8 *and* **Billing/Audit workers** to 2. Eight OrderSvc workers "
                     "alone still leave two requests waiting at the peak, because each worker is held while its "
                     "order queues for the single Billing worker. With two Billing and Audit workers the chain "
                     "empties faster and eight OrderSvc workers are enough. Notice what did not change much: the "
                     "clients still wait seconds. In R/R a client waits for all the work of its request, "
                     "wherever that work queues.",
        )
    raise KeyError(f"no exercise {key!r}; choose 'follow order 10' or 'empty queue'")


PANELS = {"panel": panel}

"""Notebook 01's lesson around its panels: settings, predictions, what the run showed, exercises."""


from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
import pandas as pd
from IPython.display import HTML

from ....experiments import get
from ....experiments.core_difference import (
    CoreParams,
    done_vs_answer,
    measured_table,
)
from ... import plots, tables
from ...exercises import Exercise, Numeric, Prediction
from ...panel import ControlPanel
from .._revealed import markdown_widget, stacked
from .panels import load_panel, scaling_panel, wait_panel

LABELS = {
    "rate": "orders per second", "billing_time": "billing time per order, mean (s)",
    "audit_time": "audit time per order, mean (s)", "workers": "workers (R/R) or consumers (EDA) per handler",
    "calls": "R/R calls", "hop": "broker hop: publish to acknowledgement (s)", "orders": "orders per run",
    "seed": "seed",
}


def settings(params=None):
    """Run 1's default (or given) settings as a table."""
    return tables.parameters(params or CoreParams(), LABELS)




def _by_row(frame: pd.DataFrame, decimals) -> pd.DataFrame:
    """Numbers as text, rounded row by row (``decimals(label) -> int``); text cells kept; NaN stays NaN."""
    out = frame.astype(object).copy()
    for label in frame.index:
        d = decimals(label)
        out.loc[label] = [tables.number(round(float(v), d), d) if isinstance(v, (int, float, np.floating)) and not
                          (isinstance(v, float) and math.isnan(v)) else v for v in frame.loc[label]]
    return out


def _settings_text(p) -> str:
    return (f"{p.rate:g} orders/s, billing {p.billing_time * 1e3:g} ms, audit {p.audit_time * 1e3:g} ms, "
            f"{p.workers} workers, {p.calls} R/R calls, hop {p.hop * 1e3:g} ms, seed {p.seed}")


DONE_SOONER = ("the EDA client waits about as long as the R/R client",
               "the EDA client waits far less, and billing and audit are also done far sooner",
               "the EDA client waits far less, but billing and audit are done only a little sooner",
               "the EDA client waits far less, but billing and audit are done later")
ONE_CONSUMER = ("about 5 ms", "about 0.2 s", "several seconds")

PREDICTIONS = {
    "done sooner": ("Which sentence will the measurements support?", DONE_SOONER),
    "one consumer": ("With one billing consumer at 60 orders/s (billing can do 25/s), the EDA client's 95th "
                     "percentile wait is:", ONE_CONSUMER),
}


def prediction(key: str) -> Prediction:
    """The notebook's prediction ``key`` (see :data:`PREDICTIONS`)."""
    prompt, options = PREDICTIONS[key]
    return Prediction(prompt, options)


def done_answer(result) -> str:
    """The option of the "done sooner" prediction that a Run 1 result supports."""
    s = result.summary
    if s["eda"]["accept_p95"] > 0.5 * s["rr"]["accept_p95"]:
        return DONE_SOONER[0]
    ratio = s["eda"]["done_p50"] / s["rr"]["done_p50"]
    return DONE_SOONER[3] if ratio > 1 else DONE_SOONER[2] if ratio > 0.6 else DONE_SOONER[1]


def quantile_table(result):
    """Run 1's medians and 95th percentiles (ms), R/R beside EDA."""
    frame = result.quantiles().rename(columns=plots.LABELS).round(1)
    return tables.tidy(frame, decimals=1, caption=f"The panel's run with {_settings_text(result.params)} "
                                                  "(moved a slider? run this cell again)")


def outcome(pred: Prediction, panel: ControlPanel) -> widgets.Widget:
    """Reveal the "done sooner" prediction from Run 1's panel; the numbers appear once it is recorded."""
    pred.reveal(done_answer(panel.result))

    def show():
        s = panel.result.summary
        ratio = s["eda"]["done_p50"] / s["rr"]["done_p50"]
        return stacked(f"EDA's work done, median: **{ratio:.0%} of R/R's**.", quantile_table(panel.result))

    return pred.after(show)


EXPLAIN = """**The R/R client waits for everything.** Its answer comes when audit answers the order service, so its
wait *is* the work: billing's queue and service time plus audit's, 56 ms at the median and 154 ms at
the 95th percentile (default settings). The orange curve is both "client has an answer" and "work is
done".

**The EDA client waits for the broker.** Every order is acknowledged after exactly 5 ms, whatever
billing and audit are doing: the dotted line. That is the guide's "asynchronous" row, and it holds by a
factor of 30 at the 95th percentile.

**But the work takes about as long.** The solid blue curve is when billing *and* audit had finished:
48 ms at the median and 141 ms at the 95th percentile, only a little sooner than R/R. Billing still
needs its 40 ms and still queues behind other orders; EDA moved that time *out of the client's wait*,
it did not remove it. It is a little sooner here for one reason only: the two subscriptions work at the
same time, while this R/R order service calls billing, then audit. Switch *R/R calls* to parallel and
R/R's curve moves left of EDA's (more on this below).
"""


LOAD = """\
**What happened** (default settings). Up to about 70% of capacity nothing much changes: an R/R client waits 60 to 100 ms
on average. Then the curve bends up. At 97% of capacity (48.5 orders/s) the R/R client waits 0.30 s
on average and 0.55 s at the 95th percentile, against 0.06 s and 0.14 s at 10%. That is the
bottleneck the guide warns about: the client's wait is billing's queue.

The EDA client still waits 5 ms, at every load, even past capacity: the dotted line is flat. The
guide's claim holds for the *client*. Now look at EDA's solid line: it rises exactly like R/R's. The
queue at billing is the same queue; EDA only stops the client from standing in it. Past capacity the
left chart shows the consequence: at 60 orders/s the broker accepts 59.8 orders per second, but billing
finishes only 49 per second in both architectures. The rest is a backlog that grows for as long as the
overload lasts. In R/R the same overload is a client waiting 1.5 s on average (and longer every second).

**Theory and simulation.** Below about 70% the simulated R/R mean sits on the dashed line. Closer to
capacity the dots fall below it (0.30 s against 0.70 s at 97%). That is the run, not the theory: each
run starts empty and places only 800 orders, and near ρ = 1 a queue needs thousands of orders to reach
its long-run average. A load test that is too short makes the same mistake. (The claims test checks
the theory on a run of 10,000 orders at half capacity, where it agrees within 4%.) That a closed form
predicts R/R's mean at all is the guide's "predictable and easy to reason about"; EDA's work-done time,
the later of two queues fed by the same arrivals, has no such simple formula.
"""


def load_section() -> str:
    """What Run 2 shows (held back by the first prediction)."""
    return LOAD


def load_table(panel: ControlPanel):
    """The load sweep behind Run 2's charts, for the panel's current settings."""
    frame = panel.result.sweep.frame()
    cols = {"rho": "billing ρ", "rr wait_mean": "R/R client wait, mean (s)",
            "rr wait_mean theory": "theory R/R, mean (s)", "eda wait_mean": "EDA client wait, mean (s)",
            "eda done_mean": "EDA work done, mean (s)", "eda accepted_rate": "EDA accepted (orders/s)",
            "eda throughput": "EDA done (orders/s)"}
    frame = frame[list(cols)].rename(columns=cols)
    frame.index = pd.Index([tables.number(r, 1) for r in frame.index], name="offered load (orders/s)")
    p = panel.params
    return tables.tidy(frame, decimals={c: (1 if "orders/s" in c else 2 if "ρ" in c else 3) for c in cols.values()},
                       caption=f"The sweep for {p.calls} R/R calls, seed {p.seed} (theory: sequential calls "
                               "below capacity only)")


def scaling_answer(result) -> str:
    """The option of the "one consumer" prediction that a scaling result supports."""
    one = result.at("eda", "wait_p95", 1)
    return ONE_CONSUMER[0] if one < 0.05 else ONE_CONSUMER[1] if one < 1 else ONE_CONSUMER[2]


def scaling_outcome(pred: Prediction, panel: ControlPanel) -> widgets.Widget:
    """Reveal the "one consumer" prediction from the scaling panel's sweep."""
    pred.reveal(scaling_answer(panel.result))

    def show():
        sw = panel.result
        return stacked(f"One billing consumer: EDA client p95 **{sw.at('eda', 'wait_p95', 1) * 1e3:.0f} ms**, EDA "
                       f"work done p95 **{sw.at('eda', 'done_p95', 1):.1f} s**, R/R client p95 "
                       f"**{sw.at('rr', 'wait_p95', 1):.1f} s** (R/R endpoint workers: "
                       f"{sw.params.endpoint_workers}).", SCALING)

    return pred.after(show)


SCALING = """**What each buys.** Billing needs 60 × 0.04 = 2.4 instances busy on average, so **both architectures
need 3 billing instances** to keep up: the dashed line. EDA does not make billing cheaper. What differs
is *who feels the shortage*. With one billing instance (default settings), R/R clients wait 7.7 s at the
95th percentile; EDA clients wait 5 ms while the orders wait 7.7 s in billing's subscription, unseen.
With three or more, EDA's work is done within 0.15 to 0.21 s (p95), and the producer and audit did not
change at all: that is "scale consumers independently".

R/R needs one more thing. Its order endpoint holds a worker for every order in flight, so by Little's
law it needs about *rate × time per order* of them: 60/s × about 0.065 s ≈ 4. With 4 it keeps up but
holds 3.7 to 3.9 of them on average (the note on the left chart), orders queue for the endpoint, and the
R/R p95 stays at 0.31 s even with 8 billing workers. Set *R/R endpoint workers* to 8: the p95 drops to
0.17 s. Set it to 2: R/R finishes at most 2 ÷ 0.06 s ≈ 33 orders per second however many billing
workers you add (the dash-dot line). Scaling R/R means scaling every endpoint on the synchronous path;
the callers' pools grow with the callees' latency.
"""


def _guide_decimals(label) -> int:
    what = label[1] if isinstance(label, tuple) else label
    return 0 if "(ms)" in what else 1 if "(%)" in what or "(s)" in what else 2


def guide_table():
    """The guide's comparison table beside the measured numbers (default settings)."""
    frame = measured_table()
    return tables.tidy(_by_row(frame, _guide_decimals),
                       caption="The guide's words, and what the default runs measured")


READING = """Reading it row by row:

- **Communication.** The R/R client waits 154 ms (p95), the EDA client 5 ms. But the work is done
  after 154 ms and 141 ms: asynchronous communication changes who waits, not how long the work takes.
- **Coupling.** With billing down for 10 s, 200 R/R clients got an error (and those orders were never
  billed: only 75 % were done by the end). The EDA clients saw no failure and 99.9 % of orders were
  done by the end (the one left was placed in the run's last moments). The price is time: the orders
  caught in the outage were billed up to 9.8 s late (p99), and nobody told their clients.
- **Data flow.** The R/R order service sends two calls per order (one per handler) and waits for both;
  the EDA producer sends one event and the broker makes the two copies. The handlers receive two copies
  either way: "multiple consumers" changes who does the copying and who waits, not how much data moves.
  It matters when a third consumer arrives: R/R changes the order service, EDA adds a subscription.
- **Reactivity.** Audit finishes 19 ms after the order in EDA (the hop plus its own work), 56 ms in R/R,
  where it is called only after billing. Notebook 04 measures reactivity against polling.
- **Scaling.** The R/R order endpoint holds 1.35 workers on average at 20 orders/s (Little's law:
  20/s × 68 ms); the EDA producer holds none. Both need 3 billing instances for 60 orders/s (the
  scaling deep dive).
"""


def guide_section() -> widgets.VBox:
    """The measured guide table and how to read it (held back by the first prediction)."""
    return stacked(guide_table(), READING)


BREAKS = """\
With sequential calls EDA finishes 6 to 17 ms sooner (the audit call that R/R makes only after
billing). With parallel calls the two architectures run exactly the same queues and EDA finishes **5.0 ms later
at every load**: the broker hop, order by order. In this model the hop is the only thing EDA adds to
the work's path; a real broker adds more (a consumer that polls, batches or commits offsets, and one
more network round trip), so at low load, when nothing queues, a synchronous call that does the work
directly is the faster way to get it done. EDA wins on what the *client* waits for, and on who is hurt
when a handler is slow or down; it does not win on how soon the work is finished.
"""


def breaks_section() -> widgets.VBox:
    """Work done, R/R vs EDA, with sequential and parallel R/R calls at three loads."""
    frame = done_vs_answer().round(1)
    frame.index = frame.index.set_levels([tables.number(r, 1) for r in frame.index.levels[1]], level=1)
    frame = frame.map(lambda v: f"{v:,.1f}")  # 5.0 stays 5.0 beside -8.4
    return stacked(tables.tidy(frame, caption="Median time until the work is done, default settings "
                                                          "otherwise"), BREAKS)


def slow_hop(rate: float = 2.0) -> HTML:
    """Median work done at a low rate with parallel R/R calls."""
    run = get("core_difference")(calls="parallel", rate=rate)
    s = run.summary
    return markdown_widget(f"{rate:g} orders/s, parallel R/R calls: work done, median: "
                           f"R/R **{s['rr']['done_p50'] * 1e3:.1f} ms**, EDA **{s['eda']['done_p50'] * 1e3:.1f} ms**.")


def _check_slower(panel: ControlPanel):
    s = panel.result.summary
    eda, rr = s["eda"]["done_p50"] * 1e3, s["rr"]["done_p50"] * 1e3
    if eda > rr:
        return True, f"Yes: EDA done p50 {eda:.1f} ms > R/R {rr:.1f} ms. What does EDA add to the work's path here?"
    return False, f"Not yet: EDA done p50 {eda:.1f} ms, R/R {rr:.1f} ms. What makes R/R's chain shorter?"


def exercise(key: str, panel: ControlPanel | None = None):
    """The notebook's exercise ``key``: ``"black friday"`` (a number) or ``"slower"`` (reads Run 1's panel)."""
    if key == "black friday":
        rate, billing = 90.0, CoreParams().billing_time
        busy = rate * billing
        need = math.floor(busy) + 1  # the smallest count with utilisation below 1
        return Numeric(
            f"Black Friday: orders will arrive at **{rate:g} per second**, billing still takes "
            f"{billing * 1e3:g} ms per order. How many consumers does EDA's billing subscription need so that "
            "its backlog does not grow without bound?",
            answer=need, tolerance=0, unit="consumers",
            explanation=f"Billing must finish {rate:g} orders per second, and one consumer finishes 1 / {billing:g} "
                        f"s = {1 / billing:g}. {rate:g} × {billing:g} = {busy:.1f} consumers busy on average, so "
                        f"{need} (at ρ = {busy / need:.2f}, so orders will still queue; {need + 1} would keep "
                        f"billing's delay down). R/R needs the same {need} billing workers, plus order-endpoint "
                        f"workers for about {rate:g}/s × the time each order takes.",
            hint="One consumer finishes 1 ÷ 0.04 s = 25 orders per second. How many are busy on average at 90 "
                 "per second, and what must the whole number be so that they are not all busy all the time?",
        )
    if key == "slower":
        if panel is None:
            raise ValueError("exercise 'slower' needs Run 1's panel")
        return Exercise(
            "Move the sliders of **Run 1** until EDA's median *work done* is **later** than R/R's median client "
            "wait (at least two different ways exist), then press *Check*: it reads the panel's current run.",
            check=lambda: _check_slower(panel),
            hint="R/R's chain is billing *plus* audit; EDA's is the hop plus the slower of the two.",
            solution="Either give R/R the same parallelism (*R/R calls* = parallel: EDA is then exactly one broker "
                     "hop later, 5 ms at any rate), or make the hop longer than what parallelism saves: with "
                     "sequential calls at 20 orders/s a hop of 0.015 s already makes EDA's median 58 ms against "
                     "R/R's 56 ms.",
        )
    raise KeyError(f"no exercise {key!r}; choose 'black friday' or 'slower'")


PANELS = {"wait_panel": wait_panel, "load_panel": load_panel, "scaling_panel": scaling_panel}

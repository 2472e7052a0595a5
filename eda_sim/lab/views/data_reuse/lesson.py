"""Notebook 02's lesson around its panels: settings, predictions, what the run showed, exercises."""


from __future__ import annotations

from dataclasses import replace

import ipywidgets as widgets
import numpy as np
import pandas as pd
from IPython.display import HTML

from ....experiments import get
from ....experiments.data_reuse import NAMES, DataReuseParams
from ... import tables
from ...exercises import Exercise, Numeric, Prediction
from ...panel import ControlPanel
from .._revealed import markdown_widget, stacked
from .panels import grid, panel, sweep_figures

LABELS = {
    "services": "services that need each order, N", "rate": "orders per second", "db_connections":
    "database connections", "query_ms": "mean query time (ms)", "event_kb": "order size (KB)",
    "work_ms": "each service's own work per order (ms)", "orders": "orders per run", "until":
    "longest run (simulated s)", "seed": "seed",
}


def settings(params=None):
    """The experiment's default (or given) parameters as a table."""
    return tables.parameters(params or DataReuseParams(), LABELS)


def _settings_text(p) -> str:
    return (f"N = {p.services}, {p.rate:g} orders/s, {p.db_connections} connections, {p.query_ms:g} ms per "
            f"query, seed {p.seed}")


#: Rows of :func:`run_table`: label, key of the experiment's table, decimals.
_RUN_ROWS = (
    ("database reads per order", "db_reads_per_order", 0),
    ("database writes per order", "db_writes_per_order", 0),
    ("database queries per second", "db_queries_per_s", 0),
    ("database utilisation (measured)", "db_utilisation", 2),
    ("time per query: wait + run (ms)", "db_time_per_query_ms", 0),
    ("M/M/c time per query (ms)", "db_time_theory_ms", 0),
    ("until every service is done, p95 (ms)", "all_services_done_p95_ms", 0),
    ("customer's wait, p95 (ms)", "client_wait_p95_ms", 0),
    ("network traffic to the services (MB/s)", "traffic_kb_per_s", 2),
    ("age of the order copy used, p95 (ms)", "data_age_p95_ms", 0),
)


def run_table(result):
    """A run's numbers per design, rounded per row, "–" where a value does not apply."""
    raw = result.table()
    raw.loc["traffic_kb_per_s"] = raw.loc["traffic_kb_per_s"] / 1000
    rows = {label: raw.loc[key].round(decimals) for label, key, decimals in _RUN_ROWS}
    frame = pd.DataFrame(rows).T.rename_axis("measured in this run")
    frame.loc["age of the order copy used, p95 (ms)", [NAMES["rr"], NAMES["thin"]]] = np.nan  # read fresh
    return tables.tidy(frame, caption=f"Measured in the panel's run with {_settings_text(result.params)} "
                                      "(moved a slider? run this cell again)")




# -- predictions, exercises and checks -----------------------------------------------------------------
SLOWDOWN = ("R/R is faster (no broker hop)", "about the same (within 50 %)", "R/R is 1.5 to 5 times slower",
            "R/R is more than 5 times slower")

PREDICTIONS = {
    "slowdown": ("95th percentile time until all 6 services have handled an order:", SLOWDOWN),
}


def prediction(key: str = "slowdown") -> Prediction:
    """The notebook's prediction ``key`` (see :data:`PREDICTIONS`)."""
    prompt, options = PREDICTIONS[key]
    return Prediction(prompt, options)


def slowdown(result) -> str:
    """The option of the "slowdown" prediction that ``result`` supports."""
    ratio = result.latency_p95("rr") / result.latency_p95("fat")
    return SLOWDOWN[0] if ratio < 1 else SLOWDOWN[1] if ratio < 1.5 else SLOWDOWN[2] if ratio <= 5 else SLOWDOWN[3]


def outcome(pred: Prediction, panel: ControlPanel) -> widgets.Widget:
    """Reveal the "slowdown" prediction from the panel's run; the numbers appear once it is recorded."""
    pred.reveal(slowdown(panel.result))

    def show():
        r = panel.result
        rr, fat = r.latency_p95("rr"), r.latency_p95("fat")
        sentence = (f"95th percentile until every service is done: **R/R {rr * 1000:,.0f} ms, fat events "
                    f"{fat * 1000:,.0f} ms**, R/R {rr / fat:.1f} times slower.")
        return stacked(sentence, run_table(r))

    return pred.after(show)


EXPLAIN = """**Why latency explodes.** The database is a queue with c = 4 servers (connections), each serving a
query in 20 ms on average. Its utilisation is ρ = rate × (1 + N) × 0.02 s ÷ 4: 0.2 for fat events and
1.4 for R/R at N = 6 (the default run measured 1.32, because its queries happened to be a little
shorter than 20 ms on average). Below ρ = 1 queries wait a little, and the M/M/c formula (Erlang C)
predicts how long. Above it there is no steady state: 40 % more work arrives than the database can do,
so the backlog grows for as long as the orders keep coming. Here a burst of 150 orders (under 4
seconds) already pushes R/R's 95th percentile past a second, about 15 times that of fat events; a
longer burst would make it worse without limit, because the number depends on how long the overload
lasts. (Numbers for the default settings.)
"""


def smallest_connections(params) -> int:
    """Fewest database connections that keep R/R (1 + N queries per order) below saturation, ρ < 1."""
    c = 1
    while replace(params, db_connections=c).db_utilisation("rr") >= 1:
        c += 1
    return c


def _check_connections(panel: ControlPanel):
    """The panel's connections must be the smallest number with ρ < 1 for its own N, rate and query time."""
    p, r = panel.params, panel.result
    need = smallest_connections(p)
    top = next(s.max for s in panel.sliders if s.param == "db_connections")
    if need > top:
        return False, (f"With N = {p.services}, {p.rate:g} orders/s and {p.query_ms:g} ms per query R/R needs "
                       f"{need} connections, more than the slider offers: lower the rate, N or the query time.")
    rho = p.db_utilisation("rr")
    measured = (f"this run measured {r.db_utilisation('rr'):.2f}, and every service was done within "
                f"{r.latency_p95('rr') * 1000:,.0f} ms for 95 % of orders")
    if p.db_connections < need:
        return False, (f"{p.db_connections} connections: ρ = {rho:.2f}, the database is overloaded ({measured}). "
                       "Add connections.")
    if p.db_connections > need:
        fewer = replace(p, db_connections=p.db_connections - 1).db_utilisation("rr")
        return False, (f"{p.db_connections} connections keep ρ = {rho:.2f} below 1, but "
                       f"{p.db_connections - 1} would too (ρ = {fewer:.2f}): find the smallest.")
    less = replace(p, db_connections=need - 1).db_utilisation("rr") if need > 1 else None
    before = f" With {need - 1} it would be {less:.2f}." if less is not None else ""
    return True, (f"Yes: {need} connections give ρ = {rho:.2f} ({measured}).{before} Near ρ = 1 queries still "
                  "queue a lot: real databases are kept well below it.")


def exercise(key: str, panel: ControlPanel | None = None):
    """The notebook's exercise ``key``: ``"connections"`` (a number) or ``"set connections"`` (reads
    ``panel``, the notebook's control panel)."""
    if key == "connections":
        p = DataReuseParams()
        need = smallest_connections(p)
        load = p.rate * (1 + p.services) * p.query_time
        return Numeric(
            f"Keep {p.rate:g} orders per second, {p.query_ms:g} ms per query and N = {p.services} services. "
            "Your database administrator can add connections. What is the **smallest** number of connections "
            "that keeps R/R below saturation (ρ < 1)?",
            answer=need, tolerance=0, unit="connections",
            explanation=f"R/R asks for {p.rate:g} × (1 + {p.services}) = {p.rate * (1 + p.services):.0f} queries per "
                        f"second, each holding a connection for {p.query_time:g} s on average: {load:.1f} "
                        f"connections busy. {need - 1} are overloaded (ρ = "
                        f"{replace(p, db_connections=need - 1).db_utilisation('rr'):.2f}); {need} run at ρ = "
                        f"{replace(p, db_connections=need).db_utilisation('rr'):.2f}.",
            hint="Busy connections = queries per second × seconds per query (Little's law). How many queries "
                 "per second does R/R send at N = 6?",
        )
    if key == "set connections":
        if panel is None:
            raise ValueError("exercise 'set connections' needs the notebook's panel")
        return Exercise(
            "Now set it in the panel above: choose **DB connections** so that R/R's database is just below "
            "saturation (the smallest number with ρ < 1) for the panel's *current* N, order rate and query "
            "time, then press *Check*. It reads the panel's current run.",
            check=lambda: _check_connections(panel),
            hint="The top-left chart draws the database's capacity (dash-dot): R/R's dashed line must stay "
                 "under it at your N. Capacity = connections ÷ query time.",
            solution="The smallest whole number above rate × (1 + N) × query time. At the defaults that is "
                     "40 × 7 × 0.02 s = 5.6, so **6 connections**: ρ = 0.93. With 5, ρ = 1.12 and the queue "
                     "grows for as long as orders arrive. Near ρ = 1 the latency is still high (p95 about "
                     "0.24 s against 0.09 s for fat events): real systems keep utilisation well below 1.",
        )
    raise KeyError(f"no exercise {key!r}; choose 'connections' or 'set connections'")


# -- deep dive and "where the claim breaks" --------------------------------------------------------------
def sweep_grid(params=None) -> widgets.GridBox:
    """The two sweep charts N = 1 … 8 side by side (24 runs, cached)."""
    return grid(*sweep_figures(params))


SWEEP = """\
Fat events stay nearly flat: their database load never changes, and the slight rise is the wait for the
slowest of N consumers. R/R and thin events grow gently up to N = 3, where ρ = 0.8, reach the knee at
N\\* = 4, and then climb steeply.
"""


def sweep_section(params=None) -> widgets.VBox:
    """The sweep charts with what they show (held back by the notebook's prediction: build them before
    handing them to ``after``, so that recording the prediction only has to show them)."""
    return stacked(sweep_grid(params), SWEEP)


def long_run(services: int = 3, orders: int = 3000) -> HTML:
    """Mean wait for a connection in a long R/R run beside its M/M/c value."""
    r = get("data_reuse")(services=services, orders=orders)
    return markdown_widget(f"N = {services}, {orders:,} orders: mean wait for a connection "
                           f"**{r.db_wait_mean('rr') * 1000:.1f} ms** "
                           f"(M/M/c: {r.params.db_wait_theory('rr') * 1000:.1f} ms).")


def checkout(result) -> HTML:
    """The customer's wait until the order is accepted, fat vs thin events, in ``result``."""
    fat, thin = (np.percentile(result.client_wait(v), 95) * 1000 for v in ("fat", "thin"))
    return markdown_widget(f"Customer's wait until the order is accepted, 95th percentile: fat events "
                              f"**{fat:,.0f} ms**, thin events **{thin:,.0f} ms** ({_settings_text(result.params)}).")


def traffic_table(event_kb: float = 32.0):
    """Network traffic to the services (MB/s) by what it carries, for orders of ``event_kb`` KB."""
    frame = get("data_reuse")(event_kb=event_kb).traffic_table().round(2)
    frame.index = frame.index.rename("traffic (MB/s)")
    return tables.tidy(frame, caption=f"Orders of {event_kb:g} KB, other settings at their defaults")


def staleness(result) -> HTML:
    """How old the fat event's copy of the order is when a service finishes with it."""
    age = result.data_age("fat") * 1000
    return markdown_widget(f"Age of the order copy when a service finishes with it (fat events): median "
                              f"**{np.median(age):.0f} ms**, 95th percentile **{np.percentile(age, 95):.0f} ms** "
                              f"({_settings_text(result.params)}).")


def light_table(services: int = 2):
    """Queries, utilisation and latency at a small N, every design."""
    frame = get("data_reuse")(services=services).table().loc[
        ["db_queries_per_s", "db_utilisation", "all_services_done_p95_ms"]]
    frame.index = ["database queries per second", "database utilisation (measured)",
                   "until every service is done, p95 (ms)"]
    frame = frame.apply(lambda row: row.round(2 if "utilisation" in row.name else 0), axis=1)
    return tables.tidy(frame, caption=f"N = {services}, other settings at their defaults")


PANELS = {"panel": panel}

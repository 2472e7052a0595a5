"""What one design run against the scenario measures (:class:`CapstoneResult`) and how the workshop rubric scores it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from ... import validate as v
from ...service import Service
from ...system import System
from ..your_system.engine import client_answers
from .design import (
    QUERY_TIME,
    RR_READS,
    SCENARIO,
    WORK,
    WRITES,
    Design,
    Scenario,
    _done_times,
    build,
    moving_parts,
)


@dataclass(frozen=True)
class CapstoneResult:
    """One design run against the scenario: per-order facts, the rubric's metrics and the timeline."""

    design: Design
    scenario: Scenario
    result: object  # the core Result

    @property
    def system(self) -> System:
        return self.result.system

    @cached_property
    def orders(self) -> dict[str, np.ndarray]:
        """Per order: created, answered (when the customer was told), ok (told accepted), paid, notified and
        analysed times (NaN: never). Charges per order are in ``charges``."""
        system, design = self.system, self.design
        msgs = system.messages
        n = msgs.count
        created = np.frombuffer(msgs.created, count=n).copy()
        if design.place == "rr":
            answered, ok = client_answers(system.component("client"), n)
        else:
            answers = system.component("client.answers").answered
            answered = np.full(n, math.nan)
            ok = np.zeros(n, dtype=bool)
            for mid, (t, good) in answers.items():
                answered[mid], ok[mid] = t, good
        return {"created": created, "answered": answered, "ok": ok,
                "paid": _done_times(system, "payment", n), "notified": _done_times(system, "notify", n),
                "analysed": _done_times(system, "analytics", n)}

    @cached_property
    def charges(self) -> dict[str, int]:
        """Payment attempts that completed (``attempts``), distinct orders charged, and ``duplicates``:
        completions beyond the first per order (R/R: a retry after a timeout whose first try still went
        through; EDA: redelivery after the crash). With an idempotent payment they charge nobody."""
        system = self.system
        component = system.components.get("payment")
        if isinstance(component, Service):
            distinct = int(np.count_nonzero(~np.isnan(component.done_times(system.messages.count))))
            attempts = component.ok
        else:
            log = system.logs["payment"]
            distinct, attempts = log.completed, log.completed + log.duplicates
        repeats = attempts - distinct
        return {"attempts": attempts, "orders charged": distinct, "repeated completions": repeats,
                "duplicates": 0 if self.design.idempotent else repeats}

    @cached_property
    def metrics(self) -> dict[str, float]:
        """The numbers the rubric scores (see :data:`RUBRIC`) and a few it only reports."""
        o, s = self.orders, self.scenario
        n = len(o["created"])
        ok = o["ok"]
        paid = ~np.isnan(o["paid"])
        good = ok & paid
        answer = self.answer_waits()
        wait = self.scored_waits()
        accepted = max(int(ok.sum()), 1)
        notified = o["notified"] - o["created"]
        db = self.system.component("db")
        in_outage = (o["created"] >= s.outage_start) & (o["created"] < s.outage_end)
        return {
            "orders": n,
            "customer_wait_p95": float(np.percentile(wait, 95)) if n else math.nan,
            "customer_wait_p50": float(np.percentile(wait, 50)) if n else math.nan,
            "answer_wait_p95": float(np.percentile(answer, 95)) if n else math.nan,
            "answer_wait_p50": float(np.percentile(answer, 50)) if n else math.nan,
            "lost_share": float(np.mean(~good)) if n else math.nan,
            "lost": int(np.count_nonzero(~good)),
            "lost_in_outage": int(np.count_nonzero(~good & in_outage)),
            "told_failed": int(np.count_nonzero(~ok & ~np.isnan(o["answered"]))),
            "charged_but_told_failed": int(np.count_nonzero(~ok & paid)),
            "notified_on_time": float(np.mean(notified[ok] <= s.notify_within)) if ok.any() else math.nan,
            "duplicate_payments": self.charges["duplicates"],
            "repeated_payment_completions": self.charges["repeated completions"],
            "analytics_complete": float(np.count_nonzero(~np.isnan(o["analysed"]) & ok) / accepted),
            "db_queries_per_order": (db.reads + db.writes) / n if n else math.nan,
            "moving_parts": sum(moving_parts(self.design).values()),
            "payment_p95_after_order": float(np.percentile(o["paid"][good] - o["created"][good], 95))
            if good.any() else math.nan,
            "notified_before_payment": int(np.count_nonzero(
                ok & ~np.isnan(o["notified"]) & ~(o["paid"] - o["notified"] <= s.notify_within))),
        }

    def answer_waits(self) -> np.ndarray:
        """Per order: seconds until the customer was told anything ("confirmed" or "failed"); an order
        never answered waits until the end of the run."""
        o = self.orders
        return np.where(np.isnan(o["answered"]), self.result.elapsed, o["answered"]) - o["created"]

    def scored_waits(self) -> np.ndarray:
        """Per order: the wait the rubric scores. A confirmed and paid order counts its wait for the answer;
        an order that failed or was lost counts as the worst wait a customer can have, the app's timeout
        (or its real wait if that was longer), so failing fast earns no points for speed."""
        o = self.orders
        answer = self.answer_waits()
        good = o["ok"] & ~np.isnan(o["paid"])
        return np.where(good, answer, np.maximum(answer, self.scenario.app_timeout))

    @property
    def summary(self) -> dict:
        """The metrics and the rubric total (what the command line prints), and whether a bound cut the run."""
        core = self.result.summary
        return {**self.metrics, "score": self.total, "events": core["events"], "bound_hit": core["bound_hit"],
                "bound_reason": core["bound_reason"]}

    @cached_property
    def rubric(self):
        return score(self.design, self)

    @property
    def total(self) -> float:
        return float(self.rubric.loc["total", "points"])

    def timeline(self, width: float = 2.0):
        """Per ``width``-second bin (by when orders were placed): orders placed, confirmed and lost per
        second, and the 95th percentiles of the customers' wait and of the notification delay (s)."""
        if width == 2.0:
            return self._timeline_2s.copy()
        return self._timeline(width)

    @cached_property
    def _timeline_2s(self):
        return self._timeline(2.0)

    def _timeline(self, width: float):
        import pandas as pd

        v.positive("width", width, self.scenario.until)
        o = self.orders
        edges = np.arange(0.0, self.scenario.until + width / 2, width)
        nb = len(edges) - 1
        idx = np.clip(np.searchsorted(edges, o["created"], side="right") - 1, 0, nb - 1)
        wait = self.scored_waits()
        good = o["ok"] & ~np.isnan(o["paid"])
        return pd.DataFrame({
            "time": edges[:-1] + width / 2,
            "placed_per_s": np.bincount(idx, minlength=nb) / width,
            "confirmed_per_s": np.bincount(idx, weights=o["ok"], minlength=nb) / width,
            "lost_per_s": np.bincount(idx, weights=~good, minlength=nb) / width,
            "wait_p95": _binned_p95(idx, wait, nb),
            "notify_p95": _binned_p95(idx[o["ok"]], (o["notified"] - o["created"])[o["ok"]], nb),
        })

    def payment_backlog(self) -> tuple[np.ndarray, np.ndarray]:
        """(time, orders waiting for payment): the payment group's lag (EDA), or calls queued at and held
        by the payment service (R/R), every second."""
        series = self.system.series
        t = np.frombuffer(series.t)
        cols = series.columns
        if "payment.lag" in cols:
            return t, np.frombuffer(cols["payment.lag"])
        return t, np.frombuffer(cols["payment.queue"]) + np.frombuffer(cols["payment.busy"])

    def table(self):
        """The rubric (one row per criterion, then the total)."""
        return self.rubric


def hold_mean(design: Design) -> float:
    """Mean seconds an order-service worker is held per order: its own work and write, then every
    synchronous call's work and queries (waits ignored). The R/R chain the customer waits for."""
    q = QUERY_TIME.mean
    hold = WORK["orders"].mean + q
    for name in design.synchronous:
        reads = RR_READS[name] + (design.idempotent if name == "payment" else 0)
        hold += WORK[name].mean + (reads + WRITES[name]) * q
    return hold


def spike_load(design: Design, scenario: Scenario = SCENARIO) -> float:
    """Utilisation of the order service's worker pool during the lunch spike: rate x hold / workers."""
    return scenario.spike_rate * hold_mean(design) / design.workers


def payment_capacity(design: Design) -> tuple[float, int]:
    """(service rate per consumer, consumers that can work) of an event-driven payment group: the fluid
    model's mu and c (a group uses at most ``partitions`` consumers)."""
    per = WORK["payment"].mean + (WRITES["payment"] + design.idempotent) * QUERY_TIME.mean
    return 1.0 / per, min(design.workers, design.partitions)


def _binned_p95(idx: np.ndarray, values: np.ndarray, nb: int) -> np.ndarray:
    """95th percentile of ``values`` in each of ``nb`` bins (``idx`` gives each value's bin); NaN values
    (never happened) count as +inf, an empty bin is NaN."""
    out = np.full(nb, math.nan)
    values = np.where(np.isnan(values), np.inf, values)
    order = np.argsort(idx, kind="stable")
    bounds = np.searchsorted(idx[order], np.arange(nb + 1))
    for b in range(nb):
        chunk = values[order[bounds[b]:bounds[b + 1]]]
        if len(chunk):
            out[b] = np.percentile(chunk, 95, method="higher")
    return out


@lru_cache(maxsize=128)
def run_design(design: Design, scenario: Scenario = SCENARIO) -> CapstoneResult:
    """Build and run ``design`` against ``scenario`` (cached: the same design and seed give the same run)."""
    return CapstoneResult(design, scenario, build(design, scenario).run(scenario.until))


# =====================================================================================================
# The rubric
# =====================================================================================================
@dataclass(frozen=True)
class Criterion:
    """One line of the rubric: ``points`` at or better than ``full``, none at or worse than ``zero``,
    linear in between. ``metric`` names a key of :attr:`CapstoneResult.metrics`."""

    key: str
    label: str
    metric: str
    unit: str
    full: float
    zero: float
    points: float
    how: str

    def points_for(self, value: float) -> float:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return 0.0
        share = (value - self.zero) / (self.full - self.zero)
        return self.points * min(1.0, max(0.0, share))

    def shown(self, value: float) -> float:
        """``value`` in the unit the rubric prints (seconds as ms, shares as %)."""
        return value * {"ms": 1000.0, "%": 100.0}.get(self.unit, 1.0)

    def rule(self) -> str:
        """The threshold as a facilitator reads it out."""
        better = "≤" if self.full < self.zero else "≥"
        worse = "≥" if self.full < self.zero else "≤"
        if self.full == 0 and self.zero <= 1 and self.unit == "payments":
            return f"{self.points:g} points if 0, else none"
        best = f"at {_fmt(self.full, self.unit)}" if self.full == 0 else f"at {better} {_fmt(self.full, self.unit)}"
        return f"{self.points:g} points {best}, none at {worse} {_fmt(self.zero, self.unit)}, linear between"


def _fmt(value: float, unit: str) -> str:
    scaled = value * {"ms": 1000.0, "%": 100.0}.get(unit, 1.0)
    return f"{scaled:.4g} {unit}".strip()


RUBRIC: tuple[Criterion, ...] = (
    Criterion("wait", "customer wait p95", "customer_wait_p95", "ms", 0.3, 2.0, 20,
              "95th percentile of how long a customer waited for 'order confirmed'; an order that fails or is "
              "lost counts as the app's 5 s timeout, the worst wait there is"),
    Criterion("lost", "orders lost or failed", "lost_share", "%", 0.0, 0.05, 20,
              "share of orders not both confirmed to the customer and paid by the end of the run"),
    Criterion("notify", "notifications on time", "notified_on_time", "%", 0.99, 0.90, 15,
              "share of confirmed orders whose restaurant and courier were notified within 2 s"),
    Criterion("duplicates", "duplicate payments", "duplicate_payments", "payments", 0.0, 1.0, 15,
              "customers charged a second time for the same order"),
    Criterion("analytics", "analytics completeness", "analytics_complete", "%", 1.0, 0.9, 10,
              "share of confirmed orders recorded by analytics by the end of the run"),
    Criterion("db", "database load", "db_queries_per_order", "queries/order", 3.0, 6.0, 10,
              "database queries (reads and writes) per order placed"),
    Criterion("parts", "moving parts", "moving_parts", "parts", 5, 13, 10,
              "services + brokers + consumer groups + database (fewer is simpler to run and debug)"),
)
MAX_POINTS = sum(c.points for c in RUBRIC)


def rubric_table():
    """The rubric as a facilitator reads it: criterion, what is measured, and the points rule."""
    import pandas as pd

    return pd.DataFrame([{"criterion": c.label, "measured": c.how, "points": c.rule()} for c in RUBRIC]
                        ).set_index("criterion")


def score(design: Design, results: CapstoneResult):
    """The rubric applied to one run: a DataFrame indexed by criterion with the measured ``value`` and the
    ``full`` and ``zero`` thresholds in ``unit`` (ms, %, ...), the ``points`` earned and ``max_points``; the
    last row, ``total``, adds them up (out of 100). Every number comes from the simulated run of ``design``:
    points = max_points x the position of the value between ``zero`` and ``full``, clipped to [0, 1]."""
    import pandas as pd

    if not isinstance(results, CapstoneResult):
        raise ValueError(f"results must be a CapstoneResult (from run_design), got {type(results).__name__}")
    if results.design != design:
        raise ValueError("results were measured for another design; run run_design(design) first")
    m = results.metrics
    rows = [{"criterion": c.key, "label": c.label, "value": round(c.shown(m[c.metric]), 3), "unit": c.unit,
             "full": c.shown(c.full), "zero": c.shown(c.zero), "points": round(c.points_for(m[c.metric]), 2),
             "max_points": c.points} for c in RUBRIC]
    table = pd.DataFrame(rows).set_index("criterion")
    table.loc["total"] = {"label": "total", "value": math.nan, "unit": "points", "full": math.nan,
                          "zero": math.nan, "points": round(float(table["points"].sum()), 2),
                          "max_points": MAX_POINTS}
    return table


def describe(criterion: str, value: float) -> str:
    """A measured value, as :func:`score` shows it (ms, %, ...), in words, e.g. ``"customers waited 84 ms at
    the 95th percentile"``."""
    return {"wait": f"customers waited {value:,.0f} ms at the 95th percentile (a failed order counts as 5 s)",
            "lost": f"{value:.1f} % of orders lost or failed",
            "notify": f"{value:.1f} % of notifications within 2 s",
            "duplicates": f"{int(value)} duplicate payments",
            "analytics": f"analytics recorded {value:.1f} % of confirmed orders",
            "db": f"{value:.2f} database queries per order",
            "parts": f"{int(value)} moving parts"}[criterion]


def defence(design: Design, results: CapstoneResult) -> str:
    """Two sentences a team can open its defence with: its strongest and weakest criterion, with numbers."""
    table = score(design, results).drop(index="total")
    share = table["points"] / table["max_points"]
    # Strongest: the full-marks criterion worth most points; weakest: the most points lost.
    strongest = (share * 1000 + table["max_points"]).idxmax()
    weakest = (table["max_points"] - table["points"]).idxmax()
    total = table["points"].sum()
    s, w = table.loc[strongest], table.loc[weakest]
    text = (f"Total {total:.0f}/100. Strongest: {s['label']} ({describe(strongest, s['value'])}: "
            f"{s['points']:.0f}/{s['max_points']:.0f}).")
    if w["points"] < w["max_points"]:
        text += (f" Weakest: {w['label']} ({describe(weakest, w['value'])}: "
                 f"{w['points']:.0f}/{w['max_points']:.0f}).")
    else:
        text += " Every criterion has full marks."
    return text

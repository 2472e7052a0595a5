"""Notebook 00's sentences about the order example, checked at its default settings.

The default run (seed 1) is deterministic, so the numbers the notebook quotes are checked to the
rounding it prints; the structural claims (who answers when, EDA done sooner) are checked over
twenty seeds as well.
"""

from __future__ import annotations

import numpy as np
import pytest

from eda_sim import theory
from eda_sim.lab import flow
from eda_sim.lab.flow import OrderExample

SEEDS = range(1, 21)


@pytest.fixture(scope="module")
def anim():
    return flow.run(OrderExample())


@pytest.fixture(scope="module")
def many():
    return [flow.run(OrderExample(seed=s)) for s in SEEDS]


def _handler_done(result, name, n):
    return result.system.components[name].done_times(n)


def test_00_eda_answers_before_the_work_is_done_rr_only_after_billing_and_audit(many):
    """In the same run: EDA answers on the broker's ack; R/R answers exactly when Audit (after Billing) is done."""
    for a in many:
        o = a.orders()
        p = a.params
        assert np.allclose(o.eda_accepted - o.created, p.publish_latency)
        done = o.eda_done.notna()  # a few orders of a busy seed are still in progress when the run ends
        assert done.mean() > 0.8
        assert (o.eda_accepted[done] < o.eda_done[done]).all()  # answered before Billing and Audit finished
        rr = a.comparison.results["rr"]
        n = len(o)
        billing, audit = _handler_done(rr, "billing", n), _handler_done(rr, "audit", n)
        assert np.array_equal(o.rr_accepted, o.rr_done, equal_nan=True)
        assert np.allclose(o.rr_accepted, np.maximum(billing, audit), equal_nan=True)
        both = ~np.isnan(audit)
        assert (billing[both] <= audit[both]).all()  # sequential: Audit only after Billing
        assert np.isnan(audit[np.isnan(billing)]).all()
        assert np.nanmean(o.rr_accepted - o.created) > 10 * np.nanmean(o.eda_accepted - o.created)


def test_00_eda_orders_are_done_sooner_on_average(many):
    """Audit works in parallel with Billing in EDA; in R/R it waits for Billing (every seed of 20)."""
    for a in many:
        o = a.orders()
        assert o.eda_done.notna().sum() >= o.rr_done.notna().sum()
        both = o.eda_done.notna() & o.rr_done.notna()
        assert (o.eda_done - o.created)[both].mean() < (o.rr_done - o.created)[both].mean()


def test_00_default_numbers_quoted(anim):
    t = anim.table()
    assert t.loc["orders placed", "rr"] == 19
    assert t.loc["client wait, mean (s)", "rr"] == pytest.approx(2.25, abs=0.005)
    assert t.loc["client wait, longest (s)", "rr"] == pytest.approx(4.64, abs=0.005)
    assert t.loc["client wait, longest (s)", "eda"] == pytest.approx(0.01)
    assert t.loc["order done after, mean (s)", "eda"] == pytest.approx(1.61, abs=0.005)
    assert t.loc["order done after, longest (s)", "eda"] == pytest.approx(3.1, abs=0.01)
    assert t.loc["longest queue for Billing", "eda"] == 8 and t.loc["longest queue for Billing", "rr"] == 3
    o = anim.orders()
    burst = o[(o.created >= 3) & (o.created < 4)]
    assert len(burst) == 10
    o10 = o.iloc[9]
    assert o10.created == pytest.approx(3.91, abs=0.005)
    assert o10.rr_done - o10.eda_done == pytest.approx(1.26, abs=0.01)


def test_00_at_four_seconds(anim):
    """The explain section's snapshot at t = 4.00 s."""
    eda, rr = anim.traces["eda"], anim.traces["rr"]
    k = anim.frame_at(4.0)
    assert eda.count("billing.queue", k) == 7 and eda.count("audit.queue", k) == 5
    assert eda.waiting[k] == 0 and eda.answered[k] == 11
    assert rr.waiting[k] == 8
    assert np.sum(~np.isnan(rr.held_x[k])) == anim.params.entry_workers == 4
    assert rr.count("orders.queue", k) == 4 and rr.count("billing.queue", k) == 3


def test_00_littles_law_for_the_waiting_clients(anim):
    rr = anim.traces["rr"]
    rate = len(rr.created) / anim.params.until
    wait = np.nanmean(rr.accepted - rr.created)
    assert rr.waiting.mean() == pytest.approx(theory.littles_law(rate, wait), rel=0.01)


def test_00_the_picture_does_not_say(anim):
    quiet = flow.run(OrderExample(burst_rate=0.0, billing_time=0.05)).table()
    assert quiet.loc["client wait, mean (s)", "rr"] == pytest.approx(0.26, abs=0.01)
    gap = quiet.loc["order done after, mean (s)", "rr"] - quiet.loc["order done after, mean (s)", "eda"]
    assert 0 <= gap < 0.05  # about the same time in both rows


def test_00_exercise_two_solution(anim):
    """Eight OrderSvc workers alone leave requests queued; with two Billing/Audit workers the queue stays empty."""
    alone = flow.run(OrderExample(entry_workers=8)).table()
    assert alone.loc["longest queue for an OrderSvc worker", "rr"] == 2
    both = flow.run(OrderExample(entry_workers=8, workers=2)).table()
    assert both.loc["longest queue for an OrderSvc worker", "rr"] == 0
    assert both.loc["client wait, longest (s)", "rr"] > 1.0  # the clients still wait seconds

"""Notebook 03 (coupling and failure propagation): its headline claims at the default settings.

Each test is a sentence the notebook says; the numbers in the comments are what the default seed shows.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from eda_sim import theory
from eda_sim.experiments import get
from eda_sim.experiments.coupling import (
    SWEEP_N,
    DeployParams,
    FanoutSweepParams,
    OutageParams,
    StormParams,
    goodput_vs_load,
)


@pytest.fixture(scope="module")
def outage():
    return get("coupling_outage")()


def during(result) -> np.ndarray:
    p = result.params
    created = result.per_order["created"]
    return (created >= p.outage_start) & (created < p.outage_end)


# -- one downstream outage ------------------------------------------------------------------------------
def test_03_rr_clients_see_the_outage_and_for_longer_than_it_lasts(outage):
    rr = outage.summary["rr"]
    assert rr["timeouts"] + rr["errors"] > 0
    # A 10 s outage in a 70 s run (14% of the orders) fails about half of them: the order service's
    # workers and queue stay full of stalled calls until billing has worked them off (seed 1: 54%).
    assert rr["failed_share"] > 0.3
    assert outage.per_order["rr_failed"][during(outage)].all()  # every order placed during the outage failed


def test_03_rr_order_service_pool_fills_during_a_hanging_outage(outage):
    t, busy = outage.series("rr", "orders.busy")
    p = outage.params
    inside = (t > p.outage_start + 3) & (t < p.outage_end)
    assert (busy[inside] == p.entry_workers).all()
    assert busy[t < p.outage_start].mean() < p.entry_workers / 3  # normally about 4 of 16 are held


def test_03_eda_client_waits_only_for_the_publish_latency(outage):
    eda = outage.summary["eda"]
    waits = outage.per_order["eda_wait"]
    waits = waits[~np.isnan(waits)]
    assert waits.max() == pytest.approx(outage.params.publish_latency, abs=1e-9)
    assert eda["failed_share"] == 0.0


def test_03_eda_completes_every_order_after_the_backlog_drains(outage):
    p = outage.params
    eda = outage.summary["eda"]
    assert outage.done_share_before("eda", p.until - 5) == 1.0
    assert eda["drain_time"] > 0
    # The backlog peaks near λD = 100 orders (seed 1: 119; Poisson arrivals in 10 s vary by about 10).
    assert eda["backlog_max"] == pytest.approx(p.rate * p.down_for, rel=0.35)


def test_03_drain_time_follows_the_fluid_estimate_on_average():
    # λD/(cμ − λ) = 100 / (13.3 − 10) = 30 s. One run varies a lot (seeds 1–6: 32, 30, 33.5, 12.5, 36,
    # 27 s) because the net drain rate is small beside the random walk of arrivals and services.
    drains = [get("coupling_outage")(seed=s).summary["eda"]["drain_time"] for s in range(1, 7)]
    assert not any(math.isnan(d) for d in drains)
    assert np.mean(drains) == pytest.approx(OutageParams().drain_theory(), rel=0.25)


def test_03_eda_isolates_audit_from_the_billing_outage(outage):
    o = outage.per_order
    window = during(outage)
    audit = o["eda_audit_done"][window] - o["created"][window]
    billing = o["eda_billing_done"][window] - o["created"][window]
    assert np.nanmean(audit) < 0.2  # audit kept its normal pace (seed 1: 0.05 s)
    assert np.nanmean(billing) > 5.0  # billing did them 10 s later


def test_03_where_it_breaks_accepted_is_not_done(outage):
    eda, rr = outage.summary["eda"], outage.summary["rr"]
    # Every EDA order was accepted at once, yet a third of them were done after the 5 s deadline.
    assert eda["failed_share"] == 0.0 and eda["on_time_share"] < 0.8
    # R/R is no better at finishing on time, and it billed hundreds of orders whose client was told they
    # failed (the stalled calls were served after billing came back).
    assert rr["on_time_share"] < 0.8
    assert rr["done_but_failed"] > 100


def test_03_where_it_breaks_drain_can_exceed_any_deadline():
    near_capacity = get("coupling_outage")(rate=12.0)  # 90% of billing's capacity: theory 90 s
    assert math.isnan(near_capacity.summary["eda"]["drain_time"])  # not drained by the end of the run
    assert near_capacity.params.drain_theory() == pytest.approx(90.0)


def test_03_where_it_breaks_the_broker_is_a_new_shared_dependency():
    r = get("coupling_outage")(target="broker")
    o = r.per_order
    window = during(r)
    assert np.nanmax(o["eda_wait"]) == pytest.approx(r.params.down_for, abs=0.5)  # producers wait it out
    assert np.nanmean(o["eda_audit_done"][window] - o["created"][window]) > 2.0  # audit stops too
    assert r.summary["rr"]["failed_share"] == 0.0  # R/R has no broker to lose


def test_03_a_deploy_fails_rr_requests_but_no_eda_order():
    r = get("coupling_deploy")()
    p = r.params
    rr, eda = r.summary["rr"], r.summary["eda"]
    assert rr["errors"] == pytest.approx(p.rate * p.down_for, rel=0.5)  # about 20 refused (seed 1: 27)
    assert eda["failed_share"] == 0.0
    assert eda["done_p99"] < p.deadline  # the restart only delayed billing by a few seconds


# -- retry storm after a short outage ------------------------------------------------------------------
@pytest.mark.parametrize("seed", [1, 2])
def test_03_naive_retries_stay_overloaded_after_a_short_outage(seed):
    naive = get("coupling_storm")(seed=seed).result.summary
    assert naive["ok_share_after"] < 0.2  # seeds 1, 2: 0%
    assert math.isnan(naive["recovery_time"])
    for policy in ("backoff_budget", "breaker", "no_retries"):
        s = get("coupling_storm")(seed=seed, policy=policy).result.summary
        assert s["ok_share_after"] > 0.9, (policy, seed)
        assert s["recovery_time"] < 30, (policy, seed)


def test_03_the_same_load_without_an_outage_is_healthy():
    # A 1 ms blip does not tip the api over: the overload after a 5 s outage is the outage's doing.
    p = StormParams(down_for=0.001)
    s = get("coupling_storm")(p).result.summary
    assert s["ok_share_after"] > 0.99 and s["timeouts"] == 0


def test_03_goodput_vs_load_naive_retries_collapse_far_below_capacity():
    # The api serves 20 requests/s. After a 5 s outage, naive retries recover only at 4 requests/s;
    # from 6/s on (30% of capacity) every request is tried three times and the api never catches up.
    loads, good = goodput_vs_load(StormParams(policy="naive"))
    assert good[loads == 4][0] > 3.6
    assert good[loads >= 6].max() < 1.0
    # Backoff with jitter and a retry budget recovers up to 12/s (60%), the breaker up to 14/s.
    _, budget = goodput_vs_load(StormParams(policy="backoff_budget"))
    _, breaker = goodput_vs_load(StormParams(policy="breaker"))
    assert (budget[loads <= 12] > 0.9 * loads[loads <= 12]).all()
    assert (breaker[loads <= 14] > 0.9 * loads[loads <= 14]).all()


# -- fan-out tail ------------------------------------------------------------------------------------
@pytest.mark.parametrize("p_slow", [0.01, 0.02, 0.05])
def test_03_fanout_slow_share_follows_one_minus_one_minus_p_to_the_n(p_slow):
    r = get("coupling_fanout")(p_slow=p_slow)
    ns, sim, th = r.sweep(SWEEP_N)
    # About 310 requests: binomial standard error at most sqrt(0.25 / 310) = 0.028; allow 3 of them.
    assert len(r.latencies(100)) > 290
    assert np.abs(sim - th).max() < 0.085
    assert r.slow_share(100) == pytest.approx(th[-1], abs=0.085)


def test_03_fanout_with_more_requests_is_closer_to_theory():
    r = get("coupling_fanout")(FanoutSweepParams(p_slow=0.01, until=150.0))  # about 1,500 requests: SE <= 0.013
    ns, sim, th = r.sweep(SWEEP_N)
    assert np.abs(sim - th).max() < 0.04
    assert th[-1] == pytest.approx(0.634, abs=0.001)  # Dean and Barroso: 1% slow leaves, 100 leaves -> 63%


def test_03_fanout_at_all_leaves_is_what_the_clients_measured():
    r = get("coupling_fanout")()
    assert r.slow_share(100) == pytest.approx(r.result.summary["slow_share"], abs=1e-12)


# -- closed forms and validation -------------------------------------------------------------------
def test_outage_theory():
    assert theory.outage_drain_time(10, 1 / 0.15, 2, 10) == pytest.approx(30.0)
    assert theory.outage_drain_time(10, 5, 2, 10) == math.inf
    b = theory.outage_backlog([0, 15, 20, 25, 40, 55, 70], 10, 1 / 0.15, 2, 15, 25)
    assert b == pytest.approx([0, 0, 50, 100, 50, 0, 0])
    with pytest.raises(ValueError, match="servers"):
        theory.outage_drain_time(10, 5, 0, 10)
    with pytest.raises(ValueError, match="outage"):
        theory.outage_backlog(1.0, 10, 5, 2, 20, 10)


@pytest.mark.parametrize("cls, kwargs, name", [
    (OutageParams, dict(target="db"), "target"), (OutageParams, dict(when_down="slow"), "when_down"),
    (OutageParams, dict(until=30.0), "until"), (OutageParams, dict(workers=0), "workers"),
    (DeployParams, dict(down_for=0.0), "down_for"), (StormParams, dict(policy="retry"), "policy"),
    (StormParams, dict(until=20.0), "until"), (FanoutSweepParams, dict(leaves=101), "leaves"),
    (FanoutSweepParams, dict(slow=0.001), "slow"),
])
def test_bad_parameters_name_the_parameter(cls, kwargs, name):
    with pytest.raises(ValueError, match=name):
        cls(**kwargs)

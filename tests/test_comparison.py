"""The same flow as R/R and EDA, and the published results the comparison experiments reproduce."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from eda_sim import Down, Exponential, Poisson
from eda_sim.__main__ import main as cli
from eda_sim.comparison import Comparison, Flow, Handler, build_rr, compare
from eda_sim.experiments import get
from eda_sim.experiments.comparisons import (
    BackoffParams,
    FanoutParams,
    OrderFlowParams,
    RetryStormParams,
    fanout_spec,
    retry_storm_spec,
    storm_keys,
)
from eda_sim.lab.panel import _check_sliders
from eda_sim.resilience import BACKOFFS
from eda_sim.service import request_records
from eda_sim.theory import fanout_slow_probability

BILLING, AUDIT = Exponential(0.04), Exponential(0.02)


def flow(**kw) -> Flow:
    handlers = (Handler(name="billing", service=BILLING, workers=kw.pop("workers", 100)),
                Handler(name="audit", service=AUDIT, workers=100))
    return Flow(workload=Poisson(rate=kw.pop("rate", 10.0)), handlers=handlers, **kw)


def test_both_architectures_see_the_same_orders_and_the_same_service_draws():
    cmp = compare(flow(), until=60, seed=7)
    orders = cmp.orders()
    rr, eda = cmp.results["rr"].system, cmp.results["eda"].system
    n = len(orders) - 5  # the last few may still be in flight
    assert n > 500
    assert np.array_equal(rr.messages.created[:n], eda.messages.created[:n])
    billing = np.array([rr.streams.draws("service:billing", BILLING)[i] for i in range(n)])
    audit = np.array([rr.streams.draws("service:audit", AUDIT)[i] for i in range(n)])
    assert np.allclose(eda.streams.draws("service:billing", BILLING)[n - 1], billing[-1], rtol=0, atol=0)
    wait = orders["created"][:n]
    # Enough workers that nobody queues: R/R calls billing then audit; EDA runs both at once.
    assert np.allclose(orders["rr_done"][:n] - wait, billing + audit, rtol=0, atol=1e-12)
    assert np.allclose(orders["eda_done"][:n] - wait, np.maximum(billing, audit), rtol=0, atol=1e-12)
    # The R/R client waits for the whole chain; the EDA client only for the (instant) publish.
    assert np.allclose(orders["rr_accepted"][:n], orders["rr_done"][:n], rtol=0, atol=1e-12)
    assert np.allclose(orders["eda_accepted"][:n], wait, rtol=0, atol=0)


def test_parallel_calls_make_rr_done_equal_to_eda_done_without_queueing():
    cmp = compare(flow(calls="parallel"), until=60, seed=8)
    o = cmp.orders().dropna()
    assert len(o) > 500
    assert np.allclose(o["rr_done"], o["eda_done"], rtol=0, atol=1e-12)


def test_table_is_tidy_with_a_row_per_metric_and_a_column_per_architecture():
    cmp = compare(flow(), until=60, seed=1)
    table = cmp.table()
    assert list(table.columns) == ["rr", "eda"]
    assert table.index.name == "metric" and table.index.is_unique
    for key in ("produced", "latency_p95", "accept_mean", "done_mean", "done_p99", "accept_p99", "ok",
                "amplification", "goodput"):
        assert key in table.index
    assert all(pd.api.types.is_float_dtype(t) for t in table.dtypes)
    assert table.loc["produced", "rr"] == table.loc["produced", "eda"]
    assert table.loc["to_handle", "eda"] == 2 * table.loc["produced", "eda"]  # a copy per subscription
    assert table.loc["amplification", "rr"] == pytest.approx(3.0, abs=0.01)  # client->orders->billing, audit
    assert math.isnan(table.loc["ok", "eda"])  # R/R-only keys are NaN for EDA
    assert table.loc["accept_mean", "eda"] == 0.0 < table.loc["accept_mean", "rr"]
    assert set(cmp.summary) == {"rr", "eda"} and not cmp.bound_hit and cmp.message == ""
    ts = cmp.timeseries()
    assert set(ts["architecture"]) == {"rr", "eda"}
    assert "billing.queue" in ts.columns and "billing.depth" in ts.columns


def test_an_outage_fails_rr_orders_but_only_delays_eda_ones():
    outage = Down(target="billing", start=20.0, end=30.0)
    cmp = compare(flow(rate=20.0, workers=4), until=90, seed=3, faults=[outage])
    rr, eda = cmp.results["rr"].summary, cmp.results["eda"].summary
    assert rr["errors"] == pytest.approx(200, rel=0.2)  # every order placed during the 10 s outage
    assert rr["done_share"] < 0.92
    assert eda["done_share"] > 0.99 and eda["dropped"] == 0  # the backlog drained after the outage
    assert eda["done_p99"] > 5.0 > rr["done_p99"]  # but the orders caught in it were done late


def test_comparison_needs_results_and_a_flow():
    with pytest.raises(ValueError, match="at least one"):
        Comparison({})
    with pytest.raises(ValueError, match="flow"):
        compare("orders", until=10)


@pytest.mark.parametrize("kwargs, name", [
    (dict(handlers=()), "handlers"), (dict(calls="async"), "calls"), (dict(entry="billing"), "names"),
    (dict(timeout=-1.0), "timeout"), (dict(entry_workers=0), "entry_workers"), (dict(when_down="x"), "when_down"),
    (dict(slow_after=0.0), "slow_after"), (dict(workload=5), "workload"),
])
def test_bad_flows_name_the_parameter(kwargs, name):
    base = dict(workload=Poisson(rate=1.0), handlers=(Handler(name="billing"),))
    with pytest.raises(ValueError, match=name):
        Flow(**{**base, **kwargs})


# -- The Tail at Scale (Dean and Barroso, CACM 2013) ----------------------------------------------


@pytest.mark.parametrize("leaves", [1, 10, 30])
def test_fanout_slow_share_matches_one_minus_one_minus_p_to_the_n(leaves):
    # About 4,000 requests (20/s for 200 s), each waiting for all leaves; p = 5% of leaf answers slow.
    # Binomial standard error at most sqrt(0.25 / 4000) = 0.008: the tolerance 0.03 is about 4 of them.
    p = FanoutParams(leaves=leaves, p_slow=0.05, rate=20.0, until=200.0, seed=leaves)
    result = build_rr(fanout_spec(p), p.seed).run(p.until)
    rows = request_records(result)
    ok = rows[rows["outcome"] == "ok"]
    assert len(ok) > 3800
    share = float((ok["latency"] > p.slow_after).mean())
    expected = fanout_slow_probability(0.05, leaves)
    assert share == pytest.approx(expected, abs=0.03)
    assert result.summary["slow_share"] == pytest.approx(share)  # the summary key says the same


def test_fanout_experiment_reports_the_closed_form_beside_both_architectures():
    cmp = get("fanout")(leaves=10, p_slow=0.05, until=60.0)
    table = cmp.table()
    assert list(table.columns) == ["rr", "eda", "theory"]
    assert table.loc["slow_share", "theory"] == pytest.approx(1 - 0.95**10)
    # Same arrivals, same leaf draws, no queueing: the same orders are slow in both architectures...
    assert table.loc["slow_share", "rr"] == table.loc["slow_share", "eda"]
    # ...but only the R/R client waits for them.
    assert table.loc["accept_p99", "rr"] == pytest.approx(0.5) and table.loc["accept_p99", "eda"] == 0.0
    assert table.loc["amplification", "rr"] == pytest.approx(11.0, abs=0.01)


# -- Metastable failures (Bronson et al., HotOS 2021) ---------------------------------------------

SEEDS = (1, 2, 3)


def storm(seed: int, **overrides) -> dict:
    """R/R only (the EDA side is not what this checks): a 15 s backend outage from 60 s, run to 300 s."""
    p = RetryStormParams(seed=seed, **overrides)
    system = build_rr(retry_storm_spec(p), seed)
    system.inject(Down(target="backend", start=p.outage_start, end=p.outage_end))
    system.summary_hooks.append(lambda s, e: storm_keys(p)("rr", s, e))
    return system.run(p.until).summary


def test_retry_storm_stays_overloaded_after_the_outage_ends():
    # api near capacity (about 72% busy), clients retry twice on timeout: after the outage the queue is
    # full of requests nobody waits for any more, every new try times out and is retried, and the
    # load stays about 2.2 times what the api can serve. Qualitative and conservative on 3 seeds.
    for seed in SEEDS:
        s = storm(seed)
        assert s["ok_share_after"] < 0.2, seed  # in the last 100 s almost nothing succeeds
        assert math.isnan(s["recovery_time"]), seed  # the queue never empties again
        assert s["attempts_mean"] > 2.0 and s["wasted"] > 0.5, seed
    quiet = storm(1, outage_start=1.0, outage_end=1.001)  # the same load without the outage is healthy
    assert quiet["ok_share_after"] > 0.99 and quiet["timeouts"] == 0


@pytest.mark.parametrize("change", [dict(rate=10.0), dict(retries=0), dict(backoff="full_jitter", budget=0.1),
                                    dict(breaker=True)], ids=["lower_load", "no_retries", "backoff_budget",
                                                              "breaker"])
def test_lower_load_no_retries_budget_or_breaker_recover(change):
    for seed in SEEDS:
        s = storm(seed, **change)
        assert s["ok_share_after"] > 0.9, (change, seed)
        assert s["recovery_time"] < 120, (change, seed)


def test_retry_storm_experiment_shows_eda_draining_its_backlog():
    cmp = get("retry_storm")()
    rr, eda = cmp.results["rr"].summary, cmp.results["eda"].summary
    assert rr["ok_share_after"] < 0.2
    assert eda["ok_share_after"] == 1.0 and eda["done_share_after"] == 1.0
    assert eda["backlog_max"] > 200  # 15 s of orders waited in the subscription...
    assert eda["recovery_time"] < 10  # ...and drained within seconds of the outage's end


# -- Exponential Backoff And Jitter (AWS Architecture Blog, 2015) -----------------------------------


def test_no_jitter_finishes_last_and_full_jitter_makes_fewer_calls():
    for seed in SEEDS:
        table = get("backoff")(seed=seed).table()
        assert list(table.columns) == list(BACKOFFS)
        done = table.loc["completion_time"]
        calls = table.loc["calls"]
        assert (table.loc["ok", ["exponential", "full_jitter", "equal_jitter", "decorrelated_jitter"]] == 50).all()
        for jitter in ("full_jitter", "equal_jitter", "decorrelated_jitter"):
            assert done["exponential"] > 5 * done[jitter], (seed, jitter)
        assert calls["full_jitter"] < 0.5 * calls["exponential"], seed
        assert calls["exponential"] == 50 * 51 / 2  # lock-step: one winner per round
        assert table.loc["ok", "none"] == 1  # without retries only the first writer succeeds


def test_clients_that_gave_up_are_not_counted_as_finished():
    # 80 clients, 50 attempts each: fixed backoff lets one writer win per 0.01 s round, so 50 succeed and
    # 30 give up at 0.5 s. Their last answers came at 0.5 s, but the contention did not "finish" then.
    table = get("backoff")(clients=80, max_attempts=50).table()
    assert (table.loc["ok", "fixed"], table.loc["gave_up", "fixed"]) == (50, 30)
    assert math.isnan(table.loc["completion_time", "fixed"])
    assert table.loc["last_answer_time", "fixed"] == pytest.approx(0.5, abs=0.001)
    assert table.loc["gave_up", "full_jitter"] == 0
    assert table.loc["completion_time", "full_jitter"] == table.loc["last_answer_time", "full_jitter"] > 0.5
    assert table.loc["gave_up", "none"] == 79 and math.isnan(table.loc["completion_time", "none"])


# -- the experiments as the CLI and notebooks use them ---------------------------------------------


def test_comparison_experiments_are_registered_with_valid_sliders():
    for name in ("order_flow", "fanout", "retry_storm", "backoff"):
        exp = get(name)
        _check_sliders(exp.sliders, exp.defaults())


@pytest.mark.parametrize("cls, kwargs, name", [
    (OrderFlowParams, dict(rate=0.0), "rate"), (OrderFlowParams, dict(calls="async"), "calls"),
    (FanoutParams, dict(slow=0.001), "slow"), (FanoutParams, dict(leaves=0), "leaves"),
    (RetryStormParams, dict(until=80.0), "until"), (RetryStormParams, dict(backoff="none"), "backoff"),
    (RetryStormParams, dict(outage_end=50.0), "outage"), (RetryStormParams, dict(breaker=1), "breaker"),
    (BackoffParams, dict(cap=0.001), "cap"), (BackoffParams, dict(max_attempts=1), "max_attempts"),
])
def test_bad_experiment_parameters_name_the_parameter(cls, kwargs, name):
    with pytest.raises(ValueError, match=name):
        cls(**kwargs)


def test_cli_json_holds_one_summary_per_architecture(capsys):
    assert cli(["run", "order_flow", "--json", "--set", "until=20", "--set", "calls=parallel"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"rr", "eda", "experiment", "params"}
    assert out["params"]["calls"] == "parallel"
    assert out["rr"]["produced"] == out["eda"]["produced"] > 0
    assert "done_mean" in out["rr"] and "ok" in out["rr"] and "ok" not in out["eda"]


def test_order_flow_same_seed_same_table():
    a = get("order_flow")(until=30.0, seed=5).table()
    b = get("order_flow")(until=30.0, seed=5).table()
    pd.testing.assert_frame_equal(a, b)
    c = get("order_flow")(until=30.0, seed=6).table()
    assert a.loc["done_mean", "rr"] != c.loc["done_mean", "rr"]

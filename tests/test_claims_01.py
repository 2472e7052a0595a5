"""Notebook 01 (core difference): the sentences it says out loud, checked at its default settings.

Sample sizes: a default run places about 800 orders (20/s for 40 s); every comparison below is far
outside the noise of a sample that size (stated per test), and both architectures always see the same
orders and the same billing and audit times, so differences between them are not sampling noise.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from eda_sim.__main__ import main as cli
from eda_sim.experiments import get
from eda_sim.experiments.core_difference import (
    RHOS,
    CoreParams,
    ScalingParams,
    done_vs_answer,
    endpoint_held,
    load_sweep,
    measured_table,
    outage_run,
    scaling_sweep,
)
from eda_sim.service import service_records


@pytest.fixture(scope="module")
def core():
    return get("core_difference")()


def test_01_defaults_are_what_the_notebook_describes(core):
    p = core.params
    assert (p.rate, p.billing_time, p.audit_time, p.workers, p.calls, p.hop) == (20.0, 0.04, 0.02, 2, "sequential",
                                                                                   0.005)
    assert p.capacity == pytest.approx(50.0) and p.rho == pytest.approx(0.4)
    assert 700 < core.summary["rr"]["produced"] == core.summary["eda"]["produced"] < 900
    assert not core.comparison.bound_hit


def test_01_eda_client_wait_is_far_below_the_rr_client_wait(core):
    s = core.summary
    # The EDA client waits only for the broker's acknowledgement: exactly the 5 ms hop, for every order.
    assert s["eda"]["accept_p95"] == pytest.approx(core.params.hop, abs=1e-12)
    assert np.nanmax(core.client_wait("eda")) == pytest.approx(core.params.hop, abs=1e-12)
    # The R/R client waits for billing then audit: p95 about 150 ms (two exponential stages, about 0.06 s
    # mean; a p95 from 800 orders is good to about ±10%), so "far below" means 20 times here.
    assert s["rr"]["accept_p95"] > 20 * s["eda"]["accept_p95"]
    assert 0.12 < s["rr"]["accept_p95"] < 0.2


def test_01_accepted_is_not_done_done_comes_after_the_ack_for_every_order(core):
    wait, done = core.client_wait("eda"), core.done("eda")
    finished = ~np.isnan(done)
    assert finished.sum() > 0.99 * len(done)
    assert not np.isnan(wait[finished]).any()
    assert (done[finished] >= wait[finished]).all()
    # ...and the work takes far longer than the acknowledgement: p95 at least 10 times the ack.
    assert core.summary["eda"]["done_p95"] > 10 * core.summary["eda"]["accept_p95"]
    # In R/R the client's answer is the end of the work, order by order.
    assert np.allclose(core.client_wait("rr"), core.done("rr"), rtol=0, atol=1e-12, equal_nan=True)


def test_01_near_capacity_rr_latency_grows_sharply_while_the_eda_ack_stays_flat():
    sweep = load_sweep(CoreParams())
    near = RHOS.index(0.97)
    low = RHOS.index(0.1)
    rr, eda = sweep["rr"], sweep["eda"]
    assert rr["wait_p95"][near] > 3 * rr["wait_p95"][low]
    assert rr["wait_mean"][near] > 4 * rr["wait_mean"][low]
    assert np.all(np.diff(rr["wait_mean"]) > 0)  # same arrivals and draws scaled: a smooth, rising curve
    assert np.allclose(eda["wait_p95"], 0.005, rtol=0, atol=1e-12)  # flat, even past capacity
    # The queue did not go away: EDA's work done grows like R/R's client wait.
    assert eda["done_mean"][near] > 4 * eda["done_mean"][low]
    # Past capacity the broker still accepts every order, but both finish only about 50 per second.
    over = RHOS.index(1.2)
    assert eda["accepted_rate"][over] > 1.15 * sweep.capacity
    assert rr["throughput"][over] == pytest.approx(sweep.capacity, rel=0.05)
    assert eda["throughput"][over] == pytest.approx(sweep.capacity, rel=0.05)


def test_01_rr_mean_latency_matches_the_jackson_tandem_of_two_mmc_queues():
    # 10,000 orders at half of capacity: the mean of a sum of two M/M/2 sojourn times, standard error
    # under 1%; a start from empty costs little this far from capacity. Tolerance 4%.
    p = CoreParams(rate=25.0, orders=10_000)
    s = get("core_difference")(p).summary
    assert s["rr"]["latency_mean"] == pytest.approx(p.rr_latency_theory(), rel=0.04)


def test_01_the_measured_table_holds_the_experiments_numbers(core):
    table = measured_table()
    assert list(table.columns) == ["guide: R/R", "guide: EDA", "R/R", "EDA"]
    s = core.summary
    row = table.xs
    comm = row("Communication")
    assert comm.loc["client waits, p95 (ms)", "R/R"] == s["rr"]["accept_p95"] * 1e3
    assert comm.loc["client waits, p95 (ms)", "EDA"] == s["eda"]["accept_p95"] * 1e3
    assert comm.loc["work done (billing and audit), p95 (ms)", "R/R"] == s["rr"]["done_p95"] * 1e3
    assert comm.loc["work done (billing and audit), p95 (ms)", "EDA"] == s["eda"]["done_p95"] * 1e3
    down = outage_run(core.params).summary
    coupling = row("Coupling")
    assert coupling.loc["billing down 10 s: orders the client saw fail", "R/R"] == down["rr"]["errors"]
    assert coupling.loc["billing down 10 s: orders done by the end (%)", "EDA"] == down["eda"]["done_share"] * 100
    assert coupling.loc["billing down 10 s: work done, p99 (s)", "EDA"] == down["eda"]["done_p99"]
    # Data flow, counted independently: calls each R/R service received, and copies per EDA subscription.
    calls = service_records(core.results["rr"]).set_index("service")["calls"]
    flow = row("Data flow")
    assert flow.loc["messages the order producer sends per order", "R/R"] == pytest.approx(
        (calls["billing"] + calls["audit"]) / calls["orders"])
    assert flow.loc["copies of the order the handlers receive", "EDA"] == 2.0
    by_sub = core.results["eda"].by_subscription().set_index("subscription")["to_handle"]
    assert list(by_sub) == [s["eda"]["produced"]] * 2
    scaling = row("Scaling")
    assert scaling.loc["order-endpoint workers held, mean", "R/R"] == endpoint_held(core)
    # Little's law: workers held = orders per second × seconds each order holds one (the whole chain).
    assert endpoint_held(core) == pytest.approx(s["rr"]["offered"] * s["rr"]["latency_mean"], rel=0.02)


def test_01_a_billing_outage_fails_rr_orders_and_only_delays_eda_ones(core):
    down = outage_run(core.params).summary
    assert down["rr"]["errors"] == pytest.approx(200, rel=0.15)  # about 20/s for 10 s
    assert down["rr"]["done_share"] < 0.8
    assert down["eda"]["dropped"] == 0 and down["eda"]["done_share"] > 0.99
    assert down["eda"]["done_p99"] > 5.0 > 1.0 > down["rr"]["done_p99"]


def test_01_where_it_breaks_eda_done_is_slower_than_parallel_rr_by_exactly_the_hop():
    table = done_vs_answer()
    # Sequential R/R adds billing and audit; EDA's subscriptions work at the same time: EDA done first.
    assert (table.loc["sequential", "EDA − R/R (ms)"] < 0).all()
    # Parallel R/R does the same work in the same queues; EDA sees each order one hop later.
    assert np.allclose(table.loc["parallel", "EDA − R/R (ms)"], 5.0, atol=1e-6)
    run = get("core_difference")(calls="parallel", rate=2.0)
    diff = run.done("eda") - run.done("rr")
    diff = diff[~np.isnan(diff)]
    assert len(diff) > 700 and np.allclose(diff, 0.005, rtol=0, atol=1e-9)


def test_01_scaling_both_need_the_same_billing_capacity_only_rr_clients_feel_the_shortage():
    result = scaling_sweep(ScalingParams())
    p = result.params
    assert (result.needed("rr"), result.needed("eda")) == (3.0, 3.0)  # 60 orders/s × 0.04 s = 2.4 busy
    assert np.allclose(result.sweep["eda"]["wait_p95"], p.hop, rtol=0, atol=1e-12)  # every k
    assert result.at("rr", "wait_p95", 1) > 2.0  # one billing worker: R/R clients wait seconds
    assert result.at("eda", "done_p95", 1) > 2.0  # ...and EDA's work waits as long: a backlog
    # With 4 endpoint workers R/R keeps up but holds nearly all of them: its p95 stays twice EDA's work done.
    assert result.at("rr", "endpoint_busy", 8) > 3.5
    assert result.at("rr", "wait_p95", 8) > 1.8 * result.at("eda", "done_p95", 8)
    bigger = scaling_sweep(dataclasses.replace(p, endpoint_workers=8))
    assert bigger.at("rr", "wait_p95", 8) < 1.3 * result.at("eda", "done_p95", 8)
    # Two endpoint workers cap R/R at 2 / (billing + audit time) = 33 orders/s, however many billing workers.
    small = scaling_sweep(dataclasses.replace(p, endpoint_workers=2))
    assert small.at("rr", "throughput", 8) == pytest.approx(2 / 0.06, rel=0.05)
    assert small.at("eda", "throughput", 8) == pytest.approx(p.rate, rel=0.03)


def test_01_with_no_hop_it_is_exactly_the_order_flow_experiment():
    p = CoreParams(hop=0.0)
    mine = get("core_difference")(p).table()
    theirs = get("order_flow")(rate=p.rate, until=p.until).table()
    pd.testing.assert_frame_equal(mine, theirs)


@pytest.mark.parametrize("cls, kwargs, name", [
    (CoreParams, dict(rate=0.0), "rate"), (CoreParams, dict(hop=-0.1), "hop"), (CoreParams, dict(orders=10), "orders"),
    (CoreParams, dict(calls="async"), "calls"), (ScalingParams, dict(billing_instances=9), "billing_instances"),
    (ScalingParams, dict(endpoint_workers=0), "endpoint_workers"),
])
def test_01_bad_parameters_name_the_parameter(cls, kwargs, name):
    with pytest.raises(ValueError, match=name):
        cls(**kwargs)


@pytest.mark.parametrize("name", ["core_difference", "core_load", "core_scaling"])
def test_01_experiments_run_from_the_command_line(name, capsys):
    assert cli(["run", name, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rr"]["produced"] == out["eda"]["produced"] > 0

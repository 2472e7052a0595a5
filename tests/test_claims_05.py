"""Notebook 05 (architectural flexibility): its headline claims, checked at the default settings.

Each test is a sentence the notebook says. Tolerances are stated where a number is random; most claims
here are exact, because the variants run on the same seed and the same random streams.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from eda_sim.experiments import flexibility as fx
from eda_sim.experiments import get


# -- (a) consumers join and leave; the producer is untouched --------------------------------------------
@pytest.fixture(scope="module")
def scaling():
    return get("scaling")()


def test_05_adding_consumers_does_not_touch_the_producer(scaling):
    fixed, scaled = scaling.results["fixed"], scaling.results["scaled"]
    assert fixed.summary["produced"] == scaled.summary["produced"] > 1000
    assert scaling.same_orders()  # the same orders at the same times
    assert fixed.summary["accept_mean"] == scaled.summary["accept_mean"] == 0.0  # nobody waited to publish


def test_05_adding_consumers_drains_the_lag(scaling):
    p = scaling.params
    assert scaling.peak_lag("scaled") < 0.5 * scaling.peak_lag("fixed")
    # drained within 15 s of the flash sale's end; the single consumer still has a backlog at the end
    assert scaling.drained_at("scaled") < p.spike_start + p.spike_length + 15
    assert np.isnan(scaling.drained_at("fixed")) and scaling.lag("fixed")[1][-1] > 100
    assert scaling.results["scaled"].summary["completed"] > scaling.results["fixed"].summary["completed"]


def test_05_fluid_model_predicts_the_peak_lag(scaling):
    # Poisson arrivals and exponential service wobble around the fluid line; 20 % covers it at this size.
    for variant in ("fixed", "scaled"):
        assert scaling.peak_lag(variant) == pytest.approx(scaling.fluid(variant)[1].max(), rel=0.2)


def test_05_rebalances_redo_uncommitted_work_as_duplicates(scaling):
    assert scaling.results["scaled"].summary["duplicates"] == 0  # commit after every order
    lazy = get("scaling")(commit_every=60)
    s = lazy.results["scaled"].summary
    rebalances = lazy.results["scaled"].system.components["billing"].rebalances - 1  # the first is the start
    # each rebalance redoes what was processed since the last commit: fewer than commit_every orders
    assert 0 < s["duplicates"] <= rebalances * (60 - 1)
    assert s["completed"] + s["in_flight"] == s["produced"] and s["dropped"] == 0  # nothing lost


def test_05_consumers_beyond_the_partition_count_change_nothing():
    six, eight = get("scaling")(consumers=6), get("scaling")(consumers=8)
    np.testing.assert_array_equal(six.lag("scaled")[1], eight.lag("scaled")[1])


# -- (b) replay from the log vs a backfill through the API -----------------------------------------------
@pytest.fixture(scope="module")
def replay():
    return get("replay")()


def test_05_replay_gets_all_history_without_a_single_database_read(replay):
    assert replay.history == replay.retained > 250  # default retention keeps everything
    assert len(replay.history_times("eda")) == replay.history
    assert replay.extra_reads("eda") == 0
    assert replay.db_reads("eda") == replay.lookups_done("eda")


def test_05_the_backfill_adds_exactly_one_read_per_past_order(replay):
    assert len(replay.backfill_done) == replay.history
    assert replay.extra_reads("rr") == replay.history
    assert replay.db_reads("rr") == replay.lookups_done("rr") + replay.history


def test_05_the_backfill_slows_the_customers_down(replay):
    start, end = replay.backfill_window()
    during_rr = replay.mean_lookup_latency("rr", start, end)
    during_eda = replay.mean_lookup_latency("eda", start, end)
    assert during_rr > 1.3 * during_eda
    # Before the new service starts both runs are one and the same; about 240 lookups: within 15 % of M/M/2.
    assert replay.mean_lookup_latency("rr", 0, start) == replay.mean_lookup_latency("eda", 0, start)
    assert replay.mean_lookup_latency("eda", 0, start) == pytest.approx(replay.theory_latency(False), rel=0.15)
    # The backfill lasts ~30 s from an empty queue, so it stays under the steady-state M/M/2 value.
    assert during_rr < replay.theory_latency(True)


def test_05_retention_limits_how_far_back_a_replay_goes():
    short = get("replay")(retention=30.0)
    assert short.retained < 0.6 * short.history
    # Replaying at the edge of retention races the deletion: what the log deletes first is lost (dropped).
    assert len(short.history_times("eda")) + short.results["eda"].summary["dropped"] == short.retained
    assert short.results["eda"].summary["dropped"] <= 5
    assert len(short.history_times("rr")) == short.history  # the database kept everything


# -- (c) backpressure: each overflow policy does what it says ---------------------------------------------
@pytest.fixture(scope="module")
def policies():
    return {policy: r.numbers() for policy, r in fx.compare_policies(get("backpressure").defaults()).items()}


def test_05_reject_loses_orders_and_never_holds_the_producer(policies):
    assert policies["reject"]["lost"] > 0 and policies["reject"]["producer_wait_max_s"] == 0


def test_05_drop_oldest_loses_about_as_many_but_keeps_the_fresher_ones(policies):
    assert policies["drop_oldest"]["lost"] > 0 and policies["drop_oldest"]["producer_wait_max_s"] == 0
    assert policies["drop_oldest"]["lost"] == pytest.approx(policies["reject"]["lost"], rel=0.05)
    assert policies["drop_oldest"]["latency_p95_s"] < policies["reject"]["latency_p95_s"]


def test_05_block_loses_nothing_and_moves_the_wait_to_the_producer(policies):
    block, unbounded = policies["block"], policies["unbounded"]
    assert block["lost"] == 0 and block["producer_wait_max_s"] > 10
    assert block["peak_queue"] == get("backpressure").defaults().capacity
    # The consumer sees the same orders in the same order: the backlog and latency are unbounded's.
    assert block["peak_backlog"] == unbounded["peak_backlog"]
    assert block["latency_p95_s"] == unbounded["latency_p95_s"]
    assert unbounded["lost"] == 0 and unbounded["peak_queue"] > 2 * block["peak_queue"]


def test_05_losses_follow_the_fluid_estimate():
    p = get("backpressure").defaults()
    lost = fx.compare_policies(p)["reject"].numbers()["lost"]
    assert lost == pytest.approx(p.fluid_peak() - p.capacity - p.prefetch, rel=0.2)


def test_05_a_queue_as_big_as_the_unbounded_peak_loses_nothing():
    p = get("backpressure").defaults()
    peak = int(fx.compare_policies(p)["unbounded"].numbers()["peak_queue"])
    assert get("backpressure")(policy="reject", capacity=peak).numbers()["lost"] == 0
    assert get("backpressure")(policy="reject", capacity=peak - 1).numbers()["lost"] > 0


# -- (d) partitions cap a group's parallelism --------------------------------------------------------------
@pytest.fixture(scope="module")
def sweep():
    return fx.throughput_vs_consumers(get("partitions").defaults())


def test_05_throughput_plateaus_at_the_partition_count(sweep):
    p = get("partitions").defaults()
    log = sweep["log_throughput"]
    assert np.all(log[p.partitions - 1:] == log[p.partitions - 1])  # exactly flat past the partition count
    # ~600 completions in 10 s: within 5 % of partitions / service time
    assert log[p.partitions - 1] == pytest.approx(p.partitions / p.service_mean, rel=0.05)
    assert np.all(np.diff(log[: p.partitions]) > 0)
    assert sweep["queue_throughput"][-1] > 1.8 * log[-1]


def test_05_extra_consumers_of_the_group_sit_idle():
    r = get("partitions")()
    owned = r.partitions_per_consumer()
    assert sum(k == 0 for k in owned) == r.params.consumers - r.params.partitions
    assert sum(owned) == r.params.partitions


def test_05_only_the_log_keeps_per_key_order(sweep):
    assert np.all(sweep["log_out_of_order"] == 0)
    assert np.all(sweep["queue_out_of_order"][2:] > 0)


def test_05_the_sweep_system_matches_single_runs():
    # The panel reads every size from one system per broker; each group there must process exactly as a
    # system with only that group does.
    p = get("partitions").defaults()
    sweep = fx.throughput_vs_consumers(p)
    for n in (1, 4, 9):
        result = get("partitions")(consumers=n)
        for broker in ("log", "queue"):
            single = result.results[broker].summary["completed"] / p.until
            assert single == sweep[f"{broker}_throughput"][n - 1] == result.throughput(broker)
        group = result.results["log"].system.components["workers"]
        assert [len(m.partitions) for m in group.members] == result.partitions_per_consumer()


# -- where it breaks: a bug-fix replay -----------------------------------------------------------------------
def test_05_a_bugfix_replay_processes_every_replayed_order_twice():
    n = get("bugfix")().numbers()
    assert n["orders_hit_by_the_bug"] > 250
    assert n["duplicates"] == n["reprocessed"] == n["orders_hit_by_the_bug"]
    assert n["could_not_be_replayed"] == 0


def test_05_retention_shorter_than_the_bug_leaves_orders_unfixable():
    p = replace(get("bugfix").defaults(), retention=30.0)
    n = get("bugfix")(p).numbers()
    assert n["reprocessed"] < n["orders_hit_by_the_bug"]
    # The rewind reaches the retention horizon, so the oldest rewound order can expire before it is read
    # again (retention is checked every 3 s, not only at appends): one of the 160 here.
    assert n["reprocessed"] - 2 <= n["duplicates"] <= n["reprocessed"]
    assert n["could_not_be_replayed"] == pytest.approx(n["orders_hit_by_the_bug"] / 2, rel=0.25)


@pytest.mark.parametrize("name, overrides, message", [
    ("scaling", {"join_at": 500.0}, "join_at must be in"),
    ("replay", {"join_at": 0.0}, "join_at must be in"),
    ("backpressure", {"policy": "drop"}, "policy must be one of"),
    ("partitions", {"consumers": 0}, "consumers must be an integer in"),
    ("bugfix", {"fixed_at": 10.0}, "fixed_at must be in"),
])
def test_05_bad_parameters_name_the_parameter_and_its_range(name, overrides, message):
    with pytest.raises(ValueError, match=message):
        get(name).make_params(**overrides)

"""Notebook 07 (the costs of EDA): the sentences it says out loud, checked at the default settings.

Each experiment is small (a few hundred to two thousand messages), so tolerances are stated next to the
sample they apply to. Exact claims (nothing lost, nothing reordered, no duplicates) are checked exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from eda_sim.experiments import get
from eda_sim.experiments.costs import (
    REACTORS,
    MonitoringParams,
    check_lag_threshold,
    count_parts,
    out_of_order,
    run_ordering_broker,
)


# -- 1. broker outage and slowdown ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def outage():
    return get("costs_outage")()


def test_buffered_outage_loses_nothing_and_each_order_waits_for_the_rest_of_the_outage(outage):
    p = outage.params
    s = outage.results["buffer"].summary
    assert s["dropped"] == 0 and s["completed"] + s["in_flight"] == s["produced"]
    created, waits = outage.accept_waits("buffer")
    inside = outage.in_outage("buffer")
    assert inside.sum() >= 40  # 5 orders/s for 10 s: about 50 orders in the window
    # Accepted when the broker returns, plus one publish latency (at most 1.5 x 5 ms): wait = end - t.
    np.testing.assert_allclose(waits[inside], p.outage_end - created[inside], atol=1.5 * p.publish_latency + 1e-9)
    # Outside the window (and away from its edges) a publish takes its usual few milliseconds.
    calm = (created < p.outage_start - 0.01) | (created > p.outage_end)
    assert waits[calm].max() <= 1.5 * p.publish_latency + 1e-9


def test_dropping_outage_loses_every_order_published_during_it(outage):
    p = outage.params
    created, _ = outage.accept_waits("drop")
    inside = outage.in_outage("drop")
    dropped = outage.dropped_times("drop")
    assert inside.sum() > 0 and set(created[inside]) <= set(dropped)
    # Only an order whose publish was still in flight (at most 7.5 ms) when the broker went down joins them.
    assert dropped.min() >= p.outage_start - 1.5 * p.publish_latency and dropped.max() < p.outage_end
    assert outage.results["drop"].summary["dropped"] == len(dropped)


def test_slow_broker_multiplies_the_publish_wait_and_loses_nothing(outage):
    p = outage.params
    _, waits = outage.accept_waits("slow")
    inside = outage.in_outage("slow")
    assert outage.results["slow"].summary["dropped"] == 0
    # Uniform(2.5, 7.5) ms x 20 over ~50 orders: mean 100 ms with a standard error of about 4 ms.
    assert waits[inside].mean() == pytest.approx(p.slow_factor * p.publish_latency, rel=0.15)


def test_buffered_orders_reach_billing_late(outage):
    assert outage.results["buffer"].summary["latency_p99"] > 5 * outage.results["drop"].summary["latency_p99"]


# -- 2. at-least-once delivery ------------------------------------------------------------------------
@pytest.mark.parametrize("broker", ["queue", "log"])
def test_crashes_with_batched_acks_duplicate_work_and_acking_each_message_does_not(broker):
    r = get("costs_duplicates")(broker=broker)
    assert r.counts("each")["duplicates"] == 0
    assert r.counts("batch")["duplicates"] > 0
    for variant in ("each", "batch"):
        c = r.counts(variant)
        assert c["charges_with_idempotency_key"] == c["orders_paid"]
        assert c["charges_without_idempotency"] == c["orders_paid"] + c["duplicates"]


def test_a_work_queue_crash_repeats_at_most_k_minus_one_payments():
    for k in (2, 5, 10, 20):
        r = get("costs_duplicates")(batch=k)
        assert r.counts("batch")["duplicates"] <= 3 * (k - 1)  # three crashes of one consumer


def test_a_log_rebalance_redoes_more_than_the_crashed_consumer_s_work():
    queue, log = get("costs_duplicates")(), get("costs_duplicates")(broker="log")
    assert log.counts("batch")["duplicates"] > queue.counts("batch")["duplicates"]


# -- 3. ordering --------------------------------------------------------------------------------------
def test_competing_consumers_reorder_same_key_messages_and_the_log_never_does():
    r = get("costs_ordering")()
    late, n = r.out_of_order("queue")
    assert n > 700 and late / n > 0.02  # 47 of 796 at the defaults
    for seed in (1, 2, 3):
        for consumers in (2, 4, 8):
            res = get("costs_ordering")(consumers=consumers, seed=seed)
            assert res.out_of_order("log")[0] == 0


def test_one_consumer_keeps_the_queue_in_order():
    assert get("costs_ordering")(consumers=1).out_of_order("queue")[0] == 0


def test_ordering_costs_latency():
    r = get("costs_ordering")()
    assert r.results["log"].summary["latency_p95"] > 2 * r.results["queue"].summary["latency_p95"]


def test_out_of_order_counts_a_later_message_finishing_first():
    # The vectorised count agrees with the definition applied one message at a time (two consumers, one key).
    p = get("costs_ordering").make_params(consumers=2, keys=1, rate=20.0, until=5.0)
    res = run_ordering_broker(p, "queue")
    late, n = out_of_order(res, "status-events")
    status = res.records()
    done = status[status.status == "completed"].sort_values("message")["done"].to_numpy()
    expected = int(sum(done[i] < done[:i].max() for i in range(1, len(done))))
    assert (late, n) == (expected, len(done))


# -- 4. eventual consistency --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def consistency():
    return get("costs_consistency")()


def test_staleness_falls_from_one_to_about_zero_by_the_p99(consistency):
    windows = consistency.windows()
    assert len(windows) > 800
    assert consistency.stale_probability(0.0)[0] == 1.0
    p99 = np.percentile(windows, 99)
    assert consistency.stale_probability(p99)[0] <= 0.011
    assert consistency.stale_probability(2 * p99)[0] == 0.0


def test_staleness_follows_the_mm1_closed_form(consistency):
    # ~940 orders: the standard error of a share near 0.22 is about 0.014 (more, as they are correlated).
    for d in (0.1, 0.25, 0.5):
        assert consistency.stale_probability(d)[0] == pytest.approx(consistency.theory_stale(d)[0], abs=0.05)


def test_rr_never_stale_but_the_writer_waits_exactly_as_long(consistency):
    assert np.array_equal(np.sort(consistency.rr_waits()), np.sort(consistency.windows()))
    assert consistency.eda_waits().max() == 0.0


# -- 5. monitoring ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def monitoring():
    return get("costs_monitoring")()


def test_both_alerts_fire_during_the_default_bad_deploy_and_not_before(monitoring):
    p = monitoring.params
    assert monitoring.normal_lag_max() < p.lag_threshold
    assert p.fault_start < monitoring.lag_alert_time() < p.fault_end
    assert p.fault_start < monitoring.dlq_alert_time() < p.fault_end


def test_lag_and_dead_letters_follow_the_fluid_model(monitoring):
    _, lag, dead = monitoring.series()
    assert lag.max() == pytest.approx(monitoring.theory_lag(monitoring.params.fault_end), rel=0.2)
    # Dead letters are a thinned Poisson count with mean ~11.7: allow three standard deviations.
    expected = float(monitoring.theory_dead_letters(monitoring.params.until))
    assert abs(dead[-1] - expected) <= 3 * math.sqrt(expected)


def test_failures_without_slowdown_only_show_as_dead_letters():
    r = get("costs_monitoring")(slow_factor=1.0)
    assert math.isnan(r.lag_alert_time())
    assert r.result.summary["dead_lettered"] > 0 and not math.isnan(r.dlq_alert_time())
    quiet = get("costs_monitoring")(slow_factor=1.0, fail_fraction=0.1)
    assert quiet.result.summary["failed"] > 0 and quiet.result.summary["dead_lettered"] == 0
    assert math.isnan(quiet.lag_alert_time()) and math.isnan(quiet.dlq_alert_time())


def test_threshold_exercise_accepts_the_stated_range():
    assert check_lag_threshold(12)[0] and check_lag_threshold(167)[0]
    assert not check_lag_threshold(11)[0] and not check_lag_threshold(168)[0]
    assert not check_lag_threshold("ten")[0]
    with pytest.raises(ValueError, match="lag_threshold"):
        MonitoringParams(lag_threshold=0)


# -- 6. moving parts and hops -------------------------------------------------------------------------
@pytest.mark.parametrize("n", range(1, len(REACTORS) + 1))
def test_eda_has_more_moving_parts_and_one_more_round_trip(n):
    r = get("costs_parts")(reactors=n)
    rr, eda = r.facts("rr"), r.facts("eda")
    assert rr["moving parts (client excluded)"] == n + 2  # order service, n services, database
    assert eda["moving parts (client excluded)"] == 3 * n + 4  # + publisher, broker, n x (queue, DLQ, consumer)
    # Round trips per order, measured over ~100 orders (a few still in flight at the end).
    assert rr["network round trips per order"] == pytest.approx(n + 2, abs=0.15)
    assert eda["network round trips per order"] == pytest.approx(n + 3, abs=0.15)
    assert count_parts(r.results["rr"].system)["broker"] == 0


def test_plain_crud_is_simpler_with_request_response():
    r = get("costs_parts")(reactors=1)
    assert r.facts("rr")["moving parts (client excluded)"] == 3
    assert r.facts("eda")["moving parts (client excluded)"] == 7
    assert r.facts("rr")["asynchronous hand-offs per order (trace must be stitched)"] == 0


def test_exercise_one_answer_covers_theory_and_the_run(consistency):
    # The notebook accepts 0.5 s ± 0.06: the closed form W ln 20 and this run's 95th percentile both fit.
    p = consistency.params
    w = 1 / (1 / p.service_mean - p.rate)
    assert abs(w * math.log(20) - 0.5) <= 0.06
    assert abs(np.percentile(consistency.windows(), 95) - 0.5) <= 0.06

"""Notebook 06 (when to use what): its headline claims, checked at the default settings.

Each test is a sentence the notebook says. The scorecard is the default quick grid (5 rows, seeds 1–3,
both architectures, a healthy run and a run with a 5 s outage each); paired claims ("R/R answers
faster") are checked seed by seed, since both architectures see the same arrivals and work times.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from eda_sim.experiments import get
from eda_sim.experiments import use_cases as uc
from eda_sim.sweep import sweep

SEEDS = [1, 2, 3, 4, 5]


@pytest.fixture(scope="module")
def card():
    return get("scorecard")()


@pytest.fixture(scope="module")
def runs():
    """Per-seed values of every criterion, every row, both architectures (5 seeds, in this process)."""
    return sweep("use_case", {"case": list(uc.CASES)}, seeds=SEEDS, metrics=list(uc.METRICS), executor="serial",
                 progress=False, raw=True)


def per_seed(runs, case, key):
    rows = runs[runs.case == case]
    return {arch: rows[rows.variant == arch].set_index("seed")[key] for arch in uc.ARCHS}


# -- the rows ----------------------------------------------------------------------------------------------
def test_06_crud_rr_answers_sooner_with_fewer_parts(runs, card):
    t = per_seed(runs, "crud", "time_s")
    assert (t["rr"] < t["eda"]).all()  # every seed: one hop beats publish + consume + reply
    gap = t["eda"] - t["rr"]
    assert (gap < 0.010).all()  # but by less than 10 ms at p95: "EDA is about 5 ms slower"
    assert card.stat("crud", "rr", "time_s") == pytest.approx(0.019, abs=0.003)
    assert card.stat("crud", "eda", "time_s") == pytest.approx(0.024, abs=0.003)
    assert card.stat("crud", "rr", "moving_parts") == 2 and card.stat("crud", "eda", "moving_parts") == 5


def test_06_crud_outage_hurts_both_alike(runs):
    s = per_seed(runs, "crud", "outage_share")
    for arch in uc.ARCHS:  # 5 s down out of 50 judged seconds: about a tenth of the requests fail
        assert ((s[arch] > 0.85) & (s[arch] < 0.95)).all()
    assert (abs(s["rr"] - s["eda"]) < 0.03).all()


def test_06_eda_wins_the_burst_on_work_done(runs, card):
    done = per_seed(runs, "async", "done_share")
    assert (done["eda"] == 1.0).all()  # the queue absorbs the burst and drains it
    assert ((done["rr"] > 0.75) & (done["rr"] < 0.95)).all()  # it refuses part of every burst
    outage = per_seed(runs, "async", "outage_share")
    assert (outage["eda"] == 1.0).all() and (outage["rr"] < done["rr"]).all()
    assert card.stat("async", "rr", "done_share") == pytest.approx(0.84, abs=0.02)
    assert card.stat("async", "rr", "outage_share") == pytest.approx(0.77, abs=0.02)
    assert card.stat("async", "eda", "time_s") == pytest.approx(5.4, abs=0.5)
    assert card.stat("async", "rr", "time_s") > 35  # lost jobs count as not done by the end


def test_06_eda_wins_notifications_on_detection_delay(runs, card):
    t = per_seed(runs, "notify", "time_s")
    assert (t["eda"] < 0.3).all() and (t["rr"] > 3.0).all()
    # p95 of fixed polling every T is 0.95 T (plus a little processing); 3 seeds of ~100 events each
    assert card.stat("notify", "rr", "time_s") == pytest.approx(0.95 * 4.0, rel=0.1)
    assert card.stat("notify", "eda", "time_s") == pytest.approx(0.05 * math.log(20), rel=0.25)
    assert card.stat("notify", "rr", "source_requests") == pytest.approx(1 + 1 / (2 * 4.0), abs=0.02)


def test_06_integration_numbers(card):
    assert card.stat("integration", "rr", "time_s") == pytest.approx(0.13, abs=0.02)
    assert card.stat("integration", "eda", "time_s") < 0.01
    assert card.stat("integration", "rr", "source_requests") == pytest.approx(5.0, abs=0.02)
    assert card.stat("integration", "eda", "source_requests") == 1.0
    assert card.stat("integration", "rr", "outage_share") == pytest.approx(0.9, abs=0.03)
    assert card.stat("integration", "eda", "outage_share") == 1.0
    assert card.stat("integration", "rr", "moving_parts") == 6 and card.stat("integration", "eda", "moving_parts") == 11


def test_06_batch_numbers(card):
    assert card.stat("batch", "rr", "time_s") == pytest.approx(9.0, rel=0.1)  # 300 × (10 ms + 20 ms)
    assert card.stat("batch", "eda", "time_s") == pytest.approx(6.0, rel=0.1)  # 300 × 20 ms
    assert card.stat("batch", "rr", "source_requests") == 2.0 and card.stat("batch", "eda", "source_requests") == 1.0
    for arch in uc.ARCHS:  # the patient backfill and the replay both get everything, outage or not
        assert card.stat("batch", arch, "done_share") == card.stat("batch", arch, "outage_share") == 1.0


def test_06_closed_forms_match_the_measurements(card):
    table = uc.closed_forms(card)
    assert len(table) == 8
    assert np.allclose(table.measured, table.theory, rtol=0.1)


# -- the scorecard ----------------------------------------------------------------------------------------
def test_06_at_equal_weights_the_guide_wins_every_row(card):
    assert [card.winner(c) for c in uc.CASES] == ["rr", "eda", "eda", "eda", "eda"]
    assert all(card.agrees(c) for c in uc.CASES)
    margins = [card.margin(c) for c in uc.CASES]
    assert min(margins) > 0.1 and max(margins) < 0.3  # "by margins of 0.1 to 0.3"


def test_06_only_simplicity_makes_rr_win_every_row(card):
    only = get("scorecard")(w_speed=0.0, w_throughput=0.0, w_resilience=0.0, w_load=0.0, w_simplicity=5.0)
    assert all(only.winner(c) == "rr" for c in uc.CASES)
    assert not any(only.agrees(c) for c in uc.CASES[1:])


def test_06_only_speed_makes_eda_win_all_but_crud():
    only = get("scorecard")(w_throughput=0.0, w_resilience=0.0, w_load=0.0, w_simplicity=0.0)
    assert [only.winner(c) for c in uc.CASES] == ["rr", "eda", "eda", "eda", "eda"]


def test_06_weighted_score_is_the_weighted_mean_of_the_scores(card):
    weights = {"speed": 2.0, "throughput": 0.5, "resilience": 0.0, "load": 3.0, "simplicity": 1.0}
    other = get("scorecard")(**{f"w_{k}": w for k, w in weights.items()})
    for case in uc.CASES:
        for arch in uc.ARCHS:
            s = card.scores[case][arch]
            expected = sum(weights[k] * s[k] for k in weights) / sum(weights.values())
            assert other.weighted[case][arch] == pytest.approx(expected, abs=1e-12)


def test_06_scores_follow_the_documented_rule(card):
    for case in uc.CASES:
        for name, c in uc.CRITERIA.items():
            values = {arch: card.stat(case, arch, c.key) for arch in uc.ARCHS}
            for arch in uc.ARCHS:
                expected = values[arch] if c.kind == "share" else min(values.values()) / values[arch]
                assert card.scores[case][arch][name] == pytest.approx(expected, abs=1e-12)


def test_06_scorecard_numbers_are_the_sweeps_means(card):
    direct = sweep("use_case", {"case": list(uc.CASES)}, seeds=[1, 2, 3], metrics=list(uc.METRICS),
                   executor="serial", progress=False)
    for row in direct.itertuples():
        assert card.stat(row.case, row.variant, row.metric) == row.mean
        assert card.stat(row.case, row.variant, row.metric, "ci_high") == row.ci_high or math.isnan(row.ci_high)


def test_06_moving_a_weight_or_the_detail_runs_nothing(card):
    before = uc.measured_grid.cache_info()
    get("scorecard")(w_speed=4.5, detail="batch")
    after = uc.measured_grid.cache_info()
    assert after.misses == before.misses and after.hits == before.hits + 1


def test_06_exercise_break_even(card):
    w = uc.break_even(card, "notify", "simplicity")
    assert w == pytest.approx(2.13, abs=0.1)
    tie = uc.weighted_scores(card.scores, {**card.params.weights, "simplicity": w})["notify"]
    assert tie["rr"] == pytest.approx(tie["eda"], abs=1e-12)
    assert get("scorecard")(w_simplicity=2.0).winner("notify") == "eda"
    assert get("scorecard")(w_simplicity=2.5).winner("notify") == "rr"  # the exercise's answer


def test_06_one_change_flips_each_row():
    flips = uc.flips()
    assert (flips.winner_default == "EDA").all() and (flips.winner_changed == "R/R").all()
    long_poll = flips.loc[next(k for k in flips.index if "long-polls" in k)]
    assert abs(long_poll.rr_changed - long_poll.eda_changed) < 0.02  # "the two draw level"


def test_06_long_polling_reacts_like_push():
    r = get("use_case")(case="notify", polling="long")
    assert r.results["rr"].summary["time_s"] == r.results["eda"].summary["time_s"]  # same events, same work
    assert 1.7 < r.results["rr"].summary["source_requests"] < 2.0  # about one poll per event


def test_06_short_retention_limits_the_replay():
    r = get("use_case")(case="batch", retention=10.0)
    assert 0.3 < r.results["eda"].summary["done_share"] < 0.45  # "about a third"
    assert r.results["rr"].summary["done_share"] == 1.0


# -- the model ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", uc.CASES)
def test_06_both_architectures_see_the_same_arrivals(case):
    r = get("use_case")(case=case, seed=4)
    a, b = (r.results[arch].healthy.system.messages for arch in uc.ARCHS)
    assert a.count == b.count > 100
    np.testing.assert_array_equal(np.frombuffer(a.created, count=a.count), np.frombuffer(b.created, count=b.count))


def test_06_same_seed_same_numbers():
    assert get("use_case")(case="integration", seed=9).summary == get("use_case")(case="integration", seed=9).summary


def test_06_no_outage_means_the_outage_share_is_the_healthy_one():
    r = get("use_case")(case="async", outage=0.0)
    for m in r.results.values():
        assert m.faulted is None and m.summary["outage_share"] == m.summary["done_share"]


def test_06_moving_parts_count_services_once():
    r = get("use_case")(case="integration", services=2)
    assert r.results["rr"].parts == {"services": 3, "brokers": 0, "queues": 0, "consumer services": 0,
                                     "databases": 1}
    assert r.results["eda"].parts == {"services": 1, "brokers": 1, "queues": 2, "consumer services": 2,
                                      "databases": 1}


@pytest.mark.parametrize("bad, name", [
    (dict(case="graphql"), "case"), (dict(load=0.0), "load"), (dict(outage=-1.0), "outage"),
    (dict(services=9), "services"), (dict(polling="sometimes"), "polling"), (dict(retention=0.0), "retention"),
])
def test_06_bad_use_case_parameters_name_themselves(bad, name):
    with pytest.raises(ValueError, match=name):
        uc.UseCaseParams(**bad)


@pytest.mark.parametrize("bad, name", [
    (dict(w_speed=6.0), "w_speed"), (dict(precision="exact"), "precision"), (dict(detail="crm"), "detail"),
    (dict(w_speed=0.0, w_throughput=0.0, w_resilience=0.0, w_load=0.0, w_simplicity=0.0), "weights"),
    (dict(load=5.0), "load"),
])
def test_06_bad_scorecard_parameters_name_themselves(bad, name):
    with pytest.raises(ValueError, match=name):
        replace(uc.ScorecardParams(), **bad)

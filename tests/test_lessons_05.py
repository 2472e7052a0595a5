"""Notebook 05 (architectural flexibility): its questions, checks and quoted numbers against the
simulation, and its learner's path (nothing spoiled before a prediction, a core path of at most 35
minutes, parts C and D as optional deep dives)."""

from __future__ import annotations

import pathlib

import pytest

from eda_sim.experiments import get
from eda_sim.experiments.flexibility import throughput_vs_consumers
from eda_sim.lab.exercises import HELD_BACK
from eda_sim.lab.views import flexibility

from .lesson_time import answers_in_code, estimate, held_back_words, stated_minutes

NOTEBOOK = pathlib.Path(__file__).parent.parent / "notebooks" / "05_flexibility.ipynb"
HELD = {"830acf32": "scaling", "7d91e94b": "replay", "997106a0": "backpressure", "e8aa75f7": "partitions"}
ANSWERS = {"scaling": "nothing: it publishes the same orders at the same times", "replay": "0",
           "backpressure": "the producer is made to wait", "partitions": "about 60/s"}


def test_05_no_answer_in_a_code_cell():
    assert not answers_in_code(NOTEBOOK)


def test_05_core_path_fits_one_sitting_and_says_how_long():
    t = estimate(NOTEBOOK, {cell: held_back_words(flexibility.explanation(key)()) for cell, key in HELD.items()})
    core, deep = stated_minutes(NOTEBOOK)
    assert t["core"] <= 35 and abs(t["core"] - core) <= 2, t
    assert len(t["deep dives"]) == 2
    for title, (minutes, announced) in t["deep dives"].items():
        assert abs(minutes - announced) <= 1.5, (title, minutes, announced)
    assert abs(sum(m for m, _ in t["deep dives"].values()) - deep) <= 2


@pytest.mark.parametrize("key", sorted(ANSWERS))
def test_05_prediction_answer_is_what_the_run_shows(key):
    assert flexibility.actual(key) == ANSWERS[key]
    pred = flexibility.prediction(key)
    box = pred.after(flexibility.explanation(key))
    assert HELD_BACK in box.children[0].value
    flexibility.reveal(pred, key)
    assert pred.feedback.value == ""  # no verdict before a prediction
    pred.answer(ANSWERS[key])
    assert "agrees" in pred.feedback.value
    assert "What the run shows" in box.children[0].children[0].value


def test_05_guarded_panel_shows_its_charts_only_after_recording():
    pred = flexibility.prediction("scaling")
    panel = pred.guard(flexibility.scaling_panel())
    assert HELD_BACK.lower() in panel.widget.children[-1].value
    pred.skip()
    assert all(not isinstance(getattr(c, "value", None), str) for c in panel.widget.children[1:])


def test_05_scaling_numbers():
    n = flexibility.scaling_numbers()
    assert n["same"] and n["produced"] == 1125
    assert n["peak_fixed"] == 370 and n["peak_scaled"] == 155 and n["drained_scaled"] == 108
    assert round(n["p95_fixed"]) == 91 and round(n["p95_scaled"]) == 15
    assert flexibility.scaling_numbers(commit_every=60)["duplicates"] == 40


def test_05_replay_numbers():
    n = flexibility.replay_numbers()
    assert n["history"] == 313 and n["extra_eda"] == 0 and n["extra_rr"] == 313
    assert round(n["ready_eda"]) == 17 and round(n["backfill_s"]) == 32
    assert round(n["lookup_rr"], 2) == 0.15 and round(n["lookup_eda"], 2) == 0.10
    assert flexibility.replay_numbers(replay_consumers=4)["ready_eda"] < 5


def test_05_where_the_claims_break_numbers():
    n = flexibility.retention_numbers()
    assert (n["obtained"], n["history"], n["retained"]) == (164, 313, 169)
    assert n["hit"] == n["duplicates"] == 323
    assert (n["short_reprocessed"], n["short_lost"]) == (160, 163)


def test_05_partitions_numbers():
    sweep = throughput_vs_consumers(get("partitions").defaults())
    assert sweep["log_throughput"][-1] == pytest.approx(60, abs=3)
    assert get("partitions").defaults().consumers == 8  # the keys table says 8 consumers
    keys = get("partitions")(keys=3)
    assert round(keys.throughput("log")) in (30, 31, 32)


@pytest.mark.parametrize(("settings", "ok"), [
    (dict(policy="reject", capacity=300), False),  # loses orders
    (dict(policy="reject", capacity=310), True),  # seed 1: the queue peaks at 308
    (dict(policy="reject", capacity=400), False),  # safe, but not the smallest
    (dict(policy="block", capacity=310), False),  # not the question's policy
    (dict(policy="reject", capacity=290, seed=3), True),  # another seed peaks elsewhere
    (dict(policy="reject", capacity=310, seed=3), False),
])
def test_05_capacity_check_reads_the_learners_panel(settings, ok):
    panel = flexibility.backpressure_panel()
    check = flexibility.exercise("queue capacity", panel)
    assert check.hint and check.solution
    panel.set(**settings)
    assert check.answer()[0] is ok


def test_05_smallest_capacity_loses_nothing_and_one_step_less_does():
    for seed in (1, 2, 3):
        p = get("backpressure").make_params(seed=seed, policy="reject")
        c = flexibility.smallest_capacity(p)
        assert get("backpressure")(seed=seed, policy="reject", capacity=c).numbers()["lost"] == 0
        assert get("backpressure")(seed=seed, policy="reject", capacity=c - 10).numbers()["lost"] > 0


def test_05_partition_exercise():
    q = flexibility.exercise("partitions")
    assert q.correct == 5 and q.hint and q.solution
    assert q.answer(5)[0] and not q.answer(6)[0] and not q.answer(4)[0]


def test_05_tables_are_tidy():
    from .learner_text import problems

    tables = [flexibility.bugfix_table(), flexibility.policies_table()]
    for key in HELD.values():
        box = flexibility.explanation(key)()
        assert not problems(box.children[0].value, key)
    for styler in tables:
        html = styler.to_html()
        assert not problems(html.replace("<", " <"), "table"), html[:300]

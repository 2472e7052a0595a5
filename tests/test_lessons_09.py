"""Notebook 09 (your system) as a learner meets it: the prediction's answer is what the review computes, nothing
answers it before the guess, the texts quote the review's numbers, the exercise checks the panel's own state,
the editor shows mistakes in the panel, and the weights re-rank without running anything again."""

from __future__ import annotations

import pathlib
import statistics
import sys
import time

import numpy as np
import pytest

from eda_sim.experiments.your_system import example, example_text, loads, rule_of_thumb
from eda_sim.lab.exercises import HELD_BACK
from eda_sim.lab.views import your_system as lesson
from eda_sim.lab.views.your_system import charts

from .lesson_time import answers_in_code, estimate, held_back_words, stated_minutes

NOTEBOOK = pathlib.Path(__file__).parent.parent / "notebooks" / "09_your_system.ipynb"


@pytest.fixture(scope="module")
def order_flow():
    return lesson.example_review("order_flow")


@pytest.fixture(scope="module")
def food():
    return lesson.example_review("food_delivery")


@pytest.fixture()
def panel():
    return lesson.editor_panel("food_delivery")


def test_09_no_answer_in_a_code_cell():
    assert not answers_in_code(NOTEBOOK)


def test_09_core_path_fits_one_sitting_and_says_how_long(order_flow):
    p = lesson.prediction()
    p.skip()
    held = {"explanation": held_back_words(lesson.explanation(p)), "breaks-text": held_back_words(lesson.breaks(p))}
    t = estimate(NOTEBOOK, held)
    core, deep = stated_minutes(NOTEBOOK)
    assert t["core"] <= 35
    assert abs(t["core"] - core) <= 2, t
    assert not t["deep dives"] and deep is None


# -- the prediction ----------------------------------------------------------------------------------
def test_09_prediction_answer_is_the_reviews_winner(order_flow):
    spec = example("order_flow")
    assert order_flow.winner == rule_of_thumb(spec).code() == "rreee"  # the rule of thumb wins
    assert lesson.option_of(order_flow) == lesson.RULE
    p = lesson.prediction()
    lesson.reveal(p)
    assert p.feedback.value == ""  # no verdict before a guess
    ok, text = p.answer("all event-driven")
    assert not ok and "the run shows" in text and lesson.RULE in text
    right = lesson.prediction()
    lesson.reveal(right)
    assert right.answer(lesson.RULE)[0]


def test_09_prediction_holds_back_the_charts_the_explanation_and_the_weights():
    p = lesson.prediction()
    guarded = p.guard(lesson.editor_panel())
    weights = p.guard(lesson.weights_panel(guarded))
    box, breaks = lesson.explanation(p), lesson.breaks(p)
    assert len(guarded.widget.children) == 2 and HELD_BACK.lower() in guarded.widget.children[1].value
    assert len(weights.widget.children) == 2
    assert HELD_BACK in box.children[0].value and HELD_BACK in breaks.children[0].value
    p.answer(lesson.RULE)
    assert len(guarded.widget.children) == 7  # controls, ranking, verdict, failures, wait, timeline, table
    assert len(weights.widget.children) == 3
    assert "rule of thumb" in box.children[0].children[0].value


# -- the texts quote the review -------------------------------------------------------------------------
def test_09_explanation_quotes_the_review(order_flow):
    r = order_flow
    text = lesson.explain_text(r)
    pts = r.points()["total"]
    assert f"{pts['rreee']:.1f} points" in text and f"all R/R scores {pts['rrrrr']:.1f}" in text
    assert "is exactly the rule of thumb" in text
    flips = r.flips()
    decisive = flips[(flips.kind == "interaction") & (flips.new_winner == "")].sort_values("points").iloc[0]
    assert decisive["change"] == "bill as R/R" and f"would cost {-decisive['points']:.1f} points" in text
    for k, f in enumerate(r.spec.failures):  # all R/R loses requests in both failures, the winner none
        assert r.means.loc["rrrrr", f"lost_in_failure_{k}"] > 100 and r.means.loc["rreee", f"lost_in_failure_{k}"] == 0
        assert f"during *{f.name}* all R/R lost {r.means.loc['rrrrr', f'lost_in_failure_{k}']:.0f}" in text


def test_09_breaks_text_quotes_the_flips_and_eligibility(order_flow):
    r = order_flow
    text = lesson.breaks_text(r)
    first = r.flips().query("kind == 'weight'").iloc[0]
    assert f"The {first['change']} makes {first['new_winner']} the winner" in text
    criterion = first["change"].split(":")[0].removeprefix("weight of ")
    value = float(first["change"].split("→")[1])
    assert r.ranking({**r.weights, criterion: value})[0] != r.winner  # that flip is real
    assert f"{len(r.ineligible())} designs make a step" in text and len(r.ineligible()) == 16


# -- the exercise ----------------------------------------------------------------------------------------
def test_09_exercise_checks_the_panels_own_text_and_review(panel):
    ex = lesson.exercise("pay needed", panel)
    assert not ex.answer("rree")[0]  # the example unchanged: pay is not marked
    panel.set_text(lesson.pay_needed_text(), run=False)
    ok, text = ex.answer("rree")
    assert not ok and "Run the review" in text  # edited but not run: the charts show the old review
    r = panel.run()
    assert r is not None and not r.eligible("reee")  # event-driven pay is no longer ranked
    wrong = next(c for c in r.ranking() if c != r.winner)
    assert not ex.answer(wrong)[0]
    assert ex.answer(r.winner)[0] and ex.answer(r.label(r.winner))[0]
    assert r.winner == "rree" and r.label("rree") == "EDA: notify, analytics"
    assert ex.answer("notify, analytics")[0]
    assert "rree" in ex.show_solution()


# -- the editor --------------------------------------------------------------------------------------------
def test_09_editor_shows_a_mistake_with_line_and_key_and_keeps_the_last_review(panel):
    before = panel.review
    bad = example_text("food_delivery").replace("workers = 4", 'workers = "four"', 1)
    assert panel.set_text(bad) is None
    assert "line 14" in panel.error and "services.orders.workers" in panel.error
    assert "services.orders.workers" in panel.message.value and "Traceback" not in panel.message.value
    assert panel.review is before
    panel.set_text(example_text("food_delivery").replace("[[interaction]]", "[[interactoin]]", 1), run=False)
    assert "interactoin" in panel.error and "did you mean" in panel.error


def test_09_editor_refuses_a_review_too_large_and_says_why(panel):
    big = example_text("food_delivery").replace("rate = 4.0", "rate = 400.0", 1).replace("until = 90.0",
                                                                                         "until = 3000.0", 1)
    loads(big)  # a valid description ...
    assert panel.set_text(big) is None  # ... too large to review: refused before anything runs
    assert "events" in panel.error and "lower" in panel.error and "⚠" in panel.message.value


def test_09_example_buttons_load_and_review(panel):
    panel.examples.value = "outage"
    assert panel.text == example_text("outage") and panel.review.spec == example("outage")
    assert panel.progress.layout.visibility == "hidden" and "designs" in panel.message.value
    names = [t.name for t in panel.failures.data if t.visible]
    assert names[0].startswith(panel.review.label(panel.review.winner))


def test_09_progress_bar_hears_every_run():
    seen = []
    text = example_text("outage").replace("[review]\n", "[review]\nseeds = [4, 5]\n", 1)
    assert loads(text).seeds == (4, 5)
    lesson.reviewed(text, lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 16) and seen[-1] == (16, 16)  # 2**3 designs × 2 seeds


# -- the charts show the review ---------------------------------------------------------------------------
def test_09_charts_show_the_numbers_of_the_review(food):
    figs = charts.figures(food)
    ranking = figs["ranking"]
    totals = sum(np.asarray(t.x, dtype=float) for t in ranking.data[:9])
    codes = charts.shown_designs(food)
    assert totals == pytest.approx(food.points().loc[codes, "total"].to_numpy())
    assert ranking.data[0].y[0] == f"1. {food.label(food.winner)}"
    lost = figs["failures"].data[0]
    assert list(lost.y) == [food.means.loc[food.winner, f"lost_in_failure_{k}"] for k in range(2)]
    win = next(t for t in figs["wait"].data if t.name == "winner")
    assert win.y[0] == pytest.approx(food.means.loc[food.winner, "wait_p95"])
    assert win.x[0] == pytest.approx(food.means.loc[food.winner, "done_p95"])
    shapes = [(s.x0, s.x1) for s in figs["timeline"].layout.shapes]
    assert shapes == [(f.start, f.end) for f in food.spec.failures]


# -- the weights ---------------------------------------------------------------------------------------
def test_09_weights_re_rank_without_running_and_show_the_flip(order_flow, monkeypatch):
    p = lesson.weights_panel(order_flow)
    engine = sys.modules["eda_sim.experiments.your_system.review"]
    monkeypatch.setattr(engine, "sweep", lambda *a, **k: pytest.fail("a weight move ran a simulation"))
    times = []
    for value in (0.0, 40.0, 20.0, 5.0, 20.0):
        p.set(wait=value)
        times.append(p.last_ms)
    assert statistics.median(times) < 100, times
    p.set(wait=20.0, parts=0.0)  # the nearest flip the review reports is the weight of parts going down
    flipped = order_flow.ranking({**order_flow.weights, "parts": 0.0})[0]
    assert flipped != order_flow.winner and "flipped" in p.note.value
    assert p.figures[0].data[0].y[0] == f"1. {order_flow.label(flipped)}"
    p.reset()
    assert "as with the description" in p.note.value


def test_09_weights_follow_the_editor(panel):
    p = lesson.weights_panel(panel)
    assert p.params.weights == panel.review.weights
    panel.load_example("outage")
    assert p.params.weights == lesson.example_review("outage").weights
    start = time.perf_counter()
    p.set(lost=0.0)
    assert time.perf_counter() - start < 1.0
    assert p.result.review is panel.review

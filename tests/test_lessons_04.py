"""Notebook 04 (reactivity): its questions, checks and quoted numbers against the simulation, and its
learner's path (nothing spoiled before a prediction, a core path of at most 35 minutes)."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from eda_sim.experiments import get
from eda_sim.lab.exercises import HELD_BACK
from eda_sim.lab.views import reactivity

from .lesson_time import answers_in_code, estimate, held_back_words, stated_minutes

NOTEBOOK = pathlib.Path(__file__).parent.parent / "notebooks" / "04_reactivity.ipynb"


@pytest.fixture(scope="module")
def panel():
    return reactivity.panel()


def test_04_no_answer_in_a_code_cell():
    assert not answers_in_code(NOTEBOOK)


def test_04_core_path_fits_one_sitting_and_says_how_long(panel):
    explained = held_back_words(reactivity.explanation(panel)())
    t = estimate(NOTEBOOK, {"1b3e8b1c": explained})
    core, deep = stated_minutes(NOTEBOOK)
    assert t["core"] <= 35
    assert abs(t["core"] - core) <= 2, t
    assert not t["deep dives"] and deep is None


def test_04_prediction_answer_is_what_the_run_shows():
    pred = reactivity.prediction()
    pred.answer("about 2 s")
    ok, text = reactivity.reveal(pred)
    assert ok and "agrees" in text
    assert get("reactivity")().delays("poll").mean() == pytest.approx(2.0, abs=0.25)


def test_04_prediction_holds_back_the_charts_and_the_explanation(panel):
    pred = reactivity.prediction()
    guarded = pred.guard(reactivity.panel())
    box = pred.after(reactivity.explanation(panel))
    assert HELD_BACK.lower() in guarded.widget.children[-1].value  # the controls and a note: no chart yet
    assert HELD_BACK in box.children[0].value
    reactivity.reveal(pred)
    assert pred.feedback.value == ""  # no verdict before a prediction
    pred.answer("about 4 s")
    assert "2 s" in pred.feedback.value and "you predicted" in pred.feedback.value.lower()
    assert not isinstance(getattr(guarded.widget.children[-1], "value", None), str)  # the charts are back
    assert "What the run shows" in box.children[0].children[0].value


def test_04_largest_period_is_two_seconds_at_the_defaults_and_other_seeds():
    q = reactivity.exercise("largest T")
    assert q.correct == 2.0 and q.hint and q.solution
    for seed in (1, 2, 3, 4, 5):
        assert reactivity._largest_period(get("reactivity").make_params(seed=seed))[0] == 2.0


@pytest.mark.parametrize(("period", "ok"), [(4.0, False), (1.5, False), (1.0, False), (2.0, True)])
def test_04_period_check_depends_on_the_slider(period, ok):
    panel = reactivity.panel()
    check = reactivity.exercise("check T", panel)
    assert check.hint and check.solution
    panel.set(poll_interval=period)
    assert check.answer()[0] is ok


def test_04_period_check_reads_the_learners_seed_and_settings():
    panel = reactivity.panel()
    check = reactivity.exercise("check T", panel)
    panel.set(poll_interval=2.0, seed=4)
    ok, text = check.answer()
    assert ok and f"{panel.result.delays('poll').mean():.2f} s" in text
    # Storms of 150 events at 0.2 s each: even T = 2 s misses the target, and the check says so.
    panel.set(poll_interval=2.0, burst=15.0, service_mean=0.2, seed=1)
    assert check.answer()[0] is False


def test_04_burst_numbers_quoted_in_the_text():
    n = reactivity.burst_numbers()
    assert n["storm"] == 150
    assert round(n["reaction_push"]) == 13 and round(n["reaction_poll"]) == 16
    assert round(n["delay_poll"], 1) == 3.2 and round(n["delay_push"], 1) == 0.6
    assert n["result"].params.poll_interval / 2 == 2.0


def test_04_tables_show_no_raw_values(panel):
    from .learner_text import problems

    for styler in (reactivity.burst_table(), reactivity.result_table(panel.result), reactivity.parameters()):
        html = styler.to_html()
        assert "–" in html or styler is not None
        assert not problems(html.replace("<", " <"), "table"), html[:300]
    assert np.isfinite(panel.result.delays("poll").mean())

"""Notebook 03 (coupling and failure propagation): its questions, checks and quoted numbers against the
simulation, and its learner's path (nothing spoiled before a prediction, a core path of at most 35
minutes, the rest in optional deep dives)."""

from __future__ import annotations

import math
import pathlib

import pytest

from eda_sim.experiments import get
from eda_sim.lab.exercises import HELD_BACK
from eda_sim.lab.views import coupling

from .lesson_time import answers_in_code, estimate, held_back_words, stated_minutes

NOTEBOOK = pathlib.Path(__file__).parent.parent / "notebooks" / "03_coupling_failures.ipynb"


def test_03_no_answer_in_a_code_cell():
    assert not answers_in_code(NOTEBOOK)


def test_03_core_path_fits_one_sitting_and_says_how_long():
    held = {"6539b196": held_back_words(coupling.explanation("outage")()),
            "b06f91dc": held_back_words(coupling.explanation("storm")())}
    t = estimate(NOTEBOOK, held)
    core, deep = stated_minutes(NOTEBOOK)
    assert t["core"] <= 35 and abs(t["core"] - core) <= 2, t
    assert len(t["deep dives"]) == 2
    for title, (minutes, announced) in t["deep dives"].items():
        assert abs(minutes - announced) <= 1.5, (title, minutes, announced)
    assert abs(sum(m for m, _ in t["deep dives"].values()) - deep) <= 2


def test_03_outage_prediction_answer_is_what_the_run_shows():
    n = coupling.outage_numbers()
    assert n["failed"] == 390 and n["produced"] == 718  # about 400, not "the orders placed during it"
    pred = coupling.prediction("outage failures")
    pred.answer("about 400")
    assert coupling.reveal(pred, "outage failures")[0]


def test_03_storm_prediction_answer_is_what_the_run_shows():
    pred = coupling.prediction("retry storm")
    pred.answer("stays overloaded for the rest of the run")
    assert coupling.reveal(pred, "retry storm")[0]


def test_03_predictions_hold_back_charts_tables_and_explanations():
    pred = coupling.prediction("outage failures")
    guarded = pred.guard(coupling.outage_panel())
    boxes = [pred.after(coupling.explanation(k)) for k in ("outage", "scenarios")]
    assert HELD_BACK.lower() in guarded.widget.children[-1].value
    assert all(HELD_BACK in b.children[0].value for b in boxes)
    coupling.reveal(pred, "outage failures")
    assert pred.feedback.value == ""
    pred.answer("none")
    assert "about 400" in pred.feedback.value
    assert all(HELD_BACK not in str(getattr(b.children[0], "value", "")) for b in boxes)


def test_03_explanation_numbers_match_the_default_run():
    n = coupling.outage_numbers()
    assert n["rr_drain"] == pytest.approx(30, abs=2) and n["done_but_failed"] == 390
    assert n["backlog_max"] == 119 and round(n["drain"]) == 32 and round(n["drain_theory"]) == 30
    assert round(coupling.outage_numbers(workers=3)["drain"]) == 10
    text = coupling.explanation("outage")().children[0].value
    assert "390 of 718 orders fail" in text and "nan" not in text.lower()


def test_03_where_it_breaks_numbers():
    n = coupling.outage_numbers()
    assert 0.6 < n["on_time"] < 0.72  # "a third of them were billed after the deadline"
    near = coupling.outage_numbers(rate=12.0)
    assert round(near["drain_theory"]) == 90 and math.isnan(near["drain"])
    assert 0.15 < near["on_time"] < 0.25  # "one order in five"
    broker = get("coupling_outage")(target="broker")
    assert max(w for w in broker.per_order["eda_wait"] if w == w) == pytest.approx(10, abs=0.1)


def test_03_deploy_numbers_quoted_in_the_text():
    d = coupling.deploy_numbers()
    assert d["errors"] == 27 and round(d["billed_max"], 1) == 3.2
    assert round(100 * d["rr_not_done"]) == 4 and d["eda_not_done"] == 3


def test_03_numeric_answer_is_the_fluid_estimate():
    q = coupling.exercise("billing consumers")
    assert q.correct == coupling.smallest_consumers(get("coupling_outage").defaults()) == 3
    assert q.hint and q.solution


@pytest.mark.parametrize(("settings", "ok"), [
    (dict(workers=2), False), (dict(workers=4), False), (dict(workers=3), True),
    (dict(workers=3, seed=4), True),  # another seed drains in 6.5 s: still the right answer
    (dict(workers=3, rate=8.0), False),  # not the question's settings
])
def test_03_consumer_check_depends_on_the_panel(settings, ok):
    panel = coupling.outage_panel()
    check = coupling.exercise("check consumers", panel)
    assert check.hint and check.solution
    panel.set(**settings)
    ok_, text = check.answer()
    assert ok_ is ok, text
    assert "nan" not in text.lower()


def test_03_storm_explanation_numbers():
    s = get("coupling_storm")().result.summary
    assert s["ok_share_after"] == 0 and round(s["attempts_mean"], 2) == 2.67
    recov = {p: get("coupling_storm")(policy=p).result.summary["recovery_time"]
             for p in ("no_retries", "backoff_budget", "breaker")}
    assert recov == {"no_retries": 8.0, "backoff_budget": 16.0, "breaker": 1.0}


def test_03_tables_are_tidy():
    from .learner_text import problems

    for styler in (coupling.parameters(), coupling.scenario_table(), coupling.retry_storm_table(),
                   coupling.fanout_table(), coupling.outage_table(coupling.outage_numbers()["result"])):
        html = styler.to_html()
        assert not problems(html.replace("<", " <"), "table"), html[:300]

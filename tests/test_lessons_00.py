"""Notebook 00's questions and checks: the stated answers are what the simulation computes, every check
fails on a wrong setting and passes on a right one, and nothing is shown before the prediction."""

from __future__ import annotations

import json
import pathlib
import re

import pytest

from eda_sim.lab import flow
from eda_sim.lab.exercises import HELD_BACK
from eda_sim.lab.views import start_here

NOTEBOOK = pathlib.Path(__file__).parent.parent / "notebooks" / "00_start_here.ipynb"


@pytest.fixture(scope="module")
def default():
    return flow.run(flow.OrderExample())


@pytest.fixture
def panel():
    return start_here.panel()


def _text(widget) -> str:
    out = [widget.value if isinstance(getattr(widget, "value", None), str) else ""]
    for o in getattr(widget, "outputs", ()):
        out += [str(v) for v in o.get("data", {}).values()]
    out += [_text(child) for child in getattr(widget, "children", ())]
    return "\n".join(out)


def test_00_prediction_answer_is_what_the_default_run_shows(default):
    n, rr, eda = start_here.burst_waits(default)
    assert n == 10 and rr == pytest.approx(2.29, abs=0.005) and eda == pytest.approx(0.01)
    assert start_here.burst_answer(default) == "EDA: within a few milliseconds; R/R: only after seconds"


def test_00_the_animation_and_the_numbers_wait_for_the_prediction(panel):
    pred = start_here.prediction()
    pred.guard(panel)
    assert HELD_BACK.lower() in _text(panel.widget.children[-1])
    held = start_here.outcome(pred, panel)
    explained = start_here.explain(pred, panel)
    assert panel.animator.t == pytest.approx(4.0)
    for box in (held, explained):
        assert HELD_BACK in _text(box) and "2.29" not in _text(box) and "Seven copies" not in _text(box)
    assert pred.feedback.value == ""
    ok, text = pred.answer(start_here.BURST_WAIT[0])
    assert not ok and "the run shows EDA: within a few milliseconds; R/R: only after seconds" in text
    assert "R/R 2.29 s, EDA 10 ms" in _text(held)
    assert "Seven copies" in _text(explained) and "4.64" in _text(explained)
    assert panel.widget.children[-1] is panel.animator.widget


def test_00_run_table_is_tidy(default):
    html = start_here.run_table(default).to_html()
    assert "nan" not in html.lower() and "–" in html and "seed 1" in html
    html = start_here.quiet_table().to_html()
    assert "0.26" in html and "0.23" in html


def test_00_follow_order_10_wrong_fails_right_passes_and_follows_the_seed(panel, default):
    ex = start_here.exercise("follow order 10", panel)
    assert ex.hint and "1.26 s" in ex.solution and ex.takes_value
    assert start_here.order_gap(default) == pytest.approx(1.26, abs=0.005)
    assert ex.answer(1.26)[0] and ex.answer(1.3)[0]
    assert not ex.answer(0.5)[0] and not ex.answer(2.0)[0] and not ex.answer("soon")[0]
    panel.set(seed=2)
    gap = start_here.order_gap(panel.result)
    assert abs(gap - 1.26) > 0.2  # another seed, another answer: the check reads the panel
    assert ex.answer(round(gap, 2))[0] and not ex.answer(1.26)[0]


def test_00_empty_queue_wrong_settings_fail_right_ones_pass(panel):
    ex = start_here.exercise("empty queue", panel)
    assert ex.hint and "OrderSvc workers" in ex.solution and not ex.takes_value
    assert not ex.answer()[0]
    panel.set(entry_workers=8)
    assert not ex.answer()[0]
    panel.set(workers=2)
    ok, text = ex.answer()
    assert ok and "still 2.49 s" in text
    panel.set(burst_rate=5.0)
    assert not ex.answer()[0]


def test_00_littles_law_output(default):
    html = start_here.littles_law(default).data
    assert "3.264" in html and "3.288" in html and "0.015" in html


def test_00_unknown_exercise_names_the_choices(panel):
    with pytest.raises(KeyError, match="follow order 10"):
        start_here.exercise("nope", panel)


def test_00_notebook_code_cells_hold_no_answers():
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert not re.search(r"answer=|explanation=|solution=|hint=|def |print\(", code)

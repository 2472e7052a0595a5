"""Notebook 01's questions and checks: the stated answers are what the simulation computes, every check
fails on a wrong setting and passes on a right one, and nothing is shown before the predictions."""

from __future__ import annotations

import json
import pathlib
import re

import pytest

from eda_sim.experiments import get
from eda_sim.experiments.core_difference import ScalingParams, done_vs_answer, measured_table, scaling_sweep
from eda_sim.lab.exercises import HELD_BACK
from eda_sim.lab.views import core_difference as views

NOTEBOOK = pathlib.Path(__file__).parent.parent / "notebooks" / "01_core_difference.ipynb"


@pytest.fixture(scope="module")
def default():
    return get("core_difference")()


def _text(widget) -> str:
    out = [widget.value if isinstance(getattr(widget, "value", None), str) else ""]
    for o in getattr(widget, "outputs", ()):
        out += [str(v) for v in o.get("data", {}).values()]
    out += [_text(child) for child in getattr(widget, "children", ())]
    return "\n".join(out)


def test_01_first_prediction_answer_is_what_the_default_run_shows(default):
    s = default.summary
    assert s["eda"]["done_p50"] / s["rr"]["done_p50"] == pytest.approx(0.85, abs=0.005)
    assert views.done_answer(default) == views.DONE_SOONER[2]
    # With parallel R/R calls the same question has another answer: EDA's work is done later.
    assert views.done_answer(get("core_difference")(calls="parallel")) == views.DONE_SOONER[3]


def test_01_run_1_and_its_numbers_wait_for_the_prediction():
    wait = views.wait_panel()
    pred = views.prediction("done sooner")
    pred.guard(wait)
    assert HELD_BACK.lower() in _text(wait.widget.children[-1])
    held = views.outcome(pred, wait)
    explained = pred.after(views.EXPLAIN)
    assert HELD_BACK in _text(held) and "154" not in _text(held) + _text(explained)
    assert pred.feedback.value == ""
    ok, text = pred.answer(views.DONE_SOONER[0])
    assert not ok and f"the run shows {views.DONE_SOONER[2]}" in text
    assert "85% of R/R's" in _text(held) and "154.2" in _text(held) and "48.1" in _text(held)
    assert "56 ms at the median" in _text(explained)


def test_01_scaling_prediction_answer_and_outcome():
    panel = views.scaling_panel()
    pred = views.prediction("one consumer")
    pred.guard(panel)
    held = views.scaling_outcome(pred, panel)
    assert HELD_BACK in _text(held)
    assert views.scaling_answer(panel.result) == "about 5 ms"
    ok, _ = pred.answer("about 5 ms")
    assert ok and "<strong>5 ms</strong>" in _text(held)
    assert "7.7 s" in _text(held)


def test_01_black_friday_answer_matches_the_simulation():
    q = views.exercise("black friday")
    assert q.correct == 4 and q.hint and "4" in q.solution
    assert q.answer(4)[0] and not q.answer(3)[0] and not q.answer(5)[0]
    # The simulation agrees: at 90/s three billing consumers fall behind, four keep up.
    three = get("core_difference")(rate=90.0, workers=3)
    four = get("core_difference")(rate=90.0, workers=4)
    assert three.summary["eda"]["done_p95"] > 1.0  # a backlog that grows for the whole run
    assert four.summary["eda"]["done_p95"] < 0.2 * three.summary["eda"]["done_p95"]


def test_01_slower_check_wrong_settings_fail_right_ones_pass():
    wait = views.wait_panel()
    ex = views.exercise("slower", wait)
    assert ex.hint and ex.solution and not ex.takes_value
    assert not ex.answer()[0]  # defaults: EDA's work is done sooner (sequential R/R calls)
    wait.set(hop=0.01)
    assert not ex.answer()[0]  # 53 ms against 56 ms: not yet
    wait.set(hop=0.015)
    ok, text = ex.answer()
    assert ok and "58.1" in text and "56.5" in text  # the solution's numbers
    wait.set(hop=0.005, calls="parallel")
    assert ex.answer()[0]


def test_01_tables_are_tidy(default):
    for styler in (views.guide_table(), views.quantile_table(default), views.settings()):
        html = styler.to_html()
        assert "nan" not in html.lower() and not re.search(r"\d\.\d{4,}", html)
    load = views.load_panel()
    html = views.load_table(load).to_html()
    assert "–" in html and "nan" not in html.lower()


def test_01_quoted_numbers_match_the_default_runs(default):
    s = default.summary
    assert round(s["rr"]["accept_p50"] * 1e3) == 56 and round(s["rr"]["accept_p95"] * 1e3) == 154
    assert round(s["eda"]["done_p50"] * 1e3) == 48 and round(s["eda"]["done_p95"] * 1e3) == 141
    assert s["rr"]["accept_p95"] / s["eda"]["accept_p95"] == pytest.approx(30, abs=1)  # "a factor of 30"
    table = measured_table()
    assert table.loc[("Reactivity", "audit finished after the order, p50 (ms)"), "EDA"] == pytest.approx(19, abs=0.5)
    assert table.loc[("Scaling", "order-endpoint workers held, mean"), "R/R"] == pytest.approx(1.35, abs=0.005)
    assert table.loc[("Coupling", "billing down 10 s: orders done by the end (%)"), "R/R"] == pytest.approx(75, abs=0.5)
    assert table.loc[("Coupling", "billing down 10 s: work done, p99 (s)"), "EDA"] == pytest.approx(9.8, abs=0.05)
    breaks = done_vs_answer()["EDA − R/R (ms)"]
    assert -17.5 < breaks.loc["sequential"].min() < breaks.loc["sequential"].max() < -5.5
    sweep = get("core_load")().sweep.frame()
    assert sweep.loc[48.5, "rr wait_mean"] == pytest.approx(0.30, abs=0.005)
    assert sweep.loc[48.5, "rr wait_mean theory"] == pytest.approx(0.70, abs=0.005)
    assert sweep.loc[60.0, "eda accepted_rate"] == pytest.approx(59.8, abs=0.05)
    assert sweep.loc[60.0, "rr wait_mean"] == pytest.approx(1.5, abs=0.05)
    scaling = scaling_sweep(ScalingParams())
    assert scaling.at("rr", "wait_p95", 1) == pytest.approx(7.7, abs=0.05)
    assert scaling.at("eda", "done_p95", 1) == pytest.approx(7.7, abs=0.05)
    assert scaling.at("rr", "wait_p95", 8) == pytest.approx(0.31, abs=0.005)


def test_01_unknown_names_fail_clearly():
    with pytest.raises(KeyError, match="black friday"):
        views.exercise("nope")
    with pytest.raises(KeyError):
        views.prediction("nope")


def test_01_notebook_code_cells_hold_no_answers():
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert not re.search(r"answer=|explanation=|solution=|hint=|def |print\(", code)

"""Notebook 02's questions and checks: the stated answers are what the simulation computes, every check
fails on a wrong setting and passes on a right one, and nothing is shown before the prediction."""

from __future__ import annotations

import json
import pathlib
import re

import numpy as np
import pytest

from eda_sim.experiments import get
from eda_sim.lab.exercises import HELD_BACK
from eda_sim.lab.views import data_reuse

NOTEBOOK = pathlib.Path(__file__).parent.parent / "notebooks" / "02_data_reuse.ipynb"


@pytest.fixture(scope="module")
def default():
    return get("data_reuse")()


@pytest.fixture
def panel():
    return data_reuse.panel()


def _text(widget) -> str:
    """All text in a widget tree (HTML values and displayed outputs)."""
    out = [getattr(widget, "value", "") if isinstance(getattr(widget, "value", ""), str) else ""]
    for o in getattr(widget, "outputs", ()):
        out += [str(v) for v in o.get("data", {}).values()]
    for child in getattr(widget, "children", ()):
        out.append(_text(child))
    return "\n".join(out)


def test_02_prediction_answer_is_what_the_default_run_shows(default):
    ratio = default.latency_p95("rr") / default.latency_p95("fat")
    assert ratio == pytest.approx(14.8, abs=0.05)
    assert data_reuse.slowdown(default) == "R/R is more than 5 times slower"
    assert data_reuse.slowdown(default) in data_reuse.prediction().options


def test_02_the_panel_and_its_numbers_wait_for_the_prediction(panel):
    pred = data_reuse.prediction()
    charts = panel.widget.children[-1]
    pred.guard(panel)
    assert HELD_BACK.lower() in _text(panel.widget.children[-1])
    held = data_reuse.outcome(pred, panel)
    assert HELD_BACK in _text(held) and "1,384" not in _text(held)
    assert pred.feedback.value == ""  # no verdict yet
    ok, text = pred.answer(data_reuse.SLOWDOWN[2])
    assert not ok and "the run shows R/R is more than 5 times slower" in text
    shown = _text(held)
    assert HELD_BACK not in shown and "R/R 1,384 ms, fat events 94 ms" in shown and "14.8 times" in shown
    assert panel.widget.children[-1] is charts is not None and HELD_BACK.lower() not in _text(charts)


def test_02_run_table_is_tidy_and_says_it_follows_the_panel(default):
    html = data_reuse.run_table(default).to_html()
    assert "nan" not in html.lower() and "–" in html and "panel's run with N = 6" in html
    assert "1,384" in html and "280" in html and "1.32" in html


def test_02_theory_table_shows_a_dash_where_mmc_has_no_steady_state():
    html = data_reuse.theory_table().to_html()
    assert "–" in html and "nan" not in html.lower() and "1.40" in html and "20.1" in html


def test_02_numeric_exercise_answer_matches_the_simulation():
    q = data_reuse.exercise("connections")
    assert q.correct == 6 and q.hint and "6" in q.solution
    assert q.answer(6)[0] and not q.answer(5)[0] and not q.answer(7)[0]
    five, six = get("data_reuse")(db_connections=5), get("data_reuse")(db_connections=6)
    assert five.db_utilisation("rr") > 1 > six.db_utilisation("rr")  # measured: 1.06 and 0.88
    assert six.params.db_utilisation("rr") == pytest.approx(0.93, abs=0.005)
    assert five.params.db_utilisation("rr") == pytest.approx(1.12, abs=0.005)


def test_02_panel_check_wrong_settings_fail_right_ones_pass(panel):
    ex = data_reuse.exercise("set connections", panel)
    assert ex.hint and ex.solution and not ex.takes_value
    assert not ex.answer()[0]  # defaults: 4 connections, overloaded
    for wrong in (5, 7, 16):
        panel.set(db_connections=wrong)
        assert not ex.answer()[0], wrong
    panel.set(db_connections=6)
    ok, text = ex.answer()
    assert ok and "ρ = 0.93" in text
    # The answer follows the learner's own N: at N = 3, 40 × 4 × 0.02 = 3.2, so 4 connections.
    panel.set(services=3)
    assert not ex.answer()[0]
    panel.set(db_connections=4)
    assert ex.answer()[0]
    # Beyond the slider: 100 orders/s at N = 8 and 50 ms needs 46 connections; the check says so.
    panel.set(services=8, rate=100.0, query_ms=50.0, db_connections=16)
    ok, text = ex.answer()
    assert not ok and "more than the slider offers" in text


def test_02_unknown_exercise_names_the_choices():
    with pytest.raises(KeyError, match="connections"):
        data_reuse.exercise("nope")


def test_02_quoted_numbers_match_the_default_run(default):
    text = data_reuse.EXPLAIN
    assert "measured 1.32" in text and default.db_utilisation("rr") == pytest.approx(1.32, abs=0.005)
    assert default.params.db_utilisation("rr") == pytest.approx(1.4) and "1.4 for R/R" in text
    assert default.latency_p95("rr") > 1.0  # "past a second"
    assert default.latency_p95("rr") / default.latency_p95("fat") == pytest.approx(15, abs=0.5)  # "about 15"
    assert get("data_reuse")(services=3).params.db_utilisation("rr") == pytest.approx(0.8)  # SWEEP: "ρ = 0.8"
    light = get("data_reuse")(services=2)
    assert round(light.latency_p95("rr") * 1000) == 116 and round(light.latency_p95("fat") * 1000) == 89
    assert light.params.db_utilisation("rr") == pytest.approx(0.6)
    traffic = default.traffic_table()
    assert traffic.loc["total", data_reuse.NAMES["fat"]] == pytest.approx(1.0, abs=0.05)  # "about 1 MB/s"
    big = get("data_reuse")(event_kb=32.0).traffic_table()
    assert 7.5 < big.loc["total", data_reuse.NAMES["fat"]] < 8.0  # "almost 8 MB/s"
    assert np.percentile(default.client_wait("thin"), 95) > 3 * np.percentile(default.client_wait("fat"), 95)


def test_02_notebook_code_cells_hold_no_answers():
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert not re.search(r"answer=|explanation=|solution=|hint=|def check", code)
    assert "print(" not in code

"""Notebook 06 (when to use what) as a learner meets it: the prediction's answer is what the scorecard computes,
every check fails on a wrong setting and passes on a right one (at the panel's seed and precision), and the
texts and tables shown after the prediction are tidy and say what the runs say."""

from __future__ import annotations

import re

import pytest

from eda_sim.experiments import get
from eda_sim.experiments import use_cases as uc
from eda_sim.lab.views import use_cases as lesson

from .learner_text import problems


@pytest.fixture(scope="module")
def panel():
    return lesson.panel()


def _text(styler) -> str:
    return re.sub(r"<[^>]+>", " ", styler.to_html())


def test_prediction_answer_is_what_the_scorecard_computes(panel):
    p = lesson.prediction("rows that agree")
    held = lesson.reveal(p, panel)
    card = get("scorecard")()
    agree = sum(card.agrees(c) for c in uc.CASES)
    assert p.revealed == lesson.agreement_option(card) == {5: "all 5 rows"}.get(agree)
    assert "Shown once" in held.children[0].value
    ok, text = p.answer("4 rows")
    assert not ok and "all 5 rows" in text


def test_the_panel_and_the_answers_wait_for_the_prediction():
    p = lesson.prediction("rows that agree")
    panel = p.guard(lesson.panel())
    explained, flips = lesson.explain(p, panel), lesson.flips_view(p)
    assert len(panel.widget.children) == 2
    for held in (explained, flips):
        assert "Shown once" in held.children[0].value
    p.answer("all 5 rows")
    assert len(panel.widget.children) == 3
    assert "in **5 of 5 rows**" not in explained.children[0].value  # rendered as HTML
    assert "5 of 5 rows" in explained.children[0].value


def test_explanation_numbers_are_the_default_runs():
    text = lesson.explanation(get("scorecard")())
    for quoted in ("about 19 ms (p95), EDA in about 24 ms", "5 moving parts instead of 2", "it does 84% of the jobs",
                   "(77% with the outage)", "within about 5.4 s", "about 133 ms at p95", "11 moving parts against 6",
                   "p95 about 3.8 s", "about 0.15 s", "replay takes about 6.3 s, the backfill 9.3 s",
                   "by margins of 0.11 to 0.28"):
        assert quoted in text, quoted
    assert not problems(text, "explanation")


def test_tables_are_tidy(panel):
    card = lesson.equal_weights(panel)
    for styler in (lesson.scores_table(card), lesson.overview_table(card), lesson.closed_forms_table(card),
                   lesson.only_table(panel, "simplicity")):
        assert not problems(_text(styler), "table")


def test_only_simplicity_does_not_move_the_panel(panel):
    before = panel.params
    assert "R/R" in _text(lesson.only_table(panel, "simplicity"))
    assert panel.params == before


def test_tie_weight_check(panel):
    ex = lesson.exercise("tie weight", panel)
    w = uc.break_even(get("scorecard")(), "notify", "simplicity")
    assert w == pytest.approx(2.13, abs=0.01)
    assert ex.answer(round(w, 2))[0] and ex.answer(2.0)[0]
    assert not ex.answer(3.0)[0] and not ex.answer(1.0)[0] and not ex.answer("two")[0]
    assert "2.13" in ex.show_solution()


def test_tie_weight_follows_the_panels_seed():
    panel = lesson.panel()
    panel.set(seed=4)
    w4 = uc.break_even(get("scorecard")(seed=4), "notify", "simplicity")
    assert lesson.tie_weight(panel) == pytest.approx(w4)
    ex = lesson.exercise("tie weight", panel)
    assert ex.answer(round(w4, 2))[0]
    assert f"{w4:.2f}" in ex.show_solution()


def test_set_the_panel_check():
    panel = lesson.panel()
    ex = lesson.exercise("set the panel", panel)
    assert not ex.answer()[0]  # nothing moved
    panel.set(w_simplicity=2.0)
    assert not ex.answer()[0]  # EDA still wins
    panel.set(w_simplicity=3.0)
    ok, text = ex.answer()
    assert not ok and "smaller" in text
    panel.set(w_simplicity=2.5, w_throughput=2.0)
    ok, text = ex.answer()
    assert not ok and "'weight: work done'" in text and "throughput" not in text  # the slider's own name
    panel.set(w_throughput=1.0)
    assert ex.answer()[0]
    assert "**2.5**" in ex.show_solution()


def test_flips_chart_labels_name_the_winner_after_the_change():
    fig = lesson.flips_figure(uc.flips())
    labels = fig.layout.yaxis.ticktext
    assert len(labels) == 3 and all("winner: EDA → R/R" in label for label in labels)
    assert not fig.layout.annotations or all("winner" not in (a.text or "") for a in fig.layout.annotations)


def test_where_the_claim_breaks_numbers():
    flips = uc.flips()
    long_poll = flips.loc[next(k for k in flips.index if "long-polls" in k)]
    assert long_poll.winner_changed == "R/R"
    only_speed = get("scorecard")(w_throughput=0.0, w_resilience=0.0, w_load=0.0, w_simplicity=0.0)
    assert [only_speed.winner(c) for c in uc.CASES] == ["rr", "eda", "eda", "eda", "eda"]

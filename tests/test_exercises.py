"""Exercises: feedback for right and wrong answers, solutions hidden until asked for."""

from __future__ import annotations

import ipywidgets as widgets
import pytest

from eda_sim.lab.exercises import Exercise, MultipleChoice, Numeric, Prediction

GREEN, RED = "#1b7837", "#b2182b"


def walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from walk(child)


def button(question, description):
    return next(w for w in walk(question.widget)
                if isinstance(w, widgets.Button) and w.description == description)


def all_text(question) -> str:
    return " ".join(str(w.value) for w in walk(question.widget)
                    if isinstance(w, widgets.HTML | widgets.HTMLMath))


# ---- MultipleChoice -------------------------------------------------------------------------------

def make_mc():
    return MultipleChoice("At low load, which finishes the work **first**?", ["R/R", "EDA", "same"],
                          answer="R/R", explanation="EDA adds a hop and a queue.")


def test_multiple_choice_feedback():
    q = make_mc()
    assert isinstance(q.widget, widgets.VBox) and q.choice.value is None   # nothing preselected
    ok, text = q.answer("EDA")
    assert not ok and "Not quite" in text and "hop" not in text  # the explanation would give it away
    assert RED in q.feedback.value and "Not quite" in q.feedback.value
    ok, text = q.answer("R/R")
    assert ok and "Correct" in text
    assert GREEN in q.feedback.value and "hop" in q.feedback.value
    assert q.choice.value == "R/R"
    ok, text = q.answer("Kafka")
    assert not ok and "not one of the options" in text


def test_multiple_choice_check_button():
    q = make_mc()
    button(q, "Check").click()
    assert "Choose an option first" in q.feedback.value
    q.choice.value = "R/R"
    button(q, "Check").click()
    assert GREEN in q.feedback.value and "Correct" in q.feedback.value


def test_multiple_choice_validates_its_answer():
    with pytest.raises(ValueError, match="not one of the options"):
        MultipleChoice("?", ["a", "b"], answer="c", explanation="")


def test_prompt_is_rendered_markdown():
    q = make_mc()
    assert "<strong>first</strong>" in all_text(q)


# ---- Numeric --------------------------------------------------------------------------------------

def test_numeric_tolerance_and_direction():
    q = Numeric("Mean wait for M/M/1 with rho=0.5 and 1/mu = 1 s?", answer=1.0, tolerance=0.1, unit="s",
                explanation="$W_q = \\rho/(\\mu-\\lambda)$")
    assert q.answer(1.05)[0] is True and GREEN in q.feedback.value
    ok, text = q.answer(1.5)
    assert not ok and "too high" in text and RED in q.feedback.value
    ok, text = q.answer(0.5)
    assert not ok and "too low" in text
    assert '<span class="math">' not in q.feedback.value  # two misses: the explanation is still held back
    ok, text = q.answer(0.4)
    assert not ok and "W_q" in text  # the third miss shows it
    assert '<span class="math">' in q.feedback.value    # the explanation's maths kept for MathJax
    assert isinstance(q.feedback, widgets.HTMLMath)
    assert q.answer("one")[0] is False
    q.box.value = 0.95
    button(q, "Check").click()
    assert GREEN in q.feedback.value


def test_numeric_rejects_negative_tolerance():
    with pytest.raises(ValueError, match="tolerance"):
        Numeric("?", answer=1, tolerance=-1)


# ---- Exercise -------------------------------------------------------------------------------------

def test_exercise_with_value_and_hidden_solution():
    def check(value):
        return (value == 12, "12 msg/s keeps utilisation below 1." if value == 12 else "Try again.")

    q = Exercise("Find the largest rate that keeps the queue stable.", check,
                 solution="The answer is **twelve**.", hint="Utilisation is rate / capacity.")
    assert q.takes_value
    assert "twelve" not in all_text(q) and not q.solution_shown
    assert q.answer(11) == (False, "Try again.")
    assert RED in q.feedback.value
    assert q.answer(12)[0] is True and GREEN in q.feedback.value
    assert "twelve" not in all_text(q)              # checking never reveals the solution
    assert "capacity" not in all_text(q)
    button(q, "Hint").click()
    assert "capacity" in all_text(q) and "twelve" not in all_text(q)
    button(q, "Show solution").click()
    assert q.solution_shown and "<strong>twelve</strong>" in all_text(q)


def test_exercise_text_box_reads_literals():
    seen = []
    q = Exercise("Type a number", lambda v: (seen.append(v) or v == 3, "ok"), solution="3")
    q.box.value = " 3 "
    button(q, "Check").click()
    q.box.value = "three"
    button(q, "Check").click()
    assert seen == [3, "three"]


def test_exercise_without_value_inspects_state():
    state = {"consumers": 1}

    def check():
        enough = state["consumers"] >= 3
        return enough, "Lag drains now." if enough else "Lag still grows: add consumers."

    q = Exercise("Add consumers until the lag drains.", check, solution="Use 3 consumers.")
    assert not q.takes_value and q.box not in list(walk(q.widget))
    assert q.answer() == (False, "Lag still grows: add consumers.")
    state["consumers"] = 3
    button(q, "Check").click()
    assert GREEN in q.feedback.value and "drains" in q.feedback.value


def test_exercise_check_errors_become_feedback():
    q = Exercise("Write f", lambda f: (f(2) == 4, "right"), solution="def f(x): return 2 * x")
    ok, text = q.answer(lambda x: 1 / 0)
    assert not ok and "ZeroDivisionError" in text and RED in q.feedback.value
    assert q.answer(lambda x: 2 * x) == (True, "right")


# ---- Prediction -----------------------------------------------------------------------------------

def test_prediction_records_then_reveals():
    p = Prediction("Which architecture answers the client first?", ["R/R", "EDA"])
    ok, text = p.answer("EDA")
    assert ok and "recorded" in text and p.predicted == "EDA"
    assert p.choice.disabled and p.check_button.disabled          # locked before the run
    matched, text = p.reveal("EDA")
    assert matched and "agrees" in text and GREEN in p.feedback.value
    matched, text = p.reveal("R/R")
    assert not matched and "You predicted EDA" in text and "R/R" in text


def test_prediction_button_and_missing_prediction():
    p = Prediction("Guess", ["up", "down", "flat"])
    matched, text = p.reveal("up")
    # Run All / Voila: the run came first; nothing about it may show before the learner commits.
    assert not matched and "up" not in text and "up" not in p.feedback.value
    # Run All / Voila: the run came first; recording afterwards compares with what the run showed.
    p.choice.value = "flat"
    button(p, "Record prediction").click()
    assert p.predicted == "flat"
    assert "you predicted flat; the run shows up" in p.feedback.value.lower()
    assert p.reveal("flat")[0] is True
    with pytest.raises(ValueError):
        p.reveal("sideways")


def test_feedback_is_a_tuple_that_displays_nothing_more():
    p = Prediction("Guess", ["up", "down"])
    fb = p.answer("up")
    ok, text = fb
    assert ok is True and "recorded" in text
    assert fb._ipython_display_() is None


def _page_text(widget) -> str:
    """Everything a widget tree would put on the page as text (HTML values, labels, outputs)."""
    parts = [str(getattr(widget, "value", "") or ""), *(str(o) for o in getattr(widget, "outputs", ()))]
    parts.extend(_page_text(child) for child in getattr(widget, "children", ()))
    return " ".join(parts)


class _FakePanel:
    def __init__(self):
        self.widget = widgets.VBox([widgets.HTML("controls"), widgets.HTML("chart: EDA wins by 2 s")])


def test_prediction_holds_back_what_would_spoil_it():
    p = Prediction("Who answers first?", ["R/R", "EDA"])
    panel = p.guard(_FakePanel())
    table = p.after(lambda: "The run: **EDA** answered in 5 ms")
    p.reveal("EDA")
    before = _page_text(p.widget) + _page_text(panel.widget) + _page_text(table)
    assert "EDA wins" not in before and "5 ms" not in before and "The run shows" not in before
    assert "recorded your prediction" in before  # the placeholder says why it is empty
    p.answer("R/R")
    after = _page_text(panel.widget) + _page_text(table) + p.feedback.value
    assert "EDA wins" in after and "5 ms" in after and "the run shows EDA" in after


def test_prediction_skip_shows_everything_without_a_guess():
    p = Prediction("Who answers first?", ["R/R", "EDA"])
    panel = p.guard(_FakePanel())
    p.reveal("EDA")
    p.skip()
    assert p.done and p.predicted is None and p.choice.disabled
    assert "EDA wins" in _page_text(panel.widget) and "run shows: EDA" in p.feedback.value
    late = p.after("shown at once")  # held-back content made after the prediction shows directly
    assert "shown at once" in _page_text(late)


def test_questions_keep_their_solution_out_of_the_page_until_asked():
    q = Numeric("How many?", answer=4, tolerance=0, unit="consumers", explanation="90 x 0.04 = 3.6",
                hint="Work per second over work per consumer.")
    assert "3.6" not in _page_text(q.widget) and "Work per second" not in _page_text(q.widget)
    assert q.show_hint().startswith("Work") and "Work per second" in q.hint_area.value
    q.show_solution()
    assert "4 consumers" in q.solution_area.value and "3.6" in q.solution_area.value
    m = MultipleChoice("Which?", ["a", "b"], answer="b", explanation="because", hint="think")
    assert "because" not in _page_text(m.widget)
    assert "b" in m.show_solution() and "because" in m.solution_area.value

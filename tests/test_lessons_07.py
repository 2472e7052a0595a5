"""Notebook 07 (the costs of EDA) as a learner meets it: each prediction's answer is what the simulation
computes, every check fails on a wrong answer and passes on a right one at the panel's current settings and
seed, and the texts and tables shown after a prediction are tidy and say what the runs say."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from eda_sim.experiments import get
from eda_sim.lab.views import costs as lesson

from .learner_text import problems


def _text(styler) -> str:
    return re.sub(r"<[^>]+>", " ", styler.to_html())


# -- the predictions ------------------------------------------------------------------------------------
@pytest.mark.parametrize("key, build, reveal, answer", [
    ("outage", lesson.outage_panel, lesson.reveal_outage, "about 8 s"),
    ("duplicates", lesson.duplicates_panel, lesson.reveal_duplicates, "only the consumer that acks every 10 messages"),
    ("stale reads", lesson.consistency_panel, lesson.reveal_consistency, "about 20 %"),
])
def test_prediction_answers_are_what_the_runs_compute(key, build, reveal, answer):
    p = lesson.prediction(key)
    panel = build()
    shown = panel.widget.children
    assert p.guard(panel) is panel and panel.widget.children != shown  # the charts wait
    held = reveal(p, panel)
    assert p.revealed == answer
    assert "Shown once" in held.children[0].value
    ok, text = p.answer(answer)
    assert ok and panel.widget.children == shown
    table, words = held.children[0].children
    assert not problems(words.value, key)


def test_outage_answer_follows_the_run():
    assert lesson.outage_option(get("costs_outage")(outage=1.0)) == "about 5 ms, as usual"  # over by 21 s
    assert lesson.outage_option(get("costs_outage")(outage=4.0)) == "about 2 s"


def test_reveal_texts_quote_the_default_runs():
    text = lesson.outage_text(get("costs_outage")())
    for quoted in ("0 of 313 orders", "52 orders placed during the outage", "waited 8.05 s", "p99: 12.2 s",
                   "against 0.9 s", "(52)", "about 0.10 s", "billed 276 of 559 orders"):
        assert quoted in text, quoted
    text = lesson.duplicates_text(get("costs_duplicates")())
    assert "every message, 0 payments" in text and "13 of 881" in text and "give 27" in text
    text = lesson.consistency_text(get("costs_consistency")())
    for quoted in ("21.9% still miss", "0.79 s", "1/(10 − 4) = 0.167 s", "22.3% at 0.25 s", "0.171 s on average"):
        assert quoted in text, quoted


def test_tables_are_tidy():
    tables = [lesson.outage_table(get("costs_outage")()), lesson.duplicates_table(get("costs_duplicates")()),
              lesson.consistency_table(get("costs_consistency")()), lesson.consistency_table(
                  get("costs_consistency")(rate=8.0, service_mean=0.2)),  # overloaded: theory "–"
              lesson.ordering_table(lesson.ordering_panel()), lesson.parts_table(get("costs_parts")())]
    mon = lesson.monitoring_panel()
    mon.set(slow_factor=1.0, fail_fraction=0.1)  # no alert fires: "–", not NaN
    tables.append(lesson.monitoring_table(mon))
    for styler in tables:
        assert not problems(_text(styler), "table")


# -- the exercises -------------------------------------------------------------------------------------
def test_read_wait_check_at_the_defaults():
    panel = lesson.consistency_panel()
    ex = lesson.exercise("read wait", panel)
    theory, run = lesson.read_wait(panel)
    assert theory == pytest.approx(0.5, abs=0.01) and run == pytest.approx(0.55, abs=0.01)
    assert ex.answer(0.5)[0] and ex.answer(0.55)[0]
    assert not ex.answer(0.3)[0] and not ex.answer(0.8)[0] and not ex.answer("soon")[0]
    assert "0.50 s" in ex.show_solution()


def test_read_wait_check_follows_the_panel():
    panel = lesson.consistency_panel()
    ex = lesson.exercise("read wait", panel)
    panel.set(rate=8.0)
    assert not ex.answer(0.5)[0]  # right at the defaults, wrong here
    assert ex.answer(1.5)[0]  # W ln 20 = 0.5 s x 3.0
    panel.set(rate=8.0, service_mean=0.15)  # lambda >= mu: no answer
    ok, text = ex.answer(1.0)
    assert not ok and "cannot keep up" in text


def test_lag_threshold_check_at_the_defaults():
    panel = lesson.monitoring_panel()
    ex = lesson.exercise("lag threshold", panel)
    assert lesson.lag_range(lesson._deploy(panel)) == (12, 167)
    assert ex.answer(12)[0] and ex.answer(167)[0]
    assert not ex.answer(11)[0] and not ex.answer(168)[0] and not ex.answer("ten")[0]
    assert "from 12 to 167" in ex.show_solution()


def test_lag_threshold_check_follows_the_panels_seed_and_deploy():
    panel = lesson.monitoring_panel()
    ex = lesson.exercise("lag threshold", panel)
    panel.set(seed=2)
    lo, hi = lesson.lag_range(lesson._deploy(panel))
    assert (lo, hi) != (12, 167)
    assert ex.answer(lo)[0] and ex.answer(hi)[0] and not ex.answer(lo - 1)[0] and not ex.answer(hi + 1)[0]
    panel.set(seed=1, slow_factor=1.0, fail_fraction=0.0)  # nothing goes wrong: nothing to alert on
    ok, text = ex.answer(50)
    assert not ok and "Reset" in text


# -- numbers quoted in the notebook's Markdown ---------------------------------------------------------------
def test_ordering_deep_dive_numbers():
    r = get("costs_ordering")()
    assert r.out_of_order("queue") == (47, 796)
    assert r.out_of_order("log") == (0, 795)
    assert r.results["queue"].summary["latency_p95"] == pytest.approx(0.58, abs=0.005)
    assert r.results["log"].summary["latency_p95"] == pytest.approx(1.82, abs=0.005)


def test_monitoring_deep_dive_numbers():
    m = get("costs_monitoring")()
    _, lag, dead = m.series()
    assert m.lag_alert_time() == 76 and lag.max() == 167 and dead[-1] == 11 and m.dlq_alert_time() == 104
    assert float(m.theory_dead_letters(m.params.until)) == pytest.approx(11.7, abs=0.05)
    assert m.capacity(True) == pytest.approx(7.2, abs=0.05)
    assert math.isnan(get("costs_monitoring")(slow_factor=1.0).lag_alert_time())


def test_where_the_claim_breaks_numbers():
    one, six = get("costs_parts")(reactors=1), get("costs_parts")(reactors=6)
    f1r, f1e, f6r, f6e = one.facts("rr"), one.facts("eda"), six.facts("rr"), six.facts("eda")
    assert f1r["moving parts (client excluded)"] == 3 and f1e["moving parts (client excluded)"] == 7
    assert f1r["network round trips per order"] == pytest.approx(3, abs=0.1)
    assert f1e["network round trips per order"] == pytest.approx(4, abs=0.1)
    assert f1e["asynchronous hand-offs per order (trace must be stitched)"] == pytest.approx(2, abs=0.1)
    assert f6r["moving parts (client excluded)"] == 8 and f6e["moving parts (client excluded)"] == 22
    assert f6e["shopper's wait p95 (ms)"] == pytest.approx(61, abs=1)
    assert f6r["shopper's wait p95 (ms)"] == pytest.approx(250, abs=10)
    assert np.isclose(f6e["network round trips per order"] - f6r["network round trips per order"], 1, atol=0.15)

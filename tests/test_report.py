"""The design review's HTML report: one self-contained file (plotly.js inlined once, nothing fetched from another
host), every design and failure in it, and every text from the description escaped."""

from __future__ import annotations

import base64
import html
import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from plotly.offline import get_plotlyjs

from eda_sim.experiments.your_system import example_text
from eda_sim.lab.views.your_system import reviewed
from eda_sim.lab.views.your_system.report import render, write_report

HOSTILE = "<script>alert('name')</script>"


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text of each <script> element."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.scripts, self._in_script = [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


@pytest.fixture(scope="module")
def food():
    return reviewed(example_text("food_delivery"))


@pytest.fixture(scope="module")
def food_html(food, tmp_path_factory):
    path = write_report(food, tmp_path_factory.mktemp("report") / "food.html")
    return path, path.read_text(encoding="utf-8")


def _parse(text: str) -> _Tags:
    p = _Tags()
    p.feed(text)
    return p


def test_report_is_one_self_contained_file(food_html):
    path, text = food_html
    tags = _parse(text)
    outside = [(t, a) for t, a in tags.tags for key in ("src", "href", "action", "data")
               if re.match(r"(?i)\s*(https?:)?//", a.get(key) or "")]
    assert outside == []
    assert not any(t == "link" for t, _ in tags.tags)  # no stylesheet or icon from anywhere
    assert not any(t == "script" and "src" in a for t, a in tags.tags)  # every script is inline
    assert text.count(get_plotlyjs()) == 1  # plotly.js inlined exactly once
    assert sum(s.count("Plotly.newPlot(") for s in tags.scripts) == 4
    assert 3_000_000 < path.stat().st_size < 6_000_000  # plotly.js is most of it


def test_report_lists_every_design_failure_and_sentence(food, food_html):
    _, text = food_html
    tables = text.split("<h2>Designs ranked</h2>", 1)[1]
    for code in food.means.index:
        assert f"<td class='text'>{html.escape(food.label(code))}</td>" in tables
    for f in food.spec.failures:
        assert html.escape(f.name) in text
    for sentence in food.reasons:
        assert f"<li>{html.escape(sentence, quote=True)}</li>" in text
    assert html.escape(example_text("food_delivery")) in text  # the description's text, at the end


def test_report_charts_carry_the_reviews_numbers(food, food_html):
    _, text = food_html
    scripts = _parse(text).scripts
    calls = [s for s in scripts if s.startswith("Plotly.newPlot('chart-ranking'")]
    data = json.loads(re.match(r"Plotly\.newPlot\('chart-ranking', (\[.*?\]), \{", calls[0], re.S).group(1))
    wait = next(t for t in data if t["name"] == "client wait")
    win = food.label(food.winner)
    assert wait["y"][0] == f"1. {win}"
    assert _values(wait["x"])[0] == pytest.approx(food.points().loc[food.winner, "wait"])


def _values(encoded):
    """A trace's numbers as plotly writes them: a list, or base64 with a dtype (plotly >= 6)."""
    if isinstance(encoded, dict):
        return np.frombuffer(base64.b64decode(encoded["bdata"]), dtype=np.dtype(encoded["dtype"])).tolist()
    return encoded


def test_report_escapes_the_description(tmp_path):
    text = (example_text("food_delivery").replace('name = "Food delivery (the capstone)"', f'name = "{HOSTILE}"', 1)
            .replace('name = "notify"', 'name = "notify</script><b>x</b>"', 1)
            .replace("Lunch \\", "Lunch <!-- \\", 1))
    r = reviewed(text)
    page = write_report(r, tmp_path / "hostile.html", text=text).read_text(encoding="utf-8")
    assert HOSTILE not in page and "</script><b>" not in page and "<!--" not in page
    assert html.escape(HOSTILE, quote=True) in page
    tags = _parse(page)
    assert [t for t, _ in tags.tags].count("script") == 6  # plotly.js, four charts, the print helper
    assert not any(t == "b" for t, _ in tags.tags)
    # Inside the charts' JSON, "<" is written \\u003c: the name is data, never markup.
    assert any("notify\\u003c\\u002fscript\\u003e\\u003cb\\u003ex" in s for s in tags.scripts)


def test_write_report_checks_its_arguments(food, tmp_path):
    with pytest.raises(TypeError, match="review must be a Review"):
        write_report({"winner": "x"}, tmp_path / "x.html")
    with pytest.raises(ValueError, match="must name a file"):
        write_report(food, tmp_path)
    with pytest.raises(TypeError, match="text must be"):
        write_report(food, tmp_path / "x.html", text=3)


def test_render_is_deterministic_given_the_time(food):
    assert render(food, generated="2026-01-01 00:00") == render(food, generated="2026-01-01 00:00")

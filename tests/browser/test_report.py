"""Real-browser test of the design review's HTML report (notebook 09, ``python -m eda_sim review FILE``).

The report is opened from disk (file://) in headless Chromium at 1280x800: every chart is drawn with data
points and fits its box, the console shows no error, the page makes no request at all beyond its own file,
and a description whose name and interaction names carry a <script> shows them as text (nothing runs).
Screenshot: ``artifacts/screenshots/report_<example>.png``.
"""

from __future__ import annotations

import pytest

from eda_sim.experiments.your_system import example_text
from eda_sim.lab.views.your_system import reviewed
from eda_sim.lab.views.your_system.report import write_report

from .page import PageSession

SCREENSHOTS = "screenshots"
INJECTED = "<script>window.__pwned = 1</script><img src=x onerror='window.__pwned = 2'>"


def _open(browser, path):
    session = PageSession(browser, width=1280, height=800)
    session.page.goto(path.resolve().as_uri())
    session.page.wait_for_function("() => window.__eda.allDrawn()", timeout=30_000)
    session.page.wait_for_timeout(300)
    return session


@pytest.mark.browser
@pytest.mark.parametrize("example", ["food_delivery", "notifications"])
def test_report_draws_every_chart_offline(example, browser, artifacts_dir, tmp_path):
    text = example_text(example)
    path = write_report(reviewed(text), tmp_path / f"{example}.html", text=text)
    session = _open(browser, path)
    try:
        page = session.page
        summary = page.evaluate("() => window.__eda.summary()")
        assert len(summary) == 4, summary
        assert all(c["drawn"] and c["points"] > 0 for c in summary), summary
        assert all(c["xaxis"] and c["yaxis"] for c in summary), summary  # every chart has axis titles
        assert page.evaluate("() => window.__eda.emptyCharts()") == []
        assert page.evaluate("() => window.__eda.boxes()") == []
        assert session.console_errors == []
        others = [u for u in session.requests if not u.startswith("file://")]
        assert others == [], others
        assert [u for u in session.requests if u.startswith("file://")] == [path.resolve().as_uri()]
        # Interactive: the inlined plotly.js draws a hover label on the ranking chart's first bar.
        page.evaluate("() => Plotly.Fx.hover(document.querySelector('#chart-ranking'), "
                      "[{curveNumber: 0, pointNumber: 0}])")
        page.wait_for_timeout(200)
        assert page.locator(".eda-chart[data-chart=ranking] .hoverlayer .hovertext").count() >= 1
        session.screenshot(artifacts_dir / SCREENSHOTS / f"report_{example}.png")
    finally:
        session.close()


@pytest.mark.browser
def test_report_shows_a_hostile_name_as_text(browser, artifacts_dir, tmp_path):
    text = example_text("food_delivery").replace('name = "Food delivery (the capstone)"',
                                                 f'name = "{INJECTED}"', 1)
    text = text.replace('name = "notify"', 'name = "notify<script>window.__pwned = 3</script>"', 1)
    path = write_report(reviewed(text), tmp_path / "hostile.html", text=text)
    session = _open(browser, path)
    try:
        page = session.page
        assert page.evaluate("() => window.__pwned") is None
        assert INJECTED in page.locator("h1").inner_text()
        assert page.locator("body script").count() == 5  # four charts and the print helper, nothing else
        assert session.console_errors == []
        assert all(u.startswith("file://") for u in session.requests), session.requests
    finally:
        session.close()

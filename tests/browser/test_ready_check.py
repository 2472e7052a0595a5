"""The ready-check notebook in a real browser: green only when the chart drew, red when it cannot.

* JupyterLab and Voilà: the status line turns green ("Ready: widgets and charts work in this
  browser") once the chart is drawn, names the Python and eda_sim versions, and after a slider move
  says the chart followed it; the note meant for pages without widgets stays hidden.
* The two usual failures, made real by blocking the browser's requests for an extension:
  the lab's chart extension missing (JupyterLab and Voilà: the line turns red after the timeout and
  never green) and the widget manager missing (JupyterLab: panels show as text, and the plain note
  under them says the widgets did not load).
"""

from __future__ import annotations

import platform
import re
import secrets
import urllib.parse

import pytest

from eda_sim import __version__
from eda_sim.lab.views.ready_check import TIMEOUT_S, TROUBLESHOOTING

from .page import SLIDER_HANDLE, PageSession
from .test_browser import PAGE_LOAD_TIMEOUT_MS, SCREENSHOT_DIR, _wait_for_kernel, _wait_until_idle

NOTEBOOK = "notebooks/ready_check.ipynb"
GREEN = ".eda-ready-ready, .eda-ready-followed"
RED = ".eda-ready-failed"
WAIT_MS = (TIMEOUT_S + 30) * 1000
CHARTS_EXTENSION = re.compile(r".*/eda-lab-charts/.*")
WIDGETS_EXTENSION = re.compile(r".*/@jupyter-widgets/jupyterlab-manager/.*")


def _open_lab(session: PageSession, lab_server) -> None:
    page = session.page
    url = (f"{lab_server.url}/lab/workspaces/t{secrets.token_hex(4)}/tree/{urllib.parse.quote(NOTEBOOK)}"
           f"?reset&token={lab_server.token}")
    page.goto(url, timeout=PAGE_LOAD_TIMEOUT_MS)
    page.wait_for_function("() => window.jupyterapp && document.querySelector('.jp-NotebookPanel .jp-Cell')",
                           timeout=PAGE_LOAD_TIMEOUT_MS)
    _wait_for_kernel(page, PAGE_LOAD_TIMEOUT_MS / 1000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    _wait_until_idle(page, 120)


def _open_voila(session: PageSession, voila_server) -> None:
    session.page.goto(f"{voila_server.url}/voila/render/{urllib.parse.quote(NOTEBOOK)}",
                      timeout=PAGE_LOAD_TIMEOUT_MS, wait_until="commit")


def _status(page) -> str:
    return page.evaluate("() => (document.querySelector('.eda-ready') || {}).innerText || ''")


@pytest.mark.browser
@pytest.mark.parametrize("frontend", ["lab", "voila"])
def test_ready_check_turns_green_after_the_chart_drew(frontend, browser, request):
    server = request.getfixturevalue("lab_server" if frontend == "lab" else "voila_server")
    session = PageSession(browser)
    page = session.page
    try:
        if frontend == "lab":
            _open_lab(session, server)
        else:
            _open_voila(session, server)
        page.wait_for_function(f"() => document.querySelector({GREEN!r})", timeout=WAIT_MS, polling="raf")
        # The chart must already be drawn when the line turns green: the report comes after the draw.
        assert page.evaluate("() => window.__eda.allDrawn() && window.__eda.charts().length === 1")
        text = _status(page)
        assert "Ready: widgets and charts work in this browser" in text, text
        assert f"Python {platform.python_version()}, eda_sim {__version__}" in text, text
        assert not page.evaluate("() => document.querySelector('.eda-ready-note').offsetParent"), (
            "the note for pages without widgets is visible although widgets work")
        before = page.evaluate("() => window.__eda.sig(window.__eda.gd(window.__eda.charts()[0]))")
        handle = page.locator(SLIDER_HANDLE).first
        handle.scroll_into_view_if_needed()
        handle.press("ArrowRight")
        page.wait_for_function("() => document.querySelector('.eda-ready-followed')", timeout=30_000)
        after = page.evaluate("() => window.__eda.sig(window.__eda.gd(window.__eda.charts()[0]))")
        assert after != before, "the line says the chart followed the slider, but its data did not change"
        drawn = int(re.search(r"drawn (\d+) times", _status(page)).group(1))
        assert drawn >= 2, _status(page)
        assert not page.evaluate("() => window.__eda.errors()")
        assert not session.console_errors, session.console_errors
        assert not session.external_requests()
        page.screenshot(path=str(SCREENSHOT_DIR / f"ready_{frontend}_green.png"), full_page=True)
    finally:
        session.close()


@pytest.mark.browser
@pytest.mark.parametrize("frontend", ["lab", "voila"])
def test_ready_check_turns_red_without_the_chart_extension(frontend, browser, request):
    server = request.getfixturevalue("lab_server" if frontend == "lab" else "voila_server")
    session = PageSession(browser)
    page = session.page
    blocked = []
    page.route(CHARTS_EXTENSION, lambda route: (blocked.append(route.request.url), route.abort()))
    try:
        if frontend == "lab":
            _open_lab(session, server)
        else:
            _open_voila(session, server)
        page.wait_for_function(f"() => document.querySelector({RED!r}) || document.querySelector({GREEN!r})",
                               timeout=WAIT_MS)
        assert blocked, "the test blocked nothing: the chart extension was not requested"
        text = _status(page)
        assert page.locator(GREEN).count() == 0, text
        assert text.startswith("✘ Not ready: the chart did not draw") and TROUBLESHOOTING in text, text
        assert not page.evaluate("() => window.__eda.allDrawn() && window.__eda.charts().length > 0")
        page.screenshot(path=str(SCREENSHOT_DIR / f"ready_{frontend}_no_charts.png"), full_page=True)
    finally:
        session.close()


@pytest.mark.browser
def test_ready_check_explains_panels_shown_as_text(browser, lab_server):
    """No widget manager: JupyterLab prints the panel as text; the plain note says what went wrong."""
    session = PageSession(browser)
    page = session.page
    page.route(WIDGETS_EXTENSION, lambda route: route.abort())
    try:
        _open_lab(session, lab_server)
        body = page.evaluate("() => document.body.innerText")
        assert "VBox(" in body or "HTML(value=" in body, "the panel did not fall back to text"
        note = page.locator(".eda-ready-note")
        assert note.is_visible()
        assert "Waiting for the lab's widgets to load" in note.inner_text() or "Not ready" in note.inner_text()
        page.wait_for_function("() => (document.querySelector('.eda-ready-note') || {}).innerText"
                               " && document.querySelector('.eda-ready-note').innerText.startsWith('Not ready')",
                               timeout=WAIT_MS)
        assert TROUBLESHOOTING in note.inner_text()
        assert page.locator(GREEN).count() == 0
        page.screenshot(path=str(SCREENSHOT_DIR / "ready_lab_no_widgets.png"), full_page=True)
    finally:
        session.close()

"""Presenter mode (``python -m eda_sim present``) in a real browser at a projector's 1280x720.

The command itself is started, as an instructor would; then the list of notebooks and notebook 04:
* the list shows every notebook, in large text;
* the notebook shows no code, body text of at least 20 px, every chart drawn with data and inside
  its box, no sideways scrolling; charts follow the dark theme (light axis text on a see-through
  background) and are drawn larger (``--eda-chart-scale``);
* no request to another host, no console error, no Python error.
Also at 1024x768 (an older projector). Screenshots: ``artifacts/screenshots/presenter_*.png``.
"""

from __future__ import annotations

import sys
import urllib.parse

import pytest

from .conftest import REPO_ROOT, ServerProcess, _server_env, free_port
from .page import PageSession
from .test_browser import NOTEBOOK_RUN_TIMEOUT_S, SCREENSHOT_DIR, _record_predictions

PROJECTOR = {"width": 1280, "height": 720}
OLD_PROJECTOR = {"width": 1024, "height": 768}
NOTEBOOK = "04_reactivity.ipynb"
MIN_BODY_PX = 20.0
MIN_TICK_PX = 15.0  # plotly's 12 px ticks, times the presenter scale of 1.5 is 18 px

STYLE_JS = """() => {
  const px = (el) => el ? parseFloat(getComputedStyle(el).fontSize) : null;
  const para = document.querySelector('.jp-RenderedMarkdown p');
  const tick = document.querySelector('.eda-chart .xtick text');
  const luminance = (color) => {
    const m = (color || '').match(/\\d+(\\.\\d+)?/g);
    if (!m) return null;
    const [r, g, b] = m.slice(0, 3).map(Number);
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
  };
  const paper = document.querySelector('.eda-chart .main-svg .bg');
  const scroller = document.scrollingElement;
  return {
    body_px: px(para), tick_px: tick ? parseFloat(tick.style.fontSize || getComputedStyle(tick).fontSize) : null,
    tick_luminance: tick ? luminance(tick.style.fill || getComputedStyle(tick).fill) : null,
    paper_fill: paper ? (paper.style.fill || paper.getAttribute('fill')) : null,
    dark: document.body.getAttribute('data-jp-theme-light') === 'false',
    code_cells: Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputArea, .jp-InputArea-editor, .cm-editor'))
      .filter((e) => e.offsetParent !== null && (e.innerText || '').trim()).length,
    sideways: scroller.scrollWidth - scroller.clientWidth,
  };
}"""


@pytest.fixture(scope="module")
def presenter(browser_requirements, tmp_path_factory, request):
    """``python -m eda_sim present`` on a free port: dark, or light with ``--light``."""
    servers = {}

    def start(light: bool) -> ServerProcess:
        if light not in servers:
            home = tmp_path_factory.mktemp("presenter_home")
            port = free_port()
            argv = [sys.executable, "-m", "eda_sim", "present", "--no-browser", f"--port={port}"]
            if light:
                argv.append("--light")
            base = f"http://localhost:{port}"
            server = ServerProcess("presenter mode", argv, url=base, probe_url=f"{base}/voila/tree",
                                   log_path=home / "present.log", env=_server_env(home), cwd=REPO_ROOT)
            servers[light] = server
            server.wait_ready()
        return servers[light]

    yield start
    for server in servers.values():
        server.stop()


def _problems(session: PageSession) -> list[str]:
    found = [f"console: {e}" for e in session.console_errors]
    found += [f"request to another host: {u}" for u in session.external_requests()]
    found += [f"python: {e[:300]}" for e in session.page.evaluate("() => window.__eda.errors()")]
    return found


@pytest.mark.browser
def test_presenter_mode_lists_every_notebook_in_large_text(browser, presenter):
    server = presenter(light=False)
    assert "Presenter mode (dark): " + server.url + "/voila/tree" in server.log_tail(), server.log_tail()
    session = PageSession(browser, **PROJECTOR)
    page = session.page
    try:
        page.goto(f"{server.url}/voila/tree", timeout=60_000)
        page.wait_for_function("() => document.body.innerText.includes('04_reactivity')", timeout=60_000)
        page.wait_for_timeout(800)
        text = page.evaluate("() => document.body.innerText")
        expected = sorted(p.stem for p in (REPO_ROOT / "notebooks").glob("*.ipynb"))
        missing = [name for name in expected if name not in text]
        assert not missing, f"not listed: {missing}"
        link = page.get_by_role("link", name="04_reactivity")
        assert link.get_attribute("target") in (None, "_self"), "notebooks should open in the same tab"
        size = float(link.evaluate("(a) => parseFloat(getComputedStyle(a).fontSize)"))
        assert size >= MIN_BODY_PX, f"notebook names in {size} px text"
        assert page.evaluate("() => document.body.getAttribute('data-jp-theme-light')") != "true"
        page.screenshot(path=str(SCREENSHOT_DIR / "presenter_tree.png"))
        assert not _problems(session), _problems(session)
        link.click()  # the notebook opens in this tab, and its Contents link comes back
        page.wait_for_function("() => document.querySelector('.eda-panel')", timeout=NOTEBOOK_RUN_TIMEOUT_S * 1000)
        page.get_by_role("link", name="Contents").first.click()
        page.wait_for_url("**/voila/tree**", timeout=30_000)
    finally:
        session.close()


@pytest.mark.browser
@pytest.mark.parametrize("light,window", [(False, PROJECTOR), (True, PROJECTOR), (False, OLD_PROJECTOR)],
                         ids=["dark", "light", "dark-1024"])
def test_presenter_mode_notebook_fits_a_projector(browser, presenter, light, window):
    server = presenter(light=light)
    session = PageSession(browser, **window)
    page = session.page
    try:
        page.goto(f"{server.url}/voila/render/{urllib.parse.quote(NOTEBOOK)}",
                  timeout=NOTEBOOK_RUN_TIMEOUT_S * 1000, wait_until="commit")
        page.wait_for_function("() => document.querySelector('.eda-panel') || window.__eda.errors().length",
                               timeout=NOTEBOOK_RUN_TIMEOUT_S * 1000)
        page.wait_for_timeout(500)
        failures = _record_predictions(session, "presenter")  # the charts are held back until then
        session.wait_all_drawn(NOTEBOOK_RUN_TIMEOUT_S)
        summary = session.settle()
        style = page.evaluate(STYLE_JS)
        failures += _problems(session)
        if not summary:
            failures.append("no chart on the page")
        failures += page.evaluate("() => window.__eda.emptyCharts()")
        failures += page.evaluate("() => window.__eda.boxes()")
        if style["code_cells"]:
            failures.append(f"{style['code_cells']} code cells shown")
        if not style["body_px"] or style["body_px"] < MIN_BODY_PX:
            failures.append(f"body text {style['body_px']} px, want at least {MIN_BODY_PX}")
        if not style["tick_px"] or style["tick_px"] < MIN_TICK_PX:
            failures.append(f"chart tick labels {style['tick_px']} px, want at least {MIN_TICK_PX}")
        if style["sideways"] > 1:
            failures.append(f"the page scrolls sideways by {style['sideways']} px")
        if style["dark"] == light:
            failures.append(f"theme: dark={style['dark']} with light={light}")
        lum = style["tick_luminance"]
        if lum is None or (lum < 0.6 if not light else lum > 0.5):
            failures.append(f"chart text luminance {lum} does not suit the {'light' if light else 'dark'} page")
        name = f"presenter_04_{'light' if light else 'dark'}_{window['width']}.png"
        session.screenshot(SCREENSHOT_DIR / name)
        assert not failures, "presenter mode, notebook 04:\n  " + "\n  ".join(map(str, failures))
    finally:
        session.close()

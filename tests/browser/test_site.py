"""The lesson site: built by its one command, then three pages opened from disk in headless Chromium.

The session fixture runs ``scripts/build_site.py`` (executing the notebooks two at a time, cached in
build/site-cache) into ``build/site``. Then, for the home page, the reference notebook (04) and the
notebook with the most charts (07), each opened as ``file://`` (how a reader opens a copied folder):

* every lab chart is drawn by plotly with data, fits its box, and answers the mouse (hover text);
* every control panel says its sliders need the live lab and links there;
* the "run it live" links have the shapes of README.md and binder/README.md (Binder JupyterLab at
  this page's notebook, Voilà app of this notebook);
* every internal link resolves: the file exists in the site and so does the #anchor;
* no request leaves the machine, and the console has no error.

Then, for the workshop: every page of docs/workshop is built and in the site's menu (with any notebook
outside 00-08, such as the ready-check), its internal links resolve, and the handout prints on one page of
A4 and of US Letter (Chromium's ``page.pdf``; the PDFs go to ``artifacts/``).

Screenshots: ``artifacts/screenshots/site_<page>.png``.
"""

from __future__ import annotations

import html.parser
import re
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from .conftest import skip_or_fail
from .page import PageSession

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "artifacts" / "screenshots"
SITE = REPO_ROOT / "build" / "site"
#: (page, notebook it shows or None): the home page, the reference notebook, the one with most charts.
PAGES = [("index.html", None), ("04_reactivity.html", "04_reactivity.ipynb"),
         ("07_costs_of_eda.html", "07_costs_of_eda.ipynb")]
BINDER = r"https://mybinder\.org/v2/gh/[\w.-]+/[\w.-]+/[\w./-]+"


@pytest.fixture(scope="session")
def site(browser_requirements) -> dict:
    """Build the site with its one command; return the build's summary."""
    try:
        import material  # noqa: F401
        import mkdocs  # noqa: F401
        import mkdocs_jupyter  # noqa: F401
    except ImportError as exc:
        skip_or_fail(f"the lesson site needs the tools of requirements-dev.txt ({exc})")
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    import build_site

    start = time.monotonic()
    summary = build_site.build(SITE, jobs=2)
    summary["wall_s"] = round(time.monotonic() - start, 1)
    print(f"\n[site] {summary}")
    return summary


class _Ids(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)


_IDS: dict[Path, set[str]] = {}


def _ids(path: Path) -> set[str]:
    if path not in _IDS:
        parser = _Ids()
        parser.feed(path.read_text(errors="replace"))
        _IDS[path] = parser.ids
    return _IDS[path]


def _broken_links(hrefs: list[str]) -> list[str]:
    """Internal links (file:// into the site) whose file or #anchor does not exist."""
    broken = []
    for href in hrefs:
        parts = urllib.parse.urlsplit(href)
        if parts.scheme != "file":
            continue
        target = Path(urllib.parse.unquote(parts.path))
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file() or SITE.resolve() not in target.resolve().parents:
            broken.append(f"{href}: no such page in the site")
        elif parts.fragment and target.suffix == ".html" and \
                urllib.parse.unquote(parts.fragment) not in _ids(target):
            broken.append(f"{href}: no #{parts.fragment} in {target.name}")
    return broken


def _live_link_problems(page, notebook: str | None) -> list[str]:
    """The run-it-live bar and every panel's note link to Binder in the README's formats."""
    lab = f"{BINDER}\\?urlpath=lab/tree/notebooks/{re.escape(notebook or '00_start_here.ipynb')}"
    voila = (f"{BINDER}\\?urlpath=voila/render/notebooks/{re.escape(notebook)}" if notebook
             else f"{BINDER}\\?urlpath=voila/tree/notebooks")
    found = []
    for kind, pattern in (("lab", lab), ("voila", voila)):
        hrefs = page.eval_on_selector_all(f"a.eda-live-{kind}", "(els) => els.map((e) => e.href)")
        if not hrefs:
            found.append(f"no run-it-live {kind} link")
        found += [f"{kind} link {h!r} does not match {pattern}" for h in hrefs if not re.fullmatch(pattern, h)]
    panels = page.locator(".eda-static-panel")
    for i in range(panels.count()):
        note = panels.nth(i).locator(".eda-static-note")
        if "run it live" not in note.inner_text().lower() or note.locator("a.eda-live-voila").count() != 1:
            found.append(f"panel {i}: no 'run it live' note with a Voilà link")
    return found


def _hover_shows_values(page) -> bool:
    """Move the mouse across the first chart's plot area; true when plotly shows a hover label."""
    area = page.locator(".eda-chart .nsewdrag").first
    area.scroll_into_view_if_needed()
    box = area.bounding_box()
    if not box:
        return False
    for fx in (0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9):
        page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * 0.5)
        page.wait_for_timeout(120)
        if page.locator(".eda-chart .hoverlayer .hovertext").count():
            return True
    return False


@pytest.mark.browser
@pytest.mark.parametrize("name,notebook", PAGES, ids=[p for p, _ in PAGES])
def test_site_page(name, notebook, site, browser, artifacts_dir):
    assert site["warnings"] == [], f"mkdocs warned: {site['warnings']}"
    path = SITE / name
    assert path.is_file(), f"{name} was not built"
    session = PageSession(browser, width=1280, height=900)
    page = session.page
    try:
        page.goto(path.as_uri(), wait_until="load")
        failures = []
        charts = page.locator(".eda-chart").count()
        if notebook:
            if not charts:
                failures.append("no chart on a notebook page")
            session.wait_all_drawn(30)
            summary = session.settle(15)
            if len(summary) != charts:
                failures.append(f"{charts} charts in the page, {len(summary)} drawn")
            empty = page.evaluate("() => window.__eda.emptyCharts()")
            if empty:
                failures.append(f"charts not drawn or with no data: {empty}")
            boxes = [b for b in page.evaluate("() => window.__eda.boxes()") if "scrolls sideways" not in b]
            if boxes:
                failures.append(f"chart box problems: {boxes[:8]}")
            if not _hover_shows_values(page):
                failures.append("hovering over the first chart shows no values (plotly not interactive)")
        failures += _live_link_problems(page, notebook)
        hrefs = page.eval_on_selector_all("a[href]", "(els) => els.map((e) => e.href)")
        failures += _broken_links(hrefs)
        if session.console_errors:
            failures.append(f"console errors: {session.console_errors[:5]}")
        external = session.external_requests()
        if external:
            failures.append(f"requests to other hosts: {external}")
        page.evaluate("() => window.scrollTo(0, 0)")
        session.screenshot(SCREENSHOT_DIR / f"site_{Path(name).stem}.png")
        print(f"\n[site:{name}] {charts} charts, {len(hrefs)} links, {len(session.requests)} requests (all local)")
        assert not failures, f"site page {name}:\n  " + "\n  ".join(failures)
    finally:
        session.close()


@pytest.mark.browser
def test_site_has_every_notebook_and_the_guides(site):
    notebooks = sorted(p.stem for p in (REPO_ROOT / "notebooks").glob("*.ipynb"))
    workshop = [f"workshop_{p.stem}" for p in sorted((REPO_ROOT / "docs" / "workshop").glob("*.md"))]
    pages = {p.stem for p in SITE.glob("*.html")}
    missing = [n for n in [*notebooks, *workshop, "index", "setup", "facilitator_guide"] if n not in pages]
    assert not missing, f"pages missing from the site: {missing}"
    assert site["charts"] > 0 and site["panels"] > 0, site
    # the Workshop menu reaches every workshop page, the notebooks outside 00-08 and the facilitator guide
    menu = _Links()
    menu.feed((SITE / "index.html").read_text())
    extra = [n for n in notebooks if not re.fullmatch(r"\d\d_.*", n)]
    unreachable = [n for n in [*workshop, *extra, "facilitator_guide"] if f"{n}.html" not in menu.hrefs]
    assert not unreachable, f"not in the site's menu: {unreachable}"
    assert "Workshop" in (SITE / "index.html").read_text()


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: set[str] = set()

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href") if tag == "a" else None
        if href:
            self.hrefs.add(href)


@pytest.mark.browser
def test_workshop_pages_link_only_to_pages_and_anchors_that_exist(site):
    """Every internal link of the workshop pages and the facilitator guide, as built (file and #anchor)."""
    broken = []
    for page in [*sorted(SITE.glob("workshop_*.html")), SITE / "facilitator_guide.html"]:
        parser = _Links()
        parser.feed(page.read_text())
        hrefs = [urllib.parse.urljoin(page.as_uri(), h) for h in parser.hrefs]
        broken += [f"{page.name}: {b}" for b in _broken_links(hrefs)]
    assert not broken, "\n  ".join(broken)


@pytest.mark.browser
@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_handout_prints_on_one_sheet(paper, site, browser, artifacts_dir):
    """The handout, printed from the built site by Chromium (what a browser's Print does), is one page."""
    page = browser.new_page()
    try:
        page.goto((SITE / "workshop_handout.html").as_uri(), wait_until="load")
        pdf = page.pdf(format=paper)
        (artifacts_dir / f"handout_{paper}.pdf").write_bytes(pdf)
        pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
        assert pages == 1, f"the handout prints on {pages} {paper} pages"
        text = page.inner_text(".handout")
        assert "Little's law" in text and "1 − (1 − p)ⁿ" in text and "I can" in text
    finally:
        page.close()

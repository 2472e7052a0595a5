"""What the real-browser tests look at in a page: charts, panels, boxes, requests, console errors.

The checks run inside the page (``CHECKS_JS``, installed before any of the page's scripts) and return
plain lists of problems, so each test reads as "load, act, assert the list is empty", and the
defect fixture (``fixture_defects.ipynb``) can prove that every check fires when it should.
"""

from __future__ import annotations

import contextlib
import time
import urllib.parse
from pathlib import Path

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
#: Laptop and projector windows every chart must fit: (width, height) in CSS pixels.
WINDOWS = [(1280, 800), (1440, 900), (1920, 1080)]
CHART = ".eda-chart"
PANEL = ".eda-panel"
SLIDER_HANDLE = ".widget-slider .noUi-handle"

CHECKS_JS = r"""
window.__eda = {
  charts(root) { return Array.from((root || document).querySelectorAll('.eda-chart')); },
  gd(chart) { return chart.querySelector('.js-plotly-plot'); },
  sig(gd) {
    if (!gd || !gd.data) return 'undrawn';
    try {
      return JSON.stringify(gd.data, (k, v) => (ArrayBuffer.isView(v) ? Array.from(v) : v));
    } catch (e) { return 'unserialisable:' + Math.random(); }
  },
  points(trace) {
    let n = 0;
    for (const key of ['x', 'y', 'z', 'values', 'text']) {
      const v = trace[key];
      if (v && v.length) n = Math.max(n, v.length);
    }
    return n;
  },
  summary() {
    return window.__eda.charts().map((chart) => {
      const gd = window.__eda.gd(chart);
      const fl = (gd && gd._fullLayout) || {};
      const text = (o) => (o && o.title && o.title.text) || '';
      const data = (gd && gd.data) || [];
      return {title: text(fl), xaxis: text(fl.xaxis), yaxis: text(fl.yaxis), traces: data.length,
              points: data.reduce((n, t) => n + window.__eda.points(t), 0), drawn: !!gd};
    });
  },
  // Problems: charts not drawn or with no data points.
  emptyCharts() {
    return window.__eda.summary()
      .map((c, i) => (!c.drawn ? `#${i}: not drawn`
                      : c.points === 0 ? `#${i} '${c.title}': no data` : null))
      .filter((x) => x);
  },
  // Problems: parts of a chart outside the chart's own box, charts wider than their output,
  // outputs that scroll sideways.
  boxes() {
    const out = [];
    const tol = 1.5;
    const px = (v) => v.toFixed(0);
    const span = (q) => `${px(q.left)}..${px(q.right)} x ${px(q.top)}..${px(q.bottom)}`;
    const outside = (r, box) => r.left < box.left - tol || r.right > box.right + tol ||
                                r.top < box.top - tol || r.bottom > box.bottom + tol;
    window.__eda.charts().forEach((chart, i) => {
      const gd = window.__eda.gd(chart);
      if (!gd || chart.offsetParent === null) return;
      const box = chart.getBoundingClientRect();
      if (box.width < 50) { out.push(`#${i}: squeezed to ${box.width.toFixed(0)} px`); return; }
      const svg = gd.querySelector('.main-svg');
      if (svg) {
        const s = svg.getBoundingClientRect();
        if (s.width > box.width + tol) {
          out.push(`#${i}: drawn ${s.width.toFixed(0)} px wide in a ${box.width.toFixed(0)} px box`);
        }
      }
      const title = ((gd._fullLayout || {}).title || {}).text || '';
      const parts = gd.querySelectorAll(
        '.legend, .annotation, .gtitle, .g-xtitle, .g-ytitle, .xtick text, .ytick text, ' +
        'text.bartext, .textpoint text, .shape-group text');
      parts.forEach((el) => {
        const r = el.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) return;
        if (outside(r, box)) {
          const what = el.classList.contains('legend') ? 'legend'
            : (el.textContent || el.getAttribute('class') || '').slice(0, 40);
          out.push(`#${i} '${title.slice(0, 40)}': '${what}' outside the chart (${span(r)} vs ${span(box)})`);
        }
      });
      const area = chart.closest('.jp-OutputArea-output');
      if (area) {
        const a = area.getBoundingClientRect();
        if (box.right > a.right + tol) {
          out.push(`#${i}: reaches ${(box.right - a.right).toFixed(0)} px past its output`);
        }
      }
    });
    document.querySelectorAll('.widget-hslider').forEach((slider, i) => {
      const track = slider.querySelector('.noUi-target') || slider.querySelector('.slider-container');
      if (track && slider.offsetParent !== null && track.getBoundingClientRect().width < 199) {
        const label = slider.innerText.split('\\n')[0];
        out.push(`slider ${i} '${label}': track only ${px(track.getBoundingClientRect().width)} px`);
      }
    });
    document.querySelectorAll('.jp-OutputArea-output').forEach((area, i) => {
      if (area.offsetParent !== null && area.scrollWidth > area.clientWidth + 2) {
        out.push(`output ${i} scrolls sideways (${area.scrollWidth} > ${area.clientWidth} px)`);
      }
    });
    return out;
  },
  // Python tracebacks in outputs (JupyterLab and Voila), and Voila's own error notice.
  errors() {
    const found = Array.from(document.querySelectorAll('.jp-OutputArea-output'))
      .map((e) => e.innerText || '')
      .filter((t) => t.includes('Traceback (most recent call last)')
                     || t.includes('Error displaying widget'))
      .map((t) => t.slice(0, 1500));
    const body = (document.body && document.body.innerText) || '';
    const at = body.indexOf('There was an error when executing cell');
    if (at >= 0) found.push(body.slice(at, at + 1500));
    return found;
  },
  panels() { return Array.from(document.querySelectorAll('.eda-panel')); },
  // Arm a probe on one panel: t0 = first keydown/click, t1 = first DOM change of one of the
  // panel's charts whose data differs from what it was when armed.
  arm(panelIndex) {
    const panel = window.__eda.panels()[panelIndex];
    const charts = window.__eda.charts(panel);
    const probe = {t0: null, t1: null, changed: -1};
    const before = charts.map((c) => window.__eda.sig(window.__eda.gd(c)));
    const observers = [];
    const start = () => { if (probe.t0 === null) probe.t0 = performance.now(); };
    document.addEventListener('keydown', start, true);
    document.addEventListener('click', start, true);
    const stop = () => {
      observers.forEach((o) => o.disconnect());
      document.removeEventListener('keydown', start, true);
      document.removeEventListener('click', start, true);
    };
    charts.forEach((chart, i) => {
      const obs = new MutationObserver(() => {
        if (probe.t1 !== null || probe.t0 === null) return;
        if (window.__eda.sig(window.__eda.gd(chart)) !== before[i]) {
          probe.t1 = performance.now(); probe.changed = i; stop();
        }
      });
      obs.observe(chart, {subtree: true, childList: true, attributes: true, characterData: true});
      observers.push(obs);
    });
    probe.stop = stop;
    window.__edaProbe = probe;
    return charts.length;
  },
  allDrawn() {
    const charts = window.__eda.charts();
    return charts.every((c) => { const gd = window.__eda.gd(c); return gd && gd.data; });
  },
};
"""


def is_local(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https", "ws", "wss"}:
        return True  # data:, blob:, about: never leave the machine
    return (parts.hostname or "") in LOCAL_HOSTS


class PageSession:
    """A fresh browser context and page that records requests, bytes received and console errors."""

    def __init__(self, browser, width: int = 1440, height: int = 900) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.context.add_init_script(CHECKS_JS)
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        self.bytes_received = 0
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.page.on("request", lambda req: self.requests.append(req.url))
        self.page.on("requestfinished", self._count_response)
        self.page.on("websocket", self._watch_socket)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.console_errors.append(f"pageerror: {exc}"[:400]))

    def _count_response(self, request) -> None:
        with contextlib.suppress(Exception):
            self.bytes_received += max(0, request.sizes()["responseBodySize"])

    def _watch_socket(self, ws) -> None:
        self.requests.append(ws.url)
        ws.on("framereceived", lambda payload: self._add_bytes(len(payload)))

    def _add_bytes(self, n: int) -> None:
        self.bytes_received += n

    def _console(self, msg) -> None:
        if msg.type == "error":
            self.console_errors.append(msg.text[:400])

    def external_requests(self) -> list[str]:
        return sorted({u for u in self.requests if not is_local(u)})

    def close(self) -> None:
        self.context.close()

    def screenshot(self, path: Path) -> None:
        """The whole page: the window is made as tall as the notebook's scrolling box for the shot."""
        path.parent.mkdir(parents=True, exist_ok=True)
        page = self.page
        size = page.viewport_size
        tall = page.evaluate("""() => Math.max(0, ...Array.from(document.querySelectorAll(
          '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer, #rendered_cells, body, html'))
          .map((e) => e.scrollHeight))""")
        if tall:
            page.set_viewport_size({"width": size["width"], "height": min(tall + 160, 16000)})
            page.wait_for_timeout(800)
        page.screenshot(path=str(path), full_page=True)
        if tall:
            page.set_viewport_size(size)

    def wait_all_drawn(self, timeout_s: float) -> float:
        """Seconds until every chart on the page is drawn with plotly (or until the timeout)."""
        start = time.monotonic()
        with contextlib.suppress(Exception):
            self.page.wait_for_function("() => window.__eda.allDrawn()", timeout=timeout_s * 1000, polling=100)
        return time.monotonic() - start

    def settle(self, timeout_s: float = 30.0) -> list[dict]:
        """The charts' summary once it has stopped changing (or at the timeout)."""
        deadline = time.monotonic() + timeout_s
        previous, stable = None, 0
        while True:
            summary = self.page.evaluate("() => window.__eda.summary()")
            stable = stable + 1 if summary == previous else 0
            previous = summary
            if (stable >= 2 and all(c["drawn"] for c in summary)) or time.monotonic() > deadline:
                return summary
            self.page.wait_for_timeout(400)


def press_and_time(page, panel: int, control, key: str | None, timeout_ms: int) -> float | None:
    """Press ``key`` on a slider handle (or click a button when ``key`` is None); ms until one of the
    panel's charts shows new data, or None when none changed within ``timeout_ms``."""
    control.scroll_into_view_if_needed()
    n = page.evaluate("(i) => window.__eda.arm(i)", panel)
    if n == 0:
        return None
    if key is None:
        control.click()
    else:
        control.press(key)
    try:
        page.wait_for_function("() => window.__edaProbe.t1 !== null", timeout=timeout_ms, polling="raf")
    except Exception:  # playwright's TimeoutError
        page.evaluate("() => window.__edaProbe.stop()")
        return None
    probe = page.evaluate("() => ({t0: window.__edaProbe.t0, t1: window.__edaProbe.t1})")
    return float(probe["t1"] - probe["t0"])


def slider_key(handle) -> str:
    """ArrowRight, or ArrowLeft when the slider is at its maximum."""
    now, top = handle.get_attribute("aria-valuenow"), handle.get_attribute("aria-valuemax")
    with contextlib.suppress(TypeError, ValueError):
        if float(now) >= float(top):
            return "ArrowLeft"
    return "ArrowRight"

"""Render plotly figures to PNG offline, so charts can be looked at as pictures.

Usage::

    python scripts/export_png.py notebooks/04_reactivity.ipynb        # every figure the notebook makes
    python scripts/export_png.py notebooks/0*.ipynb -o /tmp/png        # several notebooks
    python scripts/export_png.py --demo                                # one sample chart: checks the setup

From Python::

    import sys; sys.path.insert(0, "scripts")
    from export_png import export
    export(fig, "chart.png")

Notebook mode runs the notebook top to bottom in a fresh ``python3`` kernel (nbclient, working
directory = the notebook's folder), records every ``go.FigureWidget`` it creates and every figure
it ``.show()``s, and writes ``<out>/<notebook>_figNN.png`` (default out: ``artifacts/png``).

Engines, both offline and both on the system Chromium (``$EDA_CHROMIUM`` or /usr/bin/chromium;
nothing is ever downloaded):

* ``kaleido`` (default when installed): kaleido 1.x drives Chromium through choreographer, found
  via ``BROWSER_PATH``; it uses the plotly.js shipped inside the plotly package, and MathJax is
  switched off here (kaleido would otherwise link it from a CDN).
* ``playwright``: ``fig.to_html(include_plotlyjs=True)`` (plotly.js inline, no CDN) opened in
  headless Chromium, and a screenshot of the chart.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "artifacts" / "png"
DEFAULT_WIDTH = 900
DEFAULT_HEIGHT = 500
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # Nothing may leave the machine (plotly.js is inline in the page): no host name resolves.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]


def chromium_path() -> str:
    """The system Chromium; never a downloaded one."""
    candidate = os.environ.get("EDA_CHROMIUM") or "/usr/bin/chromium"
    if Path(candidate).is_file() and os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which("chromium")
    if found:
        return found
    raise RuntimeError(
        "no Chromium found: install Debian's (apt-get install -y chromium) or set EDA_CHROMIUM; "
        "browser downloads ('playwright install', kaleido.get_chrome()) do not work here"
    )


def _size(fig, width: int | None, height: int | None) -> tuple[int, int]:
    layout = fig.layout
    return (int(width or layout.width or DEFAULT_WIDTH), int(height or layout.height or DEFAULT_HEIGHT))


def _plain(fig):
    """A plain go.Figure copy (a FigureWidget's state without its widget machinery)."""
    import plotly.graph_objects as go

    return go.Figure(fig.to_dict()) if not isinstance(fig, dict) else go.Figure(fig)


def _engine(engine: str) -> str:
    if engine != "auto":
        return engine
    try:
        import kaleido  # noqa: F401
    except ImportError:
        return "playwright"
    return "kaleido"


def _export_kaleido(figs: list, paths: list[Path], width, height, scale: float) -> None:
    import kaleido

    os.environ.setdefault("BROWSER_PATH", chromium_path())
    kaleido.start_sync_server(mathjax=False, silence_warnings=True)
    try:
        for fig, path in zip(figs, paths, strict=True):
            w, h = _size(fig, width, height)
            kaleido.write_fig_sync(
                fig, path=str(path), opts={"format": "png", "width": w, "height": h, "scale": scale}
            )
    finally:
        kaleido.stop_sync_server(silence_warnings=True)


def _export_playwright(figs: list, paths: list[Path], width, height, scale: float) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            for fig, path in zip(figs, paths, strict=True):
                w, h = _size(fig, width, height)
                page = browser.new_page(viewport={"width": w + 40, "height": h + 40},
                                        device_scale_factor=scale)
                html = fig.to_html(include_plotlyjs=True, full_html=True, default_width=f"{w}px",
                                   default_height=f"{h}px", config={"staticPlot": True})
                page.set_content(html, wait_until="load")
                page.wait_for_function(
                    "() => { const gd = document.querySelector('.js-plotly-plot');"
                    " return gd && gd._fullLayout && gd.querySelector('.main-svg'); }",
                    timeout=30_000,
                )
                page.locator(".js-plotly-plot").first.screenshot(path=str(path))
                page.close()
        finally:
            browser.close()


def export_many(figs: Iterable, paths: Iterable[str | Path], *, engine: str = "auto",
                width: int | None = None, height: int | None = None, scale: float = 1.0) -> list[Path]:
    """Write each figure to its PNG path with one browser session. Returns the paths."""
    figs = [_plain(f) for f in figs]
    paths = [Path(p) for p in paths]
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
    if not figs:
        return []
    chosen = _engine(engine)
    if chosen == "kaleido":
        _export_kaleido(figs, paths, width, height, scale)
    elif chosen == "playwright":
        _export_playwright(figs, paths, width, height, scale)
    else:
        raise ValueError(f"unknown engine {engine!r}: use auto, kaleido or playwright")
    return paths


def export(fig, path: str | Path, *, engine: str = "auto", width: int | None = None,
           height: int | None = None, scale: float = 1.0) -> Path:
    """Render one plotly figure (Figure, FigureWidget or figure dict) to a PNG file."""
    return export_many([fig], [path], engine=engine, width=width, height=height, scale=scale)[0]


# Injected before the notebook's first cell: record the figures the notebook makes.
_RECORD_CELL = """
import plotly.basedatatypes as _eda_bdt
import plotly.graph_objects as _eda_go
_eda_export_figs = []
_eda_fw_init = _eda_go.FigureWidget.__init__
def _eda_record_init(self, *args, **kwargs):
    _eda_fw_init(self, *args, **kwargs)
    _eda_export_figs.append(self)
_eda_go.FigureWidget.__init__ = _eda_record_init
_eda_show = _eda_bdt.BaseFigure.show
def _eda_record_show(self, *args, **kwargs):
    _eda_export_figs.append(self)
    return _eda_show(self, *args, **kwargs)
_eda_bdt.BaseFigure.show = _eda_record_show
"""

# Injected after the last cell: dump each recorded figure's final state as JSON.
_DUMP_CELL = """
import pathlib as _eda_pathlib
_eda_seen = set()
_eda_n = 0
for _eda_fig in _eda_export_figs:
    if id(_eda_fig) in _eda_seen:
        continue
    _eda_seen.add(id(_eda_fig))
    _eda_n += 1
    _eda_pathlib.Path({dump_dir!r}, f"{{_eda_n:02d}}.json").write_text(_eda_fig.to_json())
"""


def export_notebook(notebook: str | Path, out_dir: str | Path = DEFAULT_OUT, *, engine: str = "auto",
                    timeout: int = 600, scale: float = 1.0) -> list[Path]:
    """Run a notebook in a fresh kernel and export every figure it made. Returns the PNG paths."""
    import nbformat
    import plotly.io as pio
    from nbclient import NotebookClient

    notebook = Path(notebook).resolve()
    nb = nbformat.read(notebook, as_version=4)
    with tempfile.TemporaryDirectory(prefix="eda_png_") as dump_dir:
        nb.cells.insert(0, nbformat.v4.new_code_cell(_RECORD_CELL))
        nb.cells.append(nbformat.v4.new_code_cell(_DUMP_CELL.format(dump_dir=dump_dir)))
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(notebook.parent)}})
        client.execute()
        dumps = sorted(Path(dump_dir).glob("*.json"))
        figs = [pio.from_json(p.read_text(), output_type="Figure", skip_invalid=True) for p in dumps]
    out_dir = Path(out_dir)
    paths = [out_dir / f"{notebook.stem}_fig{i:02d}.png" for i in range(1, len(figs) + 1)]
    return export_many(figs, paths, engine=engine, scale=scale)


def _demo_figure():
    import plotly.graph_objects as go

    xs = list(range(20))
    return go.Figure(
        [go.Scatter(x=xs, y=[x * x for x in xs], name="x²", mode="lines+markers"),
         go.Bar(x=xs, y=[3 * x for x in xs], name="3x", opacity=0.5)],
        layout={"title": "export_png demo", "width": 700, "height": 400},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks whose figures to export")
    parser.add_argument("-o", "--out", default=str(DEFAULT_OUT), help="output folder")
    parser.add_argument("--engine", default="auto", choices=["auto", "kaleido", "playwright"])
    parser.add_argument("--scale", type=float, default=1.0, help="pixel scale (2 for sharp slides)")
    parser.add_argument("--timeout", type=int, default=600, help="per-cell timeout in seconds")
    parser.add_argument("--demo", action="store_true", help="export one sample chart")
    args = parser.parse_args(argv)
    if not args.notebooks and not args.demo:
        parser.error("give notebooks to export, or --demo")
    written: list[Path] = []
    if args.demo:
        written.append(export(_demo_figure(), Path(args.out) / "demo.png", engine=args.engine,
                              scale=args.scale))
    for nb in args.notebooks:
        paths = export_notebook(nb, args.out, engine=args.engine, timeout=args.timeout, scale=args.scale)
        if not paths:
            print(f"{nb}: no plotly figure found", file=sys.stderr)
        written.extend(paths)
    print(json.dumps([str(p) for p in written], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Every notebook runs top to bottom in a fresh kernel, and is committed without outputs."""

from __future__ import annotations

import json
import pathlib
import re
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from .learner_text import problems

sys.path.insert(0, str(pathlib.Path(__file__).parent.parent / "scripts"))
import notebook_nav  # noqa: E402

NOTEBOOKS = sorted((pathlib.Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; strip them before committing"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_runs_top_to_bottom(path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors  # run times are measured by scripts/run_notebook.py, not asserted
    found = []
    for i, cell in enumerate(nb.cells):
        for text in _visible_text(cell):
            found += problems(text, f"cell {i}")
    assert not found, f"{path.name}: outputs a learner would read contain:\n" + "\n".join(found)


def _visible_text(cell) -> list[str]:
    """The text a learner reads in a cell's outputs (a widget's text/plain fallback is not shown)."""
    out = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            out.append(o.get("text", ""))
            continue
        data = o.get("data", {})
        if "application/vnd.jupyter.widget-view+json" in data:
            continue
        if "text/html" in data:
            out.append(re.sub(r"<[^>]+>", " ", "".join(data["text/html"])))
        elif "text/plain" in data:
            out.append("".join(data["text/plain"]))
    return out


def test_learner_text_patterns_catch_what_they_should():
    assert problems("OutageParams(rate=10.0, seed=1)", "x") and problems("theory NaN", "x")
    assert problems("wait 1.4000000000000001 s", "x") and problems("{'a': 1.2}", "x")
    assert not problems("EDA drained in 33.5 s (theory 33.0 s); 718 orders, 54.3 %", "x")


def test_every_notebook_has_current_nav_links():
    assert not notebook_nav.stale(NOTEBOOKS)
    for path in NOTEBOOKS:  # every relative link of a notebook's Markdown points to a file that exists
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                continue
            for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", cell.source):
                if "://" not in target:
                    assert (path.parent / target).exists(), f"{path.name}: broken link {target}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_declares_the_python3_kernel(path):
    # Without a kernelspec JupyterLab greets every learner with a "Select Kernel" dialog.
    spec = json.loads(path.read_text())["metadata"].get("kernelspec", {})
    assert spec.get("name") == "python3", f"{path.name}: kernelspec {spec!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_deep_dives_open_collapsed_in_jupyterlab(path):
    """Optional sections start folded, so the core path is what a learner scrolls through first."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip("#").lstrip().startswith("Deep dive"):
            assert cell.source.startswith("#"), f"{path.name}: a deep dive must be a heading"
            assert cell.metadata.get("jp-MarkdownHeadingCollapsed") is True, (
                f"{path.name}: {cell.source.splitlines()[0]!r} is not collapsed")

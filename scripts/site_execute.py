"""Execute the notebooks for the lesson site, two at a time, with a cache.

The site shows every notebook as a reader of a printed lesson expects: the whole run, nothing held
back. So each notebook runs with one setup cell put in front (removed again from the page) that
makes every :class:`eda_sim.lab.exercises.Prediction` behave as if the learner had pressed
*Skip: just show me* (its public ``skip()``): the charts and tables a prediction holds back in the
live lab are on the page, and the verdict is known. A last added cell reports, for every question,
what the static page needs and the widgets do not hold (hint, solution, the options and what the run
showed), as one ``application/x-eda-site+json`` output.

Executed copies are cached in ``build/site-cache`` under a hash of the notebook, of ``eda_sim``'s
sources and of this file, so rebuilding the site after a docs edit takes seconds.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import multiprocessing
import os
import pathlib
import time

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]
CACHE = ROOT / "build" / "site-cache"
SITE_MIME = "application/x-eda-site+json"
SETUP_TAG = "site-setup"

SETUP = '''\
# Lesson-site build only (removed from the page): every prediction shows the run at once, and the
# questions are remembered so the page can offer their hints and solutions.
import eda_sim.lab.exercises as _site_ex

_site_questions = []
_site_question_init = _site_ex._Question.__init__
_site_prediction_init = _site_ex.Prediction.__init__


def _site_remember(self, *args, **kwargs):
    _site_question_init(self, *args, **kwargs)
    _site_questions.append(self)


def _site_skip(self, *args, **kwargs):
    _site_prediction_init(self, *args, **kwargs)
    self.skip()


_site_ex._Question.__init__ = _site_remember
_site_ex.Prediction.__init__ = _site_skip
'''

REPORT = '''\
import IPython.display as _site_display

_site_display.display({"SITE_MIME": {q.widget.model_id: {
    "kind": type(q).__name__, "hint": getattr(q, "hint", "") or "",
    "solution": getattr(q, "solution", "") or "",
    "options": [str(o) for o in getattr(q, "options", ())],
    "revealed": None if getattr(q, "revealed", None) is None else str(q.revealed),
} for q in _site_questions}}, raw=True)
'''.replace("SITE_MIME", SITE_MIME)


def source_hash() -> str:
    """A hash of everything an execution depends on besides the notebook itself."""
    h = hashlib.sha256()
    for path in sorted((ROOT / "eda_sim").rglob("*.py")) + [pathlib.Path(__file__)]:
        h.update(path.relative_to(ROOT).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _cell(source: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = [SETUP_TAG]
    return cell


def execute(path: pathlib.Path, out: pathlib.Path, timeout: int = 180) -> float:
    """Run ``path`` in a fresh kernel with the site's setup and report cells; write it to ``out``."""
    nb = nbformat.read(path, as_version=4)
    nb.cells = [_cell(SETUP), *nb.cells, _cell(REPORT)]
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, out)
    return seconds


def executed(paths: list[pathlib.Path], jobs: int = 2, log=print) -> dict[pathlib.Path, pathlib.Path]:
    """Executed copy of every notebook, from the cache or run now (``jobs`` at a time)."""
    key = source_hash()
    result, todo = {}, []
    for path in paths:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        out = CACHE / f"{path.stem}-{digest}-{key}.ipynb"
        result[path] = out
        if not out.exists():
            todo.append((path, out))
    if todo:
        log(f"executing {len(todo)} notebook(s), {jobs} at a time")
        # spawn, not fork: a forked copy of a process with live threads or ZMQ sockets (pytest with a
        # browser open) can crash in the child
        spawn = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=spawn) as pool:
            futures = {pool.submit(execute, p, o): p for p, o in todo}
            for future in concurrent.futures.as_completed(futures):
                log(f"  {futures[future].name}: {future.result():.1f} s")
    for stale in CACHE.glob("*.ipynb"):
        if stale not in result.values():
            stale.unlink()
    return result

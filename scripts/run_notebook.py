"""Execute notebooks top to bottom in a fresh kernel and report the time (outputs are not saved).

    python scripts/run_notebook.py notebooks/04_reactivity.ipynb [--save OUT_DIR]
"""

from __future__ import annotations

import argparse
import pathlib
import time

import nbformat
from nbclient import NotebookClient


def run(path: pathlib.Path, save: pathlib.Path | None = None) -> float:
    nb = nbformat.read(path, as_version=4)
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - t0
    if save:
        save.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, save / path.name)
    return seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="+", type=pathlib.Path)
    ap.add_argument("--save", type=pathlib.Path)
    args = ap.parse_args()
    for p in args.paths:
        print(f"{p}: {run(p, args.save):.1f} s")


if __name__ == "__main__":
    main()

"""Write the navigation line (previous · contents · next) at the top and bottom of every notebook.

    python scripts/notebook_nav.py          # rewrite the nav cells (tagged "nav") in place
    python scripts/notebook_nav.py --check  # exit 1 if any notebook's nav cells are missing or stale

Each notebook's title is its first "# " heading; the nav cells carry the tag ``nav`` so this
script can find and replace them. ``tests/test_notebooks.py`` runs the check.

The numbered notebooks (``00_...`` to ``08_...``) form the sequence. A notebook outside it (the
ready-check) links only to the contents and to the first notebook of the sequence.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys

import nbformat

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
CONTENTS = "[Contents](../README.md#open-it)"
NUMBERED = re.compile(r"\d\d_.*\.ipynb")


def title(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].split(":")[0].strip()
    raise ValueError("notebook without a '# ' title")


def nav_line(paths: list[pathlib.Path], titles: list[str], i: int) -> str:
    parts = []
    if i > 0:
        parts.append(f"[← {titles[i - 1]}]({paths[i - 1].name})")
    parts.append(CONTENTS)
    if i + 1 < len(paths):
        parts.append(f"[{titles[i + 1]} →]({paths[i + 1].name})")
    return " · ".join(parts)


def expected(paths: list[pathlib.Path]) -> dict[pathlib.Path, str]:
    sequence = sorted(p for p in paths if NUMBERED.fullmatch(p.name))
    titles = [title(nbformat.read(p, as_version=4)) for p in sequence]
    out = {p: nav_line(sequence, titles, i) for i, p in enumerate(sequence)}
    for p in paths:
        if p not in out:
            out[p] = f"{CONTENTS} · [{titles[0]} →]({sequence[0].name})" if sequence else CONTENTS
    return out


def with_nav(nb, line: str):
    cells = [c for c in nb.cells if "nav" not in c.metadata.get("tags", [])]
    make = lambda: nbformat.v4.new_markdown_cell(line, metadata={"tags": ["nav"]})  # noqa: E731
    top, bottom = make(), make()
    top.id, bottom.id = "nav-top", "nav-bottom"
    nb.cells = [top, *cells, bottom]
    return nb


def stale(paths: list[pathlib.Path]) -> list[str]:
    problems = []
    for path, line in expected(paths).items():
        nb = nbformat.read(path, as_version=4)
        navs = [c for c in nb.cells if "nav" in c.metadata.get("tags", [])]
        if len(navs) != 2 or nb.cells[0] is not navs[0] or nb.cells[-1] is not navs[1]:
            problems.append(f"{path.name}: needs a nav cell first and last")
        elif any(c.source != line for c in navs):
            problems.append(f"{path.name}: nav cells are stale (expected {line!r})")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    if args.check:
        problems = stale(paths)
        print("\n".join(problems) or "nav cells up to date")
        return 1 if problems else 0
    for path, line in expected(paths).items():
        nb = with_nav(nbformat.read(path, as_version=4), line)
        nbformat.write(nb, path)
    print(f"nav cells written in {len(paths)} notebooks")
    return 0


if __name__ == "__main__":
    sys.exit(main())

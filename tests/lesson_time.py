"""How long a notebook takes a first-time learner, by the lab's rule of thumb (issue 10):

Markdown prose at 150 words a minute, 2 minutes per prediction, 3 per control panel to explore, 4 per
exercise and 1 per other code cell. Text a prediction holds back (``Prediction.after``) is prose too:
pass its word count per cell id in ``extra_words``.

A section whose heading starts "Deep dive (optional" is optional until the next "## " heading that is
not itself a deep dive; everything else is the core path.
"""

from __future__ import annotations

import re

import nbformat

WORDS_PER_MINUTE = 150
MINUTES = {"prediction": 2, "panel": 3, "exercise": 4, "code": 1}
DEEP_DIVE = re.compile(r"^#+ Deep dive \(optional, about (\d+) min\): (.+)$", re.M)


def kind(source: str) -> list[str]:
    """What a code cell asks of the learner (a cell may build a panel and hold a prediction)."""
    found = []
    if re.search(r"\.prediction\(", source):
        found.append("prediction")
    if re.search(r"\w*panel\(\)", source):
        found.append("panel")
    found += ["exercise"] * len(re.findall(r"\.exercise\(", source))
    return found or ["code"]


def words(text: str) -> int:
    text = re.sub(r"<[^>]+>", " ", text)
    return len(re.findall(r"[\w’'\-.,/%]+", text))


def estimate(path, extra_words: dict | None = None) -> dict:
    """{"core": minutes, "deep dives": {title: (minutes, minutes the heading announces)}, "parts": ...}."""
    nb = nbformat.read(str(path), as_version=4)
    extra_words = extra_words or {}
    section = "core"
    parts: dict[str, dict] = {}
    announced: dict[str, int] = {}
    for cell in nb.cells:
        if "nav" in cell.metadata.get("tags", []):
            continue
        if cell.cell_type == "markdown":
            m = DEEP_DIVE.search(cell.source)
            if m:
                section = m.group(2).strip()
                announced[section] = int(m.group(1))
            elif re.match(r"^## ", cell.source):
                section = "core"
        part = parts.setdefault(section, {"words": 0, "prediction": 0, "panel": 0, "exercise": 0, "code": 0})
        if cell.cell_type == "markdown":
            part["words"] += words(cell.source)
        elif cell.cell_type == "code":
            for k in kind(cell.source):
                part[k] += 1
            part["words"] += extra_words.get(cell.get("id"), 0)
    minutes = {s: p["words"] / WORDS_PER_MINUTE + sum(MINUTES[k] * p[k] for k in MINUTES)
               for s, p in parts.items()}
    return {"core": minutes.get("core", 0.0),
            "deep dives": {s: (m, announced[s]) for s, m in minutes.items() if s != "core"},
            "parts": parts}


def held_back_words(widget) -> int:
    """Words of the text in a widget tree (what ``Prediction.after`` shows), tables left out."""
    total = 0
    stack = [widget]
    while stack:
        w = stack.pop()
        stack += list(getattr(w, "children", ()))
        value = getattr(w, "value", None)
        if isinstance(value, str) and type(w).__name__ in ("HTMLMath", "HTML"):
            total += words(value)
    return total


ANSWER_IN_CODE = re.compile(r"\b(answer|explanation|solution|hint)\s*=|Numeric\(|MultipleChoice\(|Exercise\(|"
                            r"Prediction\(|\.reveal\(\s*[\"']|print\(")


def answers_in_code(path) -> list[str]:
    """Code cells that hold a question's answer, explanation or solution (they belong in the views)."""
    nb = nbformat.read(str(path), as_version=4)
    return [f"cell {c.get('id')}: {m.group(0)}" for c in nb.cells if c.cell_type == "code"
            for m in [ANSWER_IN_CODE.search(c.source)] if m]


def stated_minutes(path) -> tuple[int, int | None]:
    """The "Core path: about N minutes; optional deep dives: about M minutes" line under the title."""
    nb = nbformat.read(str(path), as_version=4)
    text = next(c.source for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("# "))
    core = re.search(r"Core path: about (\d+) minutes", text)
    deep = re.search(r"optional deep dives?: about (\d+) min", text)
    assert core, "no 'Core path: about N minutes' under the title"
    return int(core.group(1)), (int(deep.group(1)) if deep else None)

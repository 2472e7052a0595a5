"""The workshop material (docs/workshop, the facilitator guide, README): links resolve, agendas add up and
keep Binder sessions alive, every notebook 00-07 has its Discuss cell. The handout's one-page print and the
site's Workshop menu are checked in tests/browser/test_site.py, which builds the site once."""

from __future__ import annotations

import re
import unicodedata
import urllib.parse
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKSHOP = ROOT / "docs" / "workshop"
DOCS = sorted(WORKSHOP.glob("*.md")) + [ROOT / "docs" / "facilitator_guide.md", ROOT / "README.md"]
PAGES = ["setup", "preflight", "plan_b", "agendas", "discussion", "handout", "feedback", "code_of_conduct",
         "helpers"]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0[0-7]_*.ipynb"))
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def _prose(text: str) -> str:
    """Markdown without fenced code blocks and inline code (links there are examples, not links)."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def _github_slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _mkdocs_slug(heading: str) -> str:
    """Python-Markdown's toc slugify, what the lesson site uses."""
    text = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _headings(path: Path) -> list[str]:
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    else:
        text = path.read_text()
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return [m.group(1) for m in re.finditer(r"^#{1,6} (.+?)\s*#*$", text, re.M)]


def _links(path: Path) -> list[str]:
    text = _prose(path.read_text())
    return [t for t in LINK.findall(text) if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.I)]


def test_every_workshop_page_exists_with_a_title():
    for name in PAGES:
        path = WORKSHOP / f"{name}.md"
        assert path.is_file(), f"missing {path.relative_to(ROOT)}"
        assert path.read_text().startswith("# "), f"{path.name} does not start with a '# ' title"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(doc):
    """Files and #anchors, with the anchor as GitHub and as the lesson site (Python-Markdown) spell it."""
    broken = []
    for target in _links(doc):
        path, _, anchor = target.partition("#")
        file = (doc.parent / urllib.parse.unquote(path)).resolve() if path else doc
        if not file.exists():
            broken.append(f"{target}: no such file")
            continue
        if anchor and file.suffix in (".md", ".ipynb"):
            headings = _headings(file)
            for slug in (_github_slug, _mkdocs_slug):
                if anchor not in {slug(h) for h in headings}:
                    broken.append(f"{target}: no heading with the anchor #{anchor} ({slug.__name__})")
    assert not broken, f"{doc.relative_to(ROOT)}:\n  " + "\n  ".join(broken)


def test_readme_links_the_workshop_pages_and_the_code_of_conduct():
    links = {urllib.parse.unquote(t.partition("#")[0]) for t in _links(ROOT / "README.md")}
    assert "docs/workshop/code_of_conduct.md" in links
    assert "docs/workshop/setup.md" in links and "docs/workshop/agendas.md" in links


def test_facilitator_guide_links_every_workshop_page_and_holds_no_agenda_of_its_own():
    guide = ROOT / "docs" / "facilitator_guide.md"
    links = {urllib.parse.unquote(t.partition("#")[0]) for t in _links(guide)}
    missing = [p.name for p in sorted(WORKSHOP.glob("*.md")) if f"workshop/{p.name}" not in links]
    assert not missing, f"the facilitator guide does not link {missing}"
    # one source of truth for the agendas: no table with start times in the guide
    assert not re.search(r"^\| *(time|start) *\| *min", guide.read_text(), re.I | re.M)
    assert "guide's first table" not in guide.read_text()


# ---- agendas -------------------------------------------------------------------------------------


def _agendas() -> dict[str, dict]:
    """Each '## ' section of agendas.md that states 'Total: N minutes.' and has a Start | Minutes | Block table."""
    found = {}
    for section in re.split(r"^## ", (WORKSHOP / "agendas.md").read_text(), flags=re.M)[1:]:
        title = section.splitlines()[0].strip()
        total = re.search(r"^Total: (\d+) minutes\.", section, re.M)
        rows = []
        header = None
        for line in section.splitlines():
            if not line.startswith("|"):
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if header is None:
                header = cells
                continue
            if set("".join(cells)) <= set("-: "):
                continue
            rows.append(dict(zip(header, cells, strict=True)))
        if total and header and header[:3] == ["Start", "Minutes", "Block"]:
            found[title] = {"total": int(total.group(1)), "rows": rows}
    return found


def _minutes(start: str) -> int:
    hours, minutes = start.split(":")
    return int(hours) * 60 + int(minutes)


def test_agendas_exist_for_a_half_day_and_a_full_day():
    agendas = _agendas()
    assert {"Half day", "Half day with the capstone", "Full day"} <= set(agendas), list(agendas)
    assert agendas["Half day"]["total"] == 210 and agendas["Half day with the capstone"]["total"] == 210


@pytest.mark.parametrize("title", ["Half day", "Half day with the capstone", "Full day"])
def test_agenda_adds_up_with_slack_a_setup_slot_and_breaks_that_keep_sessions(title):
    agenda = _agendas()[title]
    rows = agenda["rows"]
    minutes = [int(r["Minutes"]) for r in rows]
    assert sum(minutes) == agenda["total"], f"{title}: blocks add up to {sum(minutes)}, not {agenda['total']}"
    clock = 0
    for row, m in zip(rows, minutes, strict=True):
        assert _minutes(row["Start"]) == clock, \
            f"{title}: {row['Block']} starts at {row['Start']}, expected {clock} min"
        clock += m
    blocks = [r["Block"] for r in rows]
    slack = sum(m for b, m in zip(blocks, minutes, strict=True) if b.lower().startswith("slack"))
    assert slack >= 10, f"{title}: only {slack} min of slack"
    assert any(b.lower().startswith("setup") for b in blocks[:2]), f"{title}: no setup slot at the start: {blocks[:2]}"
    for i, (block, m) in enumerate(zip(blocks, minutes, strict=True)):
        if re.match(r"break|lunch", block, re.I) and m > 10:
            after = blocks[i + 1] if i + 1 < len(blocks) else ""
            assert after.lower().startswith("relaunch"), \
                f"{title}: a {m}-minute {block.lower()} with no relaunch step after it (Binder stops idle sessions)"
    capstone = [m for b, m in zip(blocks, minutes, strict=True) if "capstone" in b.lower()]
    assert all(m in (45, 60) for m in capstone), f"{title}: capstone blocks must be the 45- or 60-minute variant"


def test_cut_list_and_exercise_timings_cover_the_notebooks():
    text = (WORKSHOP / "agendas.md").read_text()
    assert "## If you run late: cut in this order" in text
    timings = text.split("## Exercise timings", 1)[1].split("\n## ", 1)[0]
    notebooks = {m for m in re.findall(r"^\| (0\d) \|", timings, re.M)}
    assert notebooks == {f"0{i}" for i in range(9)}, sorted(notebooks)


# ---- discussion ----------------------------------------------------------------------------------


def _discussion_times() -> dict[str, int]:
    text = (WORKSHOP / "discussion.md").read_text()
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^\| (0\d) [^|]+\| (\d+) min \|", text, re.M)}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_a_discuss_cell_in_the_core_path_before_its_key_points(path):
    nb = nbformat.read(path, as_version=4)
    md = [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"]
    discuss = [(i, s) for i, s in md if s.startswith("## Discuss (")]
    assert len(discuss) == 1, f"{path.name}: {len(discuss)} Discuss cells"
    i, source = discuss[0]
    key_points = [j for j, s in md if s.startswith("## Key points")]
    assert key_points and key_points[0] == i + 1, f"{path.name}: the Discuss cell is not just before the key points"
    prompts = re.findall(r"^- ", source, re.M)
    assert 1 <= len(prompts) <= 3, f"{path.name}: {len(prompts)} prompts"
    minutes = int(re.match(r"## Discuss \((\d+) min\)", source).group(1))
    assert minutes == _discussion_times()[path.name[:2]], f"{path.name}: {minutes} min, discussion.md says otherwise"


def test_discussion_page_has_prompts_for_every_notebook():
    text = (WORKSHOP / "discussion.md").read_text()
    for i in range(9):
        section = re.search(rf"^## 0{i} · .+?$(.*?)(?=^## |\Z)", text, re.M | re.S)
        assert section, f"no section for notebook 0{i}"
        assert len(re.findall(r"^- ", section.group(1), re.M)) >= 2, f"notebook 0{i}: fewer than 2 prompts"

"""Build the lesson site: a static website of the lab from its executed notebooks.

    python scripts/build_site.py                 # writes build/site; open build/site/index.html
    python scripts/build_site.py --out DIR --jobs 1

Steps: execute the notebooks (``site_execute``: two at a time, cached in build/site-cache), turn their
widgets into static HTML (``site_render``: charts drawn with the site's own plotly.js), lay out the
pages in build/site-src (home page, set-up page, the notebooks, the facilitator guide, the reference
docs), and build them with mkdocs, mkdocs-material and mkdocs-jupyter (``docs/site/mkdocs.yml``).
Every page gets a "run it live" bar (Binder JupyterLab and Voilà; the Binder slug is read from
README.md). The built site makes no request to another host; the build checks its own HTML for that.
See docs/lesson_site.md for the choices.
"""

from __future__ import annotations

import argparse
import html
import os
import pathlib
import posixpath
import re
import shutil
import subprocess
import sys
import time
import urllib.parse

import nbformat
import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import notebook_nav  # noqa: E402
import site_execute  # noqa: E402
import site_render  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIG = ROOT / "docs" / "site"
STAGE = ROOT / "build" / "site-src"
OUT = ROOT / "build" / "site"
#: Markdown pages of the repository that become site pages (repository path -> page): the set-up page, the
#: facilitator guide, and every other page of docs/ as a reference page (but this site's own notes).
PAGES = {"README.md": "index.md", "docs/site/setup.md": "setup.md", "docs/facilitator_guide.md": "facilitator_guide.md"}
PAGES.update({f"docs/{p.name}": p.name for p in sorted((ROOT / "docs").glob("*.md"))
              if p.name not in ("facilitator_guide.md", "lesson_site.md")})
REFERENCE = [page for source, page in PAGES.items() if re.fullmatch(r"docs/[\w.-]+\.md", source) and page not in
             ("setup.md", "facilitator_guide.md")]
#: The workshop pages (docs/workshop) with their menu labels, in the order of the site's "Workshop" menu; a page
#: not listed here comes after these, under its title. Each becomes workshop_NAME.md at the site's top level,
#: so links between pages stay flat.
WORKSHOP_ORDER = {"setup": "Learner set-up", "preflight": "Pre-flight checklist", "agendas": "Agendas",
                  "plan_b": "Plan B", "presenter": "Presenter mode", "capstone": "Capstone run sheet",
                  "discussion": "Discussion prompts",
                  "handout": "Handout", "feedback": "Feedback", "code_of_conduct": "Code of conduct",
                  "helpers": "Helper brief"}
WORKSHOP = sorted((ROOT / "docs" / "workshop").glob("*.md"), key=lambda p: (
    list(WORKSHOP_ORDER).index(p.stem) if p.stem in WORKSHOP_ORDER else len(WORKSHOP_ORDER), p.stem))
PAGES.update({f"docs/workshop/{p.name}": f"workshop_{p.name}" for p in WORKSHOP})
#: Notebooks of the numbered sequence (00_..., 01_...); any other notebook (the ready-check) is a workshop page.
NUMBERED = re.compile(r"\d\d_.*\.ipynb")
BINDER_RE = re.compile(r"https://mybinder\.org/v2/gh/([\w.-]+/[\w.-]+)/([\w./-]+?)\?urlpath=")
EXTERNAL_RESOURCE = re.compile(
    r"""<(?:script|img|iframe|source|audio|video|embed)\b[^>]*\bsrc=["']((?:https?:)?//[^"']+)"""
    r"""|<link\b[^>]*\bhref=["']((?:https?:)?//[^"']+)["'][^>]*>""", re.I)


def binder_slug() -> tuple[str, str]:
    """(owner/repo, ref) of the Binder links in README.md: a fork changes them there only."""
    match = BINDER_RE.search((ROOT / "README.md").read_text())
    if not match:
        raise SystemExit("README.md has no mybinder.org link to take the repository slug from")
    return match.group(1), match.group(2)


class Links:
    """The run-it-live links and the rewriting of repository links into site links."""

    def __init__(self, slug: str, ref: str, notebooks: list[pathlib.Path]):
        self.slug, self.ref = slug, ref
        self.base = f"https://mybinder.org/v2/gh/{slug}/{ref}"
        self.notebooks = {f"notebooks/{p.name}" for p in notebooks}

    def lab(self, notebook: str = "00_start_here.ipynb") -> str:
        return f"{self.base}?urlpath=lab/tree/notebooks/{notebook}"

    def voila(self, notebook: str | None = None) -> str:
        return f"{self.base}?urlpath=voila/render/notebooks/{notebook}" if notebook else \
            f"{self.base}?urlpath=voila/tree/notebooks"

    def live(self, notebook: str | None) -> dict:
        return {"lab": self.lab(notebook) if notebook else self.lab(),
                "lab_text": "JupyterLab on Binder" if notebook else "the lab in JupyterLab on Binder",
                "voila": self.voila(notebook),
                "voila_text": "this notebook as a Voilà app" if notebook else "the notebooks as Voilà apps"}

    def live_html(self, notebook: str) -> str:
        return (f'<a class="eda-live-lab" href="{html.escape(self.lab(notebook))}">JupyterLab on Binder</a> · '
                f'<a class="eda-live-voila" href="{html.escape(self.voila(notebook))}">Voilà app</a>')

    def rewrite(self, source: str, target: str, ext: str) -> str | None:
        """The site link for ``target`` found in repository file ``source``; ``ext`` is the page
        suffix to use: ".md"/".ipynb" in Markdown pages (mkdocs checks and converts them), ".html"
        in notebooks (mkdocs-jupyter leaves their links as they are)."""
        if re.match(r"^[a-z][a-z0-9+.-]*:|^#|^/", target, re.I):
            return None
        path, _, anchor = target.partition("#")
        repo_path = posixpath.normpath(posixpath.join(posixpath.dirname(source), urllib.parse.unquote(path)))
        anchor = f"#{anchor}" if anchor else ""
        if repo_path in self.notebooks:
            page = pathlib.PurePosixPath(repo_path).name
            return (page if ext == ".md" else page.removesuffix(".ipynb") + ".html") + anchor
        if repo_path in PAGES:
            page = PAGES[repo_path]
            return (page if ext == ".md" else page.removesuffix(".md") + ".html") + anchor
        if repo_path.startswith(".."):
            return None
        kind = "tree" if (ROOT / repo_path).is_dir() else "blob"
        return f"https://github.com/{self.slug}/{kind}/{self.ref}/{repo_path}{anchor}"


def markdown_page(source: str, text: str, links: Links) -> str:
    """A repository Markdown file with its links made site links (code blocks left alone)."""
    parts = re.split(r"(```.*?```)", text, flags=re.S)
    for i in range(0, len(parts), 2):
        parts[i] = re.sub(r"\]\(([^)\s]+)\)",
                          lambda m: f"]({links.rewrite(source, m.group(1), '.md') or m.group(1)})", parts[i])
    return "".join(parts)


def readme_rows() -> dict[str, str]:
    """README's one-line description of each notebook ("what you see"), by file name."""
    rows = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.match(r"\[\d+\]\(notebooks/([\w.-]+\.ipynb)\)", cells[0]) if len(cells) >= 3 else None
        if match:
            rows[match.group(1)] = cells[2]
    return rows


def home_page(links: Links, notebooks: list[pathlib.Path], titles: dict[str, str]) -> str:
    notebooks = [p for p in notebooks if NUMBERED.fullmatch(p.name)]
    readme = (ROOT / "README.md").read_text()
    intro = readme.split("\n## ", 1)[0].split("\n", 1)[1].strip()  # the paragraphs under the title
    described = readme_rows()
    rows = []
    for path in notebooks:
        page = path.name
        what = described.get(page, "")
        rows.append(f"| [{titles[page]}]({page}) | {what} | [Voilà app]({links.voila(page)}) |")
    table = "\n".join(rows)
    docs = ROOT / "docs"
    reference = ", ".join(f"[{page_title(docs / p)}]({p})" for p in REFERENCE)
    return f"""# EDA vs Request/Response: a hands-on lab

{intro}

This site is the lab as a lesson you can read before installing anything: every notebook after a full
run, with its charts (hover and zoom work). To move the sliders, record your predictions and check your
answers, **run it live**: the bar at the top of every page opens that notebook on Binder, in JupyterLab
or as a Voilà app, and [Set up](setup.md) shows how to run the lab on your laptop, also offline.

## Open it

| notebook | what you see | live, code hidden |
|---|---|---|
{table}

Start with [{titles[notebooks[0].name]}]({notebooks[0].name}) and follow the links at the bottom of each page.

## For instructors

The [facilitator guide](facilitator_guide.md) has the objectives, the answer keys, the questions learners
ask, and how to run the lab offline, on Binder or on a shared JupyterHub. The **Workshop** pages have
everything around the day: the [learner set-up page](workshop_setup.md) to send three days ahead, the
[pre-flight checklist](workshop_preflight.md), the [agendas](workshop_agendas.md), [plan B](workshop_plan_b.md),
a one-page [handout](workshop_handout.md), the [code of conduct](workshop_code_of_conduct.md) and more (menu
on the left). The reference pages describe the simulator: {reference}.
"""


def stage(executed: dict[pathlib.Path, pathlib.Path], out: pathlib.Path, links: Links, log=print) -> dict:
    """Lay out the site's sources in STAGE; return what was rendered."""
    if STAGE.exists():
        shutil.rmtree(STAGE)
    docs = STAGE / "docs"
    (docs / "assets").mkdir(parents=True)
    shutil.copytree(CONFIG / "overrides", STAGE / "overrides")
    for asset in (CONFIG / "assets").iterdir():
        shutil.copy(asset, docs / "assets" / asset.name)
    import plotly

    shutil.copy(pathlib.Path(plotly.__file__).parent / "package_data" / "plotly.min.js", docs / "assets")

    notebooks = list(executed)
    titles, counts = {}, {}
    for path in notebooks:
        nb = nbformat.read(executed[path], as_version=4)
        titles[path.name] = notebook_nav.title(nb)
        source = f"notebooks/{path.name}"
        nb, counts[path.name] = site_render.static_notebook(
            nb, links.live_html(path.name), link=lambda t, s=source: links.rewrite(s, t, ".html"))
        if counts[path.name]["missing"]:
            raise SystemExit(f"{path.name}: widgets missing from the saved state: {counts[path.name]['missing']}")
        nbformat.write(nb, docs / path.name)

    for source, page in PAGES.items():
        if page == "index.md":
            text = home_page(links, notebooks, titles)
        else:
            text = markdown_page(source, (ROOT / source).read_text(), links)
        (docs / page).write_text(text)

    config = yaml.safe_load((CONFIG / "mkdocs.yml").read_text())
    # No repo_url: mkdocs-material would ask GitHub's API for the repository's stars on every page.
    config.update(docs_dir="docs", site_dir=str(out.resolve()))
    config["nav"] = [
        {"Home": "index.md"}, {"Set up": "setup.md"},
        {"Notebooks": [{titles[p.name]: p.name} for p in notebooks if NUMBERED.fullmatch(p.name)]},
        {"Workshop": workshop_nav(docs, notebooks, titles)},
        {"Reference": [{page_title(docs / page): page} for page in REFERENCE]},
    ]
    live = {"*": links.live(None)}
    live.update({p.name: links.live(p.name) for p in notebooks})
    config.setdefault("extra", {})["live"] = live
    (STAGE / "mkdocs.yml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return counts


def workshop_nav(docs: pathlib.Path, notebooks: list[pathlib.Path], titles: dict[str, str]) -> list[dict]:
    """The Workshop menu: every page of docs/workshop, the notebooks outside the numbered sequence (the
    ready-check, right after the set-up page), and the facilitator guide."""
    pages = [{WORKSHOP_ORDER.get(p.stem) or page_title(docs / f"workshop_{p.name}"): f"workshop_{p.name}"}
             for p in WORKSHOP]
    extra = [{titles[p.name]: p.name} for p in notebooks if not NUMBERED.fullmatch(p.name)]
    return pages[:1] + extra + pages[1:] + [{"Facilitator guide": "facilitator_guide.md"}]


def page_title(path: pathlib.Path) -> str:
    for line in path.read_text().splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem.replace("_", " ")


def check_offline(out: pathlib.Path) -> list[str]:
    """Scripts, stylesheets, images and frames that a built page would load from another host."""
    found = []
    for page in out.rglob("*.html"):
        for match in EXTERNAL_RESOURCE.finditer(page.read_text(errors="replace")):
            found.append(f"{page.relative_to(out)}: {match.group(1) or match.group(2)}")
    return found


def tidy(out: pathlib.Path) -> None:
    """Drop what mkdocs-jupyter leaves for MathJax when no URL is set (an empty script tag)."""
    for page in out.glob("*.html"):
        text = page.read_text()
        tidied = text.replace('<script src=""> </script>', "")
        if tidied != text:
            page.write_text(tidied)


def build(out: pathlib.Path = OUT, jobs: int = 2, log=print) -> dict:
    start = time.perf_counter()
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    slug, ref = binder_slug()
    links = Links(slug, ref, notebooks)
    executed = site_execute.executed(notebooks, jobs=jobs, log=log)
    ran = time.perf_counter()
    counts = stage(executed, out, links, log)
    if out.exists():
        shutil.rmtree(out)
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(STAGE / "mkdocs.yml")],
                          cwd=STAGE, capture_output=True, text=True,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    warnings = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    if proc.returncode:
        raise SystemExit("mkdocs build failed:\n" + "\n".join(warnings))
    tidy(out)
    external = check_offline(out)
    if external:
        raise SystemExit("the site would load from other hosts:\n  " + "\n  ".join(external[:20]))
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    summary = {"pages": len(list(out.glob("*.html"))), "charts": sum(c["charts"] for c in counts.values()),
               "panels": sum(c["panels"] for c in counts.values()), "megabytes": round(size / 1e6, 1),
               "execute_s": round(ran - start, 1), "total_s": round(time.perf_counter() - start, 1),
               "warnings": warnings}
    for line in warnings:
        log(f"mkdocs: {line}")
    log(f"site: {out / 'index.html'} ({summary['pages']} pages, {summary['charts']} charts, "
        f"{summary['megabytes']} MB; {summary['execute_s']} s executing, {summary['total_s']} s in all)")
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=pathlib.Path, default=OUT, help="where the site goes (default build/site)")
    ap.add_argument("--jobs", type=int, default=2, help="notebooks executed at a time (default 2)")
    args = ap.parse_args()
    build(args.out, args.jobs)


if __name__ == "__main__":
    main()

"""Packaging a user can trust: declared dependencies, the licence, pins that `pip check` accepts.

The full check (build the wheel, install it into a fresh venv, run every notebook's imports and the
command line, add the runtime set and run `pip check`) needs a package index, so CI runs it before the
tests: ``scripts/check_wheel.sh`` from ``.ci/run``. These tests check the same facts offline.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# Imported inside a try: mistune has a plain-text fallback (eda_sim.lab.exercises); distributed only for
# `review --dask`, which says to install it (the extra eda-sim[dask]).
OPTIONAL = {"mistune", "distributed"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def _third_party_imports() -> set[str]:
    found = set()
    for path in (ROOT / "eda_sim").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in ("eda_sim", "__future__")}


def test_every_module_the_package_imports_is_a_declared_dependency():
    declared = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    dists = metadata.packages_distributions()
    missing = []
    for module in sorted(_third_party_imports() - OPTIONAL):
        names = {d.lower().replace("_", "-") for d in dists.get(module, [module])}
        if not names & declared:
            missing.append(f"{module} (from {', '.join(sorted(names))})")
    assert not missing, f"imported by eda_sim but not in pyproject dependencies: {missing}"
    assert "tqdm" in declared  # the sweep's progress bar: a wheel install crashed in sweep() without it


def test_the_runtime_pins_cover_every_declared_dependency():
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pins[_name(name)] = version
    for requirement in PYPROJECT["project"]["dependencies"]:
        assert _name(requirement) in pins, requirement
    assert pins["notebook"] == "7.6.5" and pins["jupyterlab"] == "4.6.6"  # notebook 7.6.5: jupyterlab>=4.6.6,<4.7


def test_requirements_install_a_plain_copy_and_binder_installs_exactly_them():
    lines = [ln.strip() for ln in (ROOT / "requirements.txt").read_text().splitlines()]
    assert "." in lines and not any(ln.startswith("-e") for ln in lines)  # hubs mount $HOME over the repo
    binder = [ln for ln in (ROOT / "binder/requirements.txt").read_text().splitlines()
              if ln.strip() and not ln.startswith("#")]
    assert binder == ["-r ../requirements.txt"]


def test_licence_file_is_the_mit_licence_the_metadata_names():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Permission is hereby granted, free of charge" in text
    assert PYPROJECT["project"]["license"] == "MIT" and PYPROJECT["project"]["license-files"] == ["LICENSE"]


def test_the_install_check_finds_and_imports_every_notebooks_imports():
    spec = importlib.util.spec_from_file_location("check_install", ROOT / "scripts/check_install.py")
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert len(notebooks) == 11  # 00 to 09 and the ready-check
    seen = set()
    for path in notebooks:
        modules = check.notebook_imports(path)
        assert any(m.startswith("eda_sim") for m in modules), path.name
        for name in modules:
            check.check_module(name)
        seen |= set(modules)
    with pytest.raises(ModuleNotFoundError):
        check.check_module("eda_sim.no_such_module")
    assert "eda_sim.lab.views" in seen or any(m.startswith("eda_sim.lab.views") for m in seen)

"""The package's layout: the model, the experiments and the lab's interface in their own places.

See the map in CONTRIBUTING.md. The import graph is read from the source (every ``import``, also those
inside functions, except under ``TYPE_CHECKING``), so a circle shows here before it bites at import time.
"""

from __future__ import annotations

import ast
import importlib
import warnings
from pathlib import Path

import pytest

import eda_sim

PACKAGE = Path(eda_sim.__file__).parent


def _name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path) -> set[str]:
    """The eda_sim modules ``name`` imports anywhere in its source (TYPE_CHECKING blocks left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for t in ast.walk(tree) if isinstance(t, ast.If) and "TYPE_CHECKING" in ast.unparse(t.test)
                   for n in ast.walk(t)}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            subs = {f"{target}.{a.name}" for a in node.names} & MODULES.keys()
            found |= subs or {target}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return (found & MODULES.keys()) - {name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while not comp or comp[-1] != v:
                comp.append(stack.pop())
                on_stack.discard(comp[-1])
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in GRAPH:
        if v not in index:
            visit(v)
    return out


def test_no_import_circle():
    assert _cycles() == []


def test_the_model_does_not_import_the_lab():
    """Only the experiments reach into the lab, for the Slider that describes their controls as data, and the
    command line, an interface like the lab, for ``review``'s HTML report (eda_sim.lab.review_cli)."""
    for name, deps in GRAPH.items():
        if name.startswith(("eda_sim.lab", "eda_sim.experiments")) or name in ("eda_sim", "eda_sim._moved",
                                                                                "eda_sim.__main__"):
            continue
        assert not {d for d in deps if d.startswith("eda_sim.lab")}, name
    for name, deps in GRAPH.items():
        if name.startswith("eda_sim.experiments"):
            assert {d for d in deps if d.startswith("eda_sim.lab")} <= {"eda_sim.lab.panel"}, name


@pytest.mark.parametrize("name", list(MODULES))
def test_every_module_stays_small(name):
    """About 500 lines at most (a little slack: 520), model, experiments and lab interface alike."""
    lines = MODULES[name].read_text(encoding="utf-8").count("\n")
    assert lines <= 520, f"{name} has {lines} lines: split it along its concepts or experiments"


@pytest.mark.parametrize(("old", "new"), [("eda_sim.views.reactivity", "eda_sim.lab.views.reactivity"),
                                          ("eda_sim.exercises", "eda_sim.lab.exercises"),
                                          ("eda_sim.flow", "eda_sim.lab.flow"),
                                          ("eda_sim.plots", "eda_sim.lab.plots"),
                                          ("eda_sim.panel", "eda_sim.lab.panel"),
                                          ("eda_sim.tables", "eda_sim.lab.tables")])
def test_old_interface_paths_still_import_the_same_module(old, new):
    """Saved notebooks and answer keys use the paths from before eda_sim.lab; they get the same module."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module = importlib.import_module(old)
        attribute = getattr(eda_sim, old.split(".")[1])
    assert module is importlib.import_module(new)
    assert attribute is importlib.import_module(".".join(new.split(".")[:3]))
    assert module.__spec__.name == new


def test_public_api_unchanged():
    from eda_sim import System, WorkQueue, compare  # noqa: F401
    from eda_sim.experiments import get

    assert get("costs_outage").name == "costs_outage"

"""Old import paths of the lab's interface, from before it moved into :mod:`eda_sim.lab`.

Learners keep their saved notebooks (on a hub, a laptop) and facilitators their answer keys; those say
``from eda_sim import exercises, flow`` or ``from eda_sim.views import reactivity``. This finder makes
``eda_sim.<old>`` (and its submodules) the very module object of ``eda_sim.lab.<old>``, with a
DeprecationWarning that names the new path. New code imports from :mod:`eda_sim.lab`.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

MOVED = ("exercises", "flow", "panel", "plots", "tables", "views")


class MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``eda_sim.<moved>[.sub]`` and loads it as ``eda_sim.lab.<moved>[.sub]``."""

    def find_spec(self, fullname, path=None, target=None):
        parts = fullname.split(".")
        if len(parts) >= 2 and parts[0] == "eda_sim" and parts[1] in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        new = "eda_sim.lab." + spec.name.removeprefix("eda_sim.")
        warnings.warn(f"{spec.name} moved to {new}; import it from there", DeprecationWarning, stacklevel=2)
        module = importlib.import_module(new)
        self._spec = module.__spec__
        return module

    def exec_module(self, module):
        module.__spec__ = self._spec  # the import system set the alias's spec: keep the real one


def install() -> None:
    if not any(isinstance(f, MovedFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, MovedFinder())  # before the path finder, which would load a second copy


def attribute(name: str):
    """``eda_sim.<name>`` for a moved module (``from eda_sim import exercises``), else AttributeError."""
    if name in MOVED:
        return importlib.import_module(f"eda_sim.{name}")
    raise AttributeError(f"module 'eda_sim' has no attribute {name!r}")

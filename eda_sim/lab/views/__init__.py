"""The control panels and figures of each notebook, built by one function per panel.

A notebook cell calls, say, ``views.reactivity.panel()`` and displays it; the tests and the panel
benchmark build the very same panel, move its sliders and compare its figures with a direct call of
the experiment. Every module here lists its panel builders in ``PANELS``.
"""

from __future__ import annotations

import importlib
import pkgutil


def all_panels() -> dict:
    """{"module.panel_name": builder} for every panel of every notebook (for tests and benchmarks)."""
    out = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, builder in getattr(module, "PANELS", {}).items():
            out[f"{info.name}.{name}"] = builder
    return out

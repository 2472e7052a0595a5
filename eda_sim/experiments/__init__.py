"""Ready-made experiments: a frozen parameter class plus a function that runs it.

The notebooks, the command line (``python -m eda_sim run NAME``), the benchmarks and the tests all use
these, so a number a learner sees in a notebook is the number the tests check. Every module in this
package (or of a family's subpackage, e.g. ``costs/outage.py``) registers its experiments with
:func:`experiment` when imported; :func:`registry` imports them.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import budget


@dataclass(frozen=True)
class Experiment:
    """A named experiment: its parameter dataclass, its run function and its default sliders."""

    name: str
    title: str
    params: type
    run: Callable
    sliders: tuple = field(default=())

    def defaults(self):
        return self.params()

    def make_params(self, **overrides):
        """Parameters with ``overrides`` applied; unknown names raise ValueError listing the known ones."""
        known = {f.name: f for f in dataclasses.fields(self.params)}
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise ValueError(f"experiment {self.name!r} has no parameter {', '.join(unknown)}; "
                             f"known: {', '.join(known)}")
        return dataclasses.replace(self.params(), **overrides)

    def __call__(self, params=None, **overrides):
        if params is None:
            params = self.make_params(**overrides)
        elif overrides:
            params = dataclasses.replace(params, **overrides)
        return self.run(params)


_REGISTRY: dict[str, Experiment] = {}
_loaded = False


def experiment(name: str, title: str, params: type, sliders: tuple = ()):
    """Decorator registering ``run(params)`` as experiment ``name``.

    The registered (and returned) function runs inside one :func:`eda_sim.budget.allowance`, so all the
    simulations of one call share a single event budget and wall-clock deadline.
    """
    if not dataclasses.is_dataclass(params) or not params.__dataclass_params__.frozen:
        raise TypeError(f"{name}: params must be a frozen dataclass")

    def register(run):
        if name in _REGISTRY:
            raise ValueError(f"two experiments named {name!r}")

        @functools.wraps(run)
        def bounded(p):
            """The experiment as a whole draws on one event budget (see :mod:`eda_sim.budget`)."""
            outermost = budget.current() is None
            with budget.allowance(f"experiment {name!r}") as pool:
                try:
                    return run(p)
                except budget.Exhausted as exc:
                    if not outermost:
                        raise  # the outermost experiment, panel or sweep run reports it
                    return budget.Stopped(name, str(exc), pool.spent)

        _REGISTRY[name] = Experiment(name, title, params, bounded, tuple(sliders))
        return bounded

    return register


def registry() -> dict[str, Experiment]:
    """Every experiment, importing each module of this package once."""
    global _loaded
    if not _loaded:
        # every module, including those of a family's subpackage (experiments/costs/outage.py...);
        # names starting with "_" are helpers and register nothing
        for info in sorted(pkgutil.walk_packages(__path__, f"{__name__}."), key=lambda m: m.name):
            if not any(part.startswith("_") for part in info.name.split(".")):
                importlib.import_module(info.name)
        _loaded = True
    return dict(sorted(_REGISTRY.items()))


def get(name: str) -> Experiment:
    reg = registry()
    if name not in reg:
        raise ValueError(f"no experiment named {name!r}; available: {', '.join(reg)}")
    return reg[name]


def summaries(result) -> dict[str, dict]:
    """{architecture: summary} for a comparison, or {"run": summary} for a single result."""
    if hasattr(result, "results"):
        return {arch: r.summary for arch, r in result.results.items()}
    return {"run": result.summary}

"""``your_system``: describe a system's interactions in a file; simulate R/R, EDA and every hybrid.

Notebook 09 and ``python -m eda_sim review FILE``. A description (TOML, :mod:`.load`; keys in
``docs/your_system.md``) names one entry service, the services it needs, one interaction per edge, the
workload and the failures to rehearse (:mod:`.spec`). :mod:`.engine` builds any design (one style per
interaction) on the same seeded workload; :mod:`.review` runs them all and scores them; :mod:`.verdict`
says who wins and why. The capstone (notebook 08) is the example ``food_delivery``: its designs are
built by this engine.
"""

from .engine import build, entry_form, faults, measure, moving_parts
from .load import EXAMPLES, DescriptionError, example, example_text, load, loads
from .review import FLOORS, METRIC, Review, ReviewParams, review, rule_of_thumb, run_review
from .runs import DesignRun, DesignRunParams, cached_loads, run_design
from .spec import (
    CRITERIA,
    DEFAULT_WEIGHTS,
    Design,
    FailureSpec,
    InteractionSpec,
    ServiceSpec,
    Settings,
    SystemSpec,
    WorkloadSpec,
    all_designs,
)

__all__ = [
    "CRITERIA", "DEFAULT_WEIGHTS", "EXAMPLES", "FLOORS", "METRIC", "DescriptionError", "Design", "DesignRun",
    "DesignRunParams", "FailureSpec", "InteractionSpec", "Review", "ReviewParams", "ServiceSpec", "Settings",
    "SystemSpec", "WorkloadSpec", "all_designs", "build", "cached_loads", "entry_form", "example",
    "example_text", "faults", "load", "loads", "measure", "moving_parts", "review", "rule_of_thumb",
    "run_design", "run_review",
]

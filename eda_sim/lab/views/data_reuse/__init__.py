"""Notebook 02 (data reuse): database queries and latency as the number of services needing an order grows.

The module is split into parts (panels, lesson); every name is re-exported here.
"""

from ....experiments.data_reuse import MAX_SERVICES, NAMES, VARIANTS, DataReuseParams  # noqa: F401
from .lesson import (  # noqa: F401
    _RUN_ROWS,
    EXPLAIN,
    LABELS,
    PANELS,
    PREDICTIONS,
    SLOWDOWN,
    SWEEP,
    _check_connections,
    _settings_text,
    checkout,
    exercise,
    light_table,
    long_run,
    outcome,
    prediction,
    run_table,
    settings,
    slowdown,
    smallest_connections,
    staleness,
    sweep_grid,
    sweep_section,
    traffic_table,
)
from .panels import (  # noqa: F401
    N_GRID,
    STYLE,
    TRAFFIC,
    _Chart,
    _same,
    grid,
    panel,
    sweep_figures,
    theory_table,
)

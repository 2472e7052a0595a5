"""Notebook 03 (coupling and failure propagation): one outage seen by both architectures, a deploy, the
retry storm after a short outage, and the fan-out tail.

The module is split into parts (panels, lesson); every name is re-exported here.
"""

from ....experiments.coupling import LOADS, MAX_LEAVES, P_SLOW, POLICIES, POLICY_LABELS, SWEEP_N  # noqa: F401
from .lesson import (  # noqa: F401
    FAILED_OPTIONS,
    FANOUT_ROWS,
    PARAMETER_LABELS,
    PREDICTIONS,
    PROMISE_S,
    STORM_OPTIONS,
    STORM_ROWS,
    _explain_outage,
    _explain_storm,
    _failed,
    deploy_numbers,
    exercise,
    explanation,
    fanout_table,
    outage_numbers,
    parameters,
    prediction,
    retry_storm_table,
    reveal,
    smallest_consumers,
)
from .panels import (  # noqa: F401
    GUIDE,
    LOAD_STYLE,
    OUTAGE_ROWS,
    PANELS,
    PERCENT,
    SCENARIOS,
    SHOWN,
    _gaps,
    _grid,
    _headroom,
    _note,
    _outage_panel,
    _seconds,
    _set_note,
    _window,
    deploy_panel,
    fanout_panel,
    load_figure,
    outage_panel,
    outage_table,
    scenario_table,
    storm_panel,
)

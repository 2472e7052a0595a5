"""Notebook 05 (architectural flexibility): scaling consumers, replay vs backfill, backpressure, partitions.

The panels are in ``panels``, the lesson around them in ``lesson``; both are re-exported here.
"""

from .lesson import (
    BACKPRESSURE_OPTIONS,
    BUGFIX_ROWS,
    CAPACITY_STEP,
    DEFAULT_RUN,
    PARTITION_OPTIONS,
    POLICY_ROWS,
    PREDICTIONS,
    REPLAY_OPTIONS,
    REPLAY_ROWS,
    SCALING_OPTIONS,
    SCALING_ROWS,
    _explain_backpressure,
    _explain_partitions,
    _explain_replay,
    _explain_scaling,
    actual,
    bugfix_table,
    exercise,
    explanation,
    policies_table,
    prediction,
    replay_numbers,
    retention_numbers,
    reveal,
    rows_table,
    scaling_numbers,
    smallest_capacity,
)
from .panels import (
    BASELINE,
    PANELS,
    POLICY_COLORS,
    QUEUE,
    _grid,
    _hline,
    _lag_story,
    _move_vline,
    _note,
    _policy_text,
    _set_gappy,
    _set_note,
    _vline,
    backpressure_panel,
    partitions_panel,
    replay_panel,
    scaling_panel,
)

__all__ = [
    "BACKPRESSURE_OPTIONS", "BASELINE", "BUGFIX_ROWS", "CAPACITY_STEP", "DEFAULT_RUN", "PANELS",
    "PARTITION_OPTIONS", "POLICY_COLORS", "POLICY_ROWS", "PREDICTIONS", "QUEUE", "REPLAY_OPTIONS",
    "REPLAY_ROWS", "SCALING_OPTIONS", "SCALING_ROWS", "_explain_backpressure", "_explain_partitions",
    "_explain_replay", "_explain_scaling", "_grid", "_hline", "_lag_story", "_move_vline", "_note",
    "_policy_text", "_set_gappy", "_set_note", "_vline", "actual", "backpressure_panel", "bugfix_table",
    "exercise", "explanation", "partitions_panel", "policies_table", "prediction", "replay_numbers",
    "replay_panel", "retention_numbers", "reveal", "rows_table", "scaling_numbers", "scaling_panel",
    "smallest_capacity",
]

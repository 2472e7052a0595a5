"""Notebook 09 (your system): describe a system in a file, review its designs, read why one wins.

The charts are in ``charts`` (shared with the HTML report, ``report``), the panels in ``panels``, the lesson
around them in ``lesson``; the panels and the lesson are re-exported here.
"""

from .lesson import (
    OPTIONS,
    PREDICTIONS,
    RULE,
    breaks,
    breaks_text,
    check_pay,
    criteria_table,
    exercise,
    explain_text,
    explanation,
    matches,
    option_of,
    pay_needed_text,
    prediction,
    reveal,
)
from .panels import (
    EXAMPLE_LABELS,
    PANELS,
    EditorPanel,
    Reranked,
    WeightsParams,
    editor_panel,
    example_review,
    ranked_frame,
    ranked_table,
    rerank,
    reviewed,
    verdict_html,
    weights_panel,
)
from .report import write_report

__all__ = [
    "OPTIONS", "PREDICTIONS", "RULE", "breaks", "breaks_text", "check_pay", "criteria_table", "exercise",
    "explain_text", "explanation", "matches", "option_of", "pay_needed_text", "prediction", "reveal",
    "EXAMPLE_LABELS", "EditorPanel", "PANELS", "Reranked", "WeightsParams", "editor_panel", "example_review",
    "ranked_frame", "ranked_table", "rerank", "reviewed", "verdict_html", "weights_panel", "write_report",
]

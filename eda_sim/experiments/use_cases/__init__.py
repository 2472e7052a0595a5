"""When to use what (notebook 06): the guide's use-case table, row by row, measured.

The guide's section 6 says which architecture suits which use case (✅ or ⚠️). Here every row becomes a
small workload run through both architectures on the same seed, in a healthy run and in a run where the
service doing the work is down for ``outage`` seconds:

``crud``         a client saves one record and needs the answer now. R/R: one call (service + one write).
                 EDA: a command is published, a consumer applies it, a reply event travels back.
``async``        jobs arrive with a burst above the workers' capacity. R/R: a worker pool with a bounded
                 queue and a client timeout (rejections and timeouts lose jobs). EDA: a work queue absorbs
                 the burst and the same workers drain it.
``integration``  ``services`` services must act on every order (billing, shipping, ...). R/R: the order
                 service calls them all in parallel, each reads the order from the database. EDA: one
                 event carrying the order, one subscription each (:mod:`eda_sim.comparison`).
``notify``       a notifier must react to events (order shipped). R/R: it polls the source every
                 ``poll_interval`` s (or long-polls, ``polling="long"``). EDA: the broker pushes each event.
``batch``        a new analytics service must reprocess the history. R/R: a backfill job calls the
                 analytics service for each past order, which reads it from the order database. EDA: the
                 analytics consumer group replays the retained log (``retention``).

Every row is measured on the same five criteria (:data:`CRITERIA`), each a key of the per-architecture
summary, so :func:`eda_sim.sweep.sweep` can average them over seeds with confidence intervals:

``time_s``           the time that matters in this row (p95; for ``batch``, the time to finish), s
``done_share``       share of the work done (answered within the deadline, job done, every service acted,
                     event handled, past order reprocessed) in the healthy run
``outage_share``     the same share in the run with an outage
``source_requests``  requests the source (its database, or its API) serves per unit of work, counting the
                     write that creates the data
``moving_parts``     components to build, run and watch (client and producer excluded)

:func:`scores` turns the means into 0–1 scores (higher is better) and a weighted score per row and
architecture; the ``scorecard`` experiment runs the whole grid once through ``sweep`` (cached) and
applies the learner's weights, so moving a weight costs only arithmetic.

One module per experiment of the family; this package re-exports their names, so
``from eda_sim.experiments.use_cases import ...`` reads as before the split.
"""

from ._common import (
    ARCH_LABEL,
    ARCHS,
    BATCH_HISTORY,
    BATCH_UNTIL,
    CASE_NAMES,
    CASES,
    CRITERIA,
    CRUD_RATE,
    DEADLINE,
    GUIDE,
    HOP,
    INTEGRATION_NAMES,
    INTEGRATION_RATE,
    JUDGED_BEFORE,
    METRICS,
    OUTAGE_AT,
    OUTAGE_TARGET,
    PART_KINDS,
    RETRY_AFTER,
    SEED_MAX,
    TIME_MEANING,
    UNTIL,
    Criterion,
    Measured,
    ReplyHop,
    UseCaseParams,
    _arrays,
    _db_queries,
    censored_p95,
    done_share,
    judged,
    moving_parts,
)
from .rows import (
    ASYNC_BURST,
    ASYNC_RATES,
    ASYNC_WORK,
    Backfill,
    async_done,
    batch_times,
    build_async,
    build_batch,
    build_crud,
    build_notify,
    crud_answers,
    integration_flow,
    integration_orders,
    measure_async,
    measure_batch,
    measure_crud,
    measure_integration,
    measure_notify,
    notify_done,
)
from .scorecard import (
    FLIPS,
    PRECISION,
    SCORECARD_SLIDERS,
    Scorecard,
    ScorecardParams,
    break_even,
    closed_form_rows,
    closed_forms,
    criterion_scores,
    flips,
    measured_grid,
    run_scorecard,
    weighted_scores,
)
from .use_case import (
    BUILDERS,
    OUTAGE_COMPONENTS,
    USE_CASE_SLIDERS,
    UseCaseResult,
    _finish,
    _inject,
    _run_integration,
    _run_row,
    run_use_case,
)

__all__ = [
    "ARCHS", "ARCH_LABEL", "ASYNC_BURST", "ASYNC_RATES", "ASYNC_WORK", "BATCH_HISTORY", "BATCH_UNTIL",
    "BUILDERS", "Backfill", "CASES", "CASE_NAMES", "CRITERIA", "CRUD_RATE", "Criterion", "DEADLINE", "FLIPS",
    "GUIDE", "HOP", "INTEGRATION_NAMES", "INTEGRATION_RATE", "JUDGED_BEFORE", "METRICS", "Measured",
    "OUTAGE_AT", "OUTAGE_COMPONENTS", "OUTAGE_TARGET", "PART_KINDS", "PRECISION", "RETRY_AFTER", "ReplyHop",
    "SCORECARD_SLIDERS", "SEED_MAX", "Scorecard", "ScorecardParams", "TIME_MEANING", "UNTIL",
    "USE_CASE_SLIDERS", "UseCaseParams", "UseCaseResult", "_arrays", "_db_queries", "_finish", "_inject",
    "_run_integration", "_run_row", "async_done", "batch_times", "break_even", "build_async", "build_batch",
    "build_crud", "build_notify", "censored_p95", "closed_form_rows", "closed_forms", "criterion_scores",
    "crud_answers", "done_share", "flips", "integration_flow", "integration_orders", "judged", "measure_async",
    "measure_batch", "measure_crud", "measure_integration", "measure_notify", "measured_grid", "moving_parts",
    "notify_done", "run_scorecard", "run_use_case", "weighted_scores",
]

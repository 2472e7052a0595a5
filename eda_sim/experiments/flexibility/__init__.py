"""Architectural flexibility (notebook 05): scaling consumers, replay, backpressure, partitions.

Four experiments, one per claim of the guide's section 5, plus a bug-fix replay:

- ``scaling``: a flash sale swamps a billing consumer group on a partitioned log; extra consumers join
  at ``join_at`` and leave ``stay`` seconds later. The same run without them (same seed, same orders)
  shows the producer publishes exactly the same messages either way; only the lag changes.
- ``replay``: a new analytics service starts at ``join_at`` and needs every past order. EDA: its
  consumer group starts at the earliest retained offset and replays the log. R/R: it fetches each past
  order through the order API (one read of the order database each, ``backfill_rate`` per second),
  while customers keep looking up their orders on the same database.
- ``backpressure``: a flash sale into a bounded work queue with one slow consumer: what each overflow
  policy does at the bound (``reject``, ``drop_oldest``, ``block``) against an unbounded queue.
- ``partitions``: throughput against consumers on a log with ``partitions`` partitions (it stops at
  the partition count) and on a work queue (it keeps growing, but per-key order is lost).
- ``bugfix``: a bug ships at ``bug_at`` and is fixed at ``fixed_at``; the group rewinds to ``bug_at``
  and reprocesses, so every replayed order is a duplicate, and orders older than retention cannot be
  replayed at all.

Every variant of an experiment runs on the same seed with the same stream names, so the orders, their
keys and their processing times are identical across variants.

One module per experiment of the family; this package re-exports their names, so
``from eda_sim.experiments.flexibility import ...`` reads as before the split.
"""

from ._common import SEED_MAX, _created, _log_arrays, fluid_backlog, rate_per_bin, sliding_mean
from .backpressure import (
    BACKPRESSURE_SLIDERS,
    POLICIES,
    BackpressureParams,
    BackpressureResult,
    _backpressure,
    _backpressure_run,
    compare_policies,
    run_backpressure,
    run_backpressure_policy,
)
from .bugfix import BugfixParams, BugfixResult, run_bugfix
from .partitions import (
    MAX_CONSUMERS,
    PARTITIONS_SLIDERS,
    PartitionsParams,
    PartitionsResult,
    _partitions_run,
    _sweep,
    out_of_order_share,
    run_partitions,
    run_partitions_broker,
    sweep_system,
    throughput_vs_consumers,
)
from .replay import (
    ARCH_NAMES,
    REPLAY_SLIDERS,
    ReplayParams,
    ReplayResult,
    _backfill,
    _read_one,
    _replay_eda,
    _replay_rr,
    run_replay,
    run_replay_variant,
)
from .scaling import (
    SCALING_SLIDERS,
    SCALING_VARIANTS,
    ScalingParams,
    ScalingResult,
    _fixed_run,
    run_scaling,
    run_scaling_variant,
)

__all__ = [
    "ARCH_NAMES", "BACKPRESSURE_SLIDERS", "BackpressureParams", "BackpressureResult", "BugfixParams",
    "BugfixResult", "MAX_CONSUMERS", "PARTITIONS_SLIDERS", "POLICIES", "PartitionsParams", "PartitionsResult",
    "REPLAY_SLIDERS", "ReplayParams", "ReplayResult", "SCALING_SLIDERS", "SCALING_VARIANTS", "SEED_MAX",
    "ScalingParams", "ScalingResult", "_backfill", "_backpressure", "_backpressure_run", "_created",
    "_fixed_run", "_log_arrays", "_partitions_run", "_read_one", "_replay_eda", "_replay_rr", "_sweep",
    "compare_policies", "fluid_backlog", "out_of_order_share", "rate_per_bin", "run_backpressure",
    "run_backpressure_policy", "run_bugfix", "run_partitions", "run_partitions_broker", "run_replay",
    "run_replay_variant", "run_scaling", "run_scaling_variant", "sliding_mean", "sweep_system",
    "throughput_vs_consumers",
]

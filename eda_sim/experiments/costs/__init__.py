"""The costs of EDA (notebook 07): what a broker, asynchrony and at-least-once delivery cost.

The guide's closing thought: EDA "adds complexity, requires message brokers, and careful monitoring".
Six small experiments turn that sentence into numbers, each on one seed shared by all its variants:

- ``costs_outage``: the broker is down (or slow) for a window. Publishes are held by the producer and
  accepted when it returns (the client waits about the rest of the outage), dropped, or slowed.
- ``costs_duplicates``: a consumer crashes while it holds processed but unacknowledged messages
  (``ack_every`` on a work queue, ``commit_every`` on a partitioned log): they are redelivered and
  processed again. Side effects (payments charged) double unless the consumer is idempotent.
- ``costs_ordering``: competing consumers on a work queue finish same-key messages out of order; a
  partitioned log keeps each key in one partition, in order, at the price of per-partition queues.
- ``costs_consistency``: a read model updated by a consumer misses an order until the consumer has
  applied it. The window is the consumer's latency; a synchronous write (R/R) has none, but the client
  waits for it instead.
- ``costs_monitoring``: a bad deploy makes consumers fail and slow down; the only signs are consumer
  lag and dead letters, so alerts on both are part of the build.
- ``costs_parts``: the same order flow built both ways: components by kind and network round trips
  per order, counted from the built and run systems.

One module per experiment of the family; this package re-exports their names, so
``from eda_sim.experiments.costs import ...`` reads as before the split.
"""

from ._common import SEED_MAX, _arrays, _tidy
from .consistency import (
    CONSISTENCY_SLIDERS,
    ConsistencyParams,
    ConsistencyResult,
    _consistency_runs,
    _mm1_mean,
    _mm1_quantile,
    run_consistency,
    run_consistency_arch,
)
from .duplicates import (
    BROKERS,
    CRASH_TIMES,
    DUPLICATES_SLIDERS,
    DuplicatesParams,
    DuplicatesResult,
    run_duplicates,
    run_duplicates_variant,
)
from .monitoring import (
    MONITORING_SLIDERS,
    MonitoringParams,
    MonitoringResult,
    _monitoring_run,
    check_lag_threshold,
    run_monitoring,
)
from .ordering import ORDERING_SLIDERS, OrderingParams, OrderingResult, out_of_order, run_ordering, run_ordering_broker
from .outage import OUTAGE_SLIDERS, OUTAGE_VARIANTS, OutageParams, OutageResult, run_outage, run_outage_variant
from .parts import (
    KINDS,
    PARTS_SLIDERS,
    REACTORS,
    EventPublisher,
    PartsParams,
    PartsResult,
    _Sent,
    build_order_flow,
    count_parts,
    round_trips,
    run_parts,
)

__all__ = [
    "BROKERS", "CONSISTENCY_SLIDERS", "CRASH_TIMES", "ConsistencyParams", "ConsistencyResult",
    "DUPLICATES_SLIDERS", "DuplicatesParams", "DuplicatesResult", "EventPublisher", "KINDS",
    "MONITORING_SLIDERS", "MonitoringParams", "MonitoringResult", "ORDERING_SLIDERS", "OUTAGE_SLIDERS",
    "OUTAGE_VARIANTS", "OrderingParams", "OrderingResult", "OutageParams", "OutageResult", "PARTS_SLIDERS",
    "PartsParams", "PartsResult", "REACTORS", "SEED_MAX", "_Sent", "_arrays", "_consistency_runs", "_mm1_mean",
    "_mm1_quantile", "_monitoring_run", "_tidy", "build_order_flow", "check_lag_threshold", "count_parts",
    "out_of_order", "round_trips", "run_consistency", "run_consistency_arch", "run_duplicates",
    "run_duplicates_variant", "run_monitoring", "run_ordering", "run_ordering_broker", "run_outage",
    "run_outage_variant", "run_parts",
]

"""eda_sim: a small discrete-event simulator (on SimPy) of event-driven and request/response backends.

Compose a system from parts and run it::

    from eda_sim import System, WorkQueue, Producer, Poisson, Exponential, consumers
    system = System(seed=1)
    queue = WorkQueue(system, "orders")
    consumers(system, queue, 2, service=Exponential(0.2))
    Producer(system, Poisson(rate=8), queue)
    result = system.run(until=600)
    result.summary["latency_p95"], result.records(), result.timeseries()

Ready-made experiments live in :mod:`eda_sim.experiments`; closed-form results in :mod:`eda_sim.theory`.
"""

from .broker import Topic, WorkQueue
from .consumer import Consumer, consumers
from .database import Database, DatabaseError
from .distributions import Deterministic, Distribution, Exponential, LogNormal, Mixture, Uniform
from .fault import Crash, Down, FailFraction, Slow
from .metrics import ConservationError
from .partitioned_log import ConsumerGroup, PartitionedLog
from .producer import Producer
from .result import Result
from .system import Limits, System
from .workload import Bursty, ConstantRate, Poisson, Scheduled, Workload

__all__ = [
    "Bursty", "ConservationError", "ConstantRate", "Consumer", "ConsumerGroup", "Crash", "Database",
    "DatabaseError", "Deterministic", "Distribution", "Down", "Exponential", "FailFraction", "Limits",
    "LogNormal", "Mixture", "PartitionedLog", "Poisson", "Producer", "Result", "Scheduled", "Slow", "System",
    "Topic", "Uniform", "WorkQueue", "Workload", "consumers",
]
__version__ = "0.1.0"

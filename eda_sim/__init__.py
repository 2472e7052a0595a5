"""eda_sim: a small discrete-event simulator (on SimPy) of event-driven and request/response backends.

Compose a system from parts and run it::

    from eda_sim import System, WorkQueue, Producer, Poisson, Exponential, consumers
    system = System(seed=1)
    queue = WorkQueue(system, "orders")
    consumers(system, queue, 2, service=Exponential(0.2))
    Producer(system, Poisson(rate=8), queue)
    result = system.run(until=600)
    result.summary["latency_p95"], result.records(), result.timeseries()

Request/response parts (``Service``, ``Client``, ``Call``, ``RetryPolicy``, ``BreakerConfig``) and
``compare(Flow(...))``, which runs one business flow both ways on the same draws, are exported too.
Ready-made experiments live in :mod:`eda_sim.experiments`; closed-form results in :mod:`eda_sim.theory`;
the lab's interface (panels, plots, views, exercises, the animated flow) in :mod:`eda_sim.lab`.
"""

from . import _moved, budget
from .broker import Topic, WorkQueue
from .comparison import Comparison, Flow, Handler, compare
from .consumer import Consumer, consumers
from .database import Database, DatabaseError
from .distributions import Deterministic, Distribution, Exponential, LogNormal, Mixture, Uniform
from .fault import Crash, Down, FailFraction, Slow
from .metrics import ConservationError
from .partitioned_log import ConsumerGroup, PartitionedLog
from .producer import Producer
from .resilience import BreakerConfig, Call, CircuitBreaker, RetryBudget, RetryPolicy
from .result import Result
from .service import Client, Downstream, Service
from .system import Limits, System
from .workload import Bursty, ConstantRate, Poisson, Scheduled, Workload

__all__ = [
    "BreakerConfig", "Bursty", "Call", "CircuitBreaker", "Client", "Comparison", "ConservationError",
    "ConstantRate", "Consumer", "ConsumerGroup", "Crash", "Database", "DatabaseError", "Deterministic",
    "Distribution", "Down", "Downstream", "Exponential", "FailFraction", "Flow", "Handler", "Limits", "LogNormal",
    "Mixture", "PartitionedLog", "Poisson", "Producer", "Result", "RetryBudget", "RetryPolicy", "Scheduled",
    "Service", "Slow", "System", "Topic", "Uniform", "WorkQueue", "Workload", "budget", "compare", "consumers",
]
__version__ = "0.1.0"

_moved.install()  # old paths of the lab's interface (eda_sim.views, eda_sim.plots...): see eda_sim/_moved.py


def __getattr__(name):
    return _moved.attribute(name)

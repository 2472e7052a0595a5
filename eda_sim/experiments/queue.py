"""``queue``: Poisson arrivals into a work queue served by competing consumers (an M/M/c queue)."""

from __future__ import annotations

from dataclasses import dataclass

from .. import validate as v
from ..broker import WorkQueue
from ..consumer import consumers
from ..distributions import Exponential
from ..lab.panel import Slider
from ..producer import Producer
from ..system import System
from ..workload import Poisson
from . import experiment


@dataclass(frozen=True, kw_only=True)
class QueueParams:
    """M/M/c: ``rate`` arrivals per second, exponential service with mean ``service_mean`` seconds."""

    rate: float = 8.0
    service_mean: float = 0.2
    consumers: int = 2
    until: float = 600.0
    seed: int = 1

    def __post_init__(self):
        v.positive("rate", self.rate, 1e5)
        v.positive("service_mean", self.service_mean, 1e4)
        v.integer("consumers", self.consumers, 1, 1000)
        v.positive("until", self.until, 1e6)
        v.integer("seed", self.seed, 0, 2**63 - 1)


SLIDERS = (
    Slider("rate", 0.5, 20.0, 0.5, unit="msg/s", help="messages produced per second (Poisson)"),
    Slider("service_mean", 0.05, 1.0, 0.05, unit="s", help="mean time a consumer spends on one message"),
    Slider("consumers", 1, 8, 1, unit="", help="competing consumers on the queue"),
)


def build(p: QueueParams) -> System:
    system = System(p.seed)
    q = WorkQueue(system, "queue")
    consumers(system, q, p.consumers, service=Exponential(p.service_mean))
    Producer(system, Poisson(rate=p.rate), q)
    return system


@experiment("queue", "Work queue with competing consumers (M/M/c)", QueueParams, SLIDERS)
def run_queue(p: QueueParams):
    return build(p).run(p.until)

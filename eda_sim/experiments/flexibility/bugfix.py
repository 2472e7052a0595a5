"""Fix a bug, rewind the group, reprocess (experiment ``bugfix``)."""

from __future__ import annotations

from dataclasses import dataclass

from ... import validate as v
from ...distributions import Exponential
from ...partitioned_log import PartitionedLog
from ...producer import Producer
from ...system import System
from ...workload import Poisson
from .. import experiment
from ._common import SEED_MAX, _created


# ======================================================================================================
# bug fix: rewind the group and reprocess; duplicates, and what retention has already deleted
# ======================================================================================================
@dataclass(frozen=True, kw_only=True)
class BugfixParams:
    """Orders at ``rate``/s into a log kept ``retention`` s. A billing bug ships at ``bug_at`` and is
    fixed at ``fixed_at``; the fixed group rewinds to ``bug_at`` and reprocesses what the log holds."""

    retention: float = 120.0
    bug_at: float = 30.0
    fixed_at: float = 90.0
    rate: float = 5.0
    service_mean: float = 0.05
    partitions: int = 4
    until: float = 150.0
    seed: int = 1

    def __post_init__(self):
        v.positive("retention", self.retention, 1e7)
        v.positive("until", self.until, 1e5)
        v.non_negative("bug_at", self.bug_at, self.until)
        v.number("fixed_at", self.fixed_at, self.bug_at, self.until, lo_open=True)
        v.positive("rate", self.rate, 1e4)
        v.positive("service_mean", self.service_mean, 60)
        v.integer("partitions", self.partitions, 1, 1000)
        v.integer("seed", self.seed, 0, SEED_MAX)


@dataclass(frozen=True)
class BugfixResult:
    params: BugfixParams
    results: dict
    rewound: int

    def numbers(self) -> dict:
        p = self.params
        created = _created(self.results["run"])
        affected = int(((created >= p.bug_at) & (created < p.fixed_at)).sum())
        return {"orders_hit_by_the_bug": affected, "reprocessed": self.rewound,
                "duplicates": self.results["run"].summary["duplicates"],
                "could_not_be_replayed": affected - min(affected, self.rewound)}

    def table(self):
        import pandas as pd

        return pd.DataFrame({f"retention {self.params.retention:g} s": self.numbers()}).rename_axis("metric")


@experiment("bugfix", "Fix a bug, rewind the group, reprocess: duplicates and the retention horizon",
            BugfixParams)
def run_bugfix(p: BugfixParams) -> BugfixResult:
    system = System(p.seed)
    log = PartitionedLog(system, "orders", partitions=p.partitions, retention=p.retention)
    group = log.group("billing", consumers=1, service=Exponential(p.service_mean))
    Producer(system, Poisson(rate=p.rate), log, name="order-service")
    moved = {}
    system.env.timeout(p.fixed_at).callbacks.append(lambda _: moved.update(n=group.rewind(to=p.bug_at)))
    result = system.run(p.until)
    return BugfixResult(p, {"run": result}, moved.get("n", 0))

"""The use-case table's rows, criteria and shared parameters, and the measuring helpers."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ... import validate as v
from ...broker import Broker, WorkQueue
from ...consumer import Consumer
from ...database import Database
from ...distributions import Exponential
from ...partitioned_log import ConsumerGroup
from ...service import Service

SEED_MAX = 2**63 - 1
ARCHS = ("rr", "eda")
ARCH_LABEL = {"rr": "R/R", "eda": "EDA"}
CASES = ("crud", "async", "integration", "notify", "batch")
CASE_NAMES = {
    "crud": "Simple CRUD",
    "async": "High-throughput async workflows",
    "integration": "Multi-service integration",
    "notify": "Real-time notifications",
    "batch": "Offline or batch processing",
}
#: The guide's table, verbatim: (mark, comment) for R/R and for EDA.
GUIDE = {
    "crud": {"rr": ("✅", ""), "eda": ("⚠️", "may be overkill")},
    "async": {"rr": ("⚠️", "limited"), "eda": ("✅", "ideal")},
    "integration": {"rr": ("⚠️", "tightly coupled"), "eda": ("✅", "loosely coupled")},
    "notify": {"rr": ("⚠️", "polling required"), "eda": ("✅", "event-driven")},
    "batch": {"rr": ("⚠️", "limited"), "eda": ("✅", "event logs / replayable")},
}
#: What "the time that matters" is in each row.
TIME_MEANING = {
    "crud": "client waits for its answer (p95)",
    "async": "job submitted → job done (p95)",
    "integration": "caller waits for 'order placed' (p95)",
    "notify": "event → notification sent (p95)",
    "batch": "time to reprocess the whole history",
}
#: The service that does the work and goes down in the outage run.
OUTAGE_TARGET = {"crud": "records", "async": "jobs", "integration": "the last of the N services",
                 "notify": "notifier", "batch": "analytics"}


@dataclass(frozen=True)
class Criterion:
    """One column of the scorecard: the summary key it reads and how a value becomes a 0–1 score.

    ``kind="cost"`` (lower is better): score = best value / this value, so the better architecture
    scores 1 and one twice as slow (or twice as big) scores 0.5. ``kind="share"`` (higher is better):
    the share itself is the score.
    """

    key: str
    label: str
    unit: str
    kind: str
    help: str


CRITERIA = {
    "speed": Criterion("time_s", "speed", "s", "cost", "the time that matters in this row"),
    "throughput": Criterion("done_share", "work done", "share", "share",
                            "share of the work done in the healthy run"),
    "resilience": Criterion("outage_share", "work done despite an outage", "share", "share",
                            "share of the work done when the working service is down for a while"),
    "load": Criterion("source_requests", "load on the source", "requests per unit", "cost",
                      "requests the source's database or API serves per unit of work"),
    "simplicity": Criterion("moving_parts", "simplicity", "moving parts", "cost",
                            "components to build, run and watch"),
}
METRICS = tuple(c.key for c in CRITERIA.values())

DEADLINE = 1.0  # s: a waiting client (CRUD, integration) gives up after this
UNTIL = 60.0  # s: run length of the rows with a steady stream
OUTAGE_AT = 30.0  # s: when the working service goes down (rows with a steady stream)
HOP = Exponential(0.002)  # broker publish acknowledgement (s), and the reply event's hop in CRUD
CRUD_RATE = 5.0  # requests/s
INTEGRATION_RATE = 6.0  # orders/s
INTEGRATION_NAMES = ("billing", "shipping", "email", "analytics", "loyalty", "fraud", "search", "audit")
BATCH_HISTORY = 30.0  # s of orders before the analytics service starts (batch)
BATCH_UNTIL = 90.0
RETRY_AFTER = 1.0  # s: the R/R backfill job retries a failed call after this


@dataclass(frozen=True, kw_only=True)
class UseCaseParams:
    """One row of the guide's table (``case``) run as R/R and EDA, healthy and with an outage.

    ``load`` multiplies the row's arrival rate (CRUD 5/s, async 7.5/s with a 30/s burst, integration
    6/s, notifications 2/s, batch 10/s of history). ``outage`` is how long the working service is down
    (0: no outage run; the outage share is then the healthy share). ``services`` (integration),
    ``poll_interval`` and ``polling`` (notifications) and ``retention`` (batch) change one row only.
    """

    case: str = "crud"
    load: float = 1.0
    outage: float = 5.0
    services: int = 4
    poll_interval: float = 4.0
    polling: str = "fixed"
    retention: float = 60.0
    seed: int = 1

    def __post_init__(self):
        v.choice("case", self.case, CASES)
        v.number("load", self.load, 0.1, 3.0)
        v.number("outage", self.outage, 0.0, 20.0)
        v.integer("services", self.services, 1, len(INTEGRATION_NAMES))
        v.number("poll_interval", self.poll_interval, 0.5, 20.0)
        v.choice("polling", self.polling, ("fixed", "long"))
        v.number("retention", self.retention, 1.0, 1e5)
        v.integer("seed", self.seed, 0, SEED_MAX)

    @property
    def scenario(self) -> UseCaseParams:
        """These parameters without ``case`` and ``seed``: what a grid of rows and seeds shares."""
        return replace(self, case=UseCaseParams.case, seed=UseCaseParams.seed)

    @property
    def outage_window(self) -> tuple[float, float] | None:
        if self.outage == 0:
            return None
        start = BATCH_HISTORY + 3.0 if self.case == "batch" else OUTAGE_AT
        return start, start + self.outage


@dataclass
class Measured:
    """One architecture in one row: ``summary`` (the criteria, what ``sweep`` averages) and its runs."""

    summary: dict
    healthy: object  # a Result
    faulted: object | None  # the Result of the outage run (None without an outage)
    parts: dict  # moving parts by kind (see moving_parts)


# -- helpers ---------------------------------------------------------------------------------------------
JUDGED_BEFORE = 10.0  # s: units created in the last 10 s of a run are not judged (they had no time)


def _arrays(result, log_name: str):
    """(status, done, created) per message of one delivery log (subscription or client)."""
    system = result.system
    log, msgs = system.logs[log_name], system.messages
    n = msgs.count
    k = min(len(log.status), n)
    status = np.zeros(n, dtype=np.int8)
    done = np.full(n, math.nan)
    status[:k] = np.frombuffer(log.status, dtype=np.int8, count=k)
    done[:k] = np.frombuffer(log.done, count=k)
    return status, done, np.frombuffer(msgs.created, count=n).copy()


def judged(created: np.ndarray, until: float) -> np.ndarray:
    """Units created early enough to be judged: not in the last ``JUDGED_BEFORE`` seconds."""
    return created <= until - JUDGED_BEFORE


def censored_p95(created: np.ndarray, done: np.ndarray, until: float) -> float:
    """p95 of (done - created) over judged units; a unit never done counts as done at the end of the
    run (a lower bound on its time, as in notebook 01)."""
    keep = judged(created, until)
    t = np.where(np.isnan(done), until, done)[keep] - created[keep]
    return float(np.percentile(t, 95)) if len(t) else math.nan


def done_share(created: np.ndarray, done: np.ndarray, until: float) -> float:
    """Share of the judged units that were done (``done`` not NaN)."""
    keep = judged(created, until)
    return float(np.mean(~np.isnan(done[keep]))) if keep.any() else math.nan


PART_KINDS = ("services", "brokers", "queues", "consumer services", "databases")


def moving_parts(system, extra: dict | None = None) -> dict:
    """Components to build, deploy and watch, by kind (:data:`PART_KINDS`); ``extra`` adds parts the
    model leaves implicit (a service that only publishes, a reply queue, a backfill job).

    Like ``costs.count_parts`` (notebook 07), but a service counts once however many instances or
    consumers run it: an R/R service with 4 workers and a subscription's 4 competing consumers are
    each one part. A broker counts once; each queue (subscription) in it is a part. Clients and
    producers (the callers) are not counted.
    """
    out = dict.fromkeys(PART_KINDS, 0)
    consumed = set()
    for c in system.components.values():
        if isinstance(c, Service):
            out["services"] += 1
        elif isinstance(c, Database):
            out["databases"] += 1
        elif isinstance(c, Consumer):
            consumed.add(c.queue.name)
        elif isinstance(c, ConsumerGroup):
            out["consumer services"] += 1
        elif isinstance(c, WorkQueue):
            out["queues"] += 1
            out["brokers"] += c.parent is c  # a queue on its own is a broker holding one queue
        elif isinstance(c, Broker):
            out["brokers"] += 1
    out["consumer services"] += len(consumed)
    for kind, n in (extra or {}).items():
        out[v.choice("kind", kind, PART_KINDS)] += n
    return out


def _db_queries(result) -> int:
    c = result.system.counters
    return int(c.get("db_reads", 0) + c.get("db_writes", 0))


# -- crud --------------------------------------------------------------------------------------------------
class ReplyHop:
    """The EDA reply channel of the CRUD row: the reply event's broker hop back to the client.

    The delay for request i is the i-th draw of stream ``publish:replies``, from the same distribution
    as the command's own publish. The reply queue counts as a moving part.
    """

    def __init__(self, system):
        self.name = system.register("replies", self)
        self.draws = system.streams.draws("publish:replies", HOP)

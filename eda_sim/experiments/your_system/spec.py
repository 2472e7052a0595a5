"""What a system description says, as frozen dataclasses checked when built.

A description is one entry service that clients call, the downstream services it needs, and one
*interaction* per edge: ``client -> entry`` first, then ``entry -> service`` for each service it needs.
Each interaction can be built as request/response (``"rr"``) or event-driven (``"eda"``); a *design*
chooses one per interaction (:class:`Design`). Everything else (workload, rehearsed failures, call and
broker settings, database) is the same for every design, so designs differ only by their architecture.

The file format (TOML) is read by :mod:`.load`; these classes check values and say what is allowed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from ... import validate as v
from ...distributions import Deterministic, Distribution, Exponential, as_distribution
from ...workload import Scheduled

STYLES = ("rr", "eda")
FAILURE_KINDS = ("down", "slow", "errors", "crash")
WHEN_DOWN = ("error", "hang")
BROKERS = ("log", "queue")
CLIENT = "client"
MAX_SERVICES = 12
MAX_INTERACTIONS = 12
SEED_MAX = 2**63 - 1


@dataclass(frozen=True, kw_only=True)
class ServiceSpec:
    """A service: ``workers`` (threads when called, consumers when it reads events), the time one request
    takes (``work``), and its database queries per request. ``reads`` happen only when it is called
    synchronously (it looks the data up); an event carries the data, so a consumer skips them."""

    name: str
    workers: int = 4
    work: Distribution = Exponential(0.05)
    reads: int = 0
    writes: int = 0

    def __post_init__(self):
        v.label("service name", self.name)
        if self.name == CLIENT:
            raise ValueError(f"service name {CLIENT!r} is reserved for the callers of the entry service")
        v.integer(f"services.{self.name}.workers", self.workers, 1, 256)
        if not isinstance(self.work, Distribution):  # a plain number: an exponential time with that mean
            object.__setattr__(self, "work", as_distribution(f"services.{self.name}.work", self.work))
        v.integer(f"services.{self.name}.reads", self.reads, 0, 100)
        v.integer(f"services.{self.name}.writes", self.writes, 0, 100)


@dataclass(frozen=True, kw_only=True)
class InteractionSpec:
    """One edge: ``caller`` needs ``callee`` to act on every request.

    ``needs_answer``: the caller cannot answer its own caller without this step's result (built as EDA,
    the answer goes out before the step is done). ``fresh_within`` (s): the step's effect must be
    visible this soon after the request (None: no requirement). ``ordered``: requests with the same key
    must be handled in order. ``once``: the side effect must happen exactly once (a payment).
    """

    name: str
    caller: str
    callee: str
    needs_answer: bool = False
    fresh_within: float | None = None
    ordered: bool = False
    once: bool = False

    def __post_init__(self):
        v.label("interaction name", self.name)
        where = f"interaction {self.name!r}"
        v.label(f"{where} from", self.caller)
        v.label(f"{where} to", self.callee)
        for flag in ("needs_answer", "ordered", "once"):
            v.instance(f"{where} {flag}", getattr(self, flag), bool, "true or false")
        if self.fresh_within is not None:
            v.positive(f"{where} fresh_within", self.fresh_within, 86_400)


@dataclass(frozen=True, kw_only=True)
class FailureSpec:
    """A failure to rehearse on service ``target`` from ``start`` to ``end`` (s).

    ``down``: every call fails (``when_down="error"``, an HTTP 503) or hangs (``"hang"``); its consumers
    stop. ``slow``: everything it does takes ``factor`` times longer. ``errors``: a ``fraction`` of its
    requests fail (consumers retry them). ``crash``: one of its workers dies (R/R: the load balancer
    still sends it its share of calls, which fail; EDA: the consumer's unacknowledged work is redone).
    """

    name: str
    target: str
    kind: str
    start: float
    end: float
    when_down: str = "error"
    factor: float = 5.0
    fraction: float = 0.5

    def __post_init__(self):
        v.label("failure name", self.name)
        where = f"failure {self.name!r}"
        v.label(f"{where} target", self.target)
        v.choice(f"{where} kind", self.kind, FAILURE_KINDS)
        v.window(where, self.start, self.end)
        v.choice(f"{where} when_down", self.when_down, WHEN_DOWN)
        for key, default, kinds in (("when_down", "error", ("down",)), ("factor", 5.0, ("slow",)),
                                    ("fraction", 0.5, ("errors",))):
            if getattr(self, key) != default and self.kind not in kinds:
                raise ValueError(f"{where} {key} applies only to kind = {kinds[0]!r}, not {self.kind!r}: "
                                 f"remove it or change the kind")
        v.number(f"{where} factor", self.factor, 1.0, 1000.0)
        v.number(f"{where} fraction", self.fraction, 0.0, 1.0, lo_open=True)


@dataclass(frozen=True, kw_only=True)
class WorkloadSpec:
    """Poisson requests at ``rate``/s, at each burst's rate inside its window, none after ``traffic_end``;
    the run lasts ``until`` s (the last seconds show what is still unfinished). ``keys``: distinct
    request keys (customers, accounts) for per-key ordering."""

    rate: float = 4.0
    bursts: tuple[tuple[float, float, float], ...] = ()
    keys: int = 1000
    traffic_end: float = 80.0
    until: float = 90.0

    def __post_init__(self):
        v.positive("workload.rate", self.rate, 500)
        v.integer("workload.keys", self.keys, 1, 10**6)
        v.positive("workload.until", self.until, 3600)
        v.number("workload.traffic_end", self.traffic_end, 0.0, self.until, lo_open=True)
        bursts = tuple(tuple(float(x) for x in b) for b in self.bursts)
        for i, (s, e, r) in enumerate(bursts):
            v.window(f"workload.burst[{i}]", s, e)
            v.non_negative(f"workload.burst[{i}].rate", r, 1000)
            if e > self.traffic_end:
                raise ValueError(f"workload.burst[{i}].end must be at most workload.traffic_end="
                                 f"{self.traffic_end:g} s, got {e:g}")
        object.__setattr__(self, "bursts", bursts)
        self.workload()  # overlapping bursts are refused here, with the burst's index

    def workload(self) -> Scheduled:
        spikes = (*self.bursts, (self.traffic_end, self.until + 1.0, 0.0))
        return Scheduled(rate=self.rate, spikes=spikes, keys=self.keys)

    @property
    def expected_requests(self) -> float:
        return self.workload().mean_rate(self.traffic_end) * self.traffic_end


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What every design shares.

    Client: waits ``client_timeout`` s for an answer. Synchronous calls between services: ``timeout`` s
    per try (None: wait as long as it takes), ``retries`` more tries with exponential backoff and full
    jitter from ``backoff`` s. Events: ``broker`` ``"log"`` (Kafka-like partitioned log, consumer groups
    commit offsets every ``commit_every`` messages) or ``"queue"`` (RabbitMQ-like topic, one queue per
    consumer service, acknowledged one by one); ``partitions`` caps a log group's parallelism;
    ``publish_latency`` is the broker's acknowledgement; ``idempotent``: steps marked ``once``
    deduplicate by request id (one more read each); ``topic`` and ``commands`` name the event topic (or
    log) and the command queue (default ``<entry>.events``, ``<entry>.commands``). Database:
    ``db_connections``, ``query_time``. ``sample_every`` (s): how often queues are sampled (recovery times).
    """

    client_timeout: float = 5.0
    timeout: float | None = 0.5
    retries: int = 1
    backoff: float = 0.1
    broker: str = "log"
    partitions: int = 8
    commit_every: int = 20
    publish_latency: Distribution = Deterministic(0.005)
    idempotent: bool = True
    db_connections: int = 8
    query_time: Distribution = Exponential(0.005)
    topic: str | None = None
    commands: str | None = None
    sample_every: float = 1.0

    def __post_init__(self):
        v.number("review.sample_every", self.sample_every, 0.01, 60)
        for key in ("topic", "commands"):
            if getattr(self, key) is not None:
                v.label(f"events.{key}", getattr(self, key))
        v.positive("client.timeout", self.client_timeout, 3600)
        if self.timeout is not None:
            v.number("calls.timeout", self.timeout, 0.01, 600)
        v.integer("calls.retries", self.retries, 0, 10)
        v.positive("calls.backoff", self.backoff, 60)
        v.choice("events.broker", self.broker, BROKERS)
        v.integer("events.partitions", self.partitions, 1, 512)
        v.integer("events.commit_every", self.commit_every, 1, 10_000)
        v.instance("events.publish_latency", self.publish_latency, Distribution, "a distribution")
        v.instance("events.idempotent", self.idempotent, bool, "true or false")
        v.integer("database.connections", self.db_connections, 1, 1000)
        v.instance("database.query_time", self.query_time, Distribution, "a distribution")


#: What the review scores, in the order it lists them, with the default weight of each.
CRITERIA = ("wait", "lost", "done", "fresh", "duplicates", "order", "recovery", "db", "parts")
DEFAULT_WEIGHTS = {"wait": 20, "lost": 20, "done": 10, "fresh": 10, "duplicates": 10, "order": 5,
                   "recovery": 10, "db": 5, "parts": 10}


@dataclass(frozen=True, kw_only=True)
class SystemSpec:
    """A whole description: name, entry service, services, interactions, workload, failures, settings,
    the review's weights (``CRITERIA`` -> points) and its seeds."""

    name: str
    entry: str
    services: tuple[ServiceSpec, ...]
    interactions: tuple[InteractionSpec, ...]
    workload: WorkloadSpec = WorkloadSpec()
    failures: tuple[FailureSpec, ...] = ()
    settings: Settings = Settings()
    weights: tuple[tuple[str, float], ...] = tuple(DEFAULT_WEIGHTS.items())
    description: str = ""
    seeds: tuple[int, ...] = (1, 2, 3)
    source: str = field(default="<description>", compare=False)

    def __post_init__(self):
        v.label("name", self.name)
        v.instance("description", self.description, str, "text")
        services = tuple(self.services)
        interactions = tuple(self.interactions)
        if not 1 <= len(services) <= MAX_SERVICES:
            raise ValueError(f"services: a description needs 1 to {MAX_SERVICES} services, got {len(services)}")
        names = [s.name for s in services]
        dup = _first_duplicate(names)
        if dup:
            raise ValueError(f"services: {dup!r} is described twice")
        if self.entry not in names:
            raise ValueError(f"entry must name one of the services ({', '.join(names)}), got {self.entry!r}")
        if not 2 <= len(interactions) <= MAX_INTERACTIONS:
            raise ValueError(f"interaction: a description needs 2 to {MAX_INTERACTIONS} interactions (the "
                             f"client's call to the entry service and at least one more), got {len(interactions)}")
        dup = _first_duplicate([i.name for i in interactions])
        if dup:
            raise ValueError(f"interaction: the name {dup!r} is used twice")
        first, rest = interactions[0], interactions[1:]
        if first.caller != CLIENT or first.callee != self.entry:
            raise ValueError(f"interaction {first.name!r}: the first interaction must be from = {CLIENT!r}, "
                             f"to = {self.entry!r} (the entry service), got from = {first.caller!r}, "
                             f"to = {first.callee!r}")
        seen = set()
        for i in rest:
            if i.caller != self.entry:
                raise ValueError(f"interaction {i.name!r}: from must be the entry service {self.entry!r} (this "
                                 f"version models one entry service and the services it needs), got {i.caller!r}")
            if i.callee not in names or i.callee == self.entry:
                others = [n for n in names if n != self.entry]
                raise ValueError(f"interaction {i.name!r}: to must be one of the other services "
                                 f"({', '.join(others)}), got {i.callee!r}")
            if i.callee in seen:
                raise ValueError(f"interaction {i.name!r}: {self.entry!r} already has an interaction with "
                                 f"{i.callee!r}; describe each pair once")
            seen.add(i.callee)
        for key in ("topic", "commands"):
            value = getattr(self.settings, key)
            if value in names:
                raise ValueError(f"events.{key}: {value!r} is a service's name; give the broker its own name")
        used = {self.entry} | seen
        unused = [n for n in names if n not in used]
        if unused:
            raise ValueError(f"services: {', '.join(map(repr, unused))} take part in no interaction")
        for f in self.failures:
            if f.target not in names:
                raise ValueError(f"failure {f.name!r}: target must be one of the services "
                                 f"({', '.join(names)}), got {f.target!r}")
            if f.end > self.workload.until:
                raise ValueError(f"failure {f.name!r}: end must be at most workload.until="
                                 f"{self.workload.until:g} s, got {f.end:g}")
        dup = _first_duplicate([f.name for f in self.failures])
        if dup:
            raise ValueError(f"failure: the name {dup!r} is used twice")
        weights = dict(self.weights)
        for key, w in weights.items():
            v.choice("weights key", key, CRITERIA)
            v.number(f"weights.{key}", w, 0, 100)
        if not any(weights.values()):
            raise ValueError("weights: at least one criterion must get more than 0 points")
        seeds = tuple(self.seeds)
        if not 1 <= len(seeds) <= 20:
            raise ValueError(f"review.seeds: give 1 to 20 seeds, got {len(seeds)}")
        for s in seeds:
            v.integer("review.seeds", s, 0, SEED_MAX)
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"review.seeds must differ, got {list(seeds)}")
        object.__setattr__(self, "services", services)
        object.__setattr__(self, "interactions", interactions)
        object.__setattr__(self, "failures", tuple(self.failures))
        object.__setattr__(self, "weights", tuple((k, float(weights.get(k, 0.0))) for k in CRITERIA))
        object.__setattr__(self, "seeds", seeds)

    def service(self, name: str) -> ServiceSpec:
        return next(s for s in self.services if s.name == name)

    @property
    def downstream(self) -> tuple[InteractionSpec, ...]:
        """The interactions from the entry service, in call order."""
        return self.interactions[1:]

    @property
    def weight(self) -> dict[str, float]:
        return dict(self.weights)


@dataclass(frozen=True)
class Design:
    """One style per interaction of ``spec``, in the spec's order: e.g. ``("rr", "eda", "eda")``."""

    styles: tuple[str, ...]

    def __post_init__(self):
        for s in self.styles:
            v.choice("style", s, STYLES)

    def eligible(self, spec: SystemSpec) -> bool:
        """False when a step the entry service needs for its answer is event-driven: the answer would go
        out before the step is done, so the design does not do what the description asks."""
        return not any(i.needs_answer and s == "eda" for i, s in zip(spec.downstream, self.styles[1:], strict=True))

    def of(self, spec: SystemSpec) -> dict[str, str]:
        return dict(zip((i.name for i in spec.interactions), self.styles, strict=True))

    def code(self) -> str:
        """A compact name: one letter per interaction, ``r`` or ``e`` (``"reee"``)."""
        return "".join(s[0] for s in self.styles)

    @classmethod
    def from_code(cls, code: str, spec: SystemSpec) -> Design:
        n = len(spec.interactions)
        if not isinstance(code, str) or len(code) != n or set(code) - {"r", "e"}:
            raise ValueError(f"design must be {n} letters, r (request/response) or e (event-driven) per "
                             f"interaction ({', '.join(i.name for i in spec.interactions)}), got {code!r}")
        return cls(tuple("rr" if c == "r" else "eda" for c in code))

    def label(self, spec: SystemSpec) -> str:
        """``"all R/R"``, ``"all EDA"`` or the EDA interactions, e.g. ``"EDA: pay, notify"``."""
        if all(s == "rr" for s in self.styles):
            return "all R/R"
        if all(s == "eda" for s in self.styles):
            return "all EDA"
        return "EDA: " + ", ".join(i.name for i, s in zip(spec.interactions, self.styles, strict=True) if s == "eda")


def all_designs(spec: SystemSpec) -> list[Design]:
    """Every design: 2 ** interactions of them, all R/R first, all EDA last."""
    return [Design(p) for p in itertools.product(STYLES, repeat=len(spec.interactions))]


def _first_duplicate(names) -> str | None:
    seen = set()
    for n in names:
        if n in seen:
            return n
        seen.add(n)
    return None


def expected_events(spec: SystemSpec) -> float:
    """A rough estimate of simulation events per run (runs of the examples take 0.5 to 0.8 times it), to
    refuse a review too big to run before anything is built."""
    per_request = 3 * len(spec.interactions) + sum(s.reads + s.writes for s in spec.services)
    return spec.workload.expected_requests * per_request * (1 + spec.settings.retries / 4)


"""Records kept during a run, and the tables and summary built from them after it.

Per-message facts live in typed arrays indexed by message id (1 to 8 bytes a field, no object per
message), so a million messages fit in a few tens of megabytes. A constant message size is not stored
per message. DataFrames are only built when asked for, straight from these arrays.
"""

from __future__ import annotations

import math
from array import array
from typing import TYPE_CHECKING

import numpy as np

from .distributions import Deterministic

if TYPE_CHECKING:
    import pandas as pd

NAN = math.nan
CHUNK = 4096

# The fate of one message copy in one subscription (queue, topic subscription or consumer group).
UNASSIGNED, IN_FLIGHT, COMPLETED, DEAD_LETTERED, DROPPED = 0, 1, 2, 3, 4
STATUS_NAMES = {UNASSIGNED: "unassigned", IN_FLIGHT: "in_flight", COMPLETED: "completed",
                DEAD_LETTERED: "dead_lettered", DROPPED: "dropped"}


class ConservationError(AssertionError):
    """A message copy vanished or was counted twice: a bug in the simulator, never in the model."""


def _grow(arr: array, n: int, fill) -> None:
    if n > len(arr):
        arr.extend(array(arr.typecode, [fill]) * (max(n, len(arr) + CHUNK) - len(arr)))


class Messages:
    """Every message produced in a run: creation time, key, size, and when the broker accepted it."""

    def __init__(self, key_rng: np.random.Generator, size_rng: np.random.Generator, keys: int, size):
        self.created = array("d")
        self.key = array("i")  # keys are below 10**9 (validated): 4 bytes a message
        self.size = array("d")  # stays empty while every size is the same (Deterministic): see sizes()
        self.accepted = array("d")  # publish acknowledged (EDA) / response received (R/R)
        self.count = 0
        self._constant_size: float | None = None
        self._key_rng, self._size_rng, self._keys, self._size = key_rng, size_rng, keys, size

    def configure(self, keys: int, size) -> None:
        self._keys, self._size = keys, size

    def new(self, t: float) -> int:
        mid = self.count
        if mid >= len(self.created):
            n = len(self.created) + CHUNK
            keys = self._key_rng.integers(0, self._keys, CHUNK, dtype=np.int64)  # int64 draws: the stream as before
            self.key.frombytes(keys.astype(np.int32).tobytes())
            if isinstance(self._size, Deterministic) and not self.size:
                self._constant_size = self._size.value  # no draws to store (and none taken from the stream)
            else:
                if not self.size and self._constant_size is not None:  # sizes stopped being constant
                    self.size.extend(array("d", [self._constant_size]) * (len(self.created)))
                self.size.frombytes(self._size.sample(self._size_rng, CHUNK).astype(float).tobytes())
            _grow(self.created, n, NAN)
            _grow(self.accepted, n, NAN)
        self.created[mid] = t
        self.count = mid + 1
        return mid

    def keys(self, n: int | None = None) -> np.ndarray:
        """The keys of messages 0..n-1 (all by default), as int64."""
        return np.frombuffer(self.key, dtype=np.int32, count=self.count if n is None else n).astype(np.int64)

    def sizes(self, n: int | None = None) -> np.ndarray:
        """The sizes (bytes) of messages 0..n-1 (all by default)."""
        n = self.count if n is None else n
        if not self.size:
            return np.full(n, np.nan if self._constant_size is None else self._constant_size)
        return np.frombuffer(self.size, count=n).copy()

    def frame(self) -> pd.DataFrame:
        import pandas as pd  # imported when a table is asked for: a plain run never pays for it

        n = self.count
        return pd.DataFrame({
            "message": np.arange(n),
            "key": self.keys(n),
            "size": self.sizes(n),
            "created": np.frombuffer(self.created, count=n),
            "accepted": np.frombuffer(self.accepted, count=n),
        })


class DeliveryLog:
    """What happened to each message copy one subscription was responsible for.

    A copy is assigned (it entered the queue, topic subscription or group), then ends completed,
    dead-lettered or dropped, or is still in flight when the run stops. Processing the same copy again
    after it completed (a redelivery, a replay) counts as a duplicate, not a second completion.
    """

    def __init__(self, name: str):
        self.name = name
        self.enqueued = array("d")
        self.taken = array("d")  # first time a consumer took it
        self.done = array("d")  # time it completed (or was dead-lettered/dropped)
        self.status = array("b")
        self.deliveries = array("i")  # 4 bytes: a copy is never delivered 2**31 times
        self.assigned = self.delivered = self.completed = self.dead_lettered = 0
        self.dropped = self.failed = self.duplicates = 0
        self.wait_sum = 0.0
        self.waited = 0

    def _ensure(self, mid: int) -> None:
        n = mid + 1
        if n > len(self.status):
            _grow(self.enqueued, n, NAN)
            _grow(self.taken, n, NAN)
            _grow(self.done, n, NAN)
            _grow(self.status, n, UNASSIGNED)
            _grow(self.deliveries, n, 0)

    def assign(self, mid: int, t: float) -> None:
        if mid >= len(self.status):
            self._ensure(mid)
        if self.status[mid] != UNASSIGNED:
            raise ConservationError(f"{self.name}: message {mid} assigned twice")
        self.status[mid] = IN_FLIGHT
        self.enqueued[mid] = t
        self.assigned += 1

    def deliver(self, mid: int, t: float) -> None:
        self.delivered += 1
        self.deliveries[mid] += 1
        if self.taken[mid] != self.taken[mid]:  # NaN: first delivery
            self.taken[mid] = t
            self.wait_sum += t - self.enqueued[mid]
            self.waited += 1

    def complete(self, mid: int, t: float) -> None:
        if self.status[mid] == IN_FLIGHT:
            self.status[mid] = COMPLETED
            self.done[mid] = t
            self.completed += 1
        else:
            self.duplicates += 1

    def fail(self) -> None:
        self.failed += 1

    def dead_letter(self, mid: int, t: float) -> None:
        if self.status[mid] == IN_FLIGHT:
            self.status[mid] = DEAD_LETTERED
            self.done[mid] = t
            self.dead_lettered += 1

    def drop(self, mid: int, t: float) -> None:
        if mid >= len(self.status) or self.status[mid] == UNASSIGNED:  # refused before it was assigned
            self.assign(mid, t)
        if self.status[mid] == IN_FLIGHT:
            self.status[mid] = DROPPED
            self.done[mid] = t
            self.dropped += 1

    @property
    def in_flight(self) -> int:
        return self.assigned - self.completed - self.dead_lettered - self.dropped

    def check(self) -> None:
        """Recount every fate from the per-message arrays and compare with the running counters."""
        status = np.frombuffer(self.status, dtype=np.int8)
        counts = np.bincount(status, minlength=5)
        expected = {IN_FLIGHT: self.in_flight, COMPLETED: self.completed,
                    DEAD_LETTERED: self.dead_lettered, DROPPED: self.dropped}
        for code, n in expected.items():
            if counts[code] != n:
                raise ConservationError(
                    f"{self.name}: {STATUS_NAMES[code]} counted {n} but {counts[code]} messages have that fate")
        if counts[1:].sum() != self.assigned:
            raise ConservationError(f"{self.name}: {self.assigned} assigned but {counts[1:].sum()} accounted for")
        if min(self.assigned, self.completed, self.dropped, self.dead_lettered, self.in_flight) < 0:
            raise ConservationError(f"{self.name}: a negative count")

    def frame(self, messages: Messages) -> pd.DataFrame:
        """One row per copy this subscription was given. Built column by column into one frame without
        the copies pandas makes by default (its own, then consolidating): a million rows cost about 80
        bytes each, not 160."""
        import pandas as pd  # imported when a table is asked for: a plain run never pays for it

        n = min(len(self.status), messages.count)
        status = np.frombuffer(self.status, dtype=np.int8, count=n)
        keep = np.flatnonzero(status != UNASSIGNED)

        def column(buf, dtype=np.float64):
            return np.frombuffer(buf, dtype=dtype, count=n)[keep]

        created, enq, taken, done, st = (column(messages.created), column(self.enqueued), column(self.taken),
                                         column(self.done), status[keep])
        latency = done - created
        latency[st != COMPLETED] = np.nan
        return pd.DataFrame({
            "subscription": self.name,
            "message": keep,
            "key": column(messages.key, np.int32).astype(np.int64),
            "created": created,
            "enqueued": enq,
            "taken": taken,
            "done": done,
            "status": pd.Categorical.from_codes(st - 1, list(STATUS_NAMES.values())[1:]),
            "deliveries": column(self.deliveries, np.int32).astype(np.int64),
            "wait": taken - enq,
            "latency": latency,
        }, copy=False)

    def latencies(self, messages: Messages) -> np.ndarray:
        """Creation-to-completion seconds of the completed copies, in message order (a new array)."""
        n = min(len(self.status), messages.count)
        status = np.frombuffer(self.status, dtype=np.int8, count=n)
        done = np.frombuffer(self.done, count=n)
        created = np.frombuffer(messages.created, count=n)
        ok = status == COMPLETED
        if ok.all():  # the usual case: no masked copies of two whole arrays
            return done - created
        out = done[ok]
        out -= created[ok]
        return out


class Series:
    """A time series sampled at a fixed step: one array per named gauge."""

    def __init__(self):
        self.t = array("d")
        self.columns: dict[str, array] = {}
        self.gauges: dict[str, object] = {}

    def add(self, name: str, gauge) -> None:
        if name in self.gauges:
            raise ValueError(f"two gauges named {name!r}")
        self.gauges[name] = gauge
        self.columns[name] = array("d", [NAN]) * len(self.t)

    def sample(self, t: float) -> None:
        self.t.append(t)
        for name, gauge in self.gauges.items():
            self.columns[name].append(float(gauge()))

    def frame(self) -> pd.DataFrame:
        import pandas as pd  # imported when a table is asked for: a plain run never pays for it

        data = {"time": np.frombuffer(self.t)}
        data.update({k: np.frombuffer(c) for k, c in self.columns.items()})
        return pd.DataFrame(data)


def percentiles(values: np.ndarray, scratch: bool = False) -> dict[str, float]:
    """Mean, p50, p95, p99 and max. ``scratch=True``: ``values`` may be reordered (saves a copy of it)."""
    if len(values) == 0:
        return {"latency_mean": NAN, "latency_p50": NAN, "latency_p95": NAN, "latency_p99": NAN,
                "latency_max": NAN}
    mean, top = float(values.mean()), float(values.max())  # before the percentiles may reorder values
    p50, p95, p99 = np.percentile(values, [50, 95, 99], overwrite_input=scratch)
    return {"latency_mean": mean, "latency_p50": float(p50), "latency_p95": float(p95),
            "latency_p99": float(p99), "latency_max": top}

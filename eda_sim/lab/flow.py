"""Where every order is at every moment: the message-flow traces behind notebook 00's animation.

A run of the guide's order example (:class:`OrderExample`: OrderSvc, then Billing and Audit) is turned
into *frames*: for each simulated time ``t_k = k * dt`` and each marker, the station the marker is at
and its slot there (its place in a queue, or the worker it occupies), and from those an ``(x, y)``
position in a fixed drawing (:class:`Layout`). Arrays are ``frames × markers``; NaN means "not
visible at that moment" (not created yet, finished, or beyond what a queue lane can show).

What a marker is:

- **EDA** (:func:`trace_eda`): one marker per *copy* of an order, one copy per subscription. The first
  copy stands for the order while OrderSvc publishes it (``created`` to ``accepted``, the broker's
  acknowledgement); then every copy waits in its subscription's queue on the Event Bus (``enqueued``
  to ``taken``), is processed by a consumer (``taken`` to ``done``) and is shown briefly at "done".
- **R/R** (:func:`trace_rr`): one marker per *request*. It waits for an OrderSvc worker, takes one,
  then waits for and takes a Billing worker, then an Audit worker (OrderSvc calls them one after the
  other), and the answer goes back to the client. Meanwhile a second marker per request, the *held
  worker*, sits in OrderSvc's pool: the worker that waits for Billing and Audit to answer.

Times come straight from the run's records: the delivery logs (``enqueued``, ``taken``, ``done``) and
the broker's acknowledgements for EDA; for R/R the client's answers, each service's first completion
(:meth:`Service.done_times`) and the entry service's draws. When a call waited for a worker is not
recorded, so it is rebuilt exactly from arrivals and completions: each service is a FIFO queue in
front of identical workers (:func:`fifo_starts`). Which worker or consumer took a message is not
recorded either; slots are assigned lowest-free-first for the drawing only.

The traces draw a plain flow: no faults, timeouts, retries or database queries (R/R calls must be
sequential). Anything else raises ValueError rather than drawing something the run did not do.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from .. import validate as v
from ..broker import Topic
from ..comparison import Comparison, Flow, FlowProbe, Handler, compare
from ..distributions import Deterministic, Exponential
from ..metrics import COMPLETED
from ..service import Service
from ..workload import Scheduled
from .flow_drawing import (  # noqa: F401 - also flow.Box, flow.Spot, flow.MAX_HANDLERS as before the split
    MAX_ENTRY_WORKERS,
    MAX_HANDLERS,
    MAX_WORKERS,
    Box,
    Layout,
    Spot,
    layout,
)

HIDDEN = -1  # station code of a marker that is not visible
MAX_FRAMES = 2000


# -- the example -----------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class OrderExample:
    """The guide's picture as a short run: orders at ``rate``/s, a burst, Billing and Audit.

    Orders arrive at random (Poisson) at ``rate`` per second until ``arrivals_end``, and at
    ``burst_rate`` per second for ``burst_length`` seconds from ``burst_start``, so a queue forms.
    Billing and Audit take exponential times with means ``billing_time`` and ``audit_time``; each has
    ``workers`` R/R workers or EDA consumers. R/R only: OrderSvc has ``entry_workers`` workers, each held
    while its order's calls to Billing and Audit run. EDA only: the broker acknowledges a publish after
    ``publish_latency`` seconds. The run lasts ``until`` seconds; the animation has a frame every ``dt``.
    """

    rate: float = 1.2
    burst_rate: float = 10.0
    burst_start: float = 3.0
    burst_length: float = 1.0
    arrivals_end: float = 10.0
    billing_time: float = 0.35
    audit_time: float = 0.2
    workers: int = 1
    entry_workers: int = 4
    publish_latency: float = 0.01
    until: float = 13.0
    dt: float = 0.05
    linger: float = 0.4
    seed: int = 1

    def __post_init__(self):
        v.positive("rate", self.rate, 100.0)
        v.non_negative("burst_rate", self.burst_rate, 100.0)
        v.non_negative("burst_start", self.burst_start, 1e4)
        v.positive("burst_length", self.burst_length, 1e4)
        v.positive("arrivals_end", self.arrivals_end, 1e4)
        if self.burst_start + self.burst_length > self.arrivals_end:
            raise ValueError(f"the burst must end by arrivals_end={self.arrivals_end:g} s, got burst_start + "
                             f"burst_length = {self.burst_start + self.burst_length:g} s")
        v.positive("billing_time", self.billing_time, 60.0)
        v.positive("audit_time", self.audit_time, 60.0)
        v.integer("workers", self.workers, 1, MAX_WORKERS)
        v.integer("entry_workers", self.entry_workers, 1, MAX_ENTRY_WORKERS)
        v.positive("publish_latency", self.publish_latency, 10.0)
        v.positive("until", self.until, 600.0)
        v.number("dt", self.dt, 0.001, 10.0)
        if self.until / self.dt > MAX_FRAMES:
            raise ValueError(f"until / dt must be at most {MAX_FRAMES} frames, got {self.until:g} / {self.dt:g}")
        v.non_negative("linger", self.linger, 10.0)
        v.integer("seed", self.seed, 0, 2**63 - 1)

    def flow(self) -> Flow:
        """The :class:`~eda_sim.comparison.Flow` this example runs as R/R and as EDA."""
        spikes = ((self.burst_start, self.burst_start + self.burst_length, self.burst_rate),
                  (self.arrivals_end, self.arrivals_end + 1e6, 0.0))
        handlers = (Handler(name="billing", service=Exponential(self.billing_time), workers=self.workers),
                    Handler(name="audit", service=Exponential(self.audit_time), workers=self.workers))
        return Flow(workload=Scheduled(rate=self.rate, spikes=spikes), handlers=handlers, entry="orders",
                    entry_workers=self.entry_workers, calls="sequential",
                    publish_latency=Deterministic(self.publish_latency))


@dataclass(frozen=True)
class OrderAnimation:
    """Both runs of an :class:`OrderExample` (``comparison``) and their traces (``traces["rr"|"eda"]``)."""

    params: OrderExample
    comparison: Comparison
    traces: dict

    def orders(self):
        """One row per order: created, and per architecture when the client was answered and when done."""
        return self.comparison.orders()

    def frame_at(self, t: float) -> int:
        """The index of the last frame at or before ``t`` seconds."""
        return self.traces["eda"].frame_at(t)

    def table(self):
        """The run in numbers, one column per architecture (times in seconds)."""
        import pandas as pd

        rows = {}
        for arch in ("rr", "eda"):
            tr = self.traces[arch]
            wait, done = tr.accepted - tr.created, tr.finished - tr.created
            longest = lambda station, tr=tr: (int(tr.counts[:, tr.stations.index(station)].max())  # noqa: E731
                                              if station in tr.stations else np.nan)
            rows[arch] = {
                "orders placed": len(tr.created),
                "orders done by the end": int(np.sum(~np.isnan(tr.finished))),
                "client wait, mean (s)": np.nanmean(wait) if len(wait) else np.nan,
                "client wait, longest (s)": np.nanmax(wait) if len(wait) else np.nan,
                "order done after, mean (s)": np.nanmean(done) if len(done) else np.nan,
                "order done after, longest (s)": np.nanmax(done) if len(done) else np.nan,
                "longest queue for Billing": longest("billing.queue"),
                "longest queue for Audit": longest("audit.queue"),
                "longest queue for an OrderSvc worker": longest(f"{tr.entry}.queue"),
                "most clients waiting at once": int(tr.waiting.max()),
                "clients waiting, time average": float(tr.waiting.mean()),
            }
        return pd.DataFrame(rows).rename_axis("metric")


def run(params: OrderExample) -> OrderAnimation:
    """Run the example as R/R and EDA on the same seed and trace both (a ControlPanel's ``run``)."""
    if not isinstance(params, OrderExample):
        raise ValueError(f"params must be an OrderExample, got {params!r}")
    comp = compare(params.flow(), until=params.until, seed=params.seed, sample_every=1.0)
    kw = dict(dt=params.dt, linger=params.linger)
    return OrderAnimation(params, comp, {"rr": trace_rr(comp.results["rr"], **kw),
                                         "eda": trace_eda(comp.results["eda"], **kw)})


# -- traces -----------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Trace:
    """Per-frame positions of every marker of one run (see the module docstring).

    ``times`` (F,) are the frame times. Each marker (M of them) follows a path of S stations:
    ``order`` (M,) is its order id, ``copy`` (M,) its subscription index (EDA; 0 for R/R), ``path``
    (M, S) the station indices (into ``stations``) of its path, ``enter`` and ``leave`` (M, S) when it
    enters and leaves each one, ``slots`` (M, S) the worker it takes there (-1: none, ranked instead).
    Per frame and marker (F, M): ``step`` the column of ``path`` it is at (-1: hidden), ``station``
    the station index (``HIDDEN`` = -1), ``slot`` its place there and ``x``, ``y`` the drawing
    position (NaN: not visible). R/R also has ``held_x``, ``held_y`` (F, N): the OrderSvc worker each
    order holds while Billing and Audit work (EDA: zero columns). ``waiting_x``, ``waiting_y`` (F, N)
    place the clients still waiting in the client box. Per frame (F,): ``waiting`` clients waiting,
    ``answered`` clients answered so far, ``done`` orders every handler has finished, ``counts``
    (F, len(stations)) markers per station (shown or not). Per order (N,): ``created``, ``accepted``
    (the client's answer or the broker's acknowledgement) and ``finished`` (every handler done).
    """

    arch: str
    entry: str
    times: np.ndarray
    stations: tuple
    order: np.ndarray
    copy: np.ndarray
    path: np.ndarray
    enter: np.ndarray
    leave: np.ndarray
    slots: np.ndarray
    step: np.ndarray
    station: np.ndarray
    slot: np.ndarray
    x: np.ndarray
    y: np.ndarray
    held_x: np.ndarray
    held_y: np.ndarray
    waiting_x: np.ndarray
    waiting_y: np.ndarray
    waiting: np.ndarray
    answered: np.ndarray
    done: np.ndarray
    counts: np.ndarray
    created: np.ndarray
    accepted: np.ndarray
    finished: np.ndarray
    layout: Layout

    @property
    def frames(self) -> int:
        return len(self.times)

    @property
    def dt(self) -> float:
        return float(self.times[1] - self.times[0]) if len(self.times) > 1 else 0.0

    def frame_at(self, t: float) -> int:
        """Index of the last frame at or before ``t`` (clipped to the run)."""
        k = int(np.searchsorted(self.times, t + 1e-9, side="right")) - 1
        return min(max(k, 0), self.frames - 1)

    def count(self, station: str, k: int) -> int:
        """How many markers are at ``station`` in frame ``k`` (shown or not)."""
        return int(self.counts[k, self.stations.index(station)])

    def moves(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Polylines of the hops made since frame ``k - 1``: x and y with NaN between hops.

        A hop is drawn from where the marker was (the client, for one that just appeared) through
        every station it passed without stopping for a whole frame, to where it is now. R/R answers
        and calls pass through the OrderSvc worker that waits for them.
        """
        if k <= 0 or k >= self.frames:
            return np.empty(0), np.empty(0)
        p0, p1 = self.step[k - 1], self.step[k]
        xs: list = []
        ys: list = []
        for j in np.flatnonzero((p1 != p0) & (p1 >= 0)):
            if np.isnan(self.x[k, j]):
                continue  # beyond what a queue lane shows
            if p0[j] < 0:
                pts = [self._client_point()]
                first = 0
            else:
                pts = [self._point(j, p0[j], k - 1)]
                first = p0[j] + 1
                if self._answers_to_entry(j, p0[j]):
                    pts.append(self._held_point(j))
            for s in range(first, p1[j]):
                pts.append(self._point(j, s, None))
                if self._answers_to_entry(j, s):
                    pts.append(self._held_point(j))
            pts.append((self.x[k, j], self.y[k, j]))
            xs += [p[0] for p in pts] + [np.nan]
            ys += [p[1] for p in pts] + [np.nan]
        return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)

    # -- helpers of moves()
    def _client_point(self) -> tuple[float, float]:
        return self.layout.start

    def _answers_to_entry(self, j: int, s: int) -> bool:
        """R/R: after a handler's worker, the answer goes back to OrderSvc."""
        if self.arch != "rr":
            return False
        name = self.stations[self.path[j, s]]
        return name != self.entry and not name.endswith(".queue") and name != "answered"

    def _held_point(self, j: int) -> tuple[float, float]:
        spot = self.layout.spots[self.entry]
        entry_col = list(self.path[j]).index(self.stations.index(self.entry))
        x, y = spot.offsets(np.array([self.slots[j, entry_col]]))
        return float(x[0]), float(y[0])

    def _point(self, j: int, s: int, k: int | None) -> tuple[float, float]:
        """Where marker j is drawn at path column s (in frame k if given, else its first place there)."""
        if k is not None and not np.isnan(self.x[k, j]):
            return float(self.x[k, j]), float(self.y[k, j])
        spot = self.layout.spots[self.stations[self.path[j, s]]]
        fixed = self.slots[j, s]
        place = fixed if fixed >= 0 else (spot.cap - 1 if k is not None else 0)  # lane tail if overflowing
        x, y = spot.offsets(np.array([place]))
        return float(x[0]), float(y[0])


def _frames(until: float, dt: float) -> np.ndarray:
    v.number("dt", dt, 0.001, 10.0)
    n = int(math.floor(until / dt + 1e-9)) + 1
    if n > MAX_FRAMES + 1:
        raise ValueError(f"until / dt must be at most {MAX_FRAMES} frames, got {until:g} / {dt:g}")
    return np.arange(n) * dt


def fifo_starts(arrive: np.ndarray, finish: np.ndarray, workers: int) -> np.ndarray:
    """When each call took a worker, for a FIFO queue in front of ``workers`` identical workers.

    ``arrive`` and ``finish`` are per call (NaN: never arrived / still busy at the end). The next call
    in line starts when it has arrived and a worker is free, which is exact for eda_sim's services and
    queues. NaN in the answer: the call never got a worker.
    """
    arrive = np.asarray(arrive, dtype=float)
    finish = np.asarray(finish, dtype=float)
    free = [-math.inf] * workers
    start = np.full(len(arrive), math.nan)
    for i in np.argsort(arrive, kind="stable"):
        a = arrive[i]
        if math.isnan(a):
            break  # argsort puts NaN last
        f = heapq.heappop(free)
        s = max(a, f)
        if math.isinf(s):
            heapq.heappush(free, f)
            continue
        start[i] = s
        heapq.heappush(free, math.inf if math.isnan(finish[i]) else max(finish[i], s))
    return start


def worker_slots(start: np.ndarray, end: np.ndarray, workers: int) -> np.ndarray:
    """The lowest free worker for each job (start, end); -1 if it never started. For drawing only."""
    free = np.full(workers, -math.inf)
    slot = np.full(len(start), -1, dtype=np.int64)
    for i in np.argsort(start, kind="stable"):
        s = start[i]
        if math.isnan(s):
            break
        w = np.flatnonzero(free <= s + 1e-12)
        w = int(w[0]) if len(w) else int(np.argmin(free))
        slot[i] = w
        free[w] = math.inf if math.isnan(end[i]) else end[i]
    return slot


def _probe(result) -> FlowProbe:
    probe = next((c for c in result.system.components.values() if isinstance(c, FlowProbe)), None)
    if probe is None:
        raise ValueError("the run was not built from a Flow (build_rr, build_eda or compare)")
    return probe


def _plain(result, flow: Flow) -> None:
    if result.system.faults:
        raise ValueError(f"the flow animation draws runs without faults; this run has {len(result.system.faults)}")
    if flow.uses_db:
        raise ValueError("the flow animation draws handlers without database queries (reads=writes=0)")


def _arr(buf, n: int, dtype=float) -> np.ndarray:
    out = np.full(n, np.nan) if dtype is float else np.zeros(n, dtype=dtype)
    k = min(n, len(buf))
    out[:k] = np.frombuffer(buf, dtype=dtype, count=k)
    return out


def trace_eda(result, *, dt: float = 0.05, linger: float = 0.4) -> Trace:
    """Frames of an EDA run built by :func:`~eda_sim.comparison.build_eda` (one marker per copy).

    ``dt`` is the time between frames (s); a finished copy stays at "done" for ``linger`` seconds.
    """
    probe = _probe(result)
    flow = probe.flow
    _plain(result, flow)
    v.non_negative("linger", linger, 10.0)
    system = result.system
    if not isinstance(system.components.get(flow.entry), Topic):
        raise ValueError("trace_eda needs an EDA run (a Topic named after the flow's entry); use trace_rr")
    names = tuple(h.name for h in flow.handlers)
    o = probe.orders()
    n = len(o["created"])
    logs = [system.logs[h] for h in names]
    for lg in logs:
        if lg.failed or lg.dropped or lg.dead_lettered or lg.duplicates:
            raise ValueError(f"subscription {lg.name!r} failed, dropped or redelivered messages; the "
                             "animation draws a plain flow")
    lay = layout("eda", names, entry=flow.entry, workers=max(h.workers for h in flow.handlers))
    stations = (flow.entry, *[s for h in names for s in (f"{h}.queue", h, f"{h}.done")])
    idx = {s: i for i, s in enumerate(stations)}
    created, accepted = o["created"], o["accepted"]
    none = np.full(n, np.nan)
    enter, leave, path, slots = [], [], [], []
    for c, (h, lg) in enumerate(zip(names, logs, strict=True)):
        enq, taken = _arr(lg.enqueued, n), _arr(lg.taken, n)
        done = np.where(_arr(lg.status, n, np.int8) == COMPLETED, _arr(lg.done, n), np.nan)
        # The first copy stands for the order while OrderSvc publishes it; the others appear on the bus.
        enter.append(np.column_stack([created if c == 0 else none, enq, taken, done]))
        leave.append(np.column_stack([accepted if c == 0 else none, taken, done, done + linger]))
        path.append(np.tile([idx[flow.entry], idx[f"{h}.queue"], idx[h], idx[f"{h}.done"]], (n, 1)))
        workers = next(hd.workers for hd in flow.handlers if hd.name == h)
        fixed = np.full((n, 4), -1, dtype=np.int64)
        fixed[:, 2] = worker_slots(taken, done, workers)
        slots.append(fixed)
    return _build("eda", result, lay, flow.entry, stations, np.tile(np.arange(n), len(names)),
                  np.repeat(np.arange(len(names)), n), np.vstack(path), np.vstack(enter), np.vstack(leave),
                  np.vstack(slots), created, accepted, o["done"], dt)


def trace_rr(result, *, dt: float = 0.05, linger: float = 0.4) -> Trace:
    """Frames of an R/R run built by :func:`~eda_sim.comparison.build_rr` (one marker per request).

    ``dt`` is the time between frames (s); an answered request stays at "answered" for ``linger`` s.
    """
    probe = _probe(result)
    flow = probe.flow
    _plain(result, flow)
    v.non_negative("linger", linger, 10.0)
    system = result.system
    entry = system.components.get(flow.entry)
    if not isinstance(entry, Service):
        raise ValueError("trace_rr needs an R/R run (a Service named after the flow's entry); use trace_eda")
    if flow.calls != "sequential":
        raise ValueError(f"trace_rr draws sequential calls only, got calls={flow.calls!r}")
    s = result.summary
    if s["errors"] or s["timeouts"] or s["rejected"] or s["breaker_open"] or s["retries"] or s["hedges"]:
        raise ValueError("the run has errors, timeouts, rejections, retries or hedges; the animation draws "
                         "a plain flow")
    names = tuple(h.name for h in flow.handlers)
    o = probe.orders()
    n = len(o["created"])
    created, answered = o["created"], o["accepted"]
    lay = layout("rr", names, entry=flow.entry, workers=max(h.workers for h in flow.handlers),
                 entry_workers=entry.workers)
    stations = (f"{flow.entry}.queue", flow.entry, *[s for h in names for s in (f"{h}.queue", h)], "answered")
    idx = {s: i for i, s in enumerate(stations)}
    free = np.full(n, -1, dtype=np.int64)
    # OrderSvc: a worker from the request's start until the answer; its own work first.
    entry_start = fifo_starts(created, answered, entry.workers)
    draws = system.streams.draws(f"service:{flow.entry}", entry.service)  # the very draws the service used
    entry_end = entry_start + np.array([draws[i] for i in range(n)], dtype=float)
    entry_slot = worker_slots(entry_start, answered, entry.workers)
    enter, leave = [created, entry_start], [entry_start, entry_end]
    path, slots = [idx[f"{flow.entry}.queue"], idx[flow.entry]], [free, entry_slot]
    arrive = entry_end
    for h in names:  # then each handler in turn: wait for a worker, work, answer OrderSvc
        svc = system.components[h]
        done = svc.done_times(n)
        start = fifo_starts(arrive, done, svc.workers)
        enter += [arrive, start]
        leave += [start, done]
        path += [idx[f"{h}.queue"], idx[h]]
        slots += [free, worker_slots(start, done, svc.workers)]
        arrive = done
    enter.append(answered)
    leave.append(answered + linger)
    path.append(idx["answered"])
    slots.append(free)
    trace = _build("rr", result, lay, flow.entry, stations, np.arange(n), np.zeros(n, dtype=np.int64),
                   np.tile(path, (n, 1)), np.column_stack(enter), np.column_stack(leave), np.column_stack(slots),
                   created, answered, o["done"], dt)
    t = trace.times[:, None]
    held = (entry_end[None, :] <= t) & (t < np.where(np.isnan(answered), np.inf, answered)[None, :])
    hx, hy = lay.spots[flow.entry].offsets(entry_slot)
    trace.held_x[...] = np.where(held, hx[None, :], np.nan)
    trace.held_y[...] = np.where(held, hy[None, :], np.nan)
    return trace


def _build(arch, result, lay, entry, stations, order, copy, path, enter, leave, slots, created, accepted, done,
           dt) -> Trace:
    """Where every marker is in every frame: path column, station, slot, then the drawing position."""
    times = _frames(result.until, dt)
    f, m = len(times), len(order)
    t = times[:, None]
    step = np.full((f, m), -1, dtype=np.int64)
    since = np.full((f, m), np.nan)
    for s in range(path.shape[1]):
        a = enter[:, s][None, :]
        b = np.where(np.isnan(leave[:, s]), np.inf, leave[:, s])[None, :]
        here = (a <= t) & (t < b)  # NaN enter: never here
        step = np.where(here, s, step)
        since = np.where(here, a, since)
    rows = np.arange(m)[None, :]
    visible = step >= 0
    col = np.where(visible, step, 0)
    station = np.where(visible, path[rows, col], HIDDEN).astype(np.int64)
    slot = np.where(visible, slots[rows, col], -1)
    counts = np.stack([(station == i).sum(axis=1) for i in range(len(stations))], axis=1)
    x = np.full((f, m), np.nan)
    y = np.full((f, m), np.nan)
    for i, name in enumerate(stations):
        here = station == i
        if not here.any():
            continue
        if slot[here].max() < 0:  # no workers here (a queue, a publish, done): rank by arrival, head first
            key = np.where(here, since, np.inf)
            rank = np.argsort(np.argsort(key, axis=1, kind="stable"), axis=1, kind="stable")
            slot = np.where(here, rank, slot)
        x[here], y[here] = lay.spots[name].offsets(slot[here])
    # Clients still waiting for their answer (R/R) or the broker's acknowledgement (EDA).
    waiting = (created[None, :] <= t) & (t < np.where(np.isnan(accepted), np.inf, accepted)[None, :])
    wx, wy = lay.spots["client"].offsets(np.where(waiting, np.cumsum(waiting, axis=1) - 1, -1))
    n = len(created)
    held = (f, n) if arch == "rr" else (f, 0)
    return Trace(
        arch=arch, entry=entry, times=times, stations=tuple(stations), order=np.asarray(order),
        copy=np.asarray(copy), path=path, enter=enter, leave=leave, slots=slots, step=step, station=station,
        slot=slot, x=x, y=y, held_x=np.full(held, np.nan), held_y=np.full(held, np.nan), waiting_x=wx,
        waiting_y=wy, waiting=waiting.sum(axis=1), answered=(accepted[None, :] <= t).sum(axis=1),
        done=(done[None, :] <= t).sum(axis=1), counts=counts, created=created, accepted=accepted,
        finished=done, layout=lay)

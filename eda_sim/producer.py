"""A producer: creates messages at the workload's arrival times and publishes each one."""

from __future__ import annotations

from heapq import heappush

from . import validate as v
from .alarm import NORMAL, URGENT, Alarm
from .system import BoundHit, fail_later, transactional
from .workload import Workload


class Producer:
    """Publishes one message per arrival of ``workload`` to ``target`` (anything with ``publish(mid)``).

    Arrival times come from the stream named ``stream`` ("arrivals" by default), so two systems built
    with the same seed and workload see the same arrivals whatever they publish to.
    """

    @transactional
    def __init__(self, system, workload: Workload, target, *, name: str = "producer",
                 stream: str = "arrivals", limit: int | None = None):
        if not isinstance(workload, Workload):
            raise ValueError(f"workload must be a Workload (Poisson, ConstantRate, ...), got {workload!r}")
        if not callable(getattr(target, "publish", None)):
            raise ValueError(f"target must have a publish(message_id) method, got {target!r}")
        v.label("stream", stream)
        self.system = system
        self.name = system.register(name, self)
        self.workload = workload
        self.target = target
        self.limit = None if limit is None else v.integer("limit", limit, 0, 10**9)
        system.messages.configure(workload.keys, workload.size)
        self._times = enumerate(workload.arrival_times(system.streams.generator(stream)))
        self._t = 0.0
        self._alarm = Alarm(system.env, self._arrive)
        # Start as a SimPy process would (an URGENT event now), so events keep their order.
        Alarm(system.env, self._next).set(0, URGENT)

    def _next(self, _=None) -> None:
        """Schedule the next arrival (or stop: limit reached, workload over)."""
        system = self.system
        for n, t in self._times:
            if self.limit is not None and n >= self.limit:
                return
            if n & 1023 == 1023:  # between sampling steps too: a runaway producer stops within 1024 messages
                try:
                    system.check_backlog(system.limits.max_backlog)
                except BoundHit as exc:
                    fail_later(system.env, exc)
                    return
            self._t = t
            alarm = self._alarm  # alarm.set(t - now), inlined: this runs once per message
            alarm.callbacks = alarm._fire
            heappush(alarm.queue, (system.env._now + (t - system.env._now), NORMAL, next(alarm.eid), alarm))
            return

    def _arrive(self, _) -> None:
        self.target.publish(self.system.messages.new(self._t))
        self._next()

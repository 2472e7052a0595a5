"""A producer: creates messages at the workload's arrival times and publishes each one."""

from __future__ import annotations

from . import validate as v
from .system import transactional
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
        self._times = workload.arrival_times(system.streams.generator(stream))
        system.env.process(self._run())

    def _run(self):
        env = self.system.env
        new = self.system.messages.new
        publish = self.target.publish
        limit = self.limit
        timeout = env.timeout
        system = self.system
        max_backlog = system.limits.max_backlog
        for n, t in enumerate(self._times):
            if limit is not None and n >= limit:
                return
            if n & 1023 == 1023:  # between sampling steps too: a runaway producer stops within 1024 messages
                system.check_backlog(max_backlog)
            yield timeout(t - env.now)
            publish(new(t))

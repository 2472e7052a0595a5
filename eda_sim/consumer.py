"""Consumers of a work queue or topic subscription: push delivery or polling, with concurrency.

A consumer holds up to ``prefetch`` unacknowledged messages and works on up to ``concurrency`` at a
time. Message i takes the i-th draw of the subscription's service-time stream, whichever consumer gets
it, so runs that differ only in the number of consumers still share every service time.
"""

from __future__ import annotations

from collections import deque
from heapq import heappush

import simpy

from . import validate as v
from .alarm import NORMAL, URGENT, Alarm
from .database import DatabaseError
from .distributions import as_distribution
from .fault import Health
from .system import transactional


class Consumer:
    """One consumer process (with ``concurrency`` workers) attached to a queue.

    ``poll_interval=None`` means push delivery (the broker sends messages as they arrive); a number T
    means the consumer asks the broker every T seconds and takes what is there (counting empty polls).
    ``long_poll=True`` with ``poll_interval=T`` models long polling (SQS, Kafka fetch.max.wait): a poll
    is held open up to T and returns as soon as a message is ready, so delivery is as fast as push; each
    answered poll and each T of idle waiting counts as one request.
    ``ack_every=k`` acknowledges in batches of k (or when idle): a crash between processing and the
    batch ack redelivers processed messages, which then count as duplicates (at-least-once).
    ``db``, ``reads`` and ``writes`` make each message run queries against a :class:`Database`.
    """

    @transactional
    def __init__(self, system, queue, name: str | None = None, *, service=1.0, concurrency: int = 1,
                 prefetch: int = 1, poll_interval: float | None = None, long_poll: bool = False,
                 ack_every: int = 1,
                 db=None, reads: int = 0, writes: int = 0, stream: str | None = None):
        if not callable(getattr(queue, "attach", None)) or not hasattr(queue, "log"):
            raise TypeError(f"queue must be a WorkQueue or a Topic subscription (topic.subscribe(...)), "
                            f"got {type(queue).__name__} {queue!r:.80}")
        if stream is not None:
            v.label("stream", stream)
        self.system = system
        self.env = system.env
        self.queue = queue
        self.name = system.register(name or f"{queue.name}.consumer{len(queue.consumers) + 1}", self)
        self.service = as_distribution("service", service)
        self.concurrency = v.integer("concurrency", concurrency, 1, 1000)
        self.prefetch = v.integer("prefetch", prefetch, 1, 100_000)
        self.poll_interval = None if poll_interval is None else v.positive("poll_interval", poll_interval, 1e5)
        self.ack_every = v.integer("ack_every", ack_every, 1, 100_000)
        self.reads = v.integer("reads", reads, 0, 1000)
        self.writes = v.integer("writes", writes, 0, 1000)
        if (reads or writes) and db is None:
            raise ValueError("reads and writes need a db (a Database) to query")
        self.db = db
        if long_poll and poll_interval is None:
            raise ValueError("long_poll needs poll_interval, the longest time a poll is held open (s)")
        self.long_poll = bool(long_poll)
        self.push = poll_interval is None or self.long_poll
        self.draws = system.streams.draws(f"service:{stream or queue.name}", self.service)
        self._fail_rng = system.streams.generator(f"fail:{self.name}")
        self.health = Health()
        self.health.on_change = self._health_changed
        self.unacked: dict[int, None] = {}  # insertion-ordered set
        self.buffer: deque[int] = deque()
        self._to_ack: list[int] = []
        self._waiting: list = []
        self.in_idle = False
        self.busy = 0
        self.polls = self.empty_polls = 0
        self._procs: list = []
        system.workers_total += self.concurrency
        self._start()
        queue.attach(self)

    def credit(self) -> int:
        return self.prefetch - len(self.unacked)

    def receive(self, mid: int) -> None:
        """The broker hands over a message (push, or the answer to a poll)."""
        self.unacked[mid] = None
        self.buffer.append(mid)
        if self._waiting:
            self._waiting.pop().succeed()

    def _start(self) -> None:
        env = self.env
        if self._lean():
            self._procs = [_Worker(self) for _ in range(self.concurrency)]
        else:
            self._procs = [env.process(self._work()) for _ in range(self.concurrency)]
        if self.poll_interval is not None and not self.long_poll:
            self._procs.append(env.process(self._poll()))

    def _lean(self) -> bool:
        """Whether the workers can be alarm-driven :class:`_Worker` objects (not for a subclass with its
        own ``_work``)."""
        return type(self)._work is Consumer._work

    def _work(self):
        """A worker as a SimPy process: the form a subclass adapts (:class:`_Worker` is the lean one)."""
        env, buffer, system = self.env, self.buffer, self.system
        draws, health = self.draws, self.health
        db = self.db
        timeout = env.timeout
        while True:
            if not buffer:
                ev = env.event()
                self._waiting.append(ev)
                idle_since = env.now
                try:
                    yield ev
                except simpy.Interrupt:
                    return
                if self.long_poll:
                    self._count_long_polls(env.now - idle_since)
                continue
            mid = buffer.popleft()
            start = env._now
            self.busy += 1
            try:
                yield timeout(draws[mid] * health.slow)
                if db is not None:
                    for _ in range(self.reads):
                        yield from db.query("read", mid)
                    for _ in range(self.writes):
                        yield from db.query("write", mid)
                failed = health.fail > 0 and self._fail_rng.random() < health.fail
            except simpy.Interrupt:
                system.busy_time += env._now - start
                self.busy -= 1
                return
            except DatabaseError:
                failed = True
            now = env._now
            system.busy_time += now - start
            self.busy -= 1
            self._finish(mid, failed, now)

    def _finish(self, mid: int, failed: bool, now: float) -> None:
        """After processing: nack a failure, or complete and acknowledge (in batches of ``ack_every``)."""
        queue = self.queue
        if failed:
            queue.nack(self, mid)
            return
        queue.log.complete(mid, now)
        to_ack = self._to_ack
        to_ack.append(mid)
        if len(to_ack) >= self.ack_every or not self.buffer:
            self._to_ack = []
            queue.ack(self, to_ack)

    def _count_long_polls(self, idle: float) -> None:
        empty = int(idle // self.poll_interval)  # polls that timed out with nothing
        self.polls += empty + 1
        self.empty_polls += empty
        self.system.count("polls", empty + 1)
        self.system.count("empty_polls", empty)

    def _poll(self):
        env, period = self.env, self.poll_interval
        while True:
            try:
                yield env.timeout(period)
            except simpy.Interrupt:
                return
            credit = self.credit()
            if self.health.down or credit == 0:
                continue  # busy with what it has: a real client would not ask for more
            self.polls += 1
            self.system.count("polls")
            if self.queue.fetch(self, credit) == 0:
                self.empty_polls += 1
                self.system.count("empty_polls")

    def _health_changed(self, was_down: bool) -> None:
        down = self.health.down
        if down and not was_down:
            for p in self._procs:
                if p.is_alive:
                    p.interrupt("crash")
            self._procs = []
            self._waiting.clear()
            self.buffer.clear()
            self._to_ack = []
            self.queue.consumer_lost(self)
        elif was_down and not down:
            self._start()
            self.queue.ready_for_more(self)


class _Worker:
    """One worker of a consumer, driven by alarms instead of a SimPy process.

    It does what :meth:`Consumer._work` does, step for step, with its events queued where the process
    queued its own (see :mod:`eda_sim.alarm`): the same run gives the same numbers, at about half the
    cost per message. ``is_alive`` and ``interrupt`` are what a crash asks of a process.
    """

    __slots__ = ("consumer", "env", "is_alive", "mid", "start", "idle_since", "_service", "_wake", "_query")

    def __init__(self, consumer: Consumer):
        env = self.env = consumer.env
        self.consumer = consumer
        self.is_alive = True
        self.mid = -1  # the message in service, -1 when none
        self.start = self.idle_since = 0.0
        self._query = None  # the database query in progress
        self._service = Alarm(env, self._served)
        self._wake = Alarm(env, self._woken)
        Alarm(env, self._next).set(0, URGENT)  # where a new process's Initialize event goes

    def _next(self, _=None) -> None:
        """Take the next buffered message, or wait for ``receive`` to wake this worker."""
        c = self.consumer
        if not c.buffer:
            c._waiting.append(self._wake)
            self.idle_since = self.env._now
            return
        mid = self.mid = c.buffer.popleft()
        now = self.start = self.env._now
        c.busy += 1
        alarm = self._service  # alarm.set(service time), inlined: this runs once per message
        alarm.callbacks = alarm._fire
        heappush(alarm.queue, (now + c.draws[mid] * c.health.slow, NORMAL, next(alarm.eid), alarm))

    def _woken(self, _) -> None:
        c = self.consumer
        if c.long_poll:
            c._count_long_polls(self.env._now - self.idle_since)
        self._next()

    def _served(self, _) -> None:
        c = self.consumer
        if c.db is not None:
            self._run_query(0)
            return
        # _processed(), inlined: this runs once per message
        health = c.health
        failed = health.fail > 0 and c._fail_rng.random() < health.fail
        now = self.env._now
        c.system.busy_time += now - self.start
        c.busy -= 1
        mid, self.mid = self.mid, -1
        if failed or c.ack_every > 1:
            c._finish(mid, failed, now)
        else:  # c._finish() with an ack per message, inlined: this runs once per message
            queue = c.queue
            queue.log.complete(mid, now)
            queue.ack(c, (mid,))
        self._next()

    def _run_query(self, i: int) -> None:
        """Query ``i`` of the message's reads then writes; a failed query fails the message."""
        c = self.consumer
        if i == c.reads + c.writes:
            self._query = None
            health = c.health
            self._processed(health.fail > 0 and c._fail_rng.random() < health.fail)
            return

        def done(ok: bool) -> None:
            if ok:
                self._run_query(i + 1)
            else:
                self._query = None
                self._processed(True)

        self._query = c.db.start_query("read" if i < c.reads else "write", self.mid, done)

    def _processed(self, failed: bool) -> None:
        c = self.consumer
        now = self.env._now
        c.system.busy_time += now - self.start
        c.busy -= 1
        mid, self.mid = self.mid, -1
        c._finish(mid, failed, now)
        self._next()

    def interrupt(self, cause=None) -> None:
        """Stop for good, as ``Process.interrupt`` does: at an URGENT event now."""
        Alarm(self.env, self._interrupted).set(0, URGENT)

    def _interrupted(self, _) -> None:
        c = self.consumer
        if self.mid >= 0:  # in service: the work done so far counts as busy time
            self._service.cancel()
            if self._query is not None:
                self._query.abandon()
            c.system.busy_time += self.env._now - self.start
            c.busy -= 1
        else:
            self._wake.cancel()
        self.is_alive = False


def consumers(system, queue, n: int, *, name: str | None = None, **options) -> list[Consumer]:
    """``n`` identical competing consumers on ``queue`` (a consumer group for a work queue)."""
    n = v.integer("consumers", n, 0, 1000)
    base = name or f"{queue.name}.consumer"
    return [Consumer(system, queue, f"{base}{i + 1}", **options) for i in range(n)]

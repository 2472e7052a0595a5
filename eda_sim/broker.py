"""Brokers a producer publishes to: a RabbitMQ-style work queue and a topic with subscriptions.

Work queue semantics (RabbitMQ, "Consumer Prefetch" and "Consumer Acknowledgements" in its docs):
consumers compete for messages, served round-robin among those with spare prefetch credit; a message
stays unacknowledged until its consumer acks it; a nack with requeue puts it back at the head; a
message whose delivery count reaches ``delivery_limit`` is dead-lettered instead of redelivered; a
consumer that dies returns all its unacknowledged messages. ``capacity`` bounds the ready messages,
and ``overflow`` says what a full queue does: ``"reject"`` refuses the new message (it is dropped),
``"drop_oldest"`` drops the message at the head to make room, ``"block"`` holds the publisher until
there is room (the publish is accepted later).

A topic (a fanout exchange, or SNS-style pub/sub) gives every subscription its own work queue and a
copy of every message.

For a partitioned log with consumer groups and offsets (Kafka), see :mod:`eda_sim.partitioned_log`.
"""

from __future__ import annotations

from collections import deque

from . import validate as v
from .distributions import Distribution
from .fault import Health
from .metrics import DeliveryLog
from .system import transactional

OVERFLOW = ("reject", "drop_oldest", "block")
WHEN_DOWN = ("buffer", "drop")


class Broker:
    """What producers publish to. Handles acceptance: latency, slowdowns, and being down.

    ``publish_latency`` is the time to acknowledge a publish (None: instant). While the broker is down
    a publish is either held by the producer and retried when it is back (``when_down="buffer"``) or
    lost (``"drop"``); the client's wait for the acknowledgement is ``accepted - created``.
    """

    @transactional
    def __init__(self, system, name: str, *, publish_latency: Distribution | None = None,
                 when_down: str = "buffer"):
        self.system = system
        self.env = system.env
        self.name = system.register(name, self)
        if publish_latency is not None and not isinstance(publish_latency, Distribution):
            raise ValueError(f"publish_latency must be a Distribution or None, got {publish_latency!r}")
        self.when_down = v.choice("when_down", when_down, WHEN_DOWN)
        self._latency = system.streams.draws(f"publish:{name}", publish_latency) if publish_latency else None
        self.health = Health()
        self.health.on_change = self._health_changed
        self._held: deque[int] = deque()
        self._accepted = system.messages.accepted
        self._pending: dict[int, int] = {}  # message -> subscriptions still blocking its publish
        self.refused = 0

    def publish(self, mid: int) -> None:
        """Called by a producer for a new message."""
        health = self.health
        if health.down:
            if self.when_down == "drop":
                self._refuse(mid)
            else:
                self._held.append(mid)
            return
        if self._latency is None:
            self._accept(mid)
            return
        ev = self.env.timeout(self._latency[mid] * health.slow)
        ev.callbacks.append(lambda _, m=mid: self._after_latency(m))

    def _after_latency(self, mid):
        if self.health.down:
            self.publish(mid)  # went down meanwhile: buffer or drop
        else:
            self._accept(mid)

    def _accept(self, mid: int) -> None:
        blocked = 0
        for q in self.queues():
            if not q.offer(mid):
                blocked += 1
        if blocked:
            self._pending[mid] = blocked
        else:
            self._accepted[mid] = self.env._now

    def _admitted(self, mid: int) -> None:
        """A blocked publish got room in one subscription."""
        left = self._pending[mid] - 1
        if left:
            self._pending[mid] = left
        else:
            del self._pending[mid]
            self._accepted[mid] = self.env.now

    def _refuse(self, mid: int) -> None:
        self.refused += 1
        self.system.count("refused")
        now = self.env.now
        for q in self.queues():
            q.log.drop(mid, now)

    def _health_changed(self, was_down: bool) -> None:
        if was_down and not self.health.down:
            held, self._held = self._held, deque()
            for mid in held:
                self.publish(mid)

    def queues(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def backlog(self) -> int:
        return len(self._held)


class WorkQueue(Broker):
    """A queue with competing consumers (RabbitMQ classic/quorum queue semantics, see module doc)."""

    @transactional
    def __init__(self, system, name: str = "queue", *, capacity: int | None = None, overflow: str = "reject",
                 delivery_limit: int | None = None, publish_latency: Distribution | None = None,
                 when_down: str = "buffer", parent: Broker | None = None):
        super().__init__(system, name, publish_latency=publish_latency, when_down=when_down)
        self.capacity = None if capacity is None else v.integer("capacity", capacity, 1, 10**8)
        self.overflow = v.choice("overflow", overflow, OVERFLOW)
        self.delivery_limit = None if delivery_limit is None else v.integer("delivery_limit", delivery_limit,
                                                                            1, 10**6)
        self.parent = parent or self
        self.log = DeliveryLog(name)
        system.add_log(self.log)
        self.ready: deque[int] = deque()
        self.consumers: list = []
        self._idle: deque = deque()  # push consumers with spare prefetch credit, round-robin order
        self._blocked: deque[int] = deque()
        self._deliveries = self.log.deliveries
        system.series.add(f"{name}.depth", lambda: len(self.ready))
        system.series.add(f"{name}.unacked", lambda: sum(len(c.unacked) for c in self.consumers))

    def queues(self):
        return (self,)

    def _accept(self, mid: int) -> None:
        """``Broker._accept`` for a broker that is its own only queue (this runs once per message)."""
        if self.offer(mid):
            self._accepted[mid] = self.env._now
        else:
            self._pending[mid] = 1

    def backlog(self) -> int:
        return len(self.ready) + len(self._blocked) + len(self._held)

    # -- producer side ---------------------------------------------------------------------------
    def offer(self, mid: int) -> bool:
        """Take a message from the exchange. False means the publisher is blocked (overflow="block")."""
        now = self.env._now
        self.log.assign(mid, now)
        ready = self.ready
        if self.capacity is not None and len(ready) >= self.capacity:
            if self.overflow == "reject":
                self.log.drop(mid, now)
                return True
            if self.overflow == "block":
                self._blocked.append(mid)
                return False
            self.log.drop(ready.popleft(), now)
        ready.append(mid)
        if self._idle:
            self._dispatch()
        return True

    def _admit_blocked(self) -> None:
        while self._blocked and len(self.ready) < self.capacity:
            mid = self._blocked.popleft()
            self.ready.append(mid)
            self.parent._admitted(mid)

    # -- consumer side ---------------------------------------------------------------------------
    def attach(self, consumer) -> None:
        self.consumers.append(consumer)
        self.ready_for_more(consumer)

    def ready_for_more(self, consumer) -> None:
        """A push consumer has prefetch credit again: queue it for round-robin dispatch."""
        if consumer.push and not consumer.in_idle and consumer.prefetch > len(consumer.unacked) \
                and not consumer.health.down:  # (credit() inlined: this runs once per message)
            consumer.in_idle = True
            self._idle.append(consumer)
            if self.ready:
                self._dispatch()

    def _dispatch(self) -> None:
        ready, idle = self.ready, self._idle
        now = self.env._now
        log = self.log
        while ready and idle:
            c = idle.popleft()
            mid = ready.popleft()
            log.deliver(mid, now)
            c.receive(mid)
            if c.prefetch > len(c.unacked):  # credit() > 0, inlined: this runs once per message
                idle.append(c)
            else:
                c.in_idle = False
            if self._blocked:  # room was made: admit blocked publishes now, so the loop can deliver them
                self._admit_blocked()

    def fetch(self, consumer, n: int) -> int:
        """Pull up to n ready messages for a polling consumer (basic.get); returns how many."""
        ready = self.ready
        now = self.env.now
        k = min(n, len(ready))
        for _ in range(k):
            mid = ready.popleft()
            self.log.deliver(mid, now)
            consumer.receive(mid)
        if k and self._blocked:
            self._admit_blocked()
        return k

    def ack(self, consumer, mids) -> None:
        unacked = consumer.unacked
        for mid in mids:
            del unacked[mid]
        if not consumer.in_idle:  # (what ready_for_more checks first: this runs once per message)
            self.ready_for_more(consumer)

    def nack(self, consumer, mid: int, requeue: bool = True) -> None:
        """Processing failed: requeue at the head, or dead-letter when requeue is False or the limit is hit."""
        del consumer.unacked[mid]
        self.log.fail()
        self._return(mid, requeue)
        self.ready_for_more(consumer)
        if self.ready and self._idle:
            self._dispatch()

    def _return(self, mid: int, requeue: bool) -> None:
        limit = self.delivery_limit
        if not requeue or (limit is not None and self._deliveries[mid] >= limit):
            self.log.dead_letter(mid, self.env.now)
            self.system.count(f"{self.name}.dlq")
        else:
            self.ready.appendleft(mid)

    def consumer_lost(self, consumer) -> None:
        """A consumer died: every message it had not acknowledged goes back to the head of the queue."""
        if consumer.in_idle:
            self._idle.remove(consumer)
            consumer.in_idle = False
        for mid in reversed(list(consumer.unacked)):
            self._return(mid, True)
        consumer.unacked.clear()
        if self.ready and self._idle:
            self._dispatch()


class Topic(Broker):
    """Publish/subscribe: every subscription (its own work queue) receives a copy of every message."""

    @transactional
    def __init__(self, system, name: str = "topic", *, publish_latency: Distribution | None = None,
                 when_down: str = "buffer"):
        super().__init__(system, name, publish_latency=publish_latency, when_down=when_down)
        self.subscriptions: dict[str, WorkQueue] = {}

    def subscribe(self, name: str, **queue_options) -> WorkQueue:
        """Add a subscription queue; it receives messages published from now on."""
        q = WorkQueue(self.system, name, parent=self, **queue_options)
        self.subscriptions[name] = q
        return q

    def queues(self):
        return self.subscriptions.values()

"""Brokers a producer publishes to: a RabbitMQ-style work queue and a topic with subscriptions.

Work queue semantics (RabbitMQ, "Consumer Prefetch", "Consumer Acknowledgements", "Quorum Queues" and
"Queue Length Limit" in its docs), each checked against a real RabbitMQ 3.10 by
``tests/test_rabbitmq_conformance.py``:

- consumers compete for messages, served round-robin among those with spare prefetch credit; a
  message stays unacknowledged until its consumer acks it, so a consumer holds at most ``prefetch``;
- a nack with requeue returns the message: ``requeue="head"`` (classic queues) puts it back at its
  original place, ahead of every message never delivered; ``requeue="tail"`` (quorum queues in
  RabbitMQ 3.10) puts it at the back of the queue;
- a consumer that dies returns all its unacknowledged messages, which are redelivered flagged as
  redelivered: to their original places (``"head"``) or to the front, in delivery order (``"tail"``,
  the quorum queue's returns queue);
- ``delivery_limit=L`` (a quorum queue's ``x-delivery-limit``): a message returned more than L times
  (nacks and consumer deaths both count) is dead-lettered, so it is delivered at most L + 1 times;
- ``capacity`` (``x-max-length``) bounds the ready messages; ``overflow`` says what a full queue does:
  ``"reject"`` (``reject-publish``) refuses the new message (counted as dropped), ``"drop_oldest"``
  (``drop-head``) drops the message at the head to make room, ``"block"`` holds the publisher until
  there is room (the publish is accepted later; RabbitMQ blocks a connection instead, this is the
  simpler per-queue version). A message that finds a consumer with spare credit goes straight to it,
  so ``capacity=0, overflow="drop_oldest"`` is a loss system with no waiting room (Erlang B);
  ``capacity=0, overflow="reject"`` refuses everything, as RabbitMQ does.

Simplifications on purpose (the conformance tests show each difference): message TTL is not
modelled; ``"reject"`` is exact, where a quorum queue lets the ready count overshoot its limit by one
message; every unacknowledged message of a dead consumer is returned at the same instant.

A topic (a fanout exchange, or SNS-style pub/sub) gives every subscription its own work queue and a
copy of every message.

For a partitioned log with consumer groups and offsets (Kafka), see :mod:`eda_sim.partitioned_log`.
"""

from __future__ import annotations

from collections import deque

from . import validate as v
from .distributions import Distribution
from .fault import Health
from .metrics import ConservationError, DeliveryLog
from .system import transactional

OVERFLOW = ("reject", "drop_oldest", "block")
WHEN_DOWN = ("buffer", "drop")
REQUEUE = ("head", "tail")


class Broker:
    """What producers publish to. Handles acceptance: latency, slowdowns, and being down.

    ``publish_latency`` is the time to acknowledge a publish (None: instant). While the broker is down
    a publish is either held by the producer and retried when it is back (``when_down="buffer"``) or
    lost (``"drop"``); the client's wait for the acknowledgement is ``accepted - created``.

    Every message handed to :meth:`publish` is, at any moment, in exactly one of three states:
    ``reached`` (the broker took charge: each subscription got a copy, or it was refused while down),
    ``held`` (waiting at the producer for a down broker) or ``publishing`` (inside ``publish_latency``).
    :meth:`check` verifies ``received == reached + held + publishing`` at the end of every run.
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
        self.received = 0  # messages handed to publish()
        self.reached = 0  # of those, taken charge of (accepted, blocked or refused)
        self.publishing = 0  # of those, inside publish_latency now

    @property
    def held(self) -> int:
        """Messages held at the producer while this broker is down (``when_down="buffer"``)."""
        return len(self._held)

    def publish(self, mid: int) -> None:
        """Called by a producer for a new message."""
        self.received += 1
        if self._latency is None and not self.health.down:  # _route's common case, inlined (once per message)
            self.reached += 1
            self._accept(mid)
            return
        self._route(mid)

    def _route(self, mid: int) -> None:
        health = self.health
        if health.down:
            if self.when_down == "drop":
                self.reached += 1
                self._refuse(mid)
            else:
                self._held.append(mid)
            return
        if self._latency is None:
            self.reached += 1
            self._accept(mid)
            return
        self.publishing += 1
        ev = self.env.timeout(self._latency[mid] * health.slow)
        ev.callbacks.append(lambda _, m=mid: self._after_latency(m))

    def _after_latency(self, mid):
        self.publishing -= 1
        if self.health.down:
            self._route(mid)  # went down meanwhile: buffer or drop
        else:
            self.reached += 1
            self._accept(mid)

    def check(self) -> None:
        """Every message received is reached, held or still publishing (ConservationError if not)."""
        if self.received != self.reached + self.held + self.publishing or min(self.reached, self.publishing) < 0:
            raise ConservationError(f"{self.name}: {self.received} messages received but {self.reached} reached, "
                                    f"{self.held} held and {self.publishing} publishing")

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
                self._route(mid)

    def queues(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def backlog(self) -> int:
        return len(self._held)


class WorkQueue(Broker):
    """A queue with competing consumers (RabbitMQ classic/quorum queue semantics, see module doc)."""

    @transactional
    def __init__(self, system, name: str = "queue", *, capacity: int | None = None, overflow: str = "reject",
                 delivery_limit: int | None = None, requeue: str = "head",
                 publish_latency: Distribution | None = None, when_down: str = "buffer",
                 parent: Broker | None = None):
        if parent is not None and not isinstance(parent, Broker):
            raise TypeError(f"parent must be a Topic (the exchange this queue subscribes to) or None, "
                            f"got {parent!r}")
        super().__init__(system, name, publish_latency=publish_latency, when_down=when_down)
        self.overflow = v.choice("overflow", overflow, OVERFLOW)
        lowest = 1 if self.overflow == "block" else 0  # a blocked publisher needs room for one message
        self.capacity = None if capacity is None else v.integer(
            "capacity" if lowest == 0 else 'capacity (with overflow="block")', capacity, lowest, 10**8)
        self.delivery_limit = None if delivery_limit is None else v.integer("delivery_limit", delivery_limit,
                                                                            1, 10**6)
        self.requeue = v.choice("requeue", requeue, REQUEUE)
        self._returns = 0  # requeue="tail": messages at the head of ready that a dead consumer returned
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
        capacity = self.capacity
        if capacity is not None and len(ready) >= capacity:
            if self.overflow == "reject":
                self.log.drop(mid, now)
                return True
            if self.overflow == "block":
                self._blocked.append(mid)
                return False
        ready.append(mid)
        if self._idle:
            self._dispatch()
        if capacity is not None and len(ready) > capacity:  # drop-head, after a consumer with credit had its chance
            while len(ready) > capacity:
                self._pop()
                self.log.drop(ready.popleft(), now)
        return True

    def _pop(self) -> None:
        """The head of ``ready`` is about to leave it: keep the count of returned messages there."""
        if self._returns:
            self._returns -= 1

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
            if self._returns:
                self._returns -= 1
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
            self._pop()
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
        # ready_for_more(consumer), inlined: this runs once per message
        if consumer.push and not consumer.in_idle and consumer.prefetch > len(unacked) \
                and not consumer.health.down:
            consumer.in_idle = True
            self._idle.append(consumer)
            if self.ready:
                self._dispatch()

    def nack(self, consumer, mid: int, requeue: bool = True) -> None:
        """Processing failed: requeue at the head, or dead-letter when requeue is False or the limit is hit."""
        del consumer.unacked[mid]
        self.log.fail()
        self._return(mid, requeue, lost=False)
        self.ready_for_more(consumer)
        if self.ready and self._idle:
            self._dispatch()

    def _return(self, mid: int, requeue: bool, lost: bool) -> None:
        """Requeue a message that was not acked (``lost``: its consumer died), or dead-letter it."""
        limit = self.delivery_limit
        # Every delivery of a message being returned ended in a return, so returns == deliveries:
        # RabbitMQ dead-letters once a message was returned MORE than delivery_limit times.
        if not requeue or (limit is not None and self._deliveries[mid] > limit):
            self.log.dead_letter(mid, self.env.now)
            self.system.count(f"{self.name}.dlq")
        elif self.requeue == "tail":
            if lost:  # the quorum queue's returns queue: served first, in the order returned
                self.ready.insert(self._returns, mid)
                self._returns += 1
            else:
                self.ready.append(mid)
        else:
            self._to_original_place(mid)

    def _to_original_place(self, mid: int) -> None:
        """Classic queues requeue a message where it was: ahead of every message never delivered.

        Messages leave from the head, so a returned message is older than every message still waiting
        that was never delivered; it goes among the returned ones at the head, in publish order.
        """
        ready, deliveries, enqueued = self.ready, self._deliveries, self.log.enqueued
        if not ready or not deliveries[ready[0]]:
            ready.appendleft(mid)
            return
        key = (enqueued[mid], mid)
        i = 0
        for other in ready:
            if not deliveries[other] or (enqueued[other], other) > key:
                break
            i += 1
        ready.insert(i, mid)

    def consumer_lost(self, consumer) -> None:
        """A consumer died: every message it had not acknowledged is returned and redelivered."""
        if consumer.in_idle:
            self._idle.remove(consumer)
            consumer.in_idle = False
        for mid in list(consumer.unacked):
            self._return(mid, True, lost=True)
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

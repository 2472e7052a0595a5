"""Work queue and topic semantics (RabbitMQ-style), checked as exact logs on tiny deterministic setups.

Arrivals come from ConstantRate (message i is created at (i+1)/rate) and service is Deterministic, so
every delivery time can be worked out by hand. Deliveries are observed by wrapping each consumer's
``receive`` and logging ``(consumer, message, time)``.
"""

from __future__ import annotations

import pytest

from eda_sim import (
    ConstantRate,
    Consumer,
    Crash,
    Deterministic,
    Down,
    FailFraction,
    Producer,
    System,
    Topic,
    WorkQueue,
    consumers,
)


def watch(system, *cs):
    """Log every delivery as (consumer name, message id, time), in order."""
    log = []
    for c in cs:
        def receive(mid, c=c, original=c.receive):
            log.append((c.name, mid, round(system.env.now, 9)))
            original(mid)
        c.receive = receive
    return log


def rows(result, name=None):
    rec = result.records()
    if name is not None:
        rec = rec[rec.subscription == name]
    return rec.set_index("message").sort_index()


def fates(result, name=None):
    return rows(result, name).status.astype(str).tolist()


# -- competing consumers ------------------------------------------------------------------------------

def test_round_robin_among_competing_consumers():
    # 9 messages at 0.1 s intervals, 3 consumers with prefetch=1 and 1 s of service: consumer k gets
    # messages k, k+3, k+6, each as soon as it acks the previous one.
    system = System(1)
    q = WorkQueue(system, "q")
    cs = consumers(system, q, 3, service=Deterministic(1.0))
    log = watch(system, *cs)
    Producer(system, ConstantRate(rate=10), q, limit=9)
    result = system.run(until=20)
    assert log == [
        ("q.consumer1", 0, 0.1), ("q.consumer2", 1, 0.2), ("q.consumer3", 2, 0.3),
        ("q.consumer1", 3, 1.1), ("q.consumer2", 4, 1.2), ("q.consumer3", 5, 1.3),
        ("q.consumer1", 6, 2.1), ("q.consumer2", 7, 2.2), ("q.consumer3", 8, 2.3),
    ]
    rec = rows(result)
    assert rec.done.tolist() == pytest.approx([1.1, 1.2, 1.3, 2.1, 2.2, 2.3, 3.1, 3.2, 3.3])
    assert rec.wait.tolist() == pytest.approx([0, 0, 0, 0.7, 0.7, 0.7, 1.4, 1.4, 1.4])
    assert result.summary["completed"] == 9 and result.summary["utilisation"] == pytest.approx(9 / 60)


def test_prefetch_limits_unacknowledged_messages():
    # One consumer, prefetch=3, 1 s per message, 10 messages at 0.1 s intervals: the broker pushes the
    # first three at once, then one more at each ack; never more than 3 unacked.
    system = System(1, sample_every=0.05)
    q = WorkQueue(system, "q")
    c = Consumer(system, q, service=Deterministic(1.0), prefetch=3)
    log = watch(system, c)
    peak = []
    original = c.receive

    def receive(mid):
        original(mid)
        peak.append(len(c.unacked))
    c.receive = receive
    Producer(system, ConstantRate(rate=10), q, limit=10)
    result = system.run(until=15)
    assert [t for _, _, t in log] == pytest.approx([0.1, 0.2, 0.3, 1.1, 2.1, 3.1, 4.1, 5.1, 6.1, 7.1])
    assert max(peak) == 3
    ts = result.timeseries()
    assert ts["q.unacked"].max() == 3
    assert ts["q.depth"].max() == 7  # the 10 messages minus the 3 prefetched, at t=1.0
    assert result.summary["completed"] == 10


def test_prefetch_one_with_two_consumers_keeps_the_rest_in_the_queue():
    system = System(1, sample_every=0.1)
    q = WorkQueue(system, "q")
    consumers(system, q, 2, service=Deterministic(5.0), prefetch=1)
    Producer(system, ConstantRate(rate=10), q, limit=10)
    ts = system.run(until=4).timeseries()
    assert ts["q.unacked"].max() == 2
    assert ts.loc[ts.time >= 1.05, "q.depth"].eq(8).all()


# -- failures: nack, requeue, delivery limit ----------------------------------------------------------

def test_nack_requeues_at_the_head_until_the_fault_ends():
    # Processing fails until t=0.7. Message 0 (taken at 0.1) fails at 0.6 and goes back to the head,
    # ahead of message 1, is redelivered at once and succeeds at 1.1; message 1 follows.
    system = System(1)
    q = WorkQueue(system, "q")
    c = Consumer(system, q, service=Deterministic(0.5))
    log = watch(system, c)
    system.inject(FailFraction(target=c.name, start=0, end=0.7, fraction=1.0))
    Producer(system, ConstantRate(rate=10), q, limit=2)
    result = system.run(until=5)
    assert [(m, t) for _, m, t in log] == [(0, 0.1), (0, 0.6), (1, 1.1)]
    rec = rows(result)
    assert rec.deliveries.tolist() == [2, 1]
    assert rec.done.tolist() == pytest.approx([1.1, 1.6])
    assert result.summary["failed"] == 1 and result.summary["completed"] == 2


def test_delivery_limit_dead_letters():
    # RabbitMQ quorum queues dead-letter a message once it was returned MORE than delivery_limit times.
    # Every attempt fails while the fault lasts (until t=10): message 0 is delivered at 0.1, 0.6, 1.1
    # and 1.6; its fourth return (at 2.1) exceeds delivery_limit=3 and dead-letters it.
    system = System(1)
    q = WorkQueue(system, "q", delivery_limit=3)
    c = Consumer(system, q, service=Deterministic(0.5))
    log = watch(system, c)
    system.inject(FailFraction(target=c.name, start=0, end=10, fraction=1.0))
    Producer(system, ConstantRate(rate=10), q, limit=1)
    result = system.run(until=20)
    assert [t for _, _, t in log] == pytest.approx([0.1, 0.6, 1.1, 1.6])
    rec = rows(result)
    assert fates(result) == ["dead_lettered"]
    assert rec.deliveries[0] == 4 and rec.done[0] == pytest.approx(2.1)
    s = result.summary
    assert (s["failed"], s["dead_lettered"], s["completed"], s["delivered"]) == (4, 1, 0, 4)
    assert system.counters["q.dlq"] == 1


@pytest.mark.parametrize("limit", [1, 7, 20])
def test_delivery_limit_means_limit_plus_one_deliveries(limit):
    # The example: limit 20 -> 21 deliveries (RabbitMQ), not 20.
    system = System(1)
    q = WorkQueue(system, "q", delivery_limit=limit)
    c = Consumer(system, q, service=Deterministic(0.5))
    system.inject(FailFraction(target=c.name, start=0, end=100, fraction=1.0))
    Producer(system, ConstantRate(rate=10), q, limit=1)
    result = system.run(until=200)
    assert rows(result).deliveries[0] == limit + 1
    assert fates(result) == ["dead_lettered"]


def test_no_delivery_limit_retries_forever():
    system = System(1)
    q = WorkQueue(system, "q")
    c = Consumer(system, q, service=Deterministic(0.5))
    system.inject(FailFraction(target=c.name, start=0, end=10, fraction=1.0))
    Producer(system, ConstantRate(rate=10), q, limit=1)
    result = system.run(until=20)
    # taken at 0.1, fails at 0.6, 1.1, ..., 9.6 (19 times); the attempt ending at 10.1, after the
    # fault, succeeds
    assert fates(result) == ["completed"]
    assert rows(result).deliveries[0] == 20
    assert result.summary["failed"] == 19
    assert rows(result).done[0] == pytest.approx(10.1)


# -- overflow policies --------------------------------------------------------------------------------

def overflow_run(policy):
    # capacity 2, one consumer of 1 s: message 0 goes straight to the consumer, 1 and 2 fill the queue,
    # 3, 4 and 5 (at 0.4, 0.5, 0.6) find it full.
    system = System(1)
    q = WorkQueue(system, "q", capacity=2, overflow=policy)
    Consumer(system, q, service=Deterministic(1.0))
    Producer(system, ConstantRate(rate=10), q, limit=6)
    return system.run(until=20)


def test_overflow_reject_drops_the_new_message():
    result = overflow_run("reject")
    rec = rows(result)
    assert fates(result) == ["completed"] * 3 + ["dropped"] * 3
    assert rec.done[3:].tolist() == pytest.approx([0.4, 0.5, 0.6])  # dropped on arrival
    assert rec.done[:3].tolist() == pytest.approx([1.1, 2.1, 3.1])


def test_overflow_drop_oldest_drops_the_head():
    result = overflow_run("drop_oldest")
    rec = rows(result)
    assert fates(result) == ["completed", "dropped", "dropped", "dropped", "completed", "completed"]
    assert rec.done[[1, 2, 3]].tolist() == pytest.approx([0.4, 0.5, 0.6])  # each pushed out by a newer one
    assert rec.done[[0, 4, 5]].tolist() == pytest.approx([1.1, 2.1, 3.1])


def test_overflow_block_accepts_the_publish_later_and_loses_nothing():
    result = overflow_run("block")
    assert fates(result) == ["completed"] * 6
    assert result.summary["dropped"] == 0
    msgs = result.messages().set_index("message")
    waited = (msgs.accepted - msgs.created).tolist()
    # 3 is admitted when 1 leaves the queue (1.1), 4 when 2 leaves (2.1), 5 when 3 leaves (3.1)
    assert waited == pytest.approx([0, 0, 0, 0.7, 1.6, 2.5])
    assert result.summary["accept_mean"] == pytest.approx((0.7 + 1.6 + 2.5) / 6)
    assert rows(result).done.tolist() == pytest.approx([1.1, 2.1, 3.1, 4.1, 5.1, 6.1])


def test_overflow_block_with_batch_acks_does_not_stall():
    # Regression: with prefetch 2 and ack_every 2 a batch ack frees two credits at once. The first
    # delivery makes room for a blocked publish, which must go straight to the consumer's second
    # credit rather than sit in the queue until the next ack that never comes.
    system = System(1)
    q = WorkQueue(system, "q", capacity=1, overflow="block")
    Consumer(system, q, service=Deterministic(0.5), prefetch=2, ack_every=2)
    Producer(system, ConstantRate(rate=4), q, limit=20)
    result = system.run(until=30)
    s = result.summary
    assert (s["completed"], s["dropped"], s["in_flight"]) == (20, 0, 0)
    assert s["utilisation"] == pytest.approx(10 / 30)


# -- crashes ------------------------------------------------------------------------------------------

def test_crash_returns_unacked_messages_for_redelivery():
    # prefetch 3, two consumers: consumer1 holds 0, 2, 4 and consumer2 holds 1, 3, 5. consumer1 crashes
    # at 1.5 (it finished 0, is working on 2, has 4 waiting): 2 and 4 go back to the head of the queue
    # and consumer2 takes them as it gets credit (2 at once, 4 at its next ack).
    system = System(1)
    q = WorkQueue(system, "q")
    cs = consumers(system, q, 2, service=Deterministic(1.0), prefetch=3)
    log = watch(system, *cs)
    system.inject(Crash(target="q.consumer1", start=1.5, end=3.0))
    Producer(system, ConstantRate(rate=10), q, limit=6)
    result = system.run(until=20)
    assert log == [
        ("q.consumer1", 0, 0.1), ("q.consumer2", 1, 0.2), ("q.consumer1", 2, 0.3),
        ("q.consumer2", 3, 0.4), ("q.consumer1", 4, 0.5), ("q.consumer2", 5, 0.6),
        ("q.consumer2", 2, 1.5), ("q.consumer2", 4, 2.2),
    ]
    rec = rows(result)
    assert rec.deliveries.tolist() == [1, 1, 2, 1, 2, 1]
    assert fates(result) == ["completed"] * 6
    assert rec.done.tolist() == pytest.approx([1.1, 1.2, 4.2, 2.2, 5.2, 3.2])
    assert result.summary["duplicates"] == 0


def test_crash_with_batch_acks_causes_duplicates():
    # ack_every=4: messages 0, 1, 2 complete at 1.1, 2.1, 3.1 but are not yet acked when the consumer
    # crashes at 3.5; all four come back, are redone after the restart at 4.0, and the three that had
    # completed count as duplicates (at-least-once delivery).
    system = System(1)
    q = WorkQueue(system, "q")
    c = Consumer(system, q, service=Deterministic(1.0), prefetch=4, ack_every=4)
    log = watch(system, c)
    system.inject(Crash(target=c.name, start=3.5, end=4.0))
    Producer(system, ConstantRate(rate=10), q, limit=4)
    result = system.run(until=20)
    assert [(m, t) for _, m, t in log] == [(0, 0.1), (1, 0.2), (2, 0.3), (3, 0.4),
                                           (0, 4.0), (1, 4.0), (2, 4.0), (3, 4.0)]
    rec = rows(result)
    assert rec.deliveries.tolist() == [2, 2, 2, 2]
    assert rec.done.tolist() == pytest.approx([1.1, 2.1, 3.1, 8.0])  # first completions count
    s = result.summary
    assert (s["completed"], s["duplicates"], s["delivered"]) == (4, 3, 8)


def test_crash_with_ack_every_one_has_no_duplicates():
    system = System(1)
    q = WorkQueue(system, "q")
    c = Consumer(system, q, service=Deterministic(1.0), prefetch=4)
    system.inject(Crash(target=c.name, start=3.5, end=4.0))
    Producer(system, ConstantRate(rate=10), q, limit=4)
    result = system.run(until=20)
    assert rows(result).deliveries.tolist() == [1, 1, 1, 2]
    assert (result.summary["completed"], result.summary["duplicates"]) == (4, 0)


# -- topics -------------------------------------------------------------------------------------------

def test_topic_gives_every_subscription_every_message():
    system = System(1)
    topic = Topic(system, "orders")
    for name, service in [("billing", 0.05), ("shipping", 0.2), ("email", 0.01)]:
        Consumer(system, topic.subscribe(name), service=Deterministic(service))
    Producer(system, ConstantRate(rate=4), topic, limit=40)
    result = system.run(until=30)
    by = result.by_subscription().set_index("subscription")
    assert by.completed.to_dict() == {"billing": 40, "shipping": 40, "email": 40}
    assert result.summary["to_handle"] == 120
    assert result.summary["produced"] == 40
    rec = result.records()
    for name in ("billing", "shipping", "email"):
        assert rows(result, name).index.tolist() == list(range(40))
    assert rec.groupby("subscription", observed=True).latency.max().to_dict() == pytest.approx(
        {"billing": 0.05, "shipping": 0.2, "email": 0.01})


def test_topic_subscription_only_sees_messages_after_it_subscribed():
    system = System(1)
    topic = Topic(system, "t")
    Consumer(system, topic.subscribe("early"), service=Deterministic(0.01))
    late = {}

    def subscribe():
        late["q"] = topic.subscribe("late")
        Consumer(system, late["q"], service=Deterministic(0.01))
    system.env.timeout(5.05).callbacks.append(lambda _: subscribe())
    Producer(system, ConstantRate(rate=10), topic, limit=100)
    result = system.run(until=20)
    assert rows(result, "late").index.tolist() == list(range(50, 100))
    assert result.summary["to_handle"] == 150


# -- the broker itself down, and publish latency ------------------------------------------------------

def test_broker_down_buffers_publishes_until_it_is_back():
    # Arrivals at 1, 2, ..., 10 s; the queue is down for [2.5, 5.5): the publishes at 3, 4 and 5 are
    # held by the producer and accepted at 5.5. Nothing is lost.
    system = System(1)
    q = WorkQueue(system, "q", when_down="buffer")
    Consumer(system, q, service=Deterministic(0.1))
    system.inject(Down(target="q", start=2.5, end=5.5))
    Producer(system, ConstantRate(rate=1), q, limit=10)
    result = system.run(until=20)
    msgs = result.messages().set_index("message")
    assert msgs.accepted.tolist() == pytest.approx([1, 2, 5.5, 5.5, 5.5, 6, 7, 8, 9, 10])
    assert result.summary["dropped"] == 0 and result.summary["completed"] == 10
    assert result.summary["accept_mean"] == pytest.approx((2.5 + 1.5 + 0.5) / 10)
    assert rows(result).done[[2, 3, 4]].tolist() == pytest.approx([5.6, 5.7, 5.8])


def test_topic_down_drops_in_every_subscription():
    system = System(1)
    topic = Topic(system, "t", when_down="drop")
    for name in ("a", "b"):
        Consumer(system, topic.subscribe(name), service=Deterministic(0.1))
    system.inject(Down(target="t", start=2.5, end=5.5))
    Producer(system, ConstantRate(rate=1), topic, limit=10)
    result = system.run(until=20)
    for name in ("a", "b"):
        assert fates(result, name) == ["completed"] * 2 + ["dropped"] * 3 + ["completed"] * 5
        assert rows(result, name).done[[2, 3, 4]].tolist() == [3.0, 4.0, 5.0]
    assert result.summary["dropped"] == 6 and topic.refused == 3
    msgs = result.messages()
    assert msgs.accepted.isna().tolist() == [False] * 2 + [True] * 3 + [False] * 5


def test_publish_latency_shows_in_accept_mean_and_latency():
    system = System(1)
    q = WorkQueue(system, "q", publish_latency=Deterministic(0.05))
    Consumer(system, q, service=Deterministic(0.1))
    Producer(system, ConstantRate(rate=2), q, limit=20)
    result = system.run(until=20)
    s = result.summary
    assert s["accept_mean"] == pytest.approx(0.05)
    assert s["latency_max"] == pytest.approx(0.15) and s["latency_p50"] == pytest.approx(0.15)
    rec = rows(result)
    assert (rec.enqueued - rec.created).tolist() == pytest.approx([0.05] * 20)


def test_publish_in_flight_when_the_broker_goes_down_is_buffered():
    # Publish latency 0.5 s: the message created at 2.0 would be accepted at 2.5, but the broker is
    # down for [2.2, 4.0): the publish is held, re-sent at 4.0 and accepted 0.5 s later, with the one
    # created at 3.0 (held too).
    system = System(1)
    q = WorkQueue(system, "q", publish_latency=Deterministic(0.5))
    Consumer(system, q, service=Deterministic(0.1))
    system.inject(Down(target="q", start=2.2, end=4.0))
    Producer(system, ConstantRate(rate=1), q, limit=3)
    result = system.run(until=10)
    assert result.messages().accepted.tolist() == pytest.approx([1.5, 4.5, 4.5])
    assert result.summary["completed"] == 3


def test_queue_down_from_the_start_drops_the_first_messages():
    # Regression: a copy refused before the subscription had recorded any message used to raise
    # IndexError from inside SimPy.
    system = System(1)
    q = WorkQueue(system, "q", when_down="drop")
    Consumer(system, q, service=Deterministic(0.1))
    system.inject(Down(target="q", start=0, end=2.5))
    Producer(system, ConstantRate(rate=1), q, limit=5)
    result = system.run(until=10)
    assert fates(result) == ["dropped", "dropped", "completed", "completed", "completed"]
    assert rows(result).done.tolist() == pytest.approx([1, 2, 3.1, 4.1, 5.1])
    assert q.refused == 2 and system.counters["refused"] == 2


def test_a_fault_attached_mid_run_uses_absolute_times():
    from eda_sim import ConstantRate, Deterministic, Down, Producer, System, WorkQueue, consumers

    system = System(seed=1)
    q = WorkQueue(system, "q")
    (c,) = consumers(system, q, 1, service=Deterministic(0.01))
    Producer(system, ConstantRate(rate=10), q)
    seen = []
    system.env.timeout(5).callbacks.append(lambda _: system.inject(Down(target=c.name, start=8, end=12)))
    for t in (7.9, 8.1, 11.9, 12.1):
        system.env.timeout(t).callbacks.append(lambda _, t=t: seen.append((t, c.health.down)))
    system.run(20)
    assert seen == [(7.9, False), (8.1, True), (11.9, True), (12.1, False)]


# -- accounting at the broker: held and publishing ------------------------------------------------------

def test_messages_held_at_a_down_broker_and_still_publishing_are_counted():
    # 10 msg/s from t=0.1; publish takes 0.35 s; the broker is down from 2.0 to the end (5.0), buffering.
    # Messages created up to 1.6 were accepted before 2.0 (16); those created at 1.7..1.9 were inside
    # their publish latency when it went down and are held with every later one: 49 - 16 = 33 held.
    system = System(1)
    q = WorkQueue(system, "q", publish_latency=Deterministic(0.35), when_down="buffer")
    Consumer(system, q, service=Deterministic(0.01))
    system.inject(Down(target="q", start=2.0, end=100))
    Producer(system, ConstantRate(rate=10), q)
    s = system.run(until=4.95).summary
    assert (s["produced"], s["published"], s["held"], s["publishing"]) == (49, 16, 33, 0)
    assert s["to_handle"] == s["published"] == s["completed"] + s["in_flight"]


def test_messages_inside_publish_latency_at_the_end_are_publishing():
    # Created at 0.1, 0.2, ..., 4.9; acceptance takes 0.35 s, so the last three (4.7, 4.8, 4.9) are
    # still being published when the run stops at 4.97 -- and they are in no other count.
    system = System(1)
    q = WorkQueue(system, "q", publish_latency=Deterministic(0.35))
    Consumer(system, q, service=Deterministic(0.01))
    Producer(system, ConstantRate(rate=10), q)
    s = system.run(until=4.97).summary
    assert (s["produced"], s["published"], s["held"], s["publishing"]) == (49, 46, 0, 3)
    assert s["produced"] == s["published"] + s["held"] + s["publishing"]
    assert s["to_handle"] == s["completed"] + s["dead_lettered"] + s["dropped"] + s["in_flight"] == 46


# -- where a returned message goes: classic (head, original place) vs quorum 3.10 (tail) ----------------

@pytest.mark.parametrize(("requeue", "order"), [("head", [0, 1, 2, 3]), ("tail", [2, 3, 0, 1])])
def test_nacked_messages_return_to_their_place_or_to_the_back(requeue, order):
    # One consumer, prefetch 2, concurrency 2, 1 s of service; messages 0 and 1 (taken at 0.1 and 0.2)
    # fail while the fault lasts (to 1.25) and are nacked at 1.1 and 1.2. Classic ("head"): each goes
    # back to its original place, ahead of 2 and 3, so they are redone first; quorum queues in RabbitMQ
    # 3.10 ("tail"): each goes to the back, after 2 and 3 (tests/rabbitmq shows the real brokers agree).
    system = System(1)
    q = WorkQueue(system, "q", requeue=requeue)
    c = Consumer(system, q, service=Deterministic(1.0), prefetch=2, concurrency=2)
    system.inject(FailFraction(target=c.name, start=0, end=1.25, fraction=1.0))
    Producer(system, ConstantRate(rate=10), q, limit=4)
    result = system.run(until=20)
    rec = rows(result)
    assert rec.sort_values("done").index.tolist() == order
    assert rec.deliveries.tolist() == [2, 2, 1, 1]


def test_a_dead_consumers_messages_go_back_in_order_ahead_of_the_rest():
    # c1 (prefetch 3, 10 s per message) holds 0, 1, 2 when it crashes at 0.5. c2 (1 s, prefetch 1)
    # joined at 0.45 and took 3; the returned messages go back in order ahead of 4, with either setting.
    for requeue in ("head", "tail"):
        system = System(1)
        q = WorkQueue(system, "q", requeue=requeue)
        c1 = Consumer(system, q, "c1", service=Deterministic(10.0), prefetch=3)
        system.inject(Crash(target="c1", start=0.5, end=100))
        Producer(system, ConstantRate(rate=10), q, limit=5)
        system.env.timeout(0.45).callbacks.append(
            lambda _, s=system, q=q: Consumer(s, q, "c2", service=Deterministic(1.0)))
        result = system.run(until=20)
        rec = rows(result)
        assert rec.sort_values("done").index.tolist() == [3, 0, 1, 2, 4], requeue
        assert rec.done.tolist() == pytest.approx([2.45, 3.45, 4.45, 1.45, 5.45])
        assert rec.deliveries.tolist() == [2, 2, 2, 1, 1]
        assert c1.unacked == {}

"""The same scripts run against a real RabbitMQ 3.10 (with pika) and against ``WorkQueue``, side by side.

A script is a list of steps: a consumer subscribes with a prefetch, messages are published, a consumer
acks, nacks (with or without requeue) or dies holding unacknowledged messages. After each step both
sides report what every consumer was given in that step (message, redelivered flag, and for quorum
queues the ``x-delivery-count`` header, the number of earlier returns). At the end they report the
publishes refused, the messages dead-lettered with the reason RabbitMQ writes in ``x-death``
(``rejected``, ``delivery_limit``, ``maxlen``) and how many messages are still ready. Every one of
these observables must be equal.

On the model side the consumers are scripted stand-ins that call the queue exactly as
:class:`eda_sim.Consumer` does (``attach``, ``ack``, ``nack``, ``consumer_lost``), so the broker logic
is compared without service times. Where the model simplifies on purpose, a test shows the difference.
"""

from __future__ import annotations

import time
import uuid

import pytest

from eda_sim import System, WorkQueue
from eda_sim.fault import Health

pytestmark = pytest.mark.rabbitmq

QUIET_S = 0.15  # a step is over when no delivery arrived for this long
STEP_LIMIT_S = 5.0


# -- the model side -----------------------------------------------------------------------------------

class ScriptedConsumer:
    """Stands in for :class:`eda_sim.Consumer`: push delivery, a prefetch, acks when the script says."""

    push = True

    def __init__(self, queue: WorkQueue, name: str, prefetch: int, seen: list):
        self.queue, self.name, self.prefetch, self.seen = queue, name, prefetch, seen
        self.unacked: dict[int, None] = {}
        self.in_idle = False
        self.health = Health()

    def credit(self) -> int:
        return self.prefetch - len(self.unacked)

    def receive(self, mid: int) -> None:
        self.unacked[mid] = None
        self.seen.append((self.name, mid, self.queue.log.deliveries[mid]))


def run_model(steps, *, queue_type: str, max_length=None, overflow="reject-publish", delivery_limit=None):
    system = System(1)
    q = WorkQueue(system, "q", capacity=max_length, delivery_limit=delivery_limit,
                  overflow={"reject-publish": "reject", "drop-head": "drop_oldest"}[overflow],
                  requeue="tail" if queue_type == "quorum" else "head")
    dead, rejected, per_step, consumers = [], [], [], {}
    reason = ["delivery_limit"]
    dead_letter, drop = q.log.dead_letter, q.log.drop
    publishing = [None]

    def on_dead_letter(mid, t):
        dead.append((mid, reason[0]))
        dead_letter(mid, t)

    def on_drop(mid, t):
        if mid == publishing[0] and overflow == "reject-publish":
            rejected.append(mid)
        else:
            dead.append((mid, "maxlen"))
        drop(mid, t)

    q.log.dead_letter, q.log.drop = on_dead_letter, on_drop
    published = 0
    for step in steps:
        seen: list = []
        kind, *args = step
        reason[0] = "delivery_limit"
        for c in consumers.values():
            c.seen = seen
        if kind == "consume":
            name, prefetch = args
            consumers[name] = c = ScriptedConsumer(q, name, prefetch, seen)
            q.attach(c)
        elif kind == "publish":
            for _ in range(args[0]):
                mid = system.messages.new(0.0)
                assert mid == published
                publishing[0] = mid
                q.publish(mid)
                publishing[0] = None
                published += 1
        elif kind == "ack":
            name, mid = args
            assert mid in consumers[name].unacked, f"model: {name} does not hold message {mid} at step {step}"
            q.ack(consumers[name], [mid])
        elif kind == "nack":
            name, mid, requeue = args
            assert mid in consumers[name].unacked, f"model: {name} does not hold message {mid} at step {step}"
            if not requeue:
                reason[0] = "rejected"
            q.nack(consumers[name], mid, requeue)
        elif kind == "kill":
            c = consumers.pop(args[0])
            c.health.down = True
            q.consumer_lost(c)
        per_step.append(_by_consumer(seen, queue_type))
    return {"steps": per_step, "rejected": rejected, "dead": dead, "ready": len(q.ready)}


def _by_consumer(seen, queue_type):
    """{consumer: [(message, redelivered, earlier returns or None)]} for one step."""
    out: dict = {}
    for name, mid, delivery in seen:
        returns = delivery - 1 if queue_type == "quorum" else None
        out.setdefault(name, []).append((mid, delivery > 1, returns))
    return out


# -- the RabbitMQ side --------------------------------------------------------------------------------

def run_rabbit(server, steps, *, queue_type: str, max_length=None, overflow="reject-publish",
               delivery_limit=None):
    import pika

    host, port = server
    conn = pika.BlockingConnection(pika.ConnectionParameters(host, port, connection_attempts=3))
    try:
        ch = conn.channel()
        ch.confirm_delivery()
        name = f"q-{uuid.uuid4().hex[:8]}"
        dlq = f"{name}.dlq"
        ch.queue_declare(dlq, durable=True)
        args = {"x-queue-type": queue_type, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq}
        if max_length is not None:
            args.update({"x-max-length": max_length, "x-overflow": overflow})
        if delivery_limit is not None:
            args["x-delivery-limit"] = delivery_limit
        ch.queue_declare(name, durable=True, arguments=args)
        channels, tags, per_step, rejected = {}, {}, [], []
        seen: list = []

        def settle():
            """Process frames until nothing arrived for QUIET_S (or STEP_LIMIT_S passed)."""
            start = time.monotonic()
            count, quiet_since = len(seen), time.monotonic()
            while time.monotonic() - quiet_since < QUIET_S and time.monotonic() - start < STEP_LIMIT_S:
                conn.process_data_events(time_limit=0.02)
                if len(seen) != count:
                    count, quiet_since = len(seen), time.monotonic()

        published = 0
        for step in steps:
            seen.clear()
            kind, *a = step
            if kind == "consume":
                cname, prefetch = a
                c = channels[cname] = conn.channel()
                c.basic_qos(prefetch_count=prefetch)

                def on_message(chan, method, props, body, cname=cname):
                    mid = int(body)
                    tags[cname, mid] = method.delivery_tag
                    count = (props.headers or {}).get("x-delivery-count", 0) if queue_type == "quorum" else None
                    seen.append((cname, mid, method.redelivered, count))

                c.basic_consume(name, on_message)
            elif kind == "publish":
                for _ in range(a[0]):
                    try:
                        ch.basic_publish("", name, str(published).encode())
                    except pika.exceptions.NackError:
                        rejected.append(published)
                    published += 1
            elif kind in ("ack", "nack"):
                cname, mid, *requeue = a
                tag = tags.pop((cname, mid), None)
                assert tag is not None, f"RabbitMQ: {cname} does not hold message {mid} at step {step}"
                if kind == "ack":
                    channels[cname].basic_ack(tag)
                else:
                    channels[cname].basic_nack(tag, requeue=requeue[0])
            elif kind == "kill":
                channels.pop(a[0]).close()
            settle()
            step_out: dict = {}
            for cname, mid, redelivered, count in seen:
                step_out.setdefault(cname, []).append((mid, redelivered, count))
            per_step.append(step_out)
        ready = ch.queue_declare(name, passive=True).method.message_count
        dead = []
        while True:
            method, props, body = ch.basic_get(dlq, auto_ack=True)
            if method is None:
                break
            dead.append((int(body), props.headers["x-death"][0]["reason"]))
        for c in channels.values():
            c.close()
        ch.queue_delete(name)
        ch.queue_delete(dlq)
        return {"steps": per_step, "rejected": rejected, "dead": dead, "ready": ready}
    finally:
        conn.close()


def both(server, steps, **queue):
    rabbit = run_rabbit(server, steps, **queue)
    model = run_model(steps, **queue)
    return rabbit, model


def assert_same(rabbit, model, steps):
    for i, (r, m) in enumerate(zip(rabbit["steps"], model["steps"], strict=True)):
        assert m == r, f"step {i} {steps[i]}: model {m} != RabbitMQ {r}"
    for key in ("rejected", "dead", "ready"):
        assert model[key] == rabbit[key], f"{key}: model {model[key]} != RabbitMQ {rabbit[key]}"


QUEUE_TYPES = ["classic", "quorum"]


# -- the scripts --------------------------------------------------------------------------------------

@pytest.mark.parametrize("queue_type", QUEUE_TYPES)
def test_round_robin_with_prefetch_1(rabbitmq, queue_type):
    steps = [("consume", "c1", 1), ("consume", "c2", 1), ("publish", 6),
             ("ack", "c1", 0), ("ack", "c2", 1), ("ack", "c2", 3), ("ack", "c1", 2), ("ack", "c2", 4)]
    rabbit, model = both(rabbitmq, steps, queue_type=queue_type)
    assert_same(rabbit, model, steps)
    # the numbers, spelled out: one message each at first, then one per ack to whoever acked
    assert model["steps"][2] == {"c1": [(0, False, model["steps"][2]["c1"][0][2])],
                                 "c2": [(1, False, model["steps"][2]["c2"][0][2])]}
    assert [list(s) for s in model["steps"][3:7]] == [["c1"], ["c2"], ["c2"], ["c1"]]
    assert model["ready"] == 0


@pytest.mark.parametrize("queue_type", QUEUE_TYPES)
def test_round_robin_with_prefetch_n_and_unacked_bounded_by_prefetch(rabbitmq, queue_type):
    steps = [("consume", "c1", 3), ("consume", "c2", 3), ("publish", 10),
             ("ack", "c2", 1), ("ack", "c1", 0), ("ack", "c1", 2)]
    rabbit, model = both(rabbitmq, steps, queue_type=queue_type)
    assert_same(rabbit, model, steps)
    burst = model["steps"][2]
    assert [m for m, _, _ in burst["c1"]] == [0, 2, 4]  # alternating, 3 each: the prefetch caps it
    assert [m for m, _, _ in burst["c2"]] == [1, 3, 5]
    assert [[m for m, _, _ in s[c]] for s, c in zip(model["steps"][3:], ["c2", "c1", "c1"], strict=True)] == \
        [[6], [7], [8]]
    assert model["ready"] == 1


@pytest.mark.parametrize("queue_type", QUEUE_TYPES)
def test_nack_with_requeue(rabbitmq, queue_type):
    # One consumer holding 0 and 1 nacks 1, then 0: classic queues put both back at their original
    # place (0 before 1, ahead of 2); quorum queues in RabbitMQ 3.10 put a nacked message at the back.
    steps = [("publish", 4), ("consume", "c1", 2), ("nack", "c1", 1, True), ("nack", "c1", 0, True),
             ("ack", "c1", 2 if queue_type == "quorum" else 1), ("ack", "c1", 3 if queue_type == "quorum" else 0)]
    rabbit, model = both(rabbitmq, steps, queue_type=queue_type)
    assert_same(rabbit, model, steps)
    got = [m for s in model["steps"][2:] for m, _, _ in s.get("c1", [])]
    assert got == ([2, 3, 1, 0] if queue_type == "quorum" else [1, 0, 2, 3])


@pytest.mark.parametrize("queue_type", QUEUE_TYPES)
def test_consumer_dies_with_unacked_messages(rabbitmq, queue_type):
    # c1 holds 0, 1, 2 unacked when it dies; they are redelivered to c2, flagged as redelivered,
    # ahead of 5 (classic: their original place; quorum: the returns queue, served first).
    steps = [("consume", "c1", 3), ("publish", 6), ("consume", "c2", 2), ("ack", "c2", 3),
             ("kill", "c1"), ("ack", "c2", 4), ("ack", "c2", 0), ("ack", "c2", 1)]
    rabbit, model = both(rabbitmq, steps, queue_type=queue_type)
    assert_same(rabbit, model, steps)
    redelivered = [(m, flag) for s in model["steps"][4:] for m, flag, _ in s.get("c2", [])]
    assert redelivered == [(0, True), (1, True), (2, True)]


def test_quorum_delivery_limit_then_dead_letter(rabbitmq):
    # x-delivery-limit 3: the message is delivered 4 times (3 returns allowed, the 4th is "more than
    # 3"); a consumer dying counts as a return like a nack does.
    steps = [("publish", 1), ("consume", "c1", 1), ("nack", "c1", 0, True), ("nack", "c1", 0, True),
             ("kill", "c1"), ("consume", "c2", 1), ("nack", "c2", 0, True)]
    rabbit, model = both(rabbitmq, steps, queue_type="quorum", delivery_limit=3)
    assert_same(rabbit, model, steps)
    counts = [n for s in model["steps"] for ms in s.values() for _, _, n in ms]
    assert counts == [0, 1, 2, 3]
    assert model["dead"] == [(0, "delivery_limit")]


def test_quorum_delivery_limit_20_gives_21_deliveries(rabbitmq):
    steps = [("publish", 1), ("consume", "c1", 1)] + [("nack", "c1", 0, True)] * 21
    rabbit, model = both(rabbitmq, steps, queue_type="quorum", delivery_limit=20)
    assert_same(rabbit, model, steps)
    assert sum(len(s.get("c1", [])) for s in rabbit["steps"]) == 21
    assert rabbit["dead"] == [(0, "delivery_limit")]


@pytest.mark.parametrize("queue_type", QUEUE_TYPES)
def test_nack_without_requeue_dead_letters(rabbitmq, queue_type):
    steps = [("consume", "c1", 2), ("publish", 3), ("nack", "c1", 1, False), ("ack", "c1", 0)]
    rabbit, model = both(rabbitmq, steps, queue_type=queue_type)
    assert_same(rabbit, model, steps)
    assert model["dead"] == [(1, "rejected")]


@pytest.mark.parametrize("queue_type", QUEUE_TYPES)
@pytest.mark.parametrize("max_length", [0, 2])
def test_max_length_drop_head(rabbitmq, queue_type, max_length):
    # One busy consumer (prefetch 1): message 0 goes to it; the rest queue up to max_length and
    # push the oldest out. With max_length 0 this is a loss system: only a free consumer saves a message.
    steps = [("consume", "c1", 1), ("publish", 6), ("ack", "c1", 0)]
    rabbit, model = both(rabbitmq, steps, queue_type=queue_type, max_length=max_length, overflow="drop-head")
    assert_same(rabbit, model, steps)
    assert model["dead"] == [(m, "maxlen") for m in (range(1, 6) if max_length == 0 else range(1, 4))]
    assert model["ready"] == (0 if max_length == 0 else 1)


@pytest.mark.parametrize("max_length", [0, 2])
def test_max_length_reject_publish_classic(rabbitmq, max_length):
    steps = [("consume", "c1", 1), ("publish", 6)] + ([("ack", "c1", 0)] if max_length else [])
    rabbit, model = both(rabbitmq, steps, queue_type="classic", max_length=max_length, overflow="reject-publish")
    assert_same(rabbit, model, steps)
    # max_length 0 refuses even the message a free consumer could take (RabbitMQ checks the length first)
    assert model["rejected"] == (list(range(6)) if max_length == 0 else [3, 4, 5])


def test_max_length_reject_publish_quorum_overshoots_by_one(rabbitmq):
    """A documented simplification: the model's "reject" is exact (as classic queues are); a quorum
    queue decides to refuse only once it is already over the limit, so it holds one message more."""
    steps = [("consume", "c1", 1), ("publish", 6)]
    rabbit, model = both(rabbitmq, steps, queue_type="quorum", max_length=2, overflow="reject-publish")
    assert rabbit["steps"] == model["steps"]
    assert (rabbit["rejected"], rabbit["ready"]) == ([4, 5], 3)
    assert (model["rejected"], model["ready"]) == ([3, 4, 5], 2)

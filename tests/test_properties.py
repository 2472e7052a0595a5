"""Property tests: random small systems (work queue, topic, partitioned log) with random faults.

Every run must conserve message copies, keep timestamps in order, respect the invariants its
configuration implies (no drops without a reason to drop, no duplicates without a way to redeliver
completed work), and be reproducible: the same configuration and seed give identical summaries and
identical ``records()`` tables.

Each example is small (at most 60 simulated seconds at up to 30 msg/s) and runs twice.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eda_sim import (
    Bursty,
    ConstantRate,
    Consumer,
    Crash,
    Deterministic,
    Down,
    Exponential,
    FailFraction,
    PartitionedLog,
    Poisson,
    Producer,
    Slow,
    System,
    Topic,
    WorkQueue,
)

# ``created`` is the workload's arrival time t; the simulation clock reaches it as now + (t - now),
# which can differ from t in the last bit, so times measured on the clock may precede it by that much.
EPS = 1e-9
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- strategies: plain data, so failing examples print readably -------------------------------------

times = st.floats(0.005, 0.5, allow_nan=False)
services = st.tuples(st.sampled_from(["exp", "det"]), times)
workloads = st.one_of(
    st.tuples(st.just("poisson"), st.floats(0.5, 30)),
    st.tuples(st.just("constant"), st.floats(0.5, 30)),
    st.tuples(st.just("bursty"), st.floats(1, 30), st.floats(0.5, 10), st.floats(0.5, 10)),
)
consumer_options = st.fixed_dictionaries({
    "service": services,
    "prefetch": st.integers(1, 5),
    "concurrency": st.integers(1, 3),
    "ack_every": st.integers(1, 4),
    "poll_interval": st.one_of(st.none(), st.floats(0.05, 2)),
})
queue_options = st.fixed_dictionaries({
    "capacity": st.one_of(st.none(), st.integers(0, 20)),  # 0: no waiting room (a loss system)
    "overflow": st.sampled_from(["reject", "drop_oldest", "block"]),
    "delivery_limit": st.one_of(st.none(), st.integers(1, 5)),
    "requeue": st.sampled_from(["head", "tail"]),
}).map(lambda q: {**q, "capacity": 1} if q["overflow"] == "block" and q["capacity"] == 0 else q)
broker_options = st.fixed_dictionaries({
    "publish_latency": st.one_of(st.none(), times),
    "when_down": st.sampled_from(["buffer", "drop"]),
})
faults = st.lists(st.fixed_dictionaries({
    "kind": st.sampled_from(["down", "crash", "slow", "fail"]),
    "target": st.integers(0, 100),  # index into the components that can take faults, modulo their number
    "start": st.floats(0, 50),
    "length": st.floats(0.1, 30),
    "factor": st.floats(1, 20),
    "fraction": st.floats(0, 1),
}), max_size=3)
common = {"seed": st.integers(0, 2**32), "until": st.floats(1, 60), "workload": workloads,
          "broker": broker_options, "faults": faults}

queue_configs = st.fixed_dictionaries({
    **common, "queue": queue_options, "consumers": st.lists(consumer_options, min_size=0, max_size=3)})
topic_configs = st.fixed_dictionaries({
    **common, "subscriptions": st.lists(st.tuples(queue_options, st.lists(consumer_options, min_size=1, max_size=2)),
                                        min_size=1, max_size=3)})
group_options = st.fixed_dictionaries({
    "consumers": st.integers(0, 4),
    "service": services,
    "start": st.sampled_from(["earliest", "latest"]),
    "commit_every": st.integers(1, 10),
    "max_attempts": st.one_of(st.none(), st.integers(1, 4)),
    "poll_interval": st.one_of(st.none(), st.floats(0.05, 2)),
    "rebalance_time": st.sampled_from([0.0, 0.5, 2.0]),
    "scale_at": st.lists(st.tuples(st.floats(0, 60), st.integers(0, 4)), max_size=3),
})
log_configs = st.fixed_dictionaries({
    **common, "partitions": st.integers(1, 6), "retention": st.one_of(st.none(), st.floats(1, 20)),
    "groups": st.lists(group_options, min_size=1, max_size=3)})


# -- building a system from a configuration -------------------------------------------------------

def service(spec):
    kind, mean = spec
    return Exponential(mean) if kind == "exp" else Deterministic(mean)


def workload(spec):
    if spec[0] == "poisson":
        return Poisson(rate=spec[1])
    if spec[0] == "constant":
        return ConstantRate(rate=spec[1])
    _, rate_on, on, off = spec
    return Bursty(rate_on=rate_on, on=on, off=off)


def broker_kwargs(cfg):
    b = cfg["broker"]
    latency = None if b["publish_latency"] is None else Exponential(b["publish_latency"])
    return {"publish_latency": latency, "when_down": b["when_down"]}


def add_consumers(system, queue, specs):
    for spec in specs:
        Consumer(system, queue, **{**spec, "service": service(spec["service"])})


def inject(system, cfg):
    targets = sorted(name for name, c in system.components.items() if hasattr(c, "health"))
    for f in cfg["faults"]:
        target = targets[f["target"] % len(targets)]
        window = {"target": target, "start": f["start"], "end": f["start"] + f["length"]}
        if f["kind"] == "down":
            system.inject(Down(**window))
        elif f["kind"] == "crash":
            system.inject(Crash(**window))
        elif f["kind"] == "slow":
            system.inject(Slow(**window, factor=f["factor"]))
        else:
            system.inject(FailFraction(**window, fraction=f["fraction"]))


def build_queue(cfg):
    system = System(cfg["seed"])
    q = WorkQueue(system, "q", **cfg["queue"], **broker_kwargs(cfg))
    add_consumers(system, q, cfg["consumers"])
    Producer(system, workload(cfg["workload"]), q)
    inject(system, cfg)
    return system


def build_topic(cfg):
    system = System(cfg["seed"])
    topic = Topic(system, "t", **broker_kwargs(cfg))
    for i, (options, specs) in enumerate(cfg["subscriptions"]):
        add_consumers(system, topic.subscribe(f"sub{i}", **options), specs)
    Producer(system, workload(cfg["workload"]), topic)
    inject(system, cfg)
    return system


def build_log(cfg):
    system = System(cfg["seed"])
    log = PartitionedLog(system, "log", partitions=cfg["partitions"], retention=cfg["retention"],
                         **broker_kwargs(cfg))
    for i, g in enumerate(cfg["groups"]):
        options = {k: v for k, v in g.items() if k != "scale_at"}
        group = log.group(f"g{i}", **{**options, "service": service(g["service"])})
        for t, n in g["scale_at"]:
            group.scale_at(t, n)
    Producer(system, workload(cfg["workload"]), log)
    inject(system, cfg)
    return system


# -- the properties ---------------------------------------------------------------------------------

def same(a, b):
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def check_run(build, cfg):
    """Run the configuration twice; check invariants on the first run and equality of the two."""
    first = build(cfg).run(until=cfg["until"])  # Result checks conservation per subscription on creation
    second = build(cfg).run(until=cfg["until"])
    s = first.summary

    # conservation, in total and per subscription
    assert s["to_handle"] == s["completed"] + s["dead_lettered"] + s["dropped"] + s["in_flight"]
    subs = first.by_subscription()
    assert (subs.to_handle == subs.completed + subs.dead_lettered + subs.dropped + subs.in_flight).all()
    assert (subs.to_handle <= s["produced"]).all()
    # the second identity: every message produced reached the broker (each subscription, all present
    # from the start, then took charge of a copy), is held at a down broker, or is still being published
    assert s["produced"] == s["published"] + s["held"] + s["publishing"]
    assert s["to_handle"] == s["published"] * len(subs)
    assert min(s["held"], s["publishing"]) >= 0
    assert s["produced"] == len(first.messages())
    assert min(s["completed"], s["dropped"], s["dead_lettered"], s["in_flight"], s["duplicates"]) >= 0
    # every completion, duplicate and failure was a delivery
    assert (subs.delivered >= subs.completed + subs.duplicates + subs.failed).all()

    # records agree with the counters and keep time in order
    rec = first.records()
    if len(rec):
        by_status = rec.groupby(["subscription", "status"], observed=False).size().unstack(fill_value=0)
        by_status = by_status.reindex(subs.subscription)
        for status in ("completed", "dropped", "dead_lettered", "in_flight"):
            assert by_status[status].tolist() == subs[status].tolist()
        assert (rec.enqueued >= rec.created - EPS).all()
        taken = rec.dropna(subset=["taken"])
        assert (taken.taken >= taken.enqueued).all()
        finished = rec[rec.status != "in_flight"]
        assert (finished.done >= finished.created - EPS).all()
        assert (finished.done <= first.elapsed + 1e-9).all()
        done = rec[rec.status == "completed"]
        assert (done.deliveries >= 1).all() and (done.latency >= -EPS).all()
        assert (rec.deliveries[rec.status == "in_flight"] >= 0).all()
    msgs = first.messages()
    accepted = msgs.dropna(subset=["accepted"])
    assert (accepted.accepted >= accepted.created - EPS).all()
    if not first.bound_hit:
        assert first.elapsed == cfg["until"]

    # reproducibility
    assert second.summary.keys() == s.keys()
    for key in s:
        assert same(s[key], second.summary[key]), key
    pd.testing.assert_frame_equal(first.records(), second.records())
    pd.testing.assert_frame_equal(first.messages(), second.messages())
    return first


@SETTINGS
@given(queue_configs)
def test_work_queue_runs_conserve_and_reproduce(cfg):
    result = check_run(build_queue, cfg)
    s = result.summary
    kinds = {f["kind"] for f in cfg["faults"]}
    q = cfg["queue"]
    can_drop = (q["capacity"] is not None and q["overflow"] != "block") or (
        cfg["broker"]["when_down"] == "drop" and kinds & {"down", "crash"})
    if not can_drop:
        assert s["dropped"] == 0
    if q["delivery_limit"] is None:
        assert s["dead_lettered"] == 0
    if not kinds & {"down", "crash"}:
        assert s["duplicates"] == 0  # only a lost consumer can redeliver completed, unacked work
    if not kinds & {"fail"}:
        assert s["failed"] == 0
    if not cfg["consumers"]:
        assert s["completed"] == 0 and s["delivered"] == 0


@SETTINGS
@given(topic_configs)
def test_topic_runs_conserve_and_reproduce(cfg):
    result = check_run(build_topic, cfg)
    subs = result.by_subscription()
    assert len(subs) == len(cfg["subscriptions"])
    # a publish reaches every subscription or none (a full "block" subscription still takes charge of
    # the copy; only its acceptance waits), so all subscriptions were given the same messages
    rec = result.records()
    sets = [set(rec.message[rec.subscription == name]) for name in subs.subscription]
    assert all(x == sets[0] for x in sets)
    kinds = {f["kind"] for f in cfg["faults"]}
    if cfg["broker"]["when_down"] == "buffer" and all(
            o["capacity"] is None or o["overflow"] == "block" for o, _ in cfg["subscriptions"]):
        assert result.summary["dropped"] == 0
    if not kinds & {"fail"}:
        assert result.summary["failed"] == 0


@SETTINGS
@given(log_configs)
def test_partitioned_log_runs_conserve_and_reproduce(cfg):
    result = check_run(build_log, cfg)
    s = result.summary
    kinds = {f["kind"] for f in cfg["faults"]}
    if cfg["retention"] is None and not (cfg["broker"]["when_down"] == "drop" and kinds & {"down", "crash"}):
        assert s["dropped"] == 0
    if all(g["max_attempts"] is None for g in cfg["groups"]):
        assert s["dead_lettered"] == 0
    if all(g["commit_every"] == 1 for g in cfg["groups"]):
        assert s["duplicates"] == 0  # progress is committed with each message, so nothing is redone
    # order: a partition is read in offset order by one member at a time, and a rebalance only rewinds
    # (replays count as duplicates, not new completions), so in every group a partition's messages
    # complete for the first time in offset order, whatever the faults and rebalances. (Offset order is
    # publish-acknowledgement order: with a random publish latency it can differ from creation order.)
    log = result.system.components["log"]
    rec = result.records()
    for name, group in rec[rec.status == "completed"].groupby("subscription", observed=True):
        done = group.set_index("message").done
        for p in range(cfg["partitions"]):
            in_offset_order = [m for m in log.offsets[p] if m in done.index]
            assert np.all(np.diff(done[in_offset_order].to_numpy()) > 0), (name, p)

"""Kafka-style partitioned log: partitioning by key, consumer groups, offsets, lag, retention, rebalances.

Small deterministic setups (ConstantRate arrivals, Deterministic service) where the exact outcome can be
worked out by hand, plus a few seeded Poisson runs for properties that must hold on any sample path.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eda_sim import (
    ConstantRate,
    Crash,
    Deterministic,
    Exponential,
    FailFraction,
    PartitionedLog,
    Poisson,
    Producer,
    Scheduled,
    System,
)

SUMMARY = ("produced", "completed", "dropped", "dead_lettered", "in_flight", "duplicates")


def counts(result):
    return {k: result.summary[k] for k in SUMMARY}


def at(system, t, fn):
    """Call ``fn()`` at simulated time ``t`` (before arrivals scheduled later for the same instant)."""
    system.env.timeout(t).callbacks.append(lambda _: fn())


def one_group(result, name):
    rec = result.records()
    return rec[rec.subscription == name].set_index("message").sort_index()


def test_key_goes_to_partition_key_mod_p_in_creation_order():
    system = System(5, keys=10)
    log = PartitionedLog(system, "log", partitions=3)
    log.group("g", consumers=3, service=Exponential(0.05))
    Producer(system, Poisson(rate=20, keys=10), log, limit=300)
    result = system.run(until=60)
    msgs = result.messages()
    assert len(msgs) == 300
    for p in range(3):
        expected = msgs.message[msgs.key % 3 == p].tolist()
        assert list(log.offsets[p]) == expected  # ascending ids: append order is creation order
    assert sum(log.end(p) for p in range(3)) == 300


def test_order_is_kept_per_key_but_not_across_partitions():
    # Three consumers with exponential service: completions interleave across partitions, but every
    # key's messages complete in creation order because one consumer reads a partition sequentially.
    system = System(7)
    log = PartitionedLog(system, "log", partitions=3)
    log.group("g", consumers=3, service=Exponential(0.1))
    Producer(system, Poisson(rate=20, keys=12), log, limit=1000)
    rec = one_group(system.run(until=200), "g")
    assert (rec.status == "completed").all()
    for _, per_key in rec.groupby("key"):
        done = per_key.sort_index().done.to_numpy()
        assert np.all(np.diff(done) > 0)
    # the check above has teeth: globally, plenty of later messages finish before earlier ones
    assert (np.diff(rec.done.to_numpy()) < 0).sum() > 100


def test_every_group_reads_every_message():
    system = System(2)
    log = PartitionedLog(system, "log", partitions=4)
    log.group("billing", consumers=2, service=Exponential(0.1))
    log.group("audit", consumers=1, service=Deterministic(0.02))
    Producer(system, Poisson(rate=10), log, limit=500)
    result = system.run(until=300)
    subs = result.by_subscription().set_index("subscription")
    assert subs.loc["billing", "completed"] == subs.loc["audit", "completed"] == 500
    assert result.summary["to_handle"] == 1000 and result.summary["completed"] == 1000
    rec = result.records()
    assert set(rec.message[rec.subscription == "billing"]) == set(rec.message[rec.subscription == "audit"])


def test_consumers_beyond_the_partition_count_sit_idle():
    # 2 partitions, 4 consumers: Kafka's range assignor gives p0 to consumer1 and p1 to consumer2; the
    # other two own nothing and never run. Service draws are shared per message, so the group behaves
    # exactly like a 2-consumer group: identical records.
    def run(n):
        system = System(4)
        log = PartitionedLog(system, "log", partitions=2)
        group = log.group("g", consumers=n, service=Exponential(0.3))
        Producer(system, Poisson(rate=5), log, limit=400)
        return system.run(until=200), group

    four, g4 = run(4)
    two, g2 = run(2)
    assert [m.name for m in g4.owner] == ["g.consumer1", "g.consumer2"]
    assert [m.partitions for m in g4.members] == [[0], [1], [], []]
    assert g4.members[2].proc is None and g4.members[3].proc is None
    assert [m.name for m in g2.owner] == ["g.consumer1", "g.consumer2"]
    pd.testing.assert_frame_equal(four.records(), two.records())
    assert counts(four) == counts(two)


def test_lag_is_end_minus_committed_and_drains_after_a_burst():
    # 2 msg/s, a burst of 40 msg/s between t=10 and t=15, two consumers of 0.1 s (capacity 20 msg/s).
    # With commit_every=1 the committed offset moves at each completion, so at every sample the lag
    # equals the messages accepted so far minus those completed so far (Poisson times never coincide
    # with a sample). It builds up during the burst and is back to 0 at the end.
    system = System(3, sample_every=0.5)
    log = PartitionedLog(system, "log", partitions=4)
    log.group("g", consumers=2, service=Deterministic(0.1))
    Producer(system, Scheduled(rate=2, spikes=((10, 15, 40),)), log)
    result = system.run(until=60)
    ts, rec = result.timeseries(), one_group(result, "g")
    accepted = rec.enqueued.to_numpy()
    done = rec.done.to_numpy()
    for t, lag in zip(ts.time, ts["g.lag"], strict=True):
        assert lag == (accepted <= t).sum() - (done <= t).sum()
    assert ts["g.lag"].max() > 40
    assert ts["g.lag"].iloc[-1] == 0
    assert ts.loc[ts.time < 10, "g.lag"].max() <= 2


@pytest.mark.parametrize(("retention", "check"), [(5.0, None), (5.0, 2.0), (30.0, 0.25)])
def test_retention_deletes_on_time_after_the_producer_stops(retention, check):
    # 40 messages at 4/s (0.25 .. 10.0 s), then silence. A group with no consumers never reads, so every
    # message is deleted by retention: each one between retention and retention + retention_check after
    # it was appended (the documented bound), appends or not. Before, deletion waited for the next append
    # and these messages lived until the end of the run.
    system = System(1)
    log = PartitionedLog(system, "log", partitions=2, retention=retention, retention_check=check)
    log.group("idle", consumers=0)
    Producer(system, ConstantRate(rate=4), log, limit=40)
    result = system.run(until=100)
    bound = retention / 10 if check is None else check
    assert log.retention_check == bound
    rec = one_group(result, "idle")
    assert (rec.status == "dropped").all() and len(rec) == 40
    age = rec.done - rec.enqueued
    assert (age > retention).all() and (age <= retention + bound + 1e-9).all()
    assert age.max() > retention + 0.5 * bound  # the bound is reached, not just respected by luck
    assert [log.start[p] for p in range(2)] == [log.end(p) for p in range(2)]  # the log is empty


def test_retention_check_needs_retention_and_fits_in_it():
    with pytest.raises(ValueError, match="retention_check needs retention"):
        PartitionedLog(System(1), "log", retention_check=1.0)
    with pytest.raises(ValueError, match=r"retention_check must be in \(0, 5\], got 6"):
        PartitionedLog(System(1), "log", retention=5.0, retention_check=6)


def test_retention_loses_messages_a_slow_group_has_not_read():
    # One partition, 4 msg/s, retention 5 s, a group taking 1 s per message: it can read only the
    # messages at the head of the log before they expire, and loses the rest. Nothing it took is lost
    # or processed twice, and nothing older than the retention (plus one arrival gap) is ever started.
    system = System(1)
    log = PartitionedLog(system, "log", partitions=1, retention=5.0)
    log.group("slow", consumers=1, service=Deterministic(1.0))
    Producer(system, ConstantRate(rate=4), log)
    result = system.run(until=60)
    s, rec = result.summary, one_group(result, "slow")
    assert s["produced"] == 239  # arrivals at 0.25, 0.5, ..., 59.75
    assert s["completed"] == 59  # one per second from t=1 to t=59
    assert s["duplicates"] == 0
    assert s["dropped"] > 150
    assert s["delivered"] == s["completed"] + 1  # the one in process at t=60
    assert not ((rec.status == "dropped") & (rec.deliveries > 0)).any()
    started = rec.dropna(subset=["taken"])
    assert (started.taken - started.created).max() <= 5.0 + 0.25
    assert result.summary["to_handle"] == s["completed"] + s["dropped"] + s["in_flight"]


@pytest.mark.parametrize("start", ["earliest", "latest"])
def test_offsets_deleted_under_a_group_move_it_to_the_log_start_whatever_its_start(start):
    # A documented simplification (docs/broker_semantics.md): when retention deletes offsets a group had
    # not read, the model moves it to the log start, as auto.offset.reset=earliest does; Kafka with
    # "latest" would skip to the log end. So a "latest" group loses exactly what an "earliest" one loses.
    system = System(1)
    log = PartitionedLog(system, "log", partitions=1, retention=5.0)
    group = log.group("slow", consumers=1, service=Deterministic(1.0), start=start)
    Producer(system, ConstantRate(rate=4), log)
    result = system.run(until=60)
    s = result.summary
    assert (s["completed"], s["dropped"]) == (59, 158)
    assert group.committed[0] >= log.start[0] and group.committed[0] < log.end(0) - 10  # not at the end


def test_new_group_replays_retained_history_or_starts_at_the_end():
    # Arrivals every 0.25 s, retention 5 s. At t=30 two groups join: "replay" (start="earliest") gets
    # the 21 retained messages created at 24.75..29.75 plus every new one; "tail" (start="latest")
    # only the messages published from then on (the arrival at t=30 itself is scheduled after the join).
    system = System(1)
    log = PartitionedLog(system, "log", partitions=1, retention=5.0)
    Producer(system, ConstantRate(rate=4), log)
    joined = {}

    def join():
        joined["start"] = log.start[0]
        log.group("replay", service=Deterministic(0.01), start="earliest")
        log.group("tail", service=Deterministic(0.01), start="latest")

    at(system, 30.0, join)
    result = system.run(until=40)
    msgs = result.messages().set_index("message")
    replay, tail = one_group(result, "replay"), one_group(result, "tail")
    first = log.offsets[0][joined["start"]]
    assert msgs.created[first] == 24.75
    assert list(replay.index) == list(range(first, len(msgs)))
    assert (replay.status == "completed").sum() == len(replay) - replay.status.eq("in_flight").sum()
    assert replay.created.min() >= 30.0 - 5.0 - 0.25
    assert (replay.created < 30).sum() == 21
    assert list(tail.index) == msgs.index[msgs.created >= 30].tolist()  # the arrival at t=30 comes after the join
    assert len(tail) == 40 and tail.created.min() == 30.0
    assert result.summary["dropped"] == 0


@pytest.mark.parametrize("commit_every,duplicates", [(1, 0), (10, 5)])
def test_scale_up_rebalances_and_rewinds_to_the_committed_offset(commit_every, duplicates):
    # One partition, arrivals every 0.1 s (30 messages), 1 s of service each, so a backlog builds.
    # At t=5.5 a second consumer joins: a rebalance revokes the partition mid-way through message 5,
    # and the partition goes back to consumer1 (the only partition goes to the first live member) from
    # the committed offset. With commit_every=10 nothing was committed yet, so messages 0..4 are done
    # again (5 duplicates); with commit_every=1 only message 5 is redelivered. Nothing is lost.
    system = System(1)
    log = PartitionedLog(system, "log", partitions=1)
    group = log.group("g", consumers=1, service=Deterministic(1.0), commit_every=commit_every)
    group.scale_at(5.5, 2)
    Producer(system, ConstantRate(rate=10), log, limit=30)
    result = system.run(until=60)
    rec = one_group(result, "g")
    assert counts(result) == {"produced": 30, "completed": 30, "dropped": 0, "dead_lettered": 0,
                              "in_flight": 0, "duplicates": duplicates}
    assert group.rebalances == 2
    assert [m.name for m in group.owner] == ["g.consumer1"]
    assert group.members[1].partitions == []
    assert rec.deliveries[5] == 2
    assert (rec.deliveries[:5] == (2 if duplicates else 1)).all()
    assert (rec.deliveries[6:] == 1).all()
    # the first 5 completed at 1.1, 2.1, ... before the rebalance; after it work restarts at 5.5
    assert rec.done[:5].tolist() == pytest.approx([1.1, 2.1, 3.1, 4.1, 5.1])
    assert rec.done[5] == pytest.approx(5.5 + (duplicates + 1) * 1.0)
    assert group.lag() == 0


def test_scale_out_and_in_on_a_busy_group_keeps_every_message():
    # 4 partitions, 6 msg/s against 0.15 s service: one consumer is 90% busy. Scaling 1 -> 3 -> 1
    # consumers triggers rebalances; with commit_every=10 they cause duplicates but nothing is lost.
    system = System(2, sample_every=1.0)
    log = PartitionedLog(system, "log", partitions=4)
    group = log.group("g", consumers=1, service=Exponential(0.15), commit_every=10)
    group.scale_at(20, 3)
    group.scale_at(40, 1)
    Producer(system, Poisson(rate=6), log, limit=400)
    result = system.run(until=200)
    ts = result.timeseries()
    s = counts(result)
    assert group.rebalances == 3
    assert ts.loc[ts.time < 20, "g.members"].eq(1).all()
    assert ts.loc[(ts.time > 20) & (ts.time < 40), "g.members"].eq(3).all()
    assert ts.loc[ts.time > 40, "g.members"].eq(1).all()
    assert s["completed"] == s["produced"] == 400
    assert s["dropped"] == s["in_flight"] == 0
    assert s["duplicates"] > 0
    assert result.summary["delivered"] >= 400 + s["duplicates"]


def test_crashed_member_partitions_move_to_the_others():
    # Two members over 4 partitions; consumer1 crashes from t=10 to t=30. The crash and the restart are
    # membership changes: all 4 partitions go to consumer2 meanwhile, then are split again.
    system = System(3)
    log = PartitionedLog(system, "log", partitions=4)
    group = log.group("g", consumers=2, service=Exponential(0.2), commit_every=3)
    system.inject(Crash(target="g.consumer1", start=10, end=30))
    owners = {}
    at(system, 20.0, lambda: owners.update(during=[m.name for m in group.owner]))
    Producer(system, Poisson(rate=4), log, limit=200)
    result = system.run(until=100)
    assert owners["during"] == ["g.consumer2"] * 4
    assert [m.name for m in group.owner] == ["g.consumer1", "g.consumer1", "g.consumer2", "g.consumer2"]
    assert group.rebalances == 3
    s = counts(result)
    assert s["completed"] == s["produced"] == 200
    assert s["dropped"] == s["in_flight"] == s["dead_lettered"] == 0


def test_max_attempts_dead_letters_after_exactly_that_many_tries():
    # Every processing fails until t=20 (FailFraction 1.0). One consumer owns both partitions, which
    # both have a backlog (20 msg/s, 0.1 s each), so retries alternate between partitions: each message
    # is still tried exactly max_attempts=3 times before it is dead-lettered. After t=20 all succeed.
    system = System(1)
    log = PartitionedLog(system, "log", partitions=2)
    log.group("g", consumers=1, service=Deterministic(0.1), max_attempts=3)
    system.inject(FailFraction(target="g.consumer1", start=0, end=20, fraction=1.0))
    Producer(system, ConstantRate(rate=20), log, limit=400)
    result = system.run(until=120)
    rec = one_group(result, "g")
    s = result.summary
    dead = rec[rec.status == "dead_lettered"]
    assert len(dead) > 50
    assert (dead.deliveries == 3).all()
    assert (dead.done <= 20 + 0.1).all()
    assert s["failed"] == 3 * s["dead_lettered"] + (rec.deliveries[rec.status == "completed"] - 1).sum()
    assert s["completed"] + s["dead_lettered"] == 400
    assert system.counters["g.dlq"] == s["dead_lettered"]


def test_more_consumers_less_lag_up_to_the_partition_count():
    # The same burst (40 msg/s for 10 s, 0.1 s per message) read by 1, 2, 4 and 8 consumers over 4
    # partitions: the peak lag falls with each doubling up to 4, and the 8-consumer group is exactly
    # the 4-consumer one (common random numbers, extra members idle).
    def peak_lag(n):
        system = System(6, sample_every=0.25)
        log = PartitionedLog(system, "log", partitions=4)
        log.group("g", consumers=n, service=Exponential(0.1))
        Producer(system, Scheduled(rate=1, spikes=((5, 15, 40),)), log)
        result = system.run(until=120)
        assert result.summary["in_flight"] == 0
        return result.timeseries()["g.lag"].max(), result.summary["latency_p99"]

    lags = {n: peak_lag(n) for n in (1, 2, 4, 8)}
    assert lags[1][0] > lags[2][0] > lags[4][0]
    assert lags[1][1] > lags[2][1] > lags[4][1]
    assert lags[8] == lags[4]


def range_assignor(partitions: int, members: int) -> list[list[int]]:
    """Kafka's RangeAssignor, as its documentation describes it, for one topic: partitions in numeric
    order, members in order; each member gets P // C consecutive partitions and the first P % C members
    one more. (Javadoc of org.apache.kafka.clients.consumer.RangeAssignor.)"""
    per, extra = divmod(partitions, members)
    out, start = [], 0
    for i in range(members):
        n = per + (1 if i < extra else 0)
        out.append(list(range(start, start + n)))
        start += n
    return out


@pytest.mark.parametrize("partitions", [1, 2, 3, 5, 7, 12, 31])
@pytest.mark.parametrize("members", [1, 2, 3, 4, 8, 40])
def test_assignment_is_kafkas_range_assignor(partitions, members):
    system = System(1)
    log = PartitionedLog(system, "log", partitions=partitions)
    group = log.group("g", consumers=members)
    assert [m.partitions for m in group.members] == range_assignor(partitions, members)

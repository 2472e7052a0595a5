"""Rewinding a consumer group (``ConsumerGroup.rewind``): replay after a bug fix, and what it costs.

Small deterministic setups (ConstantRate arrivals every 0.25 s, Deterministic service) whose outcome can
be counted by hand, plus one seeded Poisson run over several partitions.
"""

from __future__ import annotations

import pytest

from eda_sim import ConstantRate, Deterministic, Exponential, PartitionedLog, Poisson, Producer, System


def at(system, t, fn):
    """Call ``fn()`` at simulated time ``t``."""
    system.env.timeout(t).callbacks.append(lambda _: fn())


def build(*, partitions=1, retention=None, limit=40, commit_every=1, rate=4):
    system = System(1)
    log = PartitionedLog(system, "log", partitions=partitions, retention=retention)
    group = log.group("g", service=Deterministic(0.01), commit_every=commit_every)
    Producer(system, ConstantRate(rate=rate), log, limit=limit)
    return system, log, group


def test_rewind_to_earliest_reprocesses_everything_as_duplicates():
    # 40 messages at 0.25, 0.5, ..., 10 s, each done 0.01 s later. At t=20 the group is caught up; the
    # rewind sends it back to offset 0: lag jumps to 40, and all 40 are processed again (duplicates).
    system, _, group = build()
    seen = {}

    def rewind():
        seen["moved"] = group.rewind("earliest")
        seen["lag"] = group.lag()

    at(system, 20.0, rewind)
    result = system.run(until=60)
    s = result.summary
    assert seen == {"moved": 40, "lag": 40}
    assert (s["produced"], s["completed"], s["duplicates"], s["delivered"]) == (40, 40, 40, 80)
    assert s["dropped"] == s["in_flight"] == 0
    assert group.rebalances == 2 and group.lag() == 0
    rec = result.records()
    assert (rec.deliveries == 2).all()
    assert rec.done.max() == pytest.approx(10.01)  # a duplicate is not a second completion


def test_rewind_to_a_time_replays_from_the_first_offset_appended_then():
    # Messages appended at 5.0, 5.25, ..., 10.0 (21 of them) are read again; earlier ones are not.
    system, _, group = build()
    group.rewind_at(20.0, to=5.0)
    result = system.run(until=60)
    rec = result.records().set_index("message")
    assert result.summary["duplicates"] == 21
    assert (rec.deliveries[rec.created >= 5.0] == 2).all()
    assert (rec.deliveries[rec.created < 5.0] == 1).all()


def test_rewind_cannot_reach_behind_retention():
    # Retention 5 s, unlimited arrivals every 0.25 s. At t=20.1 the log holds offsets appended at
    # 15.0..20.0 (21 messages): that is all a rewind can replay; older messages are gone for good.
    system, log, group = build(retention=5.0, limit=None)
    seen = {}
    at(system, 20.1, lambda: seen.update(moved=group.rewind("earliest"), start=log.times[0][log.start[0]]))
    result = system.run(until=21)  # 21 replays take 0.21 s, done before retention deletes them
    assert seen == {"moved": 21, "start": 15.0}
    assert result.summary["duplicates"] == 21
    assert result.summary["dropped"] == 0  # the group had read everything before retention deleted it


def test_rewind_only_moves_back():
    # A group that is behind (1 s per message, 4 msg/s) is never moved forward past unread messages.
    system = System(1)
    log = PartitionedLog(system, "log", partitions=1)
    group = log.group("g", service=Deterministic(1.0))
    Producer(system, ConstantRate(rate=4), log, limit=40)
    seen = {}
    at(system, 5.5, lambda: seen.update(committed=list(group.committed), moved=group.rewind(to=5.0),
                                         after=list(group.committed), rebalances=group.rebalances))
    result = system.run(until=100)
    assert seen["moved"] == 0 and seen["after"] == seen["committed"] == [5]
    assert seen["rebalances"] == 1  # no rebalance for a rewind that moved nothing
    assert result.summary["duplicates"] == 0 and result.summary["completed"] == 40


def test_rewind_across_partitions_loses_nothing_and_counts_every_replay():
    system = System(4)
    log = PartitionedLog(system, "log", partitions=4)
    group = log.group("g", consumers=2, service=Exponential(0.05), commit_every=5)
    Producer(system, Poisson(rate=10), log, limit=600)
    seen = {}
    # At t=100 every message (created before ~60 s) is done and committed: rewinding to t=30 replays
    # exactly the messages created from 30 s on (publishing is instant, so appended == created).
    at(system, 100.0, lambda: seen.update(moved=group.rewind(to=30.0)))
    result = system.run(until=300)
    created = result.messages().created
    s = result.summary
    assert seen["moved"] == (created >= 30.0).sum()
    assert s["duplicates"] == seen["moved"]
    assert s["completed"] == 600 and s["dropped"] == s["in_flight"] == 0


@pytest.mark.parametrize("to, message", [("latest", "to must be 'earliest' or a time"),
                                         (-1.0, "to must be in"), (float("nan"), "to must be a finite")])
def test_rewind_rejects_bad_targets(to, message):
    _, _, group = build()
    with pytest.raises(ValueError, match=message):
        group.rewind(to)
    with pytest.raises(ValueError, match=message):
        group.rewind_at(1.0, to)


def test_rewind_at_rejects_a_negative_time():
    _, _, group = build()
    with pytest.raises(ValueError, match="t must be in"):
        group.rewind_at(-1.0)

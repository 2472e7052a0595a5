"""A Kafka-style partitioned log with consumer groups, committed offsets, lag, retention and rebalances.

Semantics follow Apache Kafka's documentation:

- a message goes to partition ``key % partitions``; order is kept within a partition only;
- every consumer group reads every message; inside a group each partition belongs to at most one
  consumer, so consumers beyond the partition count sit idle;
- a consumer processes its partitions' messages in offset order and commits its position after every
  ``commit_every`` messages (and whenever it catches up); lag is end offset minus committed offset;
- after a rebalance (a consumer joins, leaves or crashes) partitions are reassigned and reading resumes
  from the committed offsets, so work done but not yet committed is done again: duplicates
  (at-least-once delivery);
- ``retention`` seconds: older messages are deleted from the head of each partition, at every append and
  every ``retention_check`` seconds (Kafka's ``log.retention.check.interval.ms``; default retention / 10),
  so a message outlives ``retention`` by at most ``retention_check``, even after the producer stops. A
  group whose committed offset falls behind the log start loses them (counted as dropped) and jumps to
  the start. Kafka deletes whole segments (``log.segment.bytes``, ``segment.ms``), so there a message can
  outlive retention by up to a segment's span plus the check interval; here a segment is one message;
- a new group starts at the earliest retained offset (``start="earliest"``: it replays history) or at
  the end of the log (``start="latest"``: only new messages);
- an existing group can be rewound (``kafka-consumer-groups --reset-offsets``) to reprocess what the log
  still holds, say after a bug fix; messages processed again count as duplicates.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left

import simpy

from . import validate as v
from .broker import Broker
from .database import DatabaseError
from .distributions import Distribution, as_distribution
from .fault import Health
from .metrics import DeliveryLog
from .system import transactional


class PartitionedLog(Broker):
    """The log itself: ``partitions`` append-only arrays of message ids with append times."""

    @transactional
    def __init__(self, system, name: str = "log", *, partitions: int = 3, retention: float | None = None,
                 retention_check: float | None = None, publish_latency: Distribution | None = None,
                 when_down: str = "buffer"):
        super().__init__(system, name, publish_latency=publish_latency, when_down=when_down)
        self.partitions = v.integer("partitions", partitions, 1, 10_000)
        self.retention = None if retention is None else v.positive("retention", retention)
        if retention_check is not None and retention is None:
            raise ValueError("retention_check needs retention (seconds a message is kept)")
        self.retention_check = None if retention is None else (
            self.retention / 10 if retention_check is None else v.positive("retention_check", retention_check,
                                                                           self.retention))
        self.offsets = [array("q") for _ in range(self.partitions)]  # offset -> message id
        self.times = [array("d") for _ in range(self.partitions)]  # offset -> append time
        self.start = [0] * self.partitions  # log start offset (after retention)
        self.groups: dict[str, ConsumerGroup] = {}
        self._keys = system.messages.key
        if self.retention is not None:
            system.env.process(self._retention_checks())

    def _retention_checks(self):
        """Delete expired messages every ``retention_check`` s, appends or not (an idle log too)."""
        env, step = self.env, self.retention_check
        while True:
            yield env.timeout(step)
            for p in range(self.partitions):
                self._trim(p, env.now)

    def queues(self):
        return ()

    def end(self, p: int) -> int:
        return len(self.offsets[p])

    def _accept(self, mid: int) -> None:
        now = self.env.now
        p = self._keys[mid] % self.partitions
        offsets = self.offsets[p]
        offsets.append(mid)
        self.times[p].append(now)
        self._accepted[mid] = now
        if self.retention is not None:
            self._trim(p, now)
        for g in self.groups.values():
            g.appended(p, mid, now)

    def _refuse(self, mid: int) -> None:
        self.refused += 1
        self.system.count("refused")
        for g in self.groups.values():
            g.log.drop(mid, self.env.now)

    def _trim(self, p: int, now: float) -> None:
        times, s = self.times[p], self.start[p]
        horizon = now - self.retention
        while s < len(times) and times[s] < horizon:
            s += 1
        if s != self.start[p]:
            self.start[p] = s
            for g in self.groups.values():
                g.truncated(p, s)

    def group(self, name: str, *, consumers: int = 1, service=1.0, start: str = "earliest",
              poll_interval: float | None = None, commit_every: int = 1, rebalance_time: float = 0.0,
              max_attempts: int | None = None, db=None, reads: int = 0, writes: int = 0,
              stream: str | None = None) -> ConsumerGroup:
        """Create a consumer group reading this log now (see :class:`ConsumerGroup`)."""
        g = ConsumerGroup(self, name, consumers=consumers, service=service, start=start,
                          poll_interval=poll_interval, commit_every=commit_every, rebalance_time=rebalance_time,
                          max_attempts=max_attempts, db=db, reads=reads, writes=writes, stream=stream)
        self.groups[name] = g
        return g


class ConsumerGroup:
    """Consumers sharing one group id: partitions split among them, offsets committed per partition.

    ``max_attempts``: a message whose processing fails is retried in place (blocking its partition, as a
    Kafka consumer does) up to this many attempts, then dead-lettered and skipped; None retries forever.
    """

    @transactional
    def __init__(self, log: PartitionedLog, name: str, *, consumers, service, start, poll_interval,
                 commit_every, rebalance_time, max_attempts, db, reads, writes, stream):
        system = log.system
        self.system, self.env, self.plog = system, system.env, log
        self.name = system.register(name, self)
        self.service = as_distribution("service", service)
        self.start_at = v.choice("start", start, ("earliest", "latest"))
        self.poll_interval = None if poll_interval is None else v.positive("poll_interval", poll_interval, 1e5)
        self.commit_every = v.integer("commit_every", commit_every, 1, 10**6)
        self.rebalance_time = v.non_negative("rebalance_time", rebalance_time, 3600)
        self.max_attempts = None if max_attempts is None else v.integer("max_attempts", max_attempts, 1, 10**4)
        self.reads = v.integer("reads", reads, 0, 1000)
        self.writes = v.integer("writes", writes, 0, 1000)
        if (reads or writes) and db is None:
            raise ValueError("reads and writes need a db (a Database) to query")
        self.db = db
        self.draws = system.streams.draws(f"service:{stream or name}", self.service)
        self._fail_rng = system.streams.generator(f"fail:{name}")
        self.log = DeliveryLog(name)
        system.add_log(self.log)
        P = log.partitions
        now = self.env.now
        if self.start_at == "earliest":
            _check_replay(self, sum(log.end(p) - log.start[p] for p in range(P)))
            self.committed = list(log.start)
            for p in range(P):  # replay: everything retained becomes this group's work now
                for off in range(log.start[p], log.end(p)):
                    self.log.assign(log.offsets[p][off], now)
        else:
            self.committed = [log.end(p) for p in range(P)]
        self.position = list(self.committed)
        self.owner: list[GroupMember | None] = [None] * P
        self.slot = [0] * P  # partition -> its index in its owner's ``partitions``
        self.members: list[GroupMember] = []
        self.generation = 0
        self.rebalances = 0
        self.polls = self.empty_polls = 0
        system.series.add(f"{name}.lag", self.lag)
        system.series.add(f"{name}.members", lambda: sum(1 for m in self.members if m.active))
        for _ in range(v.integer("consumers", consumers, 0, 1000)):
            self._new_member()
        self._rebalance()

    # -- offsets -------------------------------------------------------------------------------
    def lag(self) -> int:
        """End offsets minus committed offsets, over every partition (summed in C: the sampler and the
        backlog bound ask often, and a log may have hundreds of partitions)."""
        return sum(map(len, self.plog.offsets)) - sum(self.committed)

    def backlog(self) -> int:
        return self.lag()

    def appended(self, p: int, mid: int, now: float) -> None:
        self.log.assign(mid, now)
        m = self.owner[p]
        if m is not None:
            m.unread |= 1 << self.slot[p]
            if m.waiting is not None and self.poll_interval is None:
                ev, m.waiting = m.waiting, None
                ev.succeed()

    def truncated(self, p: int, new_start: int) -> None:
        """Retention deleted offsets below ``new_start``; unread ones are lost to this group."""
        if self.committed[p] < new_start:
            now = self.env.now
            offsets = self.plog.offsets[p]
            fetched = {m.current for m in self.members}  # a message being processed is finished, not lost
            for off in range(self.committed[p], new_start):
                if (p, off) not in fetched:
                    self.log.drop(offsets[off], now)
            self.committed[p] = new_start
            self.position[p] = max(self.position[p], new_start)

    # -- membership ------------------------------------------------------------------------------
    def _new_member(self) -> GroupMember:
        m = GroupMember(self, f"{self.name}.consumer{len(self.members) + 1}")
        self.members.append(m)
        self.system.workers_total += 1
        return m

    def scale_to(self, n: int) -> None:
        """Change the number of active consumers now (a rebalance follows)."""
        n = v.integer("consumers", n, 0, 1000)
        active = [m for m in self.members if m.active]
        if n > len(active):
            dormant = [m for m in self.members if not m.active and not m.health.down]
            for m in dormant[: n - len(active)]:
                m.active = True
            for _ in range(n - len(active) - min(len(dormant), n - len(active))):
                self._new_member()
        else:
            for m in active[n:]:
                m.active = False
        self._rebalance()

    def scale_at(self, t: float, n: int) -> None:
        """Schedule :meth:`scale_to` at simulated time ``t``."""
        v.non_negative("t", t)
        v.integer("consumers", n, 0, 1000)
        self.env.timeout(max(0.0, t - self.env.now)).callbacks.append(lambda _: self.scale_to(n))

    def rewind(self, to="earliest") -> int:
        """Move the committed offsets back and rebalance, as ``kafka-consumer-groups --reset-offsets``.

        ``to="earliest"``: every partition goes back to its first retained offset (replay all the log
        still holds); a time ``t`` (s): back to the first offset appended at or after ``t``
        (``--to-datetime``, e.g. since a bad deploy). Offsets only move back, never past unread
        messages, and never before the retention horizon. Work done again counts as ``duplicates``.
        Returns the number of offsets rewound (messages the group will read again).
        """
        to = _rewind_target(to)
        plog, moved = self.plog, 0
        targets = []
        for p in range(plog.partitions):
            start = plog.start[p]
            target = start if to == "earliest" else max(start, bisect_left(plog.times[p], to))
            targets.append(target)
            moved += max(0, self.committed[p] - target)
        _check_replay(self, moved)
        for p, target in enumerate(targets):
            if target < self.committed[p]:
                self.committed[p] = target
        if moved:
            self._rebalance()
        return moved

    def rewind_at(self, t: float, to="earliest") -> None:
        """Schedule :meth:`rewind` at simulated time ``t``."""
        v.non_negative("t", t)
        to = _rewind_target(to)
        self.env.timeout(max(0.0, t - self.env.now)).callbacks.append(lambda _: self.rewind(to))

    def _rebalance(self) -> None:
        """Revoke every partition, rewind to committed offsets, reassign (range assignor), resume."""
        self.generation += 1
        self.rebalances += 1
        for m in self.members:
            m.stop()
        self.position = list(self.committed)
        live = [m for m in self.members if m.active and not m.health.down]
        P = self.plog.partitions
        self.owner = [None] * P
        for m in live:
            m.partitions = []
        if live:  # Kafka's RangeAssignor: P // C consecutive partitions each, one more for the first P % C
            per, extra = divmod(P, len(live))
            p = 0
            for i, m in enumerate(live):
                for _ in range(per + (i < extra)):
                    self.owner[p] = m
                    self.slot[p] = len(m.partitions)
                    m.partitions.append(p)
                    p += 1
        delay = self.rebalance_time if self.rebalances > 1 else 0.0
        for m in live:
            if m.partitions:
                m.start(delay)


class GroupMember:
    """One consumer in a group: processes its partitions one message at a time, in offset order."""

    def __init__(self, group: ConsumerGroup, name: str):
        self.group = group
        self.name = group.system.register(name, self)
        self.active = True
        self.partitions: list[int] = []
        self.proc = None
        self.waiting = None
        self.current: tuple[int, int] | None = None  # (partition, offset) being processed
        self.health = Health()
        self.health.on_change = self._health_changed
        self._next = 0
        # Bit i set: partitions[i] may have unread messages (set on append and on assignment, cleared
        # when found caught up), so picking the next partition costs O(1), not a scan of them all.
        self.unread = 0
        self._moved: list[int] = []  # partitions whose position moved since the last commit

    def start(self, delay: float) -> None:
        n = len(self.partitions)
        self.unread = (1 << n) - 1
        self._next %= n  # only ever used modulo the partition count
        self._moved = []
        self.proc = self.group.env.process(self._run(delay))

    def stop(self) -> None:
        if self.proc is not None and self.proc.is_alive:
            self.proc.interrupt("rebalance")
        self.proc = None
        self.waiting = None

    def _health_changed(self, was_down: bool) -> None:
        if self.health.down != was_down:
            self.group._rebalance()  # a crash or a restart is a membership change

    def _pick(self) -> int | None:
        """The next partition with unread messages, round-robin from the one after the last pick."""
        g, parts = self.group, self.partitions
        position, offsets = g.position, g.plog.offsets
        ready, start = self.unread, self._next
        while ready:
            later = ready >> start  # candidates at or after ``start``, else wrap around to the lowest
            i = start + (later & -later).bit_length() - 1 if later else (ready & -ready).bit_length() - 1
            p = parts[i]
            if position[p] < len(offsets[p]):
                self.unread = ready
                self._next = (i + 1) % len(parts)
                return p
            ready &= ~(1 << i)  # caught up: not a candidate until its next append
        self.unread = 0
        return None

    def _run(self, delay: float):
        g = self.group
        env, system, log, plog = g.env, g.system, g.log, g.plog
        draws, health, db = g.draws, self.health, g.db
        since_commit = 0
        attempts: dict[int, int] = {}  # message -> failed attempts (a retry may come after other partitions)
        try:
            if delay:
                yield env.timeout(delay)
            while True:
                p = self._pick()
                if p is None:
                    if since_commit:
                        self._commit()
                        since_commit = 0
                    if g.poll_interval is None:
                        self.waiting = env.event()
                        yield self.waiting
                    else:
                        yield env.timeout(g.poll_interval)
                        g.polls += 1
                        system.count("polls")
                        if self._pick() is None:
                            g.empty_polls += 1
                            system.count("empty_polls")
                    continue
                off = g.position[p]
                mid = plog.offsets[p][off]
                log.deliver(mid, env.now)
                begin = env.now
                self.current = (p, off)
                try:
                    yield env.timeout(draws[mid] * health.slow)
                    if db is not None:
                        for _ in range(g.reads):
                            yield from db.query("read", mid)
                        for _ in range(g.writes):
                            yield from db.query("write", mid)
                    failed = health.fail > 0 and g._fail_rng.random() < health.fail
                except DatabaseError:
                    failed = True
                except simpy.Interrupt:
                    if off < plog.start[p]:  # retention deleted it while in process: nobody will read it again
                        log.drop(mid, env.now)
                    raise
                finally:
                    system.busy_time += env.now - begin
                    self.current = None
                if failed:
                    log.fail()
                    n = attempts[mid] = attempts.get(mid, 0) + 1
                    if g.max_attempts is None or n < g.max_attempts:
                        if off < plog.start[p]:  # deleted meanwhile: it cannot be retried
                            del attempts[mid]
                            log.drop(mid, env.now)
                        continue  # retry the same offset: the partition waits
                    log.dead_letter(mid, env.now)
                    system.count(f"{g.name}.dlq")
                else:
                    log.complete(mid, env.now)
                attempts.pop(mid, None)
                g.position[p] = max(off + 1, g.position[p])  # retention may have moved it past off meanwhile
                self._moved.append(p)
                since_commit += 1
                if since_commit >= g.commit_every:
                    self._commit()
                    since_commit = 0
        except simpy.Interrupt:
            return

    def _commit(self) -> None:
        """Commit the position of every partition read since the last commit (the others are committed)."""
        committed, position = self.group.committed, self.group.position
        for p in self._moved:
            committed[p] = position[p]
        self._moved = []


def _check_replay(group: ConsumerGroup, n: int) -> None:
    """Stop before a replay makes ``n`` messages waiting at once past ``Limits.max_backlog``.

    The periodic backlog check would only see it afterwards, at several times the limit. Mid-run this
    ends the run (bound_hit); while building, it is a ValueError.
    """
    from .system import BoundHit

    system = group.system
    limit = system.limits.max_backlog
    others = sum(c.backlog() for c in system.components.values() if c is not group and hasattr(c, "backlog"))
    total = others + (group.lag() if hasattr(group, "committed") else 0) + n
    if total > limit:
        text = (f"unstable: group {group.name!r} would start with {n:,} messages to replay, {total:,} waiting "
                f"in all at t={system.env.now:.3g} s, past max_backlog={limit:,}; shorten the retention or the "
                f"history")
        raise BoundHit(text) if system.ran else ValueError(text)


def _rewind_target(to):
    """``"earliest"`` or a time in seconds, checked."""
    if isinstance(to, str):
        if to != "earliest":
            raise ValueError(f"to must be 'earliest' or a time in [0, ∞) s, got {to!r}")
        return to
    return v.non_negative("to", to)

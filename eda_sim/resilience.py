"""How a caller protects itself: timeouts, retries with backoff, a retry budget and a circuit breaker.

:class:`Call` describes one edge of a request/response system (who is called, how long the caller
waits, whether and how it retries, whether a breaker guards it, whether it hedges). :class:`Caller` is
its run-time side: it turns one logical call into attempts and reports exactly one outcome.

Retry delays follow the AWS Architecture Blog, "Exponential Backoff And Jitter" (M. Brooker, 2015):
exponential ``min(cap, base * 2**(n-1))`` before retry n, full jitter ``uniform(0, that)``, equal
jitter ``that/2 + uniform(0, that/2)``, decorrelated jitter ``min(cap, uniform(base, 3 * previous))``.
The retry budget is a token bucket in the manner of gRPC retry throttling and Finagle's RetryBudget:
every new call deposits ``ratio`` tokens, every retry spends one, so retries stay near ``ratio`` of calls.
The circuit breaker follows resilience4j's documented count-based breaker (see :class:`CircuitBreaker`).

A caller never answers inside the function that made the call: fast failures (an open breaker) are
delivered by a zero-delay event, so a chain of calls can never recurse into itself.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from . import validate as v

# Outcomes of one call (and of a client's request). Codes are small ints, stored per request.
OK, ERROR, TIMEOUT, REJECTED, BREAKER_OPEN = 0, 1, 2, 3, 4
OUTCOMES = ("ok", "error", "timeout", "rejected", "breaker_open")
RETRYABLE = ("error", "timeout", "rejected")  # a breaker fast-fail is never retried: it exists to shed load

BACKOFFS = ("none", "fixed", "exponential", "full_jitter", "equal_jitter", "decorrelated_jitter")
CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
STATE_CODE = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}  # for the breaker's time-series gauge


def soon(env, fn, *args) -> None:
    """Call ``fn(*args)`` from a zero-delay event: after the current callback, at the same time."""
    env.timeout(0).callbacks.append(lambda _: fn(*args))


# -- retry policy and budget ----------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class RetryBudget:
    """Retries allowed only up to ``ratio`` of calls: a token bucket holding at most ``capacity`` tokens.

    Each new call adds ``ratio`` tokens, each retry takes one; the bucket starts full, so a burst of up
    to ``capacity`` retries is allowed at once. ``per_second`` tokens also trickle in with time (a
    floor on retries when traffic is low, like Finagle's ``minRetriesPerSec``).
    """

    ratio: float = 0.1
    capacity: float = 10.0
    per_second: float = 0.0

    def __post_init__(self):
        v.number("ratio", self.ratio, 0.0, 10.0)
        v.number("capacity", self.capacity, 1.0, 1e6)
        v.non_negative("per_second", self.per_second, 1e6)


class TokenBucket:
    """The run-time state of a :class:`RetryBudget` for one caller."""

    __slots__ = ("budget", "tokens", "last")

    def __init__(self, budget: RetryBudget):
        self.budget = budget
        self.tokens = budget.capacity
        self.last = 0.0

    def _refill(self, now: float, extra: float = 0.0) -> None:
        b = self.budget
        self.tokens = min(b.capacity, self.tokens + b.per_second * (now - self.last) + extra)
        self.last = now

    def deposit(self, now: float) -> None:
        """A new call: ``ratio`` tokens in."""
        self._refill(now, self.budget.ratio)

    def withdraw(self, now: float) -> bool:
        """A retry wants to go: spend a token if there is one."""
        self._refill(now)
        if self.tokens >= 1.0 - 1e-9:  # ten deposits of 0.1 make 0.9999999999999999, which is one token
            self.tokens = max(0.0, self.tokens - 1.0)
            return True
        return False


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Whether, when and how often a failed attempt is tried again.

    ``max_attempts`` counts every try, the first included (``backoff="none"`` needs 1). The delay
    before retry n is given by ``backoff`` (module doc), from ``base`` seconds, never above ``cap``.
    ``on`` lists the outcomes worth retrying; ``budget`` caps retries as a share of calls.
    """

    backoff: str = "none"
    max_attempts: int = 1
    base: float = 0.1
    cap: float = 10.0
    on: tuple[str, ...] = RETRYABLE
    budget: RetryBudget | None = None

    def __post_init__(self):
        v.choice("backoff", self.backoff, BACKOFFS)
        v.integer("max_attempts", self.max_attempts, 1, 100)
        if self.backoff == "none" and self.max_attempts != 1:
            raise ValueError(f"max_attempts must be 1 with backoff='none' (no retries), got {self.max_attempts!r}; "
                             f"choose a backoff from {', '.join(BACKOFFS[1:])} to retry")
        v.non_negative("base", self.base, 1e4)
        v.number("cap", self.cap, self.base, 1e5)
        on = self.on if isinstance(self.on, tuple) else (self.on,)
        if not on:
            raise ValueError(f"on must name at least one of {', '.join(RETRYABLE)}")
        for name in on:
            v.choice("on", name, RETRYABLE)
        object.__setattr__(self, "on", on)
        if self.budget is not None and not isinstance(self.budget, RetryBudget):
            raise ValueError(f"budget must be a RetryBudget or None, got {self.budget!r}")

    @property
    def retry_codes(self) -> frozenset[int]:
        return frozenset(OUTCOMES.index(name) for name in self.on)

    def delay(self, retry: int, rng, previous: float) -> float:
        """Seconds to wait before retry number ``retry`` (1 = the first retry).

        ``previous`` is the last delay (``base`` before the first), used by decorrelated jitter.
        """
        kind = self.backoff
        if kind == "fixed":
            return self.base
        if kind == "decorrelated_jitter":
            return min(self.cap, self.base + rng.random() * (3.0 * previous - self.base))
        ceiling = min(self.cap, self.base * 2.0 ** min(retry - 1, 1000))
        if kind == "exponential":
            return ceiling
        if kind == "full_jitter":
            return rng.random() * ceiling
        if kind == "equal_jitter":
            return ceiling / 2 + rng.random() * ceiling / 2
        raise ValueError(f"backoff {kind!r} makes no retries")


# -- circuit breaker ------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class BreakerConfig:
    """A count-based circuit breaker, named after resilience4j's settings.

    ``failure_rate`` (failureRateThreshold): open when at least this share of the last ``window``
    calls (slidingWindowSize) failed, once ``min_calls`` (minimumNumberOfCalls) are recorded.
    ``open_for`` (waitDurationInOpenState): seconds open before trial calls are allowed.
    ``trial_calls`` (permittedNumberOfCallsInHalfOpenState): calls let through when half-open.
    """

    failure_rate: float = 0.5
    window: int = 20
    min_calls: int = 10
    open_for: float = 5.0
    trial_calls: int = 3

    def __post_init__(self):
        v.number("failure_rate", self.failure_rate, 0.0, 1.0, lo_open=True)
        v.integer("window", self.window, 1, 100_000)
        v.integer("min_calls", self.min_calls, 1, self.window)
        v.positive("open_for", self.open_for, 1e6)
        v.integer("trial_calls", self.trial_calls, 1, 10_000)


class CircuitBreaker:
    """Closed, open and half-open, with every transition recorded as ``(time, from, to)``.

    Closed: calls pass; outcomes go into a sliding window of the last ``window`` calls; when it holds
    at least ``min_calls`` and the failure share reaches ``failure_rate``, the breaker opens. Open:
    calls are refused. The first call after ``open_for`` seconds moves it to half-open (resilience4j's
    default, without automatic transition). Half-open: ``trial_calls`` calls pass, the rest are
    refused; when all trials have answered, it opens again if their failure share reaches
    ``failure_rate``, else it closes with an empty window. An outcome counts only in the state that let
    its call through: a slow answer from before the breaker opened does not count as a trial.
    """

    def __init__(self, config: BreakerConfig, name: str = "breaker"):
        if not isinstance(config, BreakerConfig):
            raise ValueError(f"config must be a BreakerConfig, got {config!r}")
        self.config = config
        self.name = name
        self.state = CLOSED
        self.generation = 0  # bumped at every transition; outcomes of older calls are ignored
        self.transitions: list[tuple[float, str, str]] = []
        self._window: deque[bool] = deque(maxlen=config.window)  # True = failure
        self._failures = 0
        self._opened_at = 0.0
        self._trials = self._trial_done = self._trial_failed = 0
        self.refused = 0

    def _move(self, now: float, to: str) -> None:
        self.transitions.append((now, self.state, to))
        self.state = to
        self.generation += 1
        if to == OPEN:
            self._opened_at = now
        elif to == HALF_OPEN:
            self._trials = self._trial_done = self._trial_failed = 0
        else:
            self._window.clear()
            self._failures = 0

    def allow(self, now: float) -> bool:
        """May a call go now? False means fast-fail with ``breaker_open``."""
        state = self.state
        if state == OPEN:
            if now - self._opened_at < self.config.open_for:
                self.refused += 1
                return False
            self._move(now, HALF_OPEN)
            state = HALF_OPEN
        if state == HALF_OPEN:
            if self._trials >= self.config.trial_calls:
                self.refused += 1
                return False
            self._trials += 1
        return True

    def record(self, ok: bool, now: float, generation: int) -> None:
        """The outcome of a call let through while ``generation`` was current."""
        if generation != self.generation:
            return
        cfg = self.config
        if self.state == CLOSED:
            window = self._window
            if len(window) == window.maxlen and window[0]:
                self._failures -= 1
            window.append(not ok)
            self._failures += not ok
            if len(window) >= cfg.min_calls and self._failures >= cfg.failure_rate * len(window):
                self._move(now, OPEN)
        elif self.state == HALF_OPEN:
            self._trial_done += 1
            self._trial_failed += not ok
            if self._trial_done >= cfg.trial_calls:
                failed = self._trial_failed >= cfg.failure_rate * self._trial_done
                self._move(now, OPEN if failed else CLOSED)


# -- one edge of the call graph ---------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Call:
    """How a caller calls ``target`` (a service name): per-attempt ``timeout`` (None: wait for ever),
    ``retry`` policy, optional ``breaker``, and ``hedge_after``: if no answer came after that many
    seconds, send a second copy and take whichever answers first."""

    target: str
    timeout: float | None = None
    retry: RetryPolicy = RetryPolicy()
    breaker: BreakerConfig | None = None
    hedge_after: float | None = None

    def __post_init__(self):
        if not isinstance(self.target, str) or not self.target:
            raise ValueError(f"target must be a service name, got {self.target!r}")
        if self.timeout is not None:
            v.positive("timeout", self.timeout, 1e6)
        if not isinstance(self.retry, RetryPolicy):
            raise ValueError(f"retry must be a RetryPolicy, got {self.retry!r}")
        if self.breaker is not None and not isinstance(self.breaker, BreakerConfig):
            raise ValueError(f"breaker must be a BreakerConfig or None, got {self.breaker!r}")
        if self.hedge_after is not None:
            hi = self.timeout if self.timeout is not None else 1e6
            v.number("hedge_after", self.hedge_after, 0.0, hi, lo_open=True, hi_open=self.timeout is not None)


def callee(system, spec: Call):
    """The service ``spec`` calls; ValueError if ``spec`` is not a Call or its target is no service."""
    if not isinstance(spec, Call):
        raise ValueError(f"call must be a Call (or a service name), got {spec!r}")
    target = system.component(spec.target)
    if not callable(getattr(target, "call", None)):
        raise ValueError(f"{spec.target!r} is not a service (it has no call method)")
    return target


class _Timers:
    """Timers that all run for the same ``delay``, so they expire in the order they were set.

    One SimPy event waits for the oldest timer still wanted; timers whose call has already answered
    are skipped without an event of their own. A caller with a timeout then costs about one event per
    timeout period instead of one per call.
    """

    __slots__ = ("env", "delay", "fire", "queue", "armed")

    def __init__(self, env, delay: float, fire):
        self.env = env
        self.delay = delay
        self.fire = fire  # fire(pending, token); it ignores timers that are no longer wanted
        self.queue: deque = deque()  # (deadline, pending, token), deadlines non-decreasing
        self.armed = False

    def add(self, p: _Pending, token: int) -> None:
        self.queue.append((self.env.now + self.delay, p, token))
        if not self.armed:
            self._arm()

    def _arm(self) -> None:
        queue = self.queue
        while queue and (queue[0][1].finished or queue[0][1].token != queue[0][2]):
            queue.popleft()
        self.armed = bool(queue)
        if queue:
            self.env.timeout(max(0.0, queue[0][0] - self.env.now)).callbacks.append(self._wake)

    def _wake(self, _event) -> None:
        queue, now = self.queue, self.env.now
        _, p, token = queue.popleft()  # the timer this event was set for (rounding may put now a hair early)
        self.fire(p, token)
        while queue and queue[0][0] <= now:
            _, p, token = queue.popleft()
            self.fire(p, token)
        self._arm()


class _Pending:
    """One logical call in progress: its tries so far and the copies of the current try."""

    __slots__ = ("mid", "done", "tries", "token", "copies", "finished", "sleep", "generation")

    def __init__(self, mid: int, done, base: float):
        self.mid = mid
        self.done = done
        self.tries = 0
        self.token = 0  # bumped when a try ends, so late answers and stale timers are ignored
        self.copies: list = []
        self.finished = False
        self.sleep = base
        self.generation = 0


class Caller:
    """The run-time side of a :class:`Call` from ``owner``: attempts, timeouts, hedges, retries, breaker.

    ``start(mid, done)`` makes one logical call and later calls ``done(outcome, tries)`` exactly once
    (unless cancelled). A timed-out or losing copy is marked ``abandoned`` on the callee's request, which
    keeps working on it: that work is wasted. ``log`` (a DeliveryLog) gets one delivery per try and one
    failure per failed try.
    """

    def __init__(self, system, spec: Call, owner: str, log=None):
        target = callee(system, spec)
        self.env = system.env
        self.spec = spec
        self.target = target
        self.name = f"{owner}->{spec.target}"
        self.policy = spec.retry
        self._retry_on = spec.retry.retry_codes
        self.breaker = CircuitBreaker(spec.breaker, self.name) if spec.breaker else None
        self.bucket = TokenBucket(spec.retry.budget) if spec.retry.budget else None
        self._rng = system.streams.generator(f"retry:{self.name}") if spec.retry.backoff != "none" else None
        self.log = log
        self._timeouts = _Timers(self.env, spec.timeout, self._expire) if spec.timeout is not None else None
        self._hedges = _Timers(self.env, spec.hedge_after, self._hedge) if spec.hedge_after is not None else None
        self.calls = self.tries = self.retries = self.hedges = self.timeouts = 0
        self.budget_denied = self.cancelled = 0
        if self.breaker is not None:
            system.series.add(f"{self.name}.breaker", lambda: STATE_CODE[self.breaker.state])

    def start(self, mid: int, done) -> _Pending:
        self.calls += 1
        pending = _Pending(mid, done, self.policy.base)
        if self.bucket is not None:
            self.bucket.deposit(self.env.now)
        self._try(pending)
        return pending

    def cancel(self, p: _Pending) -> None:
        """The caller no longer needs this call (another leg failed, or k answers came)."""
        if not p.finished:
            p.finished = True
            p.token += 1
            self.cancelled += 1
            for req in p.copies:
                req.abandoned = True

    def _try(self, p: _Pending) -> None:
        if p.finished:
            return
        env = self.env
        breaker = self.breaker
        if breaker is not None:
            if not breaker.allow(env.now):
                p.finished = True
                soon(env, p.done, BREAKER_OPEN, p.tries)
                return
            p.generation = breaker.generation
        p.tries += 1
        self.tries += 1
        if self.log is not None:
            self.log.deliver(p.mid, env.now)
        token = p.token
        p.copies.append(self.target.call(p.mid, lambda outcome: self._answer(p, token, outcome)))
        if self._timeouts is not None:
            self._timeouts.add(p, token)
        if self._hedges is not None:
            self._hedges.add(p, token)

    def _hedge(self, p: _Pending, token: int) -> None:
        if not p.finished and p.token == token:
            self.hedges += 1
            p.copies.append(self.target.call(p.mid, lambda outcome: self._answer(p, token, outcome)))

    def _answer(self, p: _Pending, token: int, outcome: int) -> None:
        if not p.finished and p.token == token:
            self._end_try(p, outcome)

    def _expire(self, p: _Pending, token: int) -> None:
        if not p.finished and p.token == token:
            self.timeouts += 1
            self._end_try(p, TIMEOUT)

    def _end_try(self, p: _Pending, outcome: int) -> None:
        env = self.env
        p.token += 1
        for req in p.copies:
            req.abandoned = True  # harmless for the copy that answered; wasted work for the others
        p.copies = []
        if self.breaker is not None:
            self.breaker.record(outcome == OK, env.now, p.generation)
        if outcome == OK:
            self._finish(p, OK)
            return
        if self.log is not None:
            self.log.fail()
        if outcome not in self._retry_on or p.tries >= self.policy.max_attempts:
            self._finish(p, outcome)
            return
        if self.bucket is not None and not self.bucket.withdraw(env.now):
            self.budget_denied += 1
            self._finish(p, outcome)
            return
        self.retries += 1
        p.sleep = self.policy.delay(p.tries, self._rng, p.sleep)
        env.timeout(p.sleep).callbacks.append(lambda _: self._try(p))

    def _finish(self, p: _Pending, outcome: int) -> None:
        p.finished = True
        p.done(outcome, p.tries)

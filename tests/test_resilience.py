"""Retry policies, the retry budget, the circuit breaker, timeouts and hedging."""

from __future__ import annotations

import numpy as np
import pytest

from eda_sim import ConstantRate, Deterministic, Down, Exponential, Producer, System
from eda_sim.resilience import (
    BACKOFFS,
    CLOSED,
    HALF_OPEN,
    OPEN,
    BreakerConfig,
    Call,
    CircuitBreaker,
    RetryBudget,
    RetryPolicy,
    TokenBucket,
)
from eda_sim.service import Client, Downstream, Service, breaker_records, request_records, service_records

# -- backoff delays (AWS Architecture Blog, "Exponential Backoff And Jitter") ----------------------


def delays(policy: RetryPolicy, n: int, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    out, previous = [], policy.base
    for retry in range(1, n + 1):
        previous = policy.delay(retry, rng, previous)
        out.append(previous)
    return out


def test_fixed_and_exponential_delays_are_exact():
    assert delays(RetryPolicy(backoff="fixed", max_attempts=5, base=0.3), 4) == [0.3] * 4
    expo = RetryPolicy(backoff="exponential", max_attempts=9, base=0.1, cap=1.0)
    assert delays(expo, 7) == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0])


def test_jittered_delays_stay_in_their_ranges_and_average_as_documented():
    n = 4000
    for retry in (1, 3, 6):  # ceilings 0.1, 0.4 and the cap 2.0
        ceiling = min(2.0, 0.1 * 2 ** (retry - 1))
        rng = np.random.default_rng(retry)
        full = np.array([RetryPolicy(backoff="full_jitter", max_attempts=9, base=0.1, cap=2.0).delay(retry, rng, 0.1)
                         for _ in range(n)])
        equal = np.array([RetryPolicy(backoff="equal_jitter", max_attempts=9, base=0.1, cap=2.0).delay(retry, rng, 0.1)
                          for _ in range(n)])
        assert full.min() >= 0 and full.max() <= ceiling
        assert equal.min() >= ceiling / 2 and equal.max() <= ceiling
        # Uniform means: ceiling/2 and 3*ceiling/4; the standard error is about ceiling * 0.0046 here.
        assert full.mean() == pytest.approx(ceiling / 2, rel=0.05)
        assert equal.mean() == pytest.approx(3 * ceiling / 4, rel=0.03)


def test_decorrelated_jitter_walks_between_base_and_three_times_the_last_sleep():
    policy = RetryPolicy(backoff="decorrelated_jitter", max_attempts=50, base=0.1, cap=3.0)
    rng = np.random.default_rng(3)
    previous = 0.1
    for retry in range(1, 200):
        d = policy.delay(retry, rng, previous)
        assert 0.1 <= d <= min(3.0, 3 * previous) + 1e-12
        previous = d
    assert max(delays(policy, 200)) == pytest.approx(3.0)  # it reaches the cap


@pytest.mark.parametrize("kwargs, name", [
    (dict(backoff="linear"), "backoff"),
    (dict(backoff="none", max_attempts=3), "max_attempts"),
    (dict(backoff="fixed", max_attempts=0), "max_attempts"),
    (dict(backoff="fixed", max_attempts=101), "max_attempts"),
    (dict(backoff="fixed", max_attempts=2, base=-1.0), "base"),
    (dict(backoff="fixed", max_attempts=2, base=1.0, cap=0.5), "cap"),
    (dict(backoff="fixed", max_attempts=2, on=("oops",)), "on"),
    (dict(backoff="fixed", max_attempts=2, on=()), "on"),
    (dict(backoff="fixed", max_attempts=2, budget=0.1), "budget"),
])
def test_bad_retry_policies_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        RetryPolicy(**kwargs)


def test_every_documented_backoff_is_accepted():
    for backoff in BACKOFFS:
        RetryPolicy(backoff=backoff, max_attempts=1 if backoff == "none" else 3)


# -- retry budget ---------------------------------------------------------------------------------


def test_token_bucket_allows_a_burst_then_ratio_of_calls():
    bucket = TokenBucket(RetryBudget(ratio=0.1, capacity=2.0))
    assert [bucket.withdraw(0.0) for _ in range(3)] == [True, True, False]  # starts full: 2 tokens
    for _ in range(9):
        bucket.deposit(1.0)
    assert not bucket.withdraw(1.0)  # 0.9 tokens
    bucket.deposit(1.0)
    assert bucket.withdraw(1.0)  # 1.0 token after 10 calls
    assert not bucket.withdraw(1.0)
    for _ in range(100):
        bucket.deposit(2.0)
    assert bucket.tokens == pytest.approx(2.0)  # capped


def test_token_bucket_refills_with_time():
    bucket = TokenBucket(RetryBudget(ratio=0.0, capacity=5.0, per_second=0.5))
    for _ in range(5):
        assert bucket.withdraw(0.0)
    assert not bucket.withdraw(1.0)  # 0.5 tokens
    assert bucket.withdraw(2.0)  # 1.0 token


@pytest.mark.parametrize("kwargs, name", [(dict(ratio=-0.1), "ratio"), (dict(capacity=0.5), "capacity"),
                                          (dict(per_second=-1.0), "per_second")])
def test_bad_budgets_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        RetryBudget(**kwargs)


# -- circuit breaker: resilience4j's count-based semantics ------------------------------------------


def test_breaker_transitions_follow_the_documented_semantics():
    cb = CircuitBreaker(BreakerConfig(failure_rate=0.5, window=4, min_calls=4, open_for=10.0, trial_calls=2))
    for t, ok in ((0, True), (1, False), (2, True)):
        assert cb.allow(t)
        cb.record(ok, t, cb.generation)
    assert cb.state == CLOSED  # 1 failure in 3 calls: fewer than min_calls, no decision yet
    assert cb.allow(3)
    cb.record(False, 3, cb.generation)  # 2 of 4 failed = 50% >= threshold
    assert cb.state == OPEN
    assert not cb.allow(5) and not cb.allow(12.9)  # open for 10 s: refused
    assert cb.allow(13)  # first call after open_for: half-open, trial 1
    assert cb.state == HALF_OPEN
    gen = cb.generation
    assert cb.allow(13.5)  # trial 2
    assert not cb.allow(13.6)  # no more trials
    cb.record(True, 14, gen)
    assert cb.state == HALF_OPEN  # waits for every trial
    cb.record(False, 15, gen)  # 1 of 2 trials failed = 50%: open again
    assert cb.state == OPEN
    assert cb.allow(25) and cb.allow(25)
    gen = cb.generation
    cb.record(True, 25.5, gen)
    cb.record(True, 26, gen)
    assert cb.state == CLOSED
    assert cb.transitions == [(3, CLOSED, OPEN), (13, OPEN, HALF_OPEN), (15, HALF_OPEN, OPEN),
                              (25, OPEN, HALF_OPEN), (26, HALF_OPEN, CLOSED)]
    assert cb.refused == 3


def test_breaker_window_slides_and_stale_outcomes_do_not_count():
    cb = CircuitBreaker(BreakerConfig(failure_rate=0.75, window=4, min_calls=4, open_for=1.0, trial_calls=1))
    for t, ok in enumerate([False, False, True, True, False, False]):
        cb.record(ok, t, cb.generation)
        assert cb.state == CLOSED  # windows: FFTT, FTTF, TTFF are 50% < 75%
    old = cb.generation
    cb.record(False, 6, old)  # TFFF: 75%
    assert cb.state == OPEN
    cb.record(True, 6.5, old)  # a call let through while closed answers late: ignored
    assert cb.allow(7.0) and cb.state == HALF_OPEN
    cb.record(True, 7.1, old)  # still stale: not a trial result
    assert cb.state == HALF_OPEN
    cb.record(True, 7.2, cb.generation)
    assert cb.state == CLOSED
    assert [to for _, _, to in cb.transitions] == [OPEN, HALF_OPEN, CLOSED]


@pytest.mark.parametrize("kwargs, name", [
    (dict(failure_rate=0.0), "failure_rate"), (dict(failure_rate=1.5), "failure_rate"),
    (dict(window=0), "window"), (dict(window=5, min_calls=6), "min_calls"),
    (dict(open_for=0.0), "open_for"), (dict(trial_calls=0), "trial_calls"),
])
def test_bad_breaker_configs_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        BreakerConfig(**kwargs)


def test_breaker_in_a_run_opens_during_an_outage_and_closes_after_it():
    system = System(seed=4)
    Service(system, "api", workers=8, service=Deterministic(0.01))
    cfg = BreakerConfig(failure_rate=0.5, window=10, min_calls=5, open_for=2.0, trial_calls=2)
    client = Client(system, Call(target="api", breaker=cfg))
    Producer(system, ConstantRate(rate=10), client)
    system.inject(Down(target="api", start=10.0, end=15.0))
    r = system.run(30)
    trans = breaker_records(r)
    assert list(trans.columns) == ["time", "edge", "from", "to"]
    assert set(trans["edge"]) == {"client->api"}
    # Calls leave every 0.1 s. The 5 refused calls at 10.0..10.4 make 5 failures of the last 10: open.
    assert trans["time"].iloc[0] == pytest.approx(10.4)
    states = list(zip(trans["from"], trans["to"], strict=True))
    assert states[0] == (CLOSED, OPEN)
    for (_, b), (c, _) in zip(states, states[1:], strict=False):
        assert b == c  # each transition starts where the last one ended
    assert states[-1] == (HALF_OPEN, CLOSED)
    assert trans["time"].iloc[-1] > 15.0  # it closes only after the outage
    assert all(t < 15.0 + 2.0 + 0.5 for t in trans["time"])  # and soon after it
    assert set(states) <= {(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, OPEN), (HALF_OPEN, CLOSED)}
    s = r.summary
    assert s["breaker_open"] > 0 and s["breaker_transitions"] == len(trans)
    assert s["breaker_open"] + s["errors"] == s["dropped"]
    assert r.timeseries()["client->api.breaker"].max() == 2  # the gauge shows "open"


# -- timeouts, retries, hedges in runs ----------------------------------------------------------------


def one_request(service, call: Call, *, seed: int = 1, until: float = 20.0, faults=(), workers: int = 4):
    """A single request at t=1 to a service "s"; returns (result, its request row)."""
    system = System(seed)
    Service(system, "s", workers=workers, service=service)
    client = Client(system, call)
    Producer(system, ConstantRate(rate=1.0), client, limit=1)
    for f in faults:
        system.inject(f)
    r = system.run(until)
    return r, request_records(r).iloc[0]


def test_timeout_abandons_but_the_callee_keeps_working():
    r, row = one_request(Deterministic(2.0), Call(target="s", timeout=0.5))
    assert row["outcome"] == "timeout" and row["tries"] == 1
    assert row["answered"] == pytest.approx(1.5)  # sent at 1.0, gave up at 1.5
    svc = service_records(r).iloc[0]
    assert svc["ok"] == 1  # the service finished the work at 3.0 anyway...
    assert svc["wasted"] == pytest.approx(1.0)  # ...and all of it was wasted
    assert r.summary["timeouts"] == 1 and r.summary["dropped"] == 1 and r.summary["completed"] == 0


def test_fixed_retries_happen_when_documented():
    policy = RetryPolicy(backoff="fixed", max_attempts=4, base=0.5)
    down = Down(target="s", start=0.0, end=2.05)
    r, row = one_request(Deterministic(0.1), Call(target="s", retry=policy), faults=[down])
    # Tries at 1.0, 1.5, 2.0 are refused at once; the try at 2.5 succeeds at 2.6.
    assert row["outcome"] == "ok" and row["tries"] == 4
    assert row["answered"] == pytest.approx(2.6)
    assert r.summary["retries"] == 3 and r.summary["failed"] == 3 and r.summary["delivered"] == 4


def test_retries_stop_at_max_attempts_and_only_on_listed_outcomes():
    down = Down(target="s", start=0.0, end=100.0)
    _, row = one_request(Deterministic(0.1), Call(target="s", retry=RetryPolicy(backoff="fixed", max_attempts=3,
                                                                                base=0.1)), faults=[down])
    assert row["outcome"] == "error" and row["tries"] == 3
    no_error_retry = RetryPolicy(backoff="fixed", max_attempts=3, base=0.1, on=("timeout",))
    _, row = one_request(Deterministic(0.1), Call(target="s", retry=no_error_retry), faults=[down])
    assert row["outcome"] == "error" and row["tries"] == 1


def test_hedged_request_takes_the_first_answer():
    dist = Exponential(1.0)
    ref = System(seed=9).streams
    first, second = ref.draws("service:s", dist)[0], ref.draws("service:s:repeat", dist)[0]
    r, row = one_request(dist, Call(target="s", hedge_after=0.2), seed=9)
    expected = min(first, 0.2 + second) if first > 0.2 else first
    assert row["latency"] == pytest.approx(expected, abs=1e-12)
    assert r.summary["hedges"] == (1 if first > 0.2 else 0)
    assert r.summary["calls"] == 1 + r.summary["hedges"]


def test_retry_budget_caps_retries_near_its_ratio():
    system = System(seed=2)
    Service(system, "s", workers=4, service=Deterministic(0.01))
    budget = RetryBudget(ratio=0.1, capacity=3.0)
    client = Client(system, Call(target="s", retry=RetryPolicy(backoff="fixed", max_attempts=5, base=0.01,
                                                               budget=budget)))
    Producer(system, ConstantRate(rate=10), client)
    system.inject(Down(target="s", start=0.0, end=1000.0))
    s = system.run(100.05).summary
    requests = s["produced"]
    assert requests == 1000
    assert s["retries"] <= 3 + 0.1 * requests + 1e-9  # burst + ratio
    assert s["retries"] >= 0.1 * requests - 1  # and it is used
    assert s["budget_denied"] > 0.8 * requests
    # Every retry is one more try; without the budget every request would make 5.
    assert s["attempts_mean"] == pytest.approx(1 + s["retries"] / requests)


@pytest.mark.parametrize("kwargs, name", [
    (dict(target=""), "target"), (dict(target="s", timeout=0.0), "timeout"),
    (dict(target="s", timeout=1.0, hedge_after=1.0), "hedge_after"),
    (dict(target="s", hedge_after=-1.0), "hedge_after"), (dict(target="s", retry="fixed"), "retry"),
    (dict(target="s", breaker=0.5), "breaker"),
])
def test_bad_calls_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Call(**kwargs)


def test_first_k_parallel_and_sequential_wait_for_the_right_answers():
    dist = Exponential(0.3)
    for mode, k, pick in (("sequential", None, np.sum), ("parallel", None, np.max),
                          ("first_k", 2, lambda x: np.sort(x)[1])):
        system = System(seed=5)
        for name in ("a", "b", "c"):
            Service(system, name, workers=4, service=dist)
        Service(system, "front", workers=4, service=Deterministic(0.0),
                downstream=Downstream(calls=("a", "b", "c"), mode=mode, k=k))
        client = Client(system, "front")
        Producer(system, ConstantRate(rate=1.0), client, limit=5)
        r = system.run(50)
        rows = request_records(r)
        for i, latency in enumerate(rows["latency"]):
            legs = np.array([system.streams.draws(f"service:{n}", dist)[i] for n in "abc"])
            assert latency == pytest.approx(pick(legs), abs=1e-12), (mode, i)

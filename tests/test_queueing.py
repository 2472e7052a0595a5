"""The simulator against closed-form queueing theory (:mod:`eda_sim.theory`).

Each check simulates tens of thousands of messages (stated per test) and compares a steady-state
average with its formula. Tolerances are about three standard errors of the simulated estimate at that
sample size, and far tighter than the gap to the nearest wrong formula (for example M/M/1/K with K
instead of K+1, or M/M/1 instead of M/M/2), so a wrong simulator or a wrong formula fails the test.
Seeds are fixed, so every test is deterministic.
"""

from __future__ import annotations

import pytest

from eda_sim import (
    Deterministic,
    Exponential,
    LogNormal,
    Poisson,
    Producer,
    System,
    WorkQueue,
    consumers,
    theory,
)

N = 20_000  # messages per simulated run


def simulate(seed, rate, n_consumers, service, *, messages=N, sample_every=None, capacity=None,
             overflow="reject", **consumer_options):
    """Poisson(rate) into one work queue with ``n_consumers`` push consumers; about ``messages`` arrivals."""
    system = System(seed, sample_every=sample_every)
    queue = WorkQueue(system, "q", capacity=capacity, overflow=overflow)
    group = consumers(system, queue, n_consumers, service=service, **consumer_options)
    Producer(system, Poisson(rate=rate), queue)
    result = system.run(until=messages / rate)
    assert not result.bound_hit, result.message
    return result, group


def mean_over_seeds(key, seeds, *args, **kwargs):
    values = [simulate(seed, *args, **kwargs)[0].summary[key] for seed in seeds]
    return sum(values) / len(values)


@pytest.mark.parametrize("servers", [1, 2, 4])
def test_mmc_wait_and_utilisation(servers):
    # M/M/c at rho = 0.6, mean service 0.1 s: 4 seeds x 20,000 messages. The per-run relative standard
    # deviation of the mean wait is about 4%, so the 4-run average is within +-8% of Erlang C's Wq;
    # utilisation (a far less noisy average) within +-3% of rho. M/M/1's Wq at the same rho is 2.7x
    # M/M/2's and 5x M/M/4's, so serving from the wrong number of consumers cannot pass.
    mu, rho = 10.0, 0.6
    lam = rho * servers * mu
    expected = theory.mmc(lam, mu, servers)
    runs = [simulate(seed, lam, servers, Exponential(1 / mu))[0].summary for seed in range(1, 5)]
    wait = sum(r["wait_mean"] for r in runs) / len(runs)
    util = sum(r["utilisation"] for r in runs) / len(runs)
    assert wait == pytest.approx(expected.wait_mean, rel=0.08)
    assert util == pytest.approx(expected.utilisation, rel=0.03)


def test_mm1_matches_mmc_with_one_server_and_response_time():
    # One run of M/M/1 at rho = 0.6 (20,000 messages): mean response time (latency_mean, queueing plus
    # service) within +-8% of 1/(mu - lambda), and the p95 within +-10% of the exponential quantile.
    result, _ = simulate(11, 6.0, 1, Exponential(0.1))
    expected = theory.mm1(6.0, 10.0)
    assert result.summary["latency_mean"] == pytest.approx(expected.response_mean, rel=0.08)
    assert result.summary["latency_p95"] == pytest.approx(theory.mm1_response_quantile(6.0, 10.0, 0.95), rel=0.10)


def test_md1_wait_is_half_of_mm1():
    # M/D/1 at rho = 0.6 with a constant 0.1 s service: 4 seeds x 20,000 messages, mean wait within +-6%
    # of Pollaczek-Khinchine with cv^2 = 0 (per-run spread about 3%). M/M/1 would be twice as long.
    seeds = range(1, 5)
    wait = mean_over_seeds("wait_mean", seeds, 6.0, 1, Deterministic(0.1))
    assert wait == pytest.approx(theory.md1(6.0, 0.1).wait_mean, rel=0.06)
    assert wait < 0.6 * theory.mm1(6.0, 10.0).wait_mean


def test_mg1_lognormal_wait():
    # M/G/1 with lognormal service (mean 0.1 s, cv 1.5, so cv^2 = 2.25) at rho = 0.5: heavier tails make
    # the estimate noisier (per-run spread about 6%), so 6 seeds x 20,000 messages and +-10%.
    # The M/M/1 value (cv^2 = 1) is 38% lower, the M/D/1 one 69% lower.
    seeds = range(1, 7)
    wait = mean_over_seeds("wait_mean", seeds, 5.0, 1, LogNormal(0.1, 1.5))
    assert wait == pytest.approx(theory.mg1(5.0, 0.1, 2.25).wait_mean, rel=0.10)


@pytest.mark.parametrize("seed", [1, 2])
def test_littles_law_from_the_time_series(seed):
    # M/M/1 at rho = 0.7, 20,000 messages, the queue sampled every 0.5 s (about 5,700 samples).
    # Little's law on the same sample path: the time-average number waiting (queue.depth) equals the
    # measured arrival rate times the measured mean wait within +-3%, and the number in the system
    # (waiting plus unacknowledged, i.e. in service with prefetch=1) equals lambda times the mean latency.
    # Against theory's Lq (a single run, per-run spread about 6%): +-15%.
    result, _ = simulate(seed, 7.0, 1, Exponential(0.1), sample_every=0.5)
    s, ts = result.summary, result.timeseries()
    lam = s["produced"] / s["sim_time"]
    depth = ts["q.depth"].mean()
    in_system = (ts["q.depth"] + ts["q.unacked"]).mean()
    assert depth == pytest.approx(theory.littles_law(lam, s["wait_mean"]), rel=0.03)
    assert in_system == pytest.approx(theory.littles_law(lam, s["latency_mean"]), rel=0.03)
    assert depth == pytest.approx(theory.mm1(7.0, 10.0).queue_mean, rel=0.15)


@pytest.mark.parametrize("capacity", [1, 3])
def test_bounded_queue_drops_like_mm1k(capacity):
    # capacity counts ready messages only; with one consumer and prefetch=1 one more is in service, so
    # the system holds K+1 and is M/M/1/(K+1). rho = 0.9, 2 seeds x 20,000 messages: the dropped fraction
    # is within +-6% of mm1k_blocking(K+1) (binomial error about 2% per run). mm1k_blocking(K) is 30%
    # (K=3) to 58% (K=1) higher, so an off-by-one in either the queue or the formula fails.
    lam, mu = 9.0, 10.0
    fractions = []
    for seed in (1, 2):
        result, _ = simulate(seed, lam, 1, Exponential(1 / mu), capacity=capacity, overflow="reject")
        s = result.summary
        assert s["dead_lettered"] == 0
        fractions.append(s["dropped"] / s["produced"])
    dropped = sum(fractions) / len(fractions)
    assert dropped == pytest.approx(theory.mm1k_blocking(lam, mu, capacity + 1), rel=0.06)
    assert dropped < 0.85 * theory.mm1k_blocking(lam, mu, capacity)


def test_polling_consumer_waits_half_the_period():
    # Low load (1 msg/s, 10 ms service) and a poll every T = 1 s; prefetch=100 so each poll takes
    # everything there. 20,000 messages: the wait (arrival to fetch) is Uniform(0, T), mean T/2 with a
    # standard error of 0.2%, checked to +-3%; the share of polls finding nothing is exp(-lambda T)
    # (about 20,000 polls, standard error 1%), checked to +-4%.
    period = 1.0
    result, (consumer,) = simulate(3, 1.0, 1, Deterministic(0.01), poll_interval=period, prefetch=100)
    assert result.summary["wait_mean"] == pytest.approx(theory.polling_delay_mean(period), rel=0.03)
    assert consumer.polls == pytest.approx(result.summary["sim_time"] / period, abs=1)
    empty = consumer.empty_polls / consumer.polls
    assert empty == pytest.approx(theory.polling_empty_fraction(1.0, period), rel=0.04)


def test_push_consumer_does_not_wait_at_low_load():
    # The same traffic with push delivery: a message waits only if the consumer is busy, so the mean
    # wait is the M/D/1 value (about 0.05 ms here), hundreds of times less than polling's T/2.
    result, _ = simulate(3, 1.0, 1, Deterministic(0.01), messages=5_000)
    assert result.summary["wait_mean"] == pytest.approx(theory.md1(1.0, 0.01).wait_mean, rel=0.25)
    assert result.summary["wait_mean"] < 0.01 * theory.polling_delay_mean(1.0)


@pytest.mark.parametrize(("servers", "load", "service"), [
    (3, 2.0, Exponential(1.0)),
    (5, 4.0, Exponential(1.0)),
    (5, 4.0, Deterministic(1.0)),  # Erlang B does not depend on the service-time distribution
])
def test_queue_with_no_waiting_room_loses_like_erlang_b(servers, load, service):
    # capacity=0, overflow="drop_oldest" (RabbitMQ x-max-length=0, drop-head): a message goes straight
    # to a free consumer (prefetch 1) or is lost. 20,000 arrivals: the standard error of the loss share
    # is about 0.003, so 0.01 separates B(3, 2) = 0.211 from B(2, 2) = 0.400 and B(4, 2) = 0.095.
    result, _ = simulate(4, load, servers, service, capacity=0, overflow="drop_oldest")
    s = result.summary
    lost = s["dropped"] / s["to_handle"]
    assert lost == pytest.approx(theory.erlang_b(load, servers), abs=0.01)
    assert s["in_flight"] <= servers  # nothing waits: only the ones being processed
    assert result.timeseries()["q.depth"].max() == 0

"""Checks of eda_sim.theory against values worked out independently here.

Reference values come from textbook tables, from the direct factorial / stationary-distribution formulas
(a different computation from the recursions the module uses), from log-space sums for large server
counts, and from a seeded Lindley-recursion simulation of single-server queues.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eda_sim import theory
from eda_sim.theory import QueueMetrics

approx = pytest.approx


# ----------------------------------------------------------------------------- independent references


def erlang_b_direct(a: float, c: int) -> float:
    """Erlang B straight from its definition with factorials (fine for small c)."""
    terms = [a**k / math.factorial(k) for k in range(c + 1)]
    return terms[-1] / sum(terms)


def erlang_c_direct(a: float, c: int) -> float:
    """Erlang C straight from its definition with factorials (fine for small c)."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def erlang_c_logspace(a: float, c: int) -> float:
    """Erlang C from log-terms and a log-sum-exp, usable for c in the thousands."""
    logs = [k * math.log(a) - math.lgamma(k + 1) for k in range(c)]
    last = c * math.log(a) - math.lgamma(c + 1) + math.log(c / (c - a))
    logs.append(last)
    m = max(logs)
    return math.exp(last - m - math.log(sum(math.exp(x - m) for x in logs)))


def mm1k_blocking_direct(rho: float, k: int) -> float:
    """Normalise the M/M/1/K stationary distribution p_n ~ rho^n, n = 0..K, and read off p_K."""
    weights = [rho**n for n in range(k + 1)]
    return weights[-1] / sum(weights)


def lindley_waits(rng: np.random.Generator, arrival_rate: float, services: np.ndarray) -> np.ndarray:
    """Queueing delays of a FCFS single-server queue with Poisson arrivals: W' = max(0, W + S - A)."""
    gaps = rng.exponential(1.0 / arrival_rate, services.size)
    waits = np.empty(services.size)
    w = 0.0
    for i in range(services.size):
        waits[i] = w
        w = max(0.0, w + services[i] - gaps[i])
    return waits


FIELDS = ("utilisation", "wait_mean", "response_mean", "queue_mean", "system_mean", "p_wait")


def assert_little(m: QueueMetrics, arrival_rate: float) -> None:
    assert m.queue_mean == approx(arrival_rate * m.wait_mean, rel=1e-12)
    assert m.system_mean == approx(arrival_rate * m.response_mean, rel=1e-12)


def assert_same(a: QueueMetrics, b: QueueMetrics, rel: float = 1e-9) -> None:
    for field in FIELDS:
        assert getattr(a, field) == approx(getattr(b, field), rel=rel), field


# ----------------------------------------------------------------------------- Little's law


def test_littles_law_multiplies_rate_by_time():
    assert theory.littles_law(2.0, 3.0) == 6.0
    assert theory.littles_law(0.0, 5.0) == 0.0
    assert isinstance(theory.littles_law(2, 3), float)


# ----------------------------------------------------------------------------- M/M/1


def test_mm1_textbook_values():
    m = theory.mm1(0.8, 1.0)
    assert m.utilisation == approx(0.8)
    assert m.rho == m.utilisation
    assert m.wait_mean == approx(4.0)
    assert m.response_mean == approx(5.0)
    assert m.queue_mean == approx(3.2)
    assert m.system_mean == approx(4.0)
    assert m.p_wait == approx(0.8)


def test_mm1_scales_with_time_unit():
    # Same load in milliseconds: lambda = 0.8/ms, mu = 1/ms vs 800/s, 1000/s -> times x1000 apart.
    fast = theory.mm1(800.0, 1000.0)
    assert fast.wait_mean == approx(0.004)
    assert fast.response_mean == approx(0.005)
    assert fast.system_mean == approx(4.0)


def test_mm1_result_is_frozen_floats():
    m = theory.mm1(1, 2)
    assert all(isinstance(x, float) for x in vars(m).values())
    with pytest.raises(AttributeError):
        m.wait_mean = 0.0  # type: ignore[misc]


def test_mm1_matches_lindley_simulation():
    rng = np.random.default_rng(20240611)
    lam, mu = 0.5, 1.0
    waits = lindley_waits(rng, lam, rng.exponential(1.0 / mu, 200_000))[10_000:]
    m = theory.mm1(lam, mu)
    assert waits.mean() == approx(m.wait_mean, rel=0.05)  # 1.0
    assert (waits > 0).mean() == approx(m.p_wait, abs=0.01)  # 0.5


def test_mm1_response_quantile():
    lam, mu = 0.8, 1.0
    assert theory.mm1_response_quantile(lam, mu, 0.5) == approx(math.log(2) / 0.2)  # 3.4657
    assert theory.mm1_response_quantile(lam, mu, 0.99) == approx(23.02585, rel=1e-6)  # ln(100)/0.2
    assert theory.mm1_response_quantile(lam, mu, 0.0) == 0.0
    # An exponential's (1 - 1/e)-quantile equals its mean, which is W.
    mean_level = 1 - math.exp(-1)
    assert theory.mm1_response_quantile(lam, mu, mean_level) == approx(theory.mm1(lam, mu).response_mean)


# ----------------------------------------------------------------------------- Erlang B / C and M/M/c


def test_erlang_table_values():
    assert theory.erlang_b(2.0, 3) == approx(4 / 19, rel=1e-12)  # 0.2105
    assert theory.erlang_c(2.0, 3) == approx(4 / 9, rel=1e-12)  # 0.4444
    assert theory.erlang_b(2.0, 3) == approx(0.2105, abs=1e-4)
    assert theory.erlang_c(2.0, 3) == approx(0.4444, abs=1e-4)
    # Classic trunking-table entry: 10 erlangs on 15 lines blocks about 3.65% of calls.
    assert theory.erlang_b(10.0, 15) == approx(0.0365, abs=5e-5)
    assert theory.erlang_b(10.0, 15) == approx(erlang_b_direct(10.0, 15), rel=1e-12)
    assert theory.erlang_b(1.0, 1) == approx(0.5)
    assert theory.erlang_b(0.0, 4) == 0.0
    assert theory.erlang_c(0.0, 4) == 0.0


def test_mmc_textbook_values():
    # lambda = 2, mu = 1, c = 3: C = 4/9, Wq = C/(c mu - lambda) = 4/9, Lq = 8/9, L = Lq + 2.
    m = theory.mmc(2.0, 1.0, 3)
    assert m.utilisation == approx(2 / 3)
    assert m.p_wait == approx(4 / 9)
    assert m.wait_mean == approx(4 / 9)
    assert m.response_mean == approx(13 / 9)
    assert m.queue_mean == approx(8 / 9)
    assert m.system_mean == approx(26 / 9)
    assert_little(m, 2.0)


def test_mmc_with_one_server_is_mm1():
    for lam, mu in [(0.8, 1.0), (0.1, 3.0), (9.99, 10.0)]:
        assert_same(theory.mmc(lam, mu, 1), theory.mm1(lam, mu))


@pytest.mark.parametrize(("load", "servers"), [(490.0, 500), (450.0, 500), (999.0, 1000), (900.0, 1000)])
def test_erlang_c_large_server_counts_are_stable(load, servers):
    c = theory.erlang_c(load, servers)
    assert 0.0 < c < 1.0
    assert c == approx(erlang_c_logspace(load, servers), rel=1e-9)
    m = theory.mmc(load, 1.0, servers)
    assert m.wait_mean == approx(c / (servers - load), rel=1e-9)
    assert_little(m, load)


def test_mmc_large_c_pooling_beats_separate_queues():
    # 500 servers at 98% load: waits are tiny compared with 500 separate M/M/1 queues at the same load.
    pooled = theory.mmc(490.0, 1.0, 500)
    separate = theory.mm1(0.98, 1.0)
    assert math.isfinite(pooled.wait_mean)
    assert pooled.wait_mean < separate.wait_mean / 100


def test_mmc_wait_quantile():
    # lambda = 2, mu = 1, c = 3: P(Wq > t) = 4/9 exp(-t), so 5/9 of arrivals never wait.
    assert theory.mmc_wait_quantile(2.0, 1.0, 3, 0.5) == 0.0
    assert theory.mmc_wait_quantile(2.0, 1.0, 3, 0.555) == 0.0  # just below 1 - C = 0.5556
    assert theory.mmc_wait_quantile(2.0, 1.0, 3, 0.9) == approx(math.log(40 / 9))  # 1.4917
    assert theory.mmc_wait_quantile(2.0, 1.0, 3, 0.99) == approx(math.log(400 / 9))


def test_mmc_wait_quantile_one_server_matches_simulation():
    # M/M/1 queueing delay: P(Wq > t) = rho exp(-(mu - lambda) t); check the p90 against a simulation.
    rng = np.random.default_rng(7)
    lam, mu = 0.5, 1.0
    waits = lindley_waits(rng, lam, rng.exponential(1.0 / mu, 200_000))[10_000:]
    expected = theory.mmc_wait_quantile(lam, mu, 1, 0.9)
    assert expected == approx(math.log(0.5 / 0.1) / 0.5)  # 3.2189
    assert np.quantile(waits, 0.9) == approx(expected, rel=0.05)


# ----------------------------------------------------------------------------- M/D/1 and M/G/1


def test_md1_textbook_values():
    m = theory.md1(0.5, 1.0)  # rho = 0.5: Wq = 0.5/(2*0.5) = 0.5, Lq = rho^2/(2(1-rho)) = 0.25
    assert m.utilisation == approx(0.5)
    assert m.wait_mean == approx(0.5)
    assert m.response_mean == approx(1.5)
    assert m.queue_mean == approx(0.25)
    assert m.system_mean == approx(0.75)
    assert m.p_wait == approx(0.5)
    assert_little(m, 0.5)


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.8, 0.99])
def test_md1_waits_half_as_long_as_mm1(rho):
    assert theory.md1(rho, 1.0).wait_mean == approx(theory.mm1(rho, 1.0).wait_mean / 2, rel=1e-12)


def test_md1_matches_lindley_simulation():
    rng = np.random.default_rng(11)
    waits = lindley_waits(rng, 0.8, np.full(200_000, 1.0))[10_000:]
    assert waits.mean() == approx(theory.md1(0.8, 1.0).wait_mean, rel=0.05)  # 2.0


def test_mg1_special_cases_and_lognormal():
    assert_same(theory.mg1(0.8, 1.0, 1.0), theory.mm1(0.8, 1.0))
    assert_same(theory.mg1(0.8, 1.0, 0.0), theory.md1(0.8, 1.0))
    # Lognormal service with cv = 2 (cv^2 = 4) at rho = 0.5: Wq = 0.5 * 1 * 5 / (2 * 0.5) = 2.5.
    m = theory.mg1(0.5, 1.0, 4.0)
    assert m.wait_mean == approx(2.5)
    assert m.response_mean == approx(3.5)
    assert_little(m, 0.5)


def test_mg1_lognormal_matches_simulation():
    rng = np.random.default_rng(3)
    cv = 1.5
    s2 = math.log1p(cv**2)
    services = rng.lognormal(-s2 / 2, math.sqrt(s2), 400_000)  # mean 1
    waits = lindley_waits(rng, 0.5, services)[20_000:]
    assert waits.mean() == approx(theory.mg1(0.5, 1.0, cv**2).wait_mean, rel=0.08)  # 3.25


# ----------------------------------------------------------------------------- M/M/1/K


def test_mm1k_blocking_values():
    assert theory.mm1k_blocking(0.5, 1.0, 2) == approx(1 / 7)  # (0.5)(0.25)/(1 - 0.125)
    assert theory.mm1k_blocking(1.0, 1.0, 4) == approx(1 / 5)
    assert theory.mm1k_blocking(2.0, 1.0, 3) == approx(8 / 15)  # r = 1/2: (1/2)/(1 - 1/16)
    # Continuous through rho = 1.
    assert theory.mm1k_blocking(1.0 + 1e-9, 1.0, 4) == approx(0.2, rel=1e-6)
    assert theory.mm1k_blocking(1.0 - 1e-9, 1.0, 4) == approx(0.2, rel=1e-6)


def test_mm1k_blocking_large_buffers():
    # Overloaded: the buffer fills and the excess 1 - 1/rho is dropped; underloaded: drops vanish.
    assert theory.mm1k_blocking(2.0, 1.0, 10_000) == approx(0.5, rel=1e-12)
    assert theory.mm1k_blocking(1000.0, 1.0, 100_000) == approx(0.999, rel=1e-12)
    assert theory.mm1k_blocking(0.5, 1.0, 10_000) == 0.0


# ----------------------------------------------------------------------------- fan-out and polling


def test_fanout_tail_at_scale_number():
    assert theory.fanout_slow_probability(0.01, 100) == approx(1 - 0.99**100)
    assert theory.fanout_slow_probability(0.01, 100) == approx(0.634, abs=5e-4)
    assert theory.fanout_slow_probability(0.01, 1) == approx(0.01)
    assert theory.fanout_slow_probability(0.0, 50) == 0.0
    assert theory.fanout_slow_probability(1.0, 50) == 1.0
    assert isinstance(theory.fanout_slow_probability(0.01, 100), float)
    # Tiny p keeps its precision (naive 1 - (1-p)**n loses most digits here).
    assert theory.fanout_slow_probability(1e-12, 10) == approx(1e-11, rel=1e-9)


def test_fanout_is_vectorised_over_n():
    n = np.array([1, 10, 100, 1000])
    out = theory.fanout_slow_probability(0.01, n)
    assert isinstance(out, np.ndarray)
    assert out.shape == (4,)
    np.testing.assert_allclose(out, 1 - 0.99 ** n.astype(float), rtol=1e-12)
    np.testing.assert_allclose(theory.fanout_slow_probability(0.01, np.array([[1.0, 2.0]])),
                               [[0.01, 1 - 0.99**2]], rtol=1e-12)


def test_fanout_latency_quantile_exponential_leaves():
    # Max of n Exp(mean 1): CDF (1 - e^-x)^n, so the q-quantile is -ln(1 - q^(1/n)).
    def exp_leaf(u):
        return -math.log1p(-u)

    assert theory.fanout_latency_quantile(exp_leaf, 1, 0.99) == approx(math.log(100))
    x = theory.fanout_latency_quantile(exp_leaf, 2, 0.9)
    assert (1 - math.exp(-x)) ** 2 == approx(0.9)
    # p99 of the slowest of 100 leaves is each leaf's p99.99 (to within rounding of 0.99**(1/100)).
    assert theory.fanout_latency_quantile(exp_leaf, 100, 0.99) == approx(exp_leaf(0.99**0.01))
    assert theory.fanout_latency_quantile(exp_leaf, 100, 0.99) == approx(-math.log(1e-4), rel=1e-3)


def test_polling():
    assert theory.polling_delay_mean(2.0) == 1.0
    assert theory.polling_delay_quantile(2.0, 0.99) == approx(1.98)
    assert theory.polling_delay_quantile(2.0, 0.0) == 0.0
    assert theory.polling_empty_fraction(2.0, 0.5) == approx(math.exp(-1))  # 0.3679
    assert theory.polling_empty_fraction(0.0, 0.5) == 1.0


def test_polling_delay_matches_uniform_sample():
    rng = np.random.default_rng(5)
    period = 3.0
    events = rng.uniform(0, 1000 * period, 100_000)
    delays = np.ceil(events / period) * period - events
    assert delays.mean() == approx(theory.polling_delay_mean(period), rel=0.01)
    assert np.quantile(delays, 0.9) == approx(theory.polling_delay_quantile(period, 0.9), rel=0.01)


# ----------------------------------------------------------------------------- Hypothesis properties

loads = st.floats(min_value=0.01, max_value=40.0, allow_nan=False)
small_c = st.integers(min_value=1, max_value=40)
fractions_open = st.floats(min_value=0.0, max_value=0.999999)


@given(a=loads, c=small_c)
def test_erlang_recursions_match_factorial_formulas(a, c):
    assert theory.erlang_b(a, c) == approx(erlang_b_direct(a, c), rel=1e-9, abs=1e-300)
    if a < c:
        assert theory.erlang_c(a, c) == approx(erlang_c_direct(a, c), rel=1e-9, abs=1e-300)


@given(a=loads, c=st.integers(min_value=1, max_value=300))
def test_erlang_c_lies_between_erlang_b_and_one(a, c):
    if a >= c:
        return
    b, cc = theory.erlang_b(a, c), theory.erlang_c(a, c)
    assert 0.0 <= b <= cc <= 1.0


@given(a=loads, c=st.integers(min_value=1, max_value=300))
def test_erlang_b_decreases_with_more_servers(a, c):
    assert theory.erlang_b(a, c + 1) <= theory.erlang_b(a, c)


@given(lam=st.floats(min_value=0.05, max_value=20.0), mu=st.floats(min_value=0.5, max_value=5.0),
       extra=st.integers(min_value=0, max_value=30))
def test_wait_decreases_with_more_servers(lam, mu, extra):
    c = math.floor(lam / mu) + 1 + extra  # smallest stable count, plus some
    fewer, more = theory.mmc(lam, mu, c), theory.mmc(lam, mu, c + 1)
    assert more.wait_mean <= fewer.wait_mean
    assert more.response_mean <= fewer.response_mean
    assert more.p_wait <= fewer.p_wait


@given(lam=st.floats(min_value=0.01, max_value=50.0), mu=st.floats(min_value=0.01, max_value=50.0),
       c=st.integers(min_value=1, max_value=200))
def test_every_queue_result_obeys_littles_law(lam, mu, c):
    if lam / (c * mu) >= 0.999:
        return
    results = [theory.mmc(lam, mu, c)]
    if lam < mu * 0.999:
        results += [theory.mm1(lam, mu), theory.md1(lam, 1 / mu), theory.mg1(lam, 1 / mu, 2.5)]
    for m in results:
        assert m.queue_mean == approx(theory.littles_law(lam, m.wait_mean), rel=1e-12)
        assert m.system_mean == approx(theory.littles_law(lam, m.response_mean), rel=1e-12)
        assert m.response_mean == approx(m.wait_mean + 1 / mu, rel=1e-12)
        assert 0.0 <= m.p_wait <= 1.0
        assert 0.0 < m.utilisation < 1.0


@given(rho=st.floats(min_value=0.05, max_value=5.0), k=st.integers(min_value=1, max_value=50))
def test_mm1k_blocking_matches_stationary_distribution(rho, k):
    assert theory.mm1k_blocking(rho, 1.0, k) == approx(mm1k_blocking_direct(rho, k), rel=1e-9)


@given(lam=st.floats(min_value=0.01, max_value=100.0), mu=st.floats(min_value=0.01, max_value=100.0))
def test_mm1k_with_room_for_one_is_erlang_b_with_one_server(lam, mu):
    assert theory.mm1k_blocking(lam, mu, 1) == approx(theory.erlang_b(lam / mu, 1), rel=1e-12)


@given(rho=st.floats(min_value=0.05, max_value=5.0), k=st.integers(min_value=1, max_value=500))
def test_mm1k_blocking_shrinks_with_bigger_buffers(rho, k):
    bigger, smaller = theory.mm1k_blocking(rho, 1.0, k + 1), theory.mm1k_blocking(rho, 1.0, k)
    assert bigger <= smaller * (1 + 1e-12)
    assert bigger >= max(0.0, 1 - 1 / rho) * (1 - 1e-12)  # never below the overload floor


@given(p=st.floats(min_value=0.0, max_value=1.0), n=st.integers(min_value=1, max_value=10_000))
def test_fanout_probability_is_monotone_in_n(p, n):
    lo, hi = theory.fanout_slow_probability(p, n), theory.fanout_slow_probability(p, n + 1)
    assert p - 1e-15 <= lo <= hi <= 1.0
    assert lo == approx(1 - (1 - p) ** n, abs=1e-12)


@given(lam=st.floats(min_value=0.01, max_value=10.0), gap=st.floats(min_value=0.01, max_value=10.0),
       q=fractions_open)
def test_mm1_quantile_inverts_exponential_cdf(lam, gap, q):
    t = theory.mm1_response_quantile(lam, lam + gap, q)
    assert -math.expm1(-gap * t) == approx(q, abs=1e-9)


@given(lam=st.floats(min_value=0.05, max_value=20.0), mu=st.floats(min_value=0.5, max_value=5.0),
       extra=st.integers(min_value=0, max_value=20), q=fractions_open)
def test_mmc_wait_quantile_inverts_its_cdf(lam, mu, extra, q):
    c = math.floor(lam / mu) + 1 + extra
    t = theory.mmc_wait_quantile(lam, mu, c, q)
    p_wait = theory.erlang_c(lam / mu, c)
    assert t >= 0.0
    if q > 1 - p_wait + 1e-12:
        assert 1 - p_wait * math.exp(-(c * mu - lam) * t) == approx(q, abs=1e-9)
    else:
        assert t == 0.0


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: theory.mmc(1.0, 1.0, 0), r"servers must be an integer in \[1, ∞\), got 0"),
        (lambda: theory.mmc(1.0, 1.0, 2.5), r"servers .*got 2\.5"),
        (lambda: theory.erlang_b(1.0, 0), r"servers"),
        (lambda: theory.erlang_c(-1.0, 3), r"offered_load_erlangs must be in \[0, ∞\), got -1\.0"),
        (lambda: theory.mm1(-0.5, 1.0), r"arrival_rate must be in \(0, ∞\), got -0\.5"),
        (lambda: theory.mm1(0.5, 0.0), r"service_rate .*got 0\.0"),
        (lambda: theory.mm1(float("nan"), 1.0), r"arrival_rate must be a finite number"),
        (lambda: theory.mm1(True, 1.0), r"arrival_rate .*got True"),
        (lambda: theory.mm1("0.5", 1.0), r"arrival_rate .*got '0\.5'"),
        (lambda: theory.md1(0.5, -1.0), r"service_time"),
        (lambda: theory.mg1(0.5, 1.0, -0.1), r"service_cv2 must be in \[0, ∞\), got -0\.1"),
        (lambda: theory.mm1k_blocking(1.0, 1.0, 0), r"capacity must be an integer in \[1, ∞\), got 0"),
        (lambda: theory.fanout_slow_probability(1.5, 10), r"p_slow must be in \[0, 1\], got 1\.5"),
        (lambda: theory.fanout_slow_probability(0.1, 0), r"n must be an integer in \[1, ∞\), got 0"),
        (lambda: theory.fanout_slow_probability(0.1, np.array([3, 0, 2])), r"n must be an integer.*got 0"),
        (lambda: theory.fanout_slow_probability(0.1, np.array([1.0, 2.5])), r"n .*got 2\.5"),
        (lambda: theory.fanout_slow_probability(0.1, np.array([1.0, np.nan])), r"n .*got nan"),
        (lambda: theory.fanout_slow_probability(0.1, np.array([True])), r"n .*got True"),
        (lambda: theory.fanout_latency_quantile(abs, 0, 0.5), r"n must be an integer"),
        (lambda: theory.fanout_latency_quantile(abs, 2, 1.0), r"q must be in \[0, 1\), got 1\.0"),
        (lambda: theory.polling_delay_mean(0.0), r"period must be in \(0, ∞\), got 0\.0"),
        (lambda: theory.polling_delay_quantile(1.0, 1.2), r"q must be in \[0, 1\], got 1\.2"),
        (lambda: theory.polling_empty_fraction(-1.0, 1.0), r"arrival_rate"),
        (lambda: theory.littles_law(1.0, -2.0), r"time_in_system must be in \[0, ∞\), got -2\.0"),
        (lambda: theory.mm1_response_quantile(0.5, 1.0, 1.0), r"q must be in \[0, 1\), got 1\.0"),
        (lambda: theory.mmc_wait_quantile(0.5, 1.0, 0, 0.5), r"servers"),
        (lambda: theory.mmc_wait_quantile(0.5, 1.0, 1, -0.1), r"q must be in \[0, 1\)"),
    ],
)
def test_bad_inputs_name_the_parameter_value_and_range(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


@pytest.mark.parametrize(
    ("call", "names"),
    [
        (lambda: theory.mm1(1.0, 1.0), ("arrival_rate=1.0", "service_rate=1.0")),
        (lambda: theory.mm1(2.0, 1.0), ("arrival_rate=2.0", "service_rate=1.0")),
        (lambda: theory.mmc(3.0, 1.0, 3), ("arrival_rate=3.0", "servers=3")),
        (lambda: theory.mmc(700.0, 1.0, 500), ("arrival_rate=700.0", "servers=500")),
        (lambda: theory.erlang_c(3.0, 2), ("offered_load_erlangs=3.0", "servers=2")),
        (lambda: theory.md1(1.0, 1.5), ("arrival_rate=1.0", "service_time=1.5")),
        (lambda: theory.mg1(1.0, 1.0, 2.0), ("arrival_rate=1.0", "service_mean=1.0")),
        (lambda: theory.mm1_response_quantile(1.0, 0.5, 0.5), ("arrival_rate=1.0", "service_rate=0.5")),
        (lambda: theory.mmc_wait_quantile(4.0, 1.0, 2, 0.5), ("arrival_rate=4.0", "servers=2")),
    ],
)
def test_unstable_queues_are_rejected(call, names):
    with pytest.raises(ValueError, match=r"unstable.*rho must be < 1") as info:
        call()
    for name in names:
        assert name in str(info.value)


def test_fanout_latency_quantile_rejects_non_callable():
    with pytest.raises(TypeError, match="leaf_quantile"):
        theory.fanout_latency_quantile(0.5, 2, 0.5)


def test_integral_floats_are_accepted_as_counts():
    assert theory.mmc(2.0, 1.0, 3.0) == theory.mmc(2.0, 1.0, 3)
    assert theory.fanout_slow_probability(0.01, 100.0) == theory.fanout_slow_probability(0.01, 100)

"""Closed-form queueing and tail-latency results to draw on top of simulated curves.

A simulation is only trusted once it reproduces the cases theory can solve exactly, so every chart that
sweeps load, servers, fan-out or polling period can overlay one of these functions. All rates are per unit
of time and all times are in that same unit; every public function validates its inputs with
``eda_sim.validate`` and raises ``ValueError`` naming the offending parameter and its allowed range.

General references:
    L. Kleinrock, *Queueing Systems, Volume 1: Theory*, Wiley, 1975.
    M. Harchol-Balter, *Performance Modeling and Design of Computer Systems*, CUP, 2013.
    D. Gross, J. Shortle, J. Thompson, C. Harris, *Fundamentals of Queueing Theory*, 4th ed., Wiley, 2008.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import validate as v


@dataclass(frozen=True)
class QueueMetrics:
    """Steady-state averages of a stable queue with Poisson arrivals.

    utilisation   rho  fraction of time each server is busy (lambda / (c mu))
    wait_mean     Wq   mean time an arrival spends queued before its service starts
    response_mean W    mean time in system, Wq plus the mean service time
    queue_mean    Lq   mean number waiting (not in service), = lambda Wq by Little's law
    system_mean   L    mean number in the system, = lambda W by Little's law
    p_wait             probability an arrival has to wait at all (Erlang C; rho for one server)
    """

    utilisation: float
    wait_mean: float
    response_mean: float
    queue_mean: float
    system_mean: float
    p_wait: float

    @property
    def rho(self) -> float:
        """Alias for ``utilisation``, the symbol used in textbooks."""
        return self.utilisation


def littles_law(arrival_rate, time_in_system) -> float:
    """Mean number in a system, L = lambda W.

    Holds for any stable system in steady state whatever the arrival and service distributions, which is
    why it is the first sanity check on a simulation. J. D. C. Little, "A Proof for the Queuing Formula
    L = lambda W", Operations Research 9(3), 1961.
    """
    lam = v.non_negative("arrival_rate", arrival_rate)
    w = v.non_negative("time_in_system", time_in_system)
    return lam * w


def _require_stable(rho: float, detail: str) -> None:
    if rho >= 1.0:
        raise ValueError(f"queue is unstable: {detail} give rho = {rho:g}; rho must be < 1")


def _from_wait(lam: float, rho: float, wq: float, service_mean: float, p_wait: float) -> QueueMetrics:
    w = wq + service_mean
    return QueueMetrics(utilisation=rho, wait_mean=wq, response_mean=w,
                        queue_mean=lam * wq, system_mean=lam * w, p_wait=p_wait)


def mm1(arrival_rate, service_rate) -> QueueMetrics:
    """M/M/1: Poisson arrivals, exponential service, one server.

    rho = lambda/mu, W = 1/(mu - lambda), Wq = rho/(mu - lambda), P(wait) = rho. The baseline every
    request/response hop is compared against (Kleinrock 1975, section 3.2).
    """
    lam = v.positive("arrival_rate", arrival_rate)
    mu = v.positive("service_rate", service_rate)
    rho = lam / mu
    _require_stable(rho, f"arrival_rate={arrival_rate!r} and service_rate={service_rate!r}")
    wq = rho / (mu - lam)
    return _from_wait(lam, rho, wq, 1.0 / mu, rho)


def erlang_b(offered_load_erlangs, servers) -> float:
    """Erlang B: probability an arrival finds all ``servers`` busy and is lost (M/M/c/c).

    B(A, c) = (A^c/c!) / sum_{k=0..c} A^k/k!, computed with the recursion B(A, 0) = 1,
    B(A, k) = A B(A, k-1) / (k + A B(A, k-1)), which stays in [0, 1] and so never overflows, unlike the
    factorials. A. K. Erlang, 1917; the recursion is standard (e.g. Gross et al. 2008, section 2.5).
    """
    a = v.non_negative("offered_load_erlangs", offered_load_erlangs)
    c = v.integer("servers", servers, lo=1)
    return _erlang_b(a, c)


def _erlang_b(a: float, c: int) -> float:
    b = 1.0
    for k in range(1, c + 1):
        ab = a * b
        b = ab / (k + ab)
    return b


def erlang_c(offered_load_erlangs, servers) -> float:
    """Erlang C: probability an arrival to an M/M/c queue has to wait.

    C(A, c) = c B / (c - A (1 - B)) with B = Erlang B(A, c), which is the numerically stable form of
    (A^c/c!)(c/(c-A)) / (sum_{k<c} A^k/k! + (A^c/c!)(c/(c-A))) (Gross et al. 2008, section 2.3).
    Needs A < c, otherwise the queue grows without bound.
    """
    a = v.non_negative("offered_load_erlangs", offered_load_erlangs)
    c = v.integer("servers", servers, lo=1)
    _require_stable(a / c, f"offered_load_erlangs={offered_load_erlangs!r} and servers={servers!r}")
    return _erlang_c(a, c)


def _erlang_c(a: float, c: int) -> float:
    b = _erlang_b(a, c)
    return c * b / (c - a * (1.0 - b))


def mmc(arrival_rate, service_rate, servers) -> QueueMetrics:
    """M/M/c: Poisson arrivals, exponential service, ``servers`` identical servers sharing one queue.

    A = lambda/mu, rho = A/c, P(wait) = C(A, c) (Erlang C), Wq = C / (c mu - lambda), W = Wq + 1/mu.
    Models a consumer group reading one topic, or a worker pool behind a load balancer
    (Kleinrock 1975, section 3.5). Stable for servers in the thousands.
    """
    lam = v.positive("arrival_rate", arrival_rate)
    mu = v.positive("service_rate", service_rate)
    c = v.integer("servers", servers, lo=1)
    a = lam / mu
    rho = a / c
    _require_stable(rho, f"arrival_rate={arrival_rate!r}, service_rate={service_rate!r} "
                         f"and servers={servers!r}")
    p_wait = _erlang_c(a, c)
    wq = p_wait / (c * mu - lam)
    return _from_wait(lam, rho, wq, 1.0 / mu, p_wait)


def mg1(arrival_rate, service_mean, service_cv2) -> QueueMetrics:
    """M/G/1 by the Pollaczek-Khinchine formula: Wq = rho S (1 + cv^2) / (2 (1 - rho)).

    S is the mean service time and cv^2 = Var(S)/S^2 its squared coefficient of variation, so only the
    first two moments of service matter: cv^2 = 1 gives M/M/1, 0 gives M/D/1, and a lognormal with
    coefficient of variation cv uses cv^2. P(wait) = rho because Poisson arrivals see time averages
    (Kleinrock 1975, section 5.6; Harchol-Balter 2013, chapter 23).
    """
    lam = v.positive("arrival_rate", arrival_rate)
    s = v.positive("service_mean", service_mean)
    cv2 = v.non_negative("service_cv2", service_cv2)
    rho = lam * s
    _require_stable(rho, f"arrival_rate={arrival_rate!r} and service_mean={service_mean!r}")
    wq = rho * s * (1.0 + cv2) / (2.0 * (1.0 - rho))
    return _from_wait(lam, rho, wq, s, rho)


def md1(arrival_rate, service_time) -> QueueMetrics:
    """M/D/1: Poisson arrivals, constant service time S; P-K with cv^2 = 0, Wq = rho S / (2 (1 - rho)).

    Half the M/M/1 queueing delay at the same load, showing how much of queueing comes from service
    variability alone (Kleinrock 1975, section 5.6).
    """
    lam = v.positive("arrival_rate", arrival_rate)
    s = v.positive("service_time", service_time)
    rho = lam * s
    _require_stable(rho, f"arrival_rate={arrival_rate!r} and service_time={service_time!r}")
    wq = rho * s / (2.0 * (1.0 - rho))
    return _from_wait(lam, rho, wq, s, rho)


def mm1k_blocking(arrival_rate, service_rate, capacity) -> float:
    """Probability an arrival is dropped by an M/M/1/K queue, K = ``capacity`` including the one in service.

    P_K = (1 - rho) rho^K / (1 - rho^(K+1)), and 1/(K+1) at rho = 1 (Gross et al. 2008, section 2.5).
    Models a bounded buffer that drops on overflow; unlike M/M/1 it is defined for any rho. For rho > 1
    the same value is computed as (1 - r)/(1 - r^(K+1)) with r = 1/rho so that rho^K never overflows.
    """
    lam = v.positive("arrival_rate", arrival_rate)
    mu = v.positive("service_rate", service_rate)
    k = v.integer("capacity", capacity, lo=1)
    rho = lam / mu
    if rho == 1.0:
        return 1.0 / (k + 1)
    if rho < 1.0:
        return (1.0 - rho) * rho**k / -math.expm1((k + 1) * math.log(rho))
    r = mu / lam
    return (1.0 - r) / -math.expm1((k + 1) * math.log(r))


def _fanout_sizes(n) -> np.ndarray:
    """``n`` as a float array after checking every element is an integer >= 1."""
    arr = np.asarray(n)
    if arr.dtype.kind in "iu":
        ok = arr >= 1
    elif arr.dtype.kind == "f":
        ok = np.isfinite(arr) & (arr >= 1) & (arr == np.floor(arr))
    else:  # bool, object, strings...: let the shared helper word the error for the first bad element
        for item in arr.flat:
            v.integer("n", item.item() if isinstance(item, np.generic) else item, lo=1)
        ok = np.ones(arr.shape, dtype=bool)
    if not np.all(ok):
        v.integer("n", arr[~ok].flat[0].item(), lo=1)
    return arr.astype(np.float64)


def fanout_slow_probability(p_slow, n):
    """Probability that a request fanned out to ``n`` backends waits for at least one slow reply.

    1 - (1 - p)^n, computed as -expm1(n log1p(-p)) so tiny p keeps its precision. With p = 1% and n = 100
    63% of requests are slow: J. Dean and L. A. Barroso, "The Tail at Scale", CACM 56(2), 2013.
    ``n`` may be an int or a numpy array of ints (vectorised); returns a float or a float array to match.
    """
    p = v.fraction("p_slow", p_slow)
    sizes = _fanout_sizes(n)
    with np.errstate(divide="ignore"):
        out = -np.expm1(sizes * np.log1p(-p))
    return float(out) if out.ndim == 0 else out


def fanout_latency_quantile(leaf_quantile: Callable[[float], float], n, q) -> float:
    """q-quantile of the slowest of ``n`` independent, identically distributed backend latencies.

    The maximum has CDF F^n, so its q-quantile is the leaf's q^(1/n)-quantile: waiting for all of 100
    leaves at p99 means waiting for each leaf's p99.99 (Dean & Barroso 2013). ``leaf_quantile`` maps a
    probability in [0, 1) to a leaf latency, e.g. ``lambda u: -mean * math.log1p(-u)`` for exponential.
    """
    if not callable(leaf_quantile):
        raise TypeError(f"leaf_quantile must be a callable taking a probability, got {leaf_quantile!r}")
    k = v.integer("n", n, lo=1)
    qq = v.number("q", q, 0.0, 1.0, hi_open=True)
    return float(leaf_quantile(qq ** (1.0 / k)))


def polling_delay_mean(period) -> float:
    """Mean delay between an event and a fixed-period poller noticing it: T/2.

    An event at a random instant lands uniformly within the polling interval, so the detection delay is
    Uniform(0, T) (the inspection paradox does not apply: the period is fixed). Compare with push, whose
    detection delay is only the delivery latency.
    """
    t = v.positive("period", period)
    return t / 2.0


def polling_delay_quantile(period, q) -> float:
    """q-quantile of the polling detection delay, which is Uniform(0, T): qT (so p99 is 0.99 T)."""
    t = v.positive("period", period)
    qq = v.fraction("q", q)
    return qq * t


def polling_empty_fraction(arrival_rate, period) -> float:
    """Fraction of polls that find nothing new when events arrive as a Poisson process: exp(-lambda T).

    The number of arrivals in a period is Poisson(lambda T) and this is its probability of zero: the
    wasted work of polling at low traffic.
    """
    lam = v.non_negative("arrival_rate", arrival_rate)
    t = v.positive("period", period)
    return math.exp(-lam * t)


def mm1_response_quantile(arrival_rate, service_rate, q) -> float:
    """q-quantile of M/M/1 FCFS response time: -ln(1 - q) / (mu - lambda).

    The time in system of an M/M/1 FCFS queue is exponential with rate mu - lambda (Kleinrock 1975,
    section 3.2; Harchol-Balter 2013, section 14.4), so p99 is ln(100) ~ 4.6 times the mean.
    """
    lam = v.positive("arrival_rate", arrival_rate)
    mu = v.positive("service_rate", service_rate)
    qq = v.number("q", q, 0.0, 1.0, hi_open=True)
    _require_stable(lam / mu, f"arrival_rate={arrival_rate!r} and service_rate={service_rate!r}")
    return -math.log1p(-qq) / (mu - lam)


def mmc_wait_quantile(arrival_rate, service_rate, servers, q) -> float:
    """q-quantile of the M/M/c FCFS time spent queued before service.

    P(Wq > t) = C exp(-(c mu - lambda) t) with C the Erlang C probability, so the quantile is
    ln(C / (1 - q)) / (c mu - lambda), and 0 when q <= 1 - C because that share of arrivals never waits
    (Gross et al. 2008, section 2.3).
    """
    lam = v.positive("arrival_rate", arrival_rate)
    mu = v.positive("service_rate", service_rate)
    c = v.integer("servers", servers, lo=1)
    qq = v.number("q", q, 0.0, 1.0, hi_open=True)
    a = lam / mu
    _require_stable(a / c, f"arrival_rate={arrival_rate!r}, service_rate={service_rate!r} "
                           f"and servers={servers!r}")
    p_wait = _erlang_c(a, c)
    tail = 1.0 - qq
    if tail >= p_wait:
        return 0.0
    return math.log(p_wait / tail) / (c * mu - lam)


def outage_drain_time(arrival_rate, service_rate, servers, outage) -> float:
    """Seconds after an outage of ``outage`` s until its backlog is worked off: lambda D / (c mu - lambda).

    Fluid approximation: while the ``servers`` consumers are down, work piles up at lambda per second;
    afterwards it shrinks at the spare capacity c mu - lambda. Returns ``math.inf`` when there is no
    spare capacity (c mu <= lambda): the backlog never drains. A consumer group near saturation takes
    many outage-lengths to catch up (at 90% load, nine).
    """
    lam = v.positive("arrival_rate", arrival_rate)
    mu = v.positive("service_rate", service_rate)
    c = v.integer("servers", servers, lo=1)
    d = v.non_negative("outage", outage)
    spare = c * mu - lam
    return lam * d / spare if spare > 0 else math.inf


def outage_backlog(t, arrival_rate, service_rate, servers, start, end):
    """Fluid backlog at times ``t`` (array or float) for consumers down from ``start`` to ``end``.

    0 before the outage, lambda (t - start) during it, then falling at c mu - lambda until empty (or
    growing at lambda - c mu when the consumers cannot keep up). Ignores the small queue of normal times.
    """
    lam = v.positive("arrival_rate", arrival_rate)
    mu = v.positive("service_rate", service_rate)
    c = v.integer("servers", servers, lo=1)
    s, e = v.window("outage", start, end)
    tt = np.asarray(t, dtype=float)
    during = lam * np.clip(tt - s, 0.0, e - s)
    after = np.clip(tt - e, 0.0, None)
    out = np.maximum(during - (c * mu - lam) * after, 0.0)
    return float(out) if out.ndim == 0 else out

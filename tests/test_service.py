"""Services, worker pools, downstream calls and clients: exact small cases, bounds, properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eda_sim import (
    ConstantRate,
    Crash,
    Database,
    Deterministic,
    Down,
    Exponential,
    FailFraction,
    Limits,
    Poisson,
    Producer,
    Slow,
    System,
    Topic,
    consumers,
)
from eda_sim.resilience import BreakerConfig, Call, RetryBudget, RetryPolicy
from eda_sim.service import Client, Downstream, Service, request_records, service_records

RR_KEYS = ("ok", "errors", "timeouts", "rejected", "breaker_open", "attempts_mean", "retries", "hedges",
           "budget_denied", "breaker_transitions", "calls", "amplification", "offered", "goodput",
           "queue_wait_mean", "wasted")


def burst(system, client, n: int) -> None:
    """n requests at (almost) the same instant: 1 microsecond apart, the first at 1 us."""
    Producer(system, ConstantRate(rate=1e6), client, limit=n)


def test_a_single_service_answers_after_its_service_time():
    system = System(seed=1)
    Service(system, "s", workers=1, service=Deterministic(0.5))
    client = Client(system, "s")
    Producer(system, ConstantRate(rate=1.0), client)
    r = system.run(100.75)
    s = r.summary
    assert s["produced"] == 100 and s["ok"] == 100 and s["completed"] == 100
    assert s["latency_mean"] == pytest.approx(0.5) and s["latency_max"] == pytest.approx(0.5)
    assert s["accept_mean"] == pytest.approx(0.5)  # the client waits for the whole answer
    assert s["utilisation"] == pytest.approx(50 / 100.75)
    assert s["amplification"] == 1 and s["attempts_mean"] == 1 and s["queue_wait_mean"] == 0
    for key in RR_KEYS:
        assert key in s


def test_fifo_queue_and_queue_limit_reject_the_overflow():
    system = System(seed=1)
    Service(system, "s", workers=2, service=Deterministic(1.0), queue_limit=3)
    client = Client(system, "s")
    burst(system, client, 10)
    r = system.run(10)
    rows = request_records(r)
    assert list(rows["outcome"]) == ["ok"] * 5 + ["rejected"] * 5
    # Two start at once, the next three wait one and two service times, in arrival order.
    assert np.allclose(rows["answered"][:5], [1, 1, 2, 2, 3], atol=1e-4)
    assert r.summary["rejected"] == 5 and r.summary["dropped"] == 5
    svc = service_records(r).iloc[0]
    assert svc["rejected"] == 5 and svc["calls"] == 10
    assert svc["queue_wait_mean"] == pytest.approx((0 + 0 + 1 + 1 + 2) / 5, abs=1e-4)


def test_a_request_holds_its_worker_while_it_waits_downstream():
    system = System(seed=1)
    Service(system, "slow", workers=10, service=Deterministic(1.0))
    Service(system, "front", workers=1, service=Deterministic(0.0), downstream=Downstream(calls=("slow",)))
    client = Client(system, "front")
    burst(system, client, 3)
    r = system.run(10)
    # front's single worker is held for the whole downstream call: the requests go one at a time.
    assert np.allclose(request_records(r)["latency"], [1, 2, 3], atol=1e-4)
    front = service_records(r).set_index("service").loc["front"]
    assert front["utilisation"] == pytest.approx(0.3, abs=1e-4)  # held for 3 of 10 s


def test_faults_apply_to_services():
    def run(fault, when_down="error"):
        system = System(seed=3)
        Service(system, "s", workers=2, service=Deterministic(0.2), when_down=when_down)
        client = Client(system, "s")
        Producer(system, ConstantRate(rate=2.0), client)
        system.inject(fault)
        r = system.run(20.3)
        return r, request_records(r).set_index("created")

    r, rows = run(Slow(target="s", start=5.0, end=10.0, factor=3.0))
    assert rows.loc[6.0, "latency"] == pytest.approx(0.6) and rows.loc[12.0, "latency"] == pytest.approx(0.2)
    r, rows = run(FailFraction(target="s", start=5.0, end=10.0, fraction=1.0))
    assert r.summary["errors"] == 10 and (rows.loc[5.0:9.9, "outcome"] == "error").all()
    r, rows = run(Down(target="s", start=5.0, end=10.0))
    assert r.summary["errors"] == 10 and rows.loc[5.0, "latency"] == 0.0  # refused at once
    r, rows = run(Down(target="s", start=5.0, end=10.0), when_down="hang")
    assert r.summary["errors"] == 0 and r.summary["ok"] == r.summary["produced"]
    assert rows.loc[5.0, "answered"] == pytest.approx(10.2)  # waited for the service to come back
    assert rows.loc[9.5, "answered"] == pytest.approx(11.0)  # two workers drain ten waiting calls in 1 s
    r, rows = run(Crash(target="s", start=5.0, end=10.0))
    assert r.summary["errors"] == 10


def test_queued_calls_fail_when_the_service_goes_down():
    system = System(seed=1)
    Service(system, "s", workers=1, service=Deterministic(1.0))
    client = Client(system, "s")
    burst(system, client, 4)
    system.inject(Down(target="s", start=0.5, end=5.0))
    r = system.run(10)
    # The call in progress fails when its service time ends (1.0); the three waiting fail at 0.5.
    rows = request_records(r)
    assert list(rows["outcome"]) == ["error"] * 4
    assert np.allclose(rows["answered"], [1.0, 0.5, 0.5, 0.5], atol=1e-4)


def test_database_queries_are_made_and_failures_fail_the_call():
    system = System(seed=1)
    db = Database(system, "db", connections=2, query_time=Deterministic(0.01))
    Service(system, "s", workers=4, service=Deterministic(0.01), db=db, reads=2, writes=1)
    client = Client(system, "s")
    Producer(system, ConstantRate(rate=10), client)
    system.inject(Down(target="db", start=5.0, end=10.0))
    s = system.run(20).summary
    assert s["db_reads"] == 2 * s["ok"] and s["db_writes"] == s["ok"]
    assert s["errors"] == pytest.approx(50, abs=1)
    assert s["latency_max"] == pytest.approx(0.04)


def test_timeseries_holds_the_service_and_client_gauges():
    system = System(seed=2, sample_every=1.0)
    Service(system, "s", workers=2, service=Exponential(0.1))
    client = Client(system, "s")
    Producer(system, Poisson(rate=10), client)
    ts = system.run(200).timeseries()
    for col in ("s.queue", "s.busy", "client.offered", "client.sent", "client.goodput"):
        assert col in ts.columns
    assert ts["s.busy"].max() <= 2
    late = ts[ts["time"] >= 10]
    assert late["client.offered"].mean() == pytest.approx(10, rel=0.1)
    assert late["client.goodput"].mean() == pytest.approx(10, rel=0.1)
    assert late["s.busy"].mean() == pytest.approx(1.0, rel=0.15)  # offered load 10 x 0.1 s


def test_common_random_numbers_with_eda_consumers():
    """Request i's billing time in R/R equals message i's billing time in EDA."""
    dist = Exponential(0.05)
    rr = System(seed=11)
    Service(rr, "billing", workers=50, service=dist)
    client = Client(rr, "billing")
    Producer(rr, Poisson(rate=5), client)
    rr_rows = request_records(rr.run(60))
    eda = System(seed=11)
    topic = Topic(eda, "orders")
    consumers(eda, topic.subscribe("billing"), 50, service=dist)
    Producer(eda, Poisson(rate=5), topic)
    eda_rows = eda.run(60).records()
    n = min(len(rr_rows), len(eda_rows)) - 5
    assert n > 250
    assert np.allclose(rr_rows["latency"][:n], eda_rows["latency"][:n], rtol=0, atol=1e-12)


def test_same_seed_same_summary_other_seed_other_summary():
    def run(seed):
        system = System(seed)
        Service(system, "b", workers=2, service=Exponential(0.05))
        Service(system, "a", workers=3, service=Exponential(0.02),
                downstream=Downstream(calls=(Call(target="b", timeout=0.2),)))
        client = Client(system, Call(target="a", timeout=0.5,
                                     retry=RetryPolicy(backoff="full_jitter", max_attempts=3, base=0.05)))
        Producer(system, Poisson(rate=40), client)
        system.inject(Slow(target="b", start=20, end=30, factor=4))
        return system.run(60).summary

    assert same(run(1), run(1))
    assert run(1)["latency_mean"] != run(2)["latency_mean"]


# -- validation and bounds ------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, name", [
    (dict(workers=0), "workers"), (dict(workers=1.5), "workers"), (dict(service=-1.0), "service"),
    (dict(queue_limit=-1), "queue_limit"), (dict(when_down="explode"), "when_down"),
    (dict(reads=2), "db"), (dict(reads=-1), "reads"), (dict(downstream="b"), "downstream"),
])
def test_bad_service_parameters_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Service(System(1), "s", **kwargs)


@pytest.mark.parametrize("kwargs, name", [
    (dict(calls=()), "calls"), (dict(calls=(3,)), "calls"), (dict(calls=("a",), mode="all"), "mode"),
    (dict(calls=("a", "b"), mode="first_k"), "k"), (dict(calls=("a", "b"), mode="first_k", k=3), "k"),
    (dict(calls=("a", "b"), k=1), "k"),
])
def test_bad_downstream_names_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Downstream(**kwargs)


def test_unknown_targets_fail_at_construction():
    system = System(1)
    with pytest.raises(ValueError, match="no component named 'nope'"):
        Client(system, "nope")
    with pytest.raises(ValueError, match="no component named 'later'"):
        Service(system, "s", downstream=Downstream(calls=("later",)))
    Database(system, "db")
    with pytest.raises(ValueError, match="not a service"):
        Client(system, "db")
    assert set(system.components) == {"db"}  # nothing half-built was left registered


def test_runaway_load_hits_a_bound_instead_of_running_for_ever():
    system = System(seed=1, limits=Limits(max_events=20_000))
    Service(system, "s", workers=1000, service=Exponential(0.01))
    client = Client(system, "s")
    Producer(system, Poisson(rate=100_000), client)
    r = system.run(1000)
    assert r.bound_hit and "event budget" in r.summary["bound_reason"]
    assert r.summary["sim_time"] < 1

    system = System(seed=1, limits=Limits(max_backlog=500))
    Service(system, "s", workers=1, service=Exponential(0.1))
    client = Client(system, "s")
    Producer(system, Poisson(rate=50), client)
    r = system.run(1000)
    assert r.bound_hit and "unstable" in r.summary["bound_reason"]


# -- properties -----------------------------------------------------------------------------------


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k] for k in a)


@st.composite
def rr_configs(draw):
    backoff = draw(st.sampled_from(["none", "fixed", "exponential", "full_jitter", "decorrelated_jitter"]))
    retry = RetryPolicy(backoff=backoff, max_attempts=1 if backoff == "none" else draw(st.integers(2, 4)),
                        base=draw(st.sampled_from([0.0, 0.01, 0.1])),
                        budget=draw(st.sampled_from([None, RetryBudget(ratio=0.2, capacity=2.0)])))
    return {
        "seed": draw(st.integers(0, 10_000)),
        "rate": draw(st.floats(1.0, 60.0)),
        "workers": draw(st.integers(1, 4)),
        "leaf_time": draw(st.floats(0.005, 0.2)),
        "mode": draw(st.sampled_from(["sequential", "parallel", "first_k"])),
        "queue_limit": draw(st.sampled_from([None, 0, 5])),
        "timeout": draw(st.sampled_from([None, 0.05, 0.5])),
        "hedge": draw(st.sampled_from([None, 0.02])),
        "retry": retry,
        "breaker": draw(st.sampled_from([None, BreakerConfig(window=10, min_calls=5, open_for=1.0)])),
        "when_down": draw(st.sampled_from(["error", "hang"])),
        "fault": draw(st.sampled_from(["down", "slow", "fail", "crash", "none"])),
        "fault_target": draw(st.sampled_from(["a", "b", "front"])),
        "start": draw(st.floats(0.0, 10.0)),
        "length": draw(st.floats(0.1, 10.0)),
    }


def build_config(c: dict) -> System:
    system = System(c["seed"], limits=Limits(max_events=60_000))
    Service(system, "a", workers=c["workers"], service=Exponential(c["leaf_time"]), when_down=c["when_down"])
    Service(system, "b", workers=c["workers"], service=Exponential(c["leaf_time"] / 2), queue_limit=c["queue_limit"])
    hedge = c["hedge"] if c["timeout"] is None or (c["hedge"] or 0) < c["timeout"] else None
    legs = (Call(target="a", timeout=c["timeout"], hedge_after=hedge), Call(target="b", breaker=c["breaker"]))
    Service(system, "front", workers=c["workers"] + 2, service=Exponential(0.005), queue_limit=c["queue_limit"],
            downstream=Downstream(calls=legs, mode=c["mode"], k=1 if c["mode"] == "first_k" else None),
            when_down=c["when_down"])
    client = Client(system, Call(target="front", timeout=c["timeout"], retry=c["retry"], breaker=c["breaker"]))
    Producer(system, Poisson(rate=c["rate"]), client)
    kind = {"down": Down, "slow": Slow, "fail": FailFraction, "crash": Crash}.get(c["fault"])
    if kind is not None:
        system.inject(kind(target=c["fault_target"], start=c["start"], end=c["start"] + c["length"]))
    return system


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rr_configs())
def test_property_conservation_and_same_seed_same_summary(config):
    first = build_config(config).run(20)  # Result() checks the DeliveryLog conservation itself
    s = first.summary
    assert s["to_handle"] == s["produced"]
    assert s["to_handle"] == s["completed"] + s["dropped"] + s["dead_lettered"] + s["in_flight"]
    assert s["completed"] == s["ok"]
    assert s["dropped"] == s["errors"] + s["timeouts"] + s["rejected"] + s["breaker_open"]
    assert s["delivered"] >= s["ok"] + s["errors"] + s["timeouts"] + s["rejected"]
    assert s["dead_lettered"] == 0
    if not s["bound_hit"]:
        assert s["calls"] >= s["delivered"]  # every try reached the front service at least
    second = build_config(config).run(20)
    assert same(s, second.summary)

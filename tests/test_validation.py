"""Bad input fails early with a ValueError naming the parameter and its allowed range; runaway runs stop.

Every case builds a fresh System, so each checks one constructor's validation and nothing else.
"""

from __future__ import annotations

import math

import pytest

from eda_sim import (
    Bursty,
    Client,
    ConstantRate,
    Consumer,
    Crash,
    Database,
    Deterministic,
    Down,
    Exponential,
    FailFraction,
    Limits,
    LogNormal,
    Mixture,
    PartitionedLog,
    Poisson,
    Producer,
    Scheduled,
    Service,
    Slow,
    System,
    Topic,
    Uniform,
    WorkQueue,
)
from eda_sim.experiments import get


def queue_system():
    system = System(1)
    return system, WorkQueue(system, "q")


def consumer(**kw):
    system, q = queue_system()
    return Consumer(system, q, **kw)


def work_queue(**kw):
    return WorkQueue(System(1), "q", **kw)


def producer(workload, **kw):
    system, q = queue_system()
    return Producer(system, workload, q, **kw)


def group(**kw):
    system = System(1)
    return PartitionedLog(system, "log").group("g", **kw)


NAN, INF = math.nan, math.inf

# (call, text the message must contain: the parameter name and the allowed range)
CASES = {
    "queue capacity -1": (lambda: work_queue(capacity=-1), "capacity must be an integer in [0, 100000000], got -1"),
    "queue capacity 0 block": (lambda: work_queue(capacity=0, overflow="block"),
                               'capacity (with overflow="block") must be an integer in [1, 100000000], got 0'),
    "queue capacity 2.5": (lambda: work_queue(capacity=2.5), "capacity must be an integer in [0, "),
    "queue requeue": (lambda: work_queue(requeue="middle"), "requeue must be one of 'head', 'tail', got 'middle'"),
    "queue overflow": (lambda: work_queue(overflow="spill"), "overflow must be one of 'reject', 'drop_oldest', "
                                                             "'block', got 'spill'"),
    "queue when_down": (lambda: work_queue(when_down="retry"), "when_down must be one of 'buffer', 'drop'"),
    "queue delivery_limit": (lambda: work_queue(delivery_limit=0), "delivery_limit must be an integer in [1, "),
    "publish_latency": (lambda: work_queue(publish_latency=0.1), "publish_latency must be a Distribution or None"),
    "consumer prefetch": (lambda: consumer(prefetch=0), "prefetch must be an integer in [1, 100000], got 0"),
    "consumer concurrency": (lambda: consumer(concurrency=0), "concurrency must be an integer in [1, 1000]"),
    "consumer ack_every": (lambda: consumer(ack_every=0), "ack_every must be an integer in [1, 100000]"),
    "consumer poll_interval": (lambda: consumer(poll_interval=0), "poll_interval must be in (0, 100000], got 0"),
    "consumer service": (lambda: consumer(service=-1), "service must be in (0, ∞), got -1"),
    "consumer reads without db": (lambda: consumer(reads=2), "reads and writes need a db"),
    "poisson negative": (lambda: Poisson(rate=-1), "rate must be in (0, 1e+06], got -1"),
    "poisson zero": (lambda: Poisson(rate=0), "rate must be in (0, 1e+06], got 0"),
    "poisson nan": (lambda: Poisson(rate=NAN), "rate must be a finite number in (0, 1e+06], got nan"),
    "poisson inf": (lambda: Poisson(rate=INF), "rate must be a finite number in (0, 1e+06]"),
    "poisson bool": (lambda: Poisson(rate=True), "rate must be a finite number"),
    "poisson keys": (lambda: Poisson(rate=1, keys=0), "keys must be an integer in [1, 1000000000], got 0"),
    "constant rate huge": (lambda: ConstantRate(rate=1e7), "rate must be in (0, 1e+06], got 10000000.0"),
    "bursty on": (lambda: Bursty(rate_on=5, on=0, off=1), "on must be in (0, ∞), got 0"),
    "exponential zero": (lambda: Exponential(0), "mean must be in (0, ∞), got 0"),
    "exponential nan": (lambda: Exponential(NAN), "mean must be a finite number in (0, ∞), got nan"),
    "deterministic negative": (lambda: Deterministic(-0.1), "value must be in [0, ∞), got -0.1"),
    "uniform reversed": (lambda: Uniform(2, 1), "high must be in [2, ∞), got 1"),
    "lognormal cv": (lambda: LogNormal(0.1, cv=0), "cv must be in (0, 20], got 0"),
    "mixture p_slow": (lambda: Mixture(Deterministic(0.01), Deterministic(1.0), 1.5),
                       "p_slow must be in [0, 1], got 1.5"),
    "scheduled overlap": (lambda: Scheduled(rate=1, spikes=((0, 10, 5), (5, 15, 5))),
                          "spikes must not overlap; spikes[1] starts at 5 before 10"),
    "scheduled empty spike": (lambda: Scheduled(rate=1, spikes=((10, 10, 5),)), "spikes[0] end must be in (10, ∞)"),
    "scheduled shape": (lambda: Scheduled(rate=1, spikes=((1, 2),)), "spikes[0] must be (start, end, rate)"),
    "fault end == start": (lambda: Down(target="q", start=5, end=5), "down end must be in (5, ∞), got 5"),
    "fault end < start": (lambda: Crash(target="q", start=5, end=1), "crash end must be in (5, ∞), got 1"),
    "fault negative start": (lambda: Slow(target="q", start=-1, end=1), "slow start must be in [0, ∞), got -1"),
    "slow factor": (lambda: Slow(target="q", start=0, end=1, factor=0.5), "factor must be in [1, 1000], got 0.5"),
    "fail fraction": (lambda: FailFraction(target="q", start=0, end=1, fraction=2),
                      "fraction must be in [0, 1], got 2"),
    "fault target": (lambda: Down(target="", start=0, end=1), "target must be a component name"),
    "system seed": (lambda: System(seed=-1), "seed must be an integer in [0, 9223372036854775807], got -1"),
    "system seed float": (lambda: System(seed=1.5), "seed must be an integer in [0, "),
    "system sample_every": (lambda: System(1, sample_every=0), "sample_every must be in (0, ∞), got 0"),
    "limits max_events": (lambda: Limits(max_events=10), "max_events must be an integer in [1000, 1000000000]"),
    "limits max_backlog": (lambda: Limits(max_backlog=0), "max_backlog must be an integer in [10, 100000000]"),
    "run until 0": (lambda: queue_system()[0].run(until=0), "until must be in (0, 1e+07], got 0"),
    "run until nan": (lambda: queue_system()[0].run(until=NAN), "until must be a finite number in (0, 1e+07]"),
    "run until huge": (lambda: queue_system()[0].run(until=1e9), "until must be in (0, 1e+07]"),
    "log partitions": (lambda: PartitionedLog(System(1), "log", partitions=0),
                       "partitions must be an integer in [1, 10000], got 0"),
    "log retention": (lambda: PartitionedLog(System(1), "log", retention=0), "retention must be in (0, ∞), got 0"),
    "group start": (lambda: group(start="middle"), "start must be one of 'earliest', 'latest', got 'middle'"),
    "group commit_every": (lambda: group(commit_every=0), "commit_every must be an integer in [1, 1000000]"),
    "group max_attempts": (lambda: group(max_attempts=0), "max_attempts must be an integer in [1, 10000]"),
    "group rebalance_time": (lambda: group(rebalance_time=-1), "rebalance_time must be in [0, 3600], got -1"),
    "group scale_at": (lambda: group().scale_at(5, -1), "consumers must be an integer in [0, 1000], got -1"),
    "database connections": (lambda: Database(System(1), connections=0), "connections must be an integer in [1, "),
    "producer workload": (lambda: producer("fast"),
                          "workload must be a Workload (Poisson, ConstantRate, ...), got 'fast'"),
    "producer limit": (lambda: producer(Poisson(rate=1), limit=-1), "limit must be an integer in [0, 1000000000]"),
    "experiment rate": (lambda: get("queue").make_params(rate=0), "rate must be in (0, 100000], got 0"),
    "experiment consumers": (lambda: get("queue")(consumers=0, until=1), "consumers must be an integer in [1, 1000]"),
    "experiment unknown": (lambda: get("queue").make_params(speed=3),
                           "experiment 'queue' has no parameter speed; known: rate, service_mean, consumers"),
    "experiment name": (lambda: get("qeueu"), "no experiment named 'qeueu'; available: "),
}


# Wrong types: a TypeError naming the parameter and what it must be, raised by the constructor itself
# (not an AttributeError later, deep inside a run).
TYPE_CASES = {
    "producer stream": (lambda: producer(Poisson(rate=1), stream=5), "stream must be a non-empty string, got int 5"),
    "consumer queue None": (lambda: Consumer(System(1), None),
                            "queue must be a WorkQueue or a Topic subscription (topic.subscribe(...)), got NoneType"),
    "consumer stream": (lambda: consumer(stream=3), "stream must be a non-empty string, got int 3"),
    "inject a string": (lambda: queue_system()[0].inject("down"),
                        "fault must be a Down, Crash, Slow or FailFraction fault"),
    "mixture fast": (lambda: Mixture(5, "x", 0.1), "fast must be a Distribution (Deterministic, Exponential, ...), "
                                                   "got int 5"),
    "mixture slow": (lambda: Mixture(Deterministic(1), "x", 0.1), "slow must be a Distribution"),
    "queue parent": (lambda: work_queue(parent=5), "parent must be a Topic (the exchange this queue subscribes to) "
                                                   "or None, got 5"),
    "system not first": (lambda: Producer(5, Poisson(rate=1), None), "Producer's first argument must be the System"),
    "component name": (lambda: WorkQueue(System(1), 7), "name must be a non-empty string, got int 7"),
    "service system": (lambda: Service(None, "api"), "Service's first argument must be the System it belongs to"),
    "client system": (lambda: Client(None, "api"), "Client's first argument must be the System it belongs to"),
}


@pytest.mark.parametrize("call,message", TYPE_CASES.values(), ids=TYPE_CASES.keys())
def test_wrong_types_raise_type_error_naming_the_parameter(call, message):
    with pytest.raises(TypeError) as info:
        call()
    assert message in str(info.value)


def test_a_range_emptied_by_another_parameter_says_so():
    # retry_storm needs until >= outage_end + 20; with outage_end = 1e12 no until <= 1e6 fits. The
    # message says which bounds clash instead of "until must be in [1e+12, 1e+06]".
    with pytest.raises(ValueError) as info:
        get("retry_storm").make_params(outage_end=1e12)
    text = str(info.value)
    assert "no value of until fits" in text and ">= 1e+12" in text and "at most 1e+06" in text
    assert "[1e+12, 1e+06]" not in text


def test_core_load_blames_the_parameters_the_user_set():
    with pytest.raises(ValueError) as info:
        get("core_load")(workers=1000, billing_time=0.001)
    text = str(info.value)
    assert text.startswith("workers=1000 with billing_time=0.001 s")
    assert "50,000 orders/s" in text and "60,000 orders/s" in text and "workers in [1, 166]" in text
    assert "rate must be" not in text


@pytest.mark.parametrize("call,message", CASES.values(), ids=CASES.keys())
def test_bad_input_names_the_parameter_and_its_range(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value)


def test_fault_on_an_unknown_component_lists_the_known_ones():
    system, q = queue_system()
    Consumer(system, q, "worker")
    with pytest.raises(ValueError, match=r"no component named 'wroker'; known: q, worker$"):
        system.inject(Crash(target="wroker", start=1, end=2))


def test_fault_on_a_component_without_health():
    system, q = queue_system()
    Producer(system, Poisson(rate=1), q, name="producer")
    with pytest.raises(ValueError, match="component 'producer' cannot take faults"):
        system.inject(Down(target="producer", start=1, end=2))


def test_duplicate_names_are_refused():
    system, q = queue_system()
    with pytest.raises(ValueError, match="name 'q' is already used by another component"):
        Topic(system, "q")


def test_a_system_runs_once():
    system, _ = queue_system()
    system.run(until=1)
    with pytest.raises(ValueError, match="a System runs once"):
        system.run(until=1)


def test_distributions_given_as_numbers_mean_exponential():
    c = consumer(service=0.25)
    assert c.service == Exponential(0.25)


# -- runaway configurations return promptly with a reason ---------------------------------------------

def test_unstable_queue_stops_at_the_backlog_bound():
    # 1000 msg/s into one consumer taking 1 s: the backlog passes max_backlog=200,000 at about t=200 s,
    # long before until=10,000 s, and the run stops there (checked in simulated time, not wall time).
    system, q = queue_system()
    Consumer(system, q, service=Deterministic(1.0))
    Producer(system, Poisson(rate=1000), q)
    result = system.run(until=10_000)
    assert result.bound_hit and result.summary["bound_hit"]
    reason = result.summary["bound_reason"]
    assert reason.startswith("unstable: ") and "max_backlog=200,000" in reason
    assert "arrivals outpace the consumers" in reason
    assert result.message == reason
    assert 150 < result.elapsed < 250
    s = result.summary
    assert s["produced"] > 200_000 and s["completed"] < 250
    assert s["to_handle"] == s["completed"] + s["dead_lettered"] + s["dropped"] + s["in_flight"]
    assert "bound_hit: unstable" in repr(result)


def test_unstable_partitioned_log_stops_at_the_backlog_bound():
    system = System(1, limits=Limits(max_backlog=5_000))
    log = PartitionedLog(system, "log", partitions=2)
    log.group("g", consumers=2, service=Deterministic(1.0))
    Producer(system, Poisson(rate=200), log)
    result = system.run(until=10_000)
    assert result.bound_hit and "max_backlog=5,000" in result.message
    assert result.elapsed < 60


def test_event_budget_stops_the_run():
    system = System(1, limits=Limits(max_events=1_000))
    q = WorkQueue(system, "q")
    Consumer(system, q, service=Deterministic(0.01))
    Producer(system, Poisson(rate=10), q)
    result = system.run(until=10_000)
    assert result.bound_hit
    assert result.message.startswith("event budget of 1,000 SimPy events used up at t=")
    assert "of 10000 s" in result.message
    assert result.elapsed < 100
    assert result.summary["events"] <= 1_000
    assert result.summary["sim_time"] == result.elapsed


@pytest.mark.parametrize("on,off", [(4.4, 4.4), (0.7, 0.2), (1.1, 2.2)])
def test_bursty_traffic_crosses_phase_boundaries_without_hanging(on, off):
    # Regression: at some boundaries (44.0 // 8.8 == 4.0) rounding reported the phase that had just
    # ended, the next rate change was not after t, and the arrival loop spun forever outside SimPy,
    # where no event budget can stop it. Arrivals must also fall only in the "on" phases.
    workload = Bursty(rate_on=20, on=on, off=off)
    system, q = queue_system()
    Consumer(system, q, service=Deterministic(0.001))
    Producer(system, workload, q)
    result = system.run(until=200)  # a hang here is caught by pytest-timeout (see pyproject.toml)
    assert not result.bound_hit
    created = result.messages().created.to_numpy()
    phase = created % (on + off)
    assert ((phase <= on + 1e-9) | (phase >= on + off - 1e-9)).all()
    assert len(created) / 200 == pytest.approx(workload.mean_rate(200), rel=0.1)


def test_a_stable_run_hits_no_bound():
    system, q = queue_system()
    Consumer(system, q, service=Deterministic(0.01))
    Producer(system, Poisson(rate=10), q)
    result = system.run(until=100)
    assert not result.bound_hit and result.summary["bound_reason"] == ""
    assert result.elapsed == 100


@pytest.mark.parametrize("fault", [
    Down(target="q", start=0, end=50), Down(target="q.consumer1", start=0, end=50),
    Crash(target="q.consumer1", start=0, end=50), Slow(target="q.consumer1", start=0, end=50, factor=1000),
    FailFraction(target="q.consumer1", start=0, end=50, fraction=1.0),
], ids=["queue down", "consumer down", "consumer crash", "slow x1000", "always failing"])
def test_extreme_faults_never_raise_from_inside_simpy(fault):
    system = System(1, limits=Limits(max_events=20_000, max_backlog=1_000))
    q = WorkQueue(system, "q")
    Consumer(system, q, service=Deterministic(0.05), prefetch=10)
    system.inject(fault)
    Producer(system, Poisson(rate=50), q)
    result = system.run(until=100)  # must return a Result, bound or not
    s = result.summary
    assert s["to_handle"] == s["completed"] + s["dead_lettered"] + s["dropped"] + s["in_flight"]
    if result.bound_hit:
        assert result.message


def test_a_failed_constructor_leaves_no_trace_so_the_corrected_retry_works():
    from eda_sim import Consumer, Database, System, WorkQueue

    system = System(seed=1)
    queue = WorkQueue(system, "q")
    with pytest.raises(ValueError, match="prefetch"):
        Consumer(system, queue, prefetch=0)
    with pytest.raises(ValueError, match="connections"):
        Database(system, "db", connections=0)
    consumer = Consumer(system, queue)  # same default name as the failed one
    Database(system, "db", connections=2)
    assert consumer.name == "q.consumer1"
    assert system.workers_total == 1
    assert sorted(system.components) == ["db", "q", "q.consumer1"]


def test_a_runaway_producer_stops_between_sampling_steps():
    from eda_sim.experiments import get

    result = get("queue")(rate=20_000.0, until=100_000.0)
    assert result.bound_hit
    assert "unstable" in result.message and "max_backlog" in result.message
    assert result.elapsed < 100  # stopped within seconds of simulated time, not at the next sample

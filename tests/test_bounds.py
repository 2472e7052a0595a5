"""Bounds that hold for a whole experiment, command-line call, panel move and sweep, never a traceback.

Each experiment draws every simulation's events from one pool (:mod:`eda_sim.budget`); what is built
before the event loop is capped; a replay or rewind that would jump past ``max_backlog`` stops first.
"""

from __future__ import annotations

import json
import time

import pytest

from eda_sim import Consumer, Deterministic, Limits, PartitionedLog, Poisson, Producer, System, WorkQueue, budget
from eda_sim.__main__ import main, summaries
from eda_sim.experiments import get, registry


def _clear_caches(exp):
    import sys

    for obj in list(vars(sys.modules[exp.run.__module__]).values()):
        if hasattr(obj, "cache_clear"):
            obj.cache_clear()


@pytest.mark.parametrize("events", [1, 300, 1_500])  # every experiment needs over 2,000
def test_every_experiment_stops_cleanly_when_its_budget_runs_out(monkeypatch, events):
    # A pool far too small for any experiment: each returns (a result with bound_hit, or a Stopped) and
    # its table and summaries build; none raises (KeyError 'history', ZeroDivisionError, ... before).
    monkeypatch.setattr(budget, "EXPERIMENT_EVENTS", events)
    for name, exp in registry().items():
        _clear_caches(exp)
        result = exp()
        summ = summaries(result)
        assert any(s.get("bound_hit") for s in summ.values()), name
        assert sum(int(s.get("events") or 0) for s in summ.values()) <= events, name
        if hasattr(result, "table"):
            result.table()
        _clear_caches(exp)  # nothing cut short stays cached for the tests that follow


def test_one_budget_for_all_the_simulations_of_an_experiment(monkeypatch):
    # core_load runs 22 simulations (the circled run and 11 offered loads × 2 architectures), about
    # 85,000 events in all. With a pool of 30,000 the first runs finish and a later one is cut or never
    # starts: the experiment reports it instead of giving each simulation a fresh 2,000,000.
    monkeypatch.setattr(budget, "EXPERIMENT_EVENTS", 30_000)
    exp = get("core_load")
    _clear_caches(exp)
    result = exp()
    _clear_caches(exp)
    assert isinstance(result, budget.Stopped)
    assert result.events <= 30_000 and result.bound_hit
    assert "experiment 'core_load''s event budget of 30,000 SimPy events" in result.reason
    with pytest.raises(AttributeError, match="core_load stopped before it could finish, so it has no 'sweep'"):
        result.sweep  # noqa: B018


def test_replay_past_the_budget_reports_the_bound_instead_of_a_key_error(monkeypatch, capsys):
    # The example: join_at=90,000 s is never reached within the budget.
    monkeypatch.setattr(budget, "EXPERIMENT_EVENTS", 200_000)
    assert main(["run", "replay", "--set", "order_rate=100", "--set", "until=100000", "--set", "join_at=90000",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # the EDA run used the whole pool before join_at (the run that raised KeyError 'history'), so the
    # R/R run never started: the call reports the bound
    assert out["bound_hit"] is True and out["experiment"] == "replay"
    assert "experiment 'replay''s event budget of 200,000 SimPy events" in out["bound_reason"]


def test_a_replay_that_would_jump_past_max_backlog_stops_before_it():
    # 100 orders/s for 50 s, then a group replays all 5,000 at once: past max_backlog=1,000, the run stops
    # at t=50 saying so, and the group never took the history on (the old check saw 5x the limit later).
    system = System(1, limits=Limits(max_backlog=1_000))
    log = PartitionedLog(system, "log", partitions=2)
    log.group("live", consumers=2, service=Deterministic(0.001))
    Producer(system, Poisson(rate=100), log)
    system.env.timeout(50).callbacks.append(lambda _: log.group("analytics", service=Deterministic(0.001)))
    result = system.run(until=100)
    assert result.bound_hit and result.elapsed == 50
    assert "group 'analytics' would start with" in result.message and "max_backlog=1,000" in result.message
    assert "analytics" not in system.logs


def test_fanout_refuses_to_build_200000_consumers_at_once():
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"leaf_workers \(with leaves=200: leaves × leaf_workers ≤ 10,000\) "
                                         r"must be an integer in \[1, 50\], got 1000"):
        get("fanout")(leaves=200, leaf_workers=1000)
    assert time.perf_counter() - start < 1.0


def test_a_system_caps_what_is_built_before_the_event_loop():
    system = System(1, limits=Limits(max_components=10))
    q = WorkQueue(system, "q")
    for _ in range(9):
        Consumer(system, q, service=Deterministic(1.0))
    with pytest.raises(ValueError, match=r"already holds 10 components .* Limits.max_components=10 allows"):
        Consumer(system, q, service=Deterministic(1.0))
    assert len(system.components) == 10


def test_the_command_line_reports_a_bound_not_a_traceback(monkeypatch, capsys):
    monkeypatch.setattr(budget, "EXPERIMENT_EVENTS", 1)
    assert main(["run", "queue", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["bound_hit"] is True and "event budget of 1 SimPy events" in out["bound_reason"]


def test_a_panel_move_past_the_budget_shows_the_reason_and_keeps_the_figures(monkeypatch):
    from eda_sim.lab.views import reactivity

    panel = reactivity.panel()
    before = [list(trace.y) if trace.y is not None else None for fig in panel.figures for trace in fig.data]
    monkeypatch.setattr(budget, "EXPERIMENT_EVENTS", 1)
    _clear_caches(get("reactivity"))
    assert panel.set(poll_interval=7.0) is None
    _clear_caches(get("reactivity"))
    assert "event budget of 1 SimPy events" in panel.status.value and "Traceback" not in panel.status.value
    after = [list(trace.y) if trace.y is not None else None for fig in panel.figures for trace in fig.data]
    assert after == before


def test_the_wall_clock_deadline_stops_a_run_inside_an_experiment(monkeypatch):
    monkeypatch.setattr(budget, "EXPERIMENT_SECONDS", 1e-3)
    result = get("queue")(rate=500.0, until=1_000.0)  # about 2,000,000 events: far more than 1 ms of work
    assert result.bound_hit and "wall-clock deadline" in result.message
    assert result.summary["events"] % budget.CHECK_EVERY == 0  # checked between chunks of events


def test_default_experiments_stay_far_below_the_budget():
    # The budget is a guard, not a knob: at default settings the heaviest experiment here needs under 1%.
    for name in ("queue", "order_flow", "fanout", "retry_storm"):
        exp = get(name)
        with budget.allowance(name) as pool:
            result = exp()
        assert not any(s.get("bound_hit") for s in summaries(result).values()), name
        assert 0 < pool.spent < budget.EXPERIMENT_EVENTS / 100, name

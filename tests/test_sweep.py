"""The sweep helper (:mod:`eda_sim.sweep`): real runs, compared with M/M/c theory and across executors."""

from __future__ import annotations

import concurrent.futures as cf
import os

import numpy as np
import pandas as pd
import pytest

from eda_sim import theory
from eda_sim.experiments import get
from eda_sim.sweep import SERIAL_MAX_RUNS, STATS_COLUMNS, summarize, sweep, t_quantile

# M/M/c with rho = 0.6, 0.3 and 0.2 for 1, 2 and 3 consumers; about 6000 messages per run.
QUEUE = dict(rate=3.0, service_mean=0.2, until=2000.0)


@pytest.fixture(scope="module")
def queue_sweep():
    return sweep("queue", {"consumers": [1, 2, 3]}, repetitions=3, base=QUEUE, executor="serial")


def test_columns_and_rows_are_as_documented(queue_sweep):
    df = queue_sweep
    assert list(df.columns) == ["consumers", *STATS_COLUMNS]
    assert list(df.columns[-7:]) == ["variant", "metric", "mean", "std", "n", "ci_low", "ci_high"]
    metrics = list(dict.fromkeys(df.metric))
    # Every numeric summary key, in the summary's order; booleans and text are left out.
    summary = get("queue")(**QUEUE).summary
    assert metrics == [k for k, v in summary.items() if isinstance(v, int | float) and not isinstance(v, bool)]
    assert "bound_hit" not in metrics and "bound_reason" not in metrics
    assert len(df) == 3 * len(metrics)
    assert list(df.consumers) == [1] * len(metrics) + [2] * len(metrics) + [3] * len(metrics)
    assert set(df.variant) == {"run"}
    assert (df.n == 3).all()


def test_wait_falls_with_consumers_and_the_interval_contains_mmc_theory(queue_sweep):
    wait = queue_sweep[queue_sweep.metric == "wait_mean"].set_index("consumers")
    assert wait["mean"].is_monotonic_decreasing
    for c, row in wait.iterrows():
        expected = theory.mmc(QUEUE["rate"], 1 / QUEUE["service_mean"], c).wait_mean
        assert row.ci_low <= expected <= row.ci_high, (c, expected, row.to_dict())
        # The interval is tight enough for containing the theory to mean something (the next
        # consumer count's wait is 10-15 times smaller).
        assert (row.ci_high - row.ci_low) / 2 < 0.35 * expected
    util = queue_sweep[queue_sweep.metric == "utilisation"].set_index("consumers")
    for c, row in util.iterrows():
        assert row.ci_low - 0.01 <= theory.mmc(QUEUE["rate"], 5.0, c).utilisation <= row.ci_high + 0.01


def test_the_interval_is_the_student_t_interval_of_the_raw_runs():
    runs = sweep("queue", {"consumers": [2, 3]}, seeds=[11, 12, 13, 14], base=QUEUE, metrics=["wait_mean"],
                 raw=True)
    assert list(runs.columns) == ["consumers", "variant", "seed", "wait_mean"]
    assert list(runs.seed) == [11, 12, 13, 14] * 2
    table = summarize(runs, ["consumers"], confidence=0.9)
    for c, row in table.set_index("consumers").iterrows():
        x = runs[runs.consumers == c].wait_mean.to_numpy()
        half = t_quantile(0.95, 3) * x.std(ddof=1) / np.sqrt(4)
        assert row["mean"] == pytest.approx(x.mean(), rel=1e-12)
        assert row.ci_low == pytest.approx(x.mean() - half, rel=1e-12)
        assert row.ci_high == pytest.approx(x.mean() + half, rel=1e-12)
    # A single seed has no spread: std and interval are NaN, the mean is the run's value.
    one = sweep("queue", {"consumers": [2]}, base=QUEUE, metrics=["wait_mean"])
    assert one.n.tolist() == [1] and np.isnan(one["std"]).all() and np.isnan(one.ci_low).all()


def test_seeds_are_common_random_numbers_across_cells():
    runs = sweep("queue", {"consumers": [1, 2]}, repetitions=2, base={**QUEUE, "seed": 5}, raw=True,
                 metrics=["produced", "wait_mean"])
    assert list(runs.seed) == [5, 6, 5, 6]  # base.seed + k
    by = runs.set_index(["consumers", "seed"])
    # The same seed: the same arrivals whatever the number of consumers; another seed: other arrivals.
    assert by.loc[(1, 5), "produced"] == by.loc[(2, 5), "produced"]
    assert by.loc[(1, 6), "produced"] == by.loc[(2, 6), "produced"]
    assert by.loc[(1, 5), "produced"] != by.loc[(1, 6), "produced"]


def test_serial_and_process_pools_give_identical_frames():
    grid = {"consumers": [2, 3], "rate": [4.0, 6.0, 8.0]}
    args = dict(repetitions=2, base={"until": 300.0})
    serial = sweep("queue", grid, executor="serial", **args)
    default = sweep("queue", grid, **args)  # 12 runs > SERIAL_MAX_RUNS: the default process pool
    with cf.ProcessPoolExecutor(max_workers=2) as pool:
        pooled = sweep("queue", grid, executor=pool, **args)
    with cf.ThreadPoolExecutor(max_workers=3) as pool:
        threaded = sweep("queue", grid, executor=pool, **args)
    for other in (default, pooled, threaded):
        pd.testing.assert_frame_equal(other, serial, check_exact=True)
    assert list(serial.columns[:2]) == ["consumers", "rate"]
    assert list(serial.drop_duplicates(["consumers", "rate"])[["consumers", "rate"]].itertuples(index=False)) == [
        (2, 4.0), (2, 6.0), (2, 8.0), (3, 4.0), (3, 6.0), (3, 8.0)]


def test_comparisons_have_one_row_per_variant():
    df = sweep("reactivity", {"poll_interval": [2.0, 8.0]}, repetitions=3, metrics=["wait_mean", "completed"],
               executor="serial")
    assert list(df.variant[:3]) == ["poll", "poll", "long_poll"]
    wait = df[df.metric == "wait_mean"].set_index(["poll_interval", "variant"])
    for t in (2.0, 8.0):
        row = wait.loc[(t, "poll")]
        assert row.ci_low <= theory.polling_delay_mean(t) <= row.ci_high
        assert wait.loc[(t, "push"), "mean"] == 0.0 and wait.loc[(t, "long_poll"), "mean"] == 0.0
    # Every mode sees the same events (common random numbers inside a comparison too).
    done = df[df.metric == "completed"]
    assert done.groupby("poll_interval")["mean"].max().gt(0).all()


def test_list_of_cells_fills_the_parameters_a_cell_leaves_out():
    df = sweep("queue", [{"consumers": 2}, {"consumers": 3, "rate": 6.0}], base={"until": 100.0, "rate": 4.0},
               metrics="throughput")
    assert list(df.columns[:2]) == ["consumers", "rate"]
    assert df[["consumers", "rate"]].values.tolist() == [[2, 4.0], [3, 6.0]]
    params = get("queue").make_params(consumers=2, rate=4.0, until=100.0)
    assert df["mean"].iloc[0] == get("queue").run(params).summary["throughput"]


def test_tiny_grids_run_in_process_and_show_no_progress(capsys):
    assert SERIAL_MAX_RUNS == 4

    class Refuse(cf.Executor):
        def submit(self, fn, /, *args, **kwargs):
            raise AssertionError("a user's executor is always used")

    with pytest.raises(AssertionError, match="always used"):
        sweep("queue", {"consumers": [2]}, base={"until": 10.0}, executor=Refuse())
    sweep("queue", {"consumers": [1, 2]}, repetitions=2, base={"until": 10.0})  # 4 runs: serial
    sweep("queue", {"consumers": [1, 2, 3]}, repetitions=2, base={"until": 10.0}, executor="serial")
    # Under pytest stderr is not a terminal, so the bar is off even with progress=True.
    assert capsys.readouterr().err == ""


def test_the_default_is_serial_up_to_four_runs_then_a_pool_of_two_processes(monkeypatch):
    made = []

    class Pool(cf.ThreadPoolExecutor):  # stands in for the process pool, records how it was made
        def __init__(self, max_workers):
            made.append(max_workers)
            super().__init__(max_workers)

    monkeypatch.setattr(cf, "ProcessPoolExecutor", Pool)
    sweep("queue", {"consumers": [1, 2]}, repetitions=2, base={"until": 10.0})
    assert made == []
    sweep("queue", {"consumers": [1, 2, 3]}, repetitions=2, base={"until": 10.0})
    assert made == ([2] if (os.cpu_count() or 1) >= 2 else [])  # one core: serial


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(grid={"consumer": [1, 2]}), r"no parameter 'consumer'; known: rate, service_mean, consumers, until, seed"),
    (dict(grid=[{"consumers": 1}, {"ratee": 2.0}]), r"no parameter 'ratee'"),
    (dict(grid={}), r"grid is empty"),
    (dict(grid=[]), r"grid is empty"),
    (dict(grid={"consumers": []}), r"grid is empty"),
    (dict(grid={"consumers": 3}), r"grid\['consumers'\] must be a list"),
    (dict(grid={"seed": [1, 2]}), r"seed cannot be a grid parameter"),
    (dict(grid={"consumers": [2, 2]}), r"grid cell \{'consumers': 2\} appears twice"),
    (dict(grid=[{"consumers": 2}, {"consumers": 2, "rate": 8.0}]), r"appears twice"),  # 8.0 is the default
    (dict(grid={"consumers": [0]}), r"consumers must be an integer in \[1, 1000\]"),
    (dict(grid={"consumers": [1]}, repetitions=0), r"repetitions must be an integer in \[1, 10,000\]"),
    (dict(grid={"consumers": [1]}, seeds=[]), r"seeds is empty"),
    (dict(grid={"consumers": [1]}, seeds=[3, 3]), r"seeds repeat"),
    (dict(grid={"consumers": [1]}, seeds=[1, 2], repetitions=3), r"repetitions=3 but 2 seeds"),
    (dict(grid={"consumers": [1]}, confidence=95), r"confidence must be in \(0, 1\)"),
    (dict(grid={"consumers": [1]}, metrics=["wait"]), r"no metric wait; known: produced"),
    (dict(grid={"consumers": [1]}, executor="threads"), r"executor must be None, 'serial'"),
    (dict(grid={"consumers": [1]}, base={"sead": 1}), r"no parameter sead"),
])
def test_bad_arguments_raise_value_errors_naming_them(kwargs, message):
    kwargs.setdefault("base", {"until": 10.0})
    with pytest.raises(ValueError, match=message):
        sweep("queue", **kwargs)


def test_unknown_experiment_names_the_available_ones():
    with pytest.raises(ValueError, match=r"no experiment named 'queues'; available: .*queue"):
        sweep("queues", {"consumers": [1]})


@pytest.mark.parametrize(("p", "df", "expected"), [
    (0.975, 1, 12.706204736174698), (0.975, 2, 4.302652729749464), (0.975, 4, 2.7764451051977934),
    (0.975, 9, 2.262157162740992), (0.975, 29, 2.045229642132703), (0.995, 5, 4.032142983557536),
    (0.95, 10, 1.8124611228107335), (0.975, 1000, 1.9623390808264078),
])
def test_t_quantile_matches_tables(p, df, expected):
    assert t_quantile(p, df) == pytest.approx(expected, rel=1e-9)


def test_t_quantile_expansion_above_1000_df_inverts_the_exact_distribution_function():
    from eda_sim.sweep import _t_two_sided  # closed form for integer df

    for p in (0.9, 0.975, 0.995):
        for df in (1001, 5000):
            assert _t_two_sided(t_quantile(p, df), df) == pytest.approx(2 * p - 1, abs=1e-11)


# -- a sweep is bounded as a whole ---------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(grid={"consumers": [1]}, repetitions=10**8),
     r"repetitions must be an integer in \[1, 10,000\], got 100000000"),
    (dict(grid={"rate": range(1, 10**4 + 1), "consumers": range(1, 10**4 + 1)}),
     r"100,000,000 grid cells × 1 seeds = 100,000,000 runs; a sweep is at most 10,000 runs"),
    (dict(grid={"consumers": [1, 2]}, seeds=range(10**4)), r"2 grid cells × 10,000 seeds = 20,000 runs"),
    (dict(grid={"rate": (float(x) for x in range(1, 10**9))}), r"more than 10,000 cells"),
])
def test_a_sweep_too_big_is_refused_before_anything_runs(kwargs, monkeypatch, message):
    import time

    import eda_sim.sweep as sw

    ran = []
    monkeypatch.setattr(sw, "summaries", lambda result: ran.append(1) or {})
    start = time.perf_counter()
    with pytest.raises(ValueError, match=message):
        sweep("queue", **kwargs)
    assert ran == [] and time.perf_counter() - start < 1.0


def test_bad_metric_names_are_caught_after_the_first_run_not_the_last(monkeypatch):
    import eda_sim.sweep as sw

    calls = []
    real = sw.summaries
    monkeypatch.setattr(sw, "summaries", lambda result: calls.append(1) or real(result))
    with pytest.raises(ValueError, match=r"no metric wait_meen; known: produced, .*\(checked on the first run"):
        sweep("queue", {"consumers": [1, 2, 3]}, repetitions=4, metrics=["wait_meen"], base={"until": 10.0},
              executor="serial")
    assert len(calls) == 1  # 12 runs asked for, one ran


def test_a_sweep_inside_an_experiment_budget_shares_it():
    from eda_sim import budget

    with budget.allowance("test", events=30_000) as pool:
        table = sweep("queue", {"consumers": [1, 2, 3]}, repetitions=2, base={"until": 600.0},
                      metrics=["events", "sim_time"], executor="serial", raw=True)
    # six runs, each given 30,000 // 6 = 5,000 events (a full 600 s run needs 10,000 to 16,000): each is
    # cut at its share, so the sweep as a whole spends exactly the pool
    assert table.events.tolist() == [5_000] * 6
    assert (table.sim_time < 600).all()
    assert pool.spent == 30_000 and pool.events == 0

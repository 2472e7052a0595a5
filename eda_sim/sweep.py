"""Run an experiment over a grid of parameters and seeds; return a tidy table with confidence intervals.

    from eda_sim.sweep import sweep
    table = sweep("queue", {"consumers": [1, 2, 3]}, repetitions=5)
    table[table.metric == "wait_mean"]          # mean, std, n, ci_low, ci_high per number of consumers

Every (grid cell, seed) pair is one run, submitted to a standard :class:`concurrent.futures.Executor`:
a process pool by default, in-process for tiny grids, or anything with the same interface, such as a
Dask cluster's ``Client.get_executor()``. Workers receive the experiment's *name* and plain
parameter overrides, look the experiment up in the registry and send back the summary dicts, so
nothing unpicklable crosses a process or machine boundary. The table is assembled in grid order in
the calling process, so the same call gives the same DataFrame whatever the executor. See
``docs/sweeps.md``.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import contextvars
import dataclasses
import itertools
import math
import os
import statistics
import warnings
from collections.abc import Iterable, Mapping
from functools import lru_cache
from numbers import Real

import numpy as np
import pandas as pd

from . import budget
from .experiments import Experiment, get, summaries

MAX_RUNS = 10_000
"""The most runs (grid cells × seeds) one sweep may ask for, checked before anything is built or run:
each run may use a whole experiment's event budget, so this bounds a sweep as a whole."""


_LISTENER: contextvars.ContextVar = contextvars.ContextVar("sweep_progress_listener", default=None)


@contextlib.contextmanager
def progress_to(listener):
    """Inside this block every sweep calls ``listener(done, total)`` after each run it finishes (and once
    with ``done=0`` before the first), e.g. to show progress in a control panel's status line."""
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)


SERIAL_MAX_RUNS = 4
"""With ``executor=None``, a sweep of at most this many runs runs in-process: starting a pool costs
tens of milliseconds (fork) to a second (spawn), as much as a few short runs (the notebook sliders)."""

STATS_COLUMNS = ("variant", "metric", "mean", "std", "n", "ci_low", "ci_high")


def sweep(experiment, grid, *, seeds=None, repetitions: int = 1, base=None, metrics=None, executor=None,
          progress: bool = True, confidence: float = 0.95, raw: bool = False) -> pd.DataFrame:
    """Run ``experiment`` once per grid cell and seed; return one row per (cell, variant, metric).

    experiment   an :class:`~eda_sim.experiments.Experiment` or its registered name.
    grid         ``{param: [values]}`` (the cartesian product, first key varying slowest) or a list of
                 ``{param: value}`` dicts, one per cell. Parameters a cell leaves out come from ``base``.
    seeds        explicit seeds, the same for every cell; by default ``base.seed + k`` for k in
                 ``range(repetitions)``. Seeds are shared across cells (common random numbers): cells
                 run with the same seed see the same arrivals and service times, so differences
                 between cells are due to the parameters, not to luck.
    repetitions  runs per cell when ``seeds`` is not given (must equal ``len(seeds)`` if both are).
    base         parameters that the grid overrides: a params instance, a dict of overrides or None
                 for the experiment's defaults.
    metrics      summary keys to keep; default every numeric key (booleans and text are left out).
    executor     None (in-process for at most ``SERIAL_MAX_RUNS`` runs, otherwise a process pool of
                 ``min(2, os.cpu_count())`` workers created and shut down inside the call),
                 ``"serial"``, or any ``concurrent.futures.Executor``-like object, which is used and
                 left open (for example ``distributed.Client(...).get_executor()``).
    progress     show a progress bar (``tqdm.auto``: a widget in notebooks, text in a terminal, nothing
                 when output is not a terminal) for sweeps of more than ``SERIAL_MAX_RUNS`` runs.
    confidence   level of the two-sided Student t interval for the mean, in (0, 1).
    raw          return the per-run table instead (one row per cell, variant and seed, with columns for
                 the grid parameters, ``variant``, ``seed`` and each metric); pass it to
                 :func:`summarize` to get the tidy table without running again.

    Columns: the grid parameters, ``variant`` (the architecture or mode of a comparison experiment,
    ``"run"`` for a single-system one), ``metric``, ``mean``, ``std`` (sample standard deviation
    across seeds), ``n`` (runs with a finite value), ``ci_low`` and ``ci_high``. Rows follow grid order,
    then the experiment's variant order, then the summary's key order.
    """
    exp = experiment if isinstance(experiment, Experiment) else get(experiment)
    base_params = _base_params(exp, base)
    if metrics is not None:
        metrics = _metric_names(metrics)
    confidence = _confidence(confidence)
    _check_size(grid, seeds, repetitions)  # before any list of cells or seeds is built
    cells = _cells(exp, grid)
    seed_list = _seeds(seeds, repetitions, base_params.seed)

    params_by_cell = [dataclasses.replace(base_params, **cell) for cell in cells]  # validates each cell
    columns = list(dict.fromkeys(k for cell in cells for k in cell))
    cell_values = [{c: getattr(p, c) for c in columns} for p in params_by_cell]
    _check_distinct(cell_values)
    tasks = [(i, s, {**cell, "seed": s}) for i, cell in enumerate(cells) for s in seed_list]
    base_overrides = _overrides(base_params)

    results = _run_all(exp, base_overrides, tasks, executor, progress, metrics)
    runs = _runs_frame(exp, tasks, results, cell_values, columns, metrics)
    if raw:
        return runs
    return summarize(runs, columns, confidence=confidence)


def summarize(runs: pd.DataFrame, params, *, confidence: float = 0.95) -> pd.DataFrame:
    """The tidy table of :func:`sweep` from its ``raw=True`` table; ``params`` are the grid columns."""
    confidence = _confidence(confidence)
    params = list(params)
    metric_cols = [c for c in runs.columns if c not in (*params, "variant", "seed")]
    rows = []
    keys = params + ["variant"]
    groups = runs.groupby(keys, sort=False, dropna=False) if keys else [((), runs)]
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        for metric in metric_cols:
            values = pd.to_numeric(group[metric], errors="coerce").to_numpy(dtype=float)
            rows.append({**dict(zip(keys, key, strict=True)), "metric": metric,
                         **_stats(values, confidence)})
    return pd.DataFrame(rows, columns=[*params, *STATS_COLUMNS])


def t_quantile(p: float, df: int) -> float:
    """Quantile ``p`` (0.5 < p < 1) of Student's t with ``df`` degrees of freedom.

    Exact up to 1000 degrees of freedom: bisection on the closed-form t distribution function for an
    integer ``df`` (Abramowitz and Stegun 26.7.3-4). Above that, the Cornish-Fisher expansion around the
    normal quantile (A&S 26.7.5), whose error there is below 1e-12. No scipy needed.
    """
    if not 0.5 < p < 1:
        raise ValueError(f"p must be in (0.5, 1), got {p!r}")
    if isinstance(df, bool) or not isinstance(df, int) or df < 1:
        raise ValueError(f"df must be an integer >= 1, got {df!r}")
    return _t_quantile(float(p), df)


# -- running ---------------------------------------------------------------------------------------

def _run_cell(name: str, overrides: dict, events: int | None = None) -> dict:
    """One run in a worker: look the experiment up by name, so only plain data is pickled.

    ``events``: the run's share of the calling experiment's budget (None: a budget of its own).
    """
    exp = get(name)
    params = exp.make_params(**overrides)
    with budget.child(events) if events is not None else contextlib.nullcontext():
        return summaries(exp.run(params))


def _run_all(exp: Experiment, base: dict, tasks: list, executor, progress: bool, metrics=None) -> list:
    """Summaries for every task, in task order, whatever order the executor finishes them in.

    Inside an experiment's budget (a sweep run by an experiment), each run gets an equal share of what
    is left, so the sweep as a whole stays within it whatever the executor. With ``metrics`` given, the
    first run happens alone and the names are checked on its summary before any other run starts.
    """
    n = len(tasks)
    owned = None
    if executor is None:
        workers = min(2, os.cpu_count() or 1)
        if n <= SERIAL_MAX_RUNS or workers < 2:
            executor = "serial"
        else:
            executor = owned = cf.ProcessPoolExecutor(max_workers=workers)
    elif isinstance(executor, str):
        if executor != "serial":
            raise ValueError(f"executor must be None, 'serial' or a concurrent.futures.Executor, got {executor!r}")
    elif not callable(getattr(executor, "submit", None)):
        raise ValueError(f"executor must have a submit() method like concurrent.futures.Executor, got {executor!r}")
    elif get(exp.name) != exp:
        raise ValueError(f"experiment {exp.name!r} is not the registered one; workers look experiments up by "
                         "name, so register it with @experiment or use executor='serial'")

    pool = budget.current()
    share = None if pool is None else pool.events // n
    if share == 0:
        raise budget.Exhausted(pool.reason_events(0.0, math.nan))

    def local(cell):
        params = exp.make_params(**{**base, **cell})
        with budget.child(share) if share is not None else contextlib.nullcontext():
            return _checked(lambda: summaries(exp.run(params)), cell)

    bar = _progress_bar(n, progress and n > SERIAL_MAX_RUNS, _LISTENER.get())
    results = [None] * n
    try:
        if executor == "serial":
            for j in range(n):
                results[j] = local(tasks[j][2])
                bar.update()
                if j == 0 and metrics is not None:
                    _check_metrics(exp, metrics, results[0])
            return results
        first = 0
        if metrics is not None:  # one run on the executor first, to check the names before the others
            results[0] = _checked(executor.submit(_run_cell, exp.name, {**base, **tasks[0][2]}, share).result,
                                  tasks[0][2])
            bar.update()
            _check_metrics(exp, metrics, results[0])
            first = 1
        futures = {executor.submit(_run_cell, exp.name, {**base, **tasks[j][2]}, share): j for j in range(first, n)}
        try:
            standard = all(isinstance(f, cf.Future) for f in futures)
            for f in cf.as_completed(futures) if standard else futures:
                j = futures[f]
                results[j] = _checked(f.result, tasks[j][2])
                bar.update()
        except BaseException:
            for f in futures:
                f.cancel()
            raise
        if pool is not None:  # the workers spent from their shares: charge this pool
            pool.spend(sum(int(s.get("events") or 0) for r in results for s in r.values()))
        return results
    finally:
        bar.close()
        if owned is not None:
            owned.shutdown(wait=True, cancel_futures=True)


def _check_metrics(exp: Experiment, metrics: list, summ: dict) -> None:
    keys = list(dict.fromkeys(k for s in summ.values() for k in s))
    unknown = [m for m in metrics if m not in keys]
    if unknown:
        raise ValueError(f"experiment {exp.name!r} has no metric {', '.join(unknown)}; known: {', '.join(keys)} "
                         f"(checked on the first run, before the others)")


def _checked(call, cell: dict):
    try:
        return call()
    except Exception as exc:
        exc.add_note(f"in sweep run with {cell}")
        raise


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


class _Reported:
    """A progress bar that also tells a :func:`progress_to` listener."""

    def __init__(self, bar, listener, total: int):
        self.bar, self.listener, self.total, self.done = bar, listener, total, 0
        listener(0, total)

    def update(self, n: int = 1) -> None:
        self.bar.update(n)
        self.done += n
        self.listener(self.done, self.total)

    def close(self) -> None:
        self.bar.close()


def _progress_bar(total: int, enabled: bool, listener=None):
    if listener is not None:
        return _Reported(_progress_bar(total, enabled), listener, total)
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm  # imported only when a bar is shown

    # disable=None: a widget in a notebook, text on a terminal, nothing when stderr is not a terminal.
    return tqdm(total=total, desc="sweep", unit="run", disable=None)


# -- the tables --------------------------------------------------------------------------------------

def _runs_frame(exp: Experiment, tasks: list, results: list, cell_values: list, columns: list,
                metrics) -> pd.DataFrame:
    rows = []
    for (i, seed, _), summ in zip(tasks, results, strict=True):
        for variant, s in summ.items():
            rows.append({**cell_values[i], "variant": variant, "seed": seed, **s})
    keys = list(dict.fromkeys(k for s in results for summ in s.values() for k in summ))
    if metrics is None:
        metrics = [k for k in keys if _numeric_column(rows, k)]
    else:
        unknown = [m for m in metrics if m not in keys]
        if unknown:
            raise ValueError(f"experiment {exp.name!r} has no metric {', '.join(unknown)}; known: {', '.join(keys)}")
    bound = [r for r in rows if r.get("bound_hit")]
    if bound:
        warnings.warn(f"{len(bound)} of {len(rows)} runs stopped at a safety bound "
                      f"({bound[0].get('bound_reason')!s}); their numbers cover less time than asked",
                      RuntimeWarning, stacklevel=3)
    return pd.DataFrame(rows, columns=[*columns, "variant", "seed", *metrics])


def _numeric_column(rows: list, key: str) -> bool:
    values = [r.get(key) for r in rows]
    return all(isinstance(v, Real) and not isinstance(v, bool) for v in values if v is not None) and any(
        v is not None for v in values)


def _stats(values: np.ndarray, confidence: float) -> dict:
    values = values[np.isfinite(values)]
    n = len(values)
    mean = float(values.mean()) if n else math.nan
    std = float(values.std(ddof=1)) if n > 1 else math.nan
    if n > 1:
        half = _t_quantile((1 + confidence) / 2, n - 1) * std / math.sqrt(n)
        low, high = mean - half, mean + half
    else:
        low = high = math.nan
    return {"mean": mean, "std": std, "n": n, "ci_low": low, "ci_high": high}


# -- checking the arguments ----------------------------------------------------------------------------

def _base_params(exp: Experiment, base):
    if base is None:
        return exp.defaults()
    if isinstance(base, exp.params):
        return base
    if isinstance(base, Mapping):
        return exp.make_params(**base)
    raise ValueError(f"base must be None, a dict of overrides or a {exp.params.__name__}, got {base!r}")


def _cells(exp: Experiment, grid) -> list[dict]:
    known = [f.name for f in dataclasses.fields(exp.params)]
    if isinstance(grid, Mapping):
        for name, values in grid.items():
            if isinstance(values, str | bytes) or not isinstance(values, Iterable):
                raise ValueError(f"grid[{name!r}] must be a list of values, got {values!r}")
        names = list(grid)
        lists = [list(itertools.islice(grid[k], MAX_RUNS + 1)) for k in names]  # a generator stays bounded
        if math.prod(len(values) for values in lists) > MAX_RUNS:
            raise ValueError(f"this grid has more than {MAX_RUNS:,} cells; a sweep is at most {MAX_RUNS:,} runs")
        combos = itertools.product(*lists) if names else ()
        cells = [dict(zip(names, combo, strict=True)) for combo in combos]
    elif isinstance(grid, list | tuple):
        if not all(isinstance(cell, Mapping) for cell in grid):
            raise ValueError("grid must be a dict {param: [values]} or a list of {param: value} dicts")
        cells = [dict(cell) for cell in grid]
        names = list(dict.fromkeys(k for cell in cells for k in cell))
    else:
        raise ValueError(f"grid must be a dict {{param: [values]}} or a list of dicts, got {type(grid).__name__}")
    unknown = [k for k in names if k not in known]
    if unknown:
        raise ValueError(f"experiment {exp.name!r} has no parameter {', '.join(map(repr, unknown))}; "
                         f"known: {', '.join(known)}")
    if "seed" in names:
        raise ValueError("seed cannot be a grid parameter: pass seeds=[...] (every cell runs with every seed)")
    if not cells:
        raise ValueError("grid is empty: give at least one value for each parameter (or [{}] for base alone)")
    return cells


def _check_distinct(cell_values: list[dict]) -> None:
    """Two identical cells would be pooled into one row with twice the runs: fake replication."""
    seen = set()
    for values in cell_values:
        key = repr(sorted(values.items()))
        if key in seen:
            raise ValueError(f"grid cell {values} appears twice: each cell must differ (more runs: repetitions=)")
        seen.add(key)


def _check_size(grid, seeds, repetitions) -> None:
    """Refuse a sweep of more than MAX_RUNS runs from the lengths alone, before building any list."""
    if isinstance(repetitions, bool) or not isinstance(repetitions, int) or not 1 <= repetitions <= MAX_RUNS:
        raise ValueError(f"repetitions must be an integer in [1, {MAX_RUNS:,}], got {repetitions!r}")
    n_seeds = repetitions
    if seeds is not None and hasattr(seeds, "__len__") and not isinstance(seeds, str | bytes):
        n_seeds = max(len(seeds), 1)
    cells = 1
    if isinstance(grid, Mapping):
        for values in grid.values():
            if hasattr(values, "__len__") and not isinstance(values, str | bytes):
                cells *= len(values)
    elif hasattr(grid, "__len__") and not isinstance(grid, str | bytes):
        cells = len(grid)
    if cells * n_seeds > MAX_RUNS:
        raise ValueError(f"this sweep asks for {cells:,} grid cells × {n_seeds:,} seeds = {cells * n_seeds:,} runs; "
                         f"a sweep is at most {MAX_RUNS:,} runs: use fewer values or seeds")


def _seeds(seeds, repetitions, base_seed: int) -> list[int]:
    if isinstance(repetitions, bool) or not isinstance(repetitions, int) or repetitions < 1:
        raise ValueError(f"repetitions must be an integer >= 1, got {repetitions!r}")
    if seeds is None:
        return [base_seed + k for k in range(repetitions)]
    if isinstance(seeds, str | bytes) or not isinstance(seeds, Iterable):
        raise ValueError(f"seeds must be a list of integers, got {seeds!r}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed")
    if not all(isinstance(s, int | np.integer) and not isinstance(s, bool) for s in seeds):
        raise ValueError(f"seeds must be integers, got {seeds!r}")
    seeds = [int(s) for s in seeds]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds repeat ({seeds}): a repeated seed repeats a run, it is not a new sample")
    if repetitions not in (1, len(seeds)):
        raise ValueError(f"repetitions={repetitions} but {len(seeds)} seeds given: give one or the other")
    return seeds


def _metric_names(metrics) -> list[str]:
    if isinstance(metrics, str):
        metrics = [metrics]
    metrics = list(metrics)
    if not metrics:
        raise ValueError("metrics is empty: leave it None for every numeric summary key")
    return metrics


def _confidence(confidence) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, Real) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return float(confidence)


def _overrides(params) -> dict:
    """``params`` as plain keyword arguments for ``make_params`` in a worker."""
    return {f.name: getattr(params, f.name) for f in dataclasses.fields(params)}


# -- Student's t without scipy ---------------------------------------------------------------------------

def _t_two_sided(t: float, df: int) -> float:
    """P(|T| <= t) for Student's t with integer ``df`` (Abramowitz and Stegun 26.7.3 and 26.7.4)."""
    theta = math.atan(t / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    s = math.sin(theta)
    if df % 2 == 0:
        term = total = 1.0
        for k in range(2, df - 1, 2):  # 1 + (1/2) c^2 + (1*3)/(2*4) c^4 + ... up to c^(df-2)
            term *= c2 * (k - 1) / k
            total += term
        return s * total
    if df == 1:
        return 2 * theta / math.pi
    term = total = 1.0
    for k in range(3, df - 1, 2):  # 1 + (2/3) c^2 + (2*4)/(3*5) c^4 + ... up to c^(df-3)
        term *= c2 * (k - 1) / k
        total += term
    return 2 / math.pi * (theta + s * math.cos(theta) * total)


@lru_cache(maxsize=512)
def _t_quantile(p: float, df: int) -> float:
    z = statistics.NormalDist().inv_cdf(p)
    if df > 1000:
        g1 = (z**3 + z) / 4
        g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
        g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
        g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
        return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4
    target = 2 * p - 1
    lo, hi = 0.0, max(z, 1.0)
    while _t_two_sided(hi, df) < target:
        lo, hi = hi, hi * 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if _t_two_sided(mid, df) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2

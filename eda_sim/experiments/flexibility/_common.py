"""Helpers shared by the flexibility experiments: arrays from a run's logs, rates per bin, fluid backlog."""

from __future__ import annotations

import numpy as np

SEED_MAX = 2**63 - 1


# -- shared helpers ------------------------------------------------------------------------------------
def _log_arrays(result, name: str):
    """Status, done and created times of every message copy one subscription (or client) handled."""
    system = result.system
    log, msgs = system.logs[name], system.messages
    n = min(len(log.status), msgs.count)
    return (np.frombuffer(log.status, dtype=np.int8, count=n), np.frombuffer(log.done, count=n),
            np.frombuffer(msgs.created, count=n))


def _created(result) -> np.ndarray:
    msgs = result.system.messages
    return np.frombuffer(msgs.created, count=msgs.count)


def rate_per_bin(times, until: float, width: float):
    """Events per second in consecutive bins of ``width`` seconds: (bin centres, rates)."""
    edges = np.arange(0.0, until + width / 2, width)
    counts, _ = np.histogram(times, edges)
    return (edges[:-1] + edges[1:]) / 2, counts / width


def sliding_mean(x, y, until: float, width: float, step: float):
    """Mean of ``y`` over points whose ``x`` lies in a window of ``width`` s centred every ``step`` s.

    Windows with no point give NaN (a gap in the line)."""
    order = np.argsort(x, kind="stable")
    x, y = np.asarray(x)[order], np.asarray(y)[order]
    csum = np.concatenate(([0.0], np.cumsum(y)))
    centres = np.arange(width / 2, until - width / 2 + 1e-9, step)
    lo = np.searchsorted(x, centres - width / 2)
    hi = np.searchsorted(x, centres + width / 2)
    n = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, (csum[hi] - csum[lo]) / np.maximum(n, 1), np.nan)
    return centres, mean


def fluid_backlog(t, arrival_rate, capacity) -> np.ndarray:
    """Backlog of a fluid queue on the grid ``t``: it grows at arrival_rate - capacity and never goes
    below zero (the deterministic approximation of a queue whose rates change over time).

    ``arrival_rate`` and ``capacity`` are arrays on the same grid (messages per second)."""
    t = np.asarray(t, dtype=float)
    out = np.zeros_like(t)
    for i in range(1, len(t)):
        dt = t[i] - t[i - 1]
        out[i] = max(0.0, out[i - 1] + (arrival_rate[i - 1] - capacity[i - 1]) * dt)
    return out

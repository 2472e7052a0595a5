"""Helpers shared by the costs experiments: the seed range, table tidying, arrays from a run's logs."""

from __future__ import annotations

import numpy as np

SEED_MAX = 2**63 - 1


def _tidy(frame, digits: int = 3):
    """A table for reading: whole numbers shown as integers, the rest rounded to ``digits`` decimals."""
    import pandas as pd

    def cell(x):
        x = float(x)
        return int(x) if x.is_integer() else round(x, digits)

    return pd.DataFrame({c: pd.Series([cell(x) for x in frame[c]], index=frame.index, dtype=object)
                         for c in frame.columns})


def _arrays(result, name: str):
    """(status, created, done, key) per message id for subscription ``name`` of a run (numpy views)."""
    system = result.system
    log, msgs = system.logs[name], system.messages
    n = min(len(log.status), msgs.count)
    return (np.frombuffer(log.status, dtype=np.int8, count=n), np.frombuffer(msgs.created, count=n),
            np.frombuffer(log.done, count=n), msgs.keys(n))

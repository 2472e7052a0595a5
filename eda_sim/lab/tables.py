"""Tables as a learner should see them: units in the headers, sensible rounding, "–" where a value
does not apply, never a raw Python repr or float noise such as ``1.4000000000000001``.

``tidy(frame)`` returns a pandas ``Styler`` (it renders as an HTML table in JupyterLab and Voilà;
the numbers underneath are unchanged, so code can still read them). ``parameters(p)`` shows a
parameter dataclass as a two-column table instead of ``print(p)``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from numbers import Integral, Real

import pandas as pd

#: What a cell shows where a value does not apply (NaN, None, missing).
NOT_APPLICABLE = "–"


def number(value, decimals: int = 2) -> str:
    """One value as text: whole numbers without decimals, others rounded, NaN as "–"."""
    if value is None or isinstance(value, bool):
        return NOT_APPLICABLE if value is None else ("yes" if value else "no")
    if isinstance(value, Integral):
        return f"{int(value):,}"
    if isinstance(value, Real):
        v = float(value)
        if not math.isfinite(v):
            return NOT_APPLICABLE if math.isnan(v) else ("∞" if v > 0 else "−∞")
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
        return f"{v:,.{decimals}f}"
    return str(value)


def tidy(frame, decimals: int | Mapping[str, int] = 2, caption: str | None = None):
    """A DataFrame (or Series) styled for reading: numbers rounded (``decimals``, or one count per
    column), thousands separated, "–" for missing values, an optional caption."""
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"tidy() needs a pandas DataFrame or Series, got {type(frame).__name__}")
    per_column = dict(decimals) if isinstance(decimals, Mapping) else {}
    default = 2 if isinstance(decimals, Mapping) else int(decimals)
    formats = {c: (lambda v, d=per_column.get(c, default): number(v, d)) for c in frame.columns}
    styler = frame.style.format(formats, na_rep=NOT_APPLICABLE)
    if caption:
        styler = styler.set_caption(caption)
    return styler


def parameters(params, labels: Mapping[str, str] | None = None, decimals: int = 3):
    """A parameter dataclass as a table of "parameter" and "value" (labels may add units)."""
    if not dataclasses.is_dataclass(params) or isinstance(params, type):
        raise TypeError(f"parameters() needs a dataclass instance, got {params!r}")
    labels = labels or {}
    rows = {labels.get(f.name, f.name.replace("_", " ")): number(getattr(params, f.name), decimals)
            for f in dataclasses.fields(params) if f.repr}
    frame = pd.DataFrame({"value": list(rows.values())}, index=pd.Index(list(rows), name="parameter"))
    return frame.style

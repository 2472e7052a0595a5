"""Parameter checks that fail early with a message naming the parameter and its allowed range.

Every public constructor calls these, so a bad slider value or a typo in ``--set`` never reaches
SimPy, where it would surface as an obscure traceback or a simulation that never ends.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Integral, Real


def number(name: str, value, lo: float = -math.inf, hi: float = math.inf, *,
           lo_open: bool = False, hi_open: bool = False) -> float:
    """Return ``value`` as a float if it is a finite real within [lo, hi] (or open ends)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number in {_range(lo, hi, lo_open, hi_open)}, got {value!r}")
    v = float(value)
    too_low = v <= lo if lo_open else v < lo
    too_high = v >= hi if hi_open else v > hi
    if too_low or too_high:
        raise ValueError(f"{name} must be in {_range(lo, hi, lo_open, hi_open)}, got {value!r}")
    return v


def positive(name: str, value, hi: float = math.inf) -> float:
    """A strictly positive, finite number."""
    return number(name, value, 0.0, hi, lo_open=True)


def non_negative(name: str, value, hi: float = math.inf) -> float:
    return number(name, value, 0.0, hi)


def fraction(name: str, value) -> float:
    """A probability in [0, 1]."""
    return number(name, value, 0.0, 1.0)


def integer(name: str, value, lo: int = 0, hi: int | None = None) -> int:
    """Return ``value`` as an int within [lo, hi]; floats with an integral value are accepted."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer in {_irange(lo, hi)}, got {value!r}")
    if isinstance(value, Real) and not isinstance(value, Integral):
        if math.isfinite(value) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer in {_irange(lo, hi)}, got {value!r}")
    if not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer in {_irange(lo, hi)}, got {value!r}")
    v = int(value)
    if v < lo or (hi is not None and v > hi):
        raise ValueError(f"{name} must be an integer in {_irange(lo, hi)}, got {value!r}")
    return v


def choice(name: str, value, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def window(name: str, start, end) -> tuple[float, float]:
    """A time window with 0 <= start < end."""
    s = non_negative(f"{name} start", start)
    e = number(f"{name} end", end, s, math.inf, lo_open=True)
    return s, e


def _range(lo, hi, lo_open, hi_open) -> str:
    left = "(" if lo_open or math.isinf(lo) else "["
    right = ")" if hi_open or math.isinf(hi) else "]"
    return f"{left}{_fmt(lo)}, {_fmt(hi)}{right}"


def _irange(lo, hi) -> str:
    return f"[{lo}, {hi}]" if hi is not None else f"[{lo}, ∞)"


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    return f"{x:g}"

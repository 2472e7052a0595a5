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
    if lo > hi or (lo == hi and (lo_open or hi_open)):
        # A lower bound set by another parameter passed the upper one: no value of this one fits, so
        # say which bounds clash instead of printing an empty range such as [1e+12, 1e+06].
        raise ValueError(f"no value of {name} fits: the other parameters need it {'>' if lo_open else '>='} "
                         f"{_fmt(lo)}, but it can be at most {_fmt(hi)} (got {value!r}); change the parameters "
                         f"that set the lower bound")
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


def label(name: str, value) -> str:
    """A non-empty string naming something (a component, a random stream)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a non-empty string, got {type(value).__name__} {value!r}")
    if not value:
        raise ValueError(f"{name} must be a non-empty string, got ''")
    return value


def instance(name: str, value, kind: type | tuple, what: str):
    """``value`` if it is a ``kind``; else a TypeError naming the parameter and what it should be."""
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} {_short(value)}")
    return value


def system(value, who: str) -> None:
    """A component's first argument must be the System it belongs to (checked by what a System has)."""
    if not (hasattr(value, "register") and hasattr(value, "env") and hasattr(value, "streams")):
        raise TypeError(f"{who}'s first argument must be the System it belongs to, got {type(value).__name__} "
                        f"{_short(value)}")


def _short(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def choice(name: str, value, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    try:
        known = value in allowed
    except TypeError:  # an unhashable or odd value: not one of the allowed ones
        known = False
    if not known:
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

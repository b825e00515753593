"""Rounding to an exchange grid (tick size for prices, step size for quantities).

The one implementation of "floor / ceil to a step" in the tree: model, sizing and exits all use it.
Results are exact in decimal terms (a multiple of the step as written, e.g. 0.75 for step 0.25)
and never cross the input: a floor is never above it, a ceiling never below it, however close the
input sits to a grid point (0.0999999999 floors to 0.0 at step 0.1, not to 0.1).
"""

from __future__ import annotations

import math
from decimal import Decimal
from functools import lru_cache


@lru_cache(maxsize=1024)
def decimals_of(step: float) -> int:
    """Number of decimals needed to write multiples of ``step`` exactly (0.1 -> 1, 0.25 -> 2, 5.0 -> 0)."""
    exponent = Decimal(repr(step)).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


_GRIDS: dict[float, tuple[int, int]] = {}
_EXACT = 2.0**53  # quotients up to this size have an exact integer floor in a float


def _grid(step: float) -> tuple[int, int]:
    """``step`` as an exact fraction ``units / scale`` with ``scale`` a power of ten (0.25 -> 25 / 100)."""
    grid = _GRIDS.get(step)
    if grid is None:
        places = decimals_of(step)
        # Exact decimal arithmetic: ``step * scale`` in floats overflows for a tiny step (1e-320).
        grid = _GRIDS[step] = (int(Decimal(repr(step)).scaleb(places)), 10**places)
    return grid


def floor_to_step(value: float, step: float) -> float:
    """Largest multiple of ``step`` (> 0) that is <= ``value``; both finite, any unit (price, qty).

    The float quotient ``value / step`` can land on the wrong side of a grid point (0.3 / 0.1 =
    2.9999999999999996), so near a grid point the candidates are compared with ``value`` itself
    instead of being nudged by an epsilon, which could round just above ``value``. A grid point
    ``n x step`` is computed as the integer ``n x units`` over the power of ten ``scale``: Python
    divides integers with correct rounding, so the result is the float nearest the exact decimal
    (what ``round(n * step, places)`` gives, at a fraction of its cost).
    """
    grid = _GRIDS.get(step)
    units, scale = grid if grid is not None else _grid(step)
    quotient = value / step
    if not -_EXACT < quotient < _EXACT:
        # Beyond 2**53 steps every float is already as fine as the grid can be told apart (and an
        # infinite quotient has no integer floor): the value itself is the answer. NaN is refused.
        if quotient != quotient:
            raise ValueError(f"floor_to_step: value and step must be numbers (got {value!r} / {step!r})")
        return value + 0.0
    n = math.floor(quotient)
    fraction = quotient - n
    low = n * units / scale
    # ``+ 0.0`` turns -0.0 (n = 0 of a negated ceiling) into 0.0.
    # The quotient is off by a few ulps at most, so away from a grid point its floor is exact.
    slack = 4.0 * math.ulp(quotient)
    if slack < fraction < 1.0 - slack:
        return low + 0.0
    if low > value:
        return (n - 1) * units / scale + 0.0
    high = (n + 1) * units / scale
    return (high if high <= value else low) + 0.0


def ceil_to_step(value: float, step: float) -> float:
    """Smallest multiple of ``step`` (> 0) that is >= ``value``: the mirror of :func:`floor_to_step`."""
    return -floor_to_step(-value, step) + 0.0

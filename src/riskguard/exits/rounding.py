"""Exchange rounding of exit prices (tick size) and leg quantities (step size), in integer units."""

from __future__ import annotations

import math
from decimal import Decimal
from functools import lru_cache

from riskguard.model.errors import InputValidationError

_EPS = 1e-9
"""Slack in units of one tick / step so that 0.3 / 0.1 = 2.9999999999999996 still counts as 3 ticks."""


@lru_cache(maxsize=256)
def decimals_of(increment: float) -> int:
    """Number of decimals needed to print multiples of ``increment`` exactly (0.1 -> 1, 0.0005 -> 4)."""
    exponent = Decimal(repr(increment)).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def floor_to(value: float, increment: float) -> float:
    """Largest multiple of ``increment`` at or below ``value``."""
    return round(math.floor(value / increment + _EPS) * increment, decimals_of(increment))


def ceil_to(value: float, increment: float) -> float:
    """Smallest multiple of ``increment`` at or above ``value``."""
    return round(math.ceil(value / increment - _EPS) * increment, decimals_of(increment))


def to_steps(field: str, qty: float, step: float) -> int:
    """``qty`` as a whole number of steps; raises naming ``field`` if it is not on the step grid."""
    steps = round(qty / step)
    if steps <= 0 or abs(qty / step - steps) > 1e-6:
        raise InputValidationError(field, f"must be a positive multiple of the step size {step!r}", qty)
    return steps


def split_steps(total: int, fractions: tuple[float, ...], min_steps: int) -> tuple[int, ...]:
    """Split ``total`` steps into legs by cumulative ``fractions`` so that the legs sum to ``total``.

    Each cumulative share is floored to a whole step (the last leg takes the rest), then any leg
    below ``min_steps`` (the exchange minimum quantity) is merged into the next leg, the last one
    into the previous leg. A merged leg is returned as 0 steps and must be dropped by the caller.
    """
    legs: list[int] = []
    done = 0
    cumulative = 0.0
    for i, fraction in enumerate(fractions):
        cumulative += fraction
        upto = total if i == len(fractions) - 1 else min(total, math.floor(cumulative * total + _EPS))
        legs.append(upto - done)
        done = upto
    for i in range(len(legs) - 1):
        if 0 < legs[i] < min_steps:
            legs[i + 1] += legs[i]
            legs[i] = 0
    last = len(legs) - 1
    if 0 < legs[last] < min_steps:
        earlier = [i for i in range(last) if legs[i] > 0]
        if earlier:
            legs[earlier[-1]] += legs[last]
            legs[last] = 0
    return tuple(legs)

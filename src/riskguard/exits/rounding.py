"""Exchange rounding of exit prices (tick size) and leg quantities (step size), in integer units.

``floor_to`` / ``ceil_to`` / ``decimals_of`` are ``riskguard.model.rounding``'s, re-exported for the
exit modules.
"""

from __future__ import annotations

import math

from riskguard.model.errors import InputValidationError
from riskguard.model.rounding import ceil_to_step as ceil_to
from riskguard.model.rounding import decimals_of
from riskguard.model.rounding import floor_to_step as floor_to

__all__ = ["ceil_to", "decimals_of", "floor_to", "split_steps", "to_steps"]

_EPS = 1e-9
"""Slack in units of one step when splitting a whole number of steps by fractions (1/3 x 3 = 1)."""


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

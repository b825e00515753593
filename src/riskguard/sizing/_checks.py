"""Boundary checks for the sizing hot path: a float fast path, then the same errors as riskguard.model."""

from __future__ import annotations

import math

from riskguard.model.errors import InputValidationError

_INF = math.inf


def positive(field: str, value: float) -> float:
    """A finite number > 0 as a float; raises ``InputValidationError`` naming ``field`` otherwise."""
    if value.__class__ is float:
        if 0.0 < value < _INF:
            return value
    elif isinstance(value, int | float) and not isinstance(value, bool) and 0.0 < value < _INF:
        return float(value)
    raise InputValidationError(field, "must be a finite number > 0", value)


def unit_interval(field: str, value: float) -> float:
    """A number within [0, 1] as a float (NaN refused)."""
    if value.__class__ is float:
        if 0.0 <= value <= 1.0:
            return value
    elif isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value <= 1.0:
        return float(value)
    raise InputValidationError(field, "must be a number within [0, 1]", value)


def non_negative(field: str, value: float) -> float:
    """A finite number >= 0 as a float."""
    if value.__class__ is float:
        if 0.0 <= value < _INF:
            return value
    elif isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value < _INF:
        return float(value)
    raise InputValidationError(field, "must be a finite number >= 0", value)

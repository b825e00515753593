"""Cheap boundary checks used by the model constructors (plain float maths, no pydantic)."""

from __future__ import annotations

import math

from riskguard.model.errors import InputValidationError


def finite(field: str, value: object) -> float:
    """Return ``value`` as a float, or raise naming ``field`` if it is not a finite real number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputValidationError(field, "must be a number", value)
    result = float(value)
    if not math.isfinite(result):
        raise InputValidationError(field, "must be finite (NaN and infinity are refused)", value)
    return result


def positive(field: str, value: object) -> float:
    """A finite number strictly above zero."""
    result = finite(field, value)
    if result <= 0.0:
        raise InputValidationError(field, "must be > 0", value)
    return result


def non_negative(field: str, value: object) -> float:
    """A finite number at or above zero."""
    result = finite(field, value)
    if result < 0.0:
        raise InputValidationError(field, "must be >= 0", value)
    return result


def optional_positive(field: str, value: object) -> float | None:
    """None, or a finite number above zero."""
    return None if value is None else positive(field, value)


def fraction(field: str, value: object) -> float:
    """A finite number in [0, 1]."""
    result = finite(field, value)
    if not 0.0 <= result <= 1.0:
        raise InputValidationError(field, "must be within [0, 1]", value)
    return result


def timestamp_ms(field: str, value: object) -> int:
    """A non-negative integer epoch-millisecond timestamp."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputValidationError(field, "must be epoch milliseconds (a number)", value)
    if isinstance(value, float) and not math.isfinite(value):
        raise InputValidationError(field, "must be finite", value)
    if value < 0:
        raise InputValidationError(field, "must be >= 0", value)
    return int(value)


def identifier(field: str, value: object) -> str:
    """A non-empty string without surrounding whitespace."""
    if not isinstance(value, str) or not value.strip():
        raise InputValidationError(field, "must be a non-empty string", value)
    return value.strip()


def symbol(field: str, value: object) -> str:
    """An exchange symbol, normalised to Binance's id form: ``BTC/USDT:USDT`` -> ``BTCUSDT``."""
    text = identifier(field, value).upper()
    if "/" in text:
        base, _, rest = text.partition("/")
        quote = rest.split(":", 1)[0]
        text = base + quote
    if not text.isalnum():
        raise InputValidationError(field, "must be an exchange symbol such as BTCUSDT", value)
    return text


def json_fields(what: str, data: object, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, object]:
    """``data`` as keyword arguments for a model type: a JSON object whose keys are all in ``allowed``
    and include ``required``; an unknown or missing key is refused by name."""
    if not isinstance(data, dict):
        raise InputValidationError(what, "must be a JSON object", type(data).__name__)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise InputValidationError(unknown[0], f"is not a field of {what}", data[unknown[0]])
    for name in required:
        if name not in data:
            raise InputValidationError(name, "is required", None)
    return data

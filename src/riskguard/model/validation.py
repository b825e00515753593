"""Cheap boundary checks used by the model constructors (plain float maths, no pydantic)."""

from __future__ import annotations

import math
import sys

from riskguard.model.errors import InputValidationError

SMALLEST_NORMAL = sys.float_info.min
"""2.2e-308: below it (but not zero) a float is subnormal, and dividing by it overflows to infinity."""
SMALLEST_PRICE = 1e-12
"""The smallest price (USDT) a model accepts: far below any listed contract, and large enough that a
notional of :data:`LARGEST_AMOUNT` divided by it stays a finite quantity."""
LARGEST_PRICE = 1e12
"""The largest price (USDT) a model accepts."""
LARGEST_AMOUNT = 1e15
"""The largest size, notional or NAV a model accepts (USDT or base units): products of two such
values stay finite, so no gate meets an infinity it did not ask for."""


def finite(field: str, value: object) -> float:
    """Return ``value`` as a float, or raise naming ``field`` if it is not a finite real number
    (NaN, infinity, an integer beyond float range)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputValidationError(field, "must be a number", value)
    try:
        result = float(value)
    except OverflowError:
        raise InputValidationError(field, "must be within float range (about 1.8e308)", _short(value)) from None
    if not math.isfinite(result):
        raise InputValidationError(field, "must be finite (NaN and infinity are refused)", value)
    return result


def _short(value: object) -> object:
    """``value`` for an error message: a huge integer by its digit count, not its 400 digits."""
    if isinstance(value, int) and abs(value) > 10**30:
        return f"an integer of {len(str(abs(value)))} digits"
    return value


def price(field: str, value: object) -> float:
    """A price in USDT: finite, within [SMALLEST_PRICE, LARGEST_PRICE]."""
    result = positive(field, value)
    if not SMALLEST_PRICE <= result <= LARGEST_PRICE:
        raise InputValidationError(field, f"must be a price within [{SMALLEST_PRICE:g}, {LARGEST_PRICE:g}] USDT",
                                   value)
    return result


def optional_price(field: str, value: object) -> float | None:
    """None, or a :func:`price`."""
    return None if value is None else price(field, value)


def amount(field: str, value: object) -> float:
    """A size, notional or NAV: finite, > 0 and at most LARGEST_AMOUNT."""
    result = positive(field, value)
    if result > LARGEST_AMOUNT:
        raise InputValidationError(field, f"must be at most {LARGEST_AMOUNT:g}", value)
    if result < SMALLEST_NORMAL:
        raise InputValidationError(field, "must not be a subnormal number (closer to 0 than 2.2e-308)", value)
    return result


def non_negative_amount(field: str, value: object) -> float:
    """A balance: finite, >= 0 and at most LARGEST_AMOUNT."""
    return 0.0 if non_negative(field, value) == 0.0 else amount(field, value)


def optional_amount(field: str, value: object) -> float | None:
    """None, or an :func:`amount`."""
    return None if value is None else amount(field, value)


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


EPOCH_MS_MAX = 4_102_444_800_000
"""2100-01-01 00:00 UTC in epoch ms: the first instant riskguard refuses as a timestamp. A clock in
microseconds (about 1.7e15 today) or nanoseconds lands far beyond it, so a unit mistake is caught at
the boundary instead of dating a NAV mark in the year 56,555."""


def timestamp_ms(field: str, value: object) -> int:
    """An epoch-millisecond timestamp in [1970-01-01, 2100-01-01): an int, or a float with an
    integral value (``1.7e12``); anything else is refused naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputValidationError(field, "must be epoch milliseconds (an integer)", value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputValidationError(field, "must be finite epoch milliseconds", value)
        if not value.is_integer():
            raise InputValidationError(field, "must be whole epoch milliseconds (no fraction)", value)
    if value < 0:
        raise InputValidationError(field, "must be epoch milliseconds >= 0 (1970-01-01)", value)
    if value >= EPOCH_MS_MAX:
        unit = (" (this looks like microseconds or nanoseconds: divide by 1,000 or 1,000,000)"
                if value >= EPOCH_MS_MAX * 100 else "")
        raise InputValidationError(field, f"must be epoch milliseconds before 2100-01-01 ({EPOCH_MS_MAX}){unit}",
                                   value)
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

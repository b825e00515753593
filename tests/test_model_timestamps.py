"""Epoch-millisecond timestamps are range-checked where they enter the model."""

from __future__ import annotations

import pytest

from riskguard.model import AccountSnapshot, MarketSnapshot, OrderIntent
from riskguard.model.errors import InputValidationError
from riskguard.model.position import Position

NOW_MS = 1_767_618_000_000  # 2026-01-05 13:00 UTC


@pytest.mark.parametrize("value", [NOW_MS * 1000, NOW_MS * 1_000_000])
def test_microseconds_or_nanoseconds_passed_as_ms_are_refused_naming_the_field(value: int) -> None:
    with pytest.raises(InputValidationError, match=r"^ts_ms: .*2100-01-01.*microseconds") as caught:
        AccountSnapshot(nav=4_400.0, ts_ms=value)
    assert caught.value.field == "ts_ms"


def test_a_timestamp_in_an_absurd_year_is_refused() -> None:
    with pytest.raises(InputValidationError, match=r"^ts_ms: must be epoch milliseconds before 2100"):
        MarketSnapshot("BTCUSDT", 60_000.0, 5_000_000_000_000)  # year 2128


def test_a_negative_timestamp_is_refused_naming_the_field() -> None:
    with pytest.raises(InputValidationError, match=r"^opened_ts_ms: must be epoch milliseconds >= 0"):
        Position("BTCUSDT", "LONG", 0.01, 60_000.0, "s", opened_ts_ms=-1)


def test_a_fractional_millisecond_is_refused_and_an_integral_float_accepted() -> None:
    with pytest.raises(InputValidationError, match=r"^ts_ms: must be whole epoch milliseconds"):
        OrderIntent("i", "s", "BTCUSDT", "BUY", notional=100.0, ts_ms=NOW_MS + 0.5)
    assert OrderIntent("i", "s", "BTCUSDT", "BUY", notional=100.0, ts_ms=float(NOW_MS)).ts_ms == NOW_MS


def test_the_exchange_time_of_a_quote_is_range_checked_too() -> None:
    with pytest.raises(InputValidationError, match=r"^exchange_ts_ms: "):
        MarketSnapshot("BTCUSDT", 60_000.0, NOW_MS, exchange_ts_ms=NOW_MS * 1000)


def test_a_timestamp_up_to_2100_is_accepted() -> None:
    assert AccountSnapshot(nav=1.0, ts_ms=4_102_444_799_999).ts_ms == 4_102_444_799_999

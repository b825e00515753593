"""Model types built from JSON refuse unknown, missing and malformed fields by name."""

from __future__ import annotations

import pytest

from riskguard import InputValidationError, OrderIntent, Position, Signal


def test_unknown_intent_field_is_refused_by_name() -> None:
    with pytest.raises(InputValidationError) as error:
        OrderIntent.from_dict({"intent_id": "a", "strategy": "s", "symbol": "BTCUSDT", "side": "BUY",
                               "notional": 100.0, "levrage": 3})
    assert error.value.field == "levrage"


def test_missing_signal_side_is_refused_by_name() -> None:
    with pytest.raises(InputValidationError) as error:
        Signal.from_dict({"signal_id": "a", "strategy": "s", "symbol": "BTCUSDT"})
    assert error.value.field == "side"


def test_position_from_a_list_is_refused() -> None:
    with pytest.raises(InputValidationError) as error:
        Position.from_dict(["BTCUSDT"])  # type: ignore[arg-type]
    assert error.value.field == "a position"


def test_ccxt_symbol_spelling_is_normalised() -> None:
    intent = OrderIntent.from_dict({"intent_id": "a", "strategy": "s", "symbol": "BTC/USDT:USDT", "side": "buy",
                                    "notional": 100.0})
    assert intent.symbol == "BTCUSDT" and intent.side == "BUY"

"""STATE.json parsing: defaults, decision time, and errors that name the field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskguard import RiskEngine, preset
from riskguard.cli.output import InputFileError
from riskguard.cli.state import load_state, parse_state
from riskguard.examples import EXAMPLES, read_example
from riskguard.model.enums import TradingState
from riskguard.model.errors import InputValidationError


def example() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(read_example("state_moderate"))
    return data


def field_of(data: object) -> str:
    with pytest.raises(InputValidationError) as info:
        parse_state(data)
    return info.value.field


def test_shipped_state_has_a_fixed_clock_and_fresh_snapshots() -> None:
    state = load_state("example:state_moderate")
    assert state.now_ms == 1_767_618_000_000
    assert state.account is not None and state.account.nav == 4_400.0
    assert state.now_ms - state.account.ts_ms < 30_000
    assert {m.symbol for m in state.markets} >= {"BTCUSDT", "ETHUSDT", "SOLUSDT"}
    assert all(0 <= state.now_ms - m.ts_ms < 10_000 for m in state.markets)
    assert [p.symbol for p in state.positions] == ["ETHUSDT"]


def test_now_defaults_to_the_newest_timestamp_in_the_file() -> None:
    data = example()
    del data["now_ms"]
    newest = max(m["ts_ms"] for m in data["markets"])
    assert parse_state(data).now_ms == newest


def test_empty_object_is_a_state_without_nav_or_quotes() -> None:
    state = parse_state({})
    assert state.account is None and state.markets == () and state.positions == ()
    assert state.trading_state is TradingState.ACTIVE


def test_trading_state_is_case_insensitive() -> None:
    data = example()
    data["trading_state"] = "halted"
    assert parse_state(data).trading_state is TradingState.HALTED


def test_unknown_trading_state_is_named() -> None:
    data = example()
    data["trading_state"] = "PAUSED"
    assert field_of(data) == "trading_state"


def test_unknown_root_field_is_named() -> None:
    data = example()
    data["positons"] = []
    assert field_of(data) == "positons"


def test_missing_account_nav_is_named() -> None:
    data = example()
    del data["account"]["nav"]
    assert field_of(data) == "account.nav"


def test_nan_mark_price_is_named_with_its_index() -> None:
    data = example()
    data["markets"][2]["mark_price"] = float("nan")
    assert field_of(data) == "markets[2].mark_price"


def test_duplicate_market_symbol_is_refused() -> None:
    data = example()
    data["markets"].append(dict(data["markets"][0]))
    assert field_of(data) == f"markets[{len(data['markets']) - 1}].symbol"


def test_bad_position_side_is_named() -> None:
    data = example()
    data["positions"][0]["side"] = "UP"
    assert field_of(data) == "positions[0].side"


def test_markets_must_be_an_array() -> None:
    assert field_of({"markets": {"symbol": "BTCUSDT"}}) == "markets"


def test_root_must_be_an_object() -> None:
    assert field_of([1, 2]) == "(root)"


def test_load_state_names_the_file() -> None:
    with pytest.raises(InputFileError) as info:
        load_state("example:missing")
    assert info.value.source == "example:missing"


def test_apply_feeds_the_engine() -> None:
    state = load_state("example:state_moderate")
    engine = RiskEngine(preset("moderate"), clock=lambda: state.now_ms)
    state.apply(engine)
    assert engine.account == state.account
    assert set(engine.markets) == {m.symbol for m in state.markets}
    assert engine.book.open_count == 1


def test_with_nav_keeps_the_account_timestamp() -> None:
    state = load_state("example:state_moderate")
    changed = state.with_nav(1_000.0)
    assert changed.account is not None and state.account is not None
    assert (changed.account.nav, changed.account.ts_ms) == (1_000.0, state.account.ts_ms)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_shipped_example_is_valid_json(name: str) -> None:
    assert isinstance(json.loads(read_example(name)), dict)


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)


@given(section=st.sampled_from(["account", "markets", "positions"]), key=st.sampled_from(
    ["nav", "ts_ms", "symbol", "mark_price", "bid", "ask", "side", "qty", "entry_price", "strategy", "leverage"]),
    value=JSON_VALUES)
@settings(max_examples=150, deadline=None)
def test_any_json_value_in_any_field_parses_or_fails_naming_a_field(section: str, key: str, value: object) -> None:
    data = example()
    target = data["account"] if section == "account" else data[section][0]
    target[key] = value
    try:
        parse_state(data)
    except InputValidationError as exc:
        assert exc.field.startswith(section)

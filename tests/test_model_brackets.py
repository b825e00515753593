"""Leverage brackets as Binance assigns them: floor-inclusive tiers, and no leverage beyond the last one.

The property tests read the real tiers of every Binance USD-M symbol from
../shared/data/freqtrade-testdata/binance_leverage_tiers.json where it lies.
"""

from __future__ import annotations

import functools
import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import NAV, buy, check_of, make_engine
from riskguard import RiskEngine, preset
from riskguard.engine.instruments import default_instruments
from riskguard.model.instrument import InstrumentRules, LeverageBracket, bracket_containing

DATA = Path(os.environ.get("RISKGUARD_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
TIERS_FILE = DATA / "freqtrade-testdata" / "binance_leverage_tiers.json"


@functools.cache
def _real_tiers() -> dict[str, list[dict[str, Any]]]:
    if not TIERS_FILE.exists():
        pytest.skip(f"real leverage tiers not found at {TIERS_FILE} (set RISKGUARD_SHARED_DATA)")
    data: dict[str, list[dict[str, Any]]] = json.loads(TIERS_FILE.read_text())
    return {symbol: tiers for symbol, tiers in data.items() if tiers}


def _brackets(tiers: list[dict[str, Any]]) -> tuple[LeverageBracket, ...]:
    return tuple(LeverageBracket(t["info"]["notionalCap"], t["maxLeverage"], t["maintenanceMarginRate"],
                                 t["info"]["cum"]) for t in tiers)


@st.composite
def _symbol_and_notional(draw: st.DrawFn) -> tuple[list[dict[str, Any]], float]:
    tiers = _real_tiers()
    symbol = draw(st.sampled_from(sorted(tiers)))
    chosen = tiers[symbol]
    boundaries = [float(t["info"]["notionalFloor"]) for t in chosen] + [float(chosen[-1]["info"]["notionalCap"])]
    top = boundaries[-1]
    notional = draw(st.one_of(st.sampled_from(boundaries), st.floats(0.0, top * 1.5, allow_nan=False)))
    return chosen, notional


@settings(max_examples=400, deadline=None)
@given(_symbol_and_notional())
def test_every_real_notional_gets_the_tier_whose_floor_is_at_or_below_and_cap_above_it(
        case: tuple[list[dict[str, Any]], float]) -> None:
    tiers, notional = case
    bracket = bracket_containing(notional, _brackets(tiers))
    expected = [t for t in tiers if t["info"]["notionalFloor"] <= notional < t["info"]["notionalCap"]]
    if notional >= tiers[-1]["info"]["notionalCap"]:
        assert bracket is None
    else:
        assert len(expected) == 1
        assert bracket is not None and bracket.max_leverage == expected[0]["maxLeverage"]
        assert bracket.notional_cap == expected[0]["info"]["notionalCap"]


@settings(max_examples=200, deadline=None)
@given(_symbol_and_notional())
def test_no_leverage_is_allowed_at_or_beyond_the_last_real_tier(case: tuple[list[dict[str, Any]], float]) -> None:
    tiers, notional = case
    rules = InstrumentRules("XUSDT", 0.01, 0.001, 0.001, 5.0, brackets=_brackets(tiers))
    ceiling = rules.max_leverage_for(notional)
    assert (ceiling is None) == (notional >= tiers[-1]["info"]["notionalCap"])


def test_a_notional_exactly_at_a_boundary_takes_the_higher_tier() -> None:
    btc = _brackets(_real_tiers()["BTC/USDT:USDT"])
    first_cap = btc[0].notional_cap
    assert bracket_containing(first_cap, btc) is btc[1]
    assert bracket_containing(math.nextafter(first_cap, 0.0), btc) is btc[0]


def _engine_with_brackets(*brackets: LeverageBracket) -> RiskEngine:
    btc = default_instruments()["BTCUSDT"]
    small = InstrumentRules(btc.symbol, btc.tick_size, btc.step_size, btc.min_qty, 5.0, brackets=brackets)
    engine = make_engine(preset("moderate"))
    engine.update_instrument(small)
    return engine


def test_an_order_beyond_the_last_leverage_bracket_is_vetoed_with_the_cap_as_threshold() -> None:
    engine = _engine_with_brackets(LeverageBracket(300.0, 10.0, 0.01), LeverageBracket(500.0, 5.0, 0.02))
    veto, detail = engine.check_order(buy("BTCUSDT", 600.0, leverage=2.0))
    check = check_of(detail, "exchange_leverage_bracket_exceeded")
    assert veto and "exchange_leverage_bracket_exceeded" in detail["reasons"]
    assert (check["observed"], check["threshold"]) == (pytest.approx(600.0), 500.0)
    assert "last leverage bracket" in check["note"]


def test_an_order_ending_exactly_at_a_bracket_cap_is_checked_against_the_next_bracket() -> None:
    engine = _engine_with_brackets(LeverageBracket(600.0, 10.0, 0.01), LeverageBracket(0.5 * NAV, 2.0, 0.02))
    veto, detail = engine.check_order(buy("BTCUSDT", 600.0, leverage=3.0))
    assert check_of(detail, "exchange_leverage_bracket_exceeded")["threshold"] == 2.0
    assert veto and "exchange_leverage_bracket_exceeded" in detail["reasons"]

"""Binance USD-M margin and liquidation price (one-way mode, isolated and cross)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskguard.math.margin import (
    bracket_for,
    cross_liquidation_price,
    initial_margin,
    isolated_liquidation_price,
    liquidation_distance,
    liquidation_price,
    maintenance_margin,
)
from riskguard.model.enums import PositionSide
from riskguard.model.errors import InputValidationError
from riskguard.model.instrument import LeverageBracket

LONG, SHORT = PositionSide.LONG, PositionSide.SHORT
DATA = Path(os.environ.get("RISKGUARD_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))


def _btc_brackets() -> tuple[LeverageBracket, ...]:
    path = DATA / "freqtrade-testdata" / "binance_leverage_tiers.json"
    if not path.exists():
        pytest.skip(f"shared leverage tiers not found at {path} (set RISKGUARD_SHARED_DATA)")
    tiers = json.loads(path.read_text())["BTC/USDT:USDT"]
    return tuple(LeverageBracket(t["maxNotional"], t["maxLeverage"], t["maintenanceMarginRate"], t["info"]["cum"])
                 for t in tiers)


def test_initial_margin_is_notional_over_leverage() -> None:
    assert initial_margin(10_000.0, 20.0) == 500.0


def test_maintenance_margin_subtracts_maintenance_amount() -> None:
    assert maintenance_margin(300_000.0, 0.01, 1300.0) == pytest.approx(1700.0, rel=1e-12)


def test_isolated_long_liquidation_closed_form() -> None:
    # 1 BTC at 100 with 10x: margin 10; LP = (10 - 100) / (0.005 - 1)
    assert isolated_liquidation_price(LONG, 1.0, 100.0, 10.0, 0.005) == pytest.approx(90 / 0.995, rel=1e-12)


def test_isolated_short_liquidation_closed_form() -> None:
    # LP = (10 + 100) / (0.005 + 1)
    assert isolated_liquidation_price(SHORT, 1.0, 100.0, 10.0, 0.005) == pytest.approx(110 / 1.005, rel=1e-12)


@given(st.sampled_from([LONG, SHORT]), st.floats(0.001, 100), st.floats(100, 100_000), st.floats(1.5, 125),
       st.floats(0.001, 0.05), st.floats(0, 50))
def test_at_isolated_liquidation_margin_balance_equals_maintenance_margin(
    side: PositionSide, qty: float, entry: float, leverage: float, mmr: float, cum: float
) -> None:
    lp = isolated_liquidation_price(side, qty, entry, leverage, mmr, cum)
    if lp == 0.0:
        assert side is LONG
        return
    sign = 1.0 if side is LONG else -1.0
    margin_balance = qty * entry / leverage + sign * qty * (lp - entry)
    assert margin_balance == pytest.approx(qty * lp * mmr - cum, rel=1e-9, abs=1e-9 * qty * entry)


@given(st.sampled_from([LONG, SHORT]), st.floats(0.01, 10), st.floats(1000, 100_000), st.floats(100, 1e6),
       st.floats(0.002, 0.05), st.floats(0, 1000), st.floats(-5000, 5000))
def test_at_cross_liquidation_account_equity_equals_total_maintenance(
    side: PositionSide, qty: float, entry: float, wallet: float, mmr: float, other_mm: float, other_upnl: float
) -> None:
    lp = cross_liquidation_price(side, qty, entry, wallet, mmr, 0.0, other_mm, other_upnl)
    if lp == 0.0:
        return
    sign = 1.0 if side is LONG else -1.0
    equity = wallet + other_upnl + sign * qty * (lp - entry)
    assert equity == pytest.approx(other_mm + qty * lp * mmr, rel=1e-9, abs=1e-9 * (wallet + qty * entry))


def test_cross_long_with_more_wallet_liquidates_lower() -> None:
    low_wb = cross_liquidation_price(LONG, 1.0, 60_000.0, 5_000.0, 0.004)
    high_wb = cross_liquidation_price(LONG, 1.0, 60_000.0, 20_000.0, 0.004)
    assert high_wb < low_wb < 60_000.0


def test_cross_other_positions_losses_bring_liquidation_closer() -> None:
    calm = cross_liquidation_price(SHORT, 1.0, 60_000.0, 10_000.0, 0.004)
    stressed = cross_liquidation_price(SHORT, 1.0, 60_000.0, 10_000.0, 0.004, 0.0, 500.0, -2_000.0)
    assert 60_000.0 < stressed < calm


def test_fully_collateralised_long_has_no_liquidation_price() -> None:
    assert liquidation_price(LONG, 1.0, 100.0, 100.0, 0.005) == 0.0
    assert liquidation_distance(LONG, 100.0, 0.0) == 1.0


def test_isolated_liquidation_with_real_btc_bracket() -> None:
    brackets = _btc_brackets()
    notional = 300_000.0
    b = bracket_for(notional, brackets)
    assert b.notional_cap >= notional
    qty, entry = notional / 60_000.0, 60_000.0
    lp = isolated_liquidation_price(LONG, qty, entry, 10.0, b.maintenance_margin_rate, b.maintenance_amount)
    assert lp == pytest.approx(
        (notional / 10 + b.maintenance_amount - qty * entry) / (qty * b.maintenance_margin_rate - qty), rel=1e-12)
    assert 0.0 < liquidation_distance(LONG, entry, lp) < 0.1


def test_bracket_for_is_floor_inclusive_like_binance() -> None:
    # Regression: a notional exactly at a cap used to get the lower bracket; Binance's brackets are
    # notionalFloor <= notional < notionalCap, so 50,000 is in the second bracket.
    brackets = (LeverageBracket(50_000, 125, 0.004, 0.0), LeverageBracket(600_000, 100, 0.005, 50.0))
    assert bracket_for(49_999.99, brackets) is brackets[0]
    assert bracket_for(50_000.0, brackets) is brackets[1]
    assert bracket_for(600_000.0, brackets) is brackets[1]  # the last bracket takes its own cap


def test_bracket_for_refuses_notional_beyond_last_cap() -> None:
    with pytest.raises(InputValidationError) as err:
        bracket_for(1e6, (LeverageBracket(50_000, 125, 0.004, 0.0),))
    assert err.value.field == "notional_usdt"


def test_liquidation_distance_is_signed_fraction_of_mark() -> None:
    assert liquidation_distance(LONG, 100.0, 90.0) == pytest.approx(0.1, rel=1e-12)
    assert liquidation_distance(SHORT, 100.0, 110.0) == pytest.approx(0.1, rel=1e-12)
    assert liquidation_distance(SHORT, 100.0, 95.0) == pytest.approx(-0.05, rel=1e-12)


def test_liquidation_price_refuses_zero_qty() -> None:
    with pytest.raises(InputValidationError) as err:
        liquidation_price(LONG, 0.0, 100.0, 10.0, 0.005)
    assert err.value.field == "qty"


def test_liquidation_price_refuses_unknown_side() -> None:
    with pytest.raises(InputValidationError) as err:
        liquidation_price("LONG", 1.0, 100.0, 10.0, 0.005)  # type: ignore[arg-type]
    assert err.value.field == "side"

"""Risk fraction -> position: qty = risk USDT / stop distance, ATR stops, leverage and min/max caps."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskguard.config.sizing_schema import SizingSection
from riskguard.model.enums import Mode, Regime, RiskProfile
from riskguard.model.errors import InputValidationError
from riskguard.sizing.params import SizingParams
from riskguard.sizing.position import atr_stop_distance, size_by_atr_risk, size_by_kelly

P = SizingParams.from_section(SizingSection())
NAV = 4_400.0


def test_qty_is_risk_usdt_over_stop_distance() -> None:
    # 1 % of 4,400 = 44 USDT; stop 1.5 x ATR 400 = 600 -> 44 / 600 BTC
    size = size_by_atr_risk(P, NAV, 60_000.0, 4.0, 1.0, RiskProfile.NORMAL, 0.7, atr=400.0)
    assert size.stop_distance == 600.0
    assert size.qty == pytest.approx(44.0 / 600.0, rel=1e-12)
    assert size.notional_usdt == pytest.approx(44.0 / 600.0 * 60_000.0, rel=1e-12)
    assert size.risk_usdt == pytest.approx(44.0, rel=1e-12)
    assert size.clamps == () and not size.below_min_position


@pytest.mark.parametrize(("regime", "distance"), [(Regime.HIGH_VOL, 800.0), (Regime.LOW_VOL, 400.0),
                                                  (Regime.BEAR, 600.0)])
def test_atr_stop_distance_follows_volatility_regime(regime: Regime, distance: float) -> None:
    assert atr_stop_distance(P, 400.0, regime)[0] == distance


def test_explicit_stop_distance_overrides_atr() -> None:
    size = size_by_atr_risk(P, NAV, 60_000.0, 4.0, 1.0, RiskProfile.NORMAL, 0.7, atr=400.0, stop_distance=1200.0)
    assert size.stop_distance == 1200.0 and size.stop is None
    assert size.risk_usdt == pytest.approx(44.0, rel=1e-12)


def test_leverage_cap_bounds_notional_and_lowers_risk() -> None:
    size = size_by_atr_risk(P, NAV, 60_000.0, 2.0, 1.0, RiskProfile.NORMAL, 0.7, stop_distance=60.0)
    assert size.notional_usdt == pytest.approx(NAV * 2.0, rel=1e-12)
    assert size.clamps[-1].name == "max_leverage"
    assert size.risk_usdt < size.risk_budget_usdt


def test_max_position_usdt_caps_notional() -> None:
    params = SizingParams.from_section(SizingSection(max_position_usdt=1_000.0))
    size = size_by_atr_risk(params, NAV, 60_000.0, 10.0, 1.0, RiskProfile.NORMAL, 0.7, atr=400.0)
    assert size.notional_usdt == 1_000.0
    assert [c.name for c in size.clamps] == ["max_position_usdt"]


def test_below_min_position_sizes_to_zero_and_says_so() -> None:
    size = size_by_atr_risk(P, 50.0, 60_000.0, 4.0, 0.2, RiskProfile.NO_NEW_TRADES, 0.6, atr=400.0)
    assert size.below_min_position
    assert size.qty == 0.0 and size.notional_usdt == 0.0
    assert size.clamps[-1].name == "min_position_usdt"


def test_kelly_sizing_uses_mode_capped_risk() -> None:
    size = size_by_kelly(P, NAV, 60_000.0, 4.0, 0.95, 3.0, Mode.LIVE, atr=400.0)
    assert size.risk_usdt == pytest.approx(NAV * 0.0025, rel=1e-12)
    assert size.risk.method == "kelly"


def test_position_size_to_dict_carries_the_whole_breakdown() -> None:
    size = size_by_atr_risk(P, NAV, 60_000.0, 4.0, 0.5, RiskProfile.REDUCED, 0.8, atr=400.0, regime=Regime.HIGH_VOL)
    data = json.loads(json.dumps(size.to_dict()))
    assert data["stop"] == {"name": "stop_atr_multiple", "value": 2.0,
                            "reason": "stop at 2 x ATR in the HIGH_VOL regime"}
    assert {a["name"] for a in data["adjustments"]} == {"policy", "profile", "confidence", "regime"}
    assert data["qty"] == pytest.approx(size.qty)
    assert data["below_min_position"] is False


@given(st.floats(100, 1e6), st.floats(1, 1e5), st.floats(0.001, 0.2), st.floats(1, 20), st.floats(0.1, 1),
       st.sampled_from(list(RiskProfile)), st.floats(0, 1))
def test_loss_at_stop_never_exceeds_risk_budget(nav: float, price: float, stop_pct: float, lev: float,
                                                policy: float, profile: RiskProfile, conf: float) -> None:
    size = size_by_atr_risk(P, nav, price, lev, policy, profile, conf, stop_distance=price * stop_pct)
    assert size.risk_usdt <= size.risk_budget_usdt * (1 + 1e-12)
    assert size.notional_usdt <= min(P.max_position_usdt, nav * lev) * (1 + 1e-12)
    assert size.risk_budget_usdt <= nav * P.max_risk_pct * (1 + 1e-12)


def test_missing_atr_and_stop_is_refused() -> None:
    with pytest.raises(InputValidationError) as err:
        size_by_atr_risk(P, NAV, 60_000.0, 4.0, 1.0, RiskProfile.NORMAL, 0.7)
    assert err.value.field == "atr"


def test_zero_nav_is_refused() -> None:
    with pytest.raises(InputValidationError) as err:
        size_by_atr_risk(P, 0.0, 60_000.0, 4.0, 1.0, RiskProfile.NORMAL, 0.7, atr=400.0)
    assert err.value.field == "nav"

"""Risk fraction -> position: qty = risk USDT / stop distance, ATR stops from the exit rules,
leverage and min/max caps."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskguard.config.exits_schema import ExitsSection
from riskguard.config.sizing_schema import SizingSection
from riskguard.exits import VolState, compile_exit_rules, stop_distance
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


@pytest.mark.parametrize(("regime", "distance"), [
    (Regime.NORMAL, 600.0),     # 1.5 ATR
    (Regime.HIGH_VOL, 1200.0),  # 2.0 ATR (high volatility) x 1.5 regime stop
    (Regime.LOW_VOL, 400.0),    # 1.0 ATR (low volatility)
    (Regime.BEAR, 720.0),       # 1.5 ATR x 1.2
    (Regime.BULL, 480.0),       # 1.5 ATR x 0.8
])
def test_atr_stop_distance_is_the_exit_rules_stop(regime: Regime, distance: float) -> None:
    assert atr_stop_distance(P, 400.0, regime)[0] == pytest.approx(distance, rel=1e-12)


@given(st.floats(1e-6, 1e5), st.sampled_from(list(Regime)), st.sampled_from([None, *VolState]),
       st.sampled_from([None, "standard", "tight", "trailing"]))
def test_atr_stop_distance_equals_exits_stop_distance(atr: float, regime: Regime, volatility: VolState | None,
                                                      exit_mode: str | None) -> None:
    distance, stop = atr_stop_distance(P, atr, regime, volatility=volatility, exit_mode=exit_mode)
    assert distance == stop_distance(P.exit_rules, atr, regime=regime, volatility=volatility, mode=exit_mode)
    assert distance == pytest.approx(atr * stop.value, rel=1e-12)


def test_no_regime_stops_like_the_normal_regime() -> None:
    assert atr_stop_distance(P, 400.0) == atr_stop_distance(P, 400.0, Regime.NORMAL)


def test_stop_explanation_names_every_factor() -> None:
    _, stop = atr_stop_distance(P, 400.0, Regime.HIGH_VOL, exit_mode="tight")
    assert stop.name == "stop_atr_multiple" and stop.value == pytest.approx(2.25)
    assert stop.reason == ("stop at 2 x ATR (high volatility) in the HIGH_VOL regime, x1.5 regime stop, "
                           "x0.75 tight exit mode = 2.25 x ATR")


def test_measured_volatility_overrides_the_regime_implied_one() -> None:
    distance, stop = atr_stop_distance(P, 400.0, Regime.BULL, volatility="HIGH")
    assert distance == pytest.approx(400.0 * 2.0 * 0.8, rel=1e-12)
    assert stop.reason == "stop at 2 x ATR (high volatility) in the BULL regime, x0.8 regime stop = 1.6 x ATR"


def test_posture_exits_section_moves_the_sizing_stop() -> None:
    exits = ExitsSection.model_validate({"stop_atr_multiple": 1.2, "stop_regime_multiples": {"bear": 1.5}})
    params = SizingParams.from_section(SizingSection(), compile_exit_rules(exits))
    size = size_by_atr_risk(params, NAV, 60_000.0, 4.0, 1.0, RiskProfile.NORMAL, 0.7, atr=400.0,
                            regime=Regime.BEAR)
    assert size.stop_distance == pytest.approx(400.0 * 1.2 * 1.5, rel=1e-12)
    assert size.stop is not None and size.stop.value == pytest.approx(1.8)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"exit_mode": "yolo"}, "exit_mode"), ({"volatility": "extreme"}, "volatility"), ({"atr": -1.0}, "atr"),
    ({"regime": "SIDEWAYS"}, "regime")])
def test_bad_stop_inputs_are_refused_naming_the_field(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"atr": 400.0, "regime": Regime.NORMAL, **kwargs}
    with pytest.raises(InputValidationError) as err:
        atr_stop_distance(P, args.pop("atr"), args.pop("regime"), **args)  # type: ignore[arg-type]
    assert err.value.field == field


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


def test_kelly_sizing_takes_its_atr_stop_from_the_exit_mode() -> None:
    size = size_by_kelly(P, NAV, 60_000.0, 4.0, 0.95, 3.0, Mode.LIVE, atr=400.0, exit_mode="tight")
    assert size.stop_distance == pytest.approx(400.0 * 1.5 * 0.75, rel=1e-12)
    assert size.risk_usdt == pytest.approx(NAV * 0.0025, rel=1e-12)


def test_position_size_to_dict_carries_the_whole_breakdown() -> None:
    size = size_by_atr_risk(P, NAV, 60_000.0, 4.0, 0.5, RiskProfile.REDUCED, 0.8, atr=400.0, regime=Regime.HIGH_VOL)
    data = json.loads(json.dumps(size.to_dict()))
    assert data["stop"] == {"name": "stop_atr_multiple", "value": 3.0,
                            "reason": "stop at 2 x ATR (high volatility) in the HIGH_VOL regime, x1.5 regime stop"
                                      " = 3 x ATR"}
    assert data["stop_distance"] == pytest.approx(1200.0, rel=1e-12)
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

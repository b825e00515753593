"""Section B risk formula: the four worked cases exactly, bands, clamps, the explained breakdown."""

from __future__ import annotations

import json

import pytest

from riskguard.config.sizing_schema import SizingSection
from riskguard.model.enums import Mode, Regime, RiskProfile
from riskguard.model.errors import InputValidationError
from riskguard.sizing.params import SizingParams
from riskguard.sizing.risk import final_risk_pct, kelly_risk_pct

P = SizingParams.from_section(SizingSection())
EXACT = 1e-12


def test_worked_case_normal_is_1_percent() -> None:
    assert final_risk_pct(P, 1.0, RiskProfile.NORMAL, 0.70).risk_pct == pytest.approx(0.0100, rel=EXACT)


def test_worked_case_high_vol_is_0_35_percent() -> None:
    assert final_risk_pct(P, 0.5, RiskProfile.REDUCED, 0.80).risk_pct == pytest.approx(0.0035, rel=EXACT)


def test_worked_case_losing_streak_is_0_36_percent() -> None:
    assert final_risk_pct(P, 0.3, RiskProfile.NORMAL, 0.85).risk_pct == pytest.approx(0.0036, rel=EXACT)


def test_worked_case_extreme_is_0_016_percent_and_not_clamped() -> None:
    result = final_risk_pct(P, 0.2, RiskProfile.NO_NEW_TRADES, 0.60)
    assert result.risk_pct == pytest.approx(0.00016, rel=EXACT)
    assert result.clamps == ()


@pytest.mark.parametrize(("confidence", "multiplier"), [
    (1.0, 1.2), (0.85, 1.2), (0.8499, 1.0), (0.61, 1.0), (0.60, 0.8), (0.0, 0.8)])
def test_confidence_bands(confidence: float, multiplier: float) -> None:
    adjustments = final_risk_pct(P, 1.0, RiskProfile.NORMAL, confidence).adjustments
    assert next(a for a in adjustments if a.name == "confidence").value == multiplier


@pytest.mark.parametrize(("profile", "multiplier"), [
    (RiskProfile.NORMAL, 1.0), (RiskProfile.REDUCED, 0.7), (RiskProfile.NO_NEW_TRADES, 0.1)])
def test_profile_adjustments(profile: RiskProfile, multiplier: float) -> None:
    adjustments = final_risk_pct(P, 1.0, profile, 0.7).adjustments
    assert next(a for a in adjustments if a.name == "profile").value == multiplier


def test_final_risk_is_clamped_to_max_risk_pct() -> None:
    params = SizingParams.from_section(SizingSection(base_risk_pct=0.02, max_risk_pct=0.02))
    result = final_risk_pct(params, 1.0, RiskProfile.NORMAL, 0.9)
    assert result.risk_pct == 0.02
    assert [(c.name, c.before, c.after) for c in result.clamps] == [("max_risk_pct", pytest.approx(0.024), 0.02)]


def test_final_risk_is_clamped_to_min_risk_pct() -> None:
    result = final_risk_pct(P, 0.1, RiskProfile.NO_NEW_TRADES, 0.5)
    assert result.risk_pct == P.min_risk_pct
    assert result.clamps[0].name == "min_risk_pct"


def test_high_vol_regime_multiplier_has_the_logged_reason() -> None:
    result = final_risk_pct(P, 1.0, RiskProfile.NORMAL, 0.7, regime=Regime.HIGH_VOL)
    regime = next(a for a in result.adjustments if a.name == "regime")
    assert (regime.value, regime.reason) == (0.5, "HIGH_VOL regime detected, reducing risk")
    assert result.risk_pct == pytest.approx(0.005, rel=EXACT)


def test_context_multipliers_compose_multiplicatively() -> None:
    result = final_risk_pct(P, 1.0, RiskProfile.NORMAL, 0.7, regime=Regime.BEAR, vol_ratio=1.7, drawdown=0.0)
    assert result.risk_pct == pytest.approx(0.01 * 0.8 * 0.75, rel=EXACT)
    assert [a.name for a in result.adjustments] == [
        "policy", "profile", "confidence", "regime", "volatility_ratio", "drawdown_haircut"]


def test_breakdown_product_reproduces_unclamped_risk() -> None:
    result = final_risk_pct(P, 0.7, RiskProfile.REDUCED, 0.9, regime=Regime.BULL, vol_ratio=0.3, drawdown=0.05)
    product = result.base
    for adjustment in result.adjustments:
        product *= adjustment.value
    assert result.risk_pct == pytest.approx(min(max(product, P.min_risk_pct), P.max_risk_pct), rel=EXACT)


def test_breakdown_to_dict_is_json_with_reasons() -> None:
    result = final_risk_pct(P, 0.5, RiskProfile.REDUCED, 0.8, policy_reason="BEAR regime and 3 losses in a row")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["method"] == "atr_risk" and data["base"] == 0.01
    assert data["adjustments"][0] == {"name": "policy", "value": 0.5, "reason": "BEAR regime and 3 losses in a row"}
    assert data["adjustments"][1]["reason"] == "REDUCED risk profile, reducing risk"
    assert data["risk_pct"] == pytest.approx(0.0035, rel=EXACT)


def test_policy_multiplier_above_one_is_refused() -> None:
    with pytest.raises(InputValidationError) as err:
        final_risk_pct(P, 1.5, RiskProfile.NORMAL, 0.7)
    assert err.value.field == "policy_multiplier"


def test_nan_confidence_is_refused() -> None:
    with pytest.raises(InputValidationError) as err:
        final_risk_pct(P, 1.0, RiskProfile.NORMAL, float("nan"))
    assert err.value.field == "confidence"


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(InputValidationError) as err:
        final_risk_pct(P, 1.0, "AGGRESSIVE", 0.7)  # type: ignore[arg-type]
    assert err.value.field == "profile"


def test_kelly_is_quarter_of_full_kelly_below_the_demo_cap() -> None:
    # p = 0.6, b = 1.5: full = (0.9 - 0.4) / 1.5 = 1/3; quarter = 1/12 < 0.10 demo cap
    result = kelly_risk_pct(P, 0.6, 1.5, Mode.DEMO)
    assert result.base == pytest.approx(1 / 3, rel=EXACT)
    assert result.risk_pct == pytest.approx(1 / 12, rel=EXACT)
    assert result.clamps == ()


@pytest.mark.parametrize(("mode", "cap"), [(Mode.DEMO, 0.10), (Mode.PAPER, 0.02), (Mode.LIVE, 0.0025)])
def test_kelly_is_capped_per_mode(mode: Mode, cap: float) -> None:
    result = kelly_risk_pct(P, 0.95, 3.0, mode)
    assert result.risk_pct == cap
    assert result.clamps[-1].name == f"kelly_{mode.value}_cap"


def test_kelly_is_clipped_to_max_fraction_before_the_mode_cap() -> None:
    params = SizingParams.from_section(SizingSection.model_validate(
        {"kelly": {"fraction": 1.0, "max_fraction": 0.05, "mode_caps": {"demo": 0.1}}}))
    result = kelly_risk_pct(params, 0.9, 2.0, Mode.DEMO)
    assert result.risk_pct == 0.05
    assert [c.name for c in result.clamps] == ["kelly_max_fraction"]


def test_kelly_without_edge_risks_nothing() -> None:
    result = kelly_risk_pct(P, 0.3, 1.0, Mode.DEMO)
    assert result.risk_pct == 0.0
    assert result.clamps[0].name == "kelly_min_fraction"


def test_kelly_applies_regime_multiplier() -> None:
    assert kelly_risk_pct(P, 0.6, 1.5, Mode.DEMO, regime=Regime.CHOP).risk_pct == pytest.approx(0.05, rel=EXACT)


def test_kelly_refuses_unknown_mode() -> None:
    with pytest.raises(InputValidationError) as err:
        kelly_risk_pct(P, 0.6, 1.5, "backtest")  # type: ignore[arg-type]
    assert err.value.field == "mode"


def test_repeated_inputs_reuse_one_immutable_breakdown() -> None:
    params = SizingParams.from_section(SizingSection())
    first = final_risk_pct(params, 0.5, RiskProfile.REDUCED, 0.8, regime=Regime.BEAR)
    assert final_risk_pct(params, 0.5, RiskProfile.REDUCED, 0.8, regime=Regime.BEAR) is first


def test_memo_never_mixes_different_inputs() -> None:
    params = SizingParams.from_section(SizingSection())
    a = final_risk_pct(params, 0.5, RiskProfile.NORMAL, 0.7, drawdown=0.03)
    b = final_risk_pct(params, 0.5, RiskProfile.NORMAL, 0.7, drawdown=0.05)
    c = final_risk_pct(params, 0.5, RiskProfile.NORMAL, 0.7, drawdown=0.05, policy_reason="BEAR regime")
    assert a.risk_pct > b.risk_pct
    assert c.adjustments[0].reason == "BEAR regime" and b.adjustments[0].reason == "policy risk multiplier"


def test_bool_policy_multiplier_is_refused_even_after_a_memo_hit() -> None:
    params = SizingParams.from_section(SizingSection())
    final_risk_pct(params, 1.0, RiskProfile.NORMAL, 0.7)
    with pytest.raises(InputValidationError):
        final_risk_pct(params, True, RiskProfile.NORMAL, 0.7)

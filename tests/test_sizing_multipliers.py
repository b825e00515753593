"""Volatility-ratio, regime and drawdown-haircut size multipliers (section E defaults)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskguard.config.sizing_schema import SizingSection
from riskguard.model.enums import Regime
from riskguard.model.errors import InputValidationError
from riskguard.sizing.multipliers import drawdown_haircut, regime_adjustment, volatility_ratio_adjustment
from riskguard.sizing.params import SizingParams

P = SizingParams.from_section(SizingSection())


@pytest.mark.parametrize(("ratio", "multiplier"), [
    (3.0, 0.5), (2.0001, 0.5), (2.0, 0.75), (1.6, 0.75), (1.5, 1.0), (1.0, 1.0), (0.5, 1.0), (0.49, 1.25),
    (0.0, 1.25)])
def test_volatility_ratio_bands(ratio: float, multiplier: float) -> None:
    assert volatility_ratio_adjustment(P, ratio).value == multiplier


def test_volatility_ratio_refuses_nan() -> None:
    with pytest.raises(InputValidationError) as err:
        volatility_ratio_adjustment(P, float("nan"))
    assert err.value.field == "vol_ratio"


@pytest.mark.parametrize(("regime", "position"), [
    (Regime.BULL, 1.2), (Regime.BEAR, 0.8), (Regime.CHOP, 0.6), (Regime.HIGH_VOL, 0.5),
    (Regime.NORMAL, 1.0), (Regime.LOW_VOL, 1.0)])
def test_regime_position_multipliers_follow_section_e(regime: Regime, position: float) -> None:
    assert regime_adjustment(P, regime).value == position


def test_regime_reason_says_increasing_for_bull() -> None:
    assert regime_adjustment(P, Regime.BULL).reason == "BULL regime detected, increasing risk"


def test_regime_adjustment_refuses_a_non_regime() -> None:
    with pytest.raises(InputValidationError) as err:
        regime_adjustment(P, "SIDEWAYS")  # type: ignore[arg-type]
    assert err.value.field == "regime"


def test_posture_overrides_regime_position_multiplier() -> None:
    params = SizingParams.from_section(SizingSection.model_validate({"regimes": {"chop": {"position": 0.3}}}))
    assert regime_adjustment(params, Regime.CHOP).value == 0.3
    assert regime_adjustment(params, Regime.BULL).value == 1.2


@pytest.mark.parametrize(("drawdown", "multiplier"), [
    (0.0, 1.0), (0.025, 1.0), (0.0475, 0.75), (0.07, 0.5), (0.5, 0.5)])
def test_drawdown_haircut_is_linear_between_start_and_full(drawdown: float, multiplier: float) -> None:
    assert drawdown_haircut(P, drawdown).value == pytest.approx(multiplier, rel=1e-12)


@given(st.floats(0, 1), st.floats(0, 1))
def test_drawdown_haircut_never_grows_with_drawdown(a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    assert drawdown_haircut(P, hi).value <= drawdown_haircut(P, lo).value


def test_drawdown_haircut_refuses_negative_drawdown() -> None:
    with pytest.raises(InputValidationError) as err:
        drawdown_haircut(P, -0.1)
    assert err.value.field == "drawdown"

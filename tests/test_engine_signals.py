"""would_emit(signal): policy -> sizing -> every gate, with the staged flags and the drawdown ladder."""

from __future__ import annotations

import pytest

from conftest import NAV, NOW_MS, check_of, make_engine, posture_with, quote
from riskguard import AccountSnapshot, OrderIntent, Position, RiskEngine, Signal
from riskguard.model import Regime

ALL_STAGES = {f"policy.flags.{flag}": True for flag in (
    "use_for_signal_filter", "use_for_confidence_threshold", "use_for_risk_sizing", "use_for_position_limits",
    "use_for_trading_gate", "use_for_exit_mode")}


def _signal(symbol: str = "BTCUSDT", confidence: float = 0.80, **fields: object) -> Signal:
    defaults: dict[str, object] = {"atr": 1_200.0, "expected_rr": 2.0}
    defaults.update(fields)
    return Signal(signal_id=f"sig-{symbol}-{confidence}", strategy=f"{symbol[:3].lower()}_trend", symbol=symbol,
                  side="BUY", confidence=confidence, **defaults)  # type: ignore[arg-type]


def _engine(**overrides: object) -> RiskEngine:
    engine = make_engine(posture_with(**overrides))
    for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"):
        engine.policy.update_regime(symbol, Regime.NORMAL)
    return engine


def test_signal_is_sized_at_base_risk_and_the_breakdown_lands_in_the_detail() -> None:
    emit, detail = _engine().would_emit(_signal(atr=2_000.0))
    assert emit is True
    sizing = detail["sizing"]
    assert sizing["risk_pct"] == pytest.approx(0.01)
    # 44 USDT at risk over a 1.5 x 2,000 = 3,000 USDT stop is 0.01467 BTC, 880 USDT: the trade cap.
    assert sizing["stop_source"].startswith("ATR")
    assert detail["intent"]["stop_price"] == pytest.approx(60_000.0 - 3_000.0)


def test_signal_larger_than_the_caps_is_clamped_to_max_notional_allowed() -> None:
    emit, detail = _engine().would_emit(_signal(atr=300.0))  # 44 USDT over 450 USDT: ~5,900 USDT notional
    assert emit is True
    assert detail["resized"] is True
    assert detail["clamped_by"] == "trade_gt_10pct_equity"
    assert detail["sized"]["notional"] <= 0.15 * NAV


def test_high_vol_regime_with_risk_sizing_stage_on_gives_section_b_high_vol_case() -> None:
    engine = _engine(**ALL_STAGES)
    engine.policy.update_regime("BTCUSDT", Regime.HIGH_VOL)
    _, detail = engine.would_emit(_signal(confidence=0.80, atr=8_000.0))
    assert detail["sizing"]["risk_pct"] == pytest.approx(0.0035, rel=1e-12)
    notes = " ".join(detail["policy"]["policy"]["notes"])
    assert "HIGH_VOL regime detected, reducing risk" in notes


def test_policy_stages_off_compute_the_policy_in_shadow_without_applying_it() -> None:
    engine = _engine()
    engine.policy.update_regime("BTCUSDT", Regime.HIGH_VOL)
    _, detail = engine.would_emit(_signal(confidence=0.80, atr=8_000.0))
    assert detail["sizing"]["risk_pct"] == pytest.approx(0.01)
    assert detail["policy"]["shadow"]["use_for_risk_sizing"]["risk_multiplier"] == 0.5
    assert detail["policy"]["applied"]["risk_multiplier"] == 1.0


def test_confidence_stage_raises_the_floor_to_the_regime_minimum() -> None:
    engine = _engine(**ALL_STAGES)
    engine.policy.update_regime("BTCUSDT", Regime.HIGH_VOL)
    _, detail = engine.would_emit(_signal(confidence=0.65, atr=8_000.0))
    assert check_of(detail, "confidence_below_min")["threshold"] == 0.70
    assert "confidence_below_min" in detail["warnings"]


def test_position_limit_stage_applies_the_regime_cap() -> None:
    engine = _engine(**ALL_STAGES)
    engine.policy.update_regime("BTCUSDT", Regime.HIGH_VOL)
    for strategy, symbol in (("a", "ETHUSDT"), ("b", "SOLUSDT")):
        engine.add_position(Position(symbol=symbol, side="LONG", qty=1.0 if symbol == "SOLUSDT" else 0.05,
                                     entry_price=150.0 if symbol == "SOLUSDT" else 3_000.0, strategy=strategy))
    veto, detail = engine.check_order(_signal(confidence=0.9, atr=8_000.0))
    assert veto is True
    check = check_of(detail, "global_concurrency_exceeded")
    assert check["threshold"] == 2 and "policy" in check["note"]


def test_trading_gate_stage_blocks_a_symbol_whose_regime_is_unknown() -> None:
    engine = make_engine(posture_with(**ALL_STAGES))
    veto, detail = engine.check_order(_signal())
    assert veto is True
    assert detail["reasons"] == ["trading_halted", "below_min_notional"]
    assert "policy" in check_of(detail, "trading_halted")["note"]


def test_same_signal_without_the_trading_gate_stage_is_not_blocked_by_unknown_regime() -> None:
    engine = make_engine()
    emit, _ = engine.would_emit(_signal(atr=2_000.0))
    assert emit is True


def test_daily_five_percent_drawdown_puts_the_account_in_reducing_state() -> None:
    engine = _engine()
    engine.update_account(AccountSnapshot(nav=NAV * 0.94, ts_ms=NOW_MS + 60_000))
    assert engine.trading_state.value == "REDUCING"
    assert engine.trading_state_reason.startswith("drawdown ladder")
    veto, detail = engine.check_order(_signal(atr=2_000.0), now_ms=NOW_MS + 60_000)
    assert veto and detail["reasons"] == ["market_data_stale", "reduce_only_mode", "drawdown_halt",
                                          "trade_gt_10pct_equity"]


def test_weekly_seven_percent_drawdown_halves_signal_size() -> None:
    engine = _engine()
    # Lose 7.5 % over two days so that only the weekly rung (not the daily ones) is crossed.
    engine.update_account(AccountSnapshot(nav=NAV * 0.97, ts_ms=NOW_MS + 86_400_000))
    engine.update_account(AccountSnapshot(nav=NAV * 0.925, ts_ms=NOW_MS + 2 * 86_400_000))
    assert engine.ladder_size_multiplier == 0.5
    for symbol in ("BTCUSDT",):
        engine.update_market(quote(symbol, ts_ms=NOW_MS + 2 * 86_400_000))
    _, detail = engine.would_emit(_signal(atr=8_000.0), now_ms=NOW_MS + 2 * 86_400_000)
    assert detail["sizing"]["ladder_size_multiplier"] == 0.5


@pytest.mark.parametrize("risk_sizing_stage", [False, True])
def test_weekly_seven_percent_rung_halves_signal_size_once_under_either_risk_sizing_stage(
        risk_sizing_stage: bool) -> None:
    def sized_notional(drawdown: bool) -> float:
        engine = _engine(**{"policy.flags.use_for_risk_sizing": risk_sizing_stage})
        now = NOW_MS
        if drawdown:  # 7.5 % over two days: the weekly rung and the weekly 5 % policy step, no daily rung
            engine.update_account(AccountSnapshot(nav=NAV * 0.97, ts_ms=NOW_MS + 86_400_000))
            now = NOW_MS + 2 * 86_400_000
            engine.update_account(AccountSnapshot(nav=NAV * 0.925, ts_ms=now))
            engine.update_market(quote("BTCUSDT", ts_ms=now))
        _, detail = engine.would_emit(_signal(atr=8_000.0), now_ms=now)
        return float(detail["sizing"]["notional_usdt"]) / float(detail["nav"])

    assert sized_notional(drawdown=True) == pytest.approx(0.5 * sized_notional(drawdown=False), rel=1e-12)


def test_the_ladder_rung_and_the_accounts_operating_multiplier_never_compound() -> None:
    def sized_notional(operating: float) -> float:
        engine = _engine()
        engine.update_account(AccountSnapshot(nav=NAV * 0.97, ts_ms=NOW_MS + 86_400_000))
        now = NOW_MS + 2 * 86_400_000
        engine.update_account(AccountSnapshot(nav=NAV * 0.925, ts_ms=now))  # the weekly rung: x0.5
        engine.update_market(quote("BTCUSDT", ts_ms=now))
        engine.load_state(book=engine.book, account=engine.account, trading_state=engine.trading_state,
                          reason=engine.trading_state_reason, size_multiplier=operating)
        _, detail = engine.would_emit(_signal(atr=8_000.0), now_ms=now)
        return float(detail["sizing"]["notional_usdt"])

    assert sized_notional(0.5) == pytest.approx(sized_notional(1.0), rel=1e-12)  # the stronger: 0.5 once
    assert sized_notional(0.25) == pytest.approx(0.5 * sized_notional(1.0), rel=1e-12)


def test_signal_without_nav_cannot_be_sized_and_is_vetoed() -> None:
    engine = _engine()
    engine.load_state(book=engine.book, account=None, trading_state=engine.trading_state,
                      reason=engine.trading_state_reason)
    veto, detail = engine.check_order(_signal())
    assert veto is True
    assert detail["reasons"] == [
        "nav_stale", "drawdown_halt", "below_min_notional", "qty_below_min", "trade_gt_max_trade_nav_pct",
        "trade_gt_10pct_equity", "symbol_nav_cap_exceeded", "exchange_leverage_bracket_exceeded",
        "liquidation_too_close", "max_loss_exceeded", "gross_exposure_exceeded", "correlated_exposure_exceeded",
        "same_direction_exposure_exceeded", "total_risk_exceeded", "cvar_limit_exceeded"
    ]
    assert detail["sizing"]["unsized"] == "NAV unknown"
    assert detail["max_notional_allowed"] == 0.0


def test_signal_with_explicit_stop_uses_it_for_sizing() -> None:
    _, detail = _engine().would_emit(_signal(stop_price=57_000.0, atr=None))
    assert detail["sizing"]["stop_source"] == "signal stop price"
    assert detail["intent"]["stop_price"] == 57_000.0


def test_a_clamped_signals_intent_is_the_executable_one_and_passes_when_sent() -> None:
    engine = _engine()
    emit, detail = engine.would_emit(_signal(atr=300.0))  # sized ~5,900 USDT, clamped to the 660 USDT equity clamp
    assert emit and detail["resized"]
    assert detail["intent"]["notional"] == detail["max_notional_allowed"] == pytest.approx(0.15 * NAV)
    sent = OrderIntent.from_dict({**detail["intent"], "intent_id": "sent-as-told"})
    veto, sent_detail = engine.check_order(sent, commit=False)
    assert (veto, sent_detail["reasons"], sent_detail["resized"]) == (False, [], False)


def test_a_vetoed_signals_intent_never_exceeds_max_notional_allowed() -> None:
    engine = _engine()
    engine.set_trading_state("HALTED", "operator")
    emit, detail = engine.would_emit(_signal(atr=300.0))
    assert not emit and detail["reasons"] == [  # halted, and ~5,900 USDT is over every cap
        "trading_halted", "trade_gt_max_trade_nav_pct", "trade_gt_10pct_equity", "symbol_nav_cap_exceeded",
        "gross_exposure_exceeded", "correlated_exposure_exceeded", "same_direction_exposure_exceeded",
        "cvar_limit_exceeded"]
    assert detail["intent"]["notional"] == detail["max_notional_allowed"]

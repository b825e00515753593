"""The monthly 15 % rung switches the account to demo (REQUIREMENTS E), and the switch changes decisions:
no live order adds risk afterwards, demo orders are sized with the demo cap, exits still pass."""

from __future__ import annotations

import pytest

from conftest import NAV, NOW_MS, PRICES, buy, check_of, make_engine, quote
from riskguard import AccountSnapshot, OrderIntent, Position, RiskEngine, Signal
from riskguard.model import Regime
from riskguard.model.enums import Mode
from riskguard.model.errors import InputValidationError

DAY_MS = 86_400_000
SWITCHED_AT = NOW_MS + 9 * DAY_MS  # still August: the month's drawdown is 1 - 0.98 ** 9 = 16.6 %


def _switched_engine() -> RiskEngine:
    """Moderate posture after nine days losing 2 % each: no daily rung, the monthly 15 % rung fires."""
    engine = make_engine()
    for symbol in PRICES:
        engine.policy.update_regime(symbol, Regime.NORMAL)
    nav = NAV
    for day in range(1, 10):
        nav *= 0.98
        engine.update_account(AccountSnapshot(nav=nav, ts_ms=NOW_MS + day * DAY_MS))
    for symbol in PRICES:
        engine.update_market(quote(symbol, ts_ms=SWITCHED_AT))
    return engine


def _signal(mode: str | None = None, confidence: float = 0.9) -> Signal:
    return Signal(signal_id=f"sig-{mode}", strategy="btc_trend", symbol="BTCUSDT", side="BUY",
                  confidence=confidence, atr=8_000.0, expected_rr=2.0, mode=mode)


def test_the_monthly_rung_switches_the_account_to_demo() -> None:
    engine = _switched_engine()
    assert engine.mode is Mode.DEMO
    assert "monthly_15%_switch_mode" in engine.policy.ladder_state.active


@pytest.mark.parametrize("mode", [None, "live", "paper"])
def test_after_the_switch_to_demo_an_order_for_real_money_adding_risk_is_vetoed_saying_why(
        mode: str | None) -> None:
    veto, detail = _switched_engine().check_order(buy("BTCUSDT", 200.0, mode=mode), now_ms=SWITCHED_AT)
    assert veto is True
    assert "trading_halted" in detail["reasons"]
    assert "demo mode" in check_of(detail, "trading_halted")["note"]
    assert detail["mode"] == "demo"


def test_after_the_switch_to_demo_a_demo_order_is_decided_on_its_caps() -> None:
    veto, detail = _switched_engine().check_order(buy("BTCUSDT", 200.0, mode="demo"), now_ms=SWITCHED_AT)
    assert (veto, detail["reasons"]) == (False, [])


def test_after_the_switch_to_demo_a_live_order_reducing_a_position_still_passes() -> None:
    engine = _switched_engine()
    engine.add_position(Position(symbol="BTCUSDT", side="LONG", qty=0.005, entry_price=60_000.0,
                                 strategy="btc_trend", stop_price=58_800.0))
    close = OrderIntent(intent_id="close", strategy="btc_trend", symbol="BTCUSDT", side="SELL", qty=0.005,
                        reduce_only=True, mode="live")
    veto, detail = engine.check_order(close, now_ms=SWITCHED_AT)
    assert detail["reducing"] is True
    assert (veto, detail["reasons"]) == (False, [])


def test_after_the_switch_a_signal_without_a_mode_is_a_live_order_and_vetoed() -> None:
    veto, detail = _switched_engine().check_order(_signal(), now_ms=SWITCHED_AT)
    assert veto and "trading_halted" in detail["reasons"]


def test_a_demo_signal_is_sized_under_the_demo_cap_and_a_live_one_under_the_postures_ceiling() -> None:
    engine = make_engine()
    engine.policy.update_regime("BTCUSDT", Regime.NORMAL)
    _, live = engine.would_emit(_signal("live"))
    _, demo = engine.would_emit(_signal("demo"))
    # Confidence 0.9 lifts the 1 % base risk to 1.2 %: the live posture's sizing ceiling (1 %) clamps
    # it, the demo cap (sizing.kelly.mode_caps.demo, 10 %) does not.
    assert (live["sizing"]["max_risk_pct"], live["sizing"]["risk_pct"]) == (0.01, 0.01)
    assert (demo["sizing"]["max_risk_pct"], demo["sizing"]["risk_pct"]) == (0.10, pytest.approx(0.012))
    assert demo["intent"]["mode"] == "demo"


def test_before_any_switch_a_live_order_is_not_held_back_by_its_mode() -> None:
    veto, detail = make_engine().check_order(buy("BTCUSDT", 200.0, mode="live"))
    assert (veto, detail["reasons"]) == (False, [])


def test_an_unknown_mode_is_refused_naming_the_field() -> None:
    with pytest.raises(InputValidationError) as error:
        buy("BTCUSDT", 200.0, mode="real")
    assert error.value.field == "mode"

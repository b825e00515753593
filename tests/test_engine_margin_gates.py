"""margin_insufficient and liquidation_too_close: the order's initial margin must fit the available
balance, and its stop must trigger before liquidation (isolated and cross)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import NAV, NOW_MS, buy, check_of, make_engine, posture_with
from ledger_fixtures import Clock, db_url, make_gate
from ledger_fixtures import buy as ledger_buy
from riskguard import AccountSnapshot, OrderIntent, Position, RiskEngine
from riskguard.book.reservation import Reservation
from riskguard.math.margin import cross_liquidation_price, isolated_liquidation_price
from riskguard.model.enums import PositionSide, Side
from riskguard.model.errors import InputValidationError

__all__ = ["db_url"]

LATER = NOW_MS + 1


def _engine(posture_overrides: dict[str, object] | None = None, **account: object) -> RiskEngine:
    engine = make_engine(posture_with(**(posture_overrides or {})))
    nav = account.pop("nav", NAV)
    engine.update_account(AccountSnapshot(nav=nav, ts_ms=LATER, **account))  # type: ignore[arg-type]
    return engine


def test_ten_usdt_available_vetoes_a_trade_needing_two_hundred_of_initial_margin() -> None:
    veto, detail = _engine(available_balance=10.0).check_order(buy("BTCUSDT", 600.0, leverage=3.0), now_ms=LATER)
    check = check_of(detail, "margin_insufficient")
    assert veto is True and "margin_insufficient" in detail["reasons"]
    assert (check["observed"], check["threshold"]) == (pytest.approx(200.0), 10.0)
    assert check["headroom_notional"] == pytest.approx(30.0)  # 10 USDT of margin at 3x


def test_pending_reservations_hold_their_initial_margin_against_the_available_balance() -> None:
    engine = _engine(available_balance=400.0)
    engine.book.add_reservation(Reservation("r1", "i1", "other", "ETHUSDT", Side.BUY, notional=600.0,
                                            risk_usdt=6.0, opens_new=True, expires_ms=LATER + 30_000,
                                            leverage=2.0))
    veto, detail = engine.check_order(buy("BTCUSDT", 600.0, leverage=3.0), now_ms=LATER)
    check = check_of(detail, "margin_insufficient")
    assert veto is True and "margin_insufficient" in detail["reasons"]
    assert check["observed"] == pytest.approx(300.0 + 200.0)
    assert check["headroom_notional"] == pytest.approx((400.0 - 300.0) * 3.0)


def test_a_trade_whose_margin_fits_the_available_balance_passes() -> None:
    veto, detail = _engine(available_balance=4_300.0).check_order(buy("BTCUSDT", 600.0, leverage=3.0),
                                                                  now_ms=LATER)
    assert (veto, detail["reasons"]) == (False, [])
    assert check_of(detail, "margin_insufficient")["passed"] is True


def test_unknown_available_balance_is_not_checked_unless_the_posture_fails_closed() -> None:
    _, open_detail = _engine().check_order(buy("BTCUSDT", 600.0, leverage=3.0), now_ms=LATER)
    check = check_of(open_detail, "margin_insufficient")
    assert check["passed"] is True and "not checked" in check["note"]
    veto, closed = _engine({"account.unknown_margin_blocks": True}).check_order(
        buy("BTCUSDT", 600.0, leverage=3.0), now_ms=LATER)
    assert veto is True and "margin_insufficient" in closed["reasons"]
    assert check_of(closed, "margin_insufficient")["headroom_notional"] == 0.0


def test_reducing_orders_pass_both_margin_gates_without_any_margin() -> None:
    engine = _engine({"account.unknown_margin_blocks": True}, available_balance=0.0)
    engine.add_position(Position(symbol="BTCUSDT", side="LONG", qty=0.005, entry_price=60_000.0,
                                 strategy="btc_trend", leverage=50.0))
    close = OrderIntent(intent_id="close", strategy="btc_trend", symbol="BTCUSDT", side="SELL", qty=0.005,
                        leverage=50.0)
    veto, detail = engine.check_order(close, now_ms=LATER)
    assert (veto, detail["reasons"], detail["reducing"]) == (False, [], True)


def test_resizing_to_the_margin_headroom_makes_the_trade_fit() -> None:
    engine = _engine({"resize_to_fit": True}, available_balance=100.0)
    veto, detail = engine.check_order(buy("BTCUSDT", 600.0, leverage=3.0), now_ms=LATER)
    assert (veto, detail["resized"], detail["clamped_by"]) == (False, True, "margin_insufficient")
    assert detail["sized"]["notional"] <= 300.0


HIGH_LEVERAGE = {"symbols.BTCUSDT.max_leverage": 50}


def test_a_stop_beyond_the_isolated_liquidation_price_is_vetoed() -> None:
    # 50x long: liquidated about 1.6 % below entry, before the 2 % stop could trigger.
    veto, detail = _engine(HIGH_LEVERAGE).check_order(buy("BTCUSDT", 600.0, leverage=50.0), now_ms=LATER)
    check = check_of(detail, "liquidation_too_close")
    assert veto is True and "liquidation_too_close" in detail["reasons"]
    liquidation = isolated_liquidation_price(PositionSide.LONG, 0.01, 60_000.0, 50.0, 0.004)
    assert check["observed"] == pytest.approx((58_800.0 - liquidation) / 60_000.0)
    assert check["threshold"] == 0.01 and "isolated" in check["note"]
    assert check["headroom_notional"] == 0.0


def test_a_short_whose_stop_triggers_well_before_liquidation_passes() -> None:
    intent = OrderIntent(intent_id="short", strategy="btc_trend", symbol="BTCUSDT", side="SELL", notional=600.0,
                         leverage=3.0, stop_price=61_200.0, take_profit_price=57_600.0, confidence=0.8)
    _, detail = _engine().check_order(intent, now_ms=LATER)
    check = check_of(detail, "liquidation_too_close")
    assert check["passed"] is True and check["observed"] > 0.2


def test_cross_margin_uses_the_wallet_so_the_same_trade_liquidates_further_away() -> None:
    _, detail = _engine(HIGH_LEVERAGE, wallet_balance=4_400.0, margin_mode="cross").check_order(
        buy("BTCUSDT", 600.0, leverage=50.0), now_ms=LATER)
    check = check_of(detail, "liquidation_too_close")
    liquidation = cross_liquidation_price(PositionSide.LONG, 0.01, 60_000.0, 4_400.0, 0.004)
    assert check["passed"] is True and "cross" in check["note"]
    assert check["observed"] == pytest.approx((58_800.0 - liquidation) / 60_000.0)
    assert "liquidation_too_close" not in detail["reasons"]


def test_an_unknown_margin_mode_is_judged_isolated_the_closer_liquidation() -> None:
    _, detail = _engine(HIGH_LEVERAGE, wallet_balance=4_400.0).check_order(
        buy("BTCUSDT", 600.0, leverage=50.0), now_ms=LATER)
    check = check_of(detail, "liquidation_too_close")
    assert check["passed"] is False and "isolated" in check["note"]


def test_cross_headroom_is_the_largest_notional_whose_stop_still_triggers_first() -> None:
    engine = _engine(nav=20.0, wallet_balance=20.0, margin_mode="cross")
    _, detail = engine.check_order(buy("BTCUSDT", 600.0, leverage=3.0), now_ms=LATER)
    check = check_of(detail, "liquidation_too_close")
    assert check["passed"] is False
    headroom = check["headroom_notional"]
    assert 0.0 < headroom < 600.0
    _, at_headroom = engine.check_order(buy("BTCUSDT", headroom * 0.999, leverage=3.0, intent_id="fit"),
                                        now_ms=LATER)
    _, beyond = engine.check_order(buy("BTCUSDT", headroom * 1.01, leverage=3.0, intent_id="over"), now_ms=LATER)
    assert check_of(at_headroom, "liquidation_too_close")["passed"] is True
    assert check_of(beyond, "liquidation_too_close")["passed"] is False


@pytest.mark.parametrize(("field", "value"), [("wallet_balance", -1.0), ("wallet_balance", float("nan")),
                                              ("margin_mode", "hedge"), ("available_balance", -5.0)])
def test_account_margin_fields_are_validated_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(InputValidationError) as error:
        AccountSnapshot(nav=NAV, ts_ms=NOW_MS, **{field: value})  # type: ignore[arg-type]
    assert error.value.field == field


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(notional=st.floats(50.0, 5_000.0), leverage=st.floats(1.0, 50.0), stop_pct=st.floats(0.002, 0.05),
       side=st.sampled_from(["BUY", "SELL"]), available=st.floats(0.0, 5_000.0, allow_subnormal=False),
       wallet=st.floats(1.0, 5_000.0),
       margin_mode=st.sampled_from(["isolated", "cross"]))
def test_rechecking_at_max_notional_allowed_passes_both_margin_gates(
        notional: float, leverage: float, stop_pct: float, side: str, available: float, wallet: float,
        margin_mode: str) -> None:
    engine = _engine(HIGH_LEVERAGE, available_balance=available, wallet_balance=wallet, margin_mode=margin_mode)
    engine.add_position(Position(symbol="ETHUSDT", side="LONG", qty=0.1, entry_price=3_000.0, strategy="swing",
                                 stop_price=2_950.0))
    sign = 1.0 if side == "BUY" else -1.0

    def intent(intent_id: str, size: float) -> OrderIntent:
        return OrderIntent(intent_id=intent_id, strategy="btc_trend", symbol="BTCUSDT", side=side, notional=size,
                           leverage=leverage, stop_price=60_000.0 * (1 - sign * stop_pct),
                           take_profit_price=60_000.0 * (1 + sign * 2 * stop_pct), confidence=0.8)

    _, detail = engine.check_order(intent("first", notional), now_ms=LATER, commit=False)
    allowed = detail["max_notional_allowed"]
    if allowed <= 0.0:
        return
    _, again = engine.check_order(intent("again", allowed), now_ms=LATER, commit=False)
    for gate in ("margin_insufficient", "liquidation_too_close"):
        assert check_of(again, gate)["passed"] is True, check_of(again, gate)


def test_through_the_ledger_a_reservation_of_one_process_holds_margin_against_another(db_url: str) -> None:
    clock = Clock()
    first, second = make_gate(db_url, clock, nav=None), make_gate(db_url, clock, migrate=False, nav=None)
    first.mark_nav(AccountSnapshot(nav=4_400.0, ts_ms=clock(), available_balance=300.0))
    veto, detail, reservation_id = first.reserve(ledger_buy("m-1", notional=400.0, strategy="a", leverage=2.0))
    assert (veto, detail["reasons"]) == (False, []) and reservation_id is not None  # 200 of 300 USDT
    veto, detail, _ = second.reserve(ledger_buy("m-2", "ETHUSDT", notional=400.0, strategy="b", leverage=2.0))
    check = check_of(detail, "margin_insufficient")
    assert veto is True and detail["reasons"] == ["margin_insufficient"]
    assert (check["observed"], check["threshold"]) == (pytest.approx(400.0), 300.0)

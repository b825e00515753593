"""The engine's one way in for state held elsewhere (``load_state``) and its typed verdict."""

from __future__ import annotations

from conftest import NAV, NOW_MS, PRICES, buy, make_engine
from riskguard import AccountSnapshot, Position, TradingState
from riskguard.book.book import Book


def _book_with_btc_long(engine_book: Book) -> Book:
    book = Book(risk_per_unstopped_notional=engine_book.risk_per_unstopped_notional,
                symbol_groups=dict(engine_book.symbol_groups))
    for symbol, price in PRICES.items():
        book.mark(symbol, price)
    book.add_position(Position(symbol="BTCUSDT", side="LONG", qty=0.005, entry_price=PRICES["BTCUSDT"],
                               strategy="btc_trend", stop_price=PRICES["BTCUSDT"] * 0.98, opened_ts_ms=NOW_MS))
    return book


def test_the_engine_decides_against_the_book_it_is_handed() -> None:
    engine = make_engine()
    book = _book_with_btc_long(engine.book)
    engine.load_state(book=book, account=engine.account, trading_state=TradingState.ACTIVE, reason="ledger")
    _, detail = engine.check_order(buy("ETHUSDT"))
    assert engine.book is book and detail["open_positions"] == 1


def test_a_loaded_account_replaces_the_nav_history_of_the_engine() -> None:
    engine = make_engine()
    engine.update_account(AccountSnapshot(nav=NAV * 1.1, ts_ms=NOW_MS + 1_000))
    assert engine.day_high_nav == NAV * 1.1
    engine.load_state(book=engine.book, account=AccountSnapshot(nav=NAV, ts_ms=NOW_MS + 2_000),
                      trading_state=TradingState.ACTIVE, reason="ledger")
    assert engine.account is not None and engine.account.nav == NAV and engine.day_high_nav == NAV


def test_a_loaded_trading_state_and_reason_are_what_the_decision_reports() -> None:
    engine = make_engine()
    engine.load_state(book=engine.book, account=engine.account, trading_state="HALTED", reason="operator")
    veto, detail = engine.check_order(buy())
    assert veto and detail["trading_state"] == "HALTED" and engine.trading_state_reason == "operator"


def test_without_an_account_the_engine_fails_closed_on_nav() -> None:
    engine = make_engine()
    engine.load_state(book=engine.book, account=None, trading_state=TradingState.ACTIVE, reason="ledger")
    veto, detail = engine.check_order(buy())
    assert veto and "nav_stale" in detail["reasons"]


def test_the_verdict_types_the_facts_of_its_detail() -> None:
    verdict = make_engine().decide(buy(notional=600.0))
    detail = verdict.detail
    assert not verdict.veto and verdict.decision_id == detail["decision_id"]
    assert (verdict.notional, verdict.qty, verdict.price) == (
        detail["sized"]["notional"], detail["sized"]["qty"], detail["requested"]["price"])
    assert verdict.reducing is False and verdict.opens_new is True and verdict.order.intent_id == detail["intent_id"]

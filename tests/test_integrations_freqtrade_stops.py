"""RiskguardMixin's dynamic stops (setting ``dynamic_stops``): ``custom_stoploss`` moves the trade's
stop by the posture's ``exits.dynamic_stop`` rule, only tighter, records each move in the ledger
before freqtrade gets it, and never fails freqtrade when riskguard refuses a move. Called as
freqtrade 2026.9 calls it, on the fake trade views of test_integrations_freqtrade_mixin.
"""

from __future__ import annotations

import itertools
import json
import logging
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_fixtures import sqlite_url
from riskguard.integrations.backend import RiskBackend
from riskguard.integrations.freqtrade import Settings
from riskguard.ledger import Ledger
from riskguard.ledger.stop_moves import STOP_MOVED, StopLoosened
from riskguard.model.errors import InputValidationError
from test_integrations_freqtrade_mixin import PAIR, T0, Adder, Bot, Trade, _add_decisions, later

__all__ = ["sqlite_url"]  # pytest fixture


def _opened(url: str, side: str = "long", **settings: Any) -> tuple[Adder, Trade, float]:
    """A bot holding BTC since T0 (dynamic stops on unless told); returns it, the trade and one R (USDT per unit)."""
    bot = Adder(url, "bot_a", **{"dynamic_stops": True, **settings})
    trade = bot.enter(PAIR, side, T0)
    assert trade is not None
    (position,) = Ledger(url).positions()
    assert position.stop_price is not None
    return bot, trade, abs(position.entry_price - position.stop_price)


def _stop_at(bot: Bot, trade: Trade, price: float, minutes: int) -> float:
    """freqtrade's stop (USDT) after it called ``custom_stoploss`` at ``price`` (the trade's best price so
    far): as freqtrade does, it takes the ratio's stop only when tighter than the one it holds."""
    direction = -1.0 if trade.is_short else 1.0
    best = trade.min_rate if trade.is_short else trade.max_rate
    best = price if best is None else (min(best, price) if trade.is_short else max(best, price))
    trade.min_rate = trade.max_rate = best
    bot.dp.now, bot.dp.prices[PAIR] = later(minutes), price
    ratio = bot.custom_stoploss(PAIR, trade, later(minutes), price, 0.0, False)
    if ratio is not None:  # freqtrade takes a stop from the ratio only when it is tighter
        asked = price * (1.0 - direction * abs(ratio) / trade.leverage)
        if trade.stop_loss is None or direction * (asked - trade.stop_loss) > 0.0:
            trade.stop_loss = asked
    assert trade.stop_loss is not None
    return trade.stop_loss


def _ledger_stop(url: str) -> float:
    (position,) = Ledger(url).positions()
    assert position.stop_price is not None
    return float(position.stop_price)


def _moves(url: str) -> list[dict[str, Any]]:
    return [json.loads(event.payload) for event in Ledger(url).events(STOP_MOVED)]


def test_dynamic_stops_are_off_unless_asked(sqlite_url: str) -> None:
    bot, trade, r = _opened(sqlite_url, dynamic_stops=False)
    opening = _ledger_stop(sqlite_url)
    assert _stop_at(bot, trade, trade.open_rate + 3.0 * r, 60) == pytest.approx(opening)
    assert _moves(sqlite_url) == []


def test_the_setting_must_be_true_or_false() -> None:
    with pytest.raises(InputValidationError, match=r"riskguard\.dynamic_stops"):
        Settings.from_mapping({"dynamic_stops": "yes"})


@pytest.mark.parametrize("side", ["long", "short"])
def test_a_winners_stop_locks_break_even_and_the_ledger_records_it(sqlite_url: str, side: str) -> None:
    bot, trade, r = _opened(sqlite_url, side)
    direction = -1.0 if side == "short" else 1.0
    opening = _ledger_stop(sqlite_url)
    stop = _stop_at(bot, trade, trade.open_rate + direction * 1.2 * r, 60)
    assert direction * (stop - trade.open_rate) >= 0.0  # at or beyond break-even: no loss left at the stop
    assert _ledger_stop(sqlite_url) == pytest.approx(stop)
    (move,) = _moves(sqlite_url)
    assert (move["from"], move["to"], move["risk_usdt_after"]) == (pytest.approx(opening), pytest.approx(stop), 0.0)


@pytest.mark.parametrize("side", ["long", "short"])
def test_the_best_price_since_entry_is_freqtrades_not_the_current_rate(sqlite_url: str, side: str) -> None:
    bot, trade, r = _opened(sqlite_url, side)
    direction = -1.0 if side == "short" else 1.0
    trade.max_rate = trade.min_rate = trade.open_rate + direction * 2.2 * r  # reached between two calls
    now = trade.open_rate + direction * 1.2 * r
    bot.dp.prices[PAIR] = now
    assert bot.custom_stoploss(PAIR, trade, later(60), now, 0.0, False) is not None
    # 2 R in the trade's favour locks 1 R; 1.2 R alone would lock break-even
    assert _ledger_stop(sqlite_url) == pytest.approx(trade.open_rate + direction * r, abs=trade.open_rate * 1e-4)


def test_a_trade_not_yet_a_winner_keeps_its_opening_stop(sqlite_url: str) -> None:
    bot, trade, r = _opened(sqlite_url)
    opening = _ledger_stop(sqlite_url)
    assert _stop_at(bot, trade, trade.open_rate + 0.5 * r, 60) == pytest.approx(opening)
    assert _moves(sqlite_url) == []


def test_the_stop_stays_when_the_price_falls_back(sqlite_url: str) -> None:
    bot, trade, r = _opened(sqlite_url)
    high = _stop_at(bot, trade, trade.open_rate + 2.5 * r, 60)
    assert _stop_at(bot, trade, trade.open_rate + 1.5 * r, 120) == pytest.approx(high)  # above the 1 R lock
    assert _ledger_stop(sqlite_url) == pytest.approx(high) and len(_moves(sqlite_url)) >= 1


@settings(max_examples=15, deadline=None)
@given(side=st.sampled_from(["long", "short"]),
       path=st.lists(st.floats(min_value=-2.0, max_value=4.0), min_size=1, max_size=12))
def test_on_any_price_path_the_recorded_stop_only_tightens(side: str, path: list[float]) -> None:
    direction = -1.0 if side == "short" else 1.0
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'riskguard.db'}"
        bot, trade, r = _opened(url, side)
        stops = [_ledger_stop(url)]
        for minutes, move_r in enumerate(path, start=1):
            price = trade.open_rate + direction * move_r * r
            if direction * (price - stops[-1]) <= 0.0:
                break  # the stop was hit: freqtrade exits the trade
            freqtrade_stop = _stop_at(bot, trade, price, 60 * minutes)
            stops.append(_ledger_stop(url))
            assert freqtrade_stop == pytest.approx(stops[-1])  # freqtrade holds the stop the ledger records
            assert direction * (price - freqtrade_stop) > 0.0  # on the safe side of the price
        assert all(direction * (later_stop - earlier) >= 0.0 for earlier, later_stop in itertools.pairwise(stops))
        recorded = [(m["from"], m["to"]) for m in _moves(url)]
        assert all(direction * (to - before) > 0.0 for before, to in recorded)


def test_a_refused_move_keeps_the_previous_stop_and_freqtrade_running(sqlite_url: str,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    bot, trade, r = _opened(sqlite_url)
    opening = _ledger_stop(sqlite_url)

    def refuse(strategy: str, symbol: str, stop_price: float, *, reason: str) -> None:
        raise StopLoosened("stop_price would loosen the stop")

    bot.riskguard_backend().move_stop = refuse  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="riskguard.integrations.freqtrade"):
        stop = _stop_at(bot, trade, trade.open_rate + 1.5 * r, 60)
    assert stop == pytest.approx(opening) == _ledger_stop(sqlite_url)
    assert any("stop not moved" in record.getMessage() for record in caplog.records)


def test_a_position_the_ledger_no_longer_holds_keeps_freqtrades_stop(sqlite_url: str) -> None:
    bot, trade, r = _opened(sqlite_url)
    opening = _ledger_stop(sqlite_url)
    bot.riskguard_backend().close("bot_a", "BTCUSDT", trade.open_rate)  # closed behind freqtrade's back
    assert _stop_at(bot, trade, trade.open_rate + 1.5 * r, 60) == pytest.approx(opening)


def test_a_moved_stop_makes_room_for_an_add_the_opening_stop_refused(sqlite_url: str) -> None:
    price_r = 1.2
    without, trade, r = _opened(sqlite_url, dynamic_stops=False)
    _stop_at(without, trade, trade.open_rate + price_r * r, 60)
    assert without.adjust(PAIR, trade.open_rate + price_r * r, later(60), 38.75) is None
    assert [d.detail["reasons"] for d in _add_decisions(sqlite_url)] == [["pyramid_risk_exceeded"]]


def test_with_dynamic_stops_the_same_add_fits(sqlite_url: str) -> None:
    bot, trade, r = _opened(sqlite_url)
    _stop_at(bot, trade, trade.open_rate + 1.2 * r, 60)  # freqtrade asks for the stop, then the adjustment
    stake = bot.adjust(PAIR, trade.open_rate + 1.2 * r, later(60), 38.75)
    assert stake
    (decision,) = _add_decisions(sqlite_url)
    assert decision.approved


def test_through_the_service_a_move_is_recorded_and_a_refused_one_keeps_the_stop(
        sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("uvicorn", reason="the service extra is not installed")
    from service_fixtures import TRADE, now_ms, running, service_settings

    for live in running(service_settings(sqlite_url)):
        bot = Adder(None, "bot_a", service_url=live.url, token=TRADE, dynamic_stops=True)
        assert isinstance(bot.riskguard_backend(), RiskBackend)
        opened_at = datetime.fromtimestamp(now_ms() / 1000, UTC)
        trade = bot.enter(PAIR, "long", opened_at)
        assert trade is not None
        r = trade.open_rate - _ledger_stop(sqlite_url)
        trade.max_rate = trade.open_rate + 1.2 * r
        ratio = bot.custom_stoploss(PAIR, trade, opened_at, trade.max_rate, 0.0, False)
        assert ratio is not None
        moved = _ledger_stop(sqlite_url)
        assert moved >= trade.open_rate and len(_moves(sqlite_url)) == 1
        Ledger(sqlite_url).close("bot_a", "BTCUSDT", trade.open_rate, now_ms=now_ms())  # gone behind the bot's back
        trade.max_rate = trade.open_rate + 3.0 * r
        with caplog.at_level(logging.WARNING, logger="riskguard.integrations.freqtrade"):
            ratio = bot.custom_stoploss(PAIR, trade, opened_at, trade.max_rate, 0.0, False)
        assert ratio is not None
        assert trade.max_rate * (1 - abs(ratio) / trade.leverage) == pytest.approx(moved)  # the stop it had
        assert any("stop not moved" in record.getMessage() for record in caplog.records)

"""RiskguardMixin's callbacks, called as freqtrade 2026.9 calls them (leverage -> custom_stake_amount
-> confirm_trade_entry -> order_filled; confirm_trade_exit -> order_filled), without freqtrade:
the mixin imports nothing from it, so a plain class with freqtrade's attributes (``config``,
``dp``, ``wallets``, ``timeframe``) hosts it here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from ledger_fixtures import db_url, pg_url, sqlite_url
from riskguard.config import preset
from riskguard.engine.instruments import default_instruments
from riskguard.integrations.backend import FeedableBackend, InProcessBackend, RiskBackend
from riskguard.integrations.freqtrade import (
    RiskguardMixin,
    Settings,
    parse_entry_tag,
    to_binance_symbol,
    to_freqtrade_pair,
)
from riskguard.ledger import Ledger
from riskguard.model.errors import InputValidationError
from riskguard.model.rounding import floor_to_step

__all__ = ["db_url", "pg_url", "sqlite_url"]  # pytest fixtures

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)
PRICES = {"BTC/USDT:USDT": 62_000.0, "ETH/USDT:USDT": 3_400.0, "SOL/USDT:USDT": 130.0, "BNB/USDT:USDT": 410.0}
STEPS = {r.symbol: r.step_size for r in default_instruments().values()}
MODERATE = preset("moderate")


class Candles:
    """freqtrade's DataProvider as a backtest sees it: the analyzed candle up to now."""

    runmode = "backtest"

    def __init__(self, prices: dict[str, float], **columns: float) -> None:
        self.prices = dict(prices)
        self.columns = {"rg_confidence": 0.8, "rg_expected_rr": 2.0, **columns}
        self.now = T0  # the backtest's moment: the last candle shown closed at it

    def current_whitelist(self) -> list[str]:
        return list(self.prices)

    def get_analyzed_dataframe(self, pair: str, timeframe: str) -> tuple[pd.DataFrame, datetime]:
        price = self.prices[pair]
        row = {"date": pd.Timestamp(self.now - timedelta(hours=1)), "close": price, "rg_atr": price * 0.01,
               **self.columns}
        return pd.DataFrame([row]), T0


@dataclass
class Wallet:
    total: float = 4_400.0

    def get_total(self, currency: str) -> float:
        return self.total

    def get_free(self, currency: str) -> float:
        return self.total


@dataclass
class Trade:
    id: int
    pair: str
    is_short: bool
    amount: float
    open_rate: float
    leverage: float
    fee_open: float = 0.0005
    fee_close: float = 0.0005
    funding_fees: float | None = 0.0
    funding_fee_running: float | None = 0.0
    stop_loss: float | None = None  # freqtrade's current stop (USDT)
    max_rate: float | None = None  # the best prices since entry (USDT), as freqtrade tracks them
    min_rate: float | None = None
    has_open_orders: bool = False
    orders: list[Any] = field(default_factory=list)
    entry_side: str = field(init=False)  # freqtrade's sides of the trade's orders
    exit_side: str = field(init=False)

    def __post_init__(self) -> None:
        self.entry_side, self.exit_side = ("sell", "buy") if self.is_short else ("buy", "sell")


@dataclass
class Order:
    ft_order_side: str
    safe_filled: float
    safe_price: float
    funding_fee: float | None = None


class Bot(RiskguardMixin):
    """A strategy host with the attributes freqtrade sets on a strategy instance."""

    timeframe = "1h"

    def __init__(self, ledger_url: str | None, strategy: str, candles: Candles | None = None, **settings: Any) -> None:
        self.config = {"stake_currency": "USDT", "riskguard": {"ledger_url": ledger_url, "strategy": strategy,
                                                               "backtest_spread_bps": 1.0, **settings}}
        self.dp = candles or Candles(PRICES)
        self.wallets = Wallet()
        self.trades: dict[str, Trade] = {}
        self._ids = iter(range(1, 1_000_000))

    def enter(self, pair: str, side: str, when: datetime, entry_tag: str | None = None) -> Trade | None:
        """One entry exactly as freqtrade's backtest drives it (its leverage and amount rounding)."""
        self.dp.now = when
        rate = self.dp.prices[pair]
        leverage = min(max(self.leverage(pair, when, rate, 1.0, 100.0, entry_tag, side), 1.0), 100.0)
        stake = self.custom_stake_amount(pair, when, rate, 440.0, 5.0, 4_400.0, leverage, entry_tag, side)
        if not stake:
            return None
        amount = floor_to_step(stake / rate * leverage, STEPS[to_binance_symbol(pair)])
        if not self.confirm_trade_entry(pair, "limit", amount, rate, "GTC", when, entry_tag, side):
            return None
        trade = Trade(next(self._ids), pair, side == "short", amount, rate, leverage)
        order = Order(trade.entry_side, amount, rate)
        trade.orders.append(order)
        self.order_filled(pair, trade, order, when)
        self.trades[pair] = trade
        return trade

    def exit(self, pair: str, price: float, when: datetime) -> None:
        self.dp.now = when
        trade = self.trades.pop(pair)
        assert self.confirm_trade_exit(pair, trade, "limit", trade.amount, price, "GTC", "exit_signal", when)
        order = Order(trade.exit_side, trade.amount, price)
        trade.orders.append(order)
        self.order_filled(pair, trade, order, when)


def later(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


# -- pair names and inputs ----------------------------------------------------------------------
@pytest.mark.parametrize(("pair", "symbol"), [("BTC/USDT:USDT", "BTCUSDT"), ("1000PEPE/USDT:USDT", "1000PEPEUSDT"),
                                              ("ETH/USDC:USDC", "ETHUSDC")])
def test_pairs_map_both_ways_between_freqtrade_and_binance(pair: str, symbol: str) -> None:
    assert to_binance_symbol(pair) == symbol
    assert to_freqtrade_pair(symbol) == pair


@pytest.mark.parametrize("bad", ["BTCUSDT", "BTC/", "BTC-USDT/USDT"])
def test_a_pair_that_is_not_a_ccxt_pair_is_refused_by_name(bad: str) -> None:
    with pytest.raises(InputValidationError, match="pair"):
        to_binance_symbol(bad)


def test_entry_tag_carries_confidence_reward_risk_and_stop() -> None:
    assert parse_entry_tag("ema_cross confidence=0.8 rr=2.5;stop=61000") == {
        "confidence": 0.8, "expected_rr": 2.5, "stop_price": 61_000.0}
    assert parse_entry_tag("plain_tag") == {}
    with pytest.raises(InputValidationError, match=r"entry_tag\.rr"):
        parse_entry_tag("rr=high")


def test_remote_mode_without_a_token_is_an_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RISKGUARD_TOKEN", raising=False)
    with pytest.raises(InputValidationError, match=r"riskguard\.token"):
        Settings.from_mapping({"service_url": "http://127.0.0.1:8787"})
    monkeypatch.setenv("RISKGUARD_TOKEN", "abc")
    assert Settings.from_mapping({"service_url": "http://127.0.0.1:8787"}).service_url == "http://127.0.0.1:8787"


def test_unknown_or_conflicting_settings_are_errors_naming_the_setting() -> None:
    with pytest.raises(InputValidationError, match=r"riskguard\.ledger"):
        Settings.from_mapping({"ledger": "sqlite:///x.db"})
    with pytest.raises(InputValidationError, match=r"riskguard\.service_url"):
        Settings.from_mapping({"ledger_url": "sqlite:///x.db", "service_url": "http://127.0.0.1:8787"})


@pytest.mark.parametrize("bad", [-1, float("nan"), "1h", True])
def test_a_nonsense_packing_age_is_an_error_naming_the_setting(bad: object) -> None:
    with pytest.raises(InputValidationError, match=r"riskguard\.pack_after_s"):
        Settings.from_mapping({"pack_after_s": bad})


def test_the_in_process_backend_packs_only_when_told_to(sqlite_url: str) -> None:
    assert InProcessBackend(MODERATE, sqlite_url, clock=lambda: 0).ledger.pack_after_s is None
    assert InProcessBackend(MODERATE, sqlite_url, clock=lambda: 0, pack_after_s=3600).ledger.pack_after_s == 3600


def test_the_in_process_backend_satisfies_both_protocols(sqlite_url: str) -> None:
    backend = InProcessBackend(MODERATE, sqlite_url, clock=lambda: 0)
    assert isinstance(backend, RiskBackend) and isinstance(backend, FeedableBackend)


# -- the entry callbacks ------------------------------------------------------------------------
def test_leverage_is_the_postures_symbol_cap_within_the_exchange_bracket(sqlite_url: str) -> None:
    bot = Bot(sqlite_url, "bot_a")
    assert bot.leverage("BTC/USDT:USDT", T0, 62_000.0, 1.0, 100.0, None, "long") == 4.0
    assert bot.leverage("BNB/USDT:USDT", T0, 410.0, 1.0, 100.0, None, "long") == 2.0
    assert bot.leverage("SOL/USDT:USDT", later(1), 130.0, 1.0, 2.5, None, "long") == 2.5  # the bracket binds


def test_stake_is_riskguards_notional_over_leverage(sqlite_url: str) -> None:
    bot = Bot(sqlite_url, "bot_a")
    leverage = bot.leverage("ETH/USDT:USDT", T0, 3_400.0, 1.0, 100.0, None, "long")
    stake = bot.custom_stake_amount("ETH/USDT:USDT", T0, 3_400.0, 440.0, 5.0, 4_400.0, leverage, None, "long")
    backend = bot.riskguard_backend()
    assert isinstance(backend, InProcessBackend)
    veto, detail = backend.check(_signal_like(bot, "ETH/USDT:USDT"))
    assert not veto
    assert stake == pytest.approx(detail["sized"]["notional"] / leverage, rel=1e-6)
    assert 0 < stake * leverage <= 4_400.0 * MODERATE.trade.max_trade_nav_pct


def _signal_like(bot: Bot, pair: str) -> Any:
    from riskguard.model.signal import Signal

    return Signal("probe", "bot_a", to_binance_symbol(pair), "BUY", confidence=0.8, expected_rr=2.0,
                  atr=PRICES[pair] * 0.01, price=PRICES[pair], ts_ms=int(T0.timestamp() * 1000))


def test_a_veto_is_a_zero_stake_with_the_reasons_logged_and_stored(sqlite_url: str,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    bot = Bot(sqlite_url, "bot_a", Candles(PRICES, rg_confidence=0.1, rg_expected_rr=0.5),
              backtest_spread_bps=None)
    with caplog.at_level(logging.WARNING, logger="riskguard.integrations.freqtrade"):
        assert bot.enter("BTC/USDT:USDT", "long", T0) is None
    (line,) = [r.getMessage() for r in caplog.records if "vetoed" in r.getMessage()]
    assert "confidence_below_min" in line and "rr_below_min" in line and "spread_too_wide" in line
    (stored,) = Ledger(sqlite_url).decisions()
    assert not stored.approved and "confidence_below_min" in stored.detail["reasons"]


def test_the_entry_tag_overrides_the_dataframe_columns(sqlite_url: str) -> None:
    bot = Bot(sqlite_url, "bot_a", Candles(PRICES, rg_confidence=0.1))
    assert bot.enter("BTC/USDT:USDT", "long", T0, entry_tag="cross confidence=0.9") is not None


def test_confirm_trade_entry_refuses_what_the_book_no_longer_allows(sqlite_url: str) -> None:
    bot = Bot(sqlite_url, "bot_a")
    pair = "BTC/USDT:USDT"
    leverage = bot.leverage(pair, T0, 62_000.0, 1.0, 100.0, None, "long")
    stake = bot.custom_stake_amount(pair, T0, 62_000.0, 440.0, 5.0, 4_400.0, leverage, None, "long")
    # freqtrade's own rules raised the amount (a minimum stake, say) past riskguard's caps: reserve says no.
    too_much = floor_to_step(stake * leverage / 62_000.0 * 3, 0.001)
    assert not bot.confirm_trade_entry(pair, "limit", too_much, 62_000.0, "GTC", T0, None, "long")
    assert Ledger(sqlite_url).reservations() == []


def test_fills_and_exits_are_booked_in_the_ledger(sqlite_url: str) -> None:
    bot = Bot(sqlite_url, "bot_a")
    trade = bot.enter("ETH/USDT:USDT", "short", T0)
    assert trade is not None
    ledger = Ledger(sqlite_url)
    (position,) = ledger.positions()
    assert (position.symbol, position.qty, position.entry_price) == ("ETHUSDT", trade.amount, 3_400.0)
    trade.funding_fees, trade.funding_fee_running = 1.25, 0.0
    bot.exit("ETH/USDT:USDT", 3_300.0, later(120))
    assert ledger.positions() == []
    fees = trade.amount * (3_400.0 + 3_300.0) * 0.0005
    assert ledger.account().realized_pnl == pytest.approx(trade.amount * 100.0 - fees + 1.25)


def test_an_exit_riskguard_cannot_book_still_goes_through(sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    bot = Bot(sqlite_url, "bot_a")
    stranger = Trade(99, "SOL/USDT:USDT", False, 3.0, 130.0, 3.0)  # opened before riskguard was in the loop
    assert bot.confirm_trade_exit("SOL/USDT:USDT", stranger, "market", 3.0, 128.0, "GTC", "stop_loss", T0)
    with caplog.at_level(logging.ERROR, logger="riskguard.integrations.freqtrade"):
        bot.order_filled("SOL/USDT:USDT", stranger, Order("sell", 3.0, 128.0), T0)
    assert any("could not book" in r.getMessage() for r in caplog.records)


def test_custom_stoploss_is_the_exit_plans_stop_as_freqtrades_ratio(sqlite_url: str) -> None:
    bot = Bot(sqlite_url, "bot_a")
    trade = bot.enter("BTC/USDT:USDT", "long", T0)
    assert trade is not None
    (reserved,) = Ledger(sqlite_url).reservations(status=None)
    ratio = bot.custom_stoploss("BTC/USDT:USDT", trade, later(60), 63_000.0, 0.01, False)
    assert ratio is not None
    # freqtrade puts the stop at current_rate * (1 - |ratio| / leverage)
    assert 63_000.0 * (1 - abs(ratio) / trade.leverage) == pytest.approx(reserved.stop_price)
    assert reserved.stop_price < 62_000.0


def test_backtest_time_is_riskguards_clock(sqlite_url: str) -> None:
    bot = Bot(sqlite_url, "bot_a")
    assert bot.enter("BTC/USDT:USDT", "long", T0) is not None
    (decision,) = Ledger(sqlite_url).decisions()
    assert decision.ts_ms == int(T0.timestamp() * 1000)
    assert decision.detail["nav_fresh"] and decision.detail["nav"] == 4_400.0


# -- one budget for several bots ----------------------------------------------------------------
def test_two_bots_on_one_ledger_share_the_global_caps(db_url: str) -> None:
    bot_a, bot_b = Bot(db_url, "bot_a"), Bot(db_url, "bot_b")
    minute = 0
    opened: list[tuple[str, str]] = []
    for bot, name in ((bot_a, "bot_a"), (bot_b, "bot_b")):
        for pair in PRICES:
            minute += 10  # past the posture's cooldown between entries of one strategy
            if bot.enter(pair, "long" if minute % 20 else "short", later(minute)) is not None:
                opened.append((name, pair))
    ledger = Ledger(db_url)
    positions = ledger.positions()
    assert len(positions) == len(opened) <= MODERATE.portfolio.max_open_positions
    assert {p.strategy for p in positions} == {"bot_a", "bot_b"}
    refused = [d for d in ledger.decisions(limit=100, strategy="bot_b") if not d.approved]
    assert any("global_concurrency_exceeded" in d.detail["reasons"] for d in refused)


def test_a_candle_an_hour_old_is_stale_market_data(sqlite_url: str) -> None:
    bot = Bot(sqlite_url, "bot_a")
    bot.dp.now = T0 - timedelta(hours=1)  # freqtrade has not advanced this pair to T0 yet
    leverage = bot.leverage("BTC/USDT:USDT", T0, 62_000.0, 1.0, 100.0, None, "long")
    assert bot.custom_stake_amount("BTC/USDT:USDT", T0, 62_000.0, 440.0, 5.0, 4_400.0, leverage, None, "long") == 0
    (decision,) = Ledger(sqlite_url).decisions()
    assert "market_data_stale" in decision.detail["reasons"]


def test_a_partial_exit_reduces_the_ledger_position(sqlite_url: str) -> None:
    bot = Bot(sqlite_url, "bot_a")
    trade = bot.enter("SOL/USDT:USDT", "long", T0)
    assert trade is not None and trade.amount >= 2
    half = trade.amount // 2
    bot.order_filled("SOL/USDT:USDT", trade, Order("sell", half, 131.0), later(60))
    (position,) = Ledger(sqlite_url).positions()
    assert position.qty == pytest.approx(trade.amount - half)
    trade.amount -= half  # freqtrade recalculates the trade from its orders after a partial exit
    bot.exit("SOL/USDT:USDT", 132.0, later(120))
    assert Ledger(sqlite_url).positions() == []


# -- adds: freqtrade's position adjustment --------------------------------------------------------
class Adder(Bot):
    """A strategy whose own ``adjust_trade_position`` asks for ``wanted`` (the mixin wraps it)."""

    def __init__(self, ledger_url: str | None, strategy: str, candles: Candles | None = None,
                 **settings: Any) -> None:
        super().__init__(ledger_url, strategy, candles, **settings)
        self.wanted: Any = None
        self.asked = 0

    def adjust_trade_position(self, trade: Trade, current_time: datetime, current_rate: float,
                              current_profit: float, min_stake: float | None, max_stake: float,
                              current_entry_rate: float, current_exit_rate: float, current_entry_profit: float,
                              current_exit_profit: float, **kwargs: Any) -> Any:
        self.asked += 1
        return self.wanted

    def adjust(self, pair: str, price: float, when: datetime, wanted: Any, min_stake: float = 5.0) -> Any:
        """One call of the position adjustment as freqtrade's backtest makes it, at ``price``."""
        self.dp.now, self.dp.prices[pair], self.wanted = when, price, wanted
        return self.adjust_trade_position(trade=self.trades[pair], current_time=when, current_rate=price,
                                          current_profit=0.0, min_stake=min_stake, max_stake=4_400.0,
                                          current_entry_rate=price, current_exit_rate=price,
                                          current_entry_profit=0.0, current_exit_profit=0.0)

    def add_filled(self, pair: str, stake: float, price: float, when: datetime) -> Order:
        """freqtrade places the add for ``stake`` (its amount on the step) and it fills at ``price``."""
        trade = self.trades[pair]
        amount = floor_to_step(stake / price * trade.leverage, STEPS[to_binance_symbol(pair)])
        order = Order(trade.entry_side, amount, price)
        trade.orders.append(order)
        self.order_filled(pair, trade, order, when)
        trade.open_rate = (trade.amount * trade.open_rate + amount * price) / (trade.amount + amount)
        trade.amount += amount
        return order


def _opened(url: str, pair: str = "BTC/USDT:USDT", side: str = "long") -> tuple[Adder, Trade, float]:
    """An Adder holding ``pair`` since T0; returns it, the trade and one R (USDT per unit)."""
    bot = Adder(url, "bot_a")
    trade = bot.enter(pair, side, T0)
    assert trade is not None
    (position,) = Ledger(url).positions()
    assert position.stop_price is not None
    return bot, trade, abs(position.entry_price - position.stop_price)


PAIR = "BTC/USDT:USDT"


def _add_decisions(url: str) -> list[Any]:
    return [d for d in Ledger(url).decisions(limit=100) if d.intent_id.endswith("-add")]


@pytest.mark.parametrize("side", ["long", "short"])
def test_an_add_behind_a_winner_is_approved_at_its_executable_size_and_booked_as_a_leg(sqlite_url: str,
                                                                                      side: str) -> None:
    bot, trade, r = _opened(sqlite_url, side=side)
    direction = -1.0 if side == "short" else 1.0
    trade.stop_loss = trade.open_rate  # the strategy's own custom_stoploss moved it to break-even
    price = trade.open_rate + direction * 1.2 * r
    stake = bot.adjust(PAIR, price, later(60), 38.75)
    (decision,) = _add_decisions(sqlite_url)
    assert decision.approved and decision.detail["pyramid"]["profit_r"] == pytest.approx(1.2)
    assert stake == pytest.approx(decision.detail["sized"]["notional"] / trade.leverage, rel=1e-6)
    assert stake <= 38.75
    first = trade.amount
    order = bot.add_filled(PAIR, stake, price, later(60))
    (position,) = Ledger(sqlite_url).positions()
    assert position.legs is not None and position.legs.adds == 1
    assert position.qty == pytest.approx(first + order.safe_filled)
    assert position.stop_price == pytest.approx(62_000.0)  # restated: the add's break-even stop
    assert Ledger(sqlite_url).reservations() == []


def test_the_trades_stop_follows_the_position_stop_an_add_restated(sqlite_url: str) -> None:
    bot, trade, r = _opened(sqlite_url)
    trade.stop_loss = 62_000.0  # break-even, set by the strategy's own stop logic
    price = 62_000.0 + 1.2 * r
    stake = bot.adjust(PAIR, price, later(60), 38.75)
    bot.add_filled(PAIR, stake, price, later(60))
    (position,) = Ledger(sqlite_url).positions()
    ratio = bot.custom_stoploss(PAIR, trade, later(60), price, 0.0, True)
    assert ratio is not None
    assert price * (1 - abs(ratio) / trade.leverage) == pytest.approx(position.stop_price) == pytest.approx(62_000.0)


def test_an_add_larger_than_the_caps_allow_is_shrunk_to_fit_and_keeps_its_tag(sqlite_url: str) -> None:
    bot, trade, r = _opened(sqlite_url)
    trade.stop_loss = trade.open_rate
    price = trade.open_rate + 1.2 * r
    answer = bot.adjust(PAIR, price, later(60), (1_000.0, "pyramid"))
    assert isinstance(answer, tuple) and answer[1] == "pyramid"
    (reserved,) = Ledger(sqlite_url).reservations()
    # the pyramiding size ratio binds: half the first leg
    assert reserved.qty == pytest.approx(trade.amount * MODERATE.exits.pyramiding.size_ratio)
    assert answer[0] == pytest.approx(reserved.qty * price / trade.leverage, rel=1e-6)


def test_an_add_while_the_position_is_in_loss_is_vetoed_logged_and_stored(sqlite_url: str,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    bot, trade, r = _opened(sqlite_url)
    with caplog.at_level(logging.WARNING, logger="riskguard.integrations.freqtrade"):
        assert bot.adjust(PAIR, trade.open_rate - 0.5 * r, later(60), 38.75) is None
    (line,) = [m for m in (rec.getMessage() for rec in caplog.records) if "vetoed" in m]
    assert f"riskguard vetoed {PAIR} long add at" in line and "pyramid_not_in_profit" in line
    (decision,) = _add_decisions(sqlite_url)
    assert not decision.approved and "pyramid_not_in_profit" in decision.detail["reasons"]
    assert decision.decision_id in line
    assert Ledger(sqlite_url).reservations() == []


def test_an_add_that_would_risk_more_than_the_first_trade_is_vetoed(sqlite_url: str) -> None:
    bot, trade, r = _opened(sqlite_url)  # the stop still where the entry put it: the first trade's full R
    assert bot.adjust(PAIR, trade.open_rate + 1.2 * r, later(60), 38.75) is None
    (decision,) = _add_decisions(sqlite_url)
    assert decision.detail["reasons"] == ["pyramid_risk_exceeded"]


def test_an_add_asking_for_a_looser_stop_is_vetoed(sqlite_url: str) -> None:
    bot, trade, r = _opened(sqlite_url)
    trade.stop_loss = trade.open_rate
    looser = trade.open_rate - 1.5 * r  # below the stop the ledger holds for the position
    assert bot.adjust(PAIR, trade.open_rate + 1.2 * r, later(60), (38.75, f"add stop={looser}")) is None
    (decision,) = _add_decisions(sqlite_url)
    assert "pyramid_stop_loosened" in decision.detail["reasons"]


def test_a_veto_asked_again_within_the_candle_is_stored_once(sqlite_url: str) -> None:
    bot, trade, r = _opened(sqlite_url)
    for minute in (60, 61, 119):
        assert bot.adjust(PAIR, trade.open_rate - r / 2, later(minute), 38.75) is None
    assert len(_add_decisions(sqlite_url)) == 1
    assert bot.adjust(PAIR, trade.open_rate - r / 2, later(120), 38.75) is None
    assert len(_add_decisions(sqlite_url)) == 2


@pytest.mark.parametrize("wanted", [-50.0, (-50.0, "take_half"), None, 0.0, (None, "")])
def test_a_partial_exit_or_no_adjustment_passes_unchanged(sqlite_url: str, wanted: Any) -> None:
    bot, trade, r = _opened(sqlite_url)
    assert bot.adjust(PAIR, trade.open_rate - r / 2, later(60), wanted) == wanted
    assert _add_decisions(sqlite_url) == []


def test_an_add_to_a_position_riskguard_does_not_hold_is_refused(sqlite_url: str) -> None:
    bot = Adder(sqlite_url, "bot_a")
    bot.trades[PAIR] = Trade(99, PAIR, False, 0.01, 60_000.0, 4.0, stop_loss=61_000.0)  # opened without riskguard
    assert bot.adjust(PAIR, 62_000.0, later(60), 38.75) is None
    assert Ledger(sqlite_url).reservations() == []


def test_an_add_below_freqtrades_minimum_stake_is_not_placed(sqlite_url: str) -> None:
    bot, trade, r = _opened(sqlite_url)
    trade.stop_loss = trade.open_rate
    assert bot.adjust(PAIR, trade.open_rate + 1.2 * r, later(60), 38.75, min_stake=1_000.0) is None
    assert Ledger(sqlite_url).reservations() == []


def test_no_add_while_the_trade_has_an_open_order(sqlite_url: str) -> None:
    bot, trade, r = _opened(sqlite_url)
    trade.stop_loss, trade.has_open_orders = trade.open_rate, True
    assert bot.adjust(PAIR, trade.open_rate + 1.2 * r, later(60), 38.75) is None
    assert _add_decisions(sqlite_url) == []


def test_an_add_never_placed_returns_its_budget_at_the_next_adjustment(sqlite_url: str) -> None:
    bot, trade, r = _opened(sqlite_url)
    trade.stop_loss = trade.open_rate
    assert bot.adjust(PAIR, trade.open_rate + 1.2 * r, later(60), 38.75)  # freqtrade then placed no order
    (first,) = Ledger(sqlite_url).reservations()
    assert bot.adjust(PAIR, trade.open_rate + 1.2 * r, later(120), 38.75)
    (second,) = Ledger(sqlite_url).reservations()
    assert second.reservation_id != first.reservation_id
    (released,) = Ledger(sqlite_url).reservations(status="RELEASED")
    assert released.reservation_id == first.reservation_id


def test_an_add_filled_short_of_its_reservation_returns_the_rest(sqlite_url: str) -> None:
    bot, trade, r = _opened(sqlite_url)
    trade.stop_loss = trade.open_rate
    price = trade.open_rate + 1.2 * r
    stake = bot.adjust(PAIR, price, later(60), 38.75)
    order = bot.add_filled(PAIR, stake / 2, price, later(60))  # freqtrade capped it (its max stake)
    assert Ledger(sqlite_url).reservations() == []
    (position,) = Ledger(sqlite_url).positions()
    assert position.qty == pytest.approx(0.01 + order.safe_filled)


def test_an_override_that_calls_super_is_decided_once(sqlite_url: str) -> None:
    class Doubler(Adder):
        def adjust_trade_position(self, trade: Trade, current_time: datetime, current_rate: float,
                                  current_profit: float, min_stake: float | None, max_stake: float,
                                  current_entry_rate: float, current_exit_rate: float, current_entry_profit: float,
                                  current_exit_profit: float, **kwargs: Any) -> Any:
            parent = super().adjust_trade_position(trade, current_time, current_rate, current_profit, min_stake,
                                                   max_stake, current_entry_rate, current_exit_rate,
                                                   current_entry_profit, current_exit_profit)
            return None if parent is None else parent * 2

    bot = Doubler(sqlite_url, "bot_a")
    trade = bot.enter(PAIR, "long", T0)
    assert trade is not None
    (position,) = Ledger(sqlite_url).positions()
    trade.stop_loss = trade.open_rate
    stake = bot.adjust(PAIR, trade.open_rate + 1.2 * (trade.open_rate - position.stop_price), later(60), 20.0)
    (decision,) = _add_decisions(sqlite_url)
    assert decision.detail["requested"]["notional"] == pytest.approx(40.0 * trade.leverage)
    assert stake == pytest.approx(decision.detail["sized"]["notional"] / trade.leverage, rel=1e-6)


def test_a_closed_trade_returns_its_unfilled_add(sqlite_url: str) -> None:
    bot, trade, r = _opened(sqlite_url)
    trade.stop_loss = trade.open_rate
    assert bot.adjust(PAIR, trade.open_rate + 1.2 * r, later(60), 38.75)
    bot.exit(PAIR, trade.open_rate + r, later(120))
    assert Ledger(sqlite_url).reservations() == [] and Ledger(sqlite_url).positions() == []


def test_an_add_is_decided_and_booked_through_the_service_too(sqlite_url: str) -> None:
    pytest.importorskip("uvicorn", reason="the service extra is not installed")
    from service_fixtures import TRADE, now_ms, running, service_settings

    base = preset("moderate")  # adds allowed right after the entry: the service judges wall time
    quick = base.model_copy(update={
        "exits": base.exits.model_copy(update={
            "pyramiding": base.exits.pyramiding.model_copy(update={"min_add_interval_s": 0.0})}),
        "strategies": {**base.strategies, "default": base.strategies["default"].model_copy(
            update={"cooldown_open_s": 0.0, "cooldown_flat_s": 0.0})}})
    for live in running(service_settings(sqlite_url, quick)):
        bot = Adder(None, "bot_a", service_url=live.url, token=TRADE)
        assert type(bot.riskguard_backend()).__name__ == "RiskClient"
        opened_at = datetime.fromtimestamp(now_ms() / 1000, UTC)
        trade = bot.enter(PAIR, "long", opened_at)
        assert trade is not None
        (position,) = Ledger(sqlite_url).positions()
        trade.stop_loss = trade.open_rate
        price = trade.open_rate + 1.2 * (trade.open_rate - (position.stop_price or 0.0))
        added_at = datetime.fromtimestamp(now_ms() / 1000, UTC)
        stake = bot.adjust(PAIR, price, added_at, 38.75)
        assert stake
        bot.add_filled(PAIR, stake, price, added_at)
        (position,) = Ledger(sqlite_url).positions()
        assert position.legs is not None and position.legs.adds == 1
        assert position.stop_price == pytest.approx(trade.orders[0].safe_price)

"""The demo scenario: a deterministic walk of intents through a posture, and its runner.

Kept apart from the command so a replay (and tests) can reuse the steps. The clock is fixed
(2026-01-05 13:00 UTC, a Monday), NAV starts at 4,400 USDT and quotes are refreshed at every
step, so the only things that change between steps are the ones each step describes.
Approved risk-adding intents are filled at the mark (the sized quantity becomes a position);
approved reducing intents close the position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from riskguard.book.book import DAY_MS
from riskguard.config.schema import Posture
from riskguard.engine.engine import RiskEngine
from riskguard.model.enums import PositionSide, Side, TradingState
from riskguard.model.intent import OrderIntent
from riskguard.model.position import Position
from riskguard.model.snapshots import AccountSnapshot, MarketSnapshot

DEMO_START_MS = 1_767_618_000_000
"""2026-01-05 13:00:00 UTC."""
DEMO_NAV = 4_400.0
"""Starting NAV, USDT."""
DEMO_QUOTES: dict[str, tuple[float, float]] = {
    "BTCUSDT": (59_999.9, 60_000.0),
    "ETHUSDT": (2_999.99, 3_000.0),
    "SOLUSDT": (149.99, 150.0),
    "BNBUSDT": (599.99, 600.0),
}
"""Symbol -> (bid, ask), one tick wide; the mark is the ask."""
QUOTE_AGE_MS = 300
"""Quotes are observed this long before each decision (fresh, well inside the posture's limits)."""


@dataclass(frozen=True, slots=True)
class DemoStep:
    """One intent and what happens just before it.

    ``at_s`` is seconds after :data:`DEMO_START_MS`. ``nav`` takes a fresh NAV snapshot at that
    time (None: keep the last one, which may then go stale). ``flatten`` closes every position
    first, ``trading_state`` switches the account's state, ``resize_variant`` decides with the
    posture's ``resize_to_fit`` variant (same book), ``fill`` turns an approval into a position.
    """

    note: str
    at_s: float
    intent: OrderIntent
    nav: float | None = DEMO_NAV
    flatten: bool = False
    trading_state: TradingState | None = None
    resize_variant: bool = False
    fill: bool = True


@dataclass(frozen=True, slots=True)
class DemoResult:
    """A step and the engine's decision on it."""

    number: int
    step: DemoStep
    verdict: str
    detail: dict[str, Any] = field(repr=False)


def _intent(n: int, strategy: str, symbol: str, notional: float | None, leverage: float, *,
            side: Side = Side.BUY, qty: float | None = None, reduce_only: bool = False,
            confidence: float = 0.8, stop_pct: float = 0.02, rr: float = 2.0) -> OrderIntent:
    """A demo intent priced off :data:`DEMO_QUOTES`: stop ``stop_pct`` away, target at ``rr`` R."""
    price = DEMO_QUOTES[symbol][1]
    sign = 1.0 if side is Side.BUY else -1.0
    stop = None if reduce_only else round(price * (1.0 - sign * stop_pct), 2)
    target = None if reduce_only else round(price * (1.0 + sign * stop_pct * rr), 2)
    return OrderIntent(intent_id=f"demo-{n:02d}", strategy=strategy, symbol=symbol, side=side, notional=notional,
                       qty=qty, leverage=leverage, stop_price=stop, take_profit_price=target,
                       confidence=confidence, reduce_only=reduce_only)


DAY2_S = DAY_MS / 1000.0
"""Seconds from the start to the same time on the next UTC day."""

DEMO_STEPS: tuple[DemoStep, ...] = (
    DemoStep("reasonable BTC trend entry", 0, _intent(1, "btc_trend", "BTCUSDT", 600, 3)),
    DemoStep("reasonable ETH trend entry", 5, _intent(2, "eth_trend", "ETHUSDT", 640, 3)),
    DemoStep("oversized: 1,200 USDT unlevered is above 20 % of NAV and the equity clamp", 10,
             _intent(3, "sol_trend", "SOLUSDT", 1_200, 1)),
    DemoStep("excessive leverage: 10x where SOLUSDT allows 3x", 15, _intent(4, "sol_trend", "SOLUSDT", 500, 10)),
    DemoStep("burst: btc_trend adds to its entry 30 s later, not in profit", 30,
             _intent(5, "btc_trend", "BTCUSDT", 300, 2)),
    DemoStep("oversized breakout under resize_to_fit: shrunk to the binding cap", 35,
             _intent(6, "btc_breakout", "BTCUSDT", 1_200, 2), resize_variant=True),
    DemoStep("fourth position fills the global cap", 40, _intent(7, "bnb_meanrev", "BNBUSDT", 300, 2)),
    DemoStep("a fifth position is refused", 45, _intent(8, "sol_trend", "SOLUSDT", 300, 2)),
    DemoStep("next day, book flat, NAV fell to 3,900: step 2's trade again", DAY2_S,
             _intent(9, "eth_trend", "ETHUSDT", 640, 3), nav=3_900.0, flatten=True),
    DemoStep("a smaller BTC entry still fits", DAY2_S + 5, _intent(10, "btc_trend", "BTCUSDT", 500, 3), nav=3_900.0),
    DemoStep("NAV feed silent for 65 s: stale NAV fails closed", DAY2_S + 70,
             _intent(11, "sol_trend", "SOLUSDT", 300, 2), nav=None),
    DemoStep("operator HALTs trading: closing the BTC position still passes", DAY2_S + 80,
             _intent(12, "btc_trend", "BTCUSDT", None, 3, side=Side.SELL, qty=0.008, reduce_only=True),
             nav=3_900.0, trading_state=TradingState.HALTED),
    DemoStep("while HALTED, new risk is refused", DAY2_S + 85, _intent(13, "eth_trend", "ETHUSDT", 400, 3),
             nav=3_900.0),
)
"""The demo's steps in order (13 intents)."""


def resize_variant(posture: Posture) -> Posture:
    """``posture`` with ``resize_to_fit`` on and ``-resize`` appended to its name."""
    return posture.model_copy(update={"resize_to_fit": True, "name": f"{posture.name}-resize"})


def _quotes(now_ms: int) -> list[MarketSnapshot]:
    ts = now_ms - QUOTE_AGE_MS
    return [MarketSnapshot(symbol, ask, ts, bid=bid, ask=ask, exchange_ts_ms=ts)
            for symbol, (bid, ask) in DEMO_QUOTES.items()]


def run_demo(posture: Posture, steps: tuple[DemoStep, ...] = DEMO_STEPS,
             start_ms: int = DEMO_START_MS) -> tuple[list[DemoResult], RiskEngine, RiskEngine]:
    """Run ``steps`` through ``posture`` (and its resize_to_fit variant, which shares the book,
    quotes and clocks). Returns the results and both engines."""
    engine = RiskEngine(posture, clock=lambda: start_ms)
    variant = RiskEngine(resize_variant(posture), clock=lambda: start_ms)
    # The variant decides on the same portfolio: it is handed the same book and fed the same quotes.
    variant.load_state(book=engine.book, account=None, trading_state=variant.trading_state,
                       reason=variant.trading_state_reason)
    results = []
    for number, step in enumerate(steps, 1):
        now = start_ms + int(step.at_s * 1000)
        for quote in _quotes(now):
            engine.update_market(quote)
            variant.update_market(quote)
        if step.flatten:
            for strategy, symbol in list(engine.book.positions):
                engine.close_position(symbol, strategy)
        for e in (engine, variant):
            if step.nav is not None:
                e.update_account(AccountSnapshot(step.nav, now))
            if step.trading_state is not None:
                e.set_trading_state(step.trading_state, "demo operator")
        decider = variant if step.resize_variant else engine
        veto, detail = decider.check_order(step.intent, now_ms=now)
        verdict = "VETO" if veto else ("RESIZED" if detail["resized"] else "APPROVED")
        if not veto and step.fill:
            _fill(engine, step.intent, detail, now)
        results.append(DemoResult(number, step, verdict, detail))
    return results, engine, variant


def _fill(engine: RiskEngine, intent: OrderIntent, detail: dict[str, Any], now_ms: int) -> None:
    """Apply an approved intent to the book: close on a reduce, else open at the sized quantity."""
    if detail["reducing"]:
        engine.close_position(intent.symbol, intent.strategy)
        return
    qty, price = detail["sized"]["qty"], detail["requested"]["price"]
    side = PositionSide.LONG if intent.is_buy else PositionSide.SHORT
    existing = engine.book.position(intent.strategy, intent.symbol)
    if existing is not None:
        # Adding to a position: one averaged position per strategy and symbol.
        total = existing.qty + qty
        price = (existing.entry_price * existing.qty + price * qty) / total
        qty = total
    position = Position(intent.symbol, side, qty, price, intent.strategy, intent.leverage, intent.stop_price,
                        intent.take_profit_price, now_ms, f"pos-{detail['decision_id']}")
    engine.add_position(position)


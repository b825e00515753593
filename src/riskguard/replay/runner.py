"""Event-driven replay: signals through the real RiskEngine (policy, sizing, every gate) and the real
ledger, exits simulated vectorized between events.

Time line of a signal from bar ``i`` (open time ``T_i``, length ``dt``): it is decided at the bar's
close ``T_i + dt`` with the mark at that close, entered at the open of bar ``i + 1`` (market
order, taker fee), and its exit plan (``riskguard.exits``) is simulated once over the bars from
``i + 1`` on, stop before target within a bar. Every fill of the plan becomes an event at the close
of its bar; at equal times exits are processed before new signals, so a closed slot is free for
the next decision. Funding is booked with the trade's last fill. Per event the work is O(1) in
the number of bars; the equity and exposure curves are computed afterwards with NumPy.

The account behind the loop is a :class:`~riskguard.replay.accounts.ReplayAccount`: with the
ledger on (the default) every signal is decided once by ``RiskGate.reserve`` (sized, gated and,
when approved, reserved) and filled and closed through a temporary SQLite ledger, so the engine
decides on the ledger's book exactly as it does live; without it, the engine's own book.
"""

from __future__ import annotations

import gc
import heapq
import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from riskguard.config.schema import Posture
from riskguard.engine.engine import RiskEngine
from riskguard.exits import ExitPlan, build_exit_plan, compile_exit_rules
from riskguard.exits.dynamic_stop import adjust_stop, compile_dynamic_stop_rule
from riskguard.exits.pyramiding import Leg, PyramidPosition, plan_add
from riskguard.math.indicators import atr as atr_indicator
from riskguard.model import validation as v
from riskguard.model.decision import Detail
from riskguard.model.enums import PositionSide, Regime, Side
from riskguard.model.errors import InputValidationError
from riskguard.model.position import Position
from riskguard.model.signal import Signal
from riskguard.model.snapshots import MarketSnapshot
from riskguard.policy.regime import detect_regimes
from riskguard.replay.accounts import LedgerAccount, MemoryAccount, ReplayAccount
from riskguard.replay.exit_simulation import ExitFill, ExitResult, FillKind, simulate_exits
from riskguard.replay.fees import FeeSchedule, trade_cashflows
from riskguard.replay.managed_trade import (
    ADD,
    BREAK_EVEN,
    PRICE_TRIGGER,
    SIGNAL_TRIGGER,
    TRAILING,
    AddRow,
    ManagedTrade,
    StopMove,
    segment_plan,
)
from riskguard.replay.market import MarketData, SymbolSeries
from riskguard.replay.signals_file import FileSignal
from riskguard.replay.strategies import Strategy, signal_entries

_BPS = 1e-4
_EXIT, _SIGNAL = 0, 1  # event priorities at equal times: exits first
_MANAGE = -1  # the exit event's fill number of a managed trade's visit at a bar close


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    """Run parameters that are not risk posture: starting NAV (USDT), exchange fees, the synthetic
    top-of-book half-spread around the mark (bps), whether the ledger is in the loop, the ATR
    period of the stops (bars), how many bar returns feed the CVaR gate and how often (ms of replay
    time) those returns are refreshed (every symbol at once, so the scenarios stay aligned).
    ``pyramid`` asks the engine for adds to open trades and ``dynamic_stops`` moves their stops
    (posture ``exits.dynamic_stop``); both off, the replay is exactly the one without them."""

    nav: float = 4_400.0
    fees: FeeSchedule = field(default_factory=lambda: FeeSchedule(taker_bps=5.0, maker_bps=2.0))
    spread_bps: float = 1.0
    use_ledger: bool = True
    atr_period: int = 14
    returns_window: int = 720
    returns_refresh_ms: int = 86_400_000
    pyramid: bool = False
    dynamic_stops: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.nav) and self.nav > 0.0):
            raise InputValidationError("nav", "must be a finite number > 0 (USDT)", self.nav)
        if not (math.isfinite(self.spread_bps) and self.spread_bps >= 0.0):
            raise InputValidationError("spread_bps", "must be >= 0", self.spread_bps)
        if self.atr_period < 1:
            raise InputValidationError("atr_period", "must be >= 1", self.atr_period)


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """One engine decision of the replay (times epoch ms, notionals USDT)."""

    ts_ms: int
    symbol: str
    strategy: str
    side: str
    approved: bool
    resized: bool
    reasons: tuple[str, ...]
    clamped_by: str | None
    requested_notional: float | None
    sized_notional: float | None


@dataclass(frozen=True, slots=True)
class TradeRow:
    """One replayed trade: entry, the plan's fills, and its cashflows (USDT; ``net_r`` in R)."""

    symbol: str
    strategy: str
    side: str
    entry_ts_ms: int
    entry_price: float
    qty: float
    stop_price: float
    exit_ts_ms: int
    exit_price: float
    exit_kind: str
    fills: tuple[tuple[int, float, float, str], ...]
    gross_usdt: float
    fees_usdt: float
    funding_usdt: float
    net_usdt: float
    net_r: float
    adds: tuple[AddRow, ...] = ()
    stop_path: tuple[StopMove, ...] = ()


@dataclass(slots=True)
class ReplayResult:
    """Everything a report needs. ``timeline_ms`` are bar close times (epoch ms) with the equity
    (USDT) and gross exposure (USDT notional) at each."""

    posture_name: str
    config_hash: str
    options: ReplayOptions
    market: MarketData
    strategies: tuple[str, ...]
    decisions: list[DecisionRow]
    trades: list[TradeRow]
    skipped: dict[str, int]
    timeline_ms: npt.NDArray[np.int64]
    equity: npt.NDArray[np.float64]
    exposure: npt.NDArray[np.float64]
    ledger_in_loop: bool
    ledger_realized_usdt: float | None
    adds: list[AddRow] = field(default_factory=list)


@dataclass(slots=True)
class _Open:
    """A position the replay holds: its plan, simulated fills, cashflows and what is still open."""

    series: SymbolSeries
    strategy: str
    plan: ExitPlan
    result: ExitResult
    entry_bar: int
    entry_ts_ms: int
    cash_fees: float
    cash_funding: float
    cash_gross: float
    cash_net: float
    cash_net_r: float
    qty_open: float
    fills_done: int = 0
    realized: float = 0.0
    managed: ManagedTrade | None = None


class _SignalEvent(NamedTuple):
    """One signal to decide (a tuple: a 10-million-bar run builds hundreds of thousands up front,
    and a frozen dataclass costs several times more to construct)."""

    series: SymbolSeries
    bar: int
    strategy: str
    side: Side
    signal_id: str
    confidence: float | None
    expected_rr: float | None
    leverage: float | None
    stop_price: float | None
    take_profit_price: float | None
    atr: float | None
    source: str | None


def _normalised_symbol(symbol: str) -> bool:
    """True when the model's symbol check would keep ``symbol`` as it is."""
    try:
        return v.symbol("symbol", symbol) == symbol
    except InputValidationError:
        return False


def _stripped_name(name: str) -> bool:
    """True when the model's identifier check would keep ``name`` as it is."""
    try:
        return v.identifier("strategy", name) == name
    except InputValidationError:
        return False


Progress = Callable[[int, int], None]
"""Called with (events done, events total) as the replay advances."""


def _signal_events(market: MarketData, strategies: Sequence[Strategy],
                   file_signals: Sequence[FileSignal]) -> list[tuple[int, int, int, _SignalEvent]]:
    by_symbol = {s.symbol: s for s in market.series}
    # (time, symbol, strategy, bar, arrival, event): sorted as tuples, arrival breaking ties the way
    # a stable sort on the first four would (the event itself is never compared).
    keyed: list[tuple[int, str, str, int, int, _SignalEvent]] = []
    for series in market.series:
        bars = series.bars
        symbol = series.symbol
        closes = series.close_times_ms
        for strategy in strategies:
            strategy.prepare(symbol, bars)
            name = strategy.name
            found = signal_entries(strategy, symbol, bars, len(bars) - 1)  # the last bar has no next open
            at = [i for i, _ in found]
            for (i, entry), t, opened in zip(found, closes[at].tolist(), bars.time_ms[at].tolist(), strict=True):
                keyed.append((t, symbol, name, i, len(keyed), _SignalEvent(
                    series, i, name, entry.side, f"{name}-{symbol}-{opened}", entry.confidence,
                    entry.expected_rr, entry.leverage, None, None, None, None)))
    for row_number, fs in enumerate(file_signals, start=1):
        found_series = by_symbol.get(fs.symbol)
        if found_series is None:
            raise InputValidationError(f"signals row {row_number}.symbol", f"no market data for {fs.symbol}",
                                       fs.symbol)
        series = found_series
        closes = series.close_times_ms
        i = int(np.searchsorted(closes, fs.ts_ms, side="left"))
        if i >= len(closes) - 1:
            continue  # after the data (or on its last bar): nothing to enter at
        keyed.append((int(closes[i]), series.symbol, fs.strategy, i, len(keyed), _SignalEvent(
            series, i, fs.strategy, fs.side, fs.signal_id or f"{fs.strategy}-{fs.symbol}-{row_number}",
            fs.confidence, fs.expected_rr, fs.leverage, fs.stop_price, fs.take_profit_price, fs.atr, fs.source)))
    keyed.sort()  # the arrival number is unique: tuples never get as far as comparing the events
    return [(t, _SIGNAL, seq, ev) for seq, (t, _, _, _, _, ev) in enumerate(keyed)]


class Replay:
    """One replay run (construct, then :meth:`run`). Not reusable."""

    def __init__(self, posture: Posture, market: MarketData, *, strategies: Sequence[Strategy] = (),
                 file_signals: Sequence[FileSignal] = (), options: ReplayOptions | None = None,
                 ledger_dir: Path | None = None) -> None:
        if not strategies and not file_signals:
            raise InputValidationError("signals", "give a strategy or a signals file", None)
        self.posture = posture
        self.market = market
        self.options = options or ReplayOptions()
        self.strategies = tuple(strategies)
        self.file_signals = tuple(file_signals)
        self.now = 0
        self.engine = RiskEngine(posture, clock=lambda: self.now)
        self.exit_rules = compile_exit_rules(posture.exits)
        self.realized = 0.0
        self.open: dict[tuple[str, str], _Open] = {}
        self.decisions: list[DecisionRow] = []
        self.trades: list[TradeRow] = []
        self.skipped: dict[str, int] = {}
        self._ledger_dir = ledger_dir
        self.account: ReplayAccount = MemoryAccount(self.engine)
        self._managing = self.options.pyramid or self.options.dynamic_stops
        self._stop_rule = compile_dynamic_stop_rule(posture.exits.dynamic_stop) if self.options.dynamic_stops else None
        self.adds: list[AddRow] = []
        self._atr: dict[str, npt.NDArray[np.float64]] = {}
        self._regimes: dict[str, list[Regime | None]] = {}
        self._returns: dict[str, npt.NDArray[np.float64]] = {}
        self._close_times: dict[str, npt.NDArray[np.int64]] = {}
        self._trusted_marks: dict[str, bool] = {}
        self._strategy_names: dict[str, str | None] = {}
        self._last_regime: dict[str, Regime | None] = {}
        self._returns_fed_ms: int | None = None
        self._marks_fed_ms: int | None = None

    # -- set-up ----------------------------------------------------------------------------
    def _prepare_series(self) -> None:
        cfg = self.posture.policy.regime
        for s in self.market.series:
            bars = s.bars
            self._atr[s.symbol] = atr_indicator(bars.high, bars.low, bars.close, self.options.atr_period)
            self._regimes[s.symbol] = list(detect_regimes(s.frame, cfg).to_numpy())
            returns = np.zeros(len(bars))
            returns[1:] = bars.close[1:] / bars.close[:-1] - 1.0
            self._returns[s.symbol] = returns
            closes = s.close_times_ms  # a property computing a new array: once per run, not per use
            self._close_times[s.symbol] = closes
            # Marks come from these closes: checked once here, the snapshots skip the per-call checks.
            self._trusted_marks[s.symbol] = (
                _normalised_symbol(s.symbol) and bool(np.all(np.isfinite(bars.close)) and np.all(bars.close > 0.0))
                and (len(closes) == 0 or int(closes[0]) >= 0))

    def _skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1

    # -- market state at the current time ----------------------------------------------------
    def _bar_at(self, symbol: str, t: int) -> int:
        """Index of the last bar of ``symbol`` closed at or before ``t`` (-1 before the first)."""
        return int(self._close_times[symbol].searchsorted(t, side="right")) - 1

    def _nav(self, t: int) -> float:
        unrealized = 0.0
        for held in self.open.values():
            k = self._bar_at(held.series.symbol, t)
            if k >= 0:
                mark = float(held.series.bars.close[k])
                unrealized += held.plan.direction * (mark - held.plan.entry_price) * held.qty_open
        return self.options.nav + self.realized + unrealized

    def _feed(self, t: int) -> float:
        if self._marks_fed_ms != t:  # several signals at one bar close share the same marks
            self._feed_marks(t)
            self._marks_fed_ms = t
        nav = self._nav(t)
        if nav <= 0.0:
            raise InputValidationError("nav", f"the replayed account is wiped out at {t} ms", nav)
        self.account.mark_nav(nav, t)
        return nav

    def _feed_marks(self, t: int) -> None:
        half = self.options.spread_bps * _BPS / 2.0
        update = self.engine.update_market
        for s in self.market.series:
            symbol = s.symbol
            k = int(self._close_times[symbol].searchsorted(t, side="right")) - 1
            if k < 0:
                continue
            mark = float(s.bars.close[k])
            atr_k = float(self._atr[symbol][k])
            atr = atr_k if math.isfinite(atr_k) and atr_k > 0 else None
            bid, ask = mark * (1.0 - half), mark * (1.0 + half)
            if self._trusted_marks[symbol] and bid > 0.0 and ask < math.inf and t >= 0:
                update(MarketSnapshot.trusted(symbol, mark, t, bid, ask, atr))
            else:
                update(MarketSnapshot(symbol, mark, t, bid=bid, ask=ask, exchange_ts_ms=t, atr=atr))

    def _feed_returns(self, t: int) -> None:
        """Every symbol's bar returns up to ``t`` for the CVaR gate, at most once per refresh period:
        each refresh invalidates the gate's cached headroom."""
        if self._returns_fed_ms is not None and t - self._returns_fed_ms < self.options.returns_refresh_ms:
            return
        self._returns_fed_ms = t
        window = self.options.returns_window
        for s in self.market.series:
            k = self._bar_at(s.symbol, t)
            if k >= 1:
                self.engine.update_returns(s.symbol, self._returns[s.symbol][max(1, k + 1 - window) : k + 1])

    def _update_regime(self, symbol: str, bar: int) -> Regime | None:
        """The regime of ``symbol`` at ``bar``, handed to the policy when it changed."""
        regime = self._regimes[symbol][bar]
        if symbol not in self._last_regime or self._last_regime[symbol] != regime:
            self.engine.policy.update_regime(symbol, regime)
            self._last_regime[symbol] = regime
        return regime

    # -- deciding ----------------------------------------------------------------------------
    def _signal(self, ev: _SignalEvent, t: int, atr_value: float | None) -> Signal:
        return Signal(signal_id=ev.signal_id, strategy=ev.strategy, symbol=ev.series.symbol, side=ev.side,
                      confidence=ev.confidence, expected_rr=ev.expected_rr, stop_price=ev.stop_price,
                      take_profit_price=ev.take_profit_price, atr=atr_value, leverage=ev.leverage,
                      source=ev.source, ts_ms=t)

    def _on_signal(self, ev: _SignalEvent, t: int) -> None:
        series = ev.series
        symbol = series.symbol
        if (ev.strategy, symbol) in self.open:
            held = self.open[(ev.strategy, symbol)]
            if (self.options.pyramid and held.managed is not None and held.managed.bar - 1 == ev.bar
                    and (ev.side is Side.BUY) == (held.plan.direction == 1)):
                if self._request_add(held, ev.bar, t, SIGNAL_TRIGGER):
                    self._resimulate(held, held.managed, ev.bar + 1, t)
                return
            self._skip("strategy_already_in_symbol")
            return
        atr_i = float(self._atr[symbol][ev.bar]) if ev.atr is None else ev.atr
        if not (math.isfinite(atr_i) and atr_i > 0.0):
            self._skip("atr_warmup")
            return
        self._feed(t)
        regime = self._update_regime(symbol, ev.bar)
        self._feed_returns(t)
        veto, detail, reservation_id = self.account.decide(self._signal(ev, t, atr_i), t)
        sized = detail.get("sized") or {}
        requested = detail.get("requested") or {}
        self.decisions.append(DecisionRow(
            t, symbol, ev.strategy, ev.side.value, not veto, bool(detail.get("resized")),
            tuple(detail.get("reasons") or ()), detail.get("clamped_by") if detail.get("resized") else None,
            requested.get("notional"), sized.get("notional")))
        if veto:
            return
        self._enter(ev, t, detail, reservation_id, atr_i, regime)

    def _enter(self, ev: _SignalEvent, t: int, detail: Detail, reservation_id: str | None, atr_i: float,
               regime: Regime | None) -> None:
        series = ev.series
        symbol = series.symbol
        bars = series.bars
        e = ev.bar + 1
        qty = float(detail["sized"]["qty"] or 0.0)
        entry_price = float(bars.open[e])
        applied = (detail.get("policy") or {}).get("applied") or {}
        mode = applied.get("exit_mode") if isinstance(applied.get("exit_mode"), str) else None
        rules = self.engine.instruments.get(symbol)
        try:
            if rules is None or qty <= 0.0:
                raise InputValidationError("qty", "no instrument rules or nothing to fill", qty)
            side = PositionSide.LONG if ev.side is Side.BUY else PositionSide.SHORT
            plan = build_exit_plan(self.exit_rules, rules, side, entry_price, qty, atr_i,
                                   regime=regime or Regime.NORMAL, mode=mode, entry_time_ms=int(bars.time_ms[e]))
        except InputValidationError:
            self._skip("exit_plan_not_placeable")
            self.account.abandoned(reservation_id)
            return
        sl = slice(e, None)
        result = simulate_exits(plan, bars.open[sl], bars.high[sl], bars.low[sl], bars.close[sl], bars.time_ms[sl])
        if self._managing:
            self._enter_managed(ev, t, detail, reservation_id, plan, result, side)
            return
        cash = trade_cashflows(plan, result, bars.time_ms[sl], bars.open[sl], self.options.fees,
                               series.funding_times_ms, series.funding_rates, entry_time_ms=int(bars.time_ms[e]))
        fee_bps = self.options.fees.maker_bps if self.options.fees.entry_maker else self.options.fees.taker_bps
        entry_fee = plan.entry_price * plan.qty * fee_bps * _BPS
        held = _Open(series, ev.strategy, plan, result, e, t, cash.fees_usdt, cash.funding_usdt, cash.gross_usdt,
                     cash.net_usdt, cash.net_r, plan.qty)
        self.open[(ev.strategy, symbol)] = held
        self.realized -= entry_fee
        held.realized -= entry_fee
        self.account.entered(reservation_id, self._position(symbol, side, plan.qty, entry_price, ev.strategy,
                                                            float(detail["sized"].get("leverage") or 1.0),
                                                            plan.stop_price, t), entry_fee)
        closes = self._close_times[symbol]
        for number, fill in enumerate(result.fills):
            self._push(int(closes[e + fill.bar]), _EXIT, (ev.strategy, symbol, number))

    def _position(self, symbol: str, side: PositionSide, qty: float, entry_price: float, strategy: str,
                  leverage: float, stop_price: float, opened_ts_ms: int) -> Position:
        """The engine's Position of a replayed trade; the validating constructor unless every value
        is known valid (the symbol and prices were checked up front, the plan checked the rest)."""
        name = self._strategy_names.get(strategy, "")
        if name == "":
            name = self._strategy_names[strategy] = strategy if _stripped_name(strategy) else None
        if (name is not None and self._trusted_marks[symbol] and qty > 0.0 and entry_price > 0.0
                and stop_price > 0.0 and 0.0 < leverage < math.inf and max(qty, entry_price, stop_price) < math.inf
                and opened_ts_ms >= 0):
            return Position.trusted(symbol, side, qty, entry_price, name, leverage=leverage, stop_price=stop_price,
                            opened_ts_ms=opened_ts_ms)
        return Position(symbol, side, qty, entry_price, strategy, leverage=leverage, stop_price=stop_price,
                        opened_ts_ms=opened_ts_ms)

    # -- exits ---------------------------------------------------------------------------
    def _on_exit(self, key: tuple[str, str], number: int, t: int) -> None:
        held = self.open[key]
        plan, fills = held.plan, held.result.fills
        fill = fills[number]
        last = number == len(fills) - 1
        qty = held.qty_open if last else min(held.qty_open, round(fill.fraction * plan.qty, 12))
        maker = fill.kind is FillKind.TAKE_PROFIT and self.options.fees.take_profit_maker
        bps = self.options.fees.maker_bps if maker else self.options.fees.taker_bps
        fee = 0.0 if fill.kind is FillKind.END_OF_DATA else fill.price * fill.fraction * plan.qty * bps * _BPS
        funding = held.cash_funding if last else 0.0
        pnl = plan.direction * (fill.price - plan.entry_price) * qty - fee + funding
        held.qty_open -= qty
        held.realized += pnl
        self.realized += pnl
        strategy, symbol = key
        self.now = t
        remaining = None if last else self._position(symbol, plan.side, held.qty_open, plan.entry_price, strategy,
                                                     1.0, plan.stop_price, held.entry_ts_ms)
        self.account.exited(strategy, symbol, fill.price, None if last else qty, fee, funding, remaining)
        if not last:
            return
        del self.open[key]
        series = held.series
        closes = self._close_times[symbol]
        e = held.entry_bar
        self.trades.append(TradeRow(
            symbol, strategy, "BUY" if plan.direction == 1 else "SELL", int(series.bars.time_ms[e]),
            plan.entry_price, plan.qty, plan.stop_price, t, held.result.average_price, fill.kind.value,
            tuple((int(closes[e + f.bar]), f.price, f.fraction, f.kind.value) for f in fills),
            held.cash_gross, held.cash_fees, held.cash_funding, held.cash_net, held.cash_net_r))
        self.engine.policy.record_trade(symbol, held.cash_net, held.cash_net_r, t)

    # -- managed trades: dynamic stops and adds (see riskguard.replay.managed_trade) ----------------
    def _enter_managed(self, ev: _SignalEvent, t: int, detail: Detail, reservation_id: str | None, plan: ExitPlan,
                       result: ExitResult, side: PositionSide) -> None:
        series = ev.series
        symbol = series.symbol
        e = ev.bar + 1
        entry_fee = plan.entry_price * plan.qty * self._entry_fee_bps() * _BPS
        opened = self._position(symbol, side, plan.qty, plan.entry_price, ev.strategy,
                                float(detail["sized"].get("leverage") or 1.0), plan.stop_price, t)
        # Its legs from the start: one R stays the opening stop's distance when the stop moves.
        position = replace(opened, legs=opened.legs_or_opening(self.engine.limits.default_stop_distance_pct))
        trade = ManagedTrade(base_plan=plan, plan=plan, segment=result, segment_start=e, bar=e, stop=plan.stop_price,
                             best=plan.entry_price, r_unit=plan.risk_per_unit,
                             legs=[Leg(plan.qty, plan.entry_price, t)], position=position, leverage=ev.leverage,
                             confidence=ev.confidence, expected_rr=ev.expected_rr,
                             funding_until_ms=int(series.bars.time_ms[e]), fees=entry_fee)
        held = _Open(series, ev.strategy, plan, result, e, t, 0.0, 0.0, 0.0, 0.0, 0.0, plan.qty, managed=trade)
        self.open[(ev.strategy, symbol)] = held
        self.realized -= entry_fee
        held.realized -= entry_fee
        self.account.entered(reservation_id, position, entry_fee)
        self._push(int(self._close_times[symbol][e]), _EXIT, (ev.strategy, symbol, _MANAGE))

    def _entry_fee_bps(self) -> float:
        return self.options.fees.maker_bps if self.options.fees.entry_maker else self.options.fees.taker_bps

    def _on_manage(self, key: tuple[str, str], t: int) -> None:
        """A managed trade at the close of its bar ``bar``: the segment's fills in that bar, then
        the stop move and the add request decided at the close (both work from the next bar)."""
        held = self.open[key]
        m = held.managed
        assert m is not None  # only managed trades get these events
        bars = held.series.bars
        j = m.bar
        self._accrue_funding(held, m, int(bars.time_ms[j]))
        fills = m.segment.fills
        while m.next_fill < len(fills) and m.segment_start + fills[m.next_fill].bar == j:
            fill = fills[m.next_fill]
            m.next_fill += 1
            if self._managed_fill(key, held, m, fill, m.next_fill == len(fills), t):
                return
        direction = m.direction
        extreme = float(bars.high[j]) if direction == 1 else float(bars.low[j])
        if (extreme - m.best) * direction > 0.0:
            m.best = extreme
        changed = self._move_stop(held, m, j, t) if self._stop_rule is not None else False
        if self.options.pyramid:
            distance_r = self.engine.limits.strategy(held.strategy).pyramid.min_add_distance_r
            if (float(bars.close[j]) - m.add_trigger_price(distance_r)) * direction >= 0.0:
                changed = self._request_add(held, j, t, PRICE_TRIGGER) or changed
        if changed:
            self._resimulate(held, m, j + 1, t)
        m.bar = j + 1
        self._push(int(self._close_times[held.series.symbol][j + 1]), _EXIT, (*key, _MANAGE))

    def _accrue_funding(self, held: _Open, m: ManagedTrade, until_ms: int) -> None:
        """Funding at each funding time after the last accrued and at or before ``until_ms`` on the
        quantity open then, priced at the open of the bar holding the time (as trade_cashflows)."""
        series = held.series
        times, rates = series.funding_times_ms, series.funding_rates
        if times is None or rates is None or until_ms <= m.funding_until_ms:
            return
        lo = int(times.searchsorted(m.funding_until_ms, side="right"))
        hi = int(times.searchsorted(until_ms, side="right"))
        bars = series.bars
        for at, rate in zip(times[lo:hi].tolist(), rates[lo:hi].tolist(), strict=True):
            bar = max(int(bars.time_ms.searchsorted(at, side="right")) - 1, 0)
            m.funding -= m.direction * rate * held.qty_open * float(bars.open[bar])
        m.funding_until_ms = until_ms

    def _managed_fill(self, key: tuple[str, str], held: _Open, m: ManagedTrade, fill: ExitFill, final: bool,
                      t: int) -> bool:
        """Book one fill of the segment (the segment's last closes what is left); True when the
        trade is closed."""
        plan = m.plan
        qty = held.qty_open if final else min(held.qty_open, round(fill.fraction * plan.qty, 12))
        final = final or qty >= held.qty_open  # a partial fill that leaves nothing closes the trade
        maker = fill.kind is FillKind.TAKE_PROFIT and self.options.fees.take_profit_maker
        bps = self.options.fees.maker_bps if maker else self.options.fees.taker_bps
        fee = 0.0 if fill.kind is FillKind.END_OF_DATA else fill.price * qty * bps * _BPS
        gross = m.direction * (fill.price - plan.entry_price) * qty
        funding = m.funding if final else 0.0
        pnl = gross - fee + funding
        held.qty_open -= qty
        held.realized += pnl
        self.realized += pnl
        m.gross += gross
        m.fees += fee
        m.fills.append((t, fill.price, qty, fill.kind.value))
        strategy, symbol = key
        self.now = t
        if not final:
            m.position = replace(m.position, qty=held.qty_open)
            self.account.exited(strategy, symbol, fill.price, qty, fee, 0.0, m.position)
            if fill.kind is FillKind.TAKE_PROFIT:
                base = m.base_plan
                m.targets_done += 1
                if base.break_even_after == m.targets_done - 1 and base.break_even_price is not None:
                    self._restate_stop(m, t, base.break_even_price, BREAK_EVEN)
            return False
        self.account.exited(strategy, symbol, fill.price, None, fee, funding, None)
        del self.open[key]
        legs_qty = m.legs_qty
        exit_qty = sum(f[2] for f in m.fills)
        net = m.gross - m.fees + m.funding
        net_r = net / (m.legs[0].qty * m.r_unit)
        self.trades.append(TradeRow(
            symbol, strategy, "BUY" if m.direction == 1 else "SELL", int(held.series.bars.time_ms[held.entry_bar]),
            m.legs[0].price, legs_qty, m.base_plan.stop_price, t, sum(f[1] * f[2] for f in m.fills) / exit_qty,
            fill.kind.value, tuple((ts, price, q / legs_qty, kind) for ts, price, q, kind in m.fills),
            m.gross, m.fees, m.funding, net, net_r, tuple(m.adds), tuple(m.stop_path)))
        self.engine.policy.record_trade(symbol, net, net_r, t)
        return True

    def _restate_stop(self, m: ManagedTrade, t: int, stop: float, reason: str) -> bool:
        """Tighten the trade's stop and tell the account; True when it moved."""
        if not m.move_stop(t, stop, reason):
            return False
        m.position = replace(m.position, stop_price=m.stop)
        self.account.restated(m.position, reason)
        return True

    def _move_stop(self, held: _Open, m: ManagedTrade, j: int, t: int) -> bool:
        """The dynamic stop at the close of bar ``j`` (posture ``exits.dynamic_stop``); the plan's
        own trailing stop, when tighter, is the stop it starts from."""
        assert self._stop_rule is not None
        atr_j = float(self._atr[held.series.symbol][j])
        if not (math.isfinite(atr_j) and atr_j > 0.0):
            return False
        trail = m.trailing_line()
        current = trail if trail is not None and m.tighter(trail, m.stop) else m.stop
        engine = self.engine
        # The account's operating size multiplier, as the engine sizes with it; the adjuster takes it in (0, 1].
        multiplier = min(engine.ladder_size_multiplier, engine.operating_size_multiplier)
        update = adjust_stop(self._stop_rule, m.plan, current, m.best, float(held.series.bars.close[j]), atr_j,
                             targets_filled=m.targets_done, regime=self._regimes[held.series.symbol][j],
                             size_multiplier=multiplier if 0.0 < multiplier <= 1.0 else 1.0)
        if not update.moved:
            return False
        if current != m.stop:
            m.move_stop(t, current, TRAILING)
        return self._restate_stop(m, t, update.stop_price, update.reason)

    def _resimulate(self, held: _Open, m: ManagedTrade, start: int, t: int) -> None:
        """A new segment from bar ``start``: the plan as it stands, simulated to the end of the data."""
        trail = m.trailing_line()
        if trail is not None:
            self._restate_stop(m, t, trail, TRAILING)
        bars = held.series.bars
        plan = segment_plan(m, held.qty_open, m.position.entry_price, start, held.entry_bar)
        sl = slice(start, None)
        m.segment = simulate_exits(plan, bars.open[sl], bars.high[sl], bars.low[sl], bars.close[sl], bars.time_ms[sl])
        m.segment_start = start
        m.next_fill = 0
        m.plan = plan
        held.plan = plan

    def _request_add(self, held: _Open, j: int, t: int, trigger: str) -> bool:
        """Ask the engine, through the account, for an add decided at the close of bar ``j`` and
        filled at the next open like an entry; True when it filled (the caller re-simulates)."""
        m = held.managed
        assert m is not None
        if m.last_request_bar == j:
            return False  # one request per bar: the price trigger and a signal at the same close
        m.last_request_bar = j
        series = held.series
        symbol = series.symbol
        bars = series.bars
        atr_j = float(self._atr[symbol][j])
        if not (math.isfinite(atr_j) and atr_j > 0.0):
            self._skip("add_atr_warmup")
            return False
        nav = self._feed(t)
        self._update_regime(symbol, j)
        self._feed_returns(t)
        direction = m.direction
        price = float(bars.close[j])
        side = PositionSide.LONG if direction == 1 else PositionSide.SHORT
        stop = m.stop
        rules = self.engine.instruments.get(symbol)
        if rules is not None:
            planned = plan_add(self.engine.limits.strategy(held.strategy).pyramid, rules,
                               PyramidPosition(symbol, side, tuple(m.legs), m.stop, m.r_unit), price, now_ms=t,
                               max_loss_usdt=self.engine.limits.max_loss_nav_pct * nav)
            if planned.allowed and m.tighter(planned.stop_price, stop):
                stop = planned.stop_price
        signal = Signal(signal_id=f"{held.strategy}-{symbol}-{int(bars.time_ms[j])}-add", strategy=held.strategy,
                        symbol=symbol, side=Side.BUY if direction == 1 else Side.SELL, confidence=m.confidence,
                        expected_rr=m.expected_rr, stop_price=stop, atr=atr_j, leverage=m.leverage, ts_ms=t)
        veto, detail, reservation_id = self.account.decide(signal, t)
        sized = detail.get("sized") or {}
        qty = 0.0 if veto else float(sized.get("qty") or 0.0)
        reasons = tuple(detail.get("reasons") or ())
        clamped = detail.get("clamped_by") if detail.get("resized") else None
        first = m.legs[0].price
        if qty <= 0.0:
            if not veto:
                self.account.abandoned(reservation_id)
            m.refused_at = price
            row = AddRow(t, symbol, held.strategy, "BUY" if direction == 1 else "SELL", trigger, False,
                         bool(detail.get("resized")), reasons or ("nothing_to_fill",), clamped, 0.0, None, None,
                         (price - first) * direction / m.r_unit, stop, nav, None)
            m.adds.append(row)
            self.adds.append(row)
            return False
        fill_price = float(bars.open[j + 1])
        fill_ts = int(bars.time_ms[j + 1])
        fee = fill_price * qty * self._entry_fee_bps() * _BPS
        position = m.position.with_add(qty, fill_price, fill_ts, stop, self.engine.limits.default_stop_distance_pct)
        self.account.added(reservation_id, qty, fill_price, fee, position)
        m.legs.append(Leg(qty, fill_price, fill_ts))
        m.position = position
        held.qty_open = position.qty
        m.move_stop(t, stop, ADD)
        m.fees += fee
        m.refused_at = None
        held.realized -= fee
        self.realized -= fee
        row = AddRow(t, symbol, held.strategy, "BUY" if direction == 1 else "SELL", trigger, True,
                     bool(detail.get("resized")), reasons, clamped, qty, fill_price, fill_ts,
                     (fill_price - first) * direction / m.r_unit, m.stop, nav,
                     (position.entry_price - m.stop) * direction * position.qty)
        m.adds.append(row)
        self.adds.append(row)
        return True

    # -- the loop ----------------------------------------------------------------------------
    def _push(self, t: int, priority: int, payload: Any) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t, priority, self._seq, payload))

    def run(self, progress: Progress | None = None) -> ReplayResult:
        """Replay every signal; returns the decisions, trades and curves."""
        with tempfile.TemporaryDirectory(prefix="riskguard-replay-", dir=self._ledger_dir) as tmp:
            if self.options.use_ledger:
                self.account = LedgerAccount(self.engine, Path(tmp) / "ledger.sqlite")
            try:
                return self._run(progress)
            finally:
                self.account.close()

    def _run(self, progress: Progress | None) -> ReplayResult:
        # Millions of long-lived event objects would make every cyclic-GC pass walk them all (time
        # growing faster than the bar count); they live until the run ends, so exempt them. While
        # they are built the collector is paused (it would rescan the growing list many times over);
        # then one young-generation pass frees the cycles of the set-up (pandas temporaries) without
        # walking the caller's whole heap, as a full gc.collect() would (longer than a short replay).
        enabled = gc.isenabled()
        gc.disable()
        try:
            self._prepare_series()
            signal_events = _signal_events(self.market, self.strategies, self.file_signals)
        finally:
            if enabled:
                gc.enable()
        gc.collect(0)
        gc.freeze()
        try:
            return self._loop(signal_events, progress)
        finally:
            gc.unfreeze()

    def _loop(self, signal_events: list[tuple[int, int, int, _SignalEvent]],
              progress: Progress | None) -> ReplayResult:
        self._heap: list[tuple[int, int, int, Any]] = []
        self._seq = len(signal_events)
        total = len(signal_events)
        done = 0
        step = max(1, total // 100)
        pending = iter(signal_events)
        nxt = next(pending, None)
        while nxt is not None or self._heap:
            if self._heap and (nxt is None or self._heap[0][:2] < nxt[:2]):
                t, _, _, payload = heapq.heappop(self._heap)
                self.now = t
                strategy, symbol, number = payload
                if number == _MANAGE:
                    self._on_manage((strategy, symbol), t)
                else:
                    self._on_exit((strategy, symbol), number, t)
                continue
            assert nxt is not None
            t, _, _, ev = nxt
            self.now = t
            self._on_signal(ev, t)
            done += 1
            if progress is not None and done % step == 0:
                progress(done, total)
            nxt = next(pending, None)
        if progress is not None:
            progress(total, total)
        ledger_realized = self.account.realized_pnl()
        timeline, equity, exposure = self._curves()
        return ReplayResult(self.engine.limits.name, self.engine.limits.config_hash, self.options, self.market,
                            tuple(s.name for s in self.strategies) + (("signals_file",) if self.file_signals else ()),
                            self.decisions, self.trades, dict(sorted(self.skipped.items())), timeline, equity,
                            exposure, self.options.use_ledger, ledger_realized, self.adds)

    def _curves(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Equity (USDT) and gross exposure (USDT) at every bar close of the union of symbols."""
        timeline = np.unique(np.concatenate([s.close_times_ms for s in self.market.series]))
        n = timeline.shape[0]
        realized = np.zeros(n)
        unrealized = np.zeros(n)
        exposure = np.zeros(n)
        fee_bps = self.options.fees.maker_bps if self.options.fees.entry_maker else self.options.fees.taker_bps
        by_symbol = {s.symbol: s for s in self.market.series}
        # Each symbol's mark (its last close) at every point of the timeline, looked up once for all
        # its trades; a point before the symbol's first close is in no trade's span.
        marks_at = {}
        for s in self.market.series:
            bar = self._close_times[s.symbol].searchsorted(timeline, "right") - 1
            marks_at[s.symbol] = s.bars.close[np.maximum(bar, 0)]
        for trade in self.trades:
            series = by_symbol[trade.symbol]
            closes = self._close_times[trade.symbol]
            direction = 1.0 if trade.side == "BUY" else -1.0
            first = int(closes.searchsorted(trade.entry_ts_ms, "right"))  # the entry bar
            lo = int(timeline.searchsorted(closes[first], "left"))
            hi = int(timeline.searchsorted(trade.exit_ts_ms, "left"))
            if trade.adds and any(add.approved for add in trade.adds):
                _pyramided_curves(trade, series.bars.close, closes, timeline, lo, hi, fee_bps, self.options.fees,
                                  (realized, unrealized, exposure))
                continue
            realized[lo] -= trade.entry_price * trade.qty * fee_bps * _BPS
            for number, (ts, price, fraction, kind) in enumerate(trade.fills):
                at = int(timeline.searchsorted(ts, "left"))
                maker = kind == FillKind.TAKE_PROFIT.value and self.options.fees.take_profit_maker
                bps = self.options.fees.maker_bps if maker else self.options.fees.taker_bps
                fee = 0.0 if kind == FillKind.END_OF_DATA.value else price * fraction * trade.qty * bps * _BPS
                funding = trade.funding_usdt if number == len(trade.fills) - 1 else 0.0
                realized[at] += direction * (price - trade.entry_price) * fraction * trade.qty - fee + funding
            if hi <= lo:
                continue
            span = timeline[lo:hi]
            fill_ts = np.array([f[0] for f in trade.fills], dtype=np.int64)
            fractions = np.array([f[2] for f in trade.fills])
            closed = np.concatenate(([0.0], np.cumsum(fractions)))[fill_ts.searchsorted(span, "right")]
            qty_open = trade.qty * np.clip(1.0 - closed, 0.0, None)
            marks = marks_at[trade.symbol][lo:hi]
            unrealized[lo:hi] += direction * (marks - trade.entry_price) * qty_open
            exposure[lo:hi] += marks * qty_open
        equity = self.options.nav + np.cumsum(realized) + unrealized
        return timeline, equity, exposure


def _pyramided_curves(trade: TradeRow, marks: npt.NDArray[np.float64], closes: npt.NDArray[np.int64],
                      timeline: npt.NDArray[np.int64], lo: int, hi: int, fee_bps: float, fees: FeeSchedule,
                      curves: tuple[npt.NDArray[np.float64], ...]) -> None:
    """A trade with adds into the realised, unrealised and exposure curves (USDT), point by point:
    its quantity and average entry change at each add (filled at a bar's open, booked with that
    bar) and each exit fill (booked at its bar's close, as the trades without adds)."""
    realized, unrealized, exposure = curves
    direction = 1.0 if trade.side == "BUY" else -1.0
    legs_qty = trade.qty
    events: list[tuple[int, int, float, float, str]] = []  # (timeline index, 0 add / 1 fill, qty, price, kind)
    first_qty = legs_qty - sum(add.qty for add in trade.adds if add.approved)
    events.append((lo, 0, first_qty, trade.entry_price, ""))
    for add in trade.adds:
        if add.approved and add.price is not None and add.fill_ts_ms is not None:
            bar = int(np.searchsorted(closes, add.fill_ts_ms, side="right"))
            events.append((int(np.searchsorted(timeline, closes[bar], side="left")), 0, add.qty, add.price, ""))
    for number, (ts, price, fraction, kind) in enumerate(trade.fills):
        events.append((int(np.searchsorted(timeline, ts, side="left")), 1 + number, fraction * legs_qty, price, kind))
    events.sort()
    qty = 0.0
    average = 0.0
    last_fill = len(trade.fills)

    def book(event: tuple[int, int, float, float, str]) -> None:
        nonlocal qty, average
        at, order, amount, price, kind = event
        if order == 0:
            average = (average * qty + price * amount) / (qty + amount)
            qty += amount
            realized[at] -= price * amount * fee_bps * _BPS
            return
        maker = kind == FillKind.TAKE_PROFIT.value and fees.take_profit_maker
        bps = fees.maker_bps if maker else fees.taker_bps
        fee = 0.0 if kind == FillKind.END_OF_DATA.value else price * amount * bps * _BPS
        funding = trade.funding_usdt if order == last_fill else 0.0
        realized[at] += direction * (price - average) * amount - fee + funding
        qty = max(qty - amount, 0.0)

    pending = iter(events)
    nxt = next(pending, None)
    for at in range(lo, hi):
        while nxt is not None and nxt[0] <= at:
            book(nxt)
            nxt = next(pending, None)
        bar = int(np.searchsorted(closes, timeline[at], side="right")) - 1
        unrealized[at] += direction * (float(marks[bar]) - average) * qty
        exposure[at] += float(marks[bar]) * qty
    while nxt is not None:
        book(nxt)
        nxt = next(pending, None)


def run_replay(posture: Posture, market: MarketData, *, strategies: Sequence[Strategy] = (),
               file_signals: Sequence[FileSignal] = (), options: ReplayOptions | None = None,
               progress: Progress | None = None) -> ReplayResult:
    """Replay ``strategies`` and/or ``file_signals`` over ``market`` under ``posture``."""
    return Replay(posture, market, strategies=strategies, file_signals=file_signals, options=options).run(progress)

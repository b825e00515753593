"""riskguard inside a freqtrade strategy: add :class:`RiskguardMixin` to the strategy's bases.

``class MyStrategy(RiskguardMixin, IStrategy)`` routes every entry through riskguard:

- ``leverage()``: riskguard's leverage for the symbol (the posture's per-symbol cap unless the
  strategy asks for less), clamped to the exchange bracket freqtrade passes as ``max_leverage``;
- ``custom_stake_amount()``: riskguard's sized notional expressed as freqtrade's stake, i.e. the
  margin ``notional / leverage`` (USDT); 0 when riskguard vetoes, with the reasons in the log;
- ``confirm_trade_entry()``: reserves the exact order (qty, price, leverage, stop) through
  riskguard; a veto returns False and logs its reasons;
- ``order_filled()``: books entry fills against the reservation and exit fills (any exit: signal,
  stop, liquidation, forced) as closes with their fees and funding; ``confirm_trade_exit()`` never
  blocks an exit (riskguard fails closed for new risk, never for exits);
- ``custom_stoploss()``: the stop of riskguard's exit plan (ATR stop of the posture), used when the
  strategy sets ``use_custom_stoploss = True``.

Settings come from the ``"riskguard"`` section of freqtrade's config (or the strategy's
``riskguard_settings`` dict; the config wins), see :class:`Settings`. In a backtest the clock is the
candle time: riskguard is fed the backtest's time, NAV and the candles' marks, so the staleness
gates judge simulated time, not wall time.

freqtrade is GPL-3.0; this module imports nothing from it. It reads freqtrade's objects through the
small protocols below, which name only the attributes it uses.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from riskguard.integrations.backend import FeedableBackend, InProcessBackend, RiskBackend, load_posture
from riskguard.model.decision import Detail
from riskguard.model.errors import InputValidationError
from riskguard.model.intent import OrderIntent
from riskguard.model.signal import Signal
from riskguard.model.snapshots import AccountSnapshot, MarketSnapshot

log = logging.getLogger("riskguard.integrations.freqtrade")

BACKTEST_RUNMODES = frozenset({"backtest", "hyperopt"})
_QUOTES = ("USDT", "USDC", "BUSD")
# The stake is margin = notional / leverage; freqtrade turns it back into an amount and truncates
# that to the exchange's step. A relative nudge keeps float round-off from truncating one step off.
_STAKE_NUDGE = 1e-9
_TAG_KEYS = {"confidence": "confidence", "conf": "confidence", "rr": "expected_rr", "expected_rr": "expected_rr",
             "stop": "stop_price", "stop_price": "stop_price"}


# -- pair names -------------------------------------------------------------------------------
def to_binance_symbol(pair: str) -> str:
    """freqtrade / ccxt pair to Binance's symbol: ``BTC/USDT:USDT`` -> ``BTCUSDT``."""
    text = pair.strip().upper()
    if "/" not in text:
        raise InputValidationError("pair", "must be a ccxt pair such as BTC/USDT:USDT", pair)
    base, _, rest = text.partition("/")
    quote = rest.split(":", 1)[0]
    if not (base.isalnum() and quote.isalnum()):
        raise InputValidationError("pair", "must be a ccxt pair such as BTC/USDT:USDT", pair)
    return base + quote


def to_freqtrade_pair(symbol: str) -> str:
    """Binance USD-M symbol to freqtrade's futures pair: ``BTCUSDT`` -> ``BTC/USDT:USDT``."""
    text = symbol.strip().upper()
    for quote in _QUOTES:
        if text.endswith(quote) and len(text) > len(quote) and text.isalnum():
            base = text[: -len(quote)]
            return f"{base}/{quote}:{quote}"
    raise InputValidationError("symbol", f"must be a USD-M symbol ending in one of {', '.join(_QUOTES)}", symbol)


# -- what riskguard reads of freqtrade's objects -------------------------------------------------
class TradeView(Protocol):
    """The attributes of freqtrade's ``Trade`` this module reads."""

    id: int
    pair: str
    is_short: bool
    amount: float
    open_rate: float
    leverage: float
    fee_open: float
    fee_close: float
    funding_fees: float | None

    @property
    def entry_side(self) -> str: ...

    @property
    def exit_side(self) -> str: ...


class OrderView(Protocol):
    """The attributes of freqtrade's ``Order`` this module reads."""

    ft_order_side: str

    @property
    def safe_filled(self) -> float: ...

    @property
    def safe_price(self) -> float: ...


# -- settings ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Settings:
    """The ``"riskguard"`` section of freqtrade's config.

    - ``posture``: a preset name (``moderate``) or a posture file path.
    - ``ledger_url``: in-process mode, a SQLAlchemy URL or SQLite path (default: ``$RISKGUARD_DB_URL``,
      else ``sqlite:///<user_data_dir>/riskguard.db``). Several bots on one ledger share one budget.
    - ``service_url`` (+ ``token``, default ``$RISKGUARD_TOKEN``): remote mode through
      ``riskguard.client.RiskClient``; set it instead of ``ledger_url``.
    - ``strategy``: riskguard's strategy name (default: the strategy's class name); its caps are
      the posture's ``strategies.<name>`` (or ``default``).
    - ``account_id``: the ledger account (default ``default``).
    - ``backtest_spread_bps``: the bid/ask spread assumed in backtests, where no book exists
      (None: unknown, which fails the soft ``spread_too_wide`` gate).
    - ``mark_nav``: mark NAV from freqtrade's wallet before each decision (default True).
    - dataframe columns read on the signal candle: ``confidence_column`` (``rg_confidence``, in
      [0, 1]), ``rr_column`` (``rg_expected_rr``, reward/risk in R), ``stop_column``
      (``rg_stop_price``, USDT), ``atr_column`` (``rg_atr``, price units: the exit plan's ATR stop).
    """

    posture: str = "moderate"
    ledger_url: str | None = None
    service_url: str | None = None
    token: str | None = None
    strategy: str | None = None
    account_id: str = "default"
    backtest_spread_bps: float | None = None
    mark_nav: bool = True
    confidence_column: str = "rg_confidence"
    rr_column: str = "rg_expected_rr"
    stop_column: str = "rg_stop_price"
    atr_column: str = "rg_atr"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Settings:
        """Validate the section once; an unknown key is an error that names it."""
        known = set(cls.__slots__)
        unknown = sorted(set(data) - known)
        if unknown:
            known_text = ", ".join(sorted(known))
            raise InputValidationError(f"riskguard.{unknown[0]}", f"unknown setting (known: {known_text})",
                                       data[unknown[0]])
        settings = cls(**dict(data))
        if settings.ledger_url and settings.service_url:
            raise InputValidationError("riskguard.service_url", "give ledger_url or service_url, not both",
                                       settings.service_url)
        if settings.service_url and not (settings.token or os.environ.get("RISKGUARD_TOKEN")):
            raise InputValidationError("riskguard.token", "remote mode needs a token (or RISKGUARD_TOKEN)", None)
        spread = settings.backtest_spread_bps
        if spread is not None and not (isinstance(spread, int | float) and math.isfinite(spread) and spread >= 0):
            raise InputValidationError("riskguard.backtest_spread_bps", "must be a number >= 0", spread)
        return settings


def parse_entry_tag(tag: str | None) -> dict[str, float]:
    """Numbers a strategy passes in its entry tag: ``"ema_cross confidence=0.8 rr=2.5"`` (tokens
    separated by spaces, ``;`` or ``,``; keys ``confidence``/``conf``, ``rr``/``expected_rr``,
    ``stop``/``stop_price``). Other tokens are the tag's name and are ignored here."""
    values: dict[str, float] = {}
    if not tag:
        return values
    for token in tag.replace(";", " ").replace(",", " ").split():
        key, sep, raw = token.partition("=")
        name = _TAG_KEYS.get(key.strip().lower())
        if not sep or name is None:
            continue
        try:
            number = float(raw)
        except ValueError as exc:
            raise InputValidationError(f"entry_tag.{key}", "must be a number", raw) from exc
        values[name] = number
    return values


@dataclass(slots=True)
class _Sizing:
    """riskguard's answer for one pair, side and candle: the dry-run decision the stake comes from."""

    veto: bool
    detail: Detail
    leverage: float
    stop_price: float | None
    take_profit_price: float | None
    expected_rr: float | None
    confidence: float | None


class _Clock:
    """Epoch ms as last set by a freqtrade callback (the candle time in a backtest)."""

    __slots__ = ("now_ms",)

    def __init__(self) -> None:
        self.now_ms = 0

    def __call__(self) -> int:
        return self.now_ms


@dataclass(slots=True)
class _State:
    settings: Settings
    strategy: str
    backend: RiskBackend
    clock: _Clock
    synced_ms: int = -1
    sizings: dict[tuple[str, str, int], _Sizing] = field(default_factory=dict)
    pending: dict[str, tuple[str, _Sizing]] = field(default_factory=dict)  # pair -> (reservation id, sizing)
    stops: dict[int, float] = field(default_factory=dict)  # freqtrade trade id -> plan stop (USDT)
    open_trades: dict[int, TradeView] = field(default_factory=dict)  # for the unrealised part of NAV
    funding_booked: dict[int, float] = field(default_factory=dict)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


_TIMEFRAME_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def timeframe_ms(timeframe: str) -> int:
    """freqtrade's timeframe (``5m``, ``1h``, ``1d``) in ms."""
    unit = _TIMEFRAME_MS.get(timeframe[-1:])
    if unit is None or not timeframe[:-1].isdigit():
        raise InputValidationError("timeframe", "must be a number and one of s, m, h, d, w", timeframe)
    return int(timeframe[:-1]) * unit


def _candle_close_ms(opened: Any, timeframe: str) -> int | None:
    """Close time (epoch ms) of a candle that opened at ``opened`` (a pandas / datetime timestamp)."""
    if opened is None or not hasattr(opened, "timestamp"):
        return None
    return int(opened.timestamp() * 1000) + timeframe_ms(timeframe)


def _side(side: str) -> str:
    return "SELL" if side == "short" else "BUY"


def _finite_positive(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0.0 else None


class RiskguardMixin:
    """freqtrade strategy callbacks that route leverage, stake, entries and fills through riskguard.

    Put it first in the bases: ``class MyStrategy(RiskguardMixin, IStrategy)``. A strategy that
    overrides one of these callbacks itself must call ``super()`` to keep riskguard in the loop.
    """

    riskguard_settings: ClassVar[Mapping[str, Any]] = {}
    # Set by freqtrade on the strategy instance (declared for the type checker only).
    config: dict[str, Any]
    dp: Any
    wallets: Any
    timeframe: str

    # -- wiring ------------------------------------------------------------------------------
    def riskguard_backend(self) -> RiskBackend:
        """The backend this strategy decides through (built on first use)."""
        return self._rg().backend

    def _rg(self) -> _State:
        state: _State | None = getattr(self, "_rg_state", None)
        if state is None:
            state = self._rg_build()
            self._rg_state = state
        return state

    def _rg_build(self) -> _State:
        config = getattr(self, "config", None) or {}
        merged = {**dict(self.riskguard_settings), **dict(config.get("riskguard") or {})}
        settings = Settings.from_mapping(merged)
        strategy = settings.strategy or type(self).__name__
        # riskguard's clock is freqtrade's: every callback sets it from its current_time.
        clock = _Clock()
        backend: RiskBackend
        if settings.service_url:
            client_module = importlib.import_module("riskguard.client")
            token = settings.token or os.environ["RISKGUARD_TOKEN"]  # checked by Settings.from_mapping
            backend = client_module.RiskClient(settings.service_url, token)
        else:
            url = settings.ledger_url or os.environ.get("RISKGUARD_DB_URL")
            if not url:
                user_data = config.get("user_data_dir") or "."
                url = f"sqlite:///{os.path.join(str(user_data), 'riskguard.db')}"
            backend = InProcessBackend(load_posture(settings.posture), url, clock=clock,
                                       account_id=settings.account_id, actor=f"freqtrade:{strategy}")
        state = _State(settings, strategy, backend, clock)
        log.info("riskguard: strategy %s decides through %s (posture %s)", strategy,
                 "the service at " + settings.service_url if settings.service_url else "an in-process ledger",
                 settings.posture)
        return state

    def _rg_backtesting(self) -> bool:
        runmode = getattr(getattr(self, "dp", None), "runmode", None)
        return getattr(runmode, "value", runmode) in BACKTEST_RUNMODES

    # -- feeding -----------------------------------------------------------------------------
    def _rg_at(self, current_time: datetime) -> _State:
        """Set riskguard's clock to ``current_time`` (the candle time in a backtest) and, once per
        moment, feed it NAV and every pair's market."""
        state = self._rg()
        now = state.clock.now_ms = _ms(current_time)
        if state.synced_ms != now:
            state.sizings = {k: v for k, v in state.sizings.items() if k[2] == now}
            backend = state.backend
            if isinstance(backend, FeedableBackend):
                marks = self._rg_feed_markets(backend, now)
                if state.settings.mark_nav:
                    self._rg_mark_nav(backend, state, marks, now)
            state.synced_ms = now
        return state

    def _rg_feed_markets(self, backend: FeedableBackend, now: int, only: str | None = None) -> dict[str, float]:
        """Market snapshots of the whitelist (or of pair ``only``); returns the marks fed (USDT).

        In a backtest a snapshot is the last closed candle freqtrade shows the strategy, stamped
        with that candle's close time: freqtrade advances the pairs one after the other within a
        moment, so a pair not yet advanced is an hour old, and a decision on it says so
        (``market_data_stale``). Live, it is the ticker (last price, bid, ask, its timestamp)."""
        marks: dict[str, float] = {}
        dp = getattr(self, "dp", None)
        if dp is None:
            return marks
        backtesting = self._rg_backtesting()
        pairs = [only] if only is not None else list(dp.current_whitelist())
        for pair in pairs:
            snapshot = (self._rg_candle_snapshot(dp, pair) if backtesting
                        else self._rg_ticker_snapshot(dp, pair, now) or self._rg_candle_snapshot(dp, pair))
            if snapshot is not None:
                marks[pair] = snapshot.mark_price
                backend.update_market(snapshot)
        return marks

    def _rg_candle_snapshot(self, dp: Any, pair: str) -> MarketSnapshot | None:
        frame, _ = dp.get_analyzed_dataframe(pair, self.timeframe)
        if frame is None or len(frame) == 0:
            return None
        row = frame.iloc[-1]
        mark = _finite_positive(row.get("close"))
        if mark is None:
            return None
        settings = self._rg().settings
        closed = _candle_close_ms(row.get("date"), self.timeframe)
        if closed is None:
            return None
        bid = ask = None
        if settings.backtest_spread_bps is not None and self._rg_backtesting():
            half = mark * settings.backtest_spread_bps / 20_000.0
            bid, ask = mark - half, mark + half
        atr = _finite_positive(row.get(settings.atr_column))
        try:
            return MarketSnapshot(to_binance_symbol(pair), mark, closed, bid=bid, ask=ask, exchange_ts_ms=closed,
                                  atr=atr)
        except InputValidationError as exc:
            log.warning("riskguard: no market snapshot for %s: %s", pair, exc)
            return None

    def _rg_ticker_snapshot(self, dp: Any, pair: str, now: int) -> MarketSnapshot | None:
        try:
            ticker = dp.ticker(pair) or {}
        except Exception:  # no ticker is no snapshot: the decision then fails closed on stale data
            log.warning("riskguard: no ticker for %s", pair, exc_info=True)
            return None
        mark = _finite_positive(ticker.get("last"))
        if mark is None:
            return None
        bid, ask = _finite_positive(ticker.get("bid")), _finite_positive(ticker.get("ask"))
        if bid is not None and ask is not None and bid > ask:
            bid = ask = None
        stamp = ticker.get("timestamp")
        exchange_ts = int(stamp) if isinstance(stamp, int | float) and math.isfinite(stamp) and stamp > 0 else None
        try:
            return MarketSnapshot(to_binance_symbol(pair), mark, now, bid=bid, ask=ask, exchange_ts_ms=exchange_ts)
        except InputValidationError as exc:
            log.warning("riskguard: no market snapshot for %s: %s", pair, exc)
            return None

    def _rg_mark_nav(self, backend: FeedableBackend, state: _State, marks: dict[str, float], now: int) -> None:
        wallets = getattr(self, "wallets", None)
        if wallets is None:
            return
        stake = self.config.get("stake_currency", "USDT")
        unrealised = 0.0
        for trade in state.open_trades.values():
            mark = marks.get(trade.pair)
            if mark is not None:
                direction = -1.0 if trade.is_short else 1.0
                unrealised += direction * (mark - trade.open_rate) * trade.amount
        nav = float(wallets.get_total(stake)) + unrealised
        free = float(wallets.get_free(stake))
        if nav > 0.0 and math.isfinite(nav):
            backend.mark_nav(AccountSnapshot(nav=nav, ts_ms=now, available_balance=max(free, 0.0)))

    def _rg_refresh_pair(self, state: _State, pair: str) -> None:
        """The pair's own market, as of now, right before a decision on it."""
        if isinstance(state.backend, FeedableBackend):
            self._rg_feed_markets(state.backend, state.clock.now_ms, only=pair)

    # -- deciding ----------------------------------------------------------------------------
    def _rg_signal_inputs(self, pair: str, entry_tag: str | None) -> dict[str, float]:
        """Confidence, reward/risk, stop and ATR from the signal candle's columns, then the entry tag."""
        state = self._rg()
        settings = state.settings
        values: dict[str, float] = {}
        dp = getattr(self, "dp", None)
        if dp is not None:
            frame, _ = dp.get_analyzed_dataframe(pair, self.timeframe)
            if frame is not None and len(frame) > 0:
                row = frame.iloc[-1]
                for name, column in (("confidence", settings.confidence_column), ("expected_rr", settings.rr_column),
                                     ("stop_price", settings.stop_column), ("atr", settings.atr_column)):
                    if column in row.index:
                        number = float(row[column])
                        if math.isfinite(number):
                            values[name] = number
        values.update(parse_entry_tag(entry_tag))
        return values

    def _rg_size(self, pair: str, side: str, current_time: datetime, rate: float,
                 entry_tag: str | None) -> _Sizing:
        state = self._rg_at(current_time)
        key = (pair, side, state.clock.now_ms)
        cached = state.sizings.get(key)
        if cached is not None:
            return cached
        self._rg_refresh_pair(state, pair)
        inputs = self._rg_signal_inputs(pair, entry_tag)
        symbol = to_binance_symbol(pair)
        signal = Signal(signal_id=f"{state.strategy}-{symbol}-{_side(side)}-{state.clock.now_ms}-size",
                        strategy=state.strategy, symbol=symbol, side=_side(side),
                        confidence=inputs.get("confidence"), expected_rr=inputs.get("expected_rr"),
                        stop_price=inputs.get("stop_price"), atr=inputs.get("atr"), price=rate,
                        ts_ms=state.clock.now_ms)
        veto, detail = state.backend.check(signal)
        sized = detail.get("sized") or {}
        planned = detail.get("intent") or {}
        sizing = _Sizing(veto=veto, detail=detail, leverage=float(sized.get("leverage") or 1.0),
                         stop_price=planned.get("stop_price"), take_profit_price=planned.get("take_profit_price"),
                         expected_rr=signal.expected_rr, confidence=signal.confidence)
        state.sizings[key] = sizing
        return sizing

    def leverage(self, pair: str, current_time: datetime, current_rate: float, proposed_leverage: float,
                 max_leverage: float, entry_tag: str | None, side: str, **kwargs: Any) -> float:
        """riskguard's leverage for ``pair`` (x), at most ``max_leverage`` (the exchange bracket)."""
        sizing = self._rg_size(pair, side, current_time, current_rate, entry_tag)
        sizing.leverage = max(1.0, min(sizing.leverage, float(max_leverage)))
        return sizing.leverage

    def custom_stake_amount(self, pair: str, current_time: datetime, current_rate: float, proposed_stake: float,
                            min_stake: float | None, max_stake: float, leverage: float, entry_tag: str | None,
                            side: str, **kwargs: Any) -> float:
        """riskguard's sized notional as margin (USDT): notional / leverage; 0 when vetoed."""
        sizing = self._rg_size(pair, side, current_time, current_rate, entry_tag)
        detail = sizing.detail
        notional = (detail.get("sized") or {}).get("notional")
        if sizing.veto or not notional:
            detail = self._rg_record_veto(pair, side, sizing)
            log.warning("riskguard vetoed %s %s entry at %s: %s (decision %s)", pair, side,
                        current_time.isoformat(), ", ".join(detail.get("reasons") or ["no size"]),
                        detail.get("decision_id"))
            return 0.0
        stake = float(notional) / float(leverage) * (1.0 + _STAKE_NUDGE)
        if stake > max_stake:
            log.info("riskguard: %s stake %.2f USDT exceeds freqtrade's max stake %.2f", pair, stake, max_stake)
        return stake

    def _rg_intent_id(self, pair: str, side: str) -> str:
        state = self._rg()
        return f"{state.strategy}-{to_binance_symbol(pair)}-{_side(side)}-{state.clock.now_ms}"

    def _rg_record_veto(self, pair: str, side: str, sizing: _Sizing) -> Detail:
        """Store the vetoed entry as a decision of record (the dry run stored nothing): the sized
        intent goes through ``reserve``, whose detail is returned. Should the book have changed in
        between so that it passes now, its reservation is released: the stake was already refused."""
        planned = sizing.detail.get("intent")
        if not planned:
            return sizing.detail
        backend = self._rg().backend
        intent = OrderIntent.from_dict({**planned, "intent_id": self._rg_intent_id(pair, side)})
        veto, detail, reservation_id = backend.reserve(intent)
        if not veto:
            if reservation_id is not None:
                backend.release(reservation_id)
            log.info("riskguard: %s %s passes since the dry run; skipped this candle (decision %s)", pair, side,
                     detail.get("decision_id"))
            return sizing.detail
        return detail

    def confirm_trade_entry(self, pair: str, order_type: str, amount: float, rate: float, time_in_force: str,
                            current_time: datetime, entry_tag: str | None, side: str, **kwargs: Any) -> bool:
        """Reserve the order (``amount`` base units at ``rate``) through riskguard; False on a veto."""
        sizing = self._rg_size(pair, side, current_time, rate, entry_tag)
        state = self._rg()
        self._rg_refresh_pair(state, pair)
        symbol = to_binance_symbol(pair)
        try:
            intent = OrderIntent(
                intent_id=self._rg_intent_id(pair, side), strategy=state.strategy,
                symbol=symbol, side=_side(side), qty=amount, leverage=sizing.leverage, price=rate,
                stop_price=sizing.stop_price, take_profit_price=sizing.take_profit_price,
                expected_rr=sizing.expected_rr, confidence=sizing.confidence, ts_ms=state.clock.now_ms)
        except InputValidationError as exc:
            log.warning("riskguard vetoed %s %s entry at %s: invalid_intent (%s)", pair, side,
                        current_time.isoformat(), exc)
            return False
        veto, detail, reservation_id = state.backend.reserve(intent)
        if veto:
            log.warning("riskguard vetoed %s %s entry at %s: %s (decision %s)", pair, side,
                        current_time.isoformat(), ", ".join(detail.get("reasons") or []), detail.get("decision_id"))
            return False
        if reservation_id is not None:
            state.pending[pair] = (reservation_id, sizing)
        log.info("riskguard approved %s %s: %s at %s, leverage %s (decision %s)", pair, side, amount, rate,
                 sizing.leverage, detail.get("decision_id"))
        return True

    def confirm_trade_exit(self, pair: str, trade: TradeView, order_type: str, amount: float, rate: float,
                           time_in_force: str, exit_reason: str, current_time: datetime, **kwargs: Any) -> bool:
        """Always True: riskguard never blocks an exit. The close is booked when it fills."""
        self._rg_at(current_time)
        return True

    def order_filled(self, pair: str, trade: TradeView, order: OrderView, current_time: datetime,
                     **kwargs: Any) -> None:
        """Book an entry fill against its reservation, or an exit fill as a close (fee and funding)."""
        state = self._rg_at(current_time)
        qty, price = float(order.safe_filled), float(order.safe_price)
        if qty <= 0.0:
            return
        if order.ft_order_side == trade.entry_side:
            pending = state.pending.pop(pair, None)
            if pending is None:
                log.error("riskguard: %s entry fill of %s at %s has no reservation; not booked", pair, qty, price)
                return
            reservation_id, sizing = pending
            state.backend.fill(reservation_id, qty, price, fee=qty * price * float(trade.fee_open or 0.0))
            state.open_trades[trade.id] = trade
            if sizing.stop_price is not None:
                state.stops[trade.id] = float(sizing.stop_price)
            return
        funding_total = self._rg_trade_funding(trade)
        funding = funding_total - state.funding_booked.get(trade.id, 0.0)
        try:
            state.backend.close(state.strategy, to_binance_symbol(pair), price, qty=qty,
                                fee=qty * price * float(trade.fee_close or 0.0), funding=funding)
        except Exception:  # an exit must never fail because riskguard could not book it
            log.exception("riskguard: could not book the %s exit of %s at %s", pair, qty, price)
            return
        state.funding_booked[trade.id] = funding_total
        if qty >= float(trade.amount) * (1.0 - 1e-9):
            state.open_trades.pop(trade.id, None)
            state.stops.pop(trade.id, None)
            state.funding_booked.pop(trade.id, None)

    def _rg_trade_funding(self, trade: TradeView) -> float:
        """Funding received (> 0) or paid (< 0) on ``trade`` so far, USDT.

        Live, freqtrade keeps ``funding_fees`` current. In a freqtrade 2026.9 backtest the exit
        fill's callback comes after freqtrade moved the running funding onto the exit order and
        then recomputed a running figure from the exit's own fill time, which ``funding_fees``
        includes until the trade is closed; the trade's funding is the orders' part alone."""
        total = float(trade.funding_fees or 0.0)
        if self._rg_backtesting():
            total -= float(getattr(trade, "funding_fee_running", 0.0) or 0.0)
        return total

    def custom_stoploss(self, pair: str, trade: TradeView, current_time: datetime, current_rate: float,
                        current_profit: float, after_fill: bool, **kwargs: Any) -> float | None:
        """The exit plan's stop as freqtrade's ratio (relative to ``current_rate``, times leverage);
        None (keep the current stop) when riskguard planned none for this trade."""
        stop = self._rg().stops.get(trade.id)
        if stop is None or current_rate <= 0.0:
            return None
        distance = (stop - current_rate) / current_rate if trade.is_short else (current_rate - stop) / current_rate
        if distance <= 0.0:
            return None
        return -distance * float(trade.leverage or 1.0)

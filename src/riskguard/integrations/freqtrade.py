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
  strategy sets ``use_custom_stoploss = True``; an add's fill restates it as the ledger does; with
  the ``dynamic_stops`` setting it moves with the market (posture ``exits.dynamic_stop``), only
  tighter, each move recorded in the ledger before freqtrade gets it;
- ``adjust_trade_position()`` (position adjustment, DCA): the strategy's own answer is taken first;
  a positive stake (an add) is decided by riskguard as an add intent at the current rate with the
  position's current stop and returned as the approved stake (shrunk to fit, or None on a veto);
  a negative one (a partial exit) passes unchanged.

Settings come from the ``"riskguard"`` section of freqtrade's config (or the strategy's
``riskguard_settings`` dict; the config wins), see :class:`Settings`. In a backtest the clock is the
candle time: riskguard is fed the backtest's time, NAV and the candles' marks, so the staleness
gates judge simulated time, not wall time.

freqtrade is GPL-3.0; this module imports nothing from it. It reads freqtrade's objects through the
small protocols below, which name only the attributes it uses.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import logging
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from riskguard.gates import SIZE_BOUND_GATES
from riskguard.integrations.backend import (
    FeedableBackend,
    InProcessBackend,
    RiskBackend,
    StopContextBackend,
    load_posture,
)
from riskguard.integrations.trade_stops import TradeStops
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
    stop_loss: float | None  # the stop freqtrade holds for the trade now (USDT), whatever set it
    # Read when present (dynamic stops): max_rate / min_rate, the best price since entry (USDT).

    @property
    def entry_side(self) -> str: ...

    @property
    def has_open_orders(self) -> bool: ...

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
    - ``dynamic_stops``: move each trade's stop with the market in ``custom_stoploss`` by the
      posture's ``exits.dynamic_stop`` rule (lock ladder in R, ATR or percentage trail, tighter in
      HIGH_VOL or at reduced size), only ever tighter, each move recorded in riskguard's ledger
      (default False: the exit plan's stop stays where the trade opened it).
    - ``pack_after_s``: in-process mode, pack decisions older than this many seconds (wall clock)
      into compressed segments on a background thread (None, the default: only ``riskguard db
      pack`` packs; a backtest's decisions are all old by the wall clock).
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
    dynamic_stops: bool = False
    pack_after_s: float | None = None
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
        for flag in ("mark_nav", "dynamic_stops"):
            if not isinstance(getattr(settings, flag), bool):
                raise InputValidationError(f"riskguard.{flag}", "must be true or false", getattr(settings, flag))
        pack = settings.pack_after_s
        if pack is not None and not (isinstance(pack, int | float) and not isinstance(pack, bool)
                                     and math.isfinite(pack) and pack >= 0):
            raise InputValidationError("riskguard.pack_after_s", "must be a number of seconds >= 0, or null", pack)
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
    atr: float | None = None  # the signal's ATR (price units): the exit plan's
    exit_mode: str | None = None  # the policy's exit mode for the trade (None: the posture's default)


@dataclass(frozen=True, slots=True)
class _Add:
    """An add riskguard reserved for a freqtrade trade, waiting for its order's fill."""

    reservation_id: str
    qty: float  # base units reserved
    stop_price: float | None  # the stop the position carries once it fills (USDT)
    decision_id: str | None


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
    adds: dict[int, _Add] = field(default_factory=dict)  # freqtrade trade id -> its reserved, unfilled add
    add_vetoes: dict[int, int] = field(default_factory=dict)  # freqtrade trade id -> candle of its last stored veto
    open_trades: dict[int, TradeView] = field(default_factory=dict)  # for the unrealised part of NAV
    funding_booked: dict[int, float] = field(default_factory=dict)
    trade_stops: TradeStops | None = None  # the trades' exit plans, when dynamic stops are on


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


def _tighter(is_short: bool, *stops: float | None) -> float | None:
    """The tightest of ``stops`` (USDT) for a long (highest) or a short (lowest); None if none."""
    known = [s for s in stops if s is not None]
    if not known:
        return None
    return min(known) if is_short else max(known)


AdjustResult = float | tuple[float | None, str | None] | None


def _split_adjustment(wanted: Any) -> tuple[float | None, str | None]:
    """freqtrade's return of ``adjust_trade_position``: a stake, a ``(stake, tag)`` tuple, or None."""
    if isinstance(wanted, tuple):
        stake = wanted[0] if len(wanted) >= 1 else None
        tag = wanted[1] if len(wanted) > 1 else None
    else:
        stake, tag = wanted, None
    try:
        number = None if stake is None else float(stake)
    except (TypeError, ValueError):
        number = None
    return number, (tag if isinstance(tag, str) else None)


def _routed(adjust: Callable[..., Any]) -> Callable[..., Any]:
    """``adjust`` (a strategy's ``adjust_trade_position``) with its adds decided by riskguard.

    The outermost call decides; an override that calls ``super().adjust_trade_position`` reaches
    the wrapped parent while it runs, which then answers undecided, so one add is decided once."""

    @functools.wraps(adjust)
    def adjust_trade_position(self: RiskguardMixin, trade: TradeView, current_time: datetime, current_rate: float,
                              current_profit: float, min_stake: float | None, max_stake: float,
                              current_entry_rate: float, current_exit_rate: float, current_entry_profit: float,
                              current_exit_profit: float, **kwargs: Any) -> AdjustResult:
        arguments = {"trade": trade, "current_time": current_time, "current_rate": current_rate,
                     "current_profit": current_profit, "min_stake": min_stake, "max_stake": max_stake,
                     "current_entry_rate": current_entry_rate, "current_exit_rate": current_exit_rate,
                     "current_entry_profit": current_entry_profit, "current_exit_profit": current_exit_profit,
                     **kwargs}
        if getattr(self, "_rg_adjusting", False):
            return adjust(self, **arguments)  # type: ignore[no-any-return]
        self._rg_adjusting = True
        try:
            wanted: AdjustResult = adjust(self, **arguments)
        finally:
            self._rg_adjusting = False
        return self._rg_adjust(trade, current_time, current_rate, min_stake, wanted)

    adjust_trade_position._rg_routed = True  # type: ignore[attr-defined]
    return adjust_trade_position


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
    _rg_adjusting: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A strategy's own ``adjust_trade_position`` is wrapped so riskguard decides its adds."""
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("adjust_trade_position")
        if callable(own) and not getattr(own, "_rg_routed", False):
            cls.adjust_trade_position = _routed(own)  # type: ignore[method-assign]

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
        # Remote, the service holds the posture; read here only for the dynamic stop rule.
        posture = load_posture(settings.posture) if settings.dynamic_stops or not settings.service_url else None
        if settings.service_url:
            client_module = importlib.import_module("riskguard.client")
            token = settings.token or os.environ["RISKGUARD_TOKEN"]  # checked by Settings.from_mapping
            backend = client_module.RiskClient(settings.service_url, token)
        else:
            url = settings.ledger_url or os.environ.get("RISKGUARD_DB_URL")
            if not url:
                user_data = config.get("user_data_dir") or "."
                url = f"sqlite:///{os.path.join(str(user_data), 'riskguard.db')}"
            assert posture is not None
            backend = InProcessBackend(posture, url, clock=clock, account_id=settings.account_id,
                                       actor=f"freqtrade:{strategy}", pack_after_s=settings.pack_after_s)
        state = _State(settings, strategy, backend, clock,
                       trade_stops=TradeStops(posture) if posture is not None and settings.dynamic_stops else None)
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
        mode = ((detail.get("policy") or {}).get("applied") or {}).get("exit_mode")
        sizing = _Sizing(veto=veto, detail=detail, leverage=float(sized.get("leverage") or 1.0),
                         stop_price=planned.get("stop_price"), take_profit_price=planned.get("take_profit_price"),
                         expected_rr=signal.expected_rr, confidence=signal.confidence, atr=signal.atr,
                         exit_mode=mode if isinstance(mode, str) else None)
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
        intent = OrderIntent.from_dict({**planned, "intent_id": self._rg_intent_id(pair, side)})
        return self._rg_store_veto(intent, sizing.detail)

    def _rg_store_veto(self, intent: OrderIntent, dry_run: Detail) -> Detail:
        """Store ``intent``, vetoed by the dry run whose detail is ``dry_run``, as a decision of record
        through ``reserve``; returns the stored detail. Should it pass now, its reservation is released
        and ``dry_run`` returned: the order was already refused."""
        backend = self._rg().backend
        veto, detail, reservation_id = backend.reserve(intent)
        if not veto:
            if reservation_id is not None:
                backend.release(reservation_id)
            log.info("riskguard: %s %s passes since the dry run; skipped this candle (decision %s)", intent.symbol,
                     intent.side, detail.get("decision_id"))
            return dry_run
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

    # -- adds (position adjustment) -----------------------------------------------------------
    def adjust_trade_position(self, trade: TradeView, current_time: datetime, current_rate: float,
                              current_profit: float, min_stake: float | None, max_stake: float,
                              current_entry_rate: float, current_exit_rate: float, current_entry_profit: float,
                              current_exit_profit: float, **kwargs: Any) -> AdjustResult:
        """The strategy's position adjustment (the next base's ``adjust_trade_position``, or a
        subclass's own, which this wraps) with its adds decided by riskguard: a positive stake (USDT
        margin) comes back as the approved stake, shrunk to what the caps allow, or None when vetoed;
        a negative one (a partial exit) and None come back unchanged."""
        parent = getattr(super(), "adjust_trade_position", None)
        if parent is None:
            return None
        wanted: AdjustResult = parent(
            trade=trade, current_time=current_time, current_rate=current_rate, current_profit=current_profit,
            min_stake=min_stake, max_stake=max_stake, current_entry_rate=current_entry_rate,
            current_exit_rate=current_exit_rate, current_entry_profit=current_entry_profit,
            current_exit_profit=current_exit_profit, **kwargs)
        return wanted

    adjust_trade_position = _routed(adjust_trade_position)

    def _rg_adjust(self, trade: TradeView, current_time: datetime, current_rate: float, min_stake: float | None,
                   wanted: AdjustResult) -> AdjustResult:
        """riskguard's answer to the strategy's ``wanted`` adjustment of ``trade`` (see
        :meth:`adjust_trade_position`)."""
        stake, tag = _split_adjustment(wanted)
        if stake is None or not stake > 0.0 or not math.isfinite(stake):
            return wanted  # no adjustment, or a partial exit: riskguard never blocks an exit
        state = self._rg_at(current_time)
        pair, side = trade.pair, ("short" if trade.is_short else "long")
        if getattr(trade, "has_open_orders", False):
            log.info("riskguard: %s %s add waits: the trade has an open order", pair, side)
            return None
        stale = state.adds.pop(trade.id, None)
        if stale is not None:  # its order was never placed (or was cancelled): return its budget
            self._rg_release(stale.reservation_id)
        self._rg_refresh_pair(state, pair)
        intent = self._rg_add_intent(state, trade, current_time, current_rate, stake, tag)
        if intent is None:
            return None
        veto, detail = state.backend.check(intent)
        allowed = float(detail.get("max_notional_allowed") or 0.0)
        reasons = list(detail.get("reasons") or [])
        if veto and reasons and all(r in SIZE_BOUND_GATES for r in reasons) \
                and 0.0 < allowed < float(intent.notional or 0.0):
            intent = dataclasses.replace(intent, notional=allowed)  # shrink to what every size cap allows
            veto, detail = state.backend.check(intent)
        if veto:
            self._rg_add_vetoed(state, trade, intent, detail, current_time)
            return None
        if detail.get("pyramid") is None:
            log.warning("riskguard refused %s %s add at %s: riskguard's ledger holds no position of %s in %s",
                        pair, side, current_time.isoformat(), state.strategy, intent.symbol)
            return None
        leverage = float(trade.leverage or 1.0)
        notional = float((detail.get("sized") or {}).get("notional") or 0.0)
        approved = notional / leverage * (1.0 + _STAKE_NUDGE)
        floor = self._rg_min_add_stake(min_stake, leverage)
        if approved < floor:
            log.info("riskguard: %s %s add of %.2f USDT approved, below freqtrade's minimum stake %.2f; not added",
                     pair, side, approved, floor)
            return None
        veto, detail, reservation_id = state.backend.reserve(intent)
        if veto or reservation_id is None:
            self._rg_log_add_veto(trade, detail, current_time)
            return None
        sized = detail.get("sized") or {}
        pyramid = detail.get("pyramid") or {}
        state.adds[trade.id] = _Add(reservation_id, float(sized.get("qty") or 0.0),
                                    pyramid.get("stop_price") or intent.stop_price, detail.get("decision_id"))
        approved = float(sized.get("notional") or notional) / leverage * (1.0 + _STAKE_NUDGE)
        log.info("riskguard approved %s %s add: %s at %s, stop %s%s (decision %s)", pair, side, sized.get("qty"),
                 current_rate, state.adds[trade.id].stop_price, " (resized)" if intent.notional != stake * leverage
                 else "", detail.get("decision_id"))
        return (approved, tag) if isinstance(wanted, tuple) else approved

    def _rg_add_intent(self, state: _State, trade: TradeView, current_time: datetime, rate: float, stake: float,
                       tag: str | None) -> OrderIntent | None:
        """The add as riskguard's intent: ``stake`` x leverage USDT at ``rate``, in the strategy's
        name, with the position's current stop (a ``stop=`` in the add's tag asks for another)."""
        pair, side = trade.pair, ("short" if trade.is_short else "long")
        try:
            inputs = self._rg_signal_inputs(pair, tag)
            asked_stop = parse_entry_tag(tag).get("stop_price")
            stop = asked_stop if asked_stop is not None else self._rg_position_stop(state, trade)
            leverage = float(trade.leverage or 1.0)
            symbol = to_binance_symbol(pair)
            return OrderIntent(
                intent_id=f"{state.strategy}-{symbol}-{_side(side)}-{state.clock.now_ms}-add", strategy=state.strategy,
                symbol=symbol, side=_side(side), notional=stake * leverage, leverage=leverage, price=rate,
                stop_price=stop, expected_rr=inputs.get("expected_rr"), confidence=inputs.get("confidence"),
                ts_ms=state.clock.now_ms)
        except InputValidationError as exc:
            log.warning("riskguard vetoed %s %s add at %s: invalid_intent (%s)", pair, side,
                        current_time.isoformat(), exc)
            return None

    def _rg_position_stop(self, state: _State, trade: TradeView) -> float | None:
        """The position's stop now (USDT): the tighter of riskguard's plan (restated by adds) and the
        stop freqtrade holds, which the strategy's own ``custom_stoploss`` may have moved."""
        return _tighter(trade.is_short, state.stops.get(trade.id), _finite_positive(getattr(trade, "stop_loss", None)))

    def _rg_min_add_stake(self, min_stake: float | None, leverage: float) -> float:
        """The smallest stake (USDT margin) freqtrade places for an add without raising it (which
        would fill more than riskguard reserved). freqtrade 2026.9's backtest passes
        ``adjust_trade_position`` the minimum at leverage 1 with a 10 % stop reserve, while its
        add order needs the minimum at the trade's leverage, at most that over the leverage; live,
        both are the minimum at the trade's leverage."""
        floor = _finite_positive(min_stake)
        if floor is None:
            return 0.0
        return floor / leverage if self._rg_backtesting() else floor

    def _rg_add_vetoed(self, state: _State, trade: TradeView, intent: OrderIntent, detail: Detail,
                       current_time: datetime) -> None:
        """Store the vetoed add as a decision of record (once per trade and candle: live, freqtrade
        asks again every few seconds) and log its reasons."""
        candle = state.clock.now_ms // timeframe_ms(self.timeframe)
        if state.add_vetoes.get(trade.id) == candle:
            log.debug("riskguard vetoed %s add again this candle: %s", trade.pair,
                      ", ".join(detail.get("reasons") or []))
            return
        state.add_vetoes[trade.id] = candle
        self._rg_log_add_veto(trade, self._rg_store_veto(intent, detail), current_time)

    def _rg_log_add_veto(self, trade: TradeView, detail: Detail, current_time: datetime) -> None:
        log.warning("riskguard vetoed %s %s add at %s: %s (decision %s)", trade.pair,
                    "short" if trade.is_short else "long", current_time.isoformat(),
                    ", ".join(detail.get("reasons") or ["no size"]), detail.get("decision_id"))

    def _rg_release(self, reservation_id: str) -> None:
        try:
            self._rg().backend.release(reservation_id)
        except Exception:  # a reservation not returned expires with the posture's TTL
            log.exception("riskguard: could not release reservation %s", reservation_id)

    def _rg_book_add(self, state: _State, pair: str, trade: TradeView, add: _Add, qty: float, price: float) -> None:
        """Book an add's fill against its reservation (a new leg in the ledger), return what it did
        not fill, and restate the trade's stop as the ledger does (the add's, unless the trade's is tighter)."""
        try:
            state.backend.fill(add.reservation_id, qty, price, fee=qty * price * float(trade.fee_open or 0.0))
        except Exception:
            log.exception("riskguard: could not book the %s add fill of %s at %s (decision %s)", pair, qty, price,
                          add.decision_id)
            return
        if qty < add.qty * (1.0 - 1e-9):
            self._rg_release(add.reservation_id)
        state.open_trades[trade.id] = trade
        stop = _tighter(trade.is_short, state.stops.get(trade.id), add.stop_price)
        if stop is not None:
            state.stops[trade.id] = stop
        if state.trade_stops is not None:
            state.trade_stops.add(trade.id, qty, price)

    def order_filled(self, pair: str, trade: TradeView, order: OrderView, current_time: datetime,
                     **kwargs: Any) -> None:
        """Book an entry fill against its reservation, or an exit fill as a close (fee and funding)."""
        state = self._rg_at(current_time)
        qty, price = float(order.safe_filled), float(order.safe_price)
        if qty <= 0.0:
            return
        if order.ft_order_side == trade.entry_side:
            add = state.adds.pop(trade.id, None)
            if add is not None:
                self._rg_book_add(state, pair, trade, add, qty, price)
                return
            pending = state.pending.pop(pair, None)
            if pending is None:
                log.error("riskguard: %s entry fill of %s at %s has no reservation; not booked", pair, qty, price)
                return
            reservation_id, sizing = pending
            state.backend.fill(reservation_id, qty, price, fee=qty * price * float(trade.fee_open or 0.0))
            state.open_trades[trade.id] = trade
            if sizing.stop_price is not None:
                state.stops[trade.id] = float(sizing.stop_price)
                if state.trade_stops is not None:
                    state.trade_stops.open(trade.id, to_binance_symbol(pair), trade.is_short, price, qty,
                                           float(sizing.stop_price), sizing.atr, mode=sizing.exit_mode)
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
            state.add_vetoes.pop(trade.id, None)
            if state.trade_stops is not None:
                state.trade_stops.close(trade.id)
            unfilled = state.adds.pop(trade.id, None)
            if unfilled is not None:
                self._rg_release(unfilled.reservation_id)

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
        None (keep the current stop) when riskguard planned none for this trade. With the
        ``dynamic_stops`` setting the stop is first moved with the market (:meth:`_rg_move_stop`)."""
        state = self._rg()
        if state.trade_stops is not None:
            self._rg_move_stop(state, trade, current_time, current_rate)
        stop = state.stops.get(trade.id)
        if stop is None or current_rate <= 0.0:
            return None
        distance = (stop - current_rate) / current_rate if trade.is_short else (current_rate - stop) / current_rate
        if distance <= 0.0:
            return None
        return -distance * float(trade.leverage or 1.0)

    def _rg_move_stop(self, state: _State, trade: TradeView, current_time: datetime, current_rate: float) -> None:
        """Tighten ``trade``'s stop by the posture's ``exits.dynamic_stop`` rule and record the move
        in riskguard's ledger first (its book's risk at stop follows, so the pyramiding gates see
        it); freqtrade gets the new stop only once it is recorded. The rule starts from the tighter
        of riskguard's stop and freqtrade's (which the strategy's own ``custom_stoploss`` may have
        moved). A move riskguard refuses (a looser stop, no open position, the service down) is
        logged and the previous stop kept: a stop never fails freqtrade."""
        assert state.trade_stops is not None
        stop = state.stops.get(trade.id)
        if stop is None or not current_rate > 0.0:
            return
        state.clock.now_ms = _ms(current_time)
        current = _tighter(trade.is_short, stop, _finite_positive(getattr(trade, "stop_loss", None)))
        prices = self._rg_closed_prices(trade) if self._rg_backtesting() else None
        best: float | None
        last: float | None
        if prices is None:
            extreme = _finite_positive(getattr(trade, "min_rate" if trade.is_short else "max_rate", None))
            best, last = _tighter(trade.is_short, extreme, current_rate), current_rate  # the best price, this rate too
        else:
            best, last = prices
        atr = self._rg_last_atr(trade.pair)
        if current is None or best is None or last is None or atr is None:
            return
        symbol = to_binance_symbol(trade.pair)
        backend = state.backend
        regime, multiplier = backend.stop_context(symbol) if isinstance(backend, StopContextBackend) else (None, 1.0)
        update = state.trade_stops.next_stop(trade.id, current, best, last, atr, regime=regime,
                                             size_multiplier=multiplier)
        if update is None or not update.moved:
            return
        try:
            backend.move_stop(state.strategy, symbol, update.stop_price, reason=update.reason)
        except Exception as exc:  # a refused or unrecorded move keeps the stop freqtrade has
            log.warning("riskguard: %s stop not moved to %s at %s (%s): %s; keeping %s", trade.pair,
                        update.stop_price, current_time.isoformat(), update.reason, exc, stop)
            return
        state.stops[trade.id] = update.stop_price
        log.info("riskguard moved %s stop %s -> %s at %s (%s)", trade.pair, current, update.stop_price,
                 current_time.isoformat(), update.reason)

    def _rg_closed_prices(self, trade: TradeView) -> tuple[float | None, float | None] | None:
        """In a backtest, ``(best price since entry, last close)`` (USDT) from the candles closed since
        ``trade`` opened, or ``(None, None)`` before the first one closed: freqtrade hands
        ``custom_stoploss`` the current candle's high (a short's low) and counts it in ``max_rate``,
        so a stop moved on them would know the candle's range before it happened. As in riskguard's
        replay, a move is decided at a candle's close and works from the next candle on. None when
        the trade's opening time or the candles are not known (then the live inputs are used)."""
        opened = getattr(trade, "open_date_utc", None)
        dp = getattr(self, "dp", None)
        if not isinstance(opened, datetime) or dp is None:
            return None
        frame, _ = dp.get_analyzed_dataframe(trade.pair, self.timeframe)
        if frame is None or "date" not in frame:
            return None
        since = frame[frame["date"] >= opened]
        if len(since) == 0:
            return None, None
        column = "low" if trade.is_short else "high"
        extremes = since[column] if column in since else since["close"]
        extreme = float(extremes.min() if trade.is_short else extremes.max())
        best = _tighter(trade.is_short, _finite_positive(extreme), float(trade.open_rate))
        return best, _finite_positive(since["close"].iloc[-1])

    def _rg_last_atr(self, pair: str) -> float | None:
        """The ATR (price units) on the last candle freqtrade shows the strategy (``atr_column``)."""
        dp = getattr(self, "dp", None)
        if dp is None:
            return None
        frame, _ = dp.get_analyzed_dataframe(pair, self.timeframe)
        if frame is None or len(frame) == 0:
            return None
        return _finite_positive(frame.iloc[-1].get(self._rg().settings.atr_column))

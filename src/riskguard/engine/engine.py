"""RiskEngine: (signal -> policy -> sizing ->) intent -> context -> every gate -> decision.

Knows no storage and no network: the ledger and the exchange adapters feed it and persist what it
decides.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt

from riskguard.book.book import DAY_MS, Book
from riskguard.book.cvar import PortfolioCvar
from riskguard.config.limits import Limits, compile_limits
from riskguard.config.schema import Posture
from riskguard.engine.decision_log import log_decision
from riskguard.engine.instruments import default_instruments
from riskguard.engine.signals import SizedSignal, size_signal
from riskguard.engine.verdict import Verdict
from riskguard.gates.context import GateContext
from riskguard.gates.pyramid_gates import add_summary
from riskguard.gates.registry import GATES, SIZE_BOUND_GATES, evaluate
from riskguard.math.indicators import atr as wilder_atr
from riskguard.model.clock import wall_clock_ms
from riskguard.model.decision import Decision, Detail, GateCheck
from riskguard.model.enums import Mode, Side, TradingState
from riskguard.model.errors import InputValidationError
from riskguard.model.instrument import InstrumentRules
from riskguard.model.intent import OrderIntent
from riskguard.model.position import Position
from riskguard.model.rounding import floor_to_step
from riskguard.model.signal import Signal
from riskguard.model.snapshots import AccountSnapshot, MarketSnapshot
from riskguard.model.validation import EPOCH_MS_MAX, timestamp_ms
from riskguard.policy.flags import PolicyViews
from riskguard.policy.ladder import LadderEvent
from riskguard.policy.policy_engine import PolicyEngine
from riskguard.sizing.params import SizingParams

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("riskguard.decision")
state_log = logging.getLogger("riskguard.state")

Clock = Callable[[], int]
_QTY_MISMATCH = 0.005  # qty and notional both given must agree within 0.5 %
_LADDER_REASON = "drawdown ladder"
_BUY = Side.BUY
_INF = float("inf")
_STRICTNESS = {TradingState.ACTIVE: 0, TradingState.HALTED: 1, TradingState.REDUCING: 2}


class RiskEngine:
    """Pre-trade risk engine for one account.

    Feed it account, market, position and (optionally) OHLCV / return updates; ask it
    ``check_order`` (first element True = veto) or ``would_emit`` (first element True = would
    emit) with an :class:`OrderIntent` (sized by the strategy) or a :class:`Signal` (sized here by
    policy and sizing). The in-memory book is updated incrementally; the ledger
    (riskguard.ledger) is the durable source of truth that reloads it.
    """

    def __init__(self, posture: Posture | Limits, *, clock: Clock | None = None,
                 instruments: Iterable[InstrumentRules] | None = None) -> None:
        self.limits: Limits = posture if isinstance(posture, Limits) else compile_limits(posture)
        self.clock: Clock = clock or wall_clock_ms
        self.book = Book(risk_per_unstopped_notional=self.limits.default_stop_distance_pct,
                         symbol_groups=dict(self.limits.symbol_groups))
        self.instruments: dict[str, InstrumentRules] = (
            dict(default_instruments()) if instruments is None else {r.symbol: r for r in instruments})
        self.markets: dict[str, MarketSnapshot] = {}
        self.account: AccountSnapshot | None = None
        self.day: int = -1
        self.day_high_nav: float = 0.0
        self._trading_state = TradingState.ACTIVE
        self._trading_state_text = TradingState.ACTIVE.value
        self.trading_state_reason = "initial"
        self._mode: Mode = self.posture.mode
        self._mode_text = self._mode.value
        self.ladder_size_multiplier = 1.0
        self.operating_size_multiplier = 1.0  # the account's, handed in with load_state (the ledger's controls)
        self.policy = PolicyEngine(self.posture, clock=lambda: self.clock())
        self.sizing_params = SizingParams.from_posture(self.posture)
        # A signal for the posture's own mode is sized under sizing.max_risk_pct; one for another
        # mode (a demo order once the ladder switched the account to demo) under that mode's cap.
        self._sizing_by_mode = {
            mode: self.sizing_params if mode is self.posture.mode else self.sizing_params.with_risk_ceiling(cap)
            for mode, cap in self.sizing_params.kelly_mode_caps.items()}
        self.exit_rules = self.sizing_params.exit_rules
        self.cvar = PortfolioCvar(self.limits.cvar_alpha, self.limits.cvar_window, self.limits.cvar_min_history)
        self.atr: dict[str, float] = {}
        self._size_bound = tuple((i, g.reason) for i, g in enumerate(GATES) if g.size_bound)
        self._soft_indices = tuple(i for i, g in enumerate(GATES) if g.reason in self.limits.soft_gates)
        self._policy_details: dict[str, tuple[PolicyViews, dict[str, object]]] = {}
        self._id_prefix = uuid.uuid4().hex[:12]
        self._sequence = itertools.count(1)

    # -- state ---------------------------------------------------------------------------
    # Properties, so that the text each decision reports is computed once per change, not per check.
    @property
    def trading_state(self) -> TradingState:
        """ACTIVE, REDUCING or HALTED; change it with :meth:`set_trading_state`."""
        return self._trading_state

    @trading_state.setter
    def trading_state(self, state: TradingState) -> None:
        self._trading_state = state
        self._trading_state_text = state.value

    @property
    def mode(self) -> Mode:
        """The execution mode in force (the posture's, unless a drawdown-ladder rung overrides it)."""
        return self._mode

    @mode.setter
    def mode(self, mode: Mode) -> None:
        self._mode = mode
        self._mode_text = mode.value

    # -- feeding ---------------------------------------------------------------------------
    @property
    def posture(self) -> Posture:
        """The validated posture behind the compiled limits."""
        return self.limits.posture

    def update_account(self, snapshot: AccountSnapshot) -> bool:
        """Take a NAV snapshot (older than the current one: ignored, returns False). Feeds the
        policy's drawdown windows and the drawdown ladder, whose rungs may change the trading state,
        the size multiplier and the mode."""
        if self.account is not None and snapshot.ts_ms < self.account.ts_ms:
            return False
        if snapshot == self.account:
            return True  # the same snapshot again (a ledger reload, a replay mark) changes nothing
        day = snapshot.ts_ms // DAY_MS
        if day != self.day:
            self.day = day
            self.day_high_nav = snapshot.day_start_nav or snapshot.nav
        elif snapshot.day_start_nav is not None:
            self.day_high_nav = max(self.day_high_nav, snapshot.day_start_nav)
        self.day_high_nav = max(self.day_high_nav, snapshot.nav)
        self.account = snapshot
        self._apply_ladder(self.policy.update_equity(snapshot.ts_ms, snapshot.nav))
        return True

    def _apply_ladder(self, events: tuple[LadderEvent, ...]) -> None:
        state = self.policy.ladder_state
        for event in events:
            state_log.warning("drawdown ladder %s: rung=%s state=%s size_multiplier=%s mode=%s",
                              event.kind.value, event.rung, state.trading_state.value, state.size_multiplier,
                              None if state.mode is None else state.mode.value,
                              extra={"riskguard": {"event": "ladder", "kind": event.kind.value, "rung": event.rung}})
        self.ladder_size_multiplier = state.size_multiplier
        self.mode = state.mode or self.posture.mode
        ladder_owned = self.trading_state_reason.startswith(_LADDER_REASON)
        if _STRICTNESS[state.trading_state] > _STRICTNESS[self.trading_state]:
            self.set_trading_state(state.trading_state, f"{_LADDER_REASON}: {', '.join(state.active)}")
        elif ladder_owned and state.trading_state is not self.trading_state:
            # The ladder only loosens what it set itself, once its window rolled or an operator acted.
            self.set_trading_state(state.trading_state, f"{_LADDER_REASON}: {', '.join(state.active) or 'cleared'}")

    def load_state(self, *, book: Book, account: AccountSnapshot | None, trading_state: TradingState | str,
                   reason: str, size_multiplier: float = 1.0) -> None:
        """Decide from now on against state held elsewhere (the ledger, a stored decision): ``book``
        (already marked), the latest NAV mark ``account`` (its ``day_start_nav`` carries the UTC
        day's NAV high; None = NAV unknown), the trading state with its reason, and the account's
        operating ``size_multiplier`` in (0, 1] (signals are sized at most that fraction).

        Any NAV history of this engine is discarded and ``account`` fed afresh, unless the engine
        already holds exactly what that would give it (a repeated mark is a no-op for the drawdown
        windows and the ladder), so the ~40 us re-feed is skipped when the mark did not change.
        """
        if (account is None or account != self.account or self.day != account.ts_ms // DAY_MS
                or self.day_high_nav != max(account.day_start_nav or account.nav, account.nav)):
            self.account = None
            self.day = -1
            self.day_high_nav = 0.0
            if account is not None:
                self.update_account(account)
        self.set_trading_state(trading_state, reason)
        self.operating_size_multiplier = size_multiplier
        self.book = book

    def update_market(self, snapshot: MarketSnapshot) -> bool:
        """Take a mark / top-of-book snapshot; older ones are ignored (returns False)."""
        current = self.markets.get(snapshot.symbol)
        if current is not None and snapshot.ts_ms < current.ts_ms:
            return False
        self.markets[snapshot.symbol] = snapshot
        self.book.mark(snapshot.symbol, snapshot.mark_price)
        if snapshot.atr is not None:
            self.atr[snapshot.symbol] = snapshot.atr
        return True

    def update_returns(self, symbol: str, returns: npt.ArrayLike) -> None:
        """Per-period simple returns of ``symbol`` (oldest first) for the CVaR gate."""
        self.cvar.update_returns(symbol.upper(), returns)

    def update_ohlcv(self, symbol: str, ohlcv: pd.DataFrame) -> None:
        """Candles of ``symbol`` (columns open/high/low/close): regime for the policy, returns for
        the CVaR gate, and the latest ATR for sizing signals without a stop."""
        name = symbol.upper()
        for column in ("high", "low", "close"):
            if column not in ohlcv.columns:
                raise InputValidationError(column, "OHLCV frame lacks this column", list(ohlcv.columns))
        close = ohlcv["close"].to_numpy(dtype=np.float64)
        self.policy.update_ohlcv(name, ohlcv)
        if close.size > 1:
            self.cvar.update_returns(name, close[1:] / close[:-1] - 1.0)
        period = self.posture.policy.regime.atr_period
        if close.size > period:
            values = wilder_atr(ohlcv["high"].to_numpy(np.float64), ohlcv["low"].to_numpy(np.float64), close, period)
            if np.isfinite(values[-1]) and values[-1] > 0.0:
                self.atr[name] = float(values[-1])

    def update_instrument(self, rules: InstrumentRules) -> None:
        """Install exchange rules for a symbol (e.g. loaded by the exchange adapter)."""
        self.instruments[rules.symbol] = rules

    def add_position(self, position: Position) -> None:
        """Record an open position (replaces the strategy's position in that symbol)."""
        self.book.add_position(position)

    def close_position(self, symbol: str, strategy: str) -> Position | None:
        """Forget the position of ``strategy`` in ``symbol``; returns it, or None if there was none."""
        return self.book.remove_position(strategy, symbol.upper())

    def set_trading_state(self, state: TradingState | str, reason: str) -> None:
        """ACTIVE, REDUCING (only reducing orders) or HALTED (no new risk)."""
        new = TradingState(state)
        if new is not self.trading_state:
            state_log.warning("trading state %s -> %s: %s", self.trading_state.value, new.value, reason,
                              extra={"riskguard": {"event": "trading_state", "from": self.trading_state.value,
                                                   "to": new.value, "reason": reason}})
        self.trading_state = new
        self.trading_state_reason = reason

    @property
    def daily_drawdown(self) -> float | None:
        """Drawdown from the UTC day's NAV high, fraction (None without NAV)."""
        if self.account is None or self.day_high_nav <= 0.0:
            return None
        return max(0.0, (self.day_high_nav - self.account.nav) / self.day_high_nav)

    # -- deciding --------------------------------------------------------------------------
    def _context(self, intent: OrderIntent, now_ms: int, notional_override: float | None,
                 views: PolicyViews, size_known: bool = True) -> GateContext:
        limits, book = self.limits, self.book
        symbol = intent.symbol
        market = self.markets.get(symbol)
        rules = self.instruments.get(symbol)
        price = intent.price if intent.price is not None else (market.mark_price if market else None)
        invalid: str | None = None

        notional: float | None
        qty: float | None
        if not size_known:
            notional = qty = None
        elif notional_override is not None:
            notional = notional_override
            qty = notional_override / price if price else None
        elif intent.notional is not None:
            notional = intent.notional
            qty = notional / price if price else None
            if intent.qty is not None and qty is not None and abs(intent.qty / qty - 1.0) > _QTY_MISMATCH:
                invalid = f"qty {intent.qty} disagrees with notional {notional} at price {price}"
        else:
            qty = intent.qty
            notional = qty * price if (qty is not None and price) else None

        # qty derives from validated positive sizes; a negative one would be unknown, never floored.
        sized_qty = (floor_to_step(qty, rules.step_size) if (rules is not None and qty is not None and qty >= 0.0)
                     else None)
        sized_notional = sized_qty * price if (sized_qty is not None and price) else None

        is_buy = intent.side is _BUY
        position = book.positions.get((intent.strategy, symbol))
        opposite = position is not None and position.is_long != is_buy
        reducing = opposite and (intent.reduce_only or (qty is not None and position is not None
                                                        and qty <= position.qty * (1.0 + 1e-9)))
        if intent.reduce_only and not opposite:
            invalid = invalid or "reduce_only but no opposite position of this strategy to reduce"

        risk_estimated = intent.stop_price is None
        risk_fraction: float | None
        if risk_estimated:
            risk_fraction = limits.default_stop_distance_pct
        elif price:
            stop = intent.stop_price
            assert stop is not None
            wrong_side = stop >= price if is_buy else stop <= price
            if stop == price and not reducing:
                invalid = invalid or f"stop_price {stop} equals the entry price: zero stop distance, no risk unit"
            elif wrong_side and not reducing:
                invalid = invalid or f"stop {stop} is on the wrong side of price {price} for a {intent.side}"
            risk_fraction = abs(price - stop) / price
        else:
            risk_fraction = None
        target = intent.take_profit_price
        if (target is not None and price and not reducing
                and (target <= price if is_buy else target >= price)):
            invalid = invalid or f"take-profit {target} is on the wrong side of price {price} for a {intent.side}"

        book_risk = book.total_risk_usdt
        if position is not None and not opposite and intent.stop_price is not None:
            # One position has one stop: adding at a new stop restates the open leg's risk at it.
            stop_distance = (position.entry_price - intent.stop_price if position.is_long
                             else intent.stop_price - position.entry_price)
            book_risk += max(0.0, stop_distance * position.qty) - book.position_risk[position.key]

        account = self.account
        exposure = book.symbols.get(symbol)
        nav_age = float(now_ms - account.ts_ms) if account is not None else None
        if nav_age is not None and -limits.max_clock_skew_ms <= nav_age < 0.0:
            nav_age = 0.0  # dated ahead within the tolerated clock skew: fresh, not "in the future"
        return GateContext(
            intent=intent, limits=limits, book=book, now_ms=now_ms, market=market, rules=rules,
            symbol_limits=limits.symbols.get(symbol, limits.default_symbol),
            strategy_limits=limits.strategies.get(intent.strategy, limits.default_strategy),
            nav=account.nav if account is not None else None,
            nav_age_ms=nav_age,
            drawdown=self.daily_drawdown, trading_state=self._trading_state,
            price=price, notional=notional, qty=qty, sized_qty=sized_qty, sized_notional=sized_notional,
            risk_fraction=risk_fraction, risk_estimated=risk_estimated,
            symbol_gross=exposure.gross if exposure is not None else 0.0, book_risk_usdt=book_risk,
            reducing=reducing, opens_new=not reducing and position is None, invalid=invalid,
            policy=views.applied, cvar=self.cvar,
            order_mode=intent.execution_mode or self.posture.mode, account_mode=self._mode,
            account=account, instruments=self.instruments,
            adding_to=position if position is not None and not opposite else None,
            size_multiplier=min(self.ladder_size_multiplier, self.operating_size_multiplier),
        )

    def _run(self, ctx: GateContext) -> tuple[list[GateCheck], list[str], list[str], float, str | None]:
        checks = evaluate(ctx)
        for i in self._soft_indices:
            checks[i]["severity"] = "soft"
        hard: list[str] = []
        soft: list[str] = []
        for c in checks:
            if not c["passed"]:
                (soft if c["severity"] == "soft" else hard).append(c["reason"])
        allowed = _INF
        binding: str | None = None
        for i, name in self._size_bound:
            headroom = checks[i]["headroom_notional"]
            # None = this gate puts no bound on the size (e.g. a symbol in no correlation group);
            # gates that cannot compute a bound they do have report 0.0 (fail closed).
            if headroom is not None and headroom < allowed:
                allowed, binding = headroom, name
        return checks, hard, soft, (allowed if 0.0 < allowed < _INF else 0.0), binding

    def _policy_detail(self, views: PolicyViews) -> dict[str, object]:
        # Policies change only on regime, trade or drawdown updates: render each one once.
        cached = self._policy_details.get(views.policy.symbol)
        if cached is not None and cached[0] is views:
            return cached[1]
        rendered = views.to_dict()
        self._policy_details[views.policy.symbol] = (views, rendered)
        return rendered

    def check_order(self, intent: OrderIntent | Signal, *, now_ms: int | float | None = None,
                    commit: bool = True) -> tuple[bool, Detail]:
        """Decide on an intent (or size and decide on a signal). Returns ``(veto, detail)``: veto True
        means blocked.

        With ``commit`` (the default) an approval is recorded: its id for duplicate detection, the
        order-rate window, and for risk-adding intents the cooldown clock and daily trade count.
        ``now_ms`` (epoch ms, default the engine's clock) may be an integral float; anything else
        raises InputValidationError naming ``now_ms``.
        """
        verdict = self.decide(intent, now_ms=now_ms, commit=commit)
        return verdict.veto, verdict.detail

    def decide(self, intent: OrderIntent | Signal, *, now_ms: int | float | None = None,
               commit: bool = True) -> Verdict:
        """:meth:`check_order` with the facts a caller books typed beside the detail (see :class:`Verdict`)."""
        now = self.clock() if now_ms is None else (
            now_ms if type(now_ms) is int and 0 <= now_ms < EPOCH_MS_MAX else timestamp_ms("now_ms", now_ms))
        sized: SizedSignal | None = None
        if isinstance(intent, Signal):
            views = self.policy.views_for(intent.symbol)
            sized = self._size(intent, views)
            order = (_keeping_the_position_stop(sized.intent, self.book) if sized.intent is not None
                     else _placeholder_intent(intent))
        else:
            order = intent
            views = self.policy.views_for(intent.symbol)
        size_known = sized is None or sized.intent is not None
        override = sized.notional if sized is not None and sized.intent is not None else None
        ctx = self._context(order, now, override, views, size_known)
        checks, hard, soft, allowed, binding = self._run(ctx)
        limits = self.limits
        soft_veto = len(soft) > limits.max_soft_failures
        veto = bool(hard) or soft_veto
        resized = False
        requested_ctx = ctx
        # A signal has no requested size: its risk-based size is always clamped to what the caps allow.
        if (veto and (limits.resize_to_fit or sized is not None) and not soft_veto and ctx.notional is not None
                and all(r in SIZE_BOUND_GATES for r in hard) and 0.0 < allowed < ctx.notional):
            shrunk = self._context(order, now, allowed, views)
            s_checks, s_hard, s_soft, _, _ = self._run(shrunk)
            if not s_hard and len(s_soft) <= limits.max_soft_failures:
                ctx, checks, hard, soft, resized, veto = shrunk, s_checks, s_hard, s_soft, True, False
                soft_veto = False
        decision_id = f"{self._id_prefix}-{next(self._sequence):08x}"
        if not veto and commit:
            self.book.record_approval(order.intent_id, decision_id, order.strategy, now, not ctx.reducing)
        nav_age = ctx.nav_age_ms
        confidence = order.confidence
        high = confidence is not None and confidence >= limits.high_confidence_threshold
        detail: Decision = {
            "decision_id": decision_id,
            "intent_id": order.intent_id,
            "strategy": order.strategy,
            "symbol": order.symbol,
            "side": str(order.side),
            "veto": veto,
            "approved": not veto,
            "reasons": [] if not veto else hard + (soft if soft_veto else []),
            "warnings": soft,
            "nav": ctx.nav,
            "nav_fresh": nav_age is not None and 0.0 <= nav_age <= limits.nav_max_age_ms,
            "nav_age_ms": nav_age,
            "checks": checks,
            "requested": {"notional": requested_ctx.notional, "qty": requested_ctx.qty,
                          "leverage": order.leverage, "price": requested_ctx.price},
            "sized": {"notional": ctx.sized_notional, "qty": ctx.sized_qty, "leverage": order.leverage},
            "max_notional_allowed": allowed,
            "clamped_by": binding,
            "resized": resized,
            "reducing": ctx.reducing,
            "risk_usdt": ctx.risk_usdt,
            "risk_estimated": ctx.risk_estimated,
            "open_positions": self.book.open_count,
            "max_concurrent_positions": ctx.strategy_limits.max_concurrent_positions,
            "max_open_positions": (limits.max_open_positions_high_confidence if high
                                   else limits.max_open_positions),
            "trading_state": self._trading_state_text,
            "mode": self._mode_text,
            "posture": limits.name,
            "config_hash": limits.config_hash,
            "ts_ms": now,
            "policy": self._policy_detail(views),
            "sizing": sized.sizing if sized is not None else None,
            "intent": _executable(order, ctx.notional, allowed) if sized is not None and sized.intent is not None
            else None,
            "pyramid": add_summary(ctx) if ctx.adding_to is not None else None,
        }
        if log.isEnabledFor(logging.INFO):
            log_decision(log, detail, checks)
        return Verdict(veto, cast(Detail, detail), decision_id, order, ctx.reducing, ctx.opens_new,
                       requested_ctx.price, ctx.sized_notional, ctx.sized_qty)

    def refuse(self, intent: OrderIntent, reason: str, *, now_ms: int | None = None) -> Detail:
        """The complete decision detail of a veto decided before any gate could run (e.g. the
        ledger holding the book is unavailable): every contract key, ``reason`` the only reason,
        no checks, nothing sized or allowed; the NAV and state are the engine's own."""
        now = self.clock() if now_ms is None else now_ms
        limits, account = self.limits, self.account
        nav_age = float(now - account.ts_ms) if account is not None else None
        high = intent.confidence is not None and intent.confidence >= limits.high_confidence_threshold
        detail: Decision = {
            "decision_id": None, "intent_id": intent.intent_id, "strategy": intent.strategy,
            "symbol": intent.symbol, "side": str(intent.side), "veto": True, "approved": False,
            "reasons": [reason], "warnings": [],
            "nav": account.nav if account is not None else None,
            "nav_fresh": nav_age is not None and 0.0 <= nav_age <= limits.nav_max_age_ms, "nav_age_ms": nav_age,
            "checks": [],
            "requested": {"notional": intent.notional, "qty": intent.qty, "leverage": intent.leverage,
                          "price": intent.price},
            "sized": {"notional": None, "qty": None, "leverage": intent.leverage},
            "max_notional_allowed": 0.0, "clamped_by": None, "resized": False, "reducing": False,
            "risk_usdt": None, "risk_estimated": intent.stop_price is None,
            "open_positions": self.book.open_count,
            "max_concurrent_positions": limits.strategies.get(intent.strategy,
                                                              limits.default_strategy).max_concurrent_positions,
            "max_open_positions": (limits.max_open_positions_high_confidence if high else limits.max_open_positions),
            "trading_state": self._trading_state_text, "mode": self._mode_text, "posture": limits.name,
            "config_hash": limits.config_hash, "ts_ms": now,
            "policy": self._policy_detail(self.policy.views_for(intent.symbol)), "sizing": None, "intent": None,
            "pyramid": None,
        }
        return cast(Detail, detail)

    def _size(self, signal: Signal, views: PolicyViews) -> SizedSignal:
        market = self.markets.get(signal.symbol)
        price = signal.price if signal.price is not None else (market.mark_price if market is not None else None)
        atr = signal.atr if signal.atr is not None else self.atr.get(signal.symbol)
        nav = self.account.nav if self.account is not None else None
        mode = signal.execution_mode or self.posture.mode
        return size_signal(signal, limits=self.limits, params=self._sizing_by_mode[mode], views=views, nav=nav,
                           price=price, atr=atr, size_multiplier=self.ladder_size_multiplier,
                           operating_multiplier=self.operating_size_multiplier)

    def would_emit(self, intent: OrderIntent | Signal, *, now_ms: int | float | None = None,
                   commit: bool = False) -> tuple[bool, Detail]:
        """The screener's view: ``(would_emit, detail)``, True = passes. A dry run unless ``commit``."""
        veto, detail = self.check_order(intent, now_ms=now_ms, commit=commit)
        return not veto, detail


def _executable(order: OrderIntent, notional: float | None, allowed: float) -> dict[str, Any] | None:
    """The intent a caller may send for a sized signal: at the decided notional (USDT), never above
    ``allowed`` (max_notional_allowed); None when no size can be executed."""
    if notional is None or allowed <= 0.0:
        return None
    executable = order.to_dict()
    executable["notional"] = notional if notional <= allowed else allowed
    return executable


def _keeping_the_position_stop(order: OrderIntent, book: Book) -> OrderIntent:
    """A signal sized into an add keeps the position's stop when that is tighter than its own: the
    add's stop becomes the whole position's, and a stop only ratchets (pyramid_stop_loosened)."""
    position = book.positions.get((order.strategy, order.symbol))
    stop, held = order.stop_price, None if position is None else position.stop_price
    if position is None or held is None or stop is None or position.is_long != (order.side is _BUY):
        return order
    tighter = held > stop if position.is_long else held < stop
    return dataclasses.replace(order, stop_price=held) if tighter else order


def _placeholder_intent(signal: Signal) -> OrderIntent:
    """An intent standing in for a signal that could not be sized; its size is unknown to the gates."""
    return OrderIntent(intent_id=signal.signal_id, strategy=signal.strategy, symbol=signal.symbol,
                       side=signal.side, notional=1.0, leverage=signal.leverage or 1.0,
                       confidence=signal.confidence, expected_rr=signal.expected_rr, source=signal.source,
                       ts_ms=signal.ts_ms, mode=signal.execution_mode)


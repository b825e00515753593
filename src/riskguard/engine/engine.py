"""RiskEngine: intent -> context -> every gate -> decision (no storage, no network)."""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from riskguard.book.book import DAY_MS, Book
from riskguard.config.limits import Limits, compile_limits
from riskguard.config.schema import Posture
from riskguard.engine.instruments import default_instruments
from riskguard.gates.context import GateContext
from riskguard.gates.registry import GATES
from riskguard.model.decision import Detail, GateCheck
from riskguard.model.enums import TradingState
from riskguard.model.instrument import InstrumentRules
from riskguard.model.intent import OrderIntent
from riskguard.model.position import Position
from riskguard.model.snapshots import AccountSnapshot, MarketSnapshot

log = logging.getLogger("riskguard.decision")

Clock = Callable[[], int]
_QTY_MISMATCH = 0.005  # qty and notional both given must agree within 0.5 %


def wall_clock_ms() -> int:
    """Current UTC time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


class RiskEngine:
    """Pre-trade risk engine for one account.

    Feed it account, market and position updates; ask it ``check_order`` (first element True =
    veto) or ``would_emit`` (first element True = would emit). It keeps an in-memory book that is
    updated incrementally; the ledger (riskguard.ledger) is the durable source of truth that
    reloads it.
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
        self.trading_state = TradingState.ACTIVE
        self.trading_state_reason = "initial"
        self._checks = tuple(g.check for g in GATES)
        self._size_bound = tuple(i for i, g in enumerate(GATES) if g.size_bound)
        self._soft_indices = tuple(i for i, g in enumerate(GATES) if g.name in self.limits.soft_gates)
        self._id_prefix = uuid.uuid4().hex[:12]
        self._sequence = itertools.count(1)

    # -- feeding ---------------------------------------------------------------------------
    @property
    def posture(self) -> Posture:
        """The validated posture behind the compiled limits."""
        return self.limits.posture

    def update_account(self, snapshot: AccountSnapshot) -> bool:
        """Take a NAV snapshot; older snapshots than the current one are ignored (returns False)."""
        if self.account is not None and snapshot.ts_ms < self.account.ts_ms:
            return False
        day = snapshot.ts_ms // DAY_MS
        if day != self.day:
            self.day = day
            self.day_high_nav = snapshot.day_start_nav or snapshot.nav
        elif snapshot.day_start_nav is not None:
            self.day_high_nav = max(self.day_high_nav, snapshot.day_start_nav)
        self.day_high_nav = max(self.day_high_nav, snapshot.nav)
        self.account = snapshot
        return True

    def update_market(self, snapshot: MarketSnapshot) -> bool:
        """Take a mark / top-of-book snapshot; older ones are ignored (returns False)."""
        current = self.markets.get(snapshot.symbol)
        if current is not None and snapshot.ts_ms < current.ts_ms:
            return False
        self.markets[snapshot.symbol] = snapshot
        self.book.mark(snapshot.symbol, snapshot.mark_price)
        return True

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
        self.trading_state = TradingState(state)
        self.trading_state_reason = reason

    @property
    def daily_drawdown(self) -> float | None:
        """Drawdown from the UTC day's NAV high, fraction (None without NAV)."""
        if self.account is None or self.day_high_nav <= 0.0:
            return None
        return max(0.0, (self.day_high_nav - self.account.nav) / self.day_high_nav)

    # -- deciding --------------------------------------------------------------------------
    def _context(self, intent: OrderIntent, now_ms: int, notional_override: float | None) -> GateContext:
        limits, book = self.limits, self.book
        symbol = intent.symbol
        market = self.markets.get(symbol)
        rules = self.instruments.get(symbol)
        price = intent.price if intent.price is not None else (market.mark_price if market else None)
        invalid: str | None = None

        if notional_override is not None:
            notional: float | None = notional_override
            qty = notional_override / price if price else None
        elif intent.notional is not None:
            notional = intent.notional
            qty = notional / price if price else None
            if intent.qty is not None and qty is not None and abs(intent.qty / qty - 1.0) > _QTY_MISMATCH:
                invalid = f"qty {intent.qty} disagrees with notional {notional} at price {price}"
        else:
            qty = intent.qty
            notional = qty * price if (qty is not None and price) else None

        sized_qty = rules.floor_qty(qty) if (rules is not None and qty is not None) else None
        sized_notional = sized_qty * price if (sized_qty is not None and price) else None

        position = book.positions.get((intent.strategy, symbol))
        opposite = position is not None and position.is_long != intent.is_buy
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
            wrong_side = stop >= price if intent.is_buy else stop <= price
            if wrong_side and not reducing:
                invalid = invalid or f"stop {stop} is on the wrong side of price {price} for a {intent.side}"
            risk_fraction = abs(price - stop) / price
        else:
            risk_fraction = None
        target = intent.take_profit_price
        if target is not None and price and not reducing and (target <= price if intent.is_buy else target >= price):
            invalid = invalid or f"take-profit {target} is on the wrong side of price {price} for a {intent.side}"

        account = self.account
        exposure = book.symbols.get(symbol)
        return GateContext(
            intent, limits, book, now_ms, market, rules,
            limits.symbols.get(symbol, limits.default_symbol),
            limits.strategies.get(intent.strategy, limits.default_strategy),
            account.nav if account is not None else None,
            float(now_ms - account.ts_ms) if account is not None else None,
            self.daily_drawdown, self.trading_state,
            price, notional, qty, sized_qty, sized_notional, risk_fraction, risk_estimated,
            exposure.gross if exposure is not None else 0.0,
            reducing, not reducing and position is None, invalid,
        )

    def _run(self, ctx: GateContext) -> tuple[list[GateCheck], list[str], list[str], float, str | None]:
        checks = [check(ctx) for check in self._checks]
        for i in self._soft_indices:
            checks[i]["severity"] = "soft"
        hard: list[str] = []
        soft: list[str] = []
        for c in checks:
            if not c["passed"]:
                (soft if c["severity"] == "soft" else hard).append(c["reason"])
        allowed = float("inf")
        binding: str | None = None
        for i in self._size_bound:
            headroom = checks[i]["headroom_notional"]
            if headroom is None:
                headroom = 0.0
            if headroom < allowed:
                allowed, binding = headroom, GATES[i].name
        return checks, hard, soft, (allowed if allowed > 0.0 else 0.0), binding

    def check_order(self, intent: OrderIntent, *, now_ms: int | None = None,
                    commit: bool = True) -> tuple[bool, Detail]:
        """Decide on ``intent``. Returns ``(veto, detail)``: veto True means blocked.

        With ``commit`` (the default) an approval is recorded: its id for duplicate detection, the
        order-rate window, and for risk-adding intents the cooldown clock and daily trade count.
        """
        now = self.clock() if now_ms is None else now_ms
        ctx = self._context(intent, now, None)
        checks, hard, soft, allowed, binding = self._run(ctx)
        limits = self.limits
        soft_veto = len(soft) > limits.max_soft_failures
        veto = bool(hard) or soft_veto
        resized = False
        requested_ctx = ctx
        if (veto and limits.resize_to_fit and not soft_veto and ctx.notional is not None
                and all(r in _SIZE_BOUND for r in hard) and 0.0 < allowed < ctx.notional):
            shrunk = self._context(intent, now, allowed)
            s_checks, s_hard, s_soft, _, _ = self._run(shrunk)
            if not s_hard and len(s_soft) <= limits.max_soft_failures:
                ctx, checks, hard, soft, resized, veto = shrunk, s_checks, s_hard, s_soft, True, False
        decision_id = f"{self._id_prefix}-{next(self._sequence):08x}"
        if not veto and commit:
            self.book.record_approval(intent.intent_id, decision_id, intent.strategy, now, not ctx.reducing)
        detail = self._detail(intent, requested_ctx, ctx, checks, hard, soft, veto, allowed, binding,
                              resized, decision_id, now)
        if log.isEnabledFor(logging.INFO):
            _log_decision(detail, checks)
        return veto, detail

    def would_emit(self, intent: OrderIntent, *, now_ms: int | None = None,
                   commit: bool = False) -> tuple[bool, Detail]:
        """The screener's view: ``(would_emit, detail)``, True = passes. A dry run unless ``commit``."""
        veto, detail = self.check_order(intent, now_ms=now_ms, commit=commit)
        return not veto, detail

    def _detail(self, intent: OrderIntent, requested: GateContext, ctx: GateContext, checks: list[GateCheck],
                hard: list[str], soft: list[str], veto: bool, allowed: float, binding: str | None,
                resized: bool, decision_id: str, now: int) -> Detail:
        limits = self.limits
        nav_age = ctx.nav_age_ms
        confidence = intent.confidence
        high = confidence is not None and confidence >= limits.high_confidence_threshold
        soft_veto = len(soft) > limits.max_soft_failures
        return {
            "decision_id": decision_id,
            "intent_id": intent.intent_id,
            "strategy": intent.strategy,
            "symbol": intent.symbol,
            "side": intent.side.value if hasattr(intent.side, "value") else intent.side,
            "veto": veto,
            "approved": not veto,
            "reasons": [] if not veto else hard + (soft if soft_veto else []),
            "warnings": soft,
            "nav": ctx.nav,
            "nav_fresh": nav_age is not None and 0.0 <= nav_age <= limits.nav_max_age_ms,
            "nav_age_ms": nav_age,
            "checks": checks,
            "requested": {"notional": requested.notional, "qty": requested.qty, "leverage": intent.leverage,
                          "price": requested.price},
            "sized": {"notional": ctx.sized_notional, "qty": ctx.sized_qty, "leverage": intent.leverage},
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
            "trading_state": self.trading_state.value,
            "posture": limits.name,
            "config_hash": limits.config_hash,
            "ts_ms": now,
            "policy": None,
            "sizing": None,
        }


_SIZE_BOUND = frozenset(g.name for g in GATES if g.size_bound)


def _log_decision(detail: Detail, checks: list[GateCheck]) -> None:
    failing = [c for c in checks if not c["passed"]]
    summary = "; ".join(f"{c['gate']} observed={c['observed']!r} threshold={c['threshold']!r}" for c in failing)
    verdict = "VETO" if detail["veto"] else ("RESIZED" if detail["resized"] else "APPROVED")
    event: dict[str, Any] = {
        "event": "decision", "decision_id": detail["decision_id"], "intent_id": detail["intent_id"],
        "verdict": verdict, "symbol": detail["symbol"], "strategy": detail["strategy"],
        "reasons": detail["reasons"], "warnings": detail["warnings"], "config_hash": detail["config_hash"],
        "failing": [{k: c[k] for k in ("gate", "observed", "threshold", "severity")} for c in failing],
    }
    log.info("%s %s %s %s%s", verdict, detail["symbol"], detail["strategy"], detail["intent_id"],
             f": {summary}" if summary else "", extra={"riskguard": event})

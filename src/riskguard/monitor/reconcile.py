"""Reconciliation of the ledger with the exchange: every drift between what riskguard believes and
what the account holds, and (``apply=True``) the ledger repaired from the exchange's truth.

Compared: net positions per symbol (side, qty within one step, entry), the NAV mark against the
exchange's margin balance, open orders against reservations (client order ids are derived from
reservation ids, ``riskguard.exchange.client_ids``), and each recent reservation's entry order
(``<reservation>.entry``) against what the ledger booked. Drift above the posture's action
tolerance moves the trading state to REDUCING or HALTED (never loosened), with the drift as reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from riskguard.config.exchange_schema import ReconcileSection
from riskguard.exchange.client_ids import client_order_id, key_of_client_order_id, reservation_key
from riskguard.exchange.errors import ExchangeError
from riskguard.exchange.protocol import Exchange
from riskguard.exchange.types import ExchangeAccount, ExchangeOrder, ExchangePosition
from riskguard.ledger.ledger import Ledger
from riskguard.ledger.repair import RepairRecord, record_event, repair_position
from riskguard.ledger.rows import ACTIVE, EXPIRED
from riskguard.model.clock import wall_clock_ms
from riskguard.model.enums import PositionSide, TradingState
from riskguard.model.instrument import InstrumentRules
from riskguard.model.position import Position

ENTRY_LEG = "entry"
"""Leg name of a reservation's entry order: its client order id is ``client_order_id(reservation_id, "entry")``."""
_GONE = ("canceled", "expired", "rejected")
_RELATIVE = 1e-9
_ESCALATION = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


class DriftKind(StrEnum):
    """Every way the ledger and the exchange can disagree."""

    POSITION_UNKNOWN_TO_LEDGER = "position_unknown_to_ledger"
    POSITION_MISSING_ON_EXCHANGE = "position_missing_on_exchange"
    SIDE_MISMATCH = "side_mismatch"
    QTY_MISMATCH = "qty_mismatch"
    ENTRY_MISMATCH = "entry_mismatch"
    FILL_MISSED = "fill_missed"
    FILLED_AFTER_EXPIRY = "filled_after_expiry"
    ORDER_WITHOUT_RESERVATION = "order_without_reservation"
    ORDER_OF_ENDED_RESERVATION = "order_of_ended_reservation"
    RESERVATION_ORDER_GONE = "reservation_order_gone"
    NAV_MISMATCH = "nav_mismatch"


@dataclass(frozen=True, slots=True)
class Drift:
    """One disagreement: what the ledger and the exchange say, and its size in USDT notional."""

    kind: DriftKind
    symbol: str | None
    message: str
    ledger: dict[str, Any] | None = None
    exchange: dict[str, Any] | None = None
    notional_usdt: float = 0.0
    reservation_id: str | None = None
    client_order_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"kind": self.kind.value, "symbol": self.symbol, "message": self.message, "ledger": self.ledger,
                "exchange": self.exchange, "notional_usdt": self.notional_usdt,
                "reservation_id": self.reservation_id, "client_order_id": self.client_order_id}


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """The outcome of one reconciliation (amounts USDT, ``drift_pct_nav`` a fraction of the exchange's NAV)."""

    ts_ms: int
    exchange: str
    exchange_nav: float
    ledger_nav: float | None
    drifts: tuple[Drift, ...]
    repairs: tuple[RepairRecord, ...] = ()
    unrepaired: tuple[Drift, ...] = ()
    trading_state_set: TradingState | None = None
    state_reason: str | None = None
    drift_notional_usdt: float = 0.0
    drift_pct_nav: float = 0.0
    applied: bool = False
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def in_sync(self) -> bool:
        """True when nothing drifted."""
        return not self.drifts

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"ts_ms": self.ts_ms, "exchange": self.exchange, "in_sync": self.in_sync,
                "exchange_nav": self.exchange_nav, "ledger_nav": self.ledger_nav,
                "drift_notional_usdt": self.drift_notional_usdt, "drift_pct_nav": self.drift_pct_nav,
                "drifts": [d.to_dict() for d in self.drifts], "applied": self.applied,
                "repairs": [r.to_dict() for r in self.repairs], "unrepaired": [d.to_dict() for d in self.unrepaired],
                "trading_state_set": None if self.trading_state_set is None else self.trading_state_set.value,
                "state_reason": self.state_reason, "counts": dict(self.counts)}


@dataclass(slots=True)
class _Net:
    """The ledger's net position in one symbol across strategies (signed qty, long > 0)."""

    holders: list[Position] = field(default_factory=list)

    @property
    def signed_qty(self) -> float:
        return sum(p.qty if p.side is PositionSide.LONG else -p.qty for p in self.holders)

    @property
    def entry_price(self) -> float | None:
        sides = {p.side for p in self.holders}
        if len(sides) != 1:
            return None
        qty = sum(p.qty for p in self.holders)
        return sum(p.qty * p.entry_price for p in self.holders) / qty

    def to_dict(self) -> dict[str, Any]:
        return {"qty": self.signed_qty, "entry_price": self.entry_price,
                "strategies": {p.strategy: (p.qty if p.side is PositionSide.LONG else -p.qty) for p in self.holders}}


def _signed(position: ExchangePosition) -> float:
    return position.qty if position.side is PositionSide.LONG else -position.qty


def _exchange_view(position: ExchangePosition | None) -> dict[str, Any] | None:
    if position is None:
        return None
    return {"qty": _signed(position), "entry_price": position.entry_price, "mark_price": position.mark_price}


def _step(instruments: Mapping[str, InstrumentRules], symbol: str) -> float:
    rules = instruments.get(symbol)
    return rules.step_size if rules is not None else 0.0


def _differs(a: float, b: float, step: float) -> bool:
    """True when ``a`` and ``b`` (base units) are at least one step apart (any difference without a step)."""
    if step > 0:
        return abs(a - b) >= step * (1.0 - 1e-6)
    return abs(a - b) > _RELATIVE * max(abs(a), abs(b), 1.0)


def position_drifts(ledger_positions: list[Position], exchange_positions: list[ExchangePosition],
                    instruments: Mapping[str, InstrumentRules], settings: ReconcileSection) -> list[Drift]:
    """Net position per symbol, ledger against exchange: unknown, missing, side, qty (one step), entry."""
    nets: dict[str, _Net] = {}
    for position in ledger_positions:
        nets.setdefault(position.symbol, _Net()).holders.append(position)
    held = {p.symbol: p for p in exchange_positions}
    drifts = []
    for symbol in sorted(set(nets) | set(held)):
        net = nets.get(symbol, _Net())
        on_exchange = held.get(symbol)
        step = _step(instruments, symbol)
        ledger_qty = net.signed_qty
        exchange_qty = 0.0 if on_exchange is None else _signed(on_exchange)
        mark = on_exchange.mark_price if on_exchange is not None else (net.entry_price or 0.0)
        ledger_view, exchange_view = (net.to_dict() if net.holders else None), _exchange_view(on_exchange)
        ledger_flat = not _differs(ledger_qty, 0.0, step)
        exchange_flat = not _differs(exchange_qty, 0.0, step)
        if ledger_flat and exchange_flat:
            continue
        notional = abs(exchange_qty - ledger_qty) * mark
        if ledger_flat:
            drifts.append(Drift(DriftKind.POSITION_UNKNOWN_TO_LEDGER, symbol,
                                f"the exchange holds {exchange_qty:+g} {symbol}; the ledger has no position",
                                ledger=ledger_view, exchange=exchange_view, notional_usdt=notional))
        elif exchange_flat:
            drifts.append(Drift(DriftKind.POSITION_MISSING_ON_EXCHANGE, symbol,
                                f"the ledger holds {ledger_qty:+g} {symbol}; the exchange has no position",
                                ledger=ledger_view, exchange=exchange_view, notional_usdt=notional))
        elif (ledger_qty > 0) != (exchange_qty > 0):
            drifts.append(Drift(DriftKind.SIDE_MISMATCH, symbol,
                                f"ledger {ledger_qty:+g} vs exchange {exchange_qty:+g} {symbol}: opposite sides",
                                ledger=ledger_view, exchange=exchange_view, notional_usdt=notional))
        elif _differs(ledger_qty, exchange_qty, step):
            drifts.append(Drift(DriftKind.QTY_MISMATCH, symbol,
                                f"ledger {ledger_qty:+g} vs exchange {exchange_qty:+g} {symbol} (step {step:g})",
                                ledger=ledger_view, exchange=exchange_view, notional_usdt=notional))
        elif on_exchange is not None and net.entry_price is not None and on_exchange.entry_price > 0 and \
                abs(net.entry_price - on_exchange.entry_price) > settings.entry_tolerance_pct * on_exchange.entry_price:
            drifts.append(Drift(DriftKind.ENTRY_MISMATCH, symbol,
                                f"entry {net.entry_price:g} in the ledger vs {on_exchange.entry_price:g} on the "
                                "exchange", ledger=ledger_view, exchange=exchange_view))
    return drifts


def _order_view(order: ExchangeOrder) -> dict[str, Any]:
    return {"order_id": order.order_id, "type": order.type, "side": order.side.value, "qty": order.qty,
            "filled_qty": order.filled_qty, "price": order.price, "avg_price": order.avg_price,
            "stop_price": order.stop_price, "status": order.status, "reduce_only": order.reduce_only,
            "close_position": order.close_position}


def _order_notional(order: ExchangeOrder, marks: Mapping[str, float]) -> float:
    if order.reduce_only or order.close_position or order.qty is None:
        return 0.0  # an exit order cannot add risk
    price = order.price or order.stop_price or marks.get(order.symbol, 0.0)
    return max(order.qty - order.filled_qty, 0.0) * price


def _reservation_view(row: Any) -> dict[str, Any]:
    return {"status": row.status, "side": row.side, "qty": row.qty, "filled_qty": row.filled_qty, "price": row.price,
            "strategy": row.strategy, "created_ms": int(row.created_ms)}


def order_drifts(ledger: Ledger, exchange: Exchange, open_orders: list[ExchangeOrder],
                 instruments: Mapping[str, InstrumentRules], marks: Mapping[str, float],
                 settings: ReconcileSection, now_ms: int) -> list[Drift]:
    """Open orders against reservations, and each recent reservation's entry order against its fills."""
    rows = ledger.reservations(status=None)
    by_key = {reservation_key(r.reservation_id): r for r in rows}
    drifts = []
    for order in open_orders:
        key = key_of_client_order_id(order.client_order_id)
        row = by_key.get(key) if key is not None else None
        if row is None:
            drifts.append(Drift(DriftKind.ORDER_WITHOUT_RESERVATION, order.symbol,
                                f"open {order.type} {order.side.value} order {order.order_id} "
                                f"({order.client_order_id}) maps to no reservation",
                                exchange=_order_view(order), notional_usdt=_order_notional(order, marks),
                                client_order_id=order.client_order_id))
        elif row.status not in (ACTIVE, "FILLED") and not (order.reduce_only or order.close_position):
            drifts.append(Drift(DriftKind.ORDER_OF_ENDED_RESERVATION, order.symbol,
                                f"order {order.client_order_id} is still open but reservation {row.reservation_id} is "
                                f"{row.status}: its budget was returned while the order can fill",
                                ledger=_reservation_view(row), exchange=_order_view(order),
                                notional_usdt=_order_notional(order, marks), reservation_id=row.reservation_id,
                                client_order_id=order.client_order_id))
    lookback_ms = settings.expired_lookback_s * 1000.0
    for row in rows:
        recent_expiry = row.status == EXPIRED and row.ended_ms is not None and now_ms - row.ended_ms <= lookback_ms
        if row.status != ACTIVE and not recent_expiry:
            continue
        cid = client_order_id(row.reservation_id, ENTRY_LEG)
        entry_order = exchange.order_by_client_id(row.symbol, cid)
        step = _step(instruments, row.symbol)
        filled_more = entry_order is not None and entry_order.filled_qty > row.filled_qty and \
            _differs(entry_order.filled_qty, row.filled_qty, step)
        if entry_order is not None and filled_more:
            missed = entry_order.filled_qty - row.filled_qty
            kind = DriftKind.FILL_MISSED if row.status == ACTIVE else DriftKind.FILLED_AFTER_EXPIRY
            drifts.append(Drift(kind, row.symbol,
                                f"entry order {cid} filled {entry_order.filled_qty:g} on the exchange; the ledger "
                                f"booked "
                                f"{row.filled_qty:g} of reservation {row.reservation_id} ({row.status})",
                                ledger=_reservation_view(row), exchange=_order_view(entry_order),
                                notional_usdt=missed * (entry_order.avg_price or row.price),
                                reservation_id=row.reservation_id, client_order_id=cid))
        elif row.status == ACTIVE:
            gone = entry_order is None and now_ms - row.created_ms > settings.order_grace_s * 1000.0
            if gone or (entry_order is not None and entry_order.status in _GONE):
                how = "is not on the exchange" if entry_order is None else f"is {entry_order.status} on the exchange"
                drifts.append(Drift(DriftKind.RESERVATION_ORDER_GONE, row.symbol,
                                    f"reservation {row.reservation_id} is active but its entry order {cid} {how}",
                                    ledger=_reservation_view(row),
                                    exchange=None if entry_order is None else _order_view(entry_order),
                                    reservation_id=row.reservation_id, client_order_id=cid))
    return drifts


def nav_drift(ledger_nav: float | None, account: ExchangeAccount, settings: ReconcileSection) -> Drift | None:
    """The ledger's NAV mark against the exchange's margin balance (None when within tolerance)."""
    if ledger_nav is not None and abs(ledger_nav - account.nav) <= settings.nav_tolerance_pct * abs(account.nav):
        return None
    shown = "no NAV mark" if ledger_nav is None else f"NAV {ledger_nav:.2f}"
    return Drift(DriftKind.NAV_MISMATCH, None, f"the ledger has {shown}; the exchange's margin balance is "
                                               f"{account.nav:.2f} USDT",
                 ledger={"nav": ledger_nav}, exchange={"nav": account.nav, "wallet": account.wallet_balance,
                                                       "unrealized_pnl": account.unrealized_pnl})


def reconcile(ledger: Ledger, exchange: Exchange, settings: ReconcileSection | None = None, *, apply: bool = False,
              actor: str = "reconcile", instruments: Mapping[str, InstrumentRules] | None = None,
              now_ms: int | None = None) -> ReconcileReport:
    """Compare ``ledger`` with ``exchange``; with ``apply`` repair the ledger from the exchange (each
    repair an event with ``actor``, before and after). Drift above the posture's action tolerance sets
    the trading state (escalate only). ``instruments`` (for step sizes) defaults to the exchange's."""
    settings = settings or ReconcileSection()
    now = wall_clock_ms() if now_ms is None else now_ms
    rules = dict(instruments) if instruments is not None else exchange.instruments()
    account = exchange.account()
    held = exchange.positions()
    open_orders = exchange.open_orders()
    marks = {p.symbol: p.mark_price for p in held}
    ledger_account = ledger.account()
    drifts = position_drifts(ledger.positions(), held, rules, settings)
    drifts += order_drifts(ledger, exchange, open_orders, rules, marks, settings, now)
    nav = nav_drift(ledger_account.nav, account, settings)
    if nav is not None:
        drifts.append(nav)
    notional = sum(d.notional_usdt for d in drifts)
    pct = notional / account.nav if account.nav > 0 else (math.inf if notional > 0 else 0.0)
    repairs: list[RepairRecord] = []
    unrepaired: list[Drift] = []
    if apply and drifts:
        repairs, unrepaired = _apply(ledger, exchange, drifts, account, rules, settings, actor, now)
    state, reason = _escalate(ledger, drifts, pct, account, ledger_account.nav, settings, actor, now)
    counts: dict[str, int] = {}
    for drift in drifts:
        counts[drift.kind.value] = counts.get(drift.kind.value, 0) + 1
    return ReconcileReport(ts_ms=now, exchange=exchange.name, exchange_nav=account.nav, ledger_nav=ledger_account.nav,
                           drifts=tuple(drifts), repairs=tuple(repairs), unrepaired=tuple(unrepaired),
                           trading_state_set=state, state_reason=reason, drift_notional_usdt=notional,
                           drift_pct_nav=pct, applied=apply, counts=counts)


def _escalate(ledger: Ledger, drifts: list[Drift], pct: float, account: ExchangeAccount, ledger_nav: float | None,
              settings: ReconcileSection, actor: str, now: int) -> tuple[TradingState | None, str | None]:
    nav_off = ledger_nav is None or abs(ledger_nav - account.nav) > settings.action_nav_drift_pct * abs(account.nav)
    nav_drifted = any(d.kind is DriftKind.NAV_MISMATCH for d in drifts) and nav_off
    if not (pct > settings.action_drift_pct_nav or nav_drifted):
        return None, None
    target = TradingState(settings.drift_action)
    current = ledger.account().trading_state
    kinds = ", ".join(sorted({f"{d.kind.value}" + (f" {d.symbol}" if d.symbol else "") for d in drifts}))
    reason = (f"reconcile: {len(drifts)} drift(s) ({kinds}); drift notional {pct:.2%} of NAV "
              f"(action above {settings.action_drift_pct_nav:.2%})"
              + ("; NAV off by more than " + f"{settings.action_nav_drift_pct:.2%}" if nav_drifted else ""))
    if _ESCALATION[current] >= _ESCALATION[target]:
        return None, reason
    ledger.set_trading_state(target, reason, actor=actor, now_ms=now)
    return target, reason


def _apply(ledger: Ledger, exchange: Exchange, drifts: list[Drift], account: ExchangeAccount,
           rules: Mapping[str, InstrumentRules], settings: ReconcileSection, actor: str,
           now: int) -> tuple[list[RepairRecord], list[Drift]]:
    """Repair in an order that keeps each step exact: missed fills (known price) first, then dead
    reservations, then whatever position drift is left, then the NAV mark."""
    repairs: list[RepairRecord] = []
    unrepaired: list[Drift] = []
    for drift in drifts:
        if drift.kind in (DriftKind.FILL_MISSED, DriftKind.FILLED_AFTER_EXPIRY) and drift.reservation_id:
            assert drift.exchange is not None and drift.ledger is not None
            qty = drift.exchange["filled_qty"] - drift.ledger["filled_qty"]
            price = drift.exchange["avg_price"] or drift.ledger["price"]
            result = ledger.fill(drift.reservation_id, qty, price, now_ms=now)
            record = RepairRecord("fill", drift.ledger["strategy"], drift.symbol, drift.ledger,
                                  {"filled_qty": drift.exchange["filled_qty"], "status": result.reservation_status,
                                   "position_qty": result.position_qty, "price": price}, drift.message)
            record_event(ledger, record, actor=actor, now_ms=now)
            repairs.append(record)
        elif drift.kind is DriftKind.RESERVATION_ORDER_GONE and drift.reservation_id:
            released = ledger.release(drift.reservation_id, now_ms=now)
            record = RepairRecord("release", None if drift.ledger is None else drift.ledger["strategy"], drift.symbol,
                                  drift.ledger, {"status": "RELEASED" if released else "unchanged"}, drift.message)
            record_event(ledger, record, actor=actor, now_ms=now)
            repairs.append(record)
        elif drift.kind in (DriftKind.ORDER_WITHOUT_RESERVATION, DriftKind.ORDER_OF_ENDED_RESERVATION):
            unrepaired.append(drift)  # the ledger cannot fix an exchange order: cancel it or attribute it
    held = exchange.positions()
    for drift in position_drifts(ledger.positions(), held, rules, settings):
        repairs.append(_repair_position(ledger, exchange, drift, {p.symbol: p for p in held}, settings, actor, now))
    if any(d.kind is DriftKind.NAV_MISMATCH for d in drifts):
        before = ledger.account()
        ledger.mark_nav(account.snapshot(), actor=actor, source="reconcile")
        record = RepairRecord("nav", None, None, {"nav": before.nav, "ts_ms": before.nav_ts_ms},
                              {"nav": account.nav, "ts_ms": account.ts_ms}, "NAV marked from the exchange")
        record_event(ledger, record, actor=actor, now_ms=now)
        repairs.append(record)
    return repairs, unrepaired


def _repair_position(ledger: Ledger, exchange: Exchange, drift: Drift, held: Mapping[str, ExchangePosition],
                     settings: ReconcileSection, actor: str, now: int) -> RepairRecord:
    """Book the difference on the one strategy holding the symbol, else on the unattributed strategy.
    Added quantity is priced so the entry matches the exchange's; removed quantity at the mark."""
    assert drift.symbol is not None
    symbol = drift.symbol
    holders = [p for p in ledger.positions() if p.symbol == symbol]
    strategy = holders[0].strategy if len(holders) == 1 else settings.unattributed_strategy
    mine = next((p for p in holders if p.strategy == strategy), None)
    mine_qty = 0.0 if mine is None else (mine.qty if mine.side is PositionSide.LONG else -mine.qty)
    others = sum(p.qty if p.side is PositionSide.LONG else -p.qty for p in holders if p.strategy != strategy)
    on_exchange = held.get(symbol)
    exchange_qty = 0.0 if on_exchange is None else _signed(on_exchange)
    target = exchange_qty - others
    reason = drift.message
    if on_exchange is not None:
        mark = on_exchange.mark_price
    else:
        try:
            mark = exchange.mark_price(symbol).mark_price
        except ExchangeError as exc:  # no mark: close at the ledger's own entry, realising nothing
            mark = mine.entry_price if mine is not None else holders[0].entry_price
            reason += f"; no mark price ({exc}), closed at the ledger's entry"
    price = mark
    sole = len(holders) <= 1
    if on_exchange is not None and abs(target) > abs(mine_qty) and (mine_qty == 0 or (target > 0) == (mine_qty > 0)):
        added = abs(target) - abs(mine_qty)
        implied = (abs(target) * on_exchange.entry_price - abs(mine_qty) * (mine.entry_price if mine else 0.0)) / added
        price = implied if implied > 0 and math.isfinite(implied) else on_exchange.entry_price
    entry = on_exchange.entry_price if on_exchange is not None and sole else None
    leverage = on_exchange.leverage if on_exchange is not None and on_exchange.leverage > 0 else 1.0
    return repair_position(ledger, strategy=strategy, symbol=symbol, target_qty=target, price=price,
                           entry_price=entry, leverage=leverage, actor=actor, reason=reason, now_ms=now)

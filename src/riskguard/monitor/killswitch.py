"""The kill switch: halt every process through the ledger, cancel every pending order, close every
position with a reduce-only market order, and report what was done and what it cost.

Durable and resumable. The activation is stored first (the account goes HALTED with safe mode on
in the same transaction), so every process vetoes new risk on its next decision while exits still
pass. Each cancel and close is a step in the ledger; a close is written ``sent`` with its client
order id *before* the order goes out, so a run killed at any point is completed by the next
``activate`` (or a restart) without a second close: it looks the order up by client order id and
asks the exchange what is still open before sending anything. Failed steps are retried with
backoff, reported, and left ``failed`` (never marked done) for the next run.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from typing import Any

from riskguard.config.monitor_schema import KillSwitchSection
from riskguard.exchange.client_ids import client_order_id
from riskguard.exchange.errors import ExchangeError
from riskguard.exchange.protocol import Exchange
from riskguard.exchange.types import ExchangeOrder, ExchangePosition, OrderRequest, OrderType
from riskguard.ledger.controls import (
    DONE,
    INCOMPLETE,
    NO_EXCHANGE,
    STEP_DONE,
    STEP_FAILED,
    STEP_SENT,
    ControlStore,
    KillStep,
    KillSwitchRecord,
)
from riskguard.ledger.errors import LedgerError, LedgerNotFound, LedgerUnavailable
from riskguard.ledger.ledger import Ledger
from riskguard.model.enums import PositionSide, Side, TradingState
from riskguard.monitor.alerts import Alert, Alerter, AlertSeverity

log = logging.getLogger("riskguard.monitor")

UNRECORDED = "unrecorded"
"""Status of a run made while the ledger was down (the exchange flattened, nothing recorded)."""
NOTHING_DONE_WITHOUT_EXCHANGE = ("no exchange configured: every process is HALTED through the ledger, but "
                                 "nothing could be cancelled or closed")


class KillTrigger(StrEnum):
    """Why the kill switch was pulled."""

    MANUAL = "manual"
    DRAWDOWN = "drawdown"
    EXCHANGE_UNREACHABLE = "exchange_unreachable"
    MARKET_DATA_STALE = "market_data_stale"
    RECONCILIATION_DRIFT = "reconciliation_drift"
    LEDGER_ERRORS = "ledger_errors"
    REGULATORY = "regulatory"

    @property
    def category(self) -> str:
        """manual, drawdown, technical or regulatory (REQUIREMENTS section E)."""
        if self in (KillTrigger.MANUAL, KillTrigger.DRAWDOWN, KillTrigger.REGULATORY):
            return self.value
        return "technical"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Tries per step and the backoff between them (seconds, doubling up to ``max_delay_s``)."""

    max_attempts: int
    delay_s: float
    max_delay_s: float

    @classmethod
    def from_section(cls, section: KillSwitchSection) -> RetryPolicy:
        """The posture's ``monitor.kill_switch`` retry settings."""
        return cls(section.max_attempts, section.backoff_s, section.backoff_max_s)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        return float(min(self.max_delay_s, self.delay_s * 2 ** (attempt - 1)))


@dataclass(slots=True)
class KillSwitchReport:
    """What an activation did, over all its runs: orders cancelled, positions closed (qty, exit
    price, realised PnL and estimated fee in USDT), what failed, and the estimated loss in USDT
    (entries vs exit prices, or marks for what is still open, fees included; > 0 is a loss)."""

    activation_id: str
    trigger: str
    category: str
    reason: str
    actor: str
    ts_ms: int
    status: str
    created: bool
    exchange: str | None
    cancelled: list[dict[str, Any]] = field(default_factory=list)
    closed: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    still_open: list[dict[str, Any]] = field(default_factory=list)
    estimated_loss_usdt: float = 0.0
    fees_usdt: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {f: getattr(self, f) for f in self.__slots__}


def _position_loss(side: PositionSide, qty: float, entry: float, exit_price: float, fee_rate: float) -> float:
    """Loss (USDT, > 0 a loss) of closing ``qty`` at ``exit_price``, fee included."""
    sign = 1.0 if side is PositionSide.LONG else -1.0
    return -sign * (exit_price - entry) * qty + qty * exit_price * fee_rate


class KillSwitch:
    """The kill switch of one account. ``exchange`` None: halts through the ledger only.

    ``clock`` returns epoch ms; ``sleep`` waits seconds between retries (tests pass a no-op).
    """

    def __init__(self, ledger: Ledger, exchange: Exchange | None, section: KillSwitchSection, *,
                 actor: str, alerter: Alerter | None = None, clock: Callable[[], int] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.ledger = ledger
        self.store = ControlStore(ledger)
        self.exchange = exchange
        self.section = section
        self.retry = RetryPolicy.from_section(section)
        self.actor = actor
        self.alerter = alerter
        self.clock = clock or (lambda: time.time_ns() // 1_000_000)
        self.sleep = sleep

    # -- activation ------------------------------------------------------------------------
    def activate(self, trigger: KillTrigger | str, reason: str) -> KillSwitchReport:
        """Pull the kill switch (or complete an activation already under way): HALTED + safe mode in
        the ledger at once, then cancel every open order and close every position. Idempotent: a
        second call closes nothing twice, it retries what failed and reports the whole activation."""
        kind = KillTrigger(trigger)
        now = self.clock()
        activation_id = f"ks{now}{uuid.uuid4().hex[:4]}"
        try:
            record, created = self.store.engage(activation_id, kind.value, reason, actor=self.actor, now_ms=now)
        except LedgerUnavailable as exc:
            return self._unrecorded(activation_id, kind, reason, now, exc)
        log.critical("kill switch %s (%s): %s", "activated" if created else "resumed", record.trigger, record.reason,
                     extra={"riskguard": {"event": "kill_switch", "activation_id": record.activation_id}})
        if self.alerter is not None and created:
            self.alerter.raise_once(Alert(f"kill_switch:{record.activation_id}", AlertSeverity.CRITICAL,
                                          f"kill switch ({record.trigger}): {record.reason}", ts_ms=now), now_ms=now)
        report = KillSwitchReport(record.activation_id, record.trigger, KillTrigger(record.trigger).category,
                                  record.reason, record.actor, record.ts_ms, INCOMPLETE, created,
                                  None if self.exchange is None else self.exchange.name)
        if self.exchange is None:
            report.status = NO_EXCHANGE
            report.notes.append(NOTHING_DONE_WITHOUT_EXCHANGE)
            left = self.ledger.positions()
            if left:
                report.notes.append(f"{len(left)} ledger position(s) remain open: "
                                    + ", ".join(f"{p.strategy} {p.symbol}" for p in left))
        else:
            self._run(self.exchange, record, report)
            report.status = DONE if not report.failed else INCOMPLETE
        self.store.finish_run(record.activation_id, report.status, _outcome(report), actor=self.actor,
                              now_ms=self.clock())
        if report.failed and self.alerter is not None:
            failed = ", ".join(str(f["step"]) for f in report.failed)
            self.alerter.send(Alert(f"kill_switch_incomplete:{record.activation_id}", AlertSeverity.CRITICAL,
                                    f"kill switch incomplete, failed: {failed}; run `riskguard killswitch "
                                    "activate` again to retry", ts_ms=self.clock()))
        return report

    def _run(self, exchange: Exchange, record: KillSwitchRecord, report: KillSwitchReport) -> None:
        steps = self.store.steps(record.activation_id)
        try:
            orders = exchange.open_orders()
            positions = exchange.positions()
        except ExchangeError as exc:
            report.failed.append({"step": "read_exchange", "error": str(exc)})
            report.notes.append("the exchange could not be read: nothing was cancelled or closed this run")
            self._previous(steps, report)
            return
        for symbol in sorted({o.symbol for o in orders}):
            self._cancel(exchange, record, symbol, report)
        held = {p.symbol for p in positions}
        for position in positions:
            self._close(exchange, record, position, steps.get(f"close:{position.symbol}"), report)
        for name, step in steps.items():  # closed in an earlier run: report it, send nothing
            if name.startswith("close:") and name.removeprefix("close:") not in held:
                self._settle_earlier(exchange, record, step, report)
        unheld = sorted({p.symbol for p in self.ledger.positions()} - held)
        if unheld:
            report.notes.append(f"ledger position(s) in {', '.join(unheld)} with no position on the exchange: "
                                "left open in the ledger for `riskguard reconcile --apply`")

    def _unrecorded(self, activation_id: str, kind: KillTrigger, reason: str, now: int,
                    problem: LedgerUnavailable) -> KillSwitchReport:
        """The ledger is down: nothing can be halted or recorded there (every reserve is vetoed
        ``ledger_unavailable`` meanwhile), but the exchange is still flattened. Repeating it closes
        nothing twice: what is closed is gone from the exchange."""
        log.critical("kill switch (%s) with the ledger down: %s", kind.value, problem)
        report = KillSwitchReport(activation_id, kind.value, kind.category, reason, self.actor, now, UNRECORDED, True,
                                  None if self.exchange is None else self.exchange.name)
        report.notes.append(f"ledger unavailable ({problem}): the halt and this run are not recorded; bots are "
                            "vetoed (ledger_unavailable) until it is back; then run `riskguard killswitch activate` "
                            "and `riskguard reconcile --apply`")
        exchange = self.exchange
        if exchange is None:
            report.notes.append(NOTHING_DONE_WITHOUT_EXCHANGE.replace("every process is HALTED through the ledger",
                                                                      "nothing was halted"))
            return report
        try:
            for symbol in sorted({o.symbol for o in exchange.open_orders()}):
                report.cancelled.append(self._retrying(partial(_cancelled, exchange, symbol), f"cancel:{symbol}",
                                                       report))
            for position in exchange.positions():
                side = Side.SELL if position.side is PositionSide.LONG else Side.BUY
                request = OrderRequest(symbol=position.symbol, type=OrderType.MARKET, side=side, qty=position.qty,
                                       client_order_id=_close_client_id(activation_id, position.symbol, 1),
                                       reduce_only=True)
                order = self._retrying(partial(_placed, exchange, request), f"close:{position.symbol}", report)
                if order:
                    price = float(order["avg_price"] or position.mark_price)
                    loss = _position_loss(position.side, position.qty, position.entry_price, price,
                                          self.section.taker_fee)
                    report.closed.append({"symbol": position.symbol, "qty": order["filled_qty"], "exit_price": price,
                                          "estimated_loss_usdt": loss, "booked_in_ledger": False})
                    report.estimated_loss_usdt += loss
        except ExchangeError as exc:
            report.failed.append({"step": "read_exchange", "error": str(exc)})
        report.cancelled = [c for c in report.cancelled if c]
        return report

    def _retrying(self, call: Callable[[], dict[str, Any]], step: str, report: KillSwitchReport) -> dict[str, Any]:
        """``call`` with the posture's retries; {} and a ``failed`` entry when every try failed."""
        error = ""
        for attempt in range(1, self.retry.max_attempts + 1):
            try:
                return call()
            except ExchangeError as exc:
                error = str(exc)
                if attempt < self.retry.max_attempts:
                    self.sleep(self.retry.delay(attempt))
        report.failed.append({"step": step, "error": error, "attempts": self.retry.max_attempts})
        return {}

    def _previous(self, steps: dict[str, KillStep], report: KillSwitchReport) -> None:
        for step in steps.values():
            if step.status == STEP_DONE and step.step.startswith("close:"):
                report.closed.append(step.result)

    # -- cancel ----------------------------------------------------------------------------
    def _cancel(self, exchange: Exchange, record: KillSwitchRecord, symbol: str, report: KillSwitchReport) -> None:
        name = f"cancel:{symbol}"
        last_error = ""
        for attempt in range(1, self.retry.max_attempts + 1):
            self.store.mark_step(record.activation_id, name, STEP_SENT, now_ms=self.clock(), attempt=True)
            try:
                result = exchange.cancel_all(symbol)
            except ExchangeError as exc:
                last_error = str(exc)
                log.error("kill switch: cancel %s failed (try %d): %s", symbol, attempt, exc)
                self.store.mark_step(record.activation_id, name, STEP_FAILED, now_ms=self.clock(), error=last_error)
                if attempt < self.retry.max_attempts:
                    self.sleep(self.retry.delay(attempt))
                continue
            entry = result.to_dict()
            self.store.mark_step(record.activation_id, name, STEP_DONE, now_ms=self.clock(), result=entry)
            report.cancelled.append(entry)
            return
        report.failed.append({"step": name, "symbol": symbol, "error": last_error,
                              "attempts": self.retry.max_attempts})

    # -- close -----------------------------------------------------------------------------
    def _close(self, exchange: Exchange, record: KillSwitchRecord, position: ExchangePosition,
               step: KillStep | None, report: KillSwitchReport) -> None:
        name = f"close:{position.symbol}"
        tries_before = 0 if step is None else step.attempts
        # A close sent by an earlier run (killed before it recorded the fill) is found, not resent.
        sent = self._sent_order(exchange, record, position.symbol, tries_before)
        if sent is not None and sent.filled_qty > 0.0 and sent.filled_qty >= position.qty * (1 - 1e-9):
            self._closed(record, name, position, sent, report)
            return
        last_error = ""
        for attempt in range(tries_before + 1, tries_before + self.retry.max_attempts + 1):
            cid = _close_client_id(record.activation_id, position.symbol, attempt)
            self.store.mark_step(record.activation_id, name, STEP_SENT, now_ms=self.clock(), client_order_id=cid,
                                 attempt=True)
            side = Side.SELL if position.side is PositionSide.LONG else Side.BUY
            try:
                order = exchange.place_order(OrderRequest(symbol=position.symbol, type=OrderType.MARKET, side=side,
                                                          qty=position.qty, client_order_id=cid, reduce_only=True))
            except ExchangeError as exc:
                last_error = str(exc)
                log.error("kill switch: close %s failed (try %d): %s", position.symbol, attempt, exc)
                self.store.mark_step(record.activation_id, name, STEP_FAILED, now_ms=self.clock(),
                                     client_order_id=cid, error=last_error)
                if attempt < tries_before + self.retry.max_attempts:
                    self.sleep(self.retry.delay(attempt - tries_before))
                continue
            self._closed(record, name, position, order, report)
            return
        loss = _position_loss(position.side, position.qty, position.entry_price, position.mark_price,
                              self.section.taker_fee)
        report.failed.append({"step": name, "symbol": position.symbol, "error": last_error,
                              "attempts": self.retry.max_attempts})
        report.still_open.append({"symbol": position.symbol, "side": position.side.value, "qty": position.qty,
                                  "entry_price": position.entry_price, "mark_price": position.mark_price,
                                  "estimated_loss_usdt": loss})
        report.estimated_loss_usdt += loss

    def _sent_order(self, exchange: Exchange, record: KillSwitchRecord, symbol: str,
                    tries: int) -> ExchangeOrder | None:
        """The filled close of an earlier try of this activation, if the exchange has one."""
        for attempt in range(tries, 0, -1):
            order = exchange.order_by_client_id(symbol, _close_client_id(record.activation_id, symbol, attempt))
            if order is not None and order.filled_qty > 0.0:
                return order
        return None

    def _settle_earlier(self, exchange: Exchange, record: KillSwitchRecord, step: KillStep,
                        report: KillSwitchReport) -> None:
        """A close step whose symbol the exchange no longer holds: done earlier, or sent and filled
        by a run that died before recording it (then its fill is booked now)."""
        if step.status == STEP_DONE:
            report.closed.append(step.result)
            return
        symbol = step.step.removeprefix("close:")
        order = self._sent_order(exchange, record, symbol, step.attempts)
        if order is None:
            report.notes.append(f"{symbol}: no open position on the exchange and no close of this activation "
                                "found; closed elsewhere")
            self.store.mark_step(record.activation_id, step.step, STEP_DONE, now_ms=self.clock(),
                                 result={"symbol": symbol, "closed_elsewhere": True})
            return
        entry = self._book(symbol, order)
        self.store.mark_step(record.activation_id, step.step, STEP_DONE, now_ms=self.clock(), result=entry)
        report.closed.append(entry)
        report.estimated_loss_usdt += float(entry["estimated_loss_usdt"])
        report.fees_usdt += float(entry["fee_usdt"])

    def _closed(self, record: KillSwitchRecord, name: str, position: ExchangePosition, order: ExchangeOrder,
                report: KillSwitchReport) -> None:
        entry = self._book(position.symbol, order, position)
        self.store.mark_step(record.activation_id, name, STEP_DONE, now_ms=self.clock(),
                             client_order_id=order.client_order_id, result=entry)
        report.closed.append(entry)
        report.estimated_loss_usdt += float(entry["estimated_loss_usdt"])
        report.fees_usdt += float(entry["fee_usdt"])

    def _book(self, symbol: str, order: ExchangeOrder, position: ExchangePosition | None = None) -> dict[str, Any]:
        """Book a filled close in the ledger (every strategy's position in ``symbol``, pro rata) and
        describe it. Idempotent: positions already closed in the ledger are not closed again."""
        price = order.avg_price or order.price or (position.mark_price if position else 0.0)
        qty = order.filled_qty
        fee = qty * price * self.section.taker_fee
        side = PositionSide.SHORT if order.side is Side.BUY else PositionSide.LONG
        entry_price = position.entry_price if position is not None else None
        ledger_positions = [p for p in self.ledger.positions() if p.symbol == symbol]
        total = sum(p.qty for p in ledger_positions)
        realized = 0.0
        booked = []
        for p in ledger_positions:
            share = p.qty / total if total > 0 else 0.0
            try:
                result = self.ledger.close(p.strategy, symbol, price, fee=fee * share, now_ms=self.clock())
            except LedgerNotFound:
                continue  # closed meanwhile by its own strategy
            except LedgerError as exc:
                log.error("kill switch: booking the close of %s %s in the ledger failed: %s", p.strategy, symbol, exc)
                continue
            realized += result.realized_pnl
            booked.append(p.strategy)
            if entry_price is None:
                entry_price = p.entry_price
        if entry_price is None:
            entry_price = price
        loss = _position_loss(side, qty, entry_price, price, self.section.taker_fee)
        return {"symbol": symbol, "side": side.value, "qty": qty, "exit_price": price, "entry_price": entry_price,
                "order_id": order.order_id, "client_order_id": order.client_order_id, "fee_usdt": fee,
                "estimated_loss_usdt": loss, "ledger_strategies_closed": booked, "ledger_realized_pnl": realized}

    # -- status and release ----------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """``active``, trigger, reason, actor, time and what was done (the latest activation)."""
        record = self.store.latest()
        controls = self.store.controls()
        if record is None:
            try:
                state: str | None = self.ledger.account().trading_state.value
            except LedgerNotFound:  # no bot has used this ledger yet
                state = None
            return {"active": False, "activation_id": None, "trading_state": state, "safe_mode": controls.safe_mode}
        account = self.ledger.account()
        return {"active": record.active, "activation_id": record.activation_id, "status": record.status,
                "trigger": record.trigger, "category": KillTrigger(record.trigger).category, "reason": record.reason,
                "actor": record.actor, "ts_ms": record.ts_ms, "runs": record.runs, "outcome": record.outcome,
                "released_ms": record.released_ms, "released_by": record.released_by,
                "release_reason": record.release_reason, "trading_state": account.trading_state.value,
                "safe_mode": controls.safe_mode,
                "steps": {name: {"status": s.status, "attempts": s.attempts, "error": s.error}
                          for name, s in self.store.steps(record.activation_id).items()}}

    def release(self, reason: str) -> KillSwitchRecord:
        """Lift the active kill switch: safe mode off and the account REDUCING (exits only) until
        ``riskguard recover`` reactivates it step by step. LedgerError when none is active."""
        return self.store.release(actor=self.actor, reason=reason, state=TradingState.REDUCING, now_ms=self.clock())

    def enforce(self) -> bool:
        """While a kill switch is active, keep the account HALTED (someone may have set it by hand);
        True when it had to put it back."""
        record = self.store.active()
        return record is not None and self.store.reassert_halt(record, actor=self.actor, now_ms=self.clock())


def _close_client_id(activation_id: str, symbol: str, attempt: int) -> str:
    """The client order id of try ``attempt`` to close ``symbol`` for an activation (deterministic,
    so an interrupted run's order is found by the next)."""
    return client_order_id(f"{activation_id}-{symbol}", "close" if attempt == 1 else f"c{attempt}")


def _cancelled(exchange: Exchange, symbol: str) -> dict[str, Any]:
    return exchange.cancel_all(symbol).to_dict()


def _placed(exchange: Exchange, request: OrderRequest) -> dict[str, Any]:
    return exchange.place_order(request).to_dict()


def _outcome(report: KillSwitchReport) -> dict[str, Any]:
    return {"cancelled": report.cancelled, "closed": report.closed, "failed": report.failed,
            "still_open": report.still_open, "estimated_loss_usdt": report.estimated_loss_usdt,
            "fees_usdt": report.fees_usdt, "notes": report.notes, "exchange": report.exchange}

"""The kill switch, safe mode, size multiplier and open alerts of an account, durable in the ledger.

Each write is one transaction that locks the account row, exactly like the book's writes, so an
activation racing another process's reserve is serialised with it: a reserve that starts after
the activation committed reads HALTED and vetoes new risk; reducing orders still pass.

Storage only: what the kill switch *does* (cancel, close, retry) is ``riskguard.monitor.killswitch``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from riskguard.ledger import control_tables as c
from riskguard.ledger import tables as t
from riskguard.ledger.errors import LedgerError
from riskguard.ledger.ledger import Ledger
from riskguard.model.codec import encode as dumps
from riskguard.model.enums import Mode, TradingState
from riskguard.model.errors import InputValidationError

IN_PROGRESS, DONE, INCOMPLETE, NO_EXCHANGE = "in_progress", "done", "incomplete", "no_exchange"
STEP_SENT, STEP_DONE, STEP_FAILED = "sent", "done", "failed"
KILL_SWITCH_REASON = "kill switch"
"""Prefix of the trading-state reason the kill switch writes."""


@dataclass(frozen=True, slots=True)
class KillSwitchRecord:
    """One activation as stored. ``outcome`` is what the last run did (cancelled, closed, failed,
    estimated loss in USDT); ``runs`` counts activation runs (1 + resumptions)."""

    activation_id: str
    account_id: str
    active: bool
    status: str
    trigger: str
    reason: str
    actor: str
    ts_ms: int
    runs: int
    outcome: dict[str, Any]
    updated_ms: int
    released_ms: int | None
    released_by: str | None
    release_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {f: getattr(self, f) for f in self.__slots__}


@dataclass(frozen=True, slots=True)
class KillStep:
    """One cancel or close of an activation: ``status`` sent / done / failed, the client order id
    it sent (looked up before any resend), its result and last error."""

    activation_id: str
    step: str
    status: str
    attempts: int
    client_order_id: str | None
    result: dict[str, Any]
    error: str | None
    updated_ms: int


@dataclass(frozen=True, slots=True)
class Controls:
    """Operating controls of an account: safe mode (set by the kill switch, lifted only by a release
    or the recovery) and the size multiplier (0..1] every new risk-adding order is scaled by."""

    safe_mode: bool
    size_multiplier: float
    reason: str
    actor: str
    ts_ms: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {f: getattr(self, f) for f in self.__slots__}


@dataclass(frozen=True, slots=True)
class OpenAlert:
    """An alert whose condition still holds."""

    alert_key: str
    severity: str
    message: str
    value: float | None
    threshold: float | None
    since_ms: int


def _record(row: Row[Any]) -> KillSwitchRecord:
    return KillSwitchRecord(row.activation_id, row.account_id, bool(row.active), row.status, row.trigger,
                            row.reason, row.actor, int(row.ts_ms), int(row.runs), json.loads(row.outcome),
                            int(row.updated_ms), None if row.released_ms is None else int(row.released_ms),
                            row.released_by, row.release_reason)


def _step(row: Row[Any]) -> KillStep:
    return KillStep(row.activation_id, row.step, row.status, int(row.attempts), row.client_order_id,
                    json.loads(row.result), row.error, int(row.updated_ms))


class ControlStore:
    """Kill switch, controls, alerts and audit events of ``ledger``'s account."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.account_id = ledger.account_id

    # -- audit -----------------------------------------------------------------------------
    def event(self, kind: str, payload: Mapping[str, Any], *, actor: str, now_ms: int) -> None:
        """Record an audit event (``rg_events``) in its own transaction."""
        with self.ledger.transaction() as conn:
            self._event(conn, kind, payload, actor, now_ms)

    def _event(self, conn: Connection, kind: str, payload: Mapping[str, Any], actor: str, now_ms: int) -> None:
        conn.execute(insert(t.events).values(account_id=self.account_id, ts_ms=now_ms, actor=actor, kind=kind,
                                             payload=dumps(dict(payload))))

    def _set_state(self, conn: Connection, state: TradingState, reason: str, actor: str, now_ms: int) -> None:
        current = self.ledger.lock_account(conn)
        if current.trading_state is state and current.state_reason == reason:
            return
        conn.execute(update(t.accounts).where(t.accounts.c.account_id == self.account_id).values(
            trading_state=state.value, state_reason=reason, state_actor=actor, state_ts_ms=now_ms))
        self._event(conn, "trading_state", {"from": current.trading_state.value, "to": state.value,
                                            "reason": reason}, actor, now_ms)

    # -- kill switch -----------------------------------------------------------------------
    def _active_row(self, conn: Connection) -> Row[Any] | None:
        return conn.execute(select(c.kill_switches).where(
            c.kill_switches.c.account_id == self.account_id, c.kill_switches.c.active.is_(True))).first()

    def _read(self, conn: Connection, activation_id: str) -> KillSwitchRecord:
        return _record(conn.execute(select(c.kill_switches).where(
            c.kill_switches.c.activation_id == activation_id)).one())

    def engage(self, activation_id: str, trigger: str, reason: str, *, actor: str,
               now_ms: int) -> tuple[KillSwitchRecord, bool]:
        """Activate the kill switch: in one transaction the account goes HALTED with safe mode on and
        the activation is stored. When one is already active it is returned instead (its run count
        bumped): ``(record, created)``."""
        if not reason.strip():
            raise InputValidationError("reason", "must not be empty", reason)
        with self.ledger.transaction() as conn:
            self.ledger.lock_account(conn)
            row = self._active_row(conn)
            created = row is None
            if row is None:
                conn.execute(insert(c.kill_switches).values(
                    activation_id=activation_id, account_id=self.account_id, active=True, status=IN_PROGRESS,
                    trigger=trigger, reason=reason, actor=actor, ts_ms=now_ms, runs=1, outcome="{}",
                    updated_ms=now_ms))
                self._event(conn, "kill_switch", {"activation_id": activation_id, "trigger": trigger,
                                                  "reason": reason, "step": "activated"}, actor, now_ms)
            else:
                activation_id = row.activation_id
                conn.execute(update(c.kill_switches).where(c.kill_switches.c.activation_id == activation_id)
                             .values(runs=row.runs + 1, updated_ms=now_ms))
                self._event(conn, "kill_switch", {"activation_id": activation_id, "trigger": trigger,
                                                  "reason": reason, "step": "resumed"}, actor, now_ms)
            self._set_state(conn, TradingState.HALTED, f"{KILL_SWITCH_REASON} ({trigger}): {reason}", actor, now_ms)
            self._write_controls(conn, True, 1.0 if created else self._controls(conn).size_multiplier,
                                 f"{KILL_SWITCH_REASON} {activation_id}", actor, now_ms)
            return self._read(conn, activation_id), created

    def reassert_halt(self, record: KillSwitchRecord, *, actor: str, now_ms: int) -> bool:
        """Put the account back to HALTED when an active kill switch finds it otherwise (someone set
        it by hand). Returns True when it had to."""
        with self.ledger.transaction() as conn:
            account = self.ledger.lock_account(conn)
            if account.trading_state is TradingState.HALTED:
                return False
            self._set_state(conn, TradingState.HALTED,
                            f"{KILL_SWITCH_REASON} ({record.trigger}): {record.reason}", actor, now_ms)
            return True

    def active(self) -> KillSwitchRecord | None:
        """The active activation, if any."""
        with self.ledger.reading() as conn:
            row = self._active_row(conn)
        return None if row is None else _record(row)

    def latest(self) -> KillSwitchRecord | None:
        """The newest activation (active or released), if any."""
        with self.ledger.reading() as conn:
            row = conn.execute(select(c.kill_switches).where(c.kill_switches.c.account_id == self.account_id)
                               .order_by(c.kill_switches.c.ts_ms.desc()).limit(1)).first()
        return None if row is None else _record(row)

    def finish_run(self, activation_id: str, status: str, outcome: Mapping[str, Any], *, actor: str,
                   now_ms: int) -> KillSwitchRecord:
        """Store what a run of the activation did, with an audit event."""
        with self.ledger.transaction() as conn:
            self.ledger.lock_account(conn)
            conn.execute(update(c.kill_switches).where(c.kill_switches.c.activation_id == activation_id).values(
                status=status, outcome=dumps(dict(outcome)), updated_ms=now_ms))
            self._event(conn, "kill_switch", {"activation_id": activation_id, "step": "run_finished",
                                              "status": status, "outcome": dict(outcome)}, actor, now_ms)
            return self._read(conn, activation_id)

    def release(self, *, actor: str, reason: str, state: TradingState, now_ms: int) -> KillSwitchRecord:
        """End the active activation: safe mode off, the account to ``state`` (REDUCING after a
        manual release: exits only until the recovery reactivates). LedgerError when none is active."""
        if not reason.strip():
            raise InputValidationError("reason", "must not be empty", reason)
        with self.ledger.transaction() as conn:
            self.ledger.lock_account(conn)
            row = self._active_row(conn)
            if row is None:
                raise LedgerError("no kill switch is active")
            conn.execute(update(c.kill_switches).where(c.kill_switches.c.activation_id == row.activation_id)
                         .values(active=False, released_ms=now_ms, released_by=actor, release_reason=reason,
                                 updated_ms=now_ms))
            self._event(conn, "kill_switch", {"activation_id": row.activation_id, "step": "released",
                                              "reason": reason, "trading_state": state.value}, actor, now_ms)
            self._set_state(conn, state, f"kill switch released: {reason}", actor, now_ms)
            self._write_controls(conn, False, self._controls(conn).size_multiplier, f"released: {reason}", actor,
                                 now_ms)
            return self._read(conn, row.activation_id)

    # -- steps -----------------------------------------------------------------------------
    def steps(self, activation_id: str) -> dict[str, KillStep]:
        """Every step of an activation by name."""
        with self.ledger.reading() as conn:
            return {r.step: _step(r) for r in conn.execute(select(c.kill_steps).where(
                c.kill_steps.c.activation_id == activation_id).order_by(c.kill_steps.c.step))}

    def mark_step(self, activation_id: str, step: str, status: str, *, now_ms: int,
                  client_order_id: str | None = None, result: Mapping[str, Any] | None = None,
                  error: str | None = None, attempt: bool = False) -> KillStep:
        """Insert or update a step; ``attempt`` counts one more try. A step is written ``sent`` with
        its client order id *before* the order goes out."""
        with self.ledger.transaction() as conn:
            key = (c.kill_steps.c.activation_id == activation_id, c.kill_steps.c.step == step)
            row = conn.execute(select(c.kill_steps).where(*key)).first()
            values: dict[str, Any] = {"status": status, "updated_ms": now_ms, "error": error}
            if client_order_id is not None:
                values["client_order_id"] = client_order_id
            if result is not None:
                values["result"] = dumps(dict(result))
            if row is None:
                conn.execute(insert(c.kill_steps).values(
                    activation_id=activation_id, step=step, attempts=1 if attempt else 0,
                    **{"result": "{}", "client_order_id": None, **values}))
            else:
                if attempt:
                    values["attempts"] = row.attempts + 1
                conn.execute(update(c.kill_steps).where(*key).values(**values))
            return _step(conn.execute(select(c.kill_steps).where(*key)).one())

    # -- controls --------------------------------------------------------------------------
    def controls(self) -> Controls:
        """The account's controls (defaults: safe mode off, size multiplier 1.0)."""
        with self.ledger.reading() as conn:
            return self._controls(conn)

    def _controls(self, conn: Connection) -> Controls:
        row = conn.execute(select(c.controls).where(c.controls.c.account_id == self.account_id)).first()
        if row is None:
            return Controls(False, 1.0, "default", "riskguard", 0)
        return Controls(bool(row.safe_mode), float(row.size_multiplier), row.reason, row.actor, int(row.ts_ms))

    def _write_controls(self, conn: Connection, safe_mode: bool, multiplier: float, reason: str, actor: str,
                        now_ms: int) -> None:
        values = {"safe_mode": safe_mode, "size_multiplier": multiplier, "reason": reason, "actor": actor,
                  "ts_ms": now_ms}
        exists = conn.execute(select(c.controls.c.account_id).where(
            c.controls.c.account_id == self.account_id)).first()
        if exists is None:
            conn.execute(insert(c.controls).values(account_id=self.account_id, **values))
        else:
            conn.execute(update(c.controls).where(c.controls.c.account_id == self.account_id).values(**values))
        # A new version makes every process reload its book, and with it the size multiplier it
        # decides with (the reserve path reads the controls only when it reloads).
        self.ledger.bump(conn, self.ledger.read_account(conn).version + 1)

    def set_operating(self, *, size_multiplier: float, state: TradingState | None, reason: str, actor: str,
                      now_ms: int, kind: str) -> Controls:
        """Set the size multiplier (0..1] and optionally the trading state, with an event of ``kind``."""
        if not 0.0 < size_multiplier <= 1.0:
            raise InputValidationError("size_multiplier", "must be in (0, 1]", size_multiplier)
        with self.ledger.transaction() as conn:
            self.ledger.lock_account(conn)
            current = self._controls(conn)
            self._write_controls(conn, current.safe_mode, size_multiplier, reason, actor, now_ms)
            if state is not None:
                self._set_state(conn, state, reason, actor, now_ms)
            self._event(conn, kind, {"size_multiplier": size_multiplier, "trading_state":
                                     None if state is None else state.value, "reason": reason}, actor, now_ms)
            return self._controls(conn)

    def set_mode(self, mode: Mode, *, reason: str, actor: str, now_ms: int) -> str:
        """Switch the account's execution mode (e.g. to demo); returns the mode it had."""
        with self.ledger.transaction() as conn:
            account = self.ledger.lock_account(conn)
            if account.mode != mode.value:
                conn.execute(update(t.accounts).where(t.accounts.c.account_id == self.account_id)
                             .values(mode=mode.value))
            self._event(conn, "mode", {"from": account.mode, "to": mode.value, "reason": reason}, actor, now_ms)
            return account.mode

    # -- alerts ----------------------------------------------------------------------------
    def open_alerts(self) -> dict[str, OpenAlert]:
        """Alerts whose condition still held at the last monitor tick, by key."""
        with self.ledger.reading() as conn:
            return {r.alert_key: OpenAlert(r.alert_key, r.severity, r.message, r.value, r.threshold, int(r.since_ms))
                    for r in conn.execute(select(c.open_alerts).where(c.open_alerts.c.account_id == self.account_id))}

    def raise_alert(self, key: str, severity: str, message: str, value: float | None, threshold: float | None, *,
                    actor: str, now_ms: int) -> bool:
        """Open an alert (an ``alert`` event); False, and nothing written, when it is already open
        with the same severity: an alert is raised once while its condition holds."""
        with self.ledger.transaction() as conn:
            self.ledger.lock_account(conn)
            key_filter = (c.open_alerts.c.account_id == self.account_id, c.open_alerts.c.alert_key == key)
            row = conn.execute(select(c.open_alerts).where(*key_filter)).first()
            if row is not None and row.severity == severity:
                return False
            if row is not None:
                conn.execute(c.open_alerts.delete().where(*key_filter))
            conn.execute(insert(c.open_alerts).values(account_id=self.account_id, alert_key=key, severity=severity,
                                                      message=message, value=value, threshold=threshold,
                                                      since_ms=now_ms))
            self._event(conn, "alert", {"key": key, "severity": severity, "message": message, "value": value,
                                        "threshold": threshold}, actor, now_ms)
            return True

    def clear_alert(self, key: str, *, actor: str, now_ms: int) -> bool:
        """Close an open alert (an ``alert_cleared`` event); False when it was not open."""
        with self.ledger.transaction() as conn:
            self.ledger.lock_account(conn)
            deleted = conn.execute(c.open_alerts.delete().where(
                c.open_alerts.c.account_id == self.account_id, c.open_alerts.c.alert_key == key)).rowcount
            if deleted:
                self._event(conn, "alert_cleared", {"key": key}, actor, now_ms)
            return bool(deleted)

"""The staged recovery after a kill switch (REQUIREMENTS section E), each step an audited
``recovery`` event, stopping at the first step that fails:

1. ``assess``: the damage: positions and orders left (ledger and exchange), realised P&L since
   activation, the kill switch's estimated loss. Fails while the kill switch is incomplete or
   anything is still open.
2. ``review``: the audit trail since activation: decisions (approved / vetoed) and events.
   Fails if any risk-adding order was approved after the activation.
3. ``root_cause``: an operator's note is required.
4. ``fixes``: the fixed posture must validate, and the account's stored decisions of the review
   window before activation are replayed under it: the flips are listed (recorded).
5. ``reactivate``: gradual: first the kill switch is released (REDUCING, exits only), then after
   each ``step_interval_s`` the account is ACTIVE with the next size multiplier (0.25 -> 0.5 -> 1.0
   by default). One step per interval; each an event.

``Recovery.run`` shows where the recovery stands and runs the pending steps in order until one
fails or must wait.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from riskguard.config.schema import Posture
from riskguard.exchange.errors import ExchangeError
from riskguard.exchange.protocol import Exchange
from riskguard.ledger.controls import DONE, NO_EXCHANGE, ControlStore, KillSwitchRecord
from riskguard.ledger.ledger import Ledger
from riskguard.model.enums import TradingState
from riskguard.monitor.posture_replay import replay_window

RECOVERY_EVENT = "recovery"
STEPS = ("assess", "review", "root_cause", "fixes", "reactivate")
MIN_NOTE_CHARS = 10
"""An operator's root-cause note must say something (at least this many characters)."""


@dataclass(slots=True)
class StepResult:
    """One step's verdict and what it found."""

    step: str
    passed: bool
    summary: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"step": self.step, "passed": self.passed, "summary": self.summary, "detail": self.detail}


@dataclass(slots=True)
class RecoveryStatus:
    """Where the recovery of an activation stands: steps passed, the step runs did now, the next
    step (None when done) and, while reactivating, the stage reached and when the next is due."""

    activation_id: str | None
    passed: list[str]
    ran: list[StepResult]
    next_step: str | None
    stage: int
    stages: list[float]
    next_stage_ms: int | None
    done: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"activation_id": self.activation_id, "passed": self.passed, "ran": [r.to_dict() for r in self.ran],
                "next_step": self.next_step, "stage": self.stage, "stages": self.stages,
                "next_stage_ms": self.next_stage_ms, "done": self.done}


class Recovery:
    """The recovery of the account's latest kill-switch activation."""

    def __init__(self, ledger: Ledger, posture: Posture, exchange: Exchange | None = None, *, actor: str,
                 clock: Callable[[], int]) -> None:
        self.ledger = ledger
        self.posture = posture
        self.exchange = exchange
        self.actor = actor
        self.clock = clock
        self.store = ControlStore(ledger)
        self.section = posture.monitor.recovery

    # -- state -----------------------------------------------------------------------------
    def _events(self, activation_id: str) -> list[dict[str, Any]]:
        found = []
        for row in self.ledger.events(RECOVERY_EVENT):
            payload = json.loads(row.payload)
            if payload.get("activation_id") == activation_id:
                found.append({**payload, "ts_ms": int(row.ts_ms)})
        return found

    def status(self) -> RecoveryStatus:
        """Where the recovery stands (runs nothing)."""
        return self._status(self.store.latest(), [])

    def _status(self, record: KillSwitchRecord | None, ran: list[StepResult]) -> RecoveryStatus:
        stages = [0.0, *self.section.size_multipliers]  # 0.0 stands for REDUCING (exits only)
        if record is None:
            return RecoveryStatus(None, [], ran, None, 0, stages, None, True)
        events = self._events(record.activation_id)
        passed = [s for s in STEPS[:-1] if any(e["step"] == s and e["passed"] for e in events)]
        stage_events = [e for e in events if e["step"] == "reactivate" and e["passed"]]
        stage = len(stage_events)
        done = stage >= len(stages)
        pending = [s for s in STEPS if s not in passed]
        next_step = None if done else pending[0]
        next_ms = None
        if stage_events and not done:
            next_ms = int(stage_events[-1]["ts_ms"] + self.section.step_interval_s * 1000)
        return RecoveryStatus(record.activation_id, passed + (["reactivate"] if done else []), ran, next_step, stage,
                              stages, next_ms, done)

    # -- running ---------------------------------------------------------------------------
    def run(self, *, note: str | None = None, fixed_posture: Posture | None = None) -> RecoveryStatus:
        """Run the pending steps in order, stopping at the first that fails or must wait.
        ``note``: the root cause; ``fixed_posture``: the posture with the fixes (default: this one)."""
        record = self.store.latest()
        ran: list[StepResult] = []
        if record is None:
            return self._status(None, ran)
        while True:
            status = self._status(record, ran)
            step = status.next_step
            if step is None:
                return status
            if step == "reactivate" and status.next_stage_ms is not None and self.clock() < status.next_stage_ms:
                return status
            result = self._run_step(step, record, status, note, fixed_posture)
            self.store.event(RECOVERY_EVENT, {"activation_id": record.activation_id, **result.to_dict()},
                             actor=self.actor, now_ms=self.clock())
            ran.append(result)
            if not result.passed:
                return self._status(record, ran)

    def _run_step(self, step: str, record: KillSwitchRecord, status: RecoveryStatus, note: str | None,
                  fixed: Posture | None) -> StepResult:
        if step == "assess":
            return self._assess(record)
        if step == "review":
            return self._review(record)
        if step == "root_cause":
            text = (note or "").strip()
            if len(text) < MIN_NOTE_CHARS:
                return StepResult(step, False, f"an operator's root-cause note is required (--note, at least "
                                               f"{MIN_NOTE_CHARS} characters)")
            return StepResult(step, True, "root cause noted", {"note": text})
        if step == "fixes":
            return self._fixes(record, fixed or self.posture)
        return self._reactivate(record, status)

    def _assess(self, record: KillSwitchRecord) -> StepResult:
        positions = [f"{p.strategy} {p.symbol}" for p in self.ledger.positions()]
        detail: dict[str, Any] = {"ledger_positions": positions, "kill_switch_status": record.status,
                                  "estimated_loss_usdt": record.outcome.get("estimated_loss_usdt"),
                                  "realized_pnl_since_usdt": self._realized_since(record.ts_ms)}
        problems = []
        if record.status not in (DONE, NO_EXCHANGE):
            problems.append(f"the kill switch is {record.status}: run `riskguard killswitch activate` to finish it")
        if positions:
            problems.append(f"{len(positions)} ledger position(s) still open")
        if self.exchange is not None:
            try:
                detail["exchange_positions"] = [p.symbol for p in self.exchange.positions()]
                detail["exchange_orders"] = [o.client_order_id or o.order_id for o in self.exchange.open_orders()]
            except ExchangeError as exc:
                problems.append(f"the exchange could not be read: {exc}")
            else:
                if detail["exchange_positions"] or detail["exchange_orders"]:
                    problems.append("positions or orders still open on the exchange")
        if problems:
            return StepResult("assess", False, "; ".join(problems), detail)
        return StepResult("assess", True, f"flat; estimated loss {detail['estimated_loss_usdt']} USDT, realised P&L "
                                          f"since activation {detail['realized_pnl_since_usdt']:.2f} USDT", detail)

    def _realized_since(self, since_ms: int) -> float:
        marks = [m for m in self.ledger.equity_marks() if m.ts_ms >= since_ms]
        before = [m for m in self.ledger.equity_marks() if m.ts_ms < since_ms]
        if not marks:
            return 0.0
        start = before[-1].realized_pnl if before else 0.0
        return float(marks[-1].realized_pnl - start)

    def _review(self, record: KillSwitchRecord) -> StepResult:
        decisions = [d for d in self.ledger.decisions(limit=100_000) if d.ts_ms >= record.ts_ms]
        risky = [d.decision_id for d in decisions if d.approved and d.adds_risk]
        events = [e for e in self.ledger.events() if e.ts_ms >= record.ts_ms]
        kinds: dict[str, int] = {}
        for event in events:
            kinds[event.kind] = kinds.get(event.kind, 0) + 1
        detail = {"decisions": len(decisions), "approved": sum(1 for d in decisions if d.approved),
                  "vetoed": sum(1 for d in decisions if not d.approved), "risk_approved_after": risky,
                  "events": kinds}
        if risky:
            return StepResult("review", False, f"{len(risky)} risk-adding order(s) approved after the activation",
                              detail)
        return StepResult("review", True, f"{len(decisions)} decisions and {len(events)} events since activation, "
                                          "no risk approved", detail)

    def _fixes(self, record: KillSwitchRecord, fixed: Posture) -> StepResult:
        since = record.ts_ms - int(self.section.review_window_s * 1000)
        replay = replay_window(self.ledger, fixed, since_ms=since, until_ms=record.ts_ms)
        detail = {"posture": fixed.name, "replay": replay.to_dict()}
        if replay.errors:
            return StepResult("fixes", False, f"{len(replay.errors)} stored decision(s) could not be replayed", detail)
        return StepResult("fixes", True, f"posture {fixed.name} validates; {replay.decisions} decisions replayed: "
                                         f"{len(replay.tightened)} approved->vetoed, {len(replay.loosened)} "
                                         "vetoed->approved", detail)

    def _reactivate(self, record: KillSwitchRecord, status: RecoveryStatus) -> StepResult:
        now = self.clock()
        stage = status.stage
        if stage == 0:
            if self.store.active() is not None:
                self.store.release(actor=self.actor, reason="recovery: staged reactivation", now_ms=now,
                                   state=TradingState.REDUCING)
            else:
                self.ledger.set_trading_state(TradingState.REDUCING, "recovery: exits only", actor=self.actor,
                                              now_ms=now)
            return StepResult("reactivate", True, "kill switch released: REDUCING (exits only)",
                              {"stage": 0, "trading_state": "REDUCING"})
        multiplier = status.stages[stage]
        self.store.set_operating(size_multiplier=multiplier, state=TradingState.ACTIVE,
                                 reason=f"recovery: reactivation at size x{multiplier}", actor=self.actor, now_ms=now,
                                 kind="size_multiplier")
        return StepResult("reactivate", True, f"ACTIVE at size x{multiplier}",
                          {"stage": stage, "trading_state": "ACTIVE", "size_multiplier": multiplier})

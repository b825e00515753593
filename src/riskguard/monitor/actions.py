"""Drawdown actions that act: the posture's drawdown ladder (``policy.drawdown_ladder``) evaluated
on the ledger's equity marks, each fired rung executed once per window and recorded as an audited
``drawdown_action`` event.

- ``halt_new_trades``: the account goes HALTED through the ledger (every process, next decision).
- ``close_all``: the kill switch with trigger ``drawdown``: every order cancelled and every
  position closed through the exchange (reduce-only market), HALTED and safe mode; durable,
  resumable and retried like any activation.
- ``reduce_size``: the ledger's size multiplier drops to the rung's (0.5 by default) for every
  process (``ControlStore.controls().size_multiplier``).
- ``switch_mode``: the account's mode in the ledger becomes the rung's (demo): the process binding
  trades the paper exchange from then on; open live orders are cancelled.

``dry_run`` reports what would be done and changes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from riskguard.config.schema import Posture
from riskguard.exchange.errors import ExchangeError
from riskguard.exchange.protocol import Exchange
from riskguard.ledger.controls import ControlStore
from riskguard.ledger.ledger import Ledger
from riskguard.model.enums import TradingState
from riskguard.monitor.killswitch import KillSwitch, KillTrigger
from riskguard.policy.drawdown import window_key
from riskguard.policy.ladder import DrawdownLadder, LadderAction, LadderRung

log = logging.getLogger("riskguard.monitor")

ACTION_EVENT = "drawdown_action"


@dataclass(frozen=True, slots=True)
class PlannedAction:
    """A fired rung and what executing it does; ``window_key`` identifies the window it fired in
    (it is executed once per window)."""

    rung: str
    action: str
    drawdown_pct: float
    threshold_pct: float
    window_key: int
    effect: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {f: getattr(self, f) for f in self.__slots__}


@dataclass(slots=True)
class ActionReport:
    """Actions planned, executed (with their outcome) and skipped (already done in this window)."""

    dry_run: bool
    planned: list[PlannedAction] = field(default_factory=list)
    executed: list[dict[str, Any]] = field(default_factory=list)
    already_done: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"dry_run": self.dry_run, "planned": [p.to_dict() for p in self.planned], "executed": self.executed,
                "already_done": self.already_done}


def _effect(rung: LadderRung) -> str:
    if rung.action is LadderAction.HALT_NEW_TRADES:
        return "set the account HALTED (no new risk; exits pass)"
    if rung.action is LadderAction.CLOSE_ALL:
        return "pull the kill switch (drawdown): cancel every order, close every position at market"
    if rung.action is LadderAction.REDUCE_SIZE:
        return f"size multiplier -> {rung.size_multiplier}"
    return f"switch the account to {None if rung.mode is None else rung.mode.value} mode, cancel open orders"


class DrawdownActions:
    """Evaluates the ladder on the ledger's equity marks and executes the rungs that fired."""

    def __init__(self, ledger: Ledger, exchange: Exchange | None, posture: Posture, kill_switch: KillSwitch, *,
                 actor: str, clock: Callable[[], int]) -> None:
        self.ledger = ledger
        self.exchange = exchange
        self.posture = posture
        self.kill_switch = kill_switch
        self.store = ControlStore(ledger)
        self.actor = actor
        self.clock = clock

    def plan(self) -> list[PlannedAction]:
        """The rungs active now, from every NAV mark in the ledger (oldest first)."""
        now = self.clock()
        ladder = DrawdownLadder.from_sections(self.posture.policy.drawdown_ladder, clock=lambda: now)
        last = -1
        for mark in self.ledger.equity_marks():
            if mark.nav is not None and mark.nav > 0 and mark.ts_ms >= last:
                ladder.update(float(mark.nav), int(mark.ts_ms))
                last = int(mark.ts_ms)
        by_name = {r.name: r for r in ladder.rungs}
        return [PlannedAction(name, by_name[name].action.value, ladder.drawdown_pct(by_name[name].window),
                              by_name[name].threshold_pct, window_key(by_name[name].window, now),
                              _effect(by_name[name]))
                for name in ladder.state.active]

    def _done(self) -> set[tuple[str, int]]:
        done = set()
        for event in self.ledger.events(ACTION_EVENT):
            payload = json.loads(event.payload)
            done.add((str(payload["rung"]), int(payload["window_key"])))
        return done

    def run(self, *, dry_run: bool = False) -> ActionReport:
        """Execute every fired rung not yet executed in its window (none with ``dry_run``)."""
        report = ActionReport(dry_run)
        report.planned = self.plan()
        if dry_run:
            return report
        done = self._done()
        rungs = {r.name: r for r in (LadderRung.from_section(s) for s in self.posture.policy.drawdown_ladder)}
        for planned in report.planned:
            if (planned.rung, planned.window_key) in done:
                report.already_done.append(planned.rung)
                continue
            outcome = self._execute(rungs[planned.rung], planned)
            now = self.clock()
            self.store.event(ACTION_EVENT, {**planned.to_dict(), "outcome": outcome}, actor=self.actor, now_ms=now)
            log.warning("drawdown action %s: %s", planned.rung, outcome.get("summary"),
                        extra={"riskguard": {"event": ACTION_EVENT, "rung": planned.rung}})
            report.executed.append({"rung": planned.rung, "action": planned.action, **outcome})
        return report

    def _execute(self, rung: LadderRung, planned: PlannedAction) -> dict[str, Any]:
        now = self.clock()
        reason = f"drawdown ladder: {planned.rung} ({planned.drawdown_pct:.2%} >= {planned.threshold_pct:.2%})"
        if rung.action is LadderAction.HALT_NEW_TRADES:
            account = self.ledger.account()
            if account.trading_state is TradingState.ACTIVE:
                self.ledger.set_trading_state(TradingState.HALTED, reason, actor=self.actor, now_ms=now)
                return {"summary": "account HALTED", "trading_state": "HALTED"}
            return {"summary": f"account already {account.trading_state.value}",
                    "trading_state": account.trading_state.value}
        if rung.action is LadderAction.CLOSE_ALL:
            result = self.kill_switch.activate(KillTrigger.DRAWDOWN, reason)
            return {"summary": f"kill switch {result.status}: {len(result.closed)} closed, {len(result.failed)} "
                               "failed", "kill_switch": result.to_dict()}
        if rung.action is LadderAction.REDUCE_SIZE:
            multiplier = min(self.store.controls().size_multiplier, rung.size_multiplier or 1.0)
            self.store.set_operating(size_multiplier=multiplier, state=None, reason=reason, actor=self.actor,
                                     now_ms=now, kind="size_multiplier")
            return {"summary": f"size multiplier {multiplier}", "size_multiplier": multiplier}
        assert rung.mode is not None, "a switch_mode rung names its mode (validated by the posture)"
        previous = self.store.set_mode(rung.mode, reason=reason, actor=self.actor, now_ms=now)
        cancelled: list[dict[str, Any]] = []
        errors: list[str] = []
        if self.exchange is not None:
            try:
                for symbol in sorted({o.symbol for o in self.exchange.open_orders()}):
                    cancelled.append(self.exchange.cancel_all(symbol).to_dict())
            except ExchangeError as exc:
                errors.append(str(exc))
        return {"summary": f"mode {previous} -> {rung.mode.value}", "mode": rung.mode.value, "cancelled": cancelled,
                "errors": errors}

"""One monitor pass over an account: metrics, alerts, kill-switch triggers, drawdown actions.

``Monitor.tick`` is what ``riskguard monitor`` runs on every refresh and what the service's
``GET /v1/monitor`` returns. The technical triggers need memory across ticks (how long the
exchange has failed, how many ledger reads failed in a row), so one ``Monitor`` lives as long as
the process that watches.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from riskguard.config.limits import Limits, compile_limits
from riskguard.config.schema import Posture
from riskguard.exchange.errors import ExchangeError
from riskguard.exchange.protocol import Exchange
from riskguard.exchange.types import ExchangeAccount
from riskguard.ledger.controls import INCOMPLETE, ControlStore
from riskguard.ledger.errors import LedgerUnavailable
from riskguard.ledger.ledger import Ledger
from riskguard.monitor.actions import ActionReport, DrawdownActions
from riskguard.monitor.alerts import Alerter, Poster, post_json
from riskguard.monitor.killswitch import KillSwitch, KillSwitchReport, KillTrigger
from riskguard.monitor.metrics import METRIC_ALERTS, RiskMetrics, alerts_for, compute_metrics

log = logging.getLogger("riskguard.monitor")


@dataclass(slots=True)
class TickResult:
    """What one pass saw and did."""

    ts_ms: int
    metrics: RiskMetrics | None
    alerts_raised: list[dict[str, Any]] = field(default_factory=list)
    alerts_cleared: list[str] = field(default_factory=list)
    open_alerts: list[dict[str, Any]] = field(default_factory=list)
    trigger: str | None = None
    kill_switch: KillSwitchReport | None = None
    kill_switch_status: dict[str, Any] = field(default_factory=dict)
    actions: ActionReport | None = None
    drifts: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``GET /v1/monitor``)."""
        return {"ts_ms": self.ts_ms, "metrics": None if self.metrics is None else self.metrics.to_dict(),
                "alerts_raised": self.alerts_raised, "alerts_cleared": self.alerts_cleared,
                "open_alerts": self.open_alerts, "trigger": self.trigger,
                "kill_switch": None if self.kill_switch is None else self.kill_switch.to_dict(),
                "kill_switch_status": self.kill_switch_status,
                "actions": None if self.actions is None else self.actions.to_dict(), "drifts": self.drifts,
                "errors": self.errors}


class Monitor:
    """Watches one account (``ledger``) under ``posture``, acting through ``exchange`` (None: the
    ledger only). ``clock`` epoch ms; ``sleep`` seconds (retries); ``poster`` sends webhooks;
    ``reconcile_each_tick`` reconciles ledger and exchange on every pass; ``mark_exchange_nav``
    stores the exchange's margin balance as the ledger's NAV mark on every pass."""

    def __init__(self, ledger: Ledger, posture: Posture, exchange: Exchange | None = None, *,
                 actor: str = "monitor", clock: Callable[[], int] | None = None,
                 sleep: Callable[[float], None] = time.sleep, poster: Poster = post_json,
                 reconcile_each_tick: bool = False, mark_exchange_nav: bool = False) -> None:
        self.ledger = ledger
        self.posture = posture
        self.limits: Limits = compile_limits(posture)
        self.exchange = exchange
        self.actor = actor
        self.clock = clock or (lambda: time.time_ns() // 1_000_000)
        section = posture.monitor
        self.store = ControlStore(ledger)
        self.alerter = Alerter(self.store, section.alerts, actor=actor, poster=poster)
        self.kill_switch = KillSwitch(ledger, exchange, section.kill_switch, actor=actor, alerter=self.alerter,
                                      clock=self.clock, sleep=sleep)
        self.actions = DrawdownActions(ledger, exchange, posture, self.kill_switch, actor=actor, clock=self.clock)
        self.reconcile_each_tick = reconcile_each_tick
        self.mark_exchange_nav = mark_exchange_nav
        self._exchange_account: ExchangeAccount | None = None
        self.exchange_failing_since: int | None = None
        self.ledger_failures = 0

    def tick(self, *, marks: Mapping[str, float] | None = None, market_ts: Mapping[str, int] | None = None,
             drift_count: int | None = None, returns: Mapping[str, Sequence[float]] | None = None,
             dry_run: bool = False) -> TickResult:
        """One pass. ``marks`` symbol -> mark (USDT) without an exchange; ``market_ts`` symbol -> time
        (ms) of the newest market data the bots trade on; ``drift_count`` the drifts of the last
        reconciliation (None: reconcile now when ``reconcile_each_tick`` and an exchange are set).
        ``dry_run``: compute, plan and report, change nothing."""
        now = self.clock()
        result = TickResult(now, None)
        self._exchange_account = None
        if drift_count is None:
            drift_count = 0 if dry_run else self._reconcile(now, result)
        trigger = self._technical_trigger(now, market_ts or {}, drift_count, result)
        if self.mark_exchange_nav and self._exchange_account is not None and not dry_run:
            try:  # every process's drawdown gate and this monitor's ladder see the exchange's NAV
                self.ledger.mark_nav(self._exchange_account.snapshot(), actor=self.actor, source="monitor")
            except LedgerUnavailable as exc:
                result.errors.append(f"NAV mark not stored: {exc}")
        try:
            result.metrics = compute_metrics(self.ledger, self.limits, now_ms=now, exchange=self.exchange,
                                             marks=marks, returns=returns)
            self.ledger_failures = 0
        except LedgerUnavailable as exc:
            self.ledger_failures += 1
            result.errors.append(str(exc))
            if self.ledger_failures >= self.posture.monitor.kill_switch.ledger_error_count and trigger is None:
                trigger = (KillTrigger.LEDGER_ERRORS, f"{self.ledger_failures} ledger failures in a row: {exc}")
        if result.metrics is not None and trigger is None:
            daily = result.metrics.value("drawdown_daily")
            limit = self.posture.monitor.kill_switch.drawdown_pct
            if daily is not None and daily >= limit:
                trigger = (KillTrigger.DRAWDOWN, f"daily drawdown {daily:.2%} reached {limit:.2%}")
        if dry_run:
            result.trigger = None if trigger is None else trigger[0].value
            result.actions = self._guard(lambda: self.actions.run(dry_run=True), result)
            try:
                self._observe(result)
            except LedgerUnavailable as exc:
                result.errors.append(str(exc))
            return result
        try:
            self._act(trigger, result)
        except LedgerUnavailable as exc:
            result.errors.append(f"could not act through the ledger: {exc}")
        return result

    def _act(self, trigger: tuple[KillTrigger, str] | None, result: TickResult) -> None:
        if result.metrics is not None:
            outcome = self.alerter.sync(alerts_for(result.metrics, self.posture.monitor.alerts), now_ms=result.ts_ms,
                                        scope=METRIC_ALERTS)
            result.alerts_raised = [a.to_dict() for a in outcome.raised]
            result.alerts_cleared = outcome.cleared
            result.errors.extend(outcome.webhook_failures)
        active = self.store.active()
        if trigger is not None and active is None:
            result.trigger = trigger[0].value
            result.kill_switch = self.kill_switch.activate(trigger[0], trigger[1])
        elif active is not None:
            self.kill_switch.enforce()
            if active.status == INCOMPLETE:  # retry what failed, with the activation's own trigger
                result.kill_switch = self.kill_switch.activate(active.trigger, active.reason)
        if result.kill_switch is None or result.kill_switch.status != INCOMPLETE:
            result.actions = self.actions.run()
        self._observe(result)

    def _observe(self, result: TickResult) -> None:
        result.kill_switch_status = self.kill_switch.status()
        result.open_alerts = [{"key": a.alert_key, "severity": a.severity, "message": a.message,
                               "since_ms": a.since_ms} for a in self.store.open_alerts().values()]

    def _reconcile(self, now: int, result: TickResult) -> int:
        """Drifts between ledger and exchange now (0 unless reconciling each tick)."""
        if not self.reconcile_each_tick or self.exchange is None:
            return 0
        from riskguard.monitor.reconcile import reconcile

        try:
            report = reconcile(self.ledger, self.exchange, self.posture.reconcile, actor=self.actor, now_ms=now)
        except ExchangeError as exc:
            result.errors.append(f"reconcile: {exc}")
            return 0
        result.drifts = [d.to_dict() for d in report.drifts]
        return len(report.drifts)

    def _guard(self, call: Callable[[], ActionReport], result: TickResult) -> ActionReport | None:
        try:
            return call()
        except LedgerUnavailable as exc:
            result.errors.append(str(exc))
            return None

    def _technical_trigger(self, now: int, market_ts: Mapping[str, int], drift_count: int,
                           result: TickResult) -> tuple[KillTrigger, str] | None:
        section = self.posture.monitor.kill_switch
        if self.exchange is not None:
            try:
                self._exchange_account = self.exchange.account()
                self.exchange_failing_since = None
            except ExchangeError as exc:
                result.errors.append(f"exchange: {exc}")
                if self.exchange_failing_since is None:
                    self.exchange_failing_since = now
                failing_s = (now - self.exchange_failing_since) / 1000.0
                if failing_s >= section.exchange_unreachable_s:
                    return (KillTrigger.EXCHANGE_UNREACHABLE,
                            f"exchange unreachable for {failing_s:.0f} s (limit {section.exchange_unreachable_s:g} s): "
                            f"{exc}")
        if market_ts:
            symbol, oldest = min(market_ts.items(), key=lambda item: item[1])
            age_s = (now - oldest) / 1000.0
            if age_s > section.market_stale_s:
                return (KillTrigger.MARKET_DATA_STALE,
                        f"{symbol} market data {age_s:.0f} s old (limit {section.market_stale_s:g} s)")
        if drift_count >= section.reconciliation_drift_count:
            return (KillTrigger.RECONCILIATION_DRIFT,
                    f"{drift_count} reconciliation drift(s) (limit {section.reconciliation_drift_count})")
        return None

"""Alerts: raised once while their condition holds, each an event in the ledger, a log line and a
JSON post to every configured webhook.

Deduplication lives in the ledger (``rg_open_alerts``), so two monitor processes on one account
raise an alert once between them, and a restarted monitor does not raise it again.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from riskguard.config.monitor_schema import AlertsSection
from riskguard.ledger.controls import ControlStore

log = logging.getLogger("riskguard.monitor")


class AlertSeverity(StrEnum):
    """How urgent an alert is."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert condition: ``key`` identifies it for deduplication (e.g. ``drawdown_daily``,
    ``liquidation:BTCUSDT``); ``value`` and ``threshold`` in the unit of the metric."""

    key: str
    severity: AlertSeverity
    message: str
    value: float | None = None
    threshold: float | None = None
    ts_ms: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"key": self.key, "severity": self.severity.value, "message": self.message, "value": self.value,
                "threshold": self.threshold, "ts_ms": self.ts_ms}


Poster = Callable[[str, bytes, float], None]
"""Posts a JSON body to a URL with a timeout in seconds; raises OSError on failure."""


def post_json(url: str, body: bytes, timeout_s: float) -> None:
    """POST ``body`` (JSON) to ``url``; raises OSError (URLError, HTTPError, timeout) on failure."""
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        response.read()


@dataclass(slots=True)
class AlertOutcome:
    """What one sync did: alerts newly raised (and sent), alerts cleared, webhook failures."""

    raised: list[Alert] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)
    webhook_failures: list[str] = field(default_factory=list)


class Alerter:
    """Raises and clears alerts for one account."""

    def __init__(self, store: ControlStore, section: AlertsSection, *, actor: str,
                 poster: Poster = post_json) -> None:
        self.store = store
        self.section = section
        self.actor = actor
        self.poster = poster

    def sync(self, current: Sequence[Alert], *, now_ms: int, scope: tuple[str, ...]) -> AlertOutcome:
        """Make the open alerts match ``current``: a new condition is raised and sent once; an open
        alert whose condition no longer holds is cleared. ``scope``: the key prefixes this sync owns
        (alerts raised elsewhere, e.g. the kill switch's, are left alone)."""
        outcome = AlertOutcome()
        keys = {a.key for a in current}
        for alert in current:
            if self.store.raise_alert(alert.key, alert.severity.value, alert.message, alert.value, alert.threshold,
                                      actor=self.actor, now_ms=now_ms):
                outcome.raised.append(alert)
                outcome.webhook_failures.extend(self.send(alert))
        for key in self.store.open_alerts():
            if key.startswith(scope) and key not in keys and self.store.clear_alert(key, actor=self.actor,
                                                                                    now_ms=now_ms):
                outcome.cleared.append(key)
        return outcome

    def raise_once(self, alert: Alert, *, now_ms: int) -> bool:
        """Raise one alert (no clearing of others); True when it was new and was sent."""
        if not self.store.raise_alert(alert.key, alert.severity.value, alert.message, alert.value, alert.threshold,
                                      actor=self.actor, now_ms=now_ms):
            return False
        self.send(alert)
        return True

    def send(self, alert: Alert) -> list[str]:
        """Log ``alert`` and post it to every webhook; returns one line per failed post (a webhook
        that is down never stops the monitor)."""
        level = logging.CRITICAL if alert.severity is AlertSeverity.CRITICAL else logging.WARNING
        log.log(level, "alert %s [%s]: %s", alert.key, alert.severity.value, alert.message,
                extra={"riskguard": {"event": "alert", **alert.to_dict()}})
        body = json.dumps({"source": "riskguard", "account": self.store.account_id, **alert.to_dict()}).encode()
        failures = []
        for url in self.section.webhooks:
            try:
                self.poster(url, body, self.section.webhook_timeout_s)
            except (OSError, urllib.error.URLError) as exc:
                line = f"webhook {url} failed: {exc}"
                log.error("alert %s: %s", alert.key, line)
                failures.append(line)
        return failures

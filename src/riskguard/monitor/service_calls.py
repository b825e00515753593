"""What the HTTP service calls for ``GET /v1/monitor`` (read scope) and ``POST /v1/killswitch``
(admin scope): plain functions over a ledger, a posture and an optional exchange, returning
JSON-ready documents, so the service adds two thin routes and no monitor logic.

``GET /v1/monitor`` is read-only: metrics, open alerts, the kill switch's status and what the
drawdown ladder and the triggers *would* do (a dry-run pass); acting is the monitor process's job.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from riskguard.config.schema import Posture
from riskguard.exchange.protocol import Exchange
from riskguard.ledger.ledger import Ledger
from riskguard.monitor.killswitch import KillSwitch, KillTrigger
from riskguard.monitor.watch import Monitor


class KillSwitchRequest(BaseModel):
    """Body of ``POST /v1/killswitch``."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["activate", "release"] = Field(description="activate (or resume) / release the kill switch.")
    reason: str = Field(min_length=1, max_length=2_000, description="Why (recorded).")
    trigger: KillTrigger = Field(KillTrigger.MANUAL, description="activate only: why it was pulled.")


def monitor_view(ledger: Ledger, posture: Posture, exchange: Exchange | None = None, *,
                 now_ms: int | None = None) -> dict[str, Any]:
    """The monitor document (``TickResult.to_dict`` of a dry-run pass): nothing is changed."""
    clock = None if now_ms is None else (lambda: now_ms)
    return Monitor(ledger, posture, exchange, actor="service", clock=clock).tick(dry_run=True).to_dict()


def kill_switch_command(ledger: Ledger, posture: Posture, request: KillSwitchRequest, *, actor: str,
                        exchange: Exchange | None = None) -> dict[str, Any]:
    """Activate or release the kill switch for ``actor`` (the token's label); returns the report
    (activate) or the released activation (release). A release with none active raises LedgerError
    (the service maps it to 409)."""
    switch = KillSwitch(ledger, exchange, posture.monitor.kill_switch, actor=actor)
    if request.action == "activate":
        return switch.activate(request.trigger, request.reason).to_dict()
    return switch.release(request.reason).to_dict()

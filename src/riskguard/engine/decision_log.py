"""One structured log event per decision, naming each failing gate with observed and threshold."""

from __future__ import annotations

import logging
from typing import Any

from riskguard.model.decision import Decision, GateCheck


def log_decision(log: logging.Logger, detail: Decision, checks: list[GateCheck]) -> None:
    """Emit the decision event at INFO: verdict, reasons, and every failing gate's numbers."""
    failing = [c for c in checks if not c["passed"]]
    summary = "; ".join(f"{c['gate']} observed={c['observed']!r} threshold={c['threshold']!r}" for c in failing)
    verdict = "VETO" if detail["veto"] else ("RESIZED" if detail["resized"] else "APPROVED")
    event: dict[str, Any] = {
        "event": "decision", "decision_id": detail["decision_id"], "intent_id": detail["intent_id"],
        "verdict": verdict, "symbol": detail["symbol"], "strategy": detail["strategy"],
        "reasons": detail["reasons"], "warnings": detail["warnings"], "config_hash": detail["config_hash"],
        "failing": [{k: c[k] for k in ("gate", "observed", "threshold", "severity")} for c in failing],
    }
    sizing = detail.get("sizing")
    if sizing:
        event["sizing"] = sizing
    log.info("%s %s %s %s%s", verdict, detail["symbol"], detail["strategy"], detail["intent_id"],
             f": {summary}" if summary else "", extra={"riskguard": event})

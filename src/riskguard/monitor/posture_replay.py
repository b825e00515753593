"""What would this posture have decided: every stored decision of a window re-decided under
another posture with its stored inputs (intent, markets, account, trading state, book, returns),
listing the flips approved -> vetoed and vetoed -> approved with the gates that changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from riskguard.config.hashing import config_hash
from riskguard.config.schema import Posture
from riskguard.ledger.errors import LedgerNotFound
from riskguard.ledger.ledger import Ledger
from riskguard.ledger.rows import DecisionRecord
from riskguard.runtime.replay import redecide

APPROVED_TO_VETOED, VETOED_TO_APPROVED = "approved->vetoed", "vetoed->approved"


@dataclass(frozen=True, slots=True)
class GateChange:
    """A gate whose verdict differs: ``before`` under the stored posture, ``after`` under the new one."""

    gate: str
    before: bool | None
    after: bool | None
    threshold_before: Any
    threshold_after: Any

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {f: getattr(self, f) for f in self.__slots__}


@dataclass(frozen=True, slots=True)
class Flip:
    """A stored decision the new posture decides the other way."""

    decision_id: str
    intent_id: str
    ts_ms: int
    strategy: str
    symbol: str
    direction: str
    reasons_before: list[str]
    reasons_after: list[str]
    gates: list[GateChange]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**{f: getattr(self, f) for f in self.__slots__ if f != "gates"},
                "gates": [g.to_dict() for g in self.gates]}


@dataclass(slots=True)
class PostureReplay:
    """The comparison over a window: how many decisions were re-decided, the flips, and the
    decisions that could not be replayed (with why)."""

    posture: str
    config_hash: str
    since_ms: int
    decisions: int = 0
    flips: list[Flip] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def tightened(self) -> list[Flip]:
        """Approvals the new posture would have vetoed."""
        return [f for f in self.flips if f.direction == APPROVED_TO_VETOED]

    @property
    def loosened(self) -> list[Flip]:
        """Vetoes the new posture would have approved."""
        return [f for f in self.flips if f.direction == VETOED_TO_APPROVED]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"posture": self.posture, "config_hash": self.config_hash, "since_ms": self.since_ms,
                "decisions": self.decisions, "approved_to_vetoed": len(self.tightened),
                "vetoed_to_approved": len(self.loosened), "flips": [f.to_dict() for f in self.flips],
                "errors": self.errors}


def _gate_changes(before: dict[str, Any], after: dict[str, Any]) -> list[GateChange]:
    old = {c["gate"]: c for c in before.get("checks", [])}
    new = {c["gate"]: c for c in after.get("checks", [])}
    changes = []
    for gate in list(old) + [g for g in new if g not in old]:
        a, b = old.get(gate, {}), new.get(gate, {})
        if a.get("passed") != b.get("passed"):
            changes.append(GateChange(gate, a.get("passed"), b.get("passed"), a.get("threshold"), b.get("threshold")))
    return changes


def compare(record: DecisionRecord, posture: Posture, returns: dict[str, list[float]] | None) -> Flip | None:
    """The flip of one stored decision under ``posture`` (None when it decides the same way)."""
    detail = redecide(record, posture, returns)
    approved_after = not detail["veto"]
    if approved_after == record.approved:
        return None
    return Flip(record.decision_id, record.intent_id, record.ts_ms, record.strategy, record.symbol,
                VETOED_TO_APPROVED if approved_after else APPROVED_TO_VETOED,
                list(record.detail.get("reasons", [])), list(detail.get("reasons", [])),
                _gate_changes(record.detail, detail))


def replay_window(ledger: Ledger, posture: Posture, *, since_ms: int, until_ms: int | None = None,
                  limit: int = 100_000) -> PostureReplay:
    """Re-decide the account's stored decisions from ``since_ms`` (to ``until_ms``), oldest first,
    under ``posture``; at most ``limit`` of the newest are read."""
    result = PostureReplay(posture.name, config_hash(posture), since_ms)
    records = [r for r in ledger.decisions(limit=limit)
               if r.ts_ms >= since_ms and (until_ms is None or r.ts_ms <= until_ms)]
    returns_cache: dict[str, dict[str, list[float]]] = {}
    for record in sorted(records, key=lambda r: (r.ts_ms, r.decision_id)):
        returns = None
        returns_hash = record.inputs.get("returns")
        try:
            if returns_hash is not None:
                key = str(returns_hash)
                if key not in returns_cache:
                    returns_cache[key] = ledger.return_set(key)
                returns = returns_cache[key]
            flip = compare(record, posture, returns)
        except (LedgerNotFound, KeyError, TypeError, ValueError) as exc:
            result.errors.append(f"{record.decision_id}: {exc}")
            continue
        result.decisions += 1
        if flip is not None:
            result.flips.append(flip)
    return result

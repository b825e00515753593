"""Replaying a stored decision: same posture, same inputs, same clock -> the same detail."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from riskguard.config.hashing import config_hash
from riskguard.config.loader import validate_posture
from riskguard.config.schema import Posture
from riskguard.engine.engine import RiskEngine
from riskguard.ledger.ledger import Ledger
from riskguard.ledger.rows import DecisionRecord
from riskguard.model.codec import encode as dumps
from riskguard.model.codec import encode_canonical as canonical_dumps
from riskguard.runtime.inputs import DecisionInputs

_IGNORED = frozenset({"decision_id"})  # a fresh id per run; everything else must match exactly


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """A replay's verdict: ``matches`` when every detail field except ``decision_id`` is equal."""

    decision_id: str
    matches: bool
    stored: dict[str, Any]
    replayed: dict[str, Any]
    differences: list[str]


def _normalised(detail: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(dumps(detail))
    return {k: v for k, v in data.items() if k not in _IGNORED}


def replay_record(record: DecisionRecord, posture_json: str,
                  returns: dict[str, list[float]] | None = None) -> ReplayResult:
    """Re-run ``record`` with its stored posture and inputs, clock fixed at its timestamp.
    ``returns``: the return set its inputs refer to (``inputs["returns"]``, a hash), if any."""
    posture = validate_posture(json.loads(posture_json), source=f"posture {record.config_hash}")
    if config_hash(posture) != record.config_hash:
        raise ValueError(f"stored posture hashes to {config_hash(posture)}, not {record.config_hash}")
    detail = redecide(record, posture, returns)
    stored, replayed = _normalised(record.detail), _normalised(detail)
    differences = [key for key in sorted(set(stored) | set(replayed))
                   if canonical_dumps(stored.get(key)) != canonical_dumps(replayed.get(key))]
    return ReplayResult(record.decision_id, not differences, stored, replayed, differences)


def redecide(record: DecisionRecord, posture: Posture, returns: dict[str, list[float]] | None = None,
             ) -> dict[str, Any]:
    """The detail ``record``'s stored inputs (intent, markets, instrument, account, trading state,
    book, return set) give under ``posture``, clock fixed at its timestamp: its own posture
    reproduces it, another answers "what would this posture have decided"."""
    inputs = DecisionInputs.from_dict(record.inputs)
    ts = record.ts_ms
    engine = RiskEngine(posture, clock=lambda: ts, instruments=[] if inputs.instrument is None else [inputs.instrument])
    if inputs.returns is not None:
        if returns is None:
            raise ValueError(f"decision {record.decision_id} refers to return set {inputs.returns}; pass it")
        for symbol, values in returns.items():
            engine.update_returns(symbol, values)
    for market in inputs.markets:
        engine.update_market(market)
    marks = {symbol: m.mark_price for symbol, m in engine.markets.items()}
    engine.load_state(book=inputs.book.state().build_book(engine.limits, marks), account=inputs.account,
                      trading_state=inputs.trading_state, reason=inputs.state_reason,
                      size_multiplier=inputs.size_multiplier)
    _, detail = engine.check_order(inputs.intent, now_ms=ts, commit=True)
    return dict(detail)


def replay_decision(ledger: Ledger, decision_id: str) -> ReplayResult:
    """Load decision ``decision_id`` and its posture from ``ledger`` and replay it."""
    record = ledger.decision(decision_id)
    returns_hash = record.inputs.get("returns")
    returns = None if returns_hash is None else ledger.return_set(str(returns_hash))
    return replay_record(record, ledger.posture_json(record.config_hash), returns)

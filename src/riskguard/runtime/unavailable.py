"""The decision detail when the ledger cannot be reached: a veto that still carries every key of
the contract (ARCHITECTURE.md, "The public contract"), with what is unknown said to be unknown."""

from __future__ import annotations

from riskguard.engine.engine import RiskEngine
from riskguard.model.decision import Detail
from riskguard.model.intent import OrderIntent
from riskguard.model.signal import Signal

LEDGER_UNAVAILABLE = "ledger_unavailable"


def unavailable_detail(engine: RiskEngine, intent: OrderIntent | Signal, message: str) -> Detail:
    """A ``ledger_unavailable`` veto of ``intent`` with the full detail: nothing was decided or
    stored (``decision_id`` None, no checks), the book and the NAV are unknown (``nav`` and
    ``open_positions`` None, ``nav_fresh`` False, ``max_notional_allowed`` 0.0: fail closed),
    the requested size is the intent's, the caps, policy and posture are this process's, and
    ``trading_state`` is the state this process last read from the ledger. ``error`` says why
    (password redacted). A signal was never sized: its requested size is unknown too."""
    limits = engine.limits
    market = engine.markets.get(intent.symbol)
    price = intent.price if intent.price is not None else (market.mark_price if market is not None else None)
    notional = qty = None
    if isinstance(intent, OrderIntent):
        notional = intent.notional if intent.notional is not None else (
            intent.qty * price if intent.qty is not None and price else None)
        qty = intent.qty if intent.qty is not None else (notional / price if notional is not None and price else None)
    intent_id = intent.intent_id if isinstance(intent, OrderIntent) else intent.signal_id
    leverage = intent.leverage
    strategy = limits.strategies.get(intent.strategy, limits.default_strategy)
    high = intent.confidence is not None and intent.confidence >= limits.high_confidence_threshold
    return {
        "decision_id": None,
        "intent_id": intent_id,
        "strategy": intent.strategy,
        "symbol": intent.symbol,
        "side": str(intent.side),
        "veto": True,
        "approved": False,
        "reasons": [LEDGER_UNAVAILABLE],
        "warnings": [],
        "error": message,
        "nav": None,
        "nav_fresh": False,
        "nav_age_ms": None,
        "checks": [],
        "requested": {"notional": notional, "qty": qty, "leverage": leverage, "price": price},
        "sized": {"notional": None, "qty": None, "leverage": leverage},
        "max_notional_allowed": 0.0,
        "clamped_by": None,
        "resized": False,
        "reducing": False,
        "risk_usdt": None,
        "risk_estimated": intent.stop_price is None,
        "open_positions": None,
        "max_concurrent_positions": strategy.max_concurrent_positions,
        "max_open_positions": limits.max_open_positions_high_confidence if high else limits.max_open_positions,
        "trading_state": engine.trading_state.value,
        "mode": engine.mode.value,
        "posture": limits.name,
        "config_hash": limits.config_hash,
        "ts_ms": engine.clock(),
        "policy": engine.policy.views_for(intent.symbol).to_dict(),
        "sizing": None,
        "intent": None,
    }

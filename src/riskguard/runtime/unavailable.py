"""The decision detail when the ledger cannot be reached: a veto that still carries every key of
the contract (ARCHITECTURE.md, "The public contract"), built by the engine (``RiskEngine.refuse``)."""

from __future__ import annotations

from riskguard.engine.engine import RiskEngine
from riskguard.model.decision import Detail
from riskguard.model.intent import OrderIntent
from riskguard.model.signal import Signal

LEDGER_UNAVAILABLE = "ledger_unavailable"


def unavailable_detail(engine: RiskEngine, intent: OrderIntent | Signal, message: str) -> Detail:
    """A ``ledger_unavailable`` veto of ``intent`` with the full detail (``RiskEngine.refuse``:
    nothing decided or stored, nothing sized or allowed; NAV and state as this process last read
    them) and ``error`` saying why (password redacted). A signal was never sized: its requested
    size is unknown."""
    if isinstance(intent, OrderIntent):
        detail = engine.refuse(intent, LEDGER_UNAVAILABLE)
    else:
        # The engine's refusal takes an intent: one standing in for the signal, its size unknown.
        stand_in = OrderIntent(intent_id=intent.signal_id, strategy=intent.strategy, symbol=intent.symbol,
                               side=intent.side, notional=1.0, leverage=intent.leverage or 1.0,
                               price=intent.price, stop_price=intent.stop_price, confidence=intent.confidence,
                               expected_rr=intent.expected_rr, source=intent.source, ts_ms=intent.ts_ms)
        detail = engine.refuse(stand_in, LEDGER_UNAVAILABLE)
        detail["requested"] = {"notional": None, "qty": None, "leverage": intent.leverage, "price": intent.price}
        detail["sized"] = {"notional": None, "qty": None, "leverage": intent.leverage}
    detail["error"] = message
    return detail

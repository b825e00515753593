"""One process's binding of the engine to the shared ledger: the atomic reserve -> fill / release /
close protocol (``RiskGate``), the stored encoding of each decision's book, and decision replay."""

from riskguard.runtime.gate import LEDGER_UNAVAILABLE, RiskGate
from riskguard.runtime.replay import ReplayResult, replay_decision, replay_record

__all__ = [
    "LEDGER_UNAVAILABLE",
    "ReplayResult",
    "RiskGate",
    "replay_decision",
    "replay_record",
]

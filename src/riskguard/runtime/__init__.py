"""One process's binding of the engine to the shared ledger: the atomic reserve -> fill / release /
close protocol (``RiskGate``), the stored encoding of each decision's book, and decision replay."""

from riskguard.runtime.gate import RiskGate
from riskguard.runtime.replay import ReplayResult, replay_decision, replay_record
from riskguard.runtime.unavailable import LEDGER_UNAVAILABLE

__all__ = [
    "LEDGER_UNAVAILABLE",
    "ReplayResult",
    "RiskGate",
    "replay_decision",
    "replay_record",
]

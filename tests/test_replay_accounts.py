"""The replay's account behind one interface: with the ledger in the loop every signal is decided
once, and that decision is the one stored."""

from __future__ import annotations

from typing import Any

import pytest

from riskguard.config import preset
from riskguard.engine.engine import RiskEngine
from riskguard.engine.verdict import Verdict
from riskguard.replay.accounts import LedgerAccount
from riskguard.replay.market import MarketData, synthetic_market
from riskguard.replay.runner import ReplayOptions, run_replay
from riskguard.replay.strategies import Breakout, EmaTrend
from riskguard.runtime import replay_decision


@pytest.fixture(scope="module")
def sample() -> MarketData:
    return synthetic_market(days=20)


def _count_decisions(monkeypatch: pytest.MonkeyPatch) -> list[Verdict]:
    verdicts: list[Verdict] = []
    decide = RiskEngine.decide

    def counted(self: RiskEngine, *args: Any, **kwargs: Any) -> Verdict:
        verdict = decide(self, *args, **kwargs)
        verdicts.append(verdict)
        return verdict

    monkeypatch.setattr(RiskEngine, "decide", counted)
    return verdicts


@pytest.mark.parametrize("use_ledger", [True, False])
def test_every_signal_is_decided_once(sample: MarketData, monkeypatch: pytest.MonkeyPatch, use_ledger: bool) -> None:
    verdicts = _count_decisions(monkeypatch)
    result = run_replay(preset("moderate"), sample, strategies=[EmaTrend(), Breakout()],
                        options=ReplayOptions(use_ledger=use_ledger))
    assert len(result.decisions) > 0 and len(verdicts) == len(result.decisions)
    assert [v.veto for v in verdicts] == [not d.approved for d in result.decisions]


def test_with_the_ledger_each_decision_is_stored_once_and_replays(sample: MarketData,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Every signal's one decision is the stored one, and re-running it from its stored inputs gives
    the same verdict, reasons, sizes and checks. Only ``policy`` may differ: the replay feeds the
    policy engine regimes and closed trades, which stored inputs do not carry (as before this
    change: a live gate's policy state is not stored either)."""
    seen: dict[str, Any] = {}
    close = LedgerAccount.close

    def inspected(self: LedgerAccount) -> None:
        records = self.gate.ledger.decisions(limit=1_000_000)
        seen["stored"] = len(records)
        seen["signals"] = sum("signal" in r.inputs for r in records)
        seen["differences"] = {d for r in records for d in replay_decision(self.gate.ledger, r.decision_id).differences}
        close(self)

    monkeypatch.setattr(LedgerAccount, "close", inspected)
    result = run_replay(preset("moderate"), sample, strategies=[EmaTrend(), Breakout()])
    assert seen["stored"] == seen["signals"] == len(result.decisions)
    assert seen["differences"] <= {"policy"}

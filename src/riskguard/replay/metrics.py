"""Summary statistics of a replay: return, drawdown, Sharpe, trades, pass rate, vetoes and resizes."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from riskguard.replay.runner import ReplayResult

DAY_MS = 86_400_000
DAYS_PER_YEAR = 365.0  # crypto trades every day


@dataclass(frozen=True, slots=True)
class Summary:
    """Headline numbers (fractions, not percent; USDT where stated)."""

    start_nav: float
    end_nav: float
    total_return: float
    max_drawdown: float
    sharpe: float
    trades: int
    win_rate: float | None
    average_r: float | None
    fees_usdt: float
    funding_usdt: float
    signals: int
    decisions: int
    approved: int
    vetoed: int
    resized: int
    pass_rate: float | None
    max_exposure_nav: float
    vetoes_by_reason: dict[str, int]
    resizes_by_gate: dict[str, int]
    binding_gate: str | None
    skipped: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {f: getattr(self, f) for f in self.__slots__}


def drawdown_curve(equity: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Drawdown from the running peak at every point, fraction (0 = at a peak)."""
    peak = np.maximum.accumulate(equity)
    return np.where(peak > 0.0, (peak - equity) / peak, 0.0)


def daily_sharpe(timeline_ms: npt.NDArray[np.int64], equity: npt.NDArray[np.float64]) -> float:
    """Annualised Sharpe ratio of daily returns (UTC days, last equity of each day, risk-free 0)."""
    if equity.size < 2:
        return 0.0
    days = timeline_ms // DAY_MS
    last_of_day = np.flatnonzero(np.diff(days)) if days.size > 1 else np.array([], dtype=np.int64)
    closes = np.concatenate(([equity[0]], equity[last_of_day], [equity[-1]]))
    returns = np.diff(closes) / closes[:-1]
    if returns.size < 2:
        return 0.0
    sd = float(np.std(returns, ddof=1))
    if not math.isfinite(sd) or sd <= 0.0:
        return 0.0
    return float(np.mean(returns)) / sd * math.sqrt(DAYS_PER_YEAR)


def binding_counts(result: ReplayResult) -> Counter[str]:
    """How often each gate bound: every veto reason of every decision, plus the gate that clamped
    each resized approval."""
    counts: Counter[str] = Counter()
    for d in result.decisions:
        counts.update(d.reasons)
        if d.resized and d.clamped_by:
            counts[d.clamped_by] += 1
    return counts


def summarize(result: ReplayResult) -> Summary:
    """Headline statistics of ``result``."""
    equity = result.equity
    start = result.options.nav
    end = float(equity[-1]) if equity.size else start
    decisions = result.decisions
    approved = sum(1 for d in decisions if d.approved)
    resized = sum(1 for d in decisions if d.resized)
    vetoes: Counter[str] = Counter(r for d in decisions if not d.approved for r in d.reasons)
    resizes: Counter[str] = Counter(d.clamped_by for d in decisions if d.resized and d.clamped_by)
    bound = binding_counts(result)
    trades = result.trades
    wins = sum(1 for t in trades if t.net_usdt > 0.0)
    exposure = np.divide(result.exposure, equity, out=np.zeros_like(equity), where=equity > 0.0)
    skipped = dict(result.skipped)
    return Summary(
        start_nav=start,
        end_nav=end,
        total_return=end / start - 1.0,
        max_drawdown=float(drawdown_curve(equity).max()) if equity.size else 0.0,
        sharpe=daily_sharpe(result.timeline_ms, equity),
        trades=len(trades),
        win_rate=wins / len(trades) if trades else None,
        average_r=math.fsum(t.net_r for t in trades) / len(trades) if trades else None,
        fees_usdt=math.fsum(t.fees_usdt for t in trades),
        funding_usdt=math.fsum(t.funding_usdt for t in trades),
        signals=len(decisions) + sum(skipped.values()),
        decisions=len(decisions),
        approved=approved,
        vetoed=len(decisions) - approved,
        resized=resized,
        pass_rate=approved / len(decisions) if decisions else None,
        max_exposure_nav=float(exposure.max()) if exposure.size else 0.0,
        vetoes_by_reason=dict(sorted(vetoes.items(), key=lambda kv: (-kv[1], kv[0]))),
        resizes_by_gate=dict(sorted(resizes.items(), key=lambda kv: (-kv[1], kv[0]))),
        binding_gate=min(bound.items(), key=lambda kv: (-kv[1], kv[0]))[0] if bound else None,
        skipped=skipped,
    )


def _by_count(counts: Counter[str]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def pyramiding_summary(result: ReplayResult) -> dict[str, Any]:
    """Adds and stop moves of a replay run with ``--pyramid`` / ``--dynamic-stops``: add requests,
    approved, resized, vetoed (a veto counts once per reason), trades by number of adds, stop
    moves by reason (``lock``, ``chandelier``, ``add``, ``break_even``, ``trailing``)."""
    adds = result.adds
    approved = [a for a in adds if a.approved]
    vetoes: Counter[str] = Counter(r for a in adds if not a.approved for r in a.reasons)
    per_trade: Counter[str] = Counter(str(sum(1 for a in t.adds if a.approved)) for t in result.trades)
    moves: Counter[str] = Counter(m.reason for t in result.trades for m in t.stop_path)
    return {
        "add_requests": len(adds),
        "adds_approved": len(approved),
        "adds_resized": sum(1 for a in approved if a.resized),
        "adds_vetoed": len(adds) - len(approved),
        "add_vetoes_by_reason": _by_count(vetoes),
        "trades_with_adds": sum(1 for t in result.trades if any(a.approved for a in t.adds)),
        "trades_by_adds": dict(sorted(per_trade.items(), key=lambda kv: int(kv[0]))),
        "stop_moves": sum(moves.values()),
        "stop_moves_by_reason": _by_count(moves),
        "trades_with_stop_moves": sum(1 for t in result.trades if t.stop_path),
    }

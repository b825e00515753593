"""From (regime, risk state, symbol performance, ladder state) to a TradingPolicy: pure rules.

The posture's policy section is compiled once into ``PolicyRules`` (plain floats, no pydantic) so
computing a policy costs a handful of comparisons.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from riskguard.config.policy_schema import PolicySection
from riskguard.model.enums import ExitMode, Regime, RiskProfile, TradingState
from riskguard.policy.drawdown import DrawdownWindow
from riskguard.policy.ladder import LadderState
from riskguard.policy.risk_state import SymbolPerformance
from riskguard.policy.trading_policy import TradingPolicy

MAX_MULTIPLIER = 1.0


@dataclass(frozen=True, slots=True)
class RegimeRule:
    """Compiled per-regime rule: policy multiplier, max positions, min confidence (0..1), exit mode."""

    risk_multiplier: float
    max_positions: int
    min_confidence: float
    exit_mode: ExitMode


@dataclass(frozen=True, slots=True)
class DrawdownStep:
    window: DrawdownWindow
    threshold_pct: float
    multiplier: float


@dataclass(frozen=True, slots=True)
class PerformanceRule:
    min_trades: int
    poor_win_rate: float
    poor_avg_r: float
    poor_multiplier: float
    block_win_rate: float
    block_avg_r: float

    def is_blocked(self, perf: SymbolPerformance) -> bool:
        """Enough trades, and both win rate and average R at the block level."""
        return (perf.trades >= self.min_trades and perf.win_rate < self.block_win_rate
                and perf.avg_r <= self.block_avg_r)

    def is_poor(self, perf: SymbolPerformance) -> bool:
        """Enough trades, and either the win rate or the average R at the poor level."""
        return perf.trades >= self.min_trades and (
            perf.win_rate < self.poor_win_rate or perf.avg_r <= self.poor_avg_r)


@dataclass(frozen=True, slots=True)
class PolicyRules:
    """The policy section compiled to plain values."""

    regimes: Mapping[Regime, RegimeRule]
    strictest: RegimeRule
    unknown_regime_blocks: bool
    min_multiplier: float
    drawdown_steps: tuple[DrawdownStep, ...]
    streak_steps: tuple[tuple[int, float], ...]
    reduced_profile_regimes: frozenset[Regime]
    performance: PerformanceRule

    @classmethod
    def from_section(cls, section: PolicySection) -> PolicyRules:
        regimes = {}
        for regime in Regime:
            rule = section.regimes.for_regime(regime)
            regimes[regime] = RegimeRule(rule.risk_multiplier, rule.max_positions, rule.min_confidence,
                                         ExitMode(rule.exit_mode))
        red = section.reductions
        perf = red.performance
        return cls(
            regimes=regimes,
            strictest=_strictest(regimes.values()),
            unknown_regime_blocks=section.unknown_regime_blocks,
            min_multiplier=red.min_multiplier,
            drawdown_steps=tuple(DrawdownStep(DrawdownWindow(s.window), s.threshold_pct, s.multiplier)
                                 for s in red.drawdown_steps),
            streak_steps=tuple((s.min_losses, s.multiplier) for s in red.losing_streak_steps),
            reduced_profile_regimes=frozenset(red.reduced_profile_regimes),
            performance=PerformanceRule(perf.min_trades, perf.poor_win_rate, perf.poor_avg_r,
                                        perf.poor_multiplier, perf.block_win_rate, perf.block_avg_r),
        )

    def drawdown_reduction(self, drawdowns: Mapping[DrawdownWindow, float]) -> DrawdownStep | None:
        """The reached drawdown step with the smallest multiplier (None when none is reached)."""
        best: DrawdownStep | None = None
        for step in self.drawdown_steps:
            reached = drawdowns[step.window] >= step.threshold_pct
            if reached and (best is None or step.multiplier < best.multiplier):
                best = step
        return best

    def streak_multiplier(self, losing_streak: int) -> float:
        """Multiplier of the longest streak step reached (1.0 when none)."""
        multiplier = MAX_MULTIPLIER
        for min_losses, step_multiplier in self.streak_steps:
            if losing_streak >= min_losses:
                multiplier = step_multiplier
        return multiplier


def _strictest(rules: Iterable[RegimeRule]) -> RegimeRule:
    items = list(rules)
    exit_mode = ExitMode.TIGHT if any(r.exit_mode is ExitMode.TIGHT for r in items) else ExitMode.STANDARD
    return RegimeRule(min(r.risk_multiplier for r in items), min(r.max_positions for r in items),
                      max(r.min_confidence for r in items), exit_mode)


@dataclass(frozen=True, slots=True)
class PolicyInputs:
    """Everything one symbol's policy depends on; drawdowns are fractions of each window's NAV peak."""

    symbol: str
    regime: Regime | None
    in_universe: bool
    allowed_symbols: tuple[str, ...]
    performance: SymbolPerformance
    losing_streak: int
    drawdowns: Mapping[DrawdownWindow, float]
    ladder: LadderState


def symbol_signature(rules: PolicyRules, symbol: str, regime: Regime | None, in_universe: bool,
                     performance: SymbolPerformance) -> tuple[object, ...]:
    """The symbol's own part of :func:`policy_signature`: its regime, universe membership, and its
    performance only when poor or blocked (then quoted in the notes)."""
    perf_rule = rules.performance
    quoted = perf_rule.is_blocked(performance) or perf_rule.is_poor(performance)
    return (symbol, regime, in_universe,
            (performance.trades, performance.win_rate, performance.avg_r) if quoted else None)


def account_signature(rules: PolicyRules, allowed_symbols: tuple[str, ...], losing_streak: int,
                      drawdowns: Mapping[DrawdownWindow, float], ladder: LadderState) -> tuple[object, ...]:
    """The account-wide part of :func:`policy_signature`, the same for every symbol at one moment:
    the allowed symbols, the reached drawdown step and that window's drawdown (quoted in the note),
    the streak multiplier and the streak's length when it reduces (quoted), the ladder state."""
    step = rules.drawdown_reduction(drawdowns)
    streak = rules.streak_multiplier(losing_streak)
    return (allowed_symbols, step, None if step is None else drawdowns[step.window],
            streak, losing_streak if streak < MAX_MULTIPLIER else None, ladder)


def policy_signature(inputs: PolicyInputs, rules: PolicyRules) -> tuple[object, ...]:
    """Every value :func:`compute_policy` reads from ``inputs``, reduced to what it can tell apart:
    equal signatures (under the same ``rules``) give equal policies, so a cached policy whose
    signature is unchanged need not be recomputed.

    Floats are compared with ``==``; none of them can be -0.0 (drawdowns are (peak - nav) / peak
    with nav <= peak, win rates and average R are running sums over counts), which would compare
    equal to 0.0 but print differently. Keep this in step with compute_policy
    (tests/test_policy_rules.py checks the implication).
    """
    return (symbol_signature(rules, inputs.symbol, inputs.regime, inputs.in_universe, inputs.performance),
            account_signature(rules, inputs.allowed_symbols, inputs.losing_streak, inputs.drawdowns,
                              inputs.ladder))


def drawdown_haircut(step: DrawdownStep | None, drawdowns: Mapping[DrawdownWindow, float],
                     ladder: LadderState) -> tuple[float, str]:
    """The one drawdown haircut (multiplier in (0, 1]) and its note.

    The policy's reached drawdown step and the ladder's ``reduce_size`` rung measure the same loss,
    so the stronger of the two applies, never their product; and a drawdown shrinks size through
    this multiplier only, not through the risk profile as well (REQUIREMENTS E: weekly 7 % -> reduce
    size 50 %, once).
    """
    ladder_text = f"drawdown ladder ({', '.join(ladder.active)})"
    if step is None or ladder.size_multiplier < step.multiplier:
        if ladder.size_multiplier >= MAX_MULTIPLIER:
            return MAX_MULTIPLIER, ""
        also = "" if step is None else f"; the {step.window.value} drawdown step is covered by it"
        return ladder.size_multiplier, f"{ladder_text} reducing size (x{ladder.size_multiplier:g}){also}"
    note = (f"{step.window.value} drawdown {drawdowns[step.window]:.2%} reached {step.threshold_pct:.2%}, "
            f"reducing risk (x{step.multiplier:g})")
    if ladder.size_multiplier < MAX_MULTIPLIER:
        note += f"; the {ladder_text} size reduction is covered by it"
    return step.multiplier, note


def compute_policy(inputs: PolicyInputs, rules: PolicyRules) -> TradingPolicy:
    """The TradingPolicy for one symbol. Every reduction appends its reason to ``notes``."""
    notes: list[str] = []
    regime = inputs.regime
    if regime is None:
        rule = rules.strictest
        notes.append("regime unknown (no candles yet), applying the strictest regime rule")
    else:
        rule = rules.regimes[regime]
    multiplier = rule.risk_multiplier
    if multiplier < MAX_MULTIPLIER:
        detected = "regime unknown" if regime is None else f"{regime.value} regime detected"
        notes.append(f"{detected}, reducing risk (x{multiplier:g})")

    reduced = regime in rules.reduced_profile_regimes
    ladder = inputs.ladder
    haircut, note = drawdown_haircut(rules.drawdown_reduction(inputs.drawdowns), inputs.drawdowns, ladder)
    if haircut < MAX_MULTIPLIER:
        multiplier *= haircut
        notes.append(note)

    streak_multiplier = rules.streak_multiplier(inputs.losing_streak)
    if streak_multiplier < MAX_MULTIPLIER:
        multiplier *= streak_multiplier
        notes.append(f"losing streak of {inputs.losing_streak} trades, "
                     f"reducing risk (x{streak_multiplier:g})")

    perf, perf_rule = inputs.performance, rules.performance
    symbol_allowed = inputs.in_universe
    if not inputs.in_universe:
        notes.append(f"{inputs.symbol} is not in the posture's allowed symbols")
    summary = f"win rate {perf.win_rate:.0%}, average R {perf.avg_r:+.2f} over {perf.trades} trades"
    if perf_rule.is_blocked(perf):
        symbol_allowed = False
        notes.append(f"{inputs.symbol} performance too poor ({summary}), symbol disallowed")
    elif perf_rule.is_poor(perf):
        multiplier *= perf_rule.poor_multiplier
        notes.append(f"{inputs.symbol} performing poorly ({summary}), reducing risk "
                     f"(x{perf_rule.poor_multiplier:g})")


    if multiplier < rules.min_multiplier:
        notes.append(f"risk multiplier {multiplier:.3g} floored at {rules.min_multiplier:g}")
    multiplier = min(MAX_MULTIPLIER, max(rules.min_multiplier, multiplier))

    allow_new_trades = True
    if ladder.trading_state is not TradingState.ACTIVE:
        allow_new_trades = False
        notes.append(f"drawdown ladder ({', '.join(ladder.active)}): trading {ladder.trading_state.value}, "
                     "no new trades")
    if regime is None and rules.unknown_regime_blocks:
        allow_new_trades = False
        notes.append("regime unknown, no new trades (fail closed)")
    if ladder.mode is not None:
        notes.append(f"drawdown ladder switched the mode to {ladder.mode.value}")

    if not allow_new_trades:
        profile = RiskProfile.NO_NEW_TRADES
    elif reduced:
        profile = RiskProfile.REDUCED
    else:
        profile = RiskProfile.NORMAL

    return TradingPolicy(
        symbol=inputs.symbol,
        regime=regime,
        symbol_allowed=symbol_allowed,
        allowed_symbols=inputs.allowed_symbols,
        min_confidence=rule.min_confidence,
        max_risk_pct=multiplier,
        risk_profile=profile,
        max_positions=rule.max_positions,
        allow_new_trades=allow_new_trades,
        exit_mode=rule.exit_mode,
        trading_state=ladder.trading_state,
        mode_override=ladder.mode,
        notes=tuple(notes),
    )

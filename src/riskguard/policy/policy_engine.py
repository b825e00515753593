"""PolicyEngine: holds regimes, risk state and the drawdown ladder; serves cached policies in O(1).

Updates (candles, trades, equity marks) recompute the affected policies eagerly, so the hot-path
lookups ``policy_for`` / ``views_for`` are dictionary reads. A refresh recomputes only the
symbols whose policy inputs changed (``policy_signature``): a trade moves the traded symbol's
performance and the account's streak, which often leaves the other symbols' policies as they were.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from riskguard.config.schema import Posture
from riskguard.model.enums import Regime
from riskguard.model.errors import InputValidationError
from riskguard.model.validation import symbol as normalise_symbol
from riskguard.policy.drawdown import DrawdownWindow
from riskguard.policy.flags import PolicyFlags, PolicyViews, split_policy
from riskguard.policy.ladder import Clock, DrawdownLadder, LadderEvent, LadderState
from riskguard.policy.regime import current_regime, warmup_bars
from riskguard.policy.risk_state import RiskState, SymbolPerformance
from riskguard.policy.rules import (
    PolicyInputs,
    PolicyRules,
    account_signature,
    compute_policy,
    symbol_signature,
)
from riskguard.policy.trading_policy import TradingPolicy

if TYPE_CHECKING:
    import pandas as pd


class PolicyEngine:
    """Per-symbol trading policy from regime, risk state, symbol performance and the posture."""

    __slots__ = ("_allowed", "_cache", "_computed", "_dd_signature", "_flags", "_ladder", "_posture",
                 "_regimes", "_risk", "_rules", "_universe")

    def __init__(self, posture: Posture, clock: Clock | None = None) -> None:
        section = posture.policy
        self._posture = posture
        self._rules = PolicyRules.from_section(section)
        self._flags = PolicyFlags.from_section(section.flags)
        self._universe = frozenset(posture.allowed_symbols)
        self._risk = RiskState(section.reductions.performance.window_trades)
        self._ladder = DrawdownLadder.from_sections(section.drawdown_ladder, clock)
        self._regimes: dict[str, Regime | None] = {}
        self._cache: dict[str, PolicyViews] = {}
        # Per symbol, the signature of the inputs of its last computed policy and that policy's views.
        self._computed: dict[str, tuple[tuple[object, ...], PolicyViews]] = {}
        self._allowed: tuple[str, ...] = ()
        self._dd_signature: tuple[object, ...] = ()
        self._refresh_all()

    # -- reads (hot path) ------------------------------------------------------------------

    def policy_for(self, symbol: str) -> TradingPolicy:
        """The current policy of ``symbol`` (O(1) after the first lookup of a symbol)."""
        return self.views_for(symbol).policy

    def views_for(self, symbol: str) -> PolicyViews:
        """Policy plus its applied and shadow views under the posture's flags."""
        views = self._cache.get(symbol)
        if views is None:
            name = normalise_symbol("symbol", symbol)
            views = self._cache.get(name)
            if views is None:
                views = self._compute(name)
                self._cache[name] = views
            if name != symbol:
                self._cache[symbol] = views  # later lookups in the caller's spelling stay O(1)
        return views

    @property
    def flags(self) -> PolicyFlags:
        return self._flags

    @property
    def ladder_state(self) -> LadderState:
        """The drawdown ladder's current effect, independent of the stage flags."""
        return self._ladder.state

    @property
    def ladder(self) -> DrawdownLadder:
        return self._ladder

    @property
    def risk_state(self) -> RiskState:
        return self._risk

    def regime(self, symbol: str) -> Regime | None:
        """The last regime set for ``symbol`` (None = unknown)."""
        return self._regimes.get(normalise_symbol("symbol", symbol))

    def performance(self, symbol: str) -> SymbolPerformance:
        return self._risk.performance(symbol)

    def status(self) -> dict[str, object]:
        """Stages, ladder state, risk state and every known symbol's policy (for ``riskguard status``)."""
        symbols = sorted(set(self._universe) | set(self._regimes))
        return {
            "flags": self._flags.as_dict(),
            "active_stages": list(self._flags.active_stages()),
            "ladder": {"trading_state": self._ladder.state.trading_state.value,
                       "size_multiplier": self._ladder.state.size_multiplier,
                       "mode": None if self._ladder.state.mode is None else self._ladder.state.mode.value,
                       "active_rungs": list(self._ladder.state.active)},
            "losing_streak": self._risk.losing_streak,
            "drawdowns": {w.value: self._risk.drawdown_pct(w) for w in DrawdownWindow},
            "policies": {s: self.views_for(s).to_dict() for s in symbols},
        }

    # -- updates (periodic) ----------------------------------------------------------------

    def update_regime(self, symbol: str, regime: Regime | None) -> None:
        """Set ``symbol``'s regime (None = unknown, which fails closed)."""
        if regime is not None and not isinstance(regime, Regime):
            raise InputValidationError("regime", "must be a Regime or None", regime)
        name = normalise_symbol("symbol", symbol)
        self._regimes[name] = regime
        self._refresh_symbol(name)

    def update_ohlcv(self, symbol: str, df: pd.DataFrame) -> Regime | None:
        """Detect ``symbol``'s regime on the last bar of ``df`` and store it.

        A frame shorter than the detector's warm-up leaves the regime unknown (None, fail closed).
        A malformed frame raises InputValidationError and also leaves the regime unknown.
        """
        cfg = self._posture.policy.regime
        regime: Regime | None = None
        try:
            if len(df) > warmup_bars(cfg):
                regime = current_regime(df, cfg)
        finally:
            self.update_regime(symbol, regime)
        return regime

    def record_trade(self, symbol: str, pnl_usdt: float, r_multiple: float, ts_ms: int) -> None:
        """Record a closed trade (pnl USDT, R-multiple, close time epoch ms)."""
        performance = self._risk.record_trade(symbol, pnl_usdt, r_multiple, ts_ms)
        self._refresh_after_trade(performance)

    def update_equity(self, ts_ms: int, nav: float) -> tuple[LadderEvent, ...]:
        """Record an equity mark (epoch ms, NAV USDT); returns the ladder events it caused."""
        self._risk.update_equity(ts_ms, nav)
        events = self._ladder.update(nav, ts_ms)
        self._refresh_if_drawdown_changed()
        return events

    def acknowledge(self, rung_name: str | None = None, ts_ms: int | None = None) -> tuple[LadderEvent, ...]:
        """Operator acknowledges ladder rungs (see DrawdownLadder.acknowledge)."""
        events = self._ladder.acknowledge(rung_name, ts_ms)
        self._refresh_if_drawdown_changed()
        return events

    def reset_ladder(self, nav: float, ts_ms: int | None = None) -> LadderEvent:
        """Operator reset of the drawdown ladder (see DrawdownLadder.reset)."""
        event = self._ladder.reset(nav, ts_ms)
        self._refresh_if_drawdown_changed()
        return event

    # -- internals -------------------------------------------------------------------------

    def _drawdowns(self) -> dict[DrawdownWindow, float]:
        return {w: self._risk.drawdown_pct(w) for w in DrawdownWindow}

    def _signature(self, drawdowns: dict[DrawdownWindow, float] | None = None) -> tuple[object, ...]:
        # Policies depend on drawdowns only through the reached step and the ladder state; equity
        # marks that change neither (the common case) leave every cached policy valid.
        return (self._rules.drawdown_reduction(self._drawdowns() if drawdowns is None else drawdowns),
                self._ladder.state)

    def _refresh_if_drawdown_changed(self) -> None:
        if self._signature() != self._dd_signature:
            self._refresh_all()

    def _inputs(self, name: str, drawdowns: dict[DrawdownWindow, float],
                performance: SymbolPerformance | None = None) -> PolicyInputs:
        return PolicyInputs(
            symbol=name,
            regime=self._regimes.get(name),
            in_universe=name in self._universe,
            allowed_symbols=self._allowed,
            performance=self._risk.performance(name) if performance is None else performance,
            losing_streak=self._risk.losing_streak,
            drawdowns=drawdowns,
            ladder=self._ladder.state,
        )

    def _views(self, name: str, drawdowns: dict[DrawdownWindow, float],
               performance: SymbolPerformance | None = None,
               account: tuple[object, ...] | None = None) -> PolicyViews:
        """The views of ``name``'s policy now: the last ones computed for the symbol when their inputs
        had the same signature (``rules.policy_signature``: an equal policy), else freshly computed.
        ``performance`` and ``account`` (the account-wide part of the signature) may be passed in
        when a refresh already has them."""
        if performance is None:
            performance = self._risk.performance(name)
        if account is None:
            account = self._account_signature(drawdowns)
        signature = (symbol_signature(self._rules, name, self._regimes.get(name), name in self._universe,
                                      performance), account)
        computed = self._computed.get(name)
        if computed is not None and computed[0] == signature:
            return computed[1]
        views = self._fresh_views(self._inputs(name, drawdowns, performance))
        self._computed[name] = (signature, views)
        return views

    def _fresh_views(self, inputs: PolicyInputs) -> PolicyViews:
        return split_policy(compute_policy(inputs, self._rules), self._flags)

    def _account_signature(self, drawdowns: dict[DrawdownWindow, float]) -> tuple[object, ...]:
        return account_signature(self._rules, self._allowed, self._risk.losing_streak, drawdowns,
                                 self._ladder.state)

    def _compute(self, name: str, drawdowns: dict[DrawdownWindow, float] | None = None) -> PolicyViews:
        return self._views(name, self._drawdowns() if drawdowns is None else drawdowns)

    def _refresh_symbol(self, name: str) -> None:
        self._cache = {k: v for k, v in self._cache.items() if v.policy.symbol != name}
        self._cache[name] = self._compute(name)

    def _refresh_after_trade(self, performance: SymbolPerformance) -> None:
        """After a trade of ``performance.symbol``: a trade moves that symbol's performance and the
        account's losing streak, nothing else (drawdowns follow equity marks). Unless it changed the
        allowed symbols or the account-wide part of some policy's signature (the streak's multiplier,
        a quoted streak or drawdown), the other symbols' policies are the ones they have, and only the
        traded symbol's is refreshed; otherwise every symbol's (the result is the same as refreshing
        all, with a signature comparison per other symbol instead of its inputs)."""
        name = performance.symbol
        if name in self._universe and (name in self._allowed) == self._rules.performance.is_blocked(performance):
            self._refresh_all()  # the allowed symbols changed
            return
        drawdowns = self._drawdowns()
        account = self._account_signature(drawdowns)
        names = {v.policy.symbol for v in self._cache.values()} | self._universe
        for other in names:
            held = self._computed.get(other)
            if other != name and (held is None or held[0][1] != account):
                self._refresh_all()
                return
        if name in names:
            self._cache = {k: v for k, v in self._cache.items() if v.policy.symbol != name}
            self._cache[name] = self._views(name, drawdowns, performance, account)

    def _refresh_all(self) -> None:
        names = {v.policy.symbol for v in self._cache.values()} | self._universe
        # One performance look-up per symbol serves both the allowed list and the symbol's inputs.
        performance = {name: self._risk.performance(name) for name in names}
        perf_rule = self._rules.performance
        self._allowed = tuple(s for s in sorted(self._universe) if not perf_rule.is_blocked(performance[s]))
        drawdowns = self._drawdowns()
        self._dd_signature = self._signature(drawdowns)
        account = self._account_signature(drawdowns)
        self._cache = {name: self._views(name, drawdowns, performance[name], account) for name in names}

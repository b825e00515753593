"""Caps that can never bind: a posture is valid, but one of its caps is looser than what its other
caps already allow, so the gate it feeds never decides anything (REQUIREMENTS section C: a global
cap of 999 that was "effectively none"). ``riskguard config validate`` prints these as warnings;
``--strict`` makes them a finding (exit 1).

Each rule is a proof from the other caps, never a taste: a trade's notional can never exceed its
symbol's exposure cap, a symbol's exposure never exceeds the gross cap, a strategy holds at most one
position per allowed symbol, and every open position is at least ``trade.min_notional_usdt``.
"""

from __future__ import annotations

from dataclasses import dataclass

from riskguard.config.preset_names import REFERENCE_NAV_USDT
from riskguard.config.schema import DEFAULT_KEY, Posture

__all__ = ["REFERENCE_NAV_USDT", "unbindable_caps"]


@dataclass(frozen=True, slots=True)
class CapWarning:
    """``field`` (dotted posture path) can never bind; ``reason`` says which caps stop first."""

    field: str
    value: float
    reason: str

    def line(self) -> str:
        """One line: ``field = value can never bind: reason``."""
        return f"{self.field} = {self.value:g} can never bind: {self.reason}"


def _tightest(bounds: dict[str, float]) -> tuple[str, float]:
    name = min(bounds, key=lambda k: (bounds[k], k))
    return name, bounds[name]


def unbindable_caps(posture: Posture, nav_usdt: float = REFERENCE_NAV_USDT) -> list[CapWarning]:
    """Every cap of ``posture`` that its other caps make unreachable. Count caps (open positions) are
    judged at ``nav_usdt`` (USDT), since how many positions fit under the exposure caps depends on NAV."""
    warnings: list[CapWarning] = []
    portfolio, trade = posture.portfolio, posture.trade
    gross, same_direction = portfolio.max_gross_nav_multiple, portfolio.max_same_direction_nav_pct

    if same_direction > gross:
        warnings.append(CapWarning("portfolio.max_same_direction_nav_pct", same_direction,
                                   f"one direction's exposure is part of the gross exposure, capped first by "
                                   f"portfolio.max_gross_nav_multiple = {gross:g}"))
    symbol_caps = {sym: (posture.symbols.get(sym) or posture.symbols[DEFAULT_KEY]).max_nav_pct
                   for sym in posture.allowed_symbols}
    for key, section in posture.symbols.items():
        if section.max_nav_pct > gross:
            warnings.append(CapWarning(f"symbols.{key}.max_nav_pct", section.max_nav_pct,
                                       f"a symbol's exposure is part of the gross exposure, capped first by "
                                       f"portfolio.max_gross_nav_multiple = {gross:g}"))

    # A trade's notional is at most its symbol's exposure after the trade, the gross and its direction's cap.
    largest_symbol = max(symbol_caps, key=lambda s: (symbol_caps[s], s))
    trade_bounds = {f"symbols.{largest_symbol if largest_symbol in posture.symbols else DEFAULT_KEY}.max_nav_pct "
                    f"(the loosest allowed symbol, {largest_symbol})": symbol_caps[largest_symbol],
                    "portfolio.max_gross_nav_multiple": gross,
                    "portfolio.max_same_direction_nav_pct": same_direction}
    name, bound = _tightest(trade_bounds)
    if trade.max_trade_nav_pct > bound:
        warnings.append(CapWarning("trade.max_trade_nav_pct", trade.max_trade_nav_pct,
                                   f"no trade can exceed {bound:g} of NAV, the cap of {name}"))
    clamp_bounds = {**trade_bounds, "trade.max_trade_nav_pct": trade.max_trade_nav_pct}
    name, bound = _tightest(clamp_bounds)
    if trade.equity_clamp_nav_pct > bound:
        warnings.append(CapWarning("trade.equity_clamp_nav_pct", trade.equity_clamp_nav_pct,
                                   f"no trade's notional (nor its margin, at leverage >= 1) can exceed {bound:g} "
                                   f"of NAV, the cap of {name}"))

    for group_name, group in portfolio.correlation_groups.items():
        members = [s for s in group.symbols if s in symbol_caps]
        total = sum(symbol_caps[s] for s in members)
        if members and group.max_nav_pct > min(total, gross):
            why = (f"its allowed symbols' caps add up to {total:g} of NAV" if total <= gross
                   else f"portfolio.max_gross_nav_multiple = {gross:g} stops the group first")
            warnings.append(CapWarning(f"portfolio.correlation_groups.{group_name}.max_nav_pct", group.max_nav_pct,
                                       why))

    n_symbols = len(symbol_caps)
    global_cap = portfolio.max_open_positions_high_confidence
    for key, strategy in posture.strategies.items():
        count = strategy.max_concurrent_positions
        if count > n_symbols:
            warnings.append(CapWarning(f"strategies.{key}.max_concurrent_positions", count,
                                       f"a strategy holds at most one position per allowed symbol, and there are "
                                       f"{n_symbols} (allowed_symbols)"))
        elif count > global_cap:
            warnings.append(CapWarning(f"strategies.{key}.max_concurrent_positions", count,
                                       f"portfolio.max_open_positions_high_confidence = {global_cap} stops the "
                                       "whole account first"))

    # Every open position is at least the posture's minimum notional, and all of them fit in the gross cap.
    most_positions = int(gross * nav_usdt // trade.min_notional_usdt)
    for field in ("max_open_positions", "max_open_positions_high_confidence"):
        count = getattr(portfolio, field)
        if count > most_positions:
            binds_from = count * trade.min_notional_usdt / gross
            warnings.append(CapWarning(
                f"portfolio.{field}", count,
                f"at NAV {nav_usdt:,.0f} USDT at most {most_positions} positions fit: gross exposure is capped at "
                f"{gross:g} x NAV and each position is at least trade.min_notional_usdt = "
                f"{trade.min_notional_usdt:g} USDT (it binds only from NAV {binds_from:,.0f} USDT)"))
    return warnings

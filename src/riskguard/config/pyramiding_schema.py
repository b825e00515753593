"""Posture section for pyramiding: when, and by how much, a strategy may add to an open position.

``exits.pyramiding`` is the account's rule; ``strategies.<name>.pyramiding`` replaces it for one
strategy. One R is the opening leg's stop distance, fixed for the life of the position. The engine
enforces the rule on every intent that adds to an open position of its strategy (the gates
``pyramid_*``); riskguard.exits.pyramiding plans adds with the same rule.
"""

from __future__ import annotations

from pydantic import Field

from riskguard.config.field_types import NonNegativeFloat, PositiveFloat, PositiveFraction
from riskguard.config.section import Section


class PyramidingSection(Section):
    """Rules for adding to a winning position: at most ``max_adds`` adds, each once the whole
    position is ``min_profit_r`` R of its initial risk in profit, at least ``min_add_distance_r`` R
    beyond the last leg's fill and ``min_add_interval_s`` after it, each at most ``size_ratio`` of
    the last leg, and the whole position's loss at its (restated) stop at most
    ``max_combined_risk_r`` times the opening leg's risk and at most the per-trade max loss."""

    max_adds: int = Field(2, ge=0, le=20, description="Adds allowed after the first entry (0 = never add).")
    min_profit_r: NonNegativeFloat = Field(
        1.0, description="Unrealised profit of the whole position at the add's price before an add, in units of "
        "the opening leg's risk (R); 0 allows adds at break-even, never below: no averaging down.")
    min_add_distance_r: NonNegativeFloat = Field(
        0.5, description="Favourable move from the last leg's fill price before the next add, in R.")
    min_add_interval_s: NonNegativeFloat = Field(
        900.0, le=30 * 86_400, description="Time since the last leg's fill before the next add, seconds.")
    size_ratio: PositiveFraction = Field(
        0.5, description="Largest add as a fraction of the last leg's quantity (0.5: legs 1, 0.5, 0.25, ...).")
    max_combined_risk_r: PositiveFloat = Field(
        1.0, le=3.0, description="Loss of the whole position at its stop after an add, in units of the opening "
        "leg's risk (1.0 = an add never risks more than the original trade).")
    pause_when_size_reduced: bool = Field(
        True, description="No add while the drawdown ladder or an operator has reduced position size.")

"""Posture sections read by the core gates. Which gate reads which setting is declared by the gates'
specs (``riskguard.gates.registry``), from which ``riskguard config explain`` names them."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from riskguard.config.field_types import (
    Fraction,
    NavFraction,
    NonNegativeFloat,
    PositiveFloat,
    PositiveFraction,
    PositiveInt,
    Seconds,
)
from riskguard.config.pyramiding_schema import PyramidingSection
from riskguard.config.section import Section as Section  # re-exported: the sections' base

Leverage = Annotated[float, Field(ge=1, le=125, allow_inf_nan=False)]
SoftFailures = Annotated[int, Field(ge=0, le=20)]
ClockSkew = Annotated[float, Field(ge=0, le=3_600, allow_inf_nan=False)]
"""Tolerated clock skew between hosts, seconds: 0 (none) up to an hour."""


def described(default: Any, text: str, **kwargs: Any) -> Any:
    """A posture field with its description (shown by ``riskguard config explain``, which names the
    gates that read it from their specs). A callable default is a default factory; ``...`` makes
    the field required."""
    if callable(default):
        return Field(default_factory=default, description=text, **kwargs)
    return Field(default, description=text, **kwargs)


class AccountSection(Section):
    nav_max_age_s: Seconds = described(30.0, "Oldest NAV snapshot accepted, seconds.")
    market_max_age_s: Seconds = described(10.0, "Oldest mark/top-of-book accepted, seconds.")
    max_clock_skew_s: ClockSkew = described(
        5.0,
        "How far in the future (seconds, by this host's clock) a NAV mark may be dated: within it the mark "
        "counts as fresh (age 0); the ledger refuses a mark dated further ahead, and the gate vetoes one.")
    unknown_margin_blocks: bool = described(False,
        "Without a reported available balance, veto new risk (true: fail closed, for accounts fed by an "
        "exchange adapter) or let margin go unchecked with a note (false: NAV-only feeds such as replays).")


class TradeSection(Section):
    max_trade_nav_pct: NavFraction = described(0.20,
        "Largest notional of one trade, fraction of NAV.")
    equity_clamp_nav_pct: NavFraction = described(0.15,
                      "Screener equity clamp: largest notional of one trade (or its initial margin, "
                      "notional / leverage, under equity_clamp_basis: margin), fraction of NAV. The "
                      "reason keeps its historic name trade_gt_10pct_equity.")
    equity_clamp_basis: Literal["notional", "margin"] = described("notional",
                      "What the equity clamp measures: the trade's notional (REQUIREMENTS A: it fires "
                      "only when the proposed notional exceeds the clamp x NAV) or its initial margin.")
    liquidation_buffer_pct: PositiveFraction = described(0.01,
        "Least distance between the stop and the liquidation price, fraction of the entry price: the stop "
        "must trigger that much before liquidation (isolated or cross, from riskguard.math.margin).")
    max_loss_nav_pct: NavFraction = described(0.01,
        "Largest loss at the stop of one trade, fraction of NAV.")
    default_stop_distance_pct: PositiveFraction = described(0.02,
                      "Stop distance assumed when an intent has no stop, fraction of price "
                      "(the decision says the risk was estimated).")
    min_reward_risk: PositiveFloat = described(1.5, "Smallest reward/risk (R multiple) accepted.")
    min_confidence: Fraction = described(0.55, "Smallest signal confidence accepted, 0..1.")
    min_notional_usdt: PositiveFloat = described(5.0,
                     "Posture floor on notional, USDT; the exchange's MIN_NOTIONAL applies as well.")
    max_price_deviation_pct: PositiveFraction = described(0.02,
                      "Largest distance of a limit price from the mark, fraction; the exchange's "
                      "PERCENT_PRICE band applies as well.")
    max_spread_bps: PositiveFloat = described(15.0,
        "Widest bid/ask spread accepted, basis points of mid.")
    max_feed_latency_ms: PositiveFloat = described(2_000.0,
                         "Largest feed latency (exchange event to local receipt, or quote age when "
                         "the exchange time is unknown), ms.")


class SymbolLimitsSection(Section):
    max_nav_pct: NavFraction = described(0.10,
                      "Largest gross exposure in this symbol after the trade, fraction of NAV.")
    max_leverage: Leverage = described(2.0,
        "Largest leverage (x) an order in this symbol may request.")


class StrategyLimitsSection(Section):
    max_concurrent_positions: PositiveInt = described(3,
        "Open positions (plus reservations) of this strategy.")
    cooldown_flat_s: NonNegativeFloat = described(45.0,
        "Seconds between two entries of this strategy while it is flat.")
    cooldown_open_s: NonNegativeFloat = described(300.0,
                       "Seconds between two entries of this strategy while it has open positions.")
    pyramiding: PyramidingSection | None = described(None,
        "This strategy's rules for adding to an open position; unset: the account's exits.pyramiding.")

    @model_validator(mode="after")
    def _open_cooldown_not_shorter(self) -> StrategyLimitsSection:
        if self.cooldown_open_s < self.cooldown_flat_s:
            raise ValueError("cooldown_open_s must be >= cooldown_flat_s (open positions slow trading down)")
        return self


class CorrelationGroupSection(Section):
    symbols: list[str] = Field(min_length=1, description="Symbols whose exposures add up in this group.")
    max_nav_pct: NavFraction = described(...,
        "Largest combined gross exposure of the group, fraction of NAV.")

    @field_validator("symbols")
    @classmethod
    def _upper(cls, value: list[str]) -> list[str]:
        return [s.strip().upper() for s in value]


class PortfolioSection(Section):
    max_open_positions: PositiveInt = described(4,
        "Open positions (plus reservations) of the whole account.")
    max_open_positions_high_confidence: PositiveInt = described(4,
                   "Ceiling for signals at or above high_confidence_threshold; never exceeded.")
    high_confidence_threshold: Fraction = described(0.95,
        "Confidence from which the high-confidence cap applies.")
    max_gross_nav_multiple: NavFraction = described(1.0,
        "Largest gross exposure of all positions, multiple of NAV.")
    max_same_direction_nav_pct: NavFraction = described(0.80,
                      "Largest exposure of all longs (or all shorts), fraction of NAV.")
    max_total_risk_nav_pct: NavFraction = described(0.03,
        "Largest sum of losses at the stops of all positions, fraction of NAV.")
    max_trades_per_day: PositiveInt = described(20, "Risk-adding approvals per UTC day.")
    max_orders_per_window: PositiveInt = described(10, "Approvals within order_rate_window_s.")
    order_rate_window_s: Seconds = described(60.0,
        "Sliding window of the order-rate limit, seconds.")
    daily_drawdown_halt_pct: PositiveFraction = described(0.03,
        "Daily drawdown from the UTC day's NAV high that halts new risk.")
    max_cvar_nav_pct: PositiveFraction = described(0.02,
        "Largest historical CVaR of the portfolio with the new position, one period of the fed returns, "
        "fraction of NAV.")
    cvar_alpha: Annotated[float, Field(ge=0.5, lt=1.0, allow_inf_nan=False)] = described(
        0.95, "Confidence level of the CVaR (0.95 = mean of the worst 5 % of periods).")
    cvar_window: Annotated[int, Field(ge=20, le=100_000)] = described(
        720, "Most recent return periods used per symbol (720 = 30 days of 1h bars).")
    cvar_min_history: Annotated[int, Field(ge=20, le=100_000)] = described(
        100,
        "Fewest return periods needed; with less history CVaR is unknown and counts as a soft failure.")
    correlation_groups: dict[str, CorrelationGroupSection] = Field(
        default_factory=dict, description="Named groups of correlated symbols with a combined cap.")

    @model_validator(mode="after")
    def _high_confidence_cap_not_lower(self) -> PortfolioSection:
        if self.max_open_positions_high_confidence < self.max_open_positions:
            raise ValueError("max_open_positions_high_confidence must be >= max_open_positions")
        return self


class SourcesSection(Section):
    min_credibility: Fraction = described(0.5,
        "Smallest credibility score of a signal source, 0..1.")
    unknown_source_credibility: Fraction = described(0.0,
        "Score given to a source not listed in scores (unknown = untrusted).")
    scores: dict[str, Fraction] = Field(default_factory=dict, description="Credibility per signal source.")


_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_DAYS = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class TradingWindowSection(Section):
    allowed_weekdays: list[_DAYS] = described(lambda: list(_ALL_DAYS),
                                          "UTC weekdays on which new risk may be taken.")
    blackout_utc: list[str] = described(list,
        "UTC HH:MM-HH:MM windows without new risk (may wrap midnight).")

    @field_validator("blackout_utc")
    @classmethod
    def _windows(cls, value: list[str]) -> list[str]:
        for window in value:
            if not _WINDOW.match(window):
                raise ValueError(f"blackout window {window!r} must look like 23:58-00:02")
        return value

    @field_validator("allowed_weekdays")
    @classmethod
    def _some_day(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one weekday must allow trading (use trading_state HALTED to stop)")
        return value


SOFTENABLE_GATES = (
    "rr_below_min",
    "confidence_below_min",
    "source_credibility_low",
    "outside_trading_window",
    "spread_too_wide",
    "feed_latency_too_high",
    "cooldown_active",
    "price_outside_band",
)
"""Gates whose severity a posture may choose. Caps, freshness and state gates are always hard."""


class GatesSection(Section):
    soft: list[str] = Field(
        default_factory=lambda: ["rr_below_min", "confidence_below_min", "source_credibility_low",
                                 "outside_trading_window", "spread_too_wide", "feed_latency_too_high"],
        description="Gates that are soft (warnings) in this posture; all others are hard.")
    max_soft_failures: SoftFailures = Field(
        2, description="Soft failures tolerated; one more vetoes (the decision lists them as warnings).")

    @field_validator("soft")
    @classmethod
    def _only_softenable(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in SOFTENABLE_GATES:
                raise ValueError(f"gate {name!r} cannot be soft; soft-able gates: {', '.join(SOFTENABLE_GATES)}")
        return value

"""Posture sections read by the core gates. Each threshold names the gate that enforces it
(``json_schema_extra={"gate": ...}``) so ``riskguard config explain`` can list them."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from riskguard.config.field_types import (
    Fraction,
    NavFraction,
    NonNegativeFloat,
    PositiveFloat,
    PositiveFraction,
    PositiveInt,
    Seconds,
)

Leverage = Annotated[float, Field(ge=1, le=125, allow_inf_nan=False)]
SoftFailures = Annotated[int, Field(ge=0, le=20)]
ClockSkew = Annotated[float, Field(ge=0, le=3_600, allow_inf_nan=False)]
"""Tolerated clock skew between hosts, seconds: 0 (none) up to an hour."""


def gated(default: Any, gate: str, text: str, **kwargs: Any) -> Any:
    """A posture field enforced by ``gate`` (recorded for ``riskguard config explain``).
    A callable default is a default factory; ``...`` makes the field required."""
    extra: dict[str, Any] = {"gate": gate}
    if callable(default):
        return Field(default_factory=default, description=text, json_schema_extra=extra, **kwargs)
    return Field(default, description=text, json_schema_extra=extra, **kwargs)


class Section(BaseModel):
    """Base of every posture section: unknown keys are errors (a typo must not drop a guard)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class AccountSection(Section):
    nav_max_age_s: Seconds = gated(30.0, "nav_stale", "Oldest NAV snapshot accepted, seconds.")
    market_max_age_s: Seconds = gated(10.0, "market_data_stale", "Oldest mark/top-of-book accepted, seconds.")
    max_clock_skew_s: ClockSkew = gated(
        5.0, "nav_stale",
        "How far in the future (seconds, by this host's clock) a NAV mark may be dated: within it the mark "
        "counts as fresh (age 0); the ledger refuses a mark dated further ahead, and the gate vetoes one.")


class TradeSection(Section):
    max_trade_nav_pct: NavFraction = gated(0.20, "trade_gt_max_trade_nav_pct",
        "Largest notional of one trade, fraction of NAV.")
    equity_clamp_nav_pct: NavFraction = gated(0.15, "trade_gt_10pct_equity",
                      "Screener equity clamp: largest initial margin (notional / leverage) of one trade, "
                      "fraction of NAV. The reason keeps its historic name trade_gt_10pct_equity.")
    max_loss_nav_pct: NavFraction = gated(0.01, "max_loss_exceeded",
        "Largest loss at the stop of one trade, fraction of NAV.")
    default_stop_distance_pct: PositiveFraction = gated(0.02, "max_loss_exceeded",
                      "Stop distance assumed when an intent has no stop, fraction of price "
                      "(the decision says the risk was estimated).")
    min_reward_risk: PositiveFloat = gated(1.5, "rr_below_min", "Smallest reward/risk (R multiple) accepted.")
    min_confidence: Fraction = gated(0.55, "confidence_below_min", "Smallest signal confidence accepted, 0..1.")
    min_notional_usdt: PositiveFloat = gated(5.0, "below_min_notional",
                     "Posture floor on notional, USDT; the exchange's MIN_NOTIONAL applies as well.")
    max_price_deviation_pct: PositiveFraction = gated(0.02, "price_outside_band",
                      "Largest distance of a limit price from the mark, fraction; the exchange's "
                      "PERCENT_PRICE band applies as well.")
    max_spread_bps: PositiveFloat = gated(15.0, "spread_too_wide",
        "Widest bid/ask spread accepted, basis points of mid.")
    max_feed_latency_ms: PositiveFloat = gated(2_000.0, "feed_latency_too_high",
                         "Largest feed latency (exchange event to local receipt, or quote age when "
                         "the exchange time is unknown), ms.")


class SymbolLimitsSection(Section):
    max_nav_pct: NavFraction = gated(0.10, "symbol_nav_cap_exceeded",
                      "Largest gross exposure in this symbol after the trade, fraction of NAV.")
    max_leverage: Leverage = gated(2.0, "leverage_exceeded",
        "Largest leverage (x) an order in this symbol may request.")


class StrategyLimitsSection(Section):
    max_concurrent_positions: PositiveInt = gated(3, "strategy_concurrency_exceeded",
        "Open positions (plus reservations) of this strategy.")
    cooldown_flat_s: NonNegativeFloat = gated(45.0, "cooldown_active",
        "Seconds between two entries of this strategy while it is flat.")
    cooldown_open_s: NonNegativeFloat = gated(300.0, "cooldown_active",
                       "Seconds between two entries of this strategy while it has open positions.")

    @model_validator(mode="after")
    def _open_cooldown_not_shorter(self) -> StrategyLimitsSection:
        if self.cooldown_open_s < self.cooldown_flat_s:
            raise ValueError("cooldown_open_s must be >= cooldown_flat_s (open positions slow trading down)")
        return self


class CorrelationGroupSection(Section):
    symbols: list[str] = Field(min_length=1, description="Symbols whose exposures add up in this group.")
    max_nav_pct: NavFraction = gated(..., "correlated_exposure_exceeded",
        "Largest combined gross exposure of the group, fraction of NAV.")

    @field_validator("symbols")
    @classmethod
    def _upper(cls, value: list[str]) -> list[str]:
        return [s.strip().upper() for s in value]


class PortfolioSection(Section):
    max_open_positions: PositiveInt = gated(4, "global_concurrency_exceeded",
        "Open positions (plus reservations) of the whole account.")
    max_open_positions_high_confidence: PositiveInt = gated(4, "global_concurrency_exceeded",
                   "Ceiling for signals at or above high_confidence_threshold; never exceeded.")
    high_confidence_threshold: Fraction = gated(0.95, "global_concurrency_exceeded",
        "Confidence from which the high-confidence cap applies.")
    max_gross_nav_multiple: NavFraction = gated(1.0, "gross_exposure_exceeded",
        "Largest gross exposure of all positions, multiple of NAV.")
    max_same_direction_nav_pct: NavFraction = gated(0.80, "same_direction_exposure_exceeded",
                      "Largest exposure of all longs (or all shorts), fraction of NAV.")
    max_total_risk_nav_pct: NavFraction = gated(0.03, "total_risk_exceeded",
        "Largest sum of losses at the stops of all positions, fraction of NAV.")
    max_trades_per_day: PositiveInt = gated(20, "daily_trade_limit", "Risk-adding approvals per UTC day.")
    max_orders_per_window: PositiveInt = gated(10, "order_rate_exceeded", "Approvals within order_rate_window_s.")
    order_rate_window_s: Seconds = gated(60.0, "order_rate_exceeded",
        "Sliding window of the order-rate limit, seconds.")
    daily_drawdown_halt_pct: PositiveFraction = gated(0.03, "drawdown_halt",
        "Daily drawdown from the UTC day's NAV high that halts new risk.")
    max_cvar_nav_pct: PositiveFraction = gated(0.02, "cvar_limit_exceeded",
        "Largest historical CVaR of the portfolio with the new position, one period of the fed returns, "
        "fraction of NAV.")
    cvar_alpha: Annotated[float, Field(ge=0.5, lt=1.0, allow_inf_nan=False)] = gated(
        0.95, "cvar_limit_exceeded", "Confidence level of the CVaR (0.95 = mean of the worst 5 % of periods).")
    cvar_window: Annotated[int, Field(ge=20, le=100_000)] = gated(
        720, "cvar_limit_exceeded", "Most recent return periods used per symbol (720 = 30 days of 1h bars).")
    cvar_min_history: Annotated[int, Field(ge=20, le=100_000)] = gated(
        100, "cvar_limit_exceeded",
        "Fewest return periods needed; with less history CVaR is unknown and counts as a soft failure.")
    correlation_groups: dict[str, CorrelationGroupSection] = Field(
        default_factory=dict, description="Named groups of correlated symbols with a combined cap.")

    @model_validator(mode="after")
    def _high_confidence_cap_not_lower(self) -> PortfolioSection:
        if self.max_open_positions_high_confidence < self.max_open_positions:
            raise ValueError("max_open_positions_high_confidence must be >= max_open_positions")
        return self


class SourcesSection(Section):
    min_credibility: Fraction = gated(0.5, "source_credibility_low",
        "Smallest credibility score of a signal source, 0..1.")
    unknown_source_credibility: Fraction = gated(0.0, "source_credibility_low",
        "Score given to a source not listed in scores (unknown = untrusted).")
    scores: dict[str, Fraction] = Field(default_factory=dict, description="Credibility per signal source.")


_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_DAYS = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class TradingWindowSection(Section):
    allowed_weekdays: list[_DAYS] = gated(lambda: list(_ALL_DAYS), "outside_trading_window",
                                          "UTC weekdays on which new risk may be taken.")
    blackout_utc: list[str] = gated(list, "outside_trading_window",
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

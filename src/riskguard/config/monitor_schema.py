"""Posture section for the risk monitor: alert thresholds, webhooks, kill-switch triggers and
retries, and the staged recovery. Defaults are REQUIREMENTS section E.

These settings never change a decision, so they are left out of the posture's config hash
(``riskguard.config.hashing``): tuning an alert keeps every stored decision replayable.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated

from pydantic import Field, field_validator

from riskguard.config.core_schema import Section
from riskguard.config.field_types import PositiveFloat, PositiveFraction, PositiveInt, Seconds

Multiplier = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]


class AlertsSection(Section):
    """When the monitor raises an alert (each a ledger event, a log line and a webhook post)."""

    drawdown_warning_pct: PositiveFraction = Field(
        0.025, description="Daily drawdown from the day's NAV high above which a warning is raised, fraction.")
    risk_consumed_warning: PositiveFloat = Field(
        0.8, description="Total risk at stops / the posture's total-risk cap above which a warning is raised.")
    liquidation_distance_critical: PositiveFraction = Field(
        0.1, description="Distance from mark to liquidation price (fraction of mark) below which an "
                         "alert is critical.")
    margin_usage_warning: PositiveFraction = Field(
        0.8, description="Margin in use / NAV above which a warning is raised.")
    webhooks: list[str] = Field(
        default_factory=list, description="URLs that receive every alert as a JSON POST (http or https).")
    webhook_timeout_s: Seconds = Field(2.0, description="Seconds a webhook may take before the post is abandoned.")

    @field_validator("webhooks")
    @classmethod
    def _http_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"webhook {url!r} must be an http:// or https:// URL")
        return value


class KillSwitchSection(Section):
    """Technical and drawdown triggers of the kill switch, and how its steps are retried."""

    drawdown_pct: PositiveFraction = Field(
        0.05, description="Daily drawdown at which the monitor pulls the kill switch (trigger drawdown), fraction.")
    market_stale_s: Seconds = Field(
        60.0, description="Oldest mark price, seconds, past which the kill switch fires (market_data_stale).")
    exchange_unreachable_s: Seconds = Field(
        30.0, description="Seconds of failed exchange calls after which it fires (exchange_unreachable).")
    ledger_error_count: PositiveInt = Field(
        3, description="Consecutive ledger failures after which it fires (ledger_errors).")
    reconciliation_drift_count: PositiveInt = Field(
        1, description="Reconciliation drifts at or above which it fires (reconciliation_drift).")
    max_attempts: PositiveInt = Field(
        4, description="Tries per cancel / close before a step is reported failed (retried on the next activation).")
    backoff_s: PositiveFloat = Field(0.5, description="First retry delay, seconds; doubled on each retry.")
    backoff_max_s: PositiveFloat = Field(8.0, description="Longest retry delay, seconds.")
    taker_fee: PositiveFraction = Field(
        0.0005, description="Fee rate of a market close (fraction of notional) for the estimated loss.")


class RecoverySection(Section):
    """The staged recovery after a kill switch (``riskguard recover``)."""

    review_window_s: Seconds = Field(
        86_400.0, description="Stored decisions of this many seconds before activation are replayed under "
                              "the fixed posture.")
    size_multipliers: list[Multiplier] = Field(
        default_factory=lambda: [0.25, 0.5, 1.0],
        description="Size multipliers of the gradual reactivation, in order; the last must be 1.0.")
    step_interval_s: Seconds = Field(3_600.0, description="Seconds between reactivation steps.")

    @field_validator("size_multipliers")
    @classmethod
    def _rising_to_one(cls, value: list[float]) -> list[float]:
        if not value or value[-1] != 1.0:
            raise ValueError("must end at 1.0 (full size)")
        if any(a >= b for a, b in pairwise(value)):
            raise ValueError("must rise strictly")
        return value


class MonitorSection(Section):
    """The live risk monitor (``riskguard monitor``), the kill switch and recovery."""

    alerts: AlertsSection = Field(default_factory=AlertsSection)
    kill_switch: KillSwitchSection = Field(default_factory=KillSwitchSection)
    recovery: RecoverySection = Field(default_factory=RecoverySection)

"""Posture section for reconciliation of the ledger with the exchange: what counts as drift, and
how much drift moves the trading state."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from riskguard.config.core_schema import Section
from riskguard.config.field_types import PositiveFraction, Seconds


class ReconcileSection(Section):
    nav_tolerance_pct: PositiveFraction = Field(
        0.005, description="NAV drift reported when the ledger's NAV mark differs from the exchange's margin "
                           "balance by more than this fraction of the exchange's NAV.")
    entry_tolerance_pct: PositiveFraction = Field(
        0.001, description="Entry-price drift reported when the ledger's entry differs from the exchange's by "
                           "more than this fraction of the exchange's entry.")
    order_grace_s: Seconds = Field(
        60.0, description="Seconds an active reservation may have no order on the exchange before reconcile "
                          "reports it (the order is placed after the reservation).")
    expired_lookback_s: Seconds = Field(
        86_400.0, description="Seconds back reconcile looks for reservations that expired while their order "
                              "could still fill.")
    action_drift_pct_nav: PositiveFraction = Field(
        0.01, description="Reconcile sets the trading state to drift_action when the notional of all position and "
                          "order drift exceeds this fraction of the exchange's NAV.")
    action_nav_drift_pct: PositiveFraction = Field(
        0.02, description="Reconcile sets the trading state to drift_action when the ledger's NAV is off the "
                          "exchange's by more than this fraction.")
    drift_action: Literal["REDUCING", "HALTED"] = Field(
        "REDUCING", description="Trading state set when drift exceeds the action tolerance (never loosened: a "
                                "HALTED account stays HALTED).")
    unattributed_strategy: str = Field(
        "unattributed", min_length=1, description="Strategy under which --apply books an exchange position that "
                                                  "no single strategy of the ledger holds.")

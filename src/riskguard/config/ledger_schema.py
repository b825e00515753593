"""Posture section for the ledger: reservation lifetime."""

from __future__ import annotations

from pydantic import Field

from riskguard.config.core_schema import Section
from riskguard.config.field_types import Seconds


class LedgerSection(Section):
    reservation_ttl_s: Seconds = Field(
        30.0, description="Seconds an approved reservation counts against the caps before it expires unfilled.")

"""The shipped presets' names and reference NAV, apart from the schema so that help texts need not
import pydantic."""

PRESETS = ("conservative", "moderate", "aggressive")
"""Shipped postures, from the tightest to the loosest (files in ``riskguard/config/presets/``)."""

REFERENCE_NAV_USDT = 4_400.0
"""The NAV the presets were written for (REQUIREMENTS section A's fund): where count caps are judged
when no NAV is given (``riskguard config validate``)."""

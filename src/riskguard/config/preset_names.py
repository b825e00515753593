"""The shipped presets' names, apart from the schema so that help texts need not import pydantic."""

PRESETS = ("conservative", "moderate", "aggressive")
"""Shipped postures, from the tightest to the loosest (files in ``riskguard/config/presets/``)."""

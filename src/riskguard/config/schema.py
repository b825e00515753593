"""The risk posture: one pydantic model, every threshold in one place."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from riskguard.config.core_schema import (
    AccountSection,
    GatesSection,
    PortfolioSection,
    Section,
    SourcesSection,
    StrategyLimitsSection,
    SymbolLimitsSection,
    TradeSection,
    TradingWindowSection,
)
from riskguard.config.exchange_schema import ReconcileSection
from riskguard.config.exits_schema import ExitsSection
from riskguard.config.ledger_schema import LedgerSection
from riskguard.config.monitor_schema import MonitorSection
from riskguard.config.policy_schema import PolicySection
from riskguard.config.sizing_schema import SizingSection
from riskguard.model.enums import Mode

DEFAULT_KEY = "default"


class Posture(Section):
    """A complete risk posture. ``symbols`` and ``strategies`` must each have a ``default`` entry,
    which applies to every symbol / strategy not named."""

    name: str = Field("custom", min_length=1)
    description: str = ""
    mode: Mode = Mode.LIVE
    allowed_symbols: list[str] = Field(min_length=1, description="Symbols on which new risk may be taken.")
    resize_to_fit: bool = Field(
        False, description="Shrink an intent vetoed only by size-bound gates to max_notional_allowed.")
    account: AccountSection = Field(default_factory=AccountSection)
    trade: TradeSection = Field(default_factory=TradeSection)
    symbols: dict[str, SymbolLimitsSection]
    strategies: dict[str, StrategyLimitsSection]
    portfolio: PortfolioSection = Field(default_factory=PortfolioSection)
    sources: SourcesSection = Field(default_factory=SourcesSection)
    trading_window: TradingWindowSection = Field(default_factory=TradingWindowSection)
    gates: GatesSection = Field(default_factory=GatesSection)
    sizing: SizingSection = Field(default_factory=SizingSection)
    policy: PolicySection = Field(default_factory=PolicySection)
    exits: ExitsSection = Field(default_factory=ExitsSection)
    ledger: LedgerSection = Field(default_factory=LedgerSection)
    reconcile: ReconcileSection = Field(default_factory=ReconcileSection)
    monitor: MonitorSection = Field(default_factory=MonitorSection)

    @field_validator("allowed_symbols")
    @classmethod
    def _upper_symbols(cls, value: list[str]) -> list[str]:
        return [s.strip().upper() for s in value]

    @field_validator("symbols")
    @classmethod
    def _symbol_keys(cls, value: dict[str, SymbolLimitsSection]) -> dict[str, SymbolLimitsSection]:
        normalised = {(k if k == DEFAULT_KEY else k.strip().upper()): v for k, v in value.items()}
        if DEFAULT_KEY not in normalised:
            raise ValueError("needs a 'default' entry (limits for symbols not named)")
        return normalised

    @field_validator("strategies")
    @classmethod
    def _strategy_default(cls, value: dict[str, StrategyLimitsSection]) -> dict[str, StrategyLimitsSection]:
        if DEFAULT_KEY not in value:
            raise ValueError("needs a 'default' entry (limits for strategies not named)")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Posture:
        sizing = self.sizing
        if sizing.min_risk_pct > sizing.max_risk_pct:
            raise ValueError("sizing.min_risk_pct must be <= sizing.max_risk_pct")
        if sizing.min_position_usdt > sizing.max_position_usdt:
            raise ValueError("sizing.min_position_usdt must be <= sizing.max_position_usdt")
        return self

"""Load the exchange's instrument rules and leverage brackets into an engine, replacing the shipped
snapshot (``riskguard/data/binance_usdm_instruments.json``) for the symbols the exchange lists."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from riskguard.exchange.errors import InstrumentUnknown
from riskguard.exchange.protocol import Exchange
from riskguard.model.instrument import InstrumentRules
from riskguard.model.validation import symbol as normal_symbol


class InstrumentSink(Protocol):
    """Anything that takes instrument rules: ``RiskEngine`` (``gate.engine`` for a ``RiskGate``)."""

    def update_instrument(self, rules: InstrumentRules) -> None:
        """Use ``rules`` for its symbol from now on."""
        ...


def load_exchange_rules(exchange: Exchange, sink: InstrumentSink,
                        symbols: Iterable[str] | None = None) -> dict[str, InstrumentRules]:
    """Give ``sink`` the exchange's rules for ``symbols`` (all the exchange lists when None); returns
    them. A requested symbol the exchange does not list raises ``InstrumentUnknown`` before anything
    is changed, so an engine never mixes live and snapshot rules by accident."""
    listed = exchange.instruments()
    wanted = sorted(listed) if symbols is None else [normal_symbol("symbols", s) for s in symbols]
    missing = [s for s in wanted if s not in listed]
    if missing:
        raise InstrumentUnknown(f"{exchange.name} does not list {', '.join(missing)}")
    for name in wanted:
        sink.update_instrument(listed[name])
    return {name: listed[name] for name in wanted}

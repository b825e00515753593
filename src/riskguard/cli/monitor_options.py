"""Options shared by ``riskguard monitor``, ``killswitch`` and ``recover``: which exchange to act
through, who acts, and the clock."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from riskguard.cli import output

if TYPE_CHECKING:  # the exchange package loads only when a command acts through one
    from riskguard.exchange.protocol import Exchange

EXCHANGES = ("none", "binance", "testnet", "paper")

ExchangeOption = Annotated[str, typer.Option(
    "--exchange", envvar="RISKGUARD_EXCHANGE",
    help="Act through: none (the ledger only: halts every process, closes nothing), binance, testnet (Binance "
         "demo trading; credentials from RISKGUARD_BINANCE_API_KEY / _SECRET) or paper (an empty paper account).")]
ActorOption = Annotated[str, typer.Option("--actor", help="Who acts (recorded in every event).")]


DEFAULT_ACTOR = os.environ.get("USER", "cli")
"""The operator's user name, else ``cli``."""


def exchange_for(choice: str) -> Exchange | None:
    """The adapter ``--exchange`` names (None for ``none``); exits 2 on an unknown name."""
    name = choice.strip().lower()
    if name not in EXCHANGES:
        output.fail(f"--exchange must be one of {', '.join(EXCHANGES)}, not {choice!r}")
    if name == "none":
        return None
    from riskguard.cli.exchange_cmd import build_exchange

    return build_exchange(name == "paper", name == "testnet", 0.0)

"""``riskguard exchange instruments | account | positions | orders``: what the exchange adapter sees.

ccxt is imported only when a Binance adapter is built, so the CLI starts fast without it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from riskguard.cli import output
from riskguard.cli.output import ExitCode
from riskguard.model.errors import InputValidationError

if TYPE_CHECKING:
    from riskguard.exchange.protocol import Exchange

PaperOption = Annotated[bool, typer.Option(
    "--paper", help="Use a paper exchange (the shipped instrument snapshot, --paper-balance USDT, no positions).")]
TestnetOption = Annotated[bool, typer.Option(
    "--testnet", help="Use Binance's futures demo-trading hosts (the successor of the futures testnet).")]
PaperBalanceOption = Annotated[float, typer.Option(
    "--paper-balance", help="Wallet balance of the paper exchange, USDT.", min=0.0)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
SymbolOption = Annotated[str | None, typer.Option("--symbol", help="Only this symbol, e.g. BTCUSDT.")]

exchange_app = typer.Typer(
    name="exchange",
    help="What the exchange adapter sees: instrument rules, the account, positions and open orders. Binance "
         "USD-M by default (credentials from RISKGUARD_BINANCE_API_KEY / RISKGUARD_BINANCE_API_SECRET or "
         "RISKGUARD_BINANCE_CREDENTIALS_FILE); --testnet for demo trading; --paper for the paper exchange.",
    epilog="Examples: riskguard exchange instruments --paper --symbol BTCUSDT; riskguard exchange account --testnet "
           "--json. Exit codes: 0 ok, 2 bad input or exchange error.",
    no_args_is_help=True,
)


def build_exchange(paper: bool, testnet: bool, paper_balance: float) -> Exchange:
    """The adapter the options choose (``--paper`` and ``--testnet`` exclude each other)."""
    if paper and testnet:
        output.fail("--paper and --testnet exclude each other")
    if paper:
        from riskguard.engine.instruments import default_instruments
        from riskguard.exchange.paper import PaperExchange

        return PaperExchange(default_instruments(), wallet_balance=paper_balance,
                             clock=lambda: int(time.time() * 1000))
    try:
        from riskguard.exchange.binance import BinanceUsdm
    except ImportError:  # pragma: no cover - ccxt is in the exchange extra
        output.fail("the Binance adapter needs ccxt: pip install 'riskguard[exchange]'")
    return BinanceUsdm.from_environment(testnet=testnet)


@contextmanager
def exchange_errors() -> Iterator[None]:
    """Every exchange or credential problem becomes one redacted ``error:`` line and exit code 2."""
    from riskguard.exchange.errors import ExchangeError  # the exchange package loads on use only

    try:
        yield
    except ModuleNotFoundError as exc:
        output.fail(f"the Binance adapter needs {exc.name}: pip install 'riskguard[exchange]'")
    except (ExchangeError, InputValidationError) as exc:
        output.fail(str(exc), ExitCode.BAD_INPUT)


def _print(rows: list[dict[str, Any]], columns: list[str], title: str, as_json: bool) -> None:
    if as_json:
        output.echo_json(rows)
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(output.cell(row.get(column)) for column in columns))
    output.stdout().print(table)


@exchange_app.command(epilog="Example: riskguard exchange instruments --paper --symbol BTCUSDT --json")
def instruments(paper: PaperOption = False, testnet: TestnetOption = False,
                paper_balance: PaperBalanceOption = 10_000.0, symbol: SymbolOption = None,
                as_json: JsonOption = False) -> None:
    """Instrument rules: tick, step, quantity limits, min notional, PERCENT_PRICE band, leverage brackets."""
    with exchange_errors():
        rules = build_exchange(paper, testnet, paper_balance).instruments()
    wanted = [r for s, r in sorted(rules.items()) if symbol is None or s == symbol.upper()]
    if symbol is not None and not wanted:
        output.fail(f"--symbol: {symbol} is not listed by the exchange")
    rows = []
    for rule in wanted:
        row = {name: getattr(rule, name) for name in rule.__slots__ if name != "brackets"}
        row["brackets"] = [{"notional_cap": b.notional_cap, "max_leverage": b.max_leverage,
                            "maintenance_margin_rate": b.maintenance_margin_rate,
                            "maintenance_amount": b.maintenance_amount} for b in rule.brackets]
        rows.append(row)
    if not as_json:
        for row in rows:
            row["band"] = f"{row['percent_price_down']:g}-{row['percent_price_up']:g}"
            row["brackets"] = len(row["brackets"])
    title = "Instrument rules"
    if paper:
        from riskguard.engine.instruments import snapshot_as_of

        title += f" (shipped snapshot as of {snapshot_as_of()})"
    _print(rows, ["symbol", "tick_size", "step_size", "min_qty", "max_qty", "market_max_qty", "min_notional", "band",
                  "max_leverage", "brackets"], title, as_json)


@exchange_app.command(epilog="Example: riskguard exchange account --testnet --json")
def account(paper: PaperOption = False, testnet: TestnetOption = False,
            paper_balance: PaperBalanceOption = 10_000.0, as_json: JsonOption = False) -> None:
    """The futures account: margin balance (NAV), wallet, available balance, unrealised PnL (USDT)."""
    with exchange_errors():
        snapshot = build_exchange(paper, testnet, paper_balance).account().to_dict()
    _print([snapshot], list(snapshot), "Account (USDT)", as_json)


@exchange_app.command(epilog="Example: riskguard exchange positions --testnet")
def positions(paper: PaperOption = False, testnet: TestnetOption = False,
              paper_balance: PaperBalanceOption = 10_000.0, as_json: JsonOption = False) -> None:
    """Open positions with entry, mark, liquidation price, margin and unrealised PnL."""
    with exchange_errors():
        rows = [p.to_dict() for p in build_exchange(paper, testnet, paper_balance).positions()]
    _print(rows, ["symbol", "side", "qty", "entry_price", "mark_price", "liquidation_price", "margin",
                  "maintenance_margin", "unrealized_pnl", "leverage", "margin_mode"], "Positions", as_json)


@exchange_app.command(epilog="Example: riskguard exchange orders --symbol BTCUSDT --json")
def orders(paper: PaperOption = False, testnet: TestnetOption = False,
           paper_balance: PaperBalanceOption = 10_000.0, symbol: SymbolOption = None,
           as_json: JsonOption = False) -> None:
    """Open orders, regular and conditional (stop, take-profit, trailing)."""
    with exchange_errors():
        rows = [o.to_dict() for o in build_exchange(paper, testnet, paper_balance).open_orders(symbol)]
    _print(rows, ["symbol", "client_order_id", "type", "side", "qty", "filled_qty", "price", "stop_price",
                  "reduce_only", "close_position", "status"], "Open orders", as_json)

"""The ``riskguard`` command: a Typer app with one module per command group."""

from __future__ import annotations

from typing import Annotated

import typer

from riskguard import __version__
from riskguard.cli.check import CHECK_EPILOG, check
from riskguard.cli.config_cmd import config_app
from riskguard.cli.db_commands import db_app, decisions_app
from riskguard.cli.demo import DEMO_EPILOG, demo
from riskguard.cli.examples_cmd import EXAMPLES_EPILOG, examples
from riskguard.cli.logs import LEVELS, configure_logging
from riskguard.cli.probe import PROBE_EPILOG, probe
from riskguard.cli.replay_cmd import CALIBRATE_EPILOG, REPLAY_EPILOG, calibrate, replay
from riskguard.cli.serve_cmd import SERVE_EPILOG, serve
from riskguard.cli.status_cmd import STATUS_EPILOG, status

app = typer.Typer(
    name="riskguard",
    help="Pre-trade risk and policy engine for Binance USD-M perpetuals.\n\n"
         "Decide on order intents against a risk posture (check), probe what a screener would emit "
         "(probe), manage postures (config), see the policy (status), replay signals over candles "
         "(replay, calibrate, demo) and work with the shared ledger (db, decisions).\n\n"
         "Try: riskguard demo\n\n"
         "Exit codes: 0 approved / would emit / valid, 1 vetoed / nothing would emit / differs, 2 bad input.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        from riskguard.build import hot_path_summary

        typer.echo(f"riskguard {__version__} ({hot_path_summary()})")
        raise typer.Exit()


@app.callback()
def main_options(
    log_level: Annotated[str, typer.Option(
        "--log-level", help=f"Logging level on stderr: {', '.join(LEVELS)}. INFO logs one line per decision "
                            "with the failing gates, observed values and thresholds.",
        case_sensitive=False)] = "WARNING",
    version: Annotated[bool, typer.Option(
        "--version", help="Print the version and exit.", callback=_version, is_eager=True)] = False,
) -> None:
    """Global options, applied before any command."""
    if log_level.upper() not in LEVELS:
        raise typer.BadParameter(f"choose one of {', '.join(LEVELS)}", param_hint="--log-level")
    configure_logging(log_level)


app.command(epilog=CHECK_EPILOG)(check)
app.command(epilog=PROBE_EPILOG)(probe)
app.command(epilog=DEMO_EPILOG)(demo)
app.command(epilog=EXAMPLES_EPILOG)(examples)
app.command(epilog=STATUS_EPILOG)(status)
app.command(epilog=REPLAY_EPILOG)(replay)
app.command(epilog=CALIBRATE_EPILOG)(calibrate)
app.command(epilog=SERVE_EPILOG)(serve)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(decisions_app, name="decisions")


def main() -> None:
    """Console-script entry point (``riskguard``)."""
    app()

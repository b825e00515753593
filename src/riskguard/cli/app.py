"""The ``riskguard`` command: a Typer app with one module per command group."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Annotated, Any

import typer

from riskguard import __version__
from riskguard.cli import output
from riskguard.cli.check import CHECK_EPILOG, check
from riskguard.cli.config_cmd import config_app
from riskguard.cli.db_commands import db_app, decisions_app
from riskguard.cli.demo import DEMO_EPILOG, demo
from riskguard.cli.examples_cmd import EXAMPLES_EPILOG, examples
from riskguard.cli.exchange_cmd import exchange_app
from riskguard.cli.killswitch_cmd import killswitch_app
from riskguard.cli.logs import LEVELS, configure_logging
from riskguard.cli.monitor_cmd import MONITOR_EPILOG, monitor
from riskguard.cli.probe import PROBE_EPILOG, probe
from riskguard.cli.reconcile_cmd import RECONCILE_EPILOG, reconcile_command
from riskguard.cli.recover_cmd import RECOVER_EPILOG, recover
from riskguard.cli.replay_cmd import CALIBRATE_EPILOG, REPLAY_EPILOG, calibrate, replay
from riskguard.cli.serve_cmd import SERVE_EPILOG, serve
from riskguard.cli.status_cmd import STATUS_EPILOG, status
from riskguard.model.errors import RiskguardError

app = typer.Typer(
    name="riskguard",
    help="Pre-trade risk and policy engine for Binance USD-M perpetuals.\n\n"
         "Decide on order intents against a risk posture (check), probe what a screener would emit "
         "(probe), manage postures (config), see the policy (status), replay signals over candles "
         "(replay, calibrate, demo) and work with the shared ledger (db, decisions).\n\n"
         "Example: riskguard demo (then: riskguard check --state example:state_moderate --intent "
         "example:intent_btc)\n\n"
         "Exit codes: 0 approved / would emit / valid, 1 vetoed / nothing would emit / differs, 2 bad input.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"riskguard {__version__}")
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
app.command("reconcile", epilog=RECONCILE_EPILOG)(reconcile_command)
app.add_typer(exchange_app, name="exchange")
app.command(epilog=MONITOR_EPILOG)(monitor)
app.add_typer(killswitch_app, name="killswitch")
app.command(epilog=RECOVER_EPILOG)(recover)


def guarded(command: Callable[..., Any]) -> Callable[..., Any]:
    """``command`` such that whatever it raises reaches the user as one ``error:`` line and exit code
    2, never a traceback (``RISKGUARD_DEBUG=1`` re-raises unexpected errors). Typer's own exits and
    usage errors pass through."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except Exception as exc:
            if type(exc).__module__.startswith("typer"):  # Exit, Abort, BadParameter, ...
                raise
            if os.environ.get(output.DEBUG_ENV) == "1" and not isinstance(exc, RiskguardError | OSError):
                raise
            output.fail(output.error_line(exc))

    return run


def _guard_every_command(typer_app: typer.Typer) -> None:
    for info in typer_app.registered_commands:
        if info.callback is not None:
            info.callback = guarded(info.callback)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _guard_every_command(group.typer_instance)


_guard_every_command(app)


def main() -> None:
    """Console-script entry point (``riskguard``)."""
    app()

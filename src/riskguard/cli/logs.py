"""Logging for the CLI: a Rich handler on stderr at the level chosen by ``--log-level``."""

from __future__ import annotations

import logging

from rich.logging import RichHandler

from riskguard.cli.output import stderr

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_HANDLER_NAME = "riskguard-cli"


def configure_logging(level: str) -> None:
    """Route riskguard's loggers to a Rich handler on stderr at ``level`` (e.g. INFO shows one
    line per decision: verdict, symbol, failing gates with observed and threshold values)."""
    root = logging.getLogger("riskguard")
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = RichHandler(console=stderr(), show_path=False, rich_tracebacks=False, markup=False)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper())

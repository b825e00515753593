"""``riskguard examples``: list or print the shipped example inputs."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from riskguard.cli import output
from riskguard.cli.output import InputFileError
from riskguard.examples import EXAMPLES, read_example

EXAMPLES_EPILOG = ("Examples: riskguard examples; riskguard examples state_moderate > STATE.json\n\n"
                   "Any command taking --state/--intent also accepts example:NAME directly.")


def examples(
    name: Annotated[str | None, typer.Argument(help="Example to print (JSON on stdout).", show_default=False)]
    = None,
) -> None:
    """List the shipped example STATE.json and intents, or print one to copy and edit."""
    if name is not None:
        with output.bad_input_exits():
            try:
                text = read_example(name)
            except KeyError:
                raise InputFileError(name, f"no such example; choose one of {', '.join(EXAMPLES)}") from None
        typer.echo(text.rstrip())
        return
    table = Table(title="shipped examples (use as example:NAME)", title_justify="left")
    table.add_column("name", overflow="fold")
    table.add_column("what", overflow="fold")
    for key, description in EXAMPLES.items():
        table.add_row(key, description)
    output.stdout().print(table)

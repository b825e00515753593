"""``riskguard examples``: list or print the shipped example inputs."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from riskguard.cli import output
from riskguard.cli.output import InputFileError
from riskguard.examples import EXAMPLES, FILE_EXAMPLES, example_names, read_example

EXAMPLES_EPILOG = ("Examples: riskguard examples; riskguard examples state_moderate > STATE.json; "
                   "riskguard examples --json\n\n"
                   "Any command taking --state/--intent/--posture/--grid also accepts example:NAME directly.")


def examples(
    name: Annotated[str | None, typer.Argument(help="Example to print (its file, on stdout).", show_default=False)]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="List the examples as JSON.")] = False,
) -> None:
    """List the shipped examples (STATE.json, intents, a posture, a calibrate grid), or print one to
    copy and edit."""
    if name is not None:
        with output.bad_input_exits():
            try:
                text = read_example(name)
            except KeyError:
                raise InputFileError(name, f"no such example; choose one of {', '.join(example_names())}") from None
        typer.echo(text.rstrip())
        return
    listing = {**EXAMPLES, **{key: description for key, (_, description) in FILE_EXAMPLES.items()}}
    if as_json:
        output.echo_json([{"name": key, "ref": f"example:{key}", "description": description}
                          for key, description in listing.items()])
        return
    table = Table(title="shipped examples (use as example:NAME)", title_justify="left")
    table.add_column("name", overflow="fold")
    table.add_column("what", overflow="fold")
    for key, description in listing.items():
        table.add_row(output.plain(key), output.plain(description))
    output.stdout().print(table)

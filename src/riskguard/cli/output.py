"""Shared rendering for the CLI: consoles, JSON output, verdicts, exit codes and input-error handling."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from riskguard.model.codec import encode_printable
from riskguard.model.errors import InputValidationError, RiskguardError

if TYPE_CHECKING:
    from riskguard.config.errors import PostureError


class ExitCode(IntEnum):
    """Process exit codes shared by every command."""

    OK = 0
    """Approved / would emit / valid / identical."""
    NEGATIVE = 1
    """Vetoed / nothing would emit / postures differ."""
    BAD_INPUT = 2
    """Malformed or missing input (the same code Typer uses for usage errors)."""


class InputFileError(RiskguardError):
    """A CLI input (file, example or option) is missing or malformed. ``str()`` is one line that
    names the source and the offending field."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")


def stdout() -> Console:
    """A console on stdout, created per call so that COLUMNS and test capture are honoured."""
    return Console(highlight=False, soft_wrap=False, emoji=False)


def stderr() -> Console:
    """A console on stderr for errors and logs."""
    return Console(stderr=True, highlight=False, emoji=False)


def fail(message: str, code: ExitCode = ExitCode.BAD_INPUT) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``."""
    print_error(message)
    raise typer.Exit(int(code))


def print_error(message: str) -> None:
    """``error: message`` on stderr, one line: the message exactly as given (file names, fields and
    values may hold ``[...]`` or ``:name:``, which Rich would take for markup or an emoji)."""
    stderr().print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True, highlight=False)


def plain(text: str) -> Text:
    """``text`` for a Rich console or table cell, shown as given (no markup, no emoji codes)."""
    return Text(text)


def posture_error_line(exc: PostureError) -> str:
    """One line naming the posture source and every offending field."""
    problems = "; ".join(f"{field}: {message}" for field, message in exc.problems)
    return f"invalid posture {exc.source}: {problems}"


@contextmanager
def bad_input_exits() -> Iterator[None]:
    """Turn every input error into one ``error:`` line on stderr and exit code 2 (never a traceback)."""
    from riskguard.config.errors import PostureError  # here: the posture (pydantic) is not needed for --help

    try:
        yield
    except InputFileError as exc:
        fail(str(exc))
    except PostureError as exc:
        fail(posture_error_line(exc))
    except InputValidationError as exc:
        fail(str(exc))


def require_writable_dir(path: Path, option: str = "--out") -> None:
    """Raise InputFileError naming ``option`` and ``path`` unless ``path`` is a directory this process
    can write into, or can be created as one. Checked before a long run, which would otherwise fail
    only when it writes its report. Nothing is created."""
    if path.exists() and not path.is_dir():
        raise InputFileError(option, f"{path} exists and is not a directory")
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise InputFileError(option, f"{path} cannot be created: {existing} is not a directory")
    try:  # a probe rather than os.access: it also sees read-only file systems and works for root
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        what = "is not writable" if existing == path else f"cannot be created in {existing}"
        raise InputFileError(option, f"{path} {what}: {exc.strerror or exc}") from None


DEBUG_ENV = "RISKGUARD_DEBUG"
"""Set to 1 to let an unexpected error show its traceback instead of one line."""


def error_line(exc: BaseException) -> str:
    """One line for an error that reached the top of a command: expected errors (bad input, a
    refused ledger operation, an OS error on a user's path) as themselves, anything else as an
    unexpected error (a bug) with how to see its traceback."""
    from riskguard.config.errors import PostureError  # here: the posture (pydantic) is not needed for --help

    if isinstance(exc, PostureError):
        return posture_error_line(exc)
    if isinstance(exc, RiskguardError | OSError):
        text = str(exc)
    else:
        text = (f"unexpected {type(exc).__name__}: {exc} (a bug in riskguard; {DEBUG_ENV}=1 shows the "
                "traceback)")
    return " ".join(text.split())  # one line, whatever the message held


def echo_json(value: Any, *, indent: int | None = 2) -> None:
    """Print ``value`` as JSON on stdout (plain text, no Rich markup or wrapping)."""
    typer.echo(encode_printable(value, indent=indent))


def verdict(detail: dict[str, Any]) -> str:
    """APPROVED, RESIZED or VETO for a decision detail."""
    if detail["veto"]:
        return "VETO"
    return "RESIZED" if detail["resized"] else "APPROVED"


VERDICT_STYLE = {"APPROVED": "bold green", "RESIZED": "bold yellow", "VETO": "bold red"}


def styled_verdict(detail: dict[str, Any]) -> str:
    """The verdict wrapped in Rich markup."""
    text = verdict(detail)
    return f"[{VERDICT_STYLE[text]}]{text}[/]"


def usdt(value: float | None) -> str:
    """A USDT amount for tables: two decimals with thousands separators, '-' when unknown."""
    if value is None:
        return "-"
    if not math.isfinite(value):
        return str(value)
    return f"{value:,.2f}"


def cell(value: Any) -> str:
    """Compact text of an observed/threshold value for a table cell."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.6g}"
    if isinstance(value, list | tuple | frozenset | set):
        return ", ".join(cell(v) for v in value)
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return "{" + ", ".join(f"{k}={cell(v)}" for k, v in value.model_dump(mode="json").items()) + "}"
    return str(value)


WIDE_COLUMNS = 120
"""From this console width the gate table shows severity and note columns; narrower consoles
mark soft gates with ``*`` and leave notes to ``--json``."""


def checks_table(checks: list[dict[str, Any]], title: str = "Gates", width: int = WIDE_COLUMNS) -> Table:
    """One row per gate: passed, observed, threshold, headroom (USDT), severity, note; failing rows
    in red (hard) or yellow (soft). ``width`` is the console's width."""
    wide = width >= WIDE_COLUMNS
    caption = None if wide else "* soft gate (a warning unless too many fail); notes: --json"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, caption=caption,
                  caption_justify="left")
    table.add_column("gate", no_wrap=True)
    table.add_column("passed", justify="center", no_wrap=True)
    for name in ("observed", "threshold", "headroom USDT"):
        table.add_column(name, justify="right", overflow="fold")
    if wide:
        table.add_column("severity", no_wrap=True)
        table.add_column("note", overflow="fold")
    for c in checks:
        failed = not c["passed"]
        soft = c["severity"] == "soft"
        style = ("yellow" if soft else "bold red") if failed else None
        row = [c["gate"] + ("" if wide or not soft else "*"), "✗" if failed else "✓", cell(c["observed"]),
               cell(c["threshold"]), usdt(c["headroom_notional"])]
        if wide:
            row += [c["severity"], c["note"] or ""]
        table.add_row(*row, style=style)
    return table

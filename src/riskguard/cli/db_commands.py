"""``riskguard db`` (schema migrations, trading state) and ``riskguard decisions`` (list, show,
explain, replay stored decisions) on the shared ledger."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from riskguard.cli import output
from riskguard.cli.output import ExitCode
from riskguard.model.errors import InputValidationError

if TYPE_CHECKING:  # the ledger (SQLAlchemy) is imported by the commands, not for `riskguard --help`
    from riskguard.ledger.ledger import Ledger
    from riskguard.ledger.rows import DecisionRecord

# riskguard.ledger.database's ENV_DB_URL and DEFAULT_DB_URL, spelled out for the help texts so that
# `riskguard --help` need not import SQLAlchemy; a test holds them equal.
ENV_DB_URL = "RISKGUARD_DB_URL"
DEFAULT_DB_URL = "sqlite:///riskguard.db"

DbUrlOption = Annotated[str | None, typer.Option(
    "--db-url", help=f"Ledger database URL: sqlite:///PATH or postgresql+psycopg://user@host/db. "
                     f"Default ${ENV_DB_URL} or {DEFAULT_DB_URL}.", show_default=False)]
AccountOption = Annotated[str, typer.Option("--account", help="Ledger account id.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

db_app = typer.Typer(
    name="db",
    help="The shared ledger database: create or migrate its schema, read or change the trading state.",
    epilog=f"Examples: riskguard db upgrade; {ENV_DB_URL}=postgresql+psycopg://bot@db/riskguard riskguard db upgrade",
    no_args_is_help=True,
)
decisions_app = typer.Typer(
    name="decisions",
    help="Stored decisions: list them, show one, explain its gates, or replay it to prove it reproduces.",
    epilog="Examples: riskguard decisions list --vetoed; riskguard decisions explain ID; "
           "riskguard decisions replay ID",
    no_args_is_help=True,
)


def ledger_url(db_url: str | None) -> str:
    """The ledger URL from --db-url, $RISKGUARD_DB_URL or the default. A value that is not a URL is
    refused (exit 2) rather than taken as an SQLite file name, so a typo never creates a stray file."""
    url = db_url or os.environ.get(ENV_DB_URL) or DEFAULT_DB_URL
    if "://" not in url:
        source = "--db-url" if db_url else ENV_DB_URL
        output.fail(f"{source}: {url} is not a database URL; write sqlite:///{url} for an SQLite file or "
                    "postgresql+psycopg://user@host/db for PostgreSQL")
    return url


def _redacted(db_url: str | None) -> str:
    from riskguard.ledger.database import redact

    return redact(ledger_url(db_url))


@contextmanager
def _ledger(db_url: str | None, account: str = "default", *, must_exist: bool = True) -> Iterator[Ledger]:
    """Open the ledger; every ledger problem becomes one ``error:`` line and an exit code."""
    from riskguard.ledger.database import normalise_url, redact
    from riskguard.ledger.errors import LedgerError, LedgerNotFound
    from riskguard.ledger.ledger import Ledger

    url = ledger_url(db_url)
    ledger: Ledger | None = None
    try:
        normalised = normalise_url(url)
        if must_exist and normalised.startswith("sqlite:///"):
            path = normalised.removeprefix("sqlite:///")
            if not os.path.exists(path):
                output.fail(f"no ledger at {path}; create it with `riskguard db upgrade --db-url {url}`")
        ledger = Ledger(url, account_id=account)
        if must_exist and not ledger.schema_is_current():
            output.fail(f"the ledger {redact(url)} is not at the newest schema; run `riskguard db upgrade`")
        yield ledger
    except LedgerNotFound as exc:
        output.fail(str(exc), ExitCode.NEGATIVE)
    except (LedgerError, InputValidationError) as exc:
        output.fail(str(exc))
    finally:
        if ledger is not None:
            ledger.dispose()


def _time(ms: int | None) -> str:
    if ms is None:
        return "-"
    try:
        return datetime.fromtimestamp(ms / 1000.0, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    except (ValueError, OverflowError, OSError):  # a stored time beyond year 9999 (see db repair-marks)
        return f"{ms} ms (out of range)"


def _summary(record: DecisionRecord) -> dict[str, Any]:
    detail = record.detail
    return {
        "decision_id": record.decision_id, "intent_id": record.intent_id, "account": record.account_id,
        "ts_ms": record.ts_ms, "time_utc": _time(record.ts_ms), "strategy": record.strategy,
        "symbol": record.symbol, "side": detail.get("side"), "verdict": output.verdict(detail),
        "reasons": detail.get("reasons", []), "notional": (detail.get("sized") or {}).get("notional"),
        "reservation_id": record.reservation_id, "config_hash": record.config_hash,
    }


@db_app.command(epilog="Example: riskguard db upgrade --db-url postgresql+psycopg://bot@127.0.0.1/riskguard")
def upgrade(db_url: DbUrlOption = None, json: JsonOption = False) -> None:
    """Create the ledger schema or migrate it to the newest revision (safe to repeat)."""
    with _ledger(db_url, must_exist=False) as ledger:
        revision = ledger.upgrade()
    if json:
        output.echo_json({"db_url": _redacted(db_url), "revision": revision})
    else:
        output.stdout().print(f"ledger {_redacted(db_url)} is at revision {revision}", markup=False, soft_wrap=True)


@db_app.command(epilog="Examples: riskguard db state; riskguard db state --set HALTED --reason 'exchange outage' "
                       "--actor alice")
def state(
    set_to: Annotated[str | None, typer.Option("--set", help="New state: ACTIVE, REDUCING or HALTED.",
                                               show_default=False)] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (required with --set).",
                                               show_default=False)] = None,
    actor: Annotated[str, typer.Option("--actor", help="Who is changing it (recorded in the event).")]
    = os.environ.get("USER", "cli"),
    account: AccountOption = "default",
    db_url: DbUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Show the account's trading state, or change it (an event with actor, time and reason).

    --set works on a fresh ledger too: it creates the schema and the account as needed, so an
    operator can halt an account before any bot has run (the bots then start HALTED)."""
    from riskguard.model.enums import Mode, TradingState

    if set_to is not None and not reason:
        output.fail("--reason is required with --set")
    if set_to is not None and set_to.strip().upper() not in TradingState.__members__:
        output.fail(f"--set: {set_to} is not a trading state; choose one of {', '.join(TradingState.__members__)}")
    with _ledger(db_url, account, must_exist=set_to is None) as ledger:
        if set_to is not None:
            if not ledger.schema_is_current():
                ledger.upgrade()
            ledger.ensure_account(Mode.LIVE.value, actor=actor)
        row = (ledger.set_trading_state(set_to.strip(), reason or "", actor=actor) if set_to is not None
               else ledger.account())
    data = {"account": row.account_id, "trading_state": row.trading_state.value, "reason": row.state_reason,
            "actor": row.state_actor, "ts_ms": row.state_ts_ms, "time_utc": _time(row.state_ts_ms),
            "nav": row.nav, "nav_ts_ms": row.nav_ts_ms, "realized_pnl": row.realized_pnl, "mode": row.mode}
    if json:
        output.echo_json(data)
        return
    table = Table(title=f"Account {row.account_id}", show_header=False)
    for key, value in data.items():
        table.add_row(key, output.cell(value))
    output.stdout().print(table)


@db_app.command("repair-marks", epilog="Examples: riskguard db repair-marks --dry-run; riskguard db repair-marks "
                                       "--reason 'bot clock ran 1 h fast' --actor alice\n\n"
                                       "Exit codes: 0 repaired or nothing to repair, 1 a dry run found marks to "
                                       "repair, 2 bad input.")
def repair_marks(
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the event).")]
    = "NAV marks dated in the future",
    max_skew_s: Annotated[float | None, typer.Option(
        "--max-skew-s", min=0.0, max=3_600.0,
        help="Marks dated more than this many seconds after this host's clock are superseded (default: the "
             "posture default of account.max_clock_skew_s, 5 s).", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only report what would change.")] = False,
    actor: Annotated[str, typer.Option("--actor", help="Who is repairing (recorded in the event).")]
    = os.environ.get("USER", "cli"),
    account: AccountOption = "default",
    db_url: DbUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Supersede NAV marks dated in the future (a fast clock, or microseconds sent as ms), which make
    every later, correct mark look older and be ignored. Nothing is deleted: the marks are labelled
    `superseded`, the account goes back to its newest mark that is not in the future, and one
    `nav_marks_superseded` event records actor, reason and every mark as it was."""
    from riskguard.ledger.mark_repair import repair_future_marks
    from riskguard.ledger.marks import DEFAULT_MAX_CLOCK_SKEW_MS

    skew_ms = DEFAULT_MAX_CLOCK_SKEW_MS if max_skew_s is None else max_skew_s * 1000.0
    with _ledger(db_url, account) as ledger:
        result = repair_future_marks(ledger, actor=actor, reason=reason, max_clock_skew_ms=skew_ms,
                                     dry_run=dry_run)
    if json:
        output.echo_json(result.to_dict())
    else:
        console = output.stdout()
        if not result.needed:
            console.print(f"account {result.account_id}: no NAV mark is dated after {_time(result.limit_ms)} UTC; "
                          "nothing to repair", markup=False, soft_wrap=True)
        else:
            verb = "would supersede" if dry_run else "superseded"
            console.print(f"account {result.account_id}: {verb} {len(result.superseded)} NAV mark(s) dated after "
                          f"{_time(result.limit_ms)} UTC; current mark {result.account_before['nav_ts_ms']} -> "
                          f"{result.account_after['nav_ts_ms']}", markup=False, soft_wrap=True)
    if dry_run and result.needed:
        raise typer.Exit(int(ExitCode.NEGATIVE))


@db_app.command(epilog="Examples: riskguard db pack; riskguard db pack --older-than 7d --json\n\n"
                       "Exit codes: 0 done (also when nothing was old enough), 1 no such account, 2 bad input or "
                       "ledger unavailable.")
def pack(
    older_than: Annotated[str, typer.Option(
        "--older-than", help="Pack decisions older than this: 90s, 30m, 24h, 7d ...")] = "1h",
    account: AccountOption = "default",
    db_url: DbUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Pack older decisions into compressed segments (about 0.55 kB per decision instead of ~14 kB).
    Every decision reads back exactly as stored, so `decisions show/explain/replay` are unchanged.
    Safe while bots trade. Decisions are packed 256 at a time, oldest first; fewer are left for later.
    `riskguard serve` packs decisions older than an hour by itself."""
    from riskguard.cli.inputs import parse_duration_ms
    from riskguard.ledger.decision_segments import SEGMENT_DECISIONS
    from riskguard.model.clock import wall_clock_ms

    before_ms = wall_clock_ms() - parse_duration_ms(older_than, "--older-than")
    packed = 0
    with _ledger(db_url, account) as ledger:
        ledger.account()  # an unknown account is an error (exit 1), not "nothing to pack"
        packable = ledger.unpacked_before(before_ms)
        size = ledger.segment_decisions
        with Progress(TextColumn("packing decisions"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=output.stderr(), transient=True, disable=json or packable < size) as bar:
            task = bar.add_task("packing", total=packable - packable % size)
            while True:
                step = ledger.pack_decisions(before_ms=before_ms, max_segments=1)
                packed += step
                bar.update(task, completed=packed)
                if step < size:
                    break
        summary = ledger.packing_summary()
    if json:
        output.echo_json({"account": account, "before_ms": before_ms, "packed_now": packed, **summary.to_dict()})
        return
    output.stdout().print(
        f"account {account}: packed {packed} decisions taken before {_time(before_ms)} UTC; {summary.packed} "
        f"packed in {summary.segments} segments ({summary.segment_bytes / 1024:.0f} kB), {summary.unpacked} "
        f"not packed (newer, or fewer than a segment's {SEGMENT_DECISIONS})", markup=False, soft_wrap=True)


@decisions_app.command("list", epilog="Example: riskguard decisions list --vetoed --symbol BTCUSDT --limit 20")
def list_decisions(
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first.")] = 20,
    approved: Annotated[bool | None, typer.Option("--approved/--vetoed", help="Only approvals / only vetoes.",
                                                  show_default=False)] = None,
    symbol: Annotated[str | None, typer.Option("--symbol", show_default=False)] = None,
    strategy: Annotated[str | None, typer.Option("--strategy", show_default=False)] = None,
    account: AccountOption = "default",
    db_url: DbUrlOption = None,
    json: JsonOption = False,
) -> None:
    """The newest stored decisions of an account."""
    with _ledger(db_url, account) as ledger:
        records = ledger.decisions(limit=limit, approved=approved, symbol=symbol, strategy=strategy)
    summaries = [_summary(r) for r in records]
    if json:
        output.echo_json(summaries)
        return
    table = Table(title=f"Decisions ({len(summaries)})")
    for column in ("time (UTC)", "decision", "intent", "strategy", "symbol", "side", "verdict", "notional",
                   "reasons"):
        table.add_column(column, overflow="fold")
    for s in summaries:
        table.add_row(s["time_utc"], s["decision_id"], s["intent_id"], s["strategy"], s["symbol"],
                      str(s["side"]), output.styled_verdict({"veto": s["verdict"] == "VETO",
                                                            "resized": s["verdict"] == "RESIZED"}),
                      output.usdt(s["notional"]), ", ".join(s["reasons"]) or "-")
    output.stdout().print(table)


@decisions_app.command(epilog="Example: riskguard decisions show 3f2a9c1d0b7e-0000002a --json")
def show(
    decision_id: Annotated[str, typer.Argument(help="Decision id (from `decisions list`).")],
    db_url: DbUrlOption = None,
    json: JsonOption = False,
) -> None:
    """One stored decision: verdict, reasons, sizes, reservation, and (with --json) its inputs."""
    with _ledger(db_url) as ledger:
        record = ledger.decision(decision_id)
    if json:
        output.echo_json({**_summary(record), "version": record.version, "inputs": record.inputs,
                          "detail": record.detail})
        return
    table = Table(title=f"Decision {record.decision_id}", show_header=False)
    for key, value in _summary(record).items():
        table.add_row(key, output.cell(value))
    table.add_row("nav", output.usdt(record.detail.get("nav")))
    table.add_row("trading_state", str(record.detail.get("trading_state")))
    table.add_row("ledger version", str(record.version))
    output.stdout().print(table)


@decisions_app.command(epilog="Example: riskguard decisions explain 3f2a9c1d0b7e-0000002a")
def explain(
    decision_id: Annotated[str, typer.Argument(help="Decision id (from `decisions list`).")],
    db_url: DbUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Every gate of a stored decision: observed value, threshold, headroom and why it failed."""
    with _ledger(db_url) as ledger:
        record = ledger.decision(decision_id)
    detail = record.detail
    book = record.inputs.get("book", {})
    if json:
        output.echo_json({**_summary(record), "checks": detail.get("checks", []),
                          "book": {"positions": book.get("positions", []),
                                   "reservations": book.get("reservations", [])}})
        return
    console = output.stdout()
    console.print(f"{output.styled_verdict(detail)} {escape(record.intent_id)} {escape(record.strategy)} "
                  f"{record.symbol} at "
                  f"{_time(record.ts_ms)} UTC, posture {detail.get('posture')} ({record.config_hash}), "
                  f"{len(book.get('positions', []))} positions and {len(book.get('reservations', []))} "
                  "reservations in the book")
    console.print(output.checks_table(detail.get("checks", [])))


@decisions_app.command(epilog="Examples: riskguard decisions replay 3f2a9c1d0b7e-0000002a; riskguard decisions "
                               "replay --posture tighter.yaml --since 24h")
def replay(
    decision_id: Annotated[str | None, typer.Argument(help="Decision id (from `decisions list`).")] = None,
    posture: Annotated[str | None, typer.Option(
        "--posture", help="Re-decide every stored decision of --since under this posture (file or preset:NAME) "
                          "and list the flips; exit 1 when any flips.", show_default=False)] = None,
    since: Annotated[str, typer.Option("--since", help="Window for --posture: 90m, 24h, 7d ...")] = "24h",
    account: AccountOption = "default",
    db_url: DbUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Re-run a stored decision with its stored inputs and posture; exit 0 when it reproduces exactly,
    1 when any field differs. With --posture: what that posture would have decided over a window."""
    from riskguard.runtime.replay import replay_record

    if posture is not None:
        from riskguard.cli.whatif_cmd import replay_under_posture

        replay_under_posture(posture, since, db_url, account, json)
        return
    if decision_id is None:
        output.fail("give a decision id, or --posture (with --since) to replay a window under another posture")
    with _ledger(db_url) as ledger:
        record = ledger.decision(decision_id)
        posture_json = ledger.posture_json(record.config_hash)
        returns_hash = record.inputs.get("returns")
        returns = None if returns_hash is None else ledger.return_set(str(returns_hash))
    try:
        result = replay_record(record, posture_json, returns)
    except (ValueError, KeyError, TypeError) as exc:
        output.fail(f"decision {decision_id} cannot be replayed: {exc}")
    if json:
        output.echo_json({"decision_id": decision_id, "matches": result.matches,
                          "differences": {k: {"stored": result.stored.get(k), "replayed": result.replayed.get(k)}
                                          for k in result.differences}})
    elif result.matches:
        output.stdout().print(f"decision {decision_id} reproduces exactly ({output.verdict(record.detail)}, "
                              f"posture {record.config_hash})")
    else:
        table = Table(title=f"Decision {decision_id} does NOT reproduce")
        for column in ("field", "stored", "replayed"):
            table.add_column(column, overflow="fold")
        for key in result.differences:
            table.add_row(key, output.cell(result.stored.get(key)), output.cell(result.replayed.get(key)))
        output.stdout().print(table)
    if not result.matches:
        raise typer.Exit(int(ExitCode.NEGATIVE))

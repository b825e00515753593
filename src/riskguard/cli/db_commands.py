"""``riskguard db`` (schema migrations, trading state) and ``riskguard decisions`` (list, show,
explain, replay stored decisions) on the shared ledger."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from riskguard.cli import output
from riskguard.cli.output import ExitCode
from riskguard.ledger.database import DEFAULT_DB_URL, ENV_DB_URL, normalise_url, redact
from riskguard.ledger.errors import LedgerError, LedgerNotFound
from riskguard.ledger.ledger import DecisionRecord, Ledger
from riskguard.ledger.replay import replay_record
from riskguard.model.errors import InputValidationError

DbUrlOption = Annotated[str | None, typer.Option(
    "--db-url", help=f"Ledger database: a SQLAlchemy URL or an SQLite file path. Default ${ENV_DB_URL} or "
                     f"{DEFAULT_DB_URL}.", show_default=False)]
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


def _url(db_url: str | None) -> str:
    return db_url or os.environ.get(ENV_DB_URL) or DEFAULT_DB_URL


@contextmanager
def _ledger(db_url: str | None, account: str = "default", *, must_exist: bool = True) -> Iterator[Ledger]:
    """Open the ledger; every ledger problem becomes one ``error:`` line and an exit code."""
    url = _url(db_url)
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
    return datetime.fromtimestamp(ms / 1000.0, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


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
        output.echo_json({"db_url": redact(_url(db_url)), "revision": revision})
    else:
        output.stdout().print(f"ledger {redact(_url(db_url))} is at revision {revision}")


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
    """Show the account's trading state, or change it (an event with actor, time and reason)."""
    if set_to is not None and not reason:
        output.fail("--reason is required with --set")
    with _ledger(db_url, account) as ledger:
        row = (ledger.set_trading_state(set_to, reason or "", actor=actor) if set_to is not None
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
    console.print(f"{output.styled_verdict(detail)} {record.intent_id} {record.strategy} {record.symbol} at "
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

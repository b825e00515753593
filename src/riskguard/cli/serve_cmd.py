"""``riskguard serve``: the HTTP service (FastAPI + uvicorn), imported only when the command runs so
that the CLI starts fast without the ``service`` extra."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Annotated

import typer

from riskguard.cli import output
from riskguard.cli.check import PostureOption, PresetOption
from riskguard.cli.db_commands import DEFAULT_DB_URL, ENV_DB_URL, ledger_url
from riskguard.cli.inputs import parse_duration_ms, resolve_posture

if TYPE_CHECKING:
    from riskguard.service.settings import ServiceSettings

SERVE_EPILOG = (
    "Example: RISKGUARD_API_TOKENS='s3cret-trader:trade,read;s3cret-ops:admin,read' "
    "riskguard serve --preset moderate --db-url riskguard.db --port 8787\n\n"
    "Then open http://127.0.0.1:8787/#token=s3cret-ops for the dashboard. Binds 127.0.0.1 unless --host says "
    "otherwise. Exit codes: 0 stopped, 2 bad input (posture, tokens, missing service extra)."
)


def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to bind; 0.0.0.0 exposes the service to the "
                                                     "network (put TLS in front).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8787,
    posture: PostureOption = None,
    preset_name: PresetOption = None,
    db_url: Annotated[str | None, typer.Option(
        "--db-url", help=f"Ledger database URL (sqlite:///PATH or postgresql+psycopg://...). Default ${ENV_DB_URL} or "
                         f"{DEFAULT_DB_URL}.", show_default=False)] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Worker processes sharing the ledger; "
                                         "metrics then use prometheus multiprocess mode.")] = 1,
    account: Annotated[str, typer.Option("--account", help="Ledger account id.")] = "default",
    pack_after: Annotated[str, typer.Option(
        "--pack-after", help="Pack decisions older than this (90m, 24h, 7d ...) into compressed segments in the "
                             "background; 'never' keeps every decision's documents in its row.")] = "1h",
) -> None:
    """Serve riskguard over HTTP: check, reserve, fill, release, close, NAV, state, decisions,
    /metrics and the live dashboard at /. Tokens come from RISKGUARD_API_TOKENS
    (token:scope,scope;...) or RISKGUARD_API_TOKENS_FILE (lines sha256hex:scope,scope)."""
    try:
        import uvicorn

        from riskguard.service.app import create_app
        from riskguard.service.settings import (
            ENV_SERVE_ACCOUNT,
            ENV_SERVE_POSTURE,
            ServiceSettings,
            tokens_from_environment,
        )
        from riskguard.service.tokens import TokenConfigError
    except ImportError as exc:
        output.fail(f"the service needs its extra: pip install 'riskguard[service]' ({exc.name} missing)")
    from riskguard.config.hashing import canonical_json

    with output.bad_input_exits():
        chosen = resolve_posture(preset_name, posture)
    try:
        tokens = tokens_from_environment()
    except TokenConfigError as exc:
        output.fail(str(exc))
    from riskguard.ledger.database import redact

    url = ledger_url(db_url)
    with output.bad_input_exits():
        pack_after_s = None if pack_after.strip().lower() == "never" else parse_duration_ms(
            pack_after, "--pack-after") / 1000.0
    settings = ServiceSettings(posture=chosen, db_url=url, tokens=tokens, account_id=account,
                               pack_after_s=pack_after_s)
    output.stderr().print(f"riskguard serve: posture {chosen.name}, ledger {redact(url)}, {len(tokens)} token(s), "
                          f"http://{host}:{port}/ ({workers} worker{'s' if workers > 1 else ''})")
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, timeout_graceful_shutdown=5, log_level="info")
        return
    _serve_workers(settings, host, port, workers, url, canonical_json(chosen), ENV_SERVE_POSTURE,
                   ENV_SERVE_ACCOUNT)


def _serve_workers(settings: ServiceSettings, host: str, port: int, workers: int, url: str, posture_json: str,
                   posture_env: str, account_env: str) -> None:
    """Several uvicorn workers: the schema is migrated once here, each worker rebuilds the app from
    the environment, and their metrics share one prometheus multiprocess directory."""
    import uvicorn

    from riskguard.ledger.ledger import Ledger

    ledger = Ledger(url, account_id=settings.account_id)
    try:
        ledger.upgrade()
    finally:
        ledger.dispose()
    metrics_dir = tempfile.mkdtemp(prefix="riskguard-metrics-")
    from riskguard.service.settings import ENV_SERVE_PACK_AFTER_S

    os.environ[ENV_SERVE_PACK_AFTER_S] = "" if settings.pack_after_s is None else repr(settings.pack_after_s)
    os.environ.update({posture_env: posture_json, account_env: settings.account_id, ENV_DB_URL: url,
                       "PROMETHEUS_MULTIPROC_DIR": metrics_dir})
    try:
        uvicorn.run("riskguard.service.app:app_from_environment", factory=True, host=host, port=port,
                    workers=workers, timeout_graceful_shutdown=5, log_level="info")
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)

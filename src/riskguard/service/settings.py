"""What one service process needs: the posture, the ledger URL, the tokens, the account."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from riskguard.config.schema import Posture
from riskguard.service.tokens import ENV_TOKENS, ENV_TOKENS_FILE, TokenConfigError, TokenStore

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """Settings of :func:`riskguard.service.app.create_app`.

    ``db_url``: the shared ledger (SQLite file or PostgreSQL URL). ``migrate``: create or migrate the
    ledger schema at start-up (safe to repeat). ``actor``: who the service's own ledger writes are
    recorded as. ``dashboard_poll_s``: how often the live view looks for another process's writes
    (s). ``decisions_shown``: recent decisions on the dashboard. ``pack_after_s``: decisions older
    than this many seconds are packed into compressed segments by the service's ledger, in the
    background (``riskguard.ledger.decision_segments``); None never packs.
    """

    posture: Posture
    db_url: str
    tokens: TokenStore
    account_id: str = "default"
    actor: str = "riskguard-service"
    migrate: bool = True
    dashboard_poll_s: float = 1.0
    decisions_shown: int = 25
    pack_after_s: float | None = 3_600.0


def tokens_from_environment(environ: Mapping[str, str] | None = None) -> TokenStore:
    """Tokens from ``RISKGUARD_API_TOKENS`` and/or the file named by ``RISKGUARD_API_TOKENS_FILE``.

    Raises :class:`TokenConfigError` when neither gives a token: the service refuses to start open.
    """
    env = os.environ if environ is None else environ
    store = TokenStore([])
    spec = env.get(ENV_TOKENS, "").strip()
    if spec:
        store = store.merged(TokenStore.from_spec(spec))
    path = env.get(ENV_TOKENS_FILE, "").strip()
    if path:
        store = store.merged(TokenStore.from_file(Path(path)))
    if not len(store):
        raise TokenConfigError(f"no API token: set {ENV_TOKENS} (token:scope,scope;...) or {ENV_TOKENS_FILE} "
                               "(lines <sha256 hex>:scope,scope)")
    return store


ENV_SERVE_POSTURE = "RISKGUARD_SERVE_POSTURE_JSON"
ENV_SERVE_ACCOUNT = "RISKGUARD_SERVE_ACCOUNT"
ENV_SERVE_PACK_AFTER_S = "RISKGUARD_SERVE_PACK_AFTER_S"
"""Seconds after which workers pack decisions (``ServiceSettings.pack_after_s``); empty: never."""


def settings_from_environment(environ: Mapping[str, str] | None = None) -> ServiceSettings:
    """Settings for a worker process started by ``riskguard serve --workers N``: the posture as the
    parent validated it (canonical JSON), the ledger URL, the tokens and the account from the
    environment; the parent migrated the schema already."""
    import json

    from riskguard.config.loader import validate_posture
    from riskguard.ledger.database import default_url

    env = os.environ if environ is None else environ
    text = env.get(ENV_SERVE_POSTURE)
    if not text:
        raise TokenConfigError(f"{ENV_SERVE_POSTURE} is not set (start workers with `riskguard serve`)")
    posture = validate_posture(json.loads(text), source=ENV_SERVE_POSTURE)
    pack_after = env.get(ENV_SERVE_PACK_AFTER_S, "3600")
    return ServiceSettings(posture=posture, db_url=env.get("RISKGUARD_DB_URL") or default_url(),
                           tokens=tokens_from_environment(env), account_id=env.get(ENV_SERVE_ACCOUNT, "default"),
                           migrate=False, pack_after_s=float(pack_after) if pack_after else None)

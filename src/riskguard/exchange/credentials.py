"""Binance API credentials: from ``RISKGUARD_BINANCE_API_KEY`` / ``RISKGUARD_BINANCE_API_SECRET``, or
from a file only its owner may read (``RISKGUARD_BINANCE_CREDENTIALS_FILE``: ``api_key=...`` and
``api_secret=...`` lines). Both values are registered for redaction as soon as they are read."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from riskguard.exchange.redaction import register_secret
from riskguard.model.errors import InputValidationError

ENV_API_KEY = "RISKGUARD_BINANCE_API_KEY"
ENV_API_SECRET = "RISKGUARD_BINANCE_API_SECRET"
ENV_CREDENTIALS_FILE = "RISKGUARD_BINANCE_CREDENTIALS_FILE"


@dataclass(frozen=True, slots=True)
class Credentials:
    """An API key and secret. ``repr`` never shows them."""

    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)

    def __post_init__(self) -> None:
        for name in ("api_key", "api_secret"):
            if not getattr(self, name).strip():
                raise InputValidationError(name, "must not be empty", "***")
        register_secret(self.api_key)
        register_secret(self.api_secret)


def credentials_from_file(path: Path) -> Credentials:
    """Read ``api_key=`` / ``api_secret=`` lines from ``path``; refused unless only its owner can
    read it (mode 0600 or stricter), like ssh does with private keys."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise InputValidationError(ENV_CREDENTIALS_FILE, f"cannot read {path}: {exc.strerror}", str(path)) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InputValidationError(ENV_CREDENTIALS_FILE, f"{path} must be readable by its owner only "
                                                         f"(chmod 600; it is {stat.filemode(mode)})", str(path))
    values: dict[str, str] = {}
    for line in path.read_text("utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.strip().startswith("#"):
            values[key.strip().lower()] = value.strip()
    missing = [k for k in ("api_key", "api_secret") if not values.get(k)]
    if missing:
        raise InputValidationError(ENV_CREDENTIALS_FILE, f"{path} has no {missing[0]}= line", str(path))
    return Credentials(values["api_key"], values["api_secret"])


def load_credentials(environ: Mapping[str, str] | None = None) -> Credentials | None:
    """Credentials from the environment (key and secret, else the file it names), or None when
    neither is set (public endpoints only). Half a pair is refused by name."""
    env = os.environ if environ is None else environ
    key, secret = env.get(ENV_API_KEY, "").strip(), env.get(ENV_API_SECRET, "").strip()
    if key or secret:
        if not (key and secret):
            raise InputValidationError(ENV_API_SECRET if key else ENV_API_KEY, "is required with the other", None)
        return Credentials(key, secret)
    path = env.get(ENV_CREDENTIALS_FILE, "").strip()
    return credentials_from_file(Path(path).expanduser()) if path else None

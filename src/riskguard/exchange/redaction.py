"""Keep API keys and signatures out of every log line, error message and stored text."""

from __future__ import annotations

import re
import threading

_SECRETS: set[str] = set()
_LOCK = threading.Lock()
_QUERY_SECRETS = re.compile(r"(?i)(signature|apikey|api_key|secret|x-mbx-apikey)([=:\"' ]+)([A-Za-z0-9+/=_\-]{6,})")
_MASK = "***"


def register_secret(value: str | None) -> None:
    """Remember ``value`` (an API key or secret) so that ``redact`` masks it wherever it appears."""
    if value and len(value) >= 4:
        with _LOCK:
            _SECRETS.add(value)


def redact(text: object) -> str:
    """``text`` with every registered secret and every ``signature=`` / ``apiKey`` value masked."""
    result = str(text)
    with _LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        result = result.replace(secret, _MASK)
    return _QUERY_SECRETS.sub(lambda m: f"{m.group(1)}{m.group(2)}{_MASK}", result)

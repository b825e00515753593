"""Bearer tokens with scopes, kept only as SHA-256 digests and compared in constant time.

Tokens come from ``RISKGUARD_API_TOKENS`` (``token:scope,scope`` entries separated by ``;``) or a
tokens file whose lines are ``<sha256 hex of the token>:scope,scope`` (``#`` starts a comment), so the
file never holds a usable secret. The clear token is hashed on arrival and forgotten; no token, clear
or hashed, is ever logged. A token's ``label`` (the first 8 hex digits of its digest) names it in the
ledger's events and the dashboard.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

ENV_TOKENS = "RISKGUARD_API_TOKENS"
ENV_TOKENS_FILE = "RISKGUARD_API_TOKENS_FILE"
_LABEL_HEX = 8


class Scope(StrEnum):
    """What a token may do: ``read`` (check, every GET, metrics), ``trade`` (reserve, fill, release,
    close, NAV and market marks), ``admin`` (the trading state)."""

    READ = "read"
    TRADE = "trade"
    ADMIN = "admin"


class TokenConfigError(ValueError):
    """A tokens setting or file is malformed; the message names the entry, never the token."""


def token_digest(token: str) -> str:
    """SHA-256 hex digest of a clear token (what a tokens file stores)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiToken:
    """One accepted token: its digest, scopes and a printable label."""

    digest: bytes
    scopes: frozenset[Scope]

    @property
    def label(self) -> str:
        """``token:<first 8 hex digits of the digest>``; safe to log and store."""
        return "token:" + self.digest.hex()[:_LABEL_HEX]


def _scopes(entry_name: str, text: str) -> frozenset[Scope]:
    names = [s.strip().lower() for s in text.split(",") if s.strip()]
    if not names:
        raise TokenConfigError(f"{entry_name}: no scope (give read, trade and/or admin)")
    try:
        return frozenset(Scope(name) for name in names)
    except ValueError:
        raise TokenConfigError(f"{entry_name}: unknown scope in {text!r} (choose read, trade, admin)") from None


class TokenStore:
    """The accepted tokens. ``authenticate`` hashes the presented token and compares it with every
    stored digest in constant time, without stopping at a match, so timing reveals nothing."""

    def __init__(self, tokens: list[ApiToken]) -> None:
        self._tokens = list(tokens)

    def __len__(self) -> int:
        return len(self._tokens)

    @classmethod
    def from_spec(cls, spec: str) -> TokenStore:
        """Parse ``token:scope,scope;token:scope`` (the ``RISKGUARD_API_TOKENS`` format)."""
        tokens = []
        for number, entry in enumerate((e.strip() for e in spec.split(";")), start=1):
            if not entry:
                continue
            token, separator, scopes = entry.rpartition(":")
            name = f"{ENV_TOKENS} entry {number}"
            if not separator or not token.strip():
                raise TokenConfigError(f"{name}: expected token:scope,scope")
            tokens.append(ApiToken(bytes.fromhex(token_digest(token.strip())), _scopes(name, scopes)))
        return cls(tokens)

    @classmethod
    def from_file(cls, path: Path) -> TokenStore:
        """Read ``<sha256 hex>:scope,scope`` lines (``#`` comments and blank lines ignored)."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TokenConfigError(f"tokens file {path}: {exc.strerror or exc}") from None
        tokens = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            digest, separator, scopes = line.partition(":")
            name = f"tokens file {path} line {number}"
            digest = digest.strip().lower().removeprefix("sha256=")
            if not separator or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise TokenConfigError(f"{name}: expected <64 hex digits of sha256(token)>:scope,scope")
            tokens.append(ApiToken(bytes.fromhex(digest), _scopes(name, scopes)))
        return cls(tokens)

    def merged(self, other: TokenStore) -> TokenStore:
        """The tokens of both stores."""
        return TokenStore(self._tokens + other._tokens)

    def authenticate(self, token: str) -> ApiToken | None:
        """The stored token equal to ``token``, or None; constant time in the presented value."""
        presented = hashlib.sha256(token.encode("utf-8")).digest()
        found: ApiToken | None = None
        for candidate in self._tokens:
            if hmac.compare_digest(presented, candidate.digest):
                found = candidate
        return found

"""CVaR return sets, stored once per content and, between keyframes, as changes to the previous set.

A decision refers to the return data its CVaR gate saw by a SHA-256 (``rg_decisions.inputs``
``returns``), so that it replays with exactly that data. A process that feeds returns every bar
would otherwise store (and first encode and hash) the whole window of every symbol for every
decision, although the window only slid by a bar. A stored set is therefore either *full* (symbol
-> simple returns, oldest first) or a *delta*: ``{"base": <hash>, "drop": {symbol: n},
"append": {symbol: [...]}}``: the base set with the first ``n`` returns of each symbol dropped and
``append`` added at the end. Its hash is that of its own text (which names its base), so equal
hashes still mean equal data. Reading resolves the chain back to the full set.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from riskguard.ledger import tables as t
from riskguard.ledger.connection import LedgerConnection
from riskguard.ledger.errors import LedgerError, LedgerNotFound
from riskguard.model.codec import encode

RETURN_KEYFRAME_EVERY = 64
"""A full set at least every this many stored sets of one writer: bounds the chain a reader follows."""
_MAX_CHAIN = 100_000
"""A chain longer than this is corrupt (a writer never chains past RETURN_KEYFRAME_EVERY)."""
_RESOLVED_KEPT = 16

ReturnSet = dict[str, list[float]]


class ReturnSetStore(LedgerConnection):
    """Stored CVaR return sets: full ones and deltas, read back as full sets."""

    _resolved_sets: OrderedDict[str, ReturnSet]

    def store_return_set(self, returns_json: str) -> str:
        """Keep a full return set (the JSON of ``PortfolioCvar.returns_by_symbol``) under the
        SHA-256 of its text, once; returns the hash that decisions refer to."""
        return self._store(returns_json)

    def store_return_delta(self, base: str, dropped: dict[str, int], appended: dict[str, list[float]]) -> str:
        """Keep the return set that is set ``base`` with the first ``dropped[symbol]`` returns of each
        symbol removed and ``appended[symbol]`` added at the end (every symbol of the base, in its
        order, in both maps); returns its hash."""
        return self._store(encode({"base": base, "drop": dropped, "append": appended}))

    def _store(self, text: str) -> str:
        returns_hash = hashlib.sha256(text.encode("ascii")).hexdigest()
        with self.transaction() as conn:
            dialect_insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
            conn.execute(dialect_insert(t.return_sets)
                         .values(returns_hash=returns_hash, returns_json=text)
                         .on_conflict_do_nothing(index_elements=[t.return_sets.c.returns_hash]))
        return returns_hash

    def return_set(self, returns_hash: str) -> ReturnSet:
        """The full return set stored under ``returns_hash`` (symbol -> simple returns, oldest first)."""
        cache = self.__dict__.setdefault("_resolved_sets", OrderedDict())
        cached = cache.get(returns_hash)
        if cached is None:
            with self.reading() as conn:
                cached = _resolve(conn, returns_hash)
            cache[returns_hash] = cached
            if len(cache) > _RESOLVED_KEPT:
                cache.popitem(last=False)
        return {symbol: list(values) for symbol, values in cached.items()}


def _document(conn: Connection, returns_hash: str) -> dict[str, Any]:
    value = conn.execute(select(t.return_sets.c.returns_json).where(
        t.return_sets.c.returns_hash == returns_hash)).scalar()
    if value is None:
        raise LedgerNotFound(f"return set {returns_hash} is not stored in the ledger")
    data: dict[str, Any] = json.loads(value)
    return data


def _resolve(conn: Connection, returns_hash: str) -> ReturnSet:
    """Follow the deltas back to a full set, then apply them oldest first."""
    deltas: list[dict[str, Any]] = []
    document = _document(conn, returns_hash)
    while "base" in document:  # symbols are upper case: a full set never has a "base" key
        deltas.append(document)
        if len(deltas) > _MAX_CHAIN:
            raise LedgerError(f"return set {returns_hash} refers back through more than {_MAX_CHAIN} sets")
        document = _document(conn, str(document["base"]))
    returns: ReturnSet = {str(symbol): [float(r) for r in values] for symbol, values in document.items()}
    for delta in reversed(deltas):
        dropped, appended = delta["drop"], delta["append"]
        if set(dropped) != set(returns) or set(appended) != set(returns):
            raise LedgerError(f"return set {returns_hash}: a delta names other symbols than its base")
        returns = {symbol: values[int(dropped[symbol]):] + [float(r) for r in appended[symbol]]
                   for symbol, values in returns.items()}
    return returns

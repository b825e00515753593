"""One ledger for every bot: positions, reservations, fills, decisions and trading state, shared
atomically by every process through SQLite (embedded) or PostgreSQL."""

from riskguard.ledger.database import DEFAULT_DB_URL, ENV_DB_URL, create_db_engine, default_url, redact
from riskguard.ledger.errors import LedgerError, LedgerNotFound, LedgerUnavailable
from riskguard.ledger.ledger import Ledger
from riskguard.ledger.rows import (
    ACTIVE,
    EXPIRED,
    FILLED,
    RELEASED,
    AccountRow,
    CloseResult,
    DecisionRecord,
    FillResult,
)
from riskguard.ledger.state import BookState
from riskguard.ledger.stop_moves import STOP_MOVED, StopLoosened, StopMove

__all__ = [
    "ACTIVE",
    "DEFAULT_DB_URL",
    "ENV_DB_URL",
    "EXPIRED",
    "FILLED",
    "RELEASED",
    "STOP_MOVED",
    "AccountRow",
    "BookState",
    "CloseResult",
    "DecisionRecord",
    "FillResult",
    "Ledger",
    "LedgerError",
    "LedgerNotFound",
    "LedgerUnavailable",
    "StopLoosened",
    "StopMove",
    "create_db_engine",
    "default_url",
    "redact",
]

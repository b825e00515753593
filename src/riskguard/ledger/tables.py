"""The ledger's tables (SQLAlchemy Core). The migrations in ``migrations/versions`` create them.

Money in USDT, quantities in base units, times in epoch ms. JSON documents are stored as text so
that floats (including inf) round-trip exactly on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

# One row per account; ``version`` is bumped by every write that changes the book (positions or
# reservations), so a process knows its cached book is current when the version is unchanged.
accounts = Table(
    "rg_accounts", metadata,
    Column("account_id", String(64), primary_key=True),
    Column("version", BigInteger, nullable=False, default=0),
    Column("mode", String(16), nullable=False),
    Column("trading_state", String(16), nullable=False),
    Column("state_reason", Text, nullable=False),
    Column("state_actor", String(128), nullable=False),
    Column("state_ts_ms", BigInteger, nullable=False),
    Column("nav", Float, nullable=True),
    Column("nav_ts_ms", BigInteger, nullable=True),
    Column("available_balance", Float, nullable=True),
    Column("day_high_nav", Float, nullable=True),
    Column("realized_pnl", Float, nullable=False, default=0.0),
    # Approval counters (order-rate window, trades today, last entry per strategy) as JSON, written
    # with the version by every approval so a reload needs no scan of the decisions.
    Column("counters", Text, nullable=True),
    # No ACTIVE reservation of the account expires at or before this time (epoch ms; migration
    # 0005): raised to ``now`` by each expiry, lowered below a new reservation's expiry when a
    # writer's clock lags. Reads of the active reservations start after it, so they skip the index
    # entries left by every reservation that ended before (see ix_rg_reservations_active).
    Column("expired_through_ms", BigInteger, nullable=False, server_default="0"),
)

positions = Table(
    "rg_positions", metadata,
    Column("account_id", String(64), primary_key=True),
    Column("strategy", String(128), primary_key=True),
    Column("symbol", String(32), primary_key=True),
    Column("side", String(8), nullable=False),
    Column("qty", Float, nullable=False),
    Column("entry_price", Float, nullable=False),
    Column("leverage", Float, nullable=False),
    Column("stop_price", Float, nullable=True),
    Column("take_profit_price", Float, nullable=True),
    Column("opened_ts_ms", BigInteger, nullable=False),
    Column("opened_version", BigInteger, nullable=False),
    # The legs the pyramiding gates read (migration 0004; NULL on positions opened before it): one R
    # (USDT per unit, fixed at the opening fill), the opening quantity, the adds filled since, and
    # the latest leg with the reservation it filled (further partial fills of it grow that leg).
    Column("r_unit", Float, nullable=True),
    Column("first_qty", Float, nullable=True),
    Column("adds", Integer, nullable=False, server_default="0"),
    Column("last_leg_qty", Float, nullable=True),
    Column("last_leg_price", Float, nullable=True),
    Column("last_leg_ts_ms", BigInteger, nullable=True),
    Column("last_leg_reservation_id", String(64), nullable=True),
)

reservations = Table(
    "rg_reservations", metadata,
    Column("reservation_id", String(64), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("intent_id", String(128), nullable=False),
    Column("decision_id", String(64), nullable=False),
    Column("strategy", String(128), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("side", String(8), nullable=False),
    Column("qty", Float, nullable=False),
    Column("price", Float, nullable=False),
    Column("notional", Float, nullable=False),
    Column("risk_usdt", Float, nullable=False),
    Column("opens_new", Boolean, nullable=False),
    Column("leverage", Float, nullable=False),
    Column("stop_price", Float, nullable=True),
    Column("take_profit_price", Float, nullable=True),
    Column("filled_qty", Float, nullable=False, default=0.0),
    Column("status", String(16), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Column("ended_ms", BigInteger, nullable=True),
    Column("created_version", BigInteger, nullable=False),
    Column("ended_version", BigInteger, nullable=True),
    UniqueConstraint("account_id", "intent_id", name="uq_rg_reservations_intent"),
)
ACTIVE_ONLY = text("status = 'ACTIVE'")
# Active reservations only, by expiry (migration 0005). Ending a reservation updates the status the
# index is filtered on, so its ACTIVE row version's entry stays, dead, until a VACUUM. Those of
# reservations that expired lie at or before the account's expired_through_ms and every read of
# the active reservations starts after it, so its cost does not grow with the ledger's history;
# what it still walks are the entries of reservations ended (filled, released, placed) within one
# TTL, and of placed ones filled or released since the last VACUUM (at NEVER_MS).
Index("ix_rg_reservations_active", reservations.c.account_id, reservations.c.expires_ms,
      postgresql_where=ACTIVE_ONLY, sqlite_where=ACTIVE_ONLY)

fills = Table(
    "rg_fills", metadata,
    Column("fill_id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("reservation_id", String(64), nullable=True),
    Column("strategy", String(128), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("side", String(8), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("qty", Float, nullable=False),
    Column("price", Float, nullable=False),
    Column("fee", Float, nullable=False),
    Column("realized_pnl", Float, nullable=False),
    Column("position_qty_after", Float, nullable=False),
    Column("ts_ms", BigInteger, nullable=False),
    Column("version", BigInteger, nullable=False),
)
Index("ix_rg_fills_position", fills.c.account_id, fills.c.strategy, fills.c.symbol)

decisions = Table(
    "rg_decisions", metadata,
    Column("decision_id", String(64), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("intent_id", String(128), nullable=False),
    Column("strategy", String(128), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("approved", Boolean, nullable=False),
    Column("adds_risk", Boolean, nullable=False),
    Column("reservation_id", String(64), nullable=True),
    Column("ts_ms", BigInteger, nullable=False),
    Column("config_hash", String(32), nullable=False),
    Column("version", BigInteger, nullable=False),
    # Both empty once the decision's documents moved into a segment (migration 0006).
    Column("inputs", Text, nullable=False),
    Column("detail", Text, nullable=False),
    UniqueConstraint("account_id", "intent_id", name="uq_rg_decisions_intent"),
    Column("segment_id", String(64), nullable=True),
    Column("segment_index", Integer, nullable=True),
)
Index("ix_rg_decisions_account_ts", decisions.c.account_id, decisions.c.ts_ms)
# The decisions not yet packed into a segment, oldest first: a packed decision leaves this index,
# so finding the next ones to pack does not walk the packed history.
Index("ix_rg_decisions_unpacked", decisions.c.account_id, decisions.c.ts_ms,
      sqlite_where=decisions.c.segment_id.is_(None), postgresql_where=decisions.c.segment_id.is_(None))

decision_segments = Table(
    # Older decisions' inputs and detail, packed by ``ledger.decision_segments``: the documents of
    # consecutive decisions of one account compressed together (they share most of their text).
    "rg_decision_segments", metadata,
    Column("segment_id", String(64), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("decisions", Integer, nullable=False),
    Column("codec", String(16), nullable=False),
    Column("body", LargeBinary, nullable=False),
)

postures = Table(
    "rg_postures", metadata,
    Column("config_hash", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("canonical_json", Text, nullable=False),
)

return_sets = Table(
    # The CVaR gate's return history a decision saw, stored once under the hash of its JSON
    # (``{symbol: [simple returns, oldest first]}``); decisions refer to it from their inputs.
    "rg_return_sets", metadata,
    Column("returns_hash", String(64), primary_key=True),
    Column("returns_json", Text, nullable=False),
)

events = Table(
    "rg_events", metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("ts_ms", BigInteger, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("payload", Text, nullable=False),
)
Index("ix_rg_events_account_ts", events.c.account_id, events.c.ts_ms)

equity_marks = Table(
    "rg_equity_marks", metadata,
    Column("mark_id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("ts_ms", BigInteger, nullable=False),
    Column("nav", Float, nullable=True),
    Column("available_balance", Float, nullable=True),
    Column("realized_pnl", Float, nullable=False),
    Column("source", String(32), nullable=False),
    Column("actor", String(128), nullable=False),
)
Index("ix_rg_equity_marks_account_ts", equity_marks.c.account_id, equity_marks.c.ts_ms)

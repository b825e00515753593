"""The ledger's control tables: the kill switch (one row per activation, one per step it took),
the account's operating controls (safe mode, size multiplier) and the alerts that are open.

They live beside the book's tables in the same database, so every process and host that shares
the ledger sees a kill switch on its next decision. Migration ``0003_controls`` creates them.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, Integer, String, Table, Text

from riskguard.ledger.tables import metadata

kill_switches = Table(
    "rg_kill_switches", metadata,
    Column("activation_id", String(64), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("active", Boolean, nullable=False),
    # in_progress -> done | incomplete (a step failed, retried on the next activation) | no_exchange
    Column("status", String(16), nullable=False),
    Column("trigger", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("ts_ms", BigInteger, nullable=False),
    Column("runs", Integer, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Column("released_ms", BigInteger, nullable=True),
    Column("released_by", String(128), nullable=True),
    Column("release_reason", Text, nullable=True),
)
Index("ix_rg_kill_switches_account", kill_switches.c.account_id, kill_switches.c.active)

kill_steps = Table(
    # One row per cancel / close of an activation: what was sent (client order id) before it was
    # sent, so a restarted activation looks the order up instead of sending it twice.
    "rg_kill_steps", metadata,
    Column("activation_id", String(64), primary_key=True),
    Column("step", String(64), primary_key=True),
    Column("status", String(16), nullable=False),  # sent | done | failed
    Column("attempts", Integer, nullable=False),
    Column("client_order_id", String(36), nullable=True),
    Column("result", Text, nullable=False),
    Column("error", Text, nullable=True),
    Column("updated_ms", BigInteger, nullable=False),
)

controls = Table(
    "rg_controls", metadata,
    Column("account_id", String(64), primary_key=True),
    Column("safe_mode", Boolean, nullable=False),
    Column("size_multiplier", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("ts_ms", BigInteger, nullable=False),
)

open_alerts = Table(
    # An alert stays here while its condition holds: raised once, not once per monitor tick.
    "rg_open_alerts", metadata,
    Column("account_id", String(64), primary_key=True),
    Column("alert_key", String(64), primary_key=True),
    Column("severity", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("value", Float, nullable=True),
    Column("threshold", Float, nullable=True),
    Column("since_ms", BigInteger, nullable=False),
)

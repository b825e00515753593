"""Initial ledger schema: accounts, positions, reservations, fills, decisions, postures, events,
equity marks.

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create every ledger table."""
    op.create_table(
        "rg_accounts",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("trading_state", sa.String(16), nullable=False),
        sa.Column("state_reason", sa.Text, nullable=False),
        sa.Column("state_actor", sa.String(128), nullable=False),
        sa.Column("state_ts_ms", sa.BigInteger, nullable=False),
        sa.Column("nav", sa.Float, nullable=True),
        sa.Column("nav_ts_ms", sa.BigInteger, nullable=True),
        sa.Column("available_balance", sa.Float, nullable=True),
        sa.Column("day_high_nav", sa.Float, nullable=True),
        sa.Column("realized_pnl", sa.Float, nullable=False),
        sa.Column("counters", sa.Text, nullable=True),
    )
    op.create_table(
        "rg_positions",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("strategy", sa.String(128), primary_key=True),
        sa.Column("symbol", sa.String(32), primary_key=True),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("qty", sa.Float, nullable=False),
        sa.Column("entry_price", sa.Float, nullable=False),
        sa.Column("leverage", sa.Float, nullable=False),
        sa.Column("stop_price", sa.Float, nullable=True),
        sa.Column("take_profit_price", sa.Float, nullable=True),
        sa.Column("opened_ts_ms", sa.BigInteger, nullable=False),
        sa.Column("opened_version", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "rg_reservations",
        sa.Column("reservation_id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("intent_id", sa.String(128), nullable=False),
        sa.Column("decision_id", sa.String(64), nullable=False),
        sa.Column("strategy", sa.String(128), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("qty", sa.Float, nullable=False),
        sa.Column("price", sa.Float, nullable=False),
        sa.Column("notional", sa.Float, nullable=False),
        sa.Column("risk_usdt", sa.Float, nullable=False),
        sa.Column("opens_new", sa.Boolean, nullable=False),
        sa.Column("leverage", sa.Float, nullable=False),
        sa.Column("stop_price", sa.Float, nullable=True),
        sa.Column("take_profit_price", sa.Float, nullable=True),
        sa.Column("filled_qty", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("expires_ms", sa.BigInteger, nullable=False),
        sa.Column("ended_ms", sa.BigInteger, nullable=True),
        sa.Column("created_version", sa.BigInteger, nullable=False),
        sa.Column("ended_version", sa.BigInteger, nullable=True),
        sa.UniqueConstraint("account_id", "intent_id", name="uq_rg_reservations_intent"),
    )
    op.create_index("ix_rg_reservations_active", "rg_reservations", ["account_id", "status"])
    op.create_table(
        "rg_fills",
        sa.Column("fill_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("reservation_id", sa.String(64), nullable=True),
        sa.Column("strategy", sa.String(128), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("qty", sa.Float, nullable=False),
        sa.Column("price", sa.Float, nullable=False),
        sa.Column("fee", sa.Float, nullable=False),
        sa.Column("realized_pnl", sa.Float, nullable=False),
        sa.Column("position_qty_after", sa.Float, nullable=False),
        sa.Column("ts_ms", sa.BigInteger, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_rg_fills_position", "rg_fills", ["account_id", "strategy", "symbol"])
    op.create_table(
        "rg_decisions",
        sa.Column("decision_id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("intent_id", sa.String(128), nullable=False),
        sa.Column("strategy", sa.String(128), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("approved", sa.Boolean, nullable=False),
        sa.Column("adds_risk", sa.Boolean, nullable=False),
        sa.Column("reservation_id", sa.String(64), nullable=True),
        sa.Column("ts_ms", sa.BigInteger, nullable=False),
        sa.Column("config_hash", sa.String(32), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("inputs", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.UniqueConstraint("account_id", "intent_id", name="uq_rg_decisions_intent"),
    )
    op.create_index("ix_rg_decisions_account_ts", "rg_decisions", ["account_id", "ts_ms"])
    op.create_table(
        "rg_postures",
        sa.Column("config_hash", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("canonical_json", sa.Text, nullable=False),
    )
    op.create_table(
        "rg_events",
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("ts_ms", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
    )
    op.create_index("ix_rg_events_account_ts", "rg_events", ["account_id", "ts_ms"])
    op.create_table(
        "rg_equity_marks",
        sa.Column("mark_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("ts_ms", sa.BigInteger, nullable=False),
        sa.Column("nav", sa.Float, nullable=True),
        sa.Column("available_balance", sa.Float, nullable=True),
        sa.Column("realized_pnl", sa.Float, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
    )
    op.create_index("ix_rg_equity_marks_account_ts", "rg_equity_marks", ["account_id", "ts_ms"])


def downgrade() -> None:
    """Drop every ledger table."""
    for table in ("rg_equity_marks", "rg_events", "rg_postures", "rg_decisions", "rg_fills",
                  "rg_reservations", "rg_positions", "rg_accounts"):
        op.drop_table(table)

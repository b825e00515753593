"""Controls: the durable kill switch (activations and their steps), the account's safe mode and
size multiplier, and the monitor's open alerts.

Revision ID: 0003_controls
Revises: 0002_return_sets
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_controls"
down_revision = "0002_return_sets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create rg_kill_switches, rg_kill_steps, rg_controls and rg_open_alerts."""
    op.create_table(
        "rg_kill_switches",
        sa.Column("activation_id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("ts_ms", sa.BigInteger, nullable=False),
        sa.Column("runs", sa.Integer, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
        sa.Column("released_ms", sa.BigInteger, nullable=True),
        sa.Column("released_by", sa.String(128), nullable=True),
        sa.Column("release_reason", sa.Text, nullable=True),
    )
    op.create_index("ix_rg_kill_switches_account", "rg_kill_switches", ["account_id", "active"])
    op.create_table(
        "rg_kill_steps",
        sa.Column("activation_id", sa.String(64), primary_key=True),
        sa.Column("step", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("client_order_id", sa.String(36), nullable=True),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "rg_controls",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("safe_mode", sa.Boolean, nullable=False),
        sa.Column("size_multiplier", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("ts_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "rg_open_alerts",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("alert_key", sa.String(64), primary_key=True),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("threshold", sa.Float, nullable=True),
        sa.Column("since_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    """Drop the control tables."""
    for table in ("rg_open_alerts", "rg_controls", "rg_kill_steps", "rg_kill_switches"):
        op.drop_table(table)

"""Position legs: what the pyramiding gates read of how a position was built (one R fixed at the
opening fill, the opening quantity, the adds since, the latest leg). Positions opened before this
revision keep NULLs and count as one leg.

Revision ID: 0004_position_legs
Revises: 0003_controls
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_position_legs"
down_revision = "0003_controls"
branch_labels = None
depends_on = None

_FLOAT_COLUMNS = ("r_unit", "first_qty", "last_leg_qty", "last_leg_price")


def upgrade() -> None:
    """Add the leg columns to rg_positions."""
    for name in _FLOAT_COLUMNS[:2]:
        op.add_column("rg_positions", sa.Column(name, sa.Float, nullable=True))
    op.add_column("rg_positions", sa.Column("adds", sa.Integer, nullable=False, server_default="0"))
    for name in _FLOAT_COLUMNS[2:]:
        op.add_column("rg_positions", sa.Column(name, sa.Float, nullable=True))
    op.add_column("rg_positions", sa.Column("last_leg_ts_ms", sa.BigInteger, nullable=True))
    op.add_column("rg_positions", sa.Column("last_leg_reservation_id", sa.String(64), nullable=True))


def downgrade() -> None:
    """Drop the leg columns."""
    with op.batch_alter_table("rg_positions") as batch:
        for name in ("last_leg_reservation_id", "last_leg_ts_ms", *_FLOAT_COLUMNS[2:], "adds", *_FLOAT_COLUMNS[:2]):
            batch.drop_column(name)

"""Return sets: the CVaR gate's return history, stored once per content hash, so a decision taken
with return data replays with exactly that data.

Revision ID: 0002_return_sets
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_return_sets"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create rg_return_sets."""
    op.create_table(
        "rg_return_sets",
        sa.Column("returns_hash", sa.String(64), primary_key=True),
        sa.Column("returns_json", sa.Text, nullable=False),
    )


def downgrade() -> None:
    """Drop rg_return_sets."""
    op.drop_table("rg_return_sets")

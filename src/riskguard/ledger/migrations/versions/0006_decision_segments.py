"""Decision segments: older decisions' inputs and detail compressed together, many to a row
(``riskguard.ledger.decision_segments``); a packed decision keeps its row with empty documents and
names its segment and its place in it.

Revision ID: 0006_decision_segments
Revises: 0005_active_reservations
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_decision_segments"
down_revision = "0005_active_reservations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create rg_decision_segments and the decisions' segment columns."""
    op.create_table(
        "rg_decision_segments",
        sa.Column("segment_id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("decisions", sa.Integer, nullable=False),
        sa.Column("codec", sa.String(16), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
    )
    op.add_column("rg_decisions", sa.Column("segment_id", sa.String(64), nullable=True))
    op.add_column("rg_decisions", sa.Column("segment_index", sa.Integer, nullable=True))
    unpacked = sa.text("segment_id IS NULL")
    op.create_index("ix_rg_decisions_unpacked", "rg_decisions", ["account_id", "ts_ms"],
                    sqlite_where=unpacked, postgresql_where=unpacked)


def downgrade() -> None:
    """Refused when any decision is packed (its documents live only in a segment)."""
    connection = op.get_bind()
    packed = connection.execute(sa.text("SELECT count(*) FROM rg_decisions WHERE segment_id IS NOT NULL")).scalar()
    if packed:
        raise RuntimeError(f"{packed} decisions are packed in segments; a downgrade would lose their documents")
    op.drop_index("ix_rg_decisions_unpacked", table_name="rg_decisions")
    with op.batch_alter_table("rg_decisions") as batch:
        batch.drop_column("segment_index")
        batch.drop_column("segment_id")
    op.drop_table("rg_decision_segments")

"""Active reservations indexed by expiry, and the account's expiry floor: reading or expiring the
active reservations no longer walks the index entries every ended reservation left behind.

The index on (account_id, status) kept an entry per ACTIVE row version: each expiry, fill or
release updates the indexed status (no HOT update), so the dead ACTIVE entries piled up under
the one key every read of the active reservations scans, and the reserve path slowed down with
the ledger's history until a VACUUM. Now the index holds active reservations only, keyed by
expiry, and ``rg_accounts.expired_through_ms`` says that no active reservation expires at or
before it: reads start after it, above the entries of everything that expired before.

Revision ID: 0005_active_reservations
Revises: 0004_position_legs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_active_reservations"
down_revision = "0004_position_legs"
branch_labels = None
depends_on = None

_INDEX = "ix_rg_reservations_active"
_ACTIVE_ONLY = sa.text("status = 'ACTIVE'")


def upgrade() -> None:
    """Add rg_accounts.expired_through_ms (just below each account's earliest active expiry) and
    rebuild the active index as a partial index on (account_id, expires_ms)."""
    op.add_column("rg_accounts", sa.Column("expired_through_ms", sa.BigInteger, nullable=False, server_default="0"))
    # Any value below every active expiry keeps the promise; the first expiry raises it to now.
    op.execute("UPDATE rg_accounts SET expired_through_ms = COALESCE((SELECT MIN(r.expires_ms) FROM rg_reservations r "
               "WHERE r.account_id = rg_accounts.account_id AND r.status = 'ACTIVE'), 1) - 1")
    op.drop_index(_INDEX, table_name="rg_reservations")
    op.create_index(_INDEX, "rg_reservations", ["account_id", "expires_ms"],
                    postgresql_where=_ACTIVE_ONLY, sqlite_where=_ACTIVE_ONLY)


def downgrade() -> None:
    """Back to the (account_id, status) index; drop the floor."""
    op.drop_index(_INDEX, table_name="rg_reservations")
    op.create_index(_INDEX, "rg_reservations", ["account_id", "status"])
    with op.batch_alter_table("rg_accounts") as batch:
        batch.drop_column("expired_through_ms")

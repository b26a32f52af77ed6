"""sites keep their id for ever (AUTOINCREMENT), a backup identity per site, NULL for no SSH

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing sites keep the restic host their snapshots already carry.
    with op.batch_alter_table("sites") as batch:
        batch.add_column(sa.Column("backup_host", sa.String(length=64), nullable=True))
    op.execute("UPDATE sites SET backup_host = 'site-' || CAST(id AS VARCHAR(20))")
    with op.batch_alter_table("sites") as batch:
        batch.alter_column("backup_host", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint(op.f("uq_sites_backup_host"), ["backup_host"])


def downgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.drop_constraint(op.f("uq_sites_backup_host"), type_="unique")
        batch.drop_column("backup_host")

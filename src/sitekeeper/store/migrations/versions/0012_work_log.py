"""work_entries: the agency's work done by hand, counted against the plan's hours

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "work_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_work_entries_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_work_entries_site_id_sites"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_entries")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_work_entries_client_day", "work_entries", ["client_id", "day"])
    op.create_index(op.f("ix_work_entries_site_id"), "work_entries", ["site_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_work_entries_site_id"), table_name="work_entries")
    op.drop_index("ix_work_entries_client_day", table_name="work_entries")
    op.drop_table("work_entries")

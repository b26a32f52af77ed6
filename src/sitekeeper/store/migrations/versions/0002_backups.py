"""backup snapshots, repositories and restore drills

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "backup_repositories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("secrets", sa.Text(), nullable=False),
        sa.Column("initialized", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_backup_repositories_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_repositories")),
        sa.UniqueConstraint("client_id", name=op.f("uq_backup_repositories_client_id")),
    )
    op.create_index(
        "uq_backup_repositories_default",
        "backup_repositories",
        [sa.text("(client_id IS NULL)")],
        unique=True,
        sqlite_where=sa.text("client_id IS NULL"),
        postgresql_where=sa.text("client_id IS NULL"),
    )
    op.create_table(
        "backup_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("snapshot_id", sa.String(length=64), nullable=True),
        sa.Column("files", sa.Integer(), nullable=True),
        sa.Column("files_new", sa.Integer(), nullable=True),
        sa.Column("files_changed", sa.Integer(), nullable=True),
        sa.Column("bytes_total", sa.BigInteger(), nullable=True),
        sa.Column("bytes_added", sa.BigInteger(), nullable=True),
        sa.Column("bytes_transferred", sa.BigInteger(), nullable=True),
        sa.Column("database_bytes", sa.BigInteger(), nullable=True),
        sa.Column("duration", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=True),
        sa.Column("verified_at", _TS, nullable=True),
        sa.Column("verify_detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_backup_runs_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["backup_repositories.id"],
            name=op.f("fk_backup_runs_repository_id_backup_repositories"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_runs")),
    )
    op.create_index("ix_backup_runs_site_started", "backup_runs", ["site_id", "started_at"])
    op.create_index(op.f("ix_backup_runs_snapshot_id"), "backup_runs", ["snapshot_id"])


def downgrade() -> None:
    op.drop_table("backup_runs")
    op.drop_index("uq_backup_repositories_default", table_name="backup_repositories")
    op.drop_table("backup_repositories")

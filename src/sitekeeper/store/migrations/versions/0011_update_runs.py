"""update_runs, update_approvals, update_holds: safe updates, what waits for a person's
approval, and what a person holds back; clients.timezone for maintenance windows

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.add_column(
            sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False)
        )
    op.create_table(
        "update_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("snapshot_id", sa.String(length=64), nullable=True),
        sa.Column("baseline", sa.JSON(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_update_runs_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_update_runs")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_update_runs_status"), "update_runs", ["status"], unique=False)
    op.create_index(
        "ix_update_runs_site_started", "update_runs", ["site_id", "started_at"], unique=False
    )

    op.create_table(
        "update_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("package", sa.String(length=200), nullable=False),
        sa.Column("installed", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("security", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_update_approvals_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["update_runs.id"],
            name=op.f("fk_update_approvals_run_id_update_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_update_approvals")),
        sa.UniqueConstraint(
            "site_id", "type", "package", "target", name="uq_update_approvals_item"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_update_approvals_site_id"), "update_approvals", ["site_id"], unique=False
    )
    op.create_index(
        op.f("ix_update_approvals_status"), "update_approvals", ["status"], unique=False
    )
    op.create_table(
        "update_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("package", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("held_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_update_holds_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_update_holds")),
        sa.UniqueConstraint("site_id", "type", "package", name="uq_update_holds_item"),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_update_holds_site_id"), "update_holds", ["site_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("timezone")
    op.drop_index(op.f("ix_update_holds_site_id"), table_name="update_holds")
    op.drop_table("update_holds")
    op.drop_index(op.f("ix_update_approvals_status"), table_name="update_approvals")
    op.drop_index(op.f("ix_update_approvals_site_id"), table_name="update_approvals")
    op.drop_table("update_approvals")
    op.drop_index("ix_update_runs_site_started", table_name="update_runs")
    op.drop_index(op.f("ix_update_runs_status"), table_name="update_runs")
    op.drop_table("update_runs")

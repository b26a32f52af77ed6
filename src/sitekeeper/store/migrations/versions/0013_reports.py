"""client reports: the archive of rendered reports and their sends; a client's report
recipients and public status page token

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN and a unique index: a batch rebuild of ``clients`` on SQLite would
    # drop its AUTOINCREMENT (0008), and a removed client's id could come back.
    op.add_column(
        "clients", sa.Column("report_recipients", sa.JSON(), server_default="[]", nullable=False)
    )
    op.add_column("clients", sa.Column("status_token", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_clients_status_token"), "clients", ["status_token"], unique=True)
    op.create_table(
        "client_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("first", sa.Date(), nullable=False),
        sa.Column("last", sa.Date(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_client_reports_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_reports")),
        sa.UniqueConstraint(
            "client_id",
            "scope",
            "first",
            "last",
            name="uq_client_reports_period",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_client_reports_client_id"), "client_reports", ["client_id"])
    op.create_table(
        "report_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["client_reports.id"],
            name=op.f("fk_report_sends_report_id_client_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_sends")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_report_sends_report_id"), "report_sends", ["report_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_report_sends_report_id"), table_name="report_sends")
    op.drop_table("report_sends")
    op.drop_index(op.f("ix_client_reports_client_id"), table_name="client_reports")
    op.drop_table("client_reports")
    op.drop_index(op.f("ix_clients_status_token"), table_name="clients")
    # DROP COLUMN in place (SQLite >= 3.35), not a batch rebuild: see upgrade().
    op.execute("ALTER TABLE clients DROP COLUMN status_token")
    op.execute("ALTER TABLE clients DROP COLUMN report_recipients")

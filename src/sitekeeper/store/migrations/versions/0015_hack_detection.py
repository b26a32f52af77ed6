"""hack detection: file manifests, page baselines, acknowledged findings, and the fleet
summary's count of signs of compromise

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_file_manifests",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("cms", sa.String(length=16), nullable=False),
        sa.Column("cms_version", sa.String(length=100), nullable=True),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("manifest", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_site_file_manifests_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_site_file_manifests")),
    )
    op.create_table(
        "page_baselines",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=800), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_page_baselines_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("site_id", "url", name=op.f("pk_page_baselines")),
    )
    op.create_table(
        "finding_acks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("digest", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_finding_acks_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding_acks")),
        sqlite_autoincrement=True,
    )
    op.create_index("uq_finding_acks_site_key", "finding_acks", ["site_id", "key"], unique=True)
    op.add_column(
        "site_summary",
        sa.Column("compromised", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("site_summary", "compromised")
    op.drop_index("uq_finding_acks_site_key", table_name="finding_acks")
    op.drop_table("finding_acks")
    op.drop_table("page_baselines")
    op.drop_table("site_file_manifests")

"""site_domains: a site's domain registration (RDAP) and the DNS watch's state

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_domains",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("registrar", sa.String(length=200), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("statuses", sa.JSON(), nullable=False),
        sa.Column("dnssec", sa.Boolean(), nullable=True),
        sa.Column("rdap_source", sa.String(length=800), nullable=True),
        sa.Column("rdap_error", sa.String(length=500), nullable=True),
        sa.Column("rdap_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dns_records", sa.JSON(), nullable=False),
        sa.Column("dns_trusted_ns", sa.JSON(), nullable=False),
        sa.Column("dns_networks", sa.JSON(), nullable=False),
        sa.Column("dns_failed", sa.JSON(), nullable=False),
        sa.Column("dns_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_site_domains_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_site_domains")),
    )


def downgrade() -> None:
    op.drop_table("site_domains")

"""software intelligence: fingerprints, inventories, releases, advisories, findings

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _site_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["site_id"], ["sites.id"], name=op.f(f"fk_{table}_site_id_sites"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "inventories",
        sa.Column("id", _ID, nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("collected_at", _TS, nullable=False),
        sa.Column("cms", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        _site_fk("inventories"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inventories")),
    )
    op.create_index("ix_inventories_site_at", "inventories", ["site_id", "collected_at"])
    op.create_table(
        "fingerprints",
        sa.Column("id", _ID, nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("taken_at", _TS, nullable=False),
        sa.Column("cms", sa.String(length=32), nullable=True),
        sa.Column("version", sa.String(length=100), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        _site_fk("fingerprints"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fingerprints")),
    )
    op.create_index("ix_fingerprints_site_at", "fingerprints", ["site_id", "taken_at"])
    op.create_table(
        "site_software",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("ecosystem", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("package", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=True),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("update_source", sa.String(length=500), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=True),
        _site_fk("site_software"),
        sa.PrimaryKeyConstraint(
            "site_id", "ecosystem", "type", "package", name=op.f("pk_site_software")
        ),
    )
    op.create_index("ix_site_software_package", "site_software", ["ecosystem", "package"])
    op.create_table(
        "catalogue_packages",
        sa.Column("ecosystem", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("package", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("latest", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("checked_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("ecosystem", "type", "package", name=op.f("pk_catalogue_packages")),
    )
    op.create_table(
        "catalogue_releases",
        sa.Column("ecosystem", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("package", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("released_at", _TS, nullable=True),
        sa.Column("security_update", sa.Boolean(), nullable=False),
        sa.Column("insecure", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint(
            "ecosystem", "type", "package", "version", name=op.f("pk_catalogue_releases")
        ),
    )
    op.create_table(
        "feed_state",
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("etag", sa.String(length=500), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("fetched_at", _TS, nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("url", name=op.f("pk_feed_state")),
    )
    op.create_table(
        "advisories",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("published", _TS, nullable=True),
        sa.Column("modified", _TS, nullable=True),
        sa.Column("imported_at", _TS, nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_advisories")),
    )
    op.create_table(
        "advisory_packages",
        sa.Column("advisory_id", sa.String(length=200), nullable=False),
        sa.Column("ecosystem", sa.String(length=16), nullable=False),
        sa.Column("package", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["advisory_id"],
            ["advisories.id"],
            name=op.f("fk_advisory_packages_advisory_id_advisories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "advisory_id", "ecosystem", "package", name=op.f("pk_advisory_packages")
        ),
    )
    op.create_index("ix_advisory_packages_package", "advisory_packages", ["ecosystem", "package"])
    op.create_table(
        "findings",
        sa.Column("id", _ID, nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ecosystem", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("package", sa.String(length=200), nullable=False),
        sa.Column("installed", sa.String(length=100), nullable=True),
        sa.Column("latest", sa.String(length=100), nullable=True),
        sa.Column("advisory_id", sa.String(length=200), nullable=True),
        sa.Column("security", sa.Boolean(), nullable=False),
        sa.Column("certainty", sa.String(length=16), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("opened_at", _TS, nullable=False),
        sa.Column("resolved_at", _TS, nullable=True),
        _site_fk("findings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
    )
    op.create_index(
        "uq_findings_open",
        "findings",
        ["site_id", "key"],
        unique=True,
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_index("ix_findings_package", "findings", ["ecosystem", "package"])


def downgrade() -> None:
    op.drop_index("ix_findings_package", table_name="findings")
    op.drop_index("uq_findings_open", table_name="findings")
    op.drop_table("findings")
    op.drop_index("ix_advisory_packages_package", table_name="advisory_packages")
    op.drop_table("advisory_packages")
    op.drop_table("advisories")
    op.drop_table("feed_state")
    op.drop_table("catalogue_releases")
    op.drop_table("catalogue_packages")
    op.drop_index("ix_site_software_package", table_name="site_software")
    op.drop_table("site_software")
    op.drop_index("ix_fingerprints_site_at", table_name="fingerprints")
    op.drop_table("fingerprints")
    op.drop_index("ix_inventories_site_at", table_name="inventories")
    op.drop_table("inventories")

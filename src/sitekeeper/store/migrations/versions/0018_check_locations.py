"""The check location each raw result was taken from, and the locations seen

Revision ID: 0018
Revises: 0017

Checks from several locations (plan option ``check_locations``, domain.quorum) need
each raw result's location, and two locations may check a site in the same
millisecond, so the location joins the primary key. The default location is stored
as '' (no bytes on SQLite), keeping the single-location row as small as before.
SQLite cannot change a primary key in place: the table is rebuilt (WITHOUT ROWID,
as created by 0001), copying the rows. ``check_locations`` holds one row per location:
when it last stored a result, and since when it is alerted as silent.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def _rebuild_sqlite(keys: list[str], with_location: bool) -> None:
    """Copy check_raw into a new table with primary key ``keys`` (SQLite only)."""
    columns: list[sa.Column[Any]] = [
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("up", sa.Boolean(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=True),
        sa.Column("response_ms", sa.Integer(), nullable=True),
        sa.Column("error", sa.SmallInteger(), nullable=False),
    ]
    if with_location:
        columns.append(
            sa.Column("location", sa.String(length=32), server_default="", nullable=False)
        )
    op.create_table(
        "check_raw_new",
        *columns,
        sa.PrimaryKeyConstraint(*keys, name="pk_check_raw"),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT OR IGNORE INTO check_raw_new (site_id, ts_ms, up, status, response_ms, error)"
        " SELECT site_id, ts_ms, up, status, response_ms, error FROM check_raw"
    )
    op.drop_table("check_raw")
    op.rename_table("check_raw_new", "check_raw")


def upgrade() -> None:
    op.create_table(
        "check_locations",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_result_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("silent_since", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_check_locations")),
    )
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(["site_id", "ts_ms", "location"], with_location=True)
        return
    op.add_column(
        "check_raw",
        sa.Column("location", sa.String(length=32), server_default="", nullable=False),
    )
    op.drop_constraint("pk_check_raw", "check_raw", type_="primary")
    op.create_primary_key("pk_check_raw", "check_raw", ["site_id", "ts_ms", "location"])


def downgrade() -> None:
    op.drop_table("check_locations")
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(["site_id", "ts_ms"], with_location=False)
        return
    # Results of other locations taken in the same millisecond collapse onto one row.
    op.execute(
        "DELETE FROM check_raw a USING check_raw b WHERE a.site_id = b.site_id"
        " AND a.ts_ms = b.ts_ms AND a.location > b.location"
    )
    op.drop_constraint("pk_check_raw", "check_raw", type_="primary")
    op.create_primary_key("pk_check_raw", "check_raw", ["site_id", "ts_ms"])
    op.drop_column("check_raw", "location")

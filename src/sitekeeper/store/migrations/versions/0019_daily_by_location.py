"""Daily figures per check location, so charts past the raw retention still show them

Revision ID: 0019
Revises: 0018

``check_daily`` merges every location's results of a day (reports and SLA figures
read it, unchanged); ``check_daily_by_location`` keeps each location's own figures,
written by the same roll-up for the days a site was checked from a location other
than the default one. Where another location has stored results, days already rolled
up whose raw rows are still kept are handed back to the roll-up (their
``check_daily`` rows are deleted): until it runs they are read from the raw rows, as
a day not rolled up yet is, and then both tables are written from the same rows. Raw
rows are never pruned before their day is rolled up (store.rollup.prune_raw), so
nothing is lost.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "check_daily_by_location",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("location", sa.String(length=32), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("up_checks", sa.Integer(), nullable=False),
        sa.Column("avg_ms", sa.Integer(), nullable=True),
        sa.Column("p50_ms", sa.Integer(), nullable=True),
        sa.Column("p95_ms", sa.Integer(), nullable=True),
        sa.Column("p99_ms", sa.Integer(), nullable=True),
        sa.Column("max_ms", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_check_daily_by_location_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "site_id", "day", "location", name=op.f("pk_check_daily_by_location")
        ),
    )
    bind = op.get_bind()
    # Only an install that has had another location (0018's registry says so) has days
    # to hand back; it hands back every day still kept raw, which the roll-up redoes
    # alike (and no scan of raw rows for their location is needed here).
    if bind.scalar(sa.text("SELECT COUNT(*) FROM check_locations WHERE name <> ''")):
        first_ms = bind.scalar(sa.text("SELECT MIN(ts_ms) FROM check_raw"))
        if first_ms is not None:
            first_day = datetime.fromtimestamp(first_ms / 1000, UTC).date()
            reopen = sa.text("DELETE FROM check_daily WHERE day >= :day")
            bind.execute(reopen.bindparams(sa.bindparam("day", first_day, type_=sa.Date())))


def downgrade() -> None:
    op.drop_table("check_daily_by_location")

"""Daily uptime of sites checked from several locations follows their confirmed outages

Revision ID: 0020
Revises: 0019

No table changes: the roll-up now counts a day checked from more than one location as
down only inside the site's "down" incidents (domain.outages), and takes its response
times from the default location. Where another location has stored results, days
already rolled up whose raw rows are still kept are handed back to the roll-up (their
``check_daily`` rows are deleted), as 0019 did: until it runs they are read from the
raw rows the new way, as a day not rolled up yet is. Days whose raw rows were pruned
before this revision keep the merged count they were rolled up with.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.scalar(sa.text("SELECT COUNT(*) FROM check_locations WHERE name <> ''")):
        first_ms = bind.scalar(sa.text("SELECT MIN(ts_ms) FROM check_raw"))
        if first_ms is not None:
            first_day = datetime.fromtimestamp(first_ms / 1000, UTC).date()
            reopen = sa.text("DELETE FROM check_daily WHERE day >= :day")
            bind.execute(reopen.bindparams(sa.bindparam("day", first_day, type_=sa.Date())))


def downgrade() -> None:
    """Nothing to undo: the rows the roll-up rewrote keep their new counts."""

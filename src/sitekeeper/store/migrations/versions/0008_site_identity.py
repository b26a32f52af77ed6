"""sites keep their id for ever (AUTOINCREMENT), a backup identity per site, NULL for no SSH

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # placeholder: filled in by the change that owns this revision


def downgrade() -> None:
    pass

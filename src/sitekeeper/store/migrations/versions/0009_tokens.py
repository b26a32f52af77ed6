"""API tokens expire, record their last use, die with a password reset

Revision ID: 0009
Revises: 0008

Tokens already issued keep no expiry (``NULL``): they stay valid until revoked, as
they were promised when created. ``last_used_at`` exists since 0003.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")

"""site_summary: per-site incident, finding and backup figures for the fleet view

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)

# The same definitions as store.site_summary, in SQL both dialects read, so an
# existing install starts with a correct summary.
_FILL = """
INSERT INTO site_summary (site_id, down_since, tls_incident, open_incidents,
                          updates, security_updates, vulns, last_backup_at, backup_failed)
SELECT s.id,
  (SELECT min(i.opened_at) FROM incidents i
    WHERE i.site_id = s.id AND i.closed_at IS NULL AND i.kind = 'down'),
  EXISTS (SELECT 1 FROM incidents i
    WHERE i.site_id = s.id AND i.closed_at IS NULL AND i.kind = 'tls_expiring'),
  (SELECT count(*) FROM incidents i WHERE i.site_id = s.id AND i.closed_at IS NULL),
  (SELECT count(*) FROM findings f
    WHERE f.site_id = s.id AND f.resolved_at IS NULL AND f.kind = 'update'),
  (SELECT count(*) FROM findings f
    WHERE f.site_id = s.id AND f.resolved_at IS NULL AND f.kind = 'update' AND f.security),
  (SELECT count(*) FROM findings f
    WHERE f.site_id = s.id AND f.resolved_at IS NULL AND f.kind = 'vulnerability'),
  (SELECT max(b.started_at) FROM backup_runs b
    WHERE b.site_id = s.id AND b.reason <> 'safety' AND b.status = 'ok'),
  COALESCE((SELECT b.status FROM backup_runs b
    WHERE b.site_id = s.id AND b.reason <> 'safety' AND b.status <> 'running'
    ORDER BY b.started_at DESC, b.id DESC LIMIT 1) = 'failed', FALSE)
FROM sites s
"""


def upgrade() -> None:
    op.create_table(
        "site_summary",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("down_since", _TS, nullable=True),
        sa.Column("tls_incident", sa.Boolean(), nullable=False),
        sa.Column("open_incidents", sa.Integer(), nullable=False),
        sa.Column("updates", sa.Integer(), nullable=False),
        sa.Column("security_updates", sa.Integer(), nullable=False),
        sa.Column("vulns", sa.Integer(), nullable=False),
        sa.Column("last_backup_at", _TS, nullable=True),
        sa.Column("backup_failed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_site_summary_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_site_summary")),
    )
    op.execute(_FILL)


def downgrade() -> None:
    op.drop_table("site_summary")

"""sites keep their id for ever (AUTOINCREMENT), a backup identity per site, NULL for no SSH

Also: raw checks of removed sites are dropped, and intel_attempts records when a
site's inventory or fingerprint was last tried (the due query's fair order).

Revision ID: 0008
Revises: 0007
"""

# ruff: noqa: S608 - the SQL built here names only this file's constant tables and columns

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Tables keyed by their own integer id (as of this revision), and the columns of
# other tables that still name such an id after its row is gone: the next id of a
# table starts above every one of them, so an install upgraded with a deleted site's
# journal or raw checks lying around can never give that history to a new site.
_IDS_OUTLIVE_ROWS: dict[str, list[tuple[str, str]]] = {
    "clients": [("events", "client_id")],
    "plans": [],
    "contracts": [],
    "sites": [("events", "site_id"), ("check_raw", "site_id")],
    "jobs": [],
    "incidents": [("events", "incident_id")],
    "events": [("notifications", "event_id")],
    "notifications": [],
    "users": [],
    "api_tokens": [],
    "backup_repositories": [("backup_runs", "repository_id")],
    "backup_runs": [],
    "inventories": [],
    "fingerprints": [],
    "findings": [],
    "tasks": [],
}


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # Existing sites keep the restic host their snapshots already carry.
    op.add_column("sites", sa.Column("backup_host", sa.String(length=64), nullable=True))
    op.execute("UPDATE sites SET backup_host = 'site-' || CAST(id AS VARCHAR(20))")
    if sqlite:
        for table, references in _IDS_OUTLIVE_ROWS.items():
            _never_reuse_ids(table, references)
    else:
        op.alter_column("sites", "backup_host", existing_type=sa.String(64), nullable=False)
        op.create_unique_constraint(op.f("uq_sites_backup_host"), "sites", ["backup_host"])
    # Raw checks of removed sites (no foreign key; removal deletes them from now on).
    op.execute("DELETE FROM check_raw WHERE site_id NOT IN (SELECT id FROM sites)")
    # "No SSH" was stored as the JSON text 'null', which `ssh IS NULL` does not match.
    op.execute("UPDATE sites SET ssh = NULL WHERE CAST(ssh AS TEXT) = 'null'")
    op.create_table(
        "intel_attempts",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_intel_attempts_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("site_id", "kind", name=op.f("pk_intel_attempts")),
    )


def _never_reuse_ids(table: str, references: list[tuple[str, str]]) -> None:
    """SQLite: rebuild ``table`` with AUTOINCREMENT, its sequence above every id in use.

    SQLite's own recipe (new table, copy, drop, rename, indexes back verbatim) on
    the table's recorded definition: a few milliseconds a table, where Alembic's
    reflecting rebuild took tens (every test database is built by these migrations)
    and dropped expression indexes.
    """
    bind = op.get_bind()
    create = bind.scalar(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": table}
    )
    indexes = (
        bind.execute(
            sa.text(
                "SELECT sql FROM sqlite_master WHERE type IN ('index', 'trigger')"
                " AND tbl_name = :t AND sql IS NOT NULL"
            ),
            {"t": table},
        )
        .scalars()
        .all()
    )
    op.execute(_create_with_autoincrement(table, create, f"_new_{table}"))
    op.execute(f'INSERT INTO "_new_{table}" SELECT * FROM "{table}"')
    op.execute(f'DROP TABLE "{table}"')
    op.execute(f'ALTER TABLE "_new_{table}" RENAME TO "{table}"')
    for sql in indexes:
        op.execute(sql)
    highest = " UNION ALL ".join(
        [f"SELECT max(id) AS id FROM {table}"]
        + [f"SELECT max({column}) FROM {other}" for other, column in references]
    )
    bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :t"), {"t": table})
    bind.execute(
        sa.text(
            "INSERT INTO sqlite_sequence (name, seq)"
            f" SELECT :t, coalesce(max(id), 0) FROM ({highest})"
        ),
        {"t": table},
    )


def _create_with_autoincrement(table: str, create: str, name: str) -> str:
    """``create`` (as 0001-0007 wrote it) under ``name``, with an AUTOINCREMENT id.

    For ``sites``, ``backup_host`` (added above as a nullable column) also becomes
    NOT NULL and unique here, as SQLite cannot alter a column in place.
    """
    header = re.compile(rf'^CREATE TABLE "?{table}"? \(')
    parts = [
        (header, f'CREATE TABLE "{name}" ('),
        (
            re.compile(r"\bid INTEGER NOT NULL(?: PRIMARY KEY AUTOINCREMENT)?,"),
            "id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,",
        ),
        (re.compile(r",\s*(?:CONSTRAINT \w+ )?PRIMARY KEY \(id\)"), ""),
    ]
    if table == "sites":
        parts += [
            (
                re.compile(r"\bbackup_host VARCHAR\(64\)(?=[,)]|$)"),
                "backup_host VARCHAR(64) NOT NULL",
            ),
            (re.compile(r"\s*\)\s*$"), ", CONSTRAINT uq_sites_backup_host UNIQUE (backup_host))"),
        ]
    for pattern, replacement in parts:
        create, found = pattern.subn(replacement, create, count=1)
        if not found and replacement:
            raise RuntimeError(f"unexpected definition of table {table}: {create}")
    return create


def downgrade() -> None:
    op.drop_table("intel_attempts")
    with op.batch_alter_table("sites") as batch:
        batch.drop_constraint(op.f("uq_sites_backup_host"), type_="unique")
        batch.drop_column("backup_host")

"""A site's identity is its own for ever: ids never come back, backups have their own host."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from sqlalchemy import Connection, text

from sitekeeper.store.database import Database, alembic_config
from tests.store.factories import baker, site


@contextmanager
def at_0007(db: Database) -> Iterator[Connection]:
    """The database as an install at revision 0007 had it; upgraded to head on exit."""
    config = alembic_config(db.engine)
    command.downgrade(config, "0007")
    with db.engine.begin() as conn:
        yield conn
    command.upgrade(config, "head")


def _old_site(conn: Connection, site_id: int, client_id: int, ssh: str | None) -> None:
    conn.execute(
        text(
            "INSERT INTO sites (id, name, url, client_id, check_options, ssh, paused, created_at)"
            " VALUES (:id, :name, :url, :client, '{}', :ssh, false, '2026-01-01 00:00:00')"
        ),
        {
            "id": site_id,
            "name": f"s{site_id}",
            "url": f"https://s{site_id}.example/",
            "client": client_id,
            "ssh": ssh,
        },
    )


def test_new_sites_get_a_backup_host_of_their_own(db: Database) -> None:
    with db.session() as s:
        client = baker(s)
        hosts = [site(s, client, f"https://s{i}.example").backup_host for i in range(3)]
    assert len(set(hosts)) == 3
    assert all(re.fullmatch(r"site-[0-9a-f]{32}", h) for h in hosts)


def test_existing_sites_keep_the_backup_host_their_snapshots_carry(db: Database) -> None:
    with at_0007(db) as conn:
        conn.execute(
            text(
                "INSERT INTO clients (id, name, language, alert_urls, created_at)"
                " VALUES (1, 'c', 'en', '[]', '2026-01-01 00:00:00')"
            )
        )
        for sid in (1, 2, 7):
            _old_site(conn, sid, 1, None)
            conn.execute(
                text("INSERT INTO site_tags (site_id, tag) VALUES (:s, 'shop')"), {"s": sid}
            )
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, backup_host FROM sites ORDER BY id")).all()
        tags = conn.execute(text("SELECT site_id FROM site_tags ORDER BY site_id")).scalars().all()
    assert [tuple(r) for r in rows] == [(1, "site-1"), (2, "site-2"), (7, "site-7")]
    # Rebuilding the table on SQLite must not cascade its drop to the rows that refer to it.
    assert tags == [1, 2, 7]

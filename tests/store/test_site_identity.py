"""A site's identity is its own for ever: ids never come back, backups have their own host."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, insert, select, text
from sqlalchemy.exc import IntegrityError

from sitekeeper.store import backups, fleet, history, journal, sites
from sitekeeper.store.backup_tables import BackupRun
from sitekeeper.store.database import Database, alembic_config
from sitekeeper.store.tables import (
    Base,
    CheckDaily,
    CheckRaw,
    Event,
    Incident,
    Site,
    has_integer_id,
)
from tests.store.factories import NOW, baker, site

# What the bug was about: ids other rows, the journal, tasks or URLs still name.
MUST_NEVER_REUSE = {
    "clients", "plans", "contracts", "sites", "incidents", "events", "notifications",
    "users", "api_tokens", "backup_repositories", "backup_runs", "tasks", "findings",
}  # fmt: skip
# Tables the 0008 rebuild covers (others come with their own migration).
REBUILT = MUST_NEVER_REUSE | {"jobs", "inventories", "fingerprints"}
OLD = "2026-01-01 00:00:00"


@contextmanager
def at_0007(db: Database) -> Iterator[Connection]:
    """The database as an install at revision 0007 had it; upgraded to head on exit."""
    config = alembic_config(db.engine)
    command.downgrade(config, "0007")
    with db.engine.begin() as conn:
        yield conn
    command.upgrade(config, "head")


def _sql(conn: Connection, statement: str, **params: object) -> None:
    conn.execute(text(statement), params)


def _old_client(conn: Connection, client_id: int | None = None) -> int:
    """A client row as 0007 stored it; ``None``: the next id the database hands out."""
    columns, values = "name, language, alert_urls, created_at", ":name, 'en', '[]', :ts"
    if client_id is not None:
        columns, values = f"id, {columns}", f":id, {values}"
    return int(
        conn.execute(
            text(f"INSERT INTO clients ({columns}) VALUES ({values}) RETURNING id"),
            {"id": client_id, "name": f"client {os.urandom(4).hex()}", "ts": OLD},
        ).scalar_one()
    )


def _old_site(conn: Connection, site_id: int | None, client_id: int, ssh: str | None = None) -> int:
    """A site row as 0007 stored it; ``None``: the next id the database hands out."""
    columns = "name, url, client_id, check_options, ssh, paused, created_at"
    ssh_value = "CAST(:ssh AS JSON)" if conn.dialect.name == "postgresql" else ":ssh"
    values = f":name, :url, :client, '{{}}', {ssh_value}, false, :ts"
    if site_id is not None:
        columns, values = f"id, {columns}", f":id, {values}"
    label = site_id if site_id is not None else os.urandom(4).hex()
    return int(
        conn.execute(
            text(f"INSERT INTO sites ({columns}) VALUES ({values}) RETURNING id"),
            {
                "id": site_id,
                "name": f"s{label}",
                "url": f"https://s{label}.example/",
                "client": client_id,
                "ssh": ssh,
                "ts": OLD,
            },
        ).scalar_one()
    )


def _old_event(conn: Connection, site_id: int, client_id: int, kind: str) -> None:
    _sql(
        conn,
        "INSERT INTO events (ts, kind, site_id, client_id, data)"
        " VALUES ('2026-01-02 00:00:00', :kind, :site, :client, '{}')",
        kind=kind,
        site=site_id,
        client=client_id,
    )


def test_new_sites_get_a_backup_host_of_their_own(db: Database) -> None:
    with db.session() as s:
        client = baker(s)
        hosts = [site(s, client, f"https://s{i}.example").backup_host for i in range(3)]
    assert len(set(hosts)) == 3
    assert all(re.fullmatch(r"site-[0-9a-f]{32}", h) for h in hosts)


def test_a_new_site_never_inherits_a_removed_sites_history(db: Database) -> None:
    """Remove the newest site, add one for another client: it starts with nothing."""
    with db.session() as s:
        old = site(s, baker(s, "Old client"), "https://old.example")
        old_id, old_host = old.id, old.backup_host
        s.add(CheckRaw(site_id=old_id, ts_ms=int(NOW.timestamp() * 1000), up=False, error=1))
        run = backups.start_run(s, old, None, "manual", NOW)
        backups.fail_run(s, run.id, "refused", NOW)
    with db.session() as s:
        sites.remove_site(s, s.get_one(Site, old_id), NOW)
    with db.session() as s:
        new = site(s, baker(s, "New client"), "https://new.example")
        assert new.id > old_id
        assert new.backup_host != old_host
        events = history.journal_events(s, site_ids=[new.id])
        assert [e.kind for e in events] == ["site.added"]
        assert history.uptime_by_day(s, [new.id], 1, NOW.date()) == []
        assert s.scalars(select(BackupRun).where(BackupRun.site_id == new.id)).all() == []
        # The removed site's raw checks went with it (they have no foreign key).
        assert s.scalars(select(CheckRaw).where(CheckRaw.site_id == old_id)).all() == []


def test_a_sites_journal_shows_only_its_own_clients_events(db: Database) -> None:
    """Defence in depth for installs that did reuse an id: another client's events stay out."""
    with db.session() as s:
        mine = site(s, baker(s), "https://mine.example")
        other = baker(s, "Someone else")
        journal.record(s, "backup.failed", site_id=mine.id, client_id=other.id, ts=NOW)
        journal.record(s, "site.paused", site_id=mine.id, ts=NOW)
        kinds = [e.kind for e in history.journal_events(s, site_ids=[mine.id])]
    assert kinds == ["site.paused", "site.added"]


def test_every_table_keyed_by_its_own_id_uses_autoincrement_on_sqlite(
    sqlite_db: Database,
) -> None:
    """Each migration must create such tables with AUTOINCREMENT (``sqlite_autoincrement``)."""
    keyed = {t.name for t in Base.metadata.sorted_tables if has_integer_id(t)}
    assert keyed >= MUST_NEVER_REUSE
    with sqlite_db.engine.connect() as conn:
        created = dict(
            conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")).all()
        )
    missing = sorted(t for t in keyed if t in created and "AUTOINCREMENT" not in created[t])
    assert missing == []


def test_rows_of_every_table_keyed_by_an_id_get_fresh_ids(db: Database) -> None:
    """Delete the newest row and insert another: a new id (sqlite_sequence / sequences)."""
    with db.session() as s:
        client = baker(s)
        first = journal.record(s, "site.paused", client_id=client.id, ts=NOW).id
        s.execute(Event.__table__.delete().where(Event.id == first))
        second = journal.record(s, "site.paused", client_id=client.id, ts=NOW).id
        client_id = client.id
        s.delete(client)
        s.flush()
        again = baker(s).id
    assert second > first
    assert again > client_id


def test_upgrading_an_install_never_reuses_an_id_its_history_still_names(db: Database) -> None:
    """0007 -> head with data: ids stay above the removed site's journal and raw checks."""
    with at_0007(db) as conn:
        # Ids handed out by the database, as in a real install: clients 1-3, sites 1-3.
        first, second, gone = (_old_client(conn) for _ in range(3))
        sites_ = [_old_site(conn, None, client) for client in (first, second, first)]
        assert sites_ == [1, 2, 3]
        _sql(conn, "INSERT INTO site_tags (site_id, tag) VALUES (1, 'shop'), (2, 'shop')")
        _sql(
            conn,
            "INSERT INTO jobs (kind, site_id, interval, next_run_at, enabled)"
            " VALUES ('check', 1, 300, 0, true)",
        )
        _old_event(conn, 3, first, "site.added")
        _old_event(conn, 3, gone, "backup.ok")
        _sql(
            conn,
            "INSERT INTO check_raw (site_id, ts_ms, up, error)"
            " VALUES (3, 1, false, 1), (1, 1, true, 0)",
        )
        # Site 3 and client 3 were removed; their journal and raw checks remain.
        _sql(conn, "DELETE FROM sites WHERE id = 3")
        _sql(conn, "DELETE FROM clients WHERE id = :c", c=gone)
        _sql(
            conn,
            "INSERT INTO backup_repositories (client_id, kind, location, options, secrets,"
            " initialized, created_at) VALUES (NULL, 'local', '/r', '{}', 'x', false,"
            " '2026-01-01 00:00:00')",
        )
    with db.session() as s:
        assert [t.tag for t in s.get_one(Site, 1).tags] == ["shop"]
        assert s.scalar(text("SELECT count(*) FROM jobs")) == 1
        assert list(s.scalars(text("SELECT site_id FROM check_raw"))) == [1]
        client = baker(s)
        new = site(s, client, "https://new.example")
        assert new.id > 3
        assert client.id > 3
        assert [e.kind for e in history.journal_events(s, site_ids=[new.id])] == ["site.added"]
    # The partial unique indexes survived the rebuild: still one default repository.
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(
            insert(Base.metadata.tables["backup_repositories"]).values(
                client_id=None,
                kind="local",
                location="/other",
                options={},
                secrets="x",
                initialized=False,
                created_at=NOW,
            )
        )


def test_the_upgraded_schema_is_the_declared_one(db: Database) -> None:
    """Rebuilt tables keep every column, index, unique and foreign key the models declare."""
    with at_0007(db) as conn:
        _old_client(conn, 1)
        _old_site(conn, 1, 1)
    with db.engine.connect() as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reflection skips expression indexes, and says so
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    touched = [d for d in diffs if _table_of(d) in REBUILT]
    assert touched == []


def _table_of(diff: object) -> str | None:
    first = diff[0] if isinstance(diff, list) else diff
    assert isinstance(first, tuple)
    for part in first[1:]:
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None and getattr(table, "name", None):
            return str(table.name)
        if isinstance(part, str) and part in REBUILT:
            return part
        if name in REBUILT:
            return str(name)
    return None


def test_existing_sites_keep_the_backup_host_their_snapshots_carry(db: Database) -> None:
    with at_0007(db) as conn:
        _old_client(conn, 1)
        for sid in (1, 2, 7):
            _old_site(conn, sid, 1)
            _sql(conn, "INSERT INTO site_tags (site_id, tag) VALUES (:s, 'shop')", s=sid)
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, backup_host FROM sites ORDER BY id")).all()
        tags = conn.execute(text("SELECT site_id FROM site_tags ORDER BY site_id")).scalars().all()
    assert [tuple(r) for r in rows] == [(1, "site-1"), (2, "site-2"), (7, "site-7")]
    # Rebuilding the table on SQLite must not cascade its drop to the rows that refer to it.
    assert tags == [1, 2, 7]


def test_upgrading_turns_the_json_null_of_sites_without_ssh_into_sql_null(db: Database) -> None:
    """0007 stored "no SSH" as the JSON text 'null', which the inventory schedule took for SSH."""
    access = '{"host": "127.0.0.1", "port": 22, "user": "u", "key_path": null, "docroot": "/w"}'
    with at_0007(db) as conn:
        client = _old_client(conn)
        without, with_ssh = (
            _old_site(conn, None, client, "null"),
            _old_site(conn, None, client, access),
        )
        assert conn.execute(text("SELECT count(*) FROM sites WHERE ssh IS NULL")).scalar() == 0
    with db.session() as s:
        nulls = s.scalars(text("SELECT id FROM sites WHERE ssh IS NULL")).all()
        assert nulls == [without]
        assert s.get_one(Site, with_ssh).ssh == json.loads(access)


def test_an_install_with_an_old_dangling_row_still_upgrades(sqlite_db: Database) -> None:
    """The migration checks it broke no foreign key, without blaming itself for older rows."""
    config = alembic_config(sqlite_db.engine)
    command.downgrade(config, "0007")
    sqlite_db.dispose()
    raw = sqlite3.connect(sqlite_db.url.split("///", 1)[1])
    raw.execute("PRAGMA foreign_keys=OFF")
    raw.execute("INSERT INTO site_tags (site_id, tag) VALUES (99, 'orphan')")
    raw.commit()
    raw.close()
    command.upgrade(config, "head")
    with sqlite_db.engine.connect() as conn:
        assert conn.execute(text("SELECT site_id, tag FROM site_tags")).all() == [(99, "orphan")]
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_history_from_before_a_site_existed_is_not_its_own(db: Database) -> None:
    """What an old install left under a reused id (same client even) stays out of the site."""
    hour = timedelta(hours=1)
    with db.session() as s:
        new = site(s, baker(s), "https://new.example")
        sid, client = new.id, new.client_id
        s.add_all(
            [
                CheckRaw(site_id=sid, ts_ms=_ms(NOW - hour), up=False, error=1),
                CheckRaw(site_id=sid, ts_ms=_ms(NOW + hour), up=True, response_ms=80),
                CheckDaily(site_id=sid, day=NOW.date() - timedelta(days=2), checks=9,
                           up_checks=0),
                Incident(site_id=sid, kind="down", opened_at=NOW - 24 * hour,
                         closed_at=NOW - 23 * hour, cause="old"),
            ]
        )  # fmt: skip
        journal.record(s, "backup.failed", site_id=sid, client_id=client, ts=NOW - 24 * hour)
    with db.session() as s:
        figures = history.uptime_by_day(s, [sid], 5, NOW.date())
        assert [(f.day, f.summary.checks, f.summary.up_checks) for f in figures] == [
            (NOW.date(), 1, 1)
        ]
        assert [e.kind for e in history.journal_events(s, site_ids=[sid])] == ["site.added"]
        assert history.incidents(s, [sid]) == []
        assert [c.up for c in fleet.recent_checks(s, sid, NOW - 24 * hour)] == [True]


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)

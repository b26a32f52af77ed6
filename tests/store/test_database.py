"""The schema migrates on both dialects and the journal round-trips aware datetimes."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from sitekeeper.store import journal
from sitekeeper.store.database import Database, upgrade
from sitekeeper.store.tables import Event


def test_migrations_create_every_table(db: Database) -> None:
    names = set(sa.inspect(db.engine).get_table_names())
    assert {"clients", "plans", "contracts", "sites", "jobs", "check_raw", "events"} <= names


def test_upgrade_is_idempotent(db: Database) -> None:
    upgrade(db.engine)
    upgrade(db.engine)


def test_journal_keeps_utc_times(db: Database) -> None:
    when = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    with db.session() as s:
        journal.record(s, "incident.opened", site_id=7, data={"cause": "timeout"}, ts=when)
    with db.session() as s:
        event = s.scalars(sa.select(Event)).one()
    assert event.ts == when
    assert event.ts.tzinfo is not None
    assert event.data == {"cause": "timeout"}


def test_head_revisions_agree_with_alembic(db: Database) -> None:
    from alembic.script import ScriptDirectory

    from sitekeeper.store.database import alembic_config, current_revisions, head_revisions

    assert head_revisions() == set(
        ScriptDirectory.from_config(alembic_config(db.engine)).get_heads()
    )
    assert current_revisions(db.engine) == head_revisions()

"""procrastinate's schema comes from our migrations (PostgreSQL only), and is exactly the
one procrastinate itself would apply: same tables, columns, functions, types, triggers
and indexes, compared in the catalogue against a schema procrastinate set up by its own
``SchemaManager.apply_schema``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from procrastinate import App, SyncPsycopgConnector
from procrastinate.schema import SchemaManager

from sitekeeper.store.database import (
    Database,
    alembic_config,
    current_revisions,
    libpq_url,
    upgrade,
)
from tests.conftest import PG_URL
from tests.services import need

CATALOGUE = {
    "columns": """SELECT table_name, column_name, data_type, is_nullable,
                         coalesce(column_default, '')
                    FROM information_schema.columns
                   WHERE table_schema = current_schema() AND table_name LIKE 'procrastinate%'""",
    "functions": """SELECT p.proname, pg_get_function_identity_arguments(p.oid), md5(p.prosrc)
                      FROM pg_proc p
                     WHERE p.pronamespace = current_schema()::regnamespace""",
    "types": """SELECT t.typname FROM pg_type t
                 WHERE t.typnamespace = current_schema()::regnamespace
                   AND t.typname LIKE 'procrastinate%'""",
    "triggers": """SELECT t.tgname, c.relname,
                          md5(replace(pg_get_triggerdef(t.oid), current_schema() || '.', ''))
                     FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                    WHERE NOT t.tgisinternal
                      AND c.relnamespace = current_schema()::regnamespace""",
    "indexes": """SELECT indexname, replace(indexdef, current_schema() || '.', '')
                    FROM pg_indexes
                   WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%'""",
}


def catalogue(engine: sa.Engine) -> dict[str, set[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {name: {tuple(r) for r in conn.execute(sa.text(q))} for name, q in CATALOGUE.items()}


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """An empty PostgreSQL schema of the test's own; its URL is returned."""
    need("PostgreSQL", "127.0.0.1", 5432)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_the_migrated_schema_is_procrastinate_s_own(db: Database, pg_schema: str) -> None:
    connector = SyncPsycopgConnector(conninfo=libpq_url(pg_schema))
    app = App(connector=connector)
    with app.open():
        SchemaManager(connector).apply_schema()
    reference = Database(pg_schema, migrate=False)
    try:
        theirs, ours = catalogue(reference.engine), catalogue(db.engine)
    finally:
        reference.dispose()
    assert theirs["columns"], "procrastinate's schema applied nothing?"
    assert ours == theirs
    # procrastinate's own health check: its tables are where its worker looks.
    app = App(connector=SyncPsycopgConnector(conninfo=libpq_url(db.url)))
    with app.open():
        assert app.job_manager.check_connection()


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_the_migration_goes_down_and_up_again(db: Database) -> None:
    head = current_revisions(db.engine)
    command.downgrade(alembic_config(db.engine), "0015")  # below 0016, whatever follows
    assert not catalogue(db.engine)["functions"]
    assert not catalogue(db.engine)["types"]
    upgrade(db.engine)
    assert current_revisions(db.engine) == head
    assert catalogue(db.engine)["columns"]


def test_sqlite_gets_the_job_id_column_and_nothing_of_procrastinate(sqlite_db: Database) -> None:
    inspector = sa.inspect(sqlite_db.engine)
    assert "job_id" in {c["name"] for c in inspector.get_columns("tasks")}
    assert not [t for t in inspector.get_table_names() if t.startswith("procrastinate")]

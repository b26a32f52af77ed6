"""Shared fixtures: the store on SQLite and PostgreSQL, settings in a scratch home."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from sitekeeper.store.database import Database
from tests.services import need

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database; each test gets its own (a file, or a PG schema)."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'test.db'}")
        yield database
        database.dispose()
        return
    need("PostgreSQL", "127.0.0.1", 5432)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    database = Database(f"{PG_URL}?options=-csearch_path%3D{schema}")
    try:
        yield database
    finally:
        database.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database, for tests that are not about the dialect."""
    database = Database(f"sqlite:///{tmp_path / 'test.db'}")
    yield database
    database.dispose()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch SITEKEEPER_HOME, so CLI commands never touch the user's data."""
    path = tmp_path / "home"
    monkeypatch.setenv("SITEKEEPER_HOME", str(path))
    monkeypatch.delenv("SITEKEEPER_DATABASE_URL", raising=False)
    from sitekeeper.config import settings

    settings.cache_clear()
    return path

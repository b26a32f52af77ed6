"""Shared fixtures: the store on SQLite and PostgreSQL, settings in a scratch home.

Also how the suite runs in parallel (pytest-xdist, ``-n auto --dist loadgroup`` in
pyproject's addopts): the tests that use the real sites run in two groups, each in one
worker, one after another, because the tests change the sites (see
``pytest_collection_modifyitems``). Everything else is independent per test: tmp_path,
a SQLite file copied from one migrated per process or a PostgreSQL schema of the
process's, migrated once and emptied after each test (``PgSchemas``), a MariaDB
database with a random name, loopback servers on port 0.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from sitekeeper.store.database import Database
from tests.services import need

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"

# The session fixtures that start the real sites (tests/realsites.py, tests/hostile.py):
# a test that needs one of them, directly or through another fixture, touches shared sites.
REAL_SITE_FIXTURES = frozenset({"real_wp_sites", "real_cms_sites", "wp3_site", "update_sites_up"})
REAL_SITES_GROUP = "realsites"
# The tests that change wp4 and wp5 (updates, and the hacked-site drill on wp4) run in a
# group of their own, beside the one of wp1..wp3, jm1 and dr1: no test of one group
# touches a site of the other, and the sites are started once per run before either
# changes one (tests/realsites.py).
WP45_GROUP = "realsites-wp45"
WP45_FIXTURES = frozenset({"update_sites_up", "wp4", "wp5"})
WP45_MODULES = frozenset({"tests/e2e/test_hacked_wordpress.py"})
# Modules whose tests share state outside their process, each module its own group:
# test_third_party_plugin pip-installs a plugin into the venv, and its other test
# asserts that the plugin is not there.
MODULE_GROUPS = {"tests/plugins/test_third_party_plugin.py": "venv-plugin"}


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """With ``-p no:xdist`` accept (and ignore) the ``-n``/``--dist`` of addopts, so a
    serial debugging run needs no other option."""
    if pluginmanager.has_plugin("xdist"):
        return
    group = parser.getgroup("xdist", "pytest-xdist is disabled: -n and --dist are ignored")
    # _addoption: the one that may register a short lower-case option, as xdist does.
    group._addoption("-n", "--numprocesses", dest="numprocesses", default=None)
    group.addoption("--dist", dest="dist", default="no")


@pytest.hookimpl(tryfirst=True)  # before xdist's worker reads the groups off the items
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the tests of the real sites into two xdist groups, each run by one worker.

    Tests change sites and put them back (wp2, wp3, jm1 and dr1 in one group, wp4 and
    wp5 in the other); two workers on one site would race.
    """
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        module = item.nodeid.split("::", 1)[0]
        if WP45_FIXTURES.intersection(fixtures) or module in WP45_MODULES:
            item.add_marker(pytest.mark.xdist_group(WP45_GROUP))
        elif REAL_SITE_FIXTURES.intersection(fixtures) or item.get_closest_marker("realsites"):
            item.add_marker(pytest.mark.xdist_group(REAL_SITES_GROUP))
        elif group := MODULE_GROUPS.get(module):
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.hookimpl(tryfirst=True)  # before any fixture touches a site
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail a grouped test that xdist did not group: with pytest 9.2 its loadgroup
    silently stops grouping (pytest-dev/pytest-xdist#1386), and the real-site tests then
    break each other's sites in ways that look like flaky tests."""
    config = item.config
    if not hasattr(config, "workerinput") or not config.getvalue("loadgroup"):
        return
    if item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
        pytest.fail(
            "pytest-xdist did not put this test into its group, so the real-site tests "
            "would run side by side: use a pytest its loadgroup works with (pyproject "
            "pins one) or run with -n0",
            pytrace=False,
        )


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    """argon2id at its lowest cost in the tests' own processes: the production parameters
    (64 MiB, 3 passes) take ~0.14 s a hash or check, and the suite makes thousands of
    users and logins. A hash keeps its parameters, so a server process a test starts
    still checks these, and re-hashes them at its own cost on login."""
    from argon2 import PasswordHasher

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sitekeeper.store.users._hasher", cheap)
        patch.setattr("sitekeeper.store.users._DUMMY_HASH", cheap.hash("burns no time"))
        yield


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file, migrated once per test process, that each test's database is
    copied from: the migrations take a quarter to half a second, a copy a millisecond."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    Database(f"sqlite:///{path}").dispose()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")  # all of it in the one file (no -wal)
    return path


def _sqlite_copy(template: Path, tmp_path: Path) -> Database:
    """A test's own migrated SQLite database, a copy of the template (mode 0600 with it)."""
    target = tmp_path / "test.db"
    shutil.copy2(template, target)
    return Database(f"sqlite:///{target}")


class PgSchemas:
    """Migrated PostgreSQL schemas of this test process, emptied after each test for the
    next: migrating one took about a second under load (a fifth of the suite's time on
    PostgreSQL tests), emptying one takes a few milliseconds.

    A schema's connections carry its name as ``application_name``, so whatever a test left
    connected to it (a pool, a server process it started) is cut off before it is emptied.
    A schema a test changed (another revision, tables added or dropped) is dropped, not
    reused.
    """

    def __init__(self) -> None:
        self.admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
        self.free: list[str] = []
        self.made: list[str] = []
        self.shape: tuple[set[str], set[str]] | None = None  # (tables, revisions)

    @staticmethod
    def url(schema: str) -> str:
        return f"{PG_URL}?options=-csearch_path%3D{schema}&application_name={schema}"

    def take(self) -> str:
        """A migrated schema with no rows but its revision."""
        if self.free:
            return self.free.pop()
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with self.admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        self.made.append(schema)
        Database(self.url(schema)).dispose()
        if self.shape is None:
            with self.admin.connect() as conn:
                self.shape = self._shape(conn, schema)
        return schema

    def give_back(self, schema: str) -> None:
        """Cut the schema's connections and empty it for the next test (or drop it)."""
        with self.admin.begin() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name AND pid <> pg_backend_pid()"
                ),
                {"name": schema},
            )
            if self._shape(conn, schema) != self.shape:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                self.made.remove(schema)
                return
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))  # no FKs
            assert self.shape is not None
            for table in sorted(self.shape[0] - {"alembic_version"}):
                conn.execute(sa.text(f'DELETE FROM "{schema}"."{table}"'))
            conn.execute(
                sa.text(
                    "SELECT setval(format('%I.%I', schemaname, sequencename), start_value, "
                    "false) FROM pg_sequences WHERE schemaname = :schema"
                ),
                {"schema": schema},
            )
        self.free.append(schema)

    @staticmethod
    def _shape(conn: sa.Connection, schema: str) -> tuple[set[str], set[str]]:
        tables = set(
            conn.scalars(
                sa.text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}
            )
        )
        revisions = set()
        if "alembic_version" in tables:
            revisions = set(
                conn.scalars(sa.text(f'SELECT version_num FROM "{schema}".alembic_version'))
            )
        return tables, revisions

    def close(self) -> None:
        with self.admin.begin() as conn:
            for schema in self.made:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def pg_schemas() -> Iterator[PgSchemas]:
    """This test process's migrated PostgreSQL schemas (see PgSchemas)."""
    need("PostgreSQL", "127.0.0.1", 5432)
    schemas = PgSchemas()
    yield schemas
    schemas.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database; each test gets its own (a file, or a PG schema that no
    other test uses at the same time, emptied after each test)."""
    if request.param == "sqlite":
        database = _sqlite_copy(request.getfixturevalue("sqlite_template"), tmp_path)
        yield database
        database.dispose()
        return
    need("PostgreSQL", "127.0.0.1", 5432)
    schemas: PgSchemas = request.getfixturevalue("pg_schemas")
    schema = schemas.take()
    database = Database(schemas.url(schema))
    try:
        yield database
    finally:
        database.dispose()
        schemas.give_back(schema)


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database, for tests that are not about the dialect."""
    database = _sqlite_copy(sqlite_template, tmp_path)
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

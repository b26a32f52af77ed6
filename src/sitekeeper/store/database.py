"""Engine, sessions and schema upgrade; SQLite and PostgreSQL quirks are kept here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from sitekeeper import datadir
from sitekeeper.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).parent / "migrations"
_REVISION = re.compile(r'^(down_revision|revision) = "?([\w]+)"?', re.MULTILINE)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """WAL lets readers (web, CLI) run while serve writes; foreign keys are off by default."""
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _private_sqlite_file(path: Path) -> None:
    """The database, its WAL and shared memory readable by the owner only.

    SQLite gives -wal and -shm the database file's mode, so creating the file 0600
    before SQLite opens it keeps all three private; an older install is tightened.
    """
    if not path.parent.exists():
        datadir.make_private(path.parent)
    datadir.private_file(path)
    datadir.warn_changed(
        datadir.tighten(
            [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        )
    )


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the dialect settings sitekeeper relies on."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1].split("?", 1)[0]
        if path and path != ":memory:" and "///" in url:
            _private_sqlite_file(Path(path))
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, **kwargs)


def backend_of(url: str) -> str:
    """The database kind a URL names ("sqlite", "postgresql"), without connecting."""
    return make_url(url).get_backend_name()


def libpq_url(url: str) -> str:
    """libpq's form of a PostgreSQL URL, for clients that are not SQLAlchemy's (the job
    queue); its options, such as a search_path, are kept."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def alembic_config(engine: Engine) -> AlembicConfig:
    """Alembic configuration that runs on an existing engine (no alembic.ini needed)."""
    from alembic.config import Config as AlembicConfig  # noqa: PLC0415 - see _revision_files

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def _revision_files() -> list[dict[str, str]]:
    """Each migration file's ``revision`` and ``down_revision``, read as text.

    Importing Alembic costs a CLI command a few hundred milliseconds; it is
    only needed when the schema is actually behind.
    """
    return [
        dict((k, v) for k, v in _REVISION.findall(path.read_text(encoding="utf-8")))
        for path in (MIGRATIONS / "versions").glob("*.py")
    ]


def head_revisions() -> set[str]:
    """Revisions no migration builds on: the schema this code was written for."""
    found = [f for f in _revision_files() if "revision" in f]
    parents = {f["down_revision"] for f in found if f.get("down_revision", "None") != "None"}
    return {f["revision"] for f in found} - parents


def known_revisions() -> set[str]:
    """Every revision this code has a migration for."""
    return {f["revision"] for f in _revision_files() if "revision" in f}


def newer_schema(current: set[str]) -> str | None:
    """Why this code must not run on a database at ``current``, or None if it may.

    During a rolling upgrade the first upgraded process migrates; a process of the older
    version would then write rows the new schema does not expect, so it refuses.
    """
    unknown = sorted(current - known_revisions())
    if not unknown:
        return None
    return (
        f"this worker is older than the database schema: the database is at revision "
        f"{', '.join(unknown)}, this sitekeeper knows up to {', '.join(sorted(head_revisions()))}. "
        "Another host was upgraded and migrated it; install the same sitekeeper version "
        "here before starting it again"
    )


def current_revisions(engine: Engine) -> set[str]:
    """Revisions recorded in the database (empty for a new database)."""
    try:
        with engine.connect() as conn:
            return set(conn.scalars(text("SELECT version_num FROM alembic_version")))
    except (OperationalError, ProgrammingError):
        return set()


# pg_advisory_lock key of schema migrations ("sk" "mi" in ASCII): one process migrates.
_MIGRATION_LOCK = 0x736B6D69


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe (and cheap) to call at every start.

    StoreError if the database is newer than this code (see ``newer_schema``). On
    PostgreSQL the migration runs under an advisory lock, so of several processes
    starting at once one migrates and the others, once it is done, find nothing to do.
    """
    head = head_revisions()
    current = current_revisions(engine)
    if current == head:
        return
    if refused := newer_schema(current):
        raise StoreError(refused, permanent=True)
    with _migration_lock(engine):
        current = current_revisions(engine)  # another process may have migrated meanwhile
        if current == head:
            return
        if refused := newer_schema(current):
            raise StoreError(refused, permanent=True)
        from alembic import command  # noqa: PLC0415 - see _revision_files

        try:
            command.upgrade(alembic_config(engine), "head")
        except OperationalError as exc:
            raise StoreError(f"cannot migrate the database: {exc.orig}") from exc


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """Held by one process at a time on PostgreSQL (SQLite's file lock serialises already)."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
            conn.commit()


def is_current(engine: Engine) -> bool:
    """Whether the database has been migrated at all (used by read-only commands)."""
    return inspect(engine).has_table("alembic_version")


class Database:
    """An engine plus a session factory; one per process."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        if migrate:
            upgrade(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on any error."""
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        """Close all pooled connections."""
        self.engine.dispose()

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


def libpq_url(url: str) -> str:
    """libpq's form of a PostgreSQL URL, for clients that are not SQLAlchemy's (the job
    queue); its options, such as a search_path, are kept."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def alembic_config(engine: Engine) -> AlembicConfig:
    """Alembic configuration that runs on an existing engine (no alembic.ini needed)."""
    from alembic.config import Config as AlembicConfig  # noqa: PLC0415 - see head_revisions

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revisions() -> set[str]:
    """Revisions no migration builds on, read from the files.

    Importing Alembic costs a CLI command a few hundred milliseconds; it is
    only needed when the schema is actually behind.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict((k, v) for k, v in _REVISION.findall(path.read_text(encoding="utf-8")))
        if "revision" in found:
            revisions.add(found["revision"])
            if found.get("down_revision", "None") != "None":
                parents.add(found["down_revision"])
    return revisions - parents


def current_revisions(engine: Engine) -> set[str]:
    """Revisions recorded in the database (empty for a new database)."""
    try:
        with engine.connect() as conn:
            return set(conn.scalars(text("SELECT version_num FROM alembic_version")))
    except (OperationalError, ProgrammingError):
        return set()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe (and cheap) to call at every start."""
    if current_revisions(engine) == head_revisions():
        return
    from alembic import command  # noqa: PLC0415 - see head_revisions

    try:
        command.upgrade(alembic_config(engine), "head")
    except OperationalError as exc:
        raise StoreError(f"cannot migrate the database: {exc.orig}") from exc


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

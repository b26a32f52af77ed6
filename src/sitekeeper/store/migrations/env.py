"""Alembic environment: runs on the engine handed in by store.database.upgrade."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, Engine, create_engine

import sitekeeper.store.backup_tables
import sitekeeper.store.detection_tables
import sitekeeper.store.domain_tables
import sitekeeper.store.intel_tables
import sitekeeper.store.lease_tables
import sitekeeper.store.location_tables
import sitekeeper.store.report_tables
import sitekeeper.store.task_tables
import sitekeeper.store.update_tables
import sitekeeper.store.web_tables
import sitekeeper.store.work_tables
import sitekeeper.store.worker_tables  # noqa: F401
from sitekeeper.store.tables import Base

config = context.config
engine: Engine = config.attributes.get("engine") or create_engine(
    config.get_main_option("sqlalchemy.url") or "sqlite://"
)


def _foreign_keys(connection: Connection, on: bool) -> None:
    """SQLite: switch foreign keys (only takes effect outside a transaction)."""
    connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    connection.commit()


def _dangling(connection: Connection) -> set[tuple[object, ...]]:
    """SQLite: the rows whose foreign key points nowhere (table, rowid, parent, key)."""
    return {tuple(row) for row in connection.exec_driver_sql("PRAGMA foreign_key_check")}


def _check_foreign_keys(connection: Connection, before: set[tuple[object, ...]]) -> None:
    """SQLite: refuse to commit a migration that left a row pointing nowhere (rows that
    already did before it are not its doing, and must not stop an upgrade)."""
    broken = _dangling(connection) - before
    if broken:
        raise RuntimeError(f"migration broke foreign keys: {sorted(broken, key=str)[:5]}")


def _ours(name: str | None, type_: str, _parents: object) -> bool:
    """Autogenerate leaves procrastinate's tables alone: migration 0016 applies its own SQL."""
    return not (type_ == "table" and (name or "").startswith("procrastinate_"))


with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    # Rebuilding a SQLite table drops it, and with foreign keys on that drop first
    # deletes (and cascades to) every row referring to it: off while migrating.
    if sqlite:
        _foreign_keys(connection, False)
        before = _dangling(connection)
        connection.commit()
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=sqlite,
            compare_type=True,
            include_name=_ours,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                _check_foreign_keys(connection, before)
        connection.commit()
    finally:
        if sqlite:
            connection.rollback()
            _foreign_keys(connection, True)

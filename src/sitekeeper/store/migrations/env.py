"""Alembic environment: runs on the engine handed in by store.database.upgrade."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, create_engine

import sitekeeper.store.backup_tables
import sitekeeper.store.intel_tables
import sitekeeper.store.lease_tables
import sitekeeper.store.task_tables
import sitekeeper.store.web_tables  # noqa: F401
from sitekeeper.store.tables import Base

config = context.config
engine: Engine = config.attributes.get("engine") or create_engine(
    config.get_main_option("sqlalchemy.url") or "sqlite://"
)

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()

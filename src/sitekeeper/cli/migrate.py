"""``sitekeeper migrate``: bring the database schema to this version's, once, before a
rolling upgrade starts the new processes."""

from __future__ import annotations

import typer

from sitekeeper.cli import output
from sitekeeper.cli.context import app_context
from sitekeeper.store.database import current_revisions


def migrate(typer_ctx: typer.Context) -> None:
    """Migrate the database (under a lock: of several at once, one migrates).

    Refused, changing nothing, if the database is newer than this sitekeeper.
    """
    db = app_context(typer_ctx).db  # opening it migrates (store.database.upgrade)
    output.note(f"database schema at revision {', '.join(sorted(current_revisions(db.engine)))}")

"""``sitekeeper workers``: the serve processes sharing this database, and which are gone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from sitekeeper.cli import output
from sitekeeper.cli.context import app_context
from sitekeeper.store.workers import as_json, list_workers


def workers(
    typer_ctx: typer.Context,
    as_json_: Annotated[
        bool, typer.Option("--json", help="Machine-readable output (stable).")
    ] = False,
    include_stopped: Annotated[
        bool, typer.Option("--all", help="Also the processes that stopped cleanly.")
    ] = False,
) -> None:
    """List every serve process: role, location, queues, version, last heartbeat, jobs.

    A process silent for more than three of its heartbeat periods is shown as gone
    (killed, or its host lost); one stopped cleanly is left out unless --all.
    """
    ctx = app_context(typer_ctx)
    with ctx.db.session() as session:
        views = list_workers(session, datetime.now(UTC), include_stopped=include_stopped)
        rows = [as_json(v) for v in views]
    if as_json_:
        output.print_json(rows)
        return
    if not rows:
        output.note("no serve process has registered yet")
        return
    output.print_table(
        ("name", "role", "location", "queues", "version", "last heartbeat", "state", "jobs"),
        [
            (
                r["name"],
                r["role"],
                r["location"],
                _queues(v.row.queues, v.row.role),
                r["version"],
                f"{r['silent_seconds']}s ago",
                r["state"],
                r["jobs_running"],
            )
            for v, r in zip(views, rows, strict=True)
        ],
    )


def _queues(queues: list[object], role: str) -> str:
    """A worker's queues ("all" when it takes every queue); nothing for the others."""
    if role not in ("worker", "all"):
        return ""
    return ",".join(str(q) for q in queues) or "all"

"""Backup commands: ``backup``, ``backups``, ``restore``, ``drill`` (``backup-repo``: backup_repos).

Thin: each command builds a :class:`BackupContext` and calls the same
functions the engine uses. ``--json`` shapes are a stable contract.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sitekeeper.backup.drill import drill as run_drill
from sitekeeper.backup.options import BackupSettings
from sitekeeper.backup.restore import restore_in_place, restore_to
from sitekeeper.backup.runner import (
    KEPT_BY_PERSON,
    BackupContext,
    BackupOutcome,
    backup_site,
    backup_sites,
)
from sitekeeper.cli import output
from sitekeeper.cli.context import AppContext, app_context
from sitekeeper.engine.results import backup_outcome_json, drill_json, restore_json
from sitekeeper.errors import UsageError
from sitekeeper.store import backups as queries
from sitekeeper.store.backup_tables import OK, SAFETY, BackupRun
from sitekeeper.store.sites import get_site

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (stable).")]


def backup_context(state: AppContext) -> BackupContext:
    """The backup pieces for this invocation, from the global settings."""
    return BackupContext(
        db=state.db,
        vault=state.vault,
        settings=BackupSettings.from_settings(state.settings),
        alert_urls=state.settings.alert_urls,
        worker=state.settings.worker_name,
    )


def backup(
    ctx: typer.Context,
    *,
    site: Annotated[str | None, typer.Argument(help="id, name or URL")] = None,
    all_sites: Annotated[bool, typer.Option("--all", help="Every site with SSH access.")] = False,
    concurrency: Annotated[int | None, typer.Option(min=1, help="Sites at once.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Back a site (or --all) up now: files over rsync, database dump, into restic."""
    state = app_context(ctx)
    bctx = backup_context(state)
    if concurrency is not None:
        bctx.settings.concurrency = concurrency
    if all_sites == (site is not None):
        raise UsageError("give one SITE or --all")
    if site is not None:
        note = None if as_json else (lambda name, what: output.note(f"{name}: {what}"))
        outcomes = [asyncio.run(backup_site(bctx, site, progress=note))]
    else:
        with state.session() as session:
            refs = [str(site_id) for site_id in queries.sites_with_ssh(session)]
        outcomes = _with_progress(bctx, refs, quiet=as_json)
    if as_json:
        output.print_json([backup_outcome_json(o) for o in outcomes])
    else:
        output.print_table(
            ["site", "result", "snapshot", "files", "added", "transferred", "seconds"],
            [
                [
                    o.site,
                    "ok" if o.ok else f"FAILED: {o.error}",
                    o.figures.snapshot_id[:8] if o.figures else None,
                    o.figures.files if o.figures else None,
                    _size(o.figures.bytes_added) if o.figures else None,
                    _size(o.figures.bytes_transferred) if o.figures else None,
                    f"{o.figures.duration:.1f}" if o.figures else None,
                ]
                for o in outcomes
            ],
        )
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)


def _with_progress(bctx: BackupContext, refs: list[str], *, quiet: bool) -> list[BackupOutcome]:
    """``backup_sites`` with a progress bar on a terminal, one line per site otherwise."""
    console = Console(stderr=True)
    if quiet or not console.is_terminal:

        def line(o: BackupOutcome) -> None:
            if not quiet:
                output.note(f"{o.site}: {'ok' if o.ok else 'FAILED: ' + (o.error or '')}")

        return asyncio.run(backup_sites(bctx, refs, done=line))
    columns = (TextColumn("backups"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("backups", total=len(refs))
        return asyncio.run(backup_sites(bctx, refs, done=lambda _o: bar.advance(task)))


def _size(n: int | None) -> str | None:
    if n is None:
        return None
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return None  # pragma: no cover


def kept_until(run: BackupRun, manual_keep_days: int) -> datetime | None:
    """Until when a manual (or safety) snapshot is kept whatever the plan's retention says."""
    if run.status != OK or run.reason not in KEPT_BY_PERSON or not manual_keep_days:
        return None
    return run.started_at + timedelta(days=manual_keep_days)


def run_json(run: BackupRun, manual_keep_days: int = 0) -> dict[str, Any]:
    """The documented JSON shape of one backup run (``backups --json``)."""
    until = kept_until(run, manual_keep_days)
    return {
        "run_id": run.id,
        "snapshot": run.snapshot_id,
        "time": run.started_at.isoformat(),
        "status": run.status,
        "reason": run.reason,
        "files": run.files,
        "files_new": run.files_new,
        "files_changed": run.files_changed,
        "bytes_total": run.bytes_total,
        "bytes_added": run.bytes_added,
        "bytes_transferred": run.bytes_transferred,
        "database_bytes": run.database_bytes,
        "duration_s": round(run.duration, 3) if run.duration is not None else None,
        "verified": run.verified,
        "verified_at": run.verified_at.isoformat() if run.verified_at else None,
        "error": run.error,
        "kept_until": until.isoformat() if until else None,
    }


def backups(
    ctx: typer.Context,
    *,
    site: Annotated[str, typer.Argument(help="id, name or URL")],
    every: Annotated[
        bool, typer.Option("--all", help="Also failed, pruned and safety runs.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1)] = 100,
    as_json: JsonOpt = False,
) -> None:
    """A site's backups, newest first: snapshot, time, files, bytes added, duration, verified.

    Manual backups (and the safety copy before a restore) are kept for
    SITEKEEPER_MANUAL_BACKUP_KEEP_DAYS whatever the plan's retention says; the
    status says until when.
    """
    state = app_context(ctx)
    grace = BackupSettings.from_settings(state.settings).manual_keep_days
    with state.session() as session:
        row = get_site(session, site)
        runs = queries.runs_of(session, row.id, limit)
    if not every:
        runs = [r for r in runs if r.status == OK]
    if as_json:
        output.print_json([run_json(r, grace) for r in runs])
        return
    output.print_table(
        ["snapshot", "time", "status", "files", "added", "seconds", "verified"],
        [
            [
                (r.snapshot_id or "")[:8] or None,
                f"{r.started_at:%Y-%m-%d %H:%M}",
                _status(r, grace),
                r.files,
                _size(r.bytes_added),
                f"{r.duration:.1f}" if r.duration is not None else None,
                r.verified,
            ]
            for r in runs
        ],
    )


def _status(run: BackupRun, manual_keep_days: int) -> str:
    until = kept_until(run, manual_keep_days)
    if until is not None:
        return f"{run.status} ({run.reason}, kept until {until:%Y-%m-%d})"
    return run.status if run.reason != SAFETY else f"{run.status} (safety)"


def restore(
    ctx: typer.Context,
    *,
    site: Annotated[str, typer.Argument(help="id, name or URL")],
    snapshot: Annotated[str | None, typer.Argument(help="Snapshot id (default: latest)")] = None,
    to: Annotated[
        Path | None, typer.Option("--to", help="Write DIR/files and DIR/database.sql here.")
    ] = None,
    in_place: Annotated[
        bool, typer.Option("--in-place", help="Put files and database back on the site.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before --in-place.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Restore a snapshot to a directory (--to DIR) or onto the site (--in-place)."""
    if (to is None) == (not in_place):
        raise UsageError("give exactly one of --to DIR or --in-place")
    bctx = backup_context(app_context(ctx))
    if in_place:
        if not yes and not typer.confirm(
            f"Overwrite {site}'s files and database (a safety snapshot is taken first)?"
        ):
            raise typer.Exit(1)
        result = asyncio.run(restore_in_place(bctx, site, snapshot))
    else:
        assert to is not None
        result = asyncio.run(restore_to(bctx, site, to, snapshot))
    data = restore_json(result)
    if as_json:
        output.print_json(data)
    else:
        output.print_fields(list(data.items()))


def drill(
    ctx: typer.Context,
    *,
    site: Annotated[str, typer.Argument(help="id, name or URL")],
    snapshot: Annotated[str | None, typer.Argument(help="Snapshot id (default: latest)")] = None,
    title: Annotated[
        str | None, typer.Option(help="Expected home-page title (default: the site's blogname).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Restore drill: restore into a sandbox, serve it on loopback, check the home page."""
    result = asyncio.run(
        run_drill(backup_context(app_context(ctx)), site, snapshot, expected_title=title)
    )
    data = drill_json(result)
    if as_json:
        output.print_json(data)
    else:
        output.print_fields(list(data.items()))
    if not result.ok:
        raise typer.Exit(1)

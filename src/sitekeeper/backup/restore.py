"""Restores: a snapshot to a local directory, or back onto the site over SSH.

A restore to a directory writes ``DIR/files`` (names, modes, symlinks and
mtimes as backed up) and ``DIR/database.sql``. An in-place restore first
takes a *safety* snapshot of the site as it is now -- if that fails, nothing
on the site is touched -- then rsyncs the files back and imports the dump
with the site's own credentials.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sitekeeper.backup.dumps import MysqlDump
from sitekeeper.backup.errors import BackupError
from sitekeeper.backup.mirror import push
from sitekeeper.backup.restic import Restic, Snapshot
from sitekeeper.backup.runner import (
    DUMP,
    FILES,
    BackupContext,
    SiteInfo,
    backup_site,
    read_credentials,
    snapshot_host,
)
from sitekeeper.domain.backup_events import BackupEventKind
from sitekeeper.errors import NotFound, SitekeeperError, UsageError
from sitekeeper.store import backups as queries
from sitekeeper.store.backup_tables import SAFETY
from sitekeeper.store.tables import Site


@dataclass(frozen=True)
class RestoreResult:
    """What a restore did."""

    site: str
    snapshot: str
    target: str
    duration: float
    safety_snapshot: str | None = None


async def find_snapshot(restic: Restic, site_id: int, snapshot: str | None) -> Snapshot:
    """The site's snapshot with this id (or prefix), or its latest; NotFound otherwise."""
    snaps = await restic.snapshots(host=snapshot_host(site_id))
    if not snaps:
        raise NotFound("this site has no snapshots yet")
    if snapshot is None:
        return max(snaps, key=lambda s: s.time)
    matches = [s for s in snaps if s.id.startswith(snapshot) or s.short_id == snapshot]
    if len(matches) != 1:
        raise NotFound(f"no single snapshot {snapshot!r} of this site")
    return matches[0]


async def restore_to(
    ctx: BackupContext, ref: str, target: Path, snapshot: str | None = None
) -> RestoreResult:
    """Write a snapshot to ``target`` (new or empty): ``files/`` and ``database.sql``."""
    site = await ctx.site_info(ref)
    target = target.expanduser().resolve()  # noqa: ASYNC240 - local path checks
    if target.exists() and any(target.iterdir()):
        raise UsageError(f"{target} is not empty; restore into a new or empty directory")
    started = time.monotonic()
    restic = ctx.restic(site.repository)
    snap = await find_snapshot(restic, site.id, snapshot)
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    await restic.restore(snap.id, target)
    result = RestoreResult(site.name, snap.id, str(target), time.monotonic() - started)
    await asyncio.to_thread(_journal, ctx, site, result, "directory")
    return result


async def restore_in_place(
    ctx: BackupContext, ref: str, snapshot: str | None = None
) -> RestoreResult:
    """Put a snapshot back on the site (files and database), after a safety snapshot."""
    site = await ctx.site_info(ref)
    started = time.monotonic()
    restic = ctx.restic(site.repository)
    snap = await find_snapshot(restic, site.id, snapshot)
    safety = await backup_site(ctx, ref, reason=SAFETY, apply_retention=False)
    if not safety.ok or safety.figures is None:
        raise BackupError(f"safety snapshot failed, the site was not touched: {safety.error}")
    scratch = Path(tempfile.mkdtemp(prefix="restore-", dir=ctx.settings.site_dir(site.id)))
    try:
        await restic.restore(snap.id, scratch)
        await _put_back(ctx, site, scratch)
    except SitekeeperError as exc:
        await asyncio.to_thread(_journal_failure, ctx, site, snap.id, str(exc))
        raise
    finally:
        await asyncio.to_thread(shutil.rmtree, scratch, ignore_errors=True)
    result = RestoreResult(
        site.name,
        snap.id,
        "in-place",
        time.monotonic() - started,
        safety_snapshot=safety.figures.snapshot_id,
    )
    await asyncio.to_thread(_journal, ctx, site, result, "in-place")
    return result


async def _put_back(ctx: BackupContext, site: SiteInfo, scratch: Path) -> None:
    if not (scratch / FILES).is_dir():
        raise BackupError("the snapshot has no files/ directory", permanent=True)
    conn, transport = await ctx.open_site(site)
    async with conn, transport:  # the transport's key copy is removed at the end
        await push(
            transport,
            scratch / FILES,
            site.docroot,
            excludes=ctx.settings.excludes,
            binary=ctx.settings.rsync_binary,
        )
        if (scratch / DUMP).is_file():
            creds = await read_credentials(conn, site.docroot)
            if creds is None:
                raise BackupError("no wp-config.php after restoring the files", permanent=True)
            await MysqlDump().load(
                transport, conn, creds, scratch / DUMP, timeout=ctx.settings.dump_timeout
            )


def _journal(ctx: BackupContext, site: SiteInfo, result: RestoreResult, kind: str) -> None:
    with ctx.db.session() as session:
        row = session.get(Site, site.id)
        if row is None:
            return
        data = {
            "snapshot": result.snapshot,
            "to": kind,
            "duration": round(result.duration, 3),
            "safety_snapshot": result.safety_snapshot,
        }
        queries.record_event(session, BackupEventKind.BACKUP_RESTORED, row, data, ctx.clock())


def _journal_failure(ctx: BackupContext, site: SiteInfo, snapshot: str, error: str) -> None:
    with ctx.db.session() as session:
        row = session.get(Site, site.id)
        if row is not None:
            data = {"snapshot": snapshot, "error": error[:1000]}
            queries.record_event(session, BackupEventKind.RESTORE_FAILED, row, data, ctx.clock())

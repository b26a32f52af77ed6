"""Restores: a snapshot to a local directory, or back onto the site over SSH.

A restore to a directory writes ``DIR/files`` (names, modes, symlinks and
mtimes as backed up) and ``DIR/database.sql``. An in-place restore first
takes a *safety* snapshot of the site as it is now -- if that fails, nothing
on the site is touched -- then rsyncs the files back and imports the dump
with the site's own credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from sitekeeper.backup import dumpscan, treefiles
from sitekeeper.backup.dumpscan import UnsafeDump
from sitekeeper.backup.errors import BackupError
from sitekeeper.backup.mirror import push
from sitekeeper.backup.registry import DUMP_ENGINES
from sitekeeper.backup.restic import Restic, Snapshot
from sitekeeper.backup.runner import (
    DUMP,
    FILES,
    BackupContext,
    SiteInfo,
    backup_site,
    read_credentials,
    site_cms,
)
from sitekeeper.backup.treefiles import UnsafeTree, hand_over, opened_dir
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


async def find_snapshot(restic: Restic, site: SiteInfo, snapshot: str | None) -> Snapshot:
    """The site's snapshot with this id (or prefix), or its latest; NotFound otherwise.

    Only snapshots under the site's own restic host count: a removed site's
    snapshots, kept under its identity, are never another site's.
    """
    snaps = await restic.snapshots(host=site.restic_host)
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
    """Write a snapshot to ``target`` (new or empty): ``files/`` and ``database.sql``.

    restic writes into a private directory inside ``target`` first; device
    nodes, fifos and sockets are dropped and set-uid/set-gid bits cleared
    there, and only then do the files appear in ``target``.
    """
    site = await ctx.site_info(ref)
    target, made = await asyncio.to_thread(_target_dir, target)
    try:
        started = time.monotonic()
        restic = ctx.restic(site.repository)
        snap = await find_snapshot(restic, site, snapshot)
        staging = Path(tempfile.mkdtemp(prefix=".restoring-", dir=target))
        try:
            await restic.restore(snap.id, staging)
            await asyncio.to_thread(_publish, staging, target)
        finally:
            await asyncio.to_thread(shutil.rmtree, staging, ignore_errors=True)
    except BaseException:
        if made:
            with contextlib.suppress(OSError):
                target.rmdir()  # only if still empty: never remove what a restore wrote
        raise
    result = RestoreResult(site.name, snap.id, str(target), time.monotonic() - started)
    await ctx.dbthread.session_aside(_journal, ctx, site, result, "directory")
    return result


def _target_dir(given: Path) -> tuple[Path, bool]:
    """``given`` as an existing empty directory (absolute), and whether it was made here.

    A file, a non-empty directory or a path that cannot be made is a one-line
    UsageError before anything is restored.
    """
    target = given.expanduser().absolute()
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise UsageError(f"{target} is not a directory; restore into a new or empty directory")
    if target.is_dir():
        try:
            if any(target.iterdir()):
                raise UsageError(f"{target} is not empty; restore into a new or empty directory")
        except OSError as exc:
            raise UsageError(f"cannot read {target}: {exc.strerror}") from None
        return target, False
    try:
        target.mkdir(parents=True, mode=0o700)
    except OSError as exc:
        raise UsageError(f"cannot create {target}: {exc.strerror}") from None
    return target, True


def _publish(staging: Path, target: Path) -> None:
    """Clean the restored tree in ``staging``, then move its entries into ``target``."""
    hand_over(staging, None, None)
    for entry in staging.iterdir():
        entry.rename(target / entry.name)


async def restore_in_place(
    ctx: BackupContext, ref: str, snapshot: str | None = None
) -> RestoreResult:
    """Put a snapshot back on the site (files and database), after a safety snapshot.

    The snapshot is restored locally and its dump scanned first: a dump that
    holds anything but the site's data is refused before the site is touched.
    """
    site = await ctx.site_info(ref)
    started = time.monotonic()
    restic = ctx.restic(site.repository)
    snap = await find_snapshot(restic, site, snapshot)
    ctx.settings.site_dir(site.id).mkdir(parents=True, exist_ok=True, mode=0o700)
    scratch = Path(tempfile.mkdtemp(prefix="restore-", dir=ctx.settings.site_dir(site.id)))
    try:
        await restic.restore(snap.id, scratch)
        await asyncio.to_thread(_check_restored, scratch)
        safety = await backup_site(ctx, ref, reason=SAFETY, apply_retention=False)
        if not safety.ok or safety.figures is None:
            raise BackupError(f"safety snapshot failed, the site was not touched: {safety.error}")
        await _put_back(ctx, site, scratch)
    except SitekeeperError as exc:
        await ctx.dbthread.session_aside(_journal_failure, ctx, site, snap.id, str(exc))
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
    await ctx.dbthread.session_aside(_journal, ctx, site, result, "in-place")
    return result


def _check_restored(scratch: Path) -> None:
    """Refuse a dump with anything but data in it; drop what a site's tree never holds."""
    with opened_dir(scratch) as root:
        try:
            fd = treefiles.open_file(root, DUMP)
        except UnsafeTree:
            fd = None
        if fd is not None:
            with os.fdopen(fd, "rb") as dump:
                try:
                    dumpscan.check(dump)
                except UnsafeDump as exc:
                    raise BackupError(str(exc), permanent=True) from None
    if (scratch / FILES).is_dir() and not (scratch / FILES).is_symlink():
        hand_over(scratch / FILES, None, None)


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
            cms = await site_cms(ctx, conn, site)
            creds = await read_credentials(conn, site.docroot, cms) if cms else None
            if creds is None:
                raise BackupError(
                    "no CMS config file with the database settings after restoring the files",
                    permanent=True,
                )
            await DUMP_ENGINES.get(creds.engine).load(
                transport, conn, creds, scratch / DUMP, timeout=ctx.settings.dump_timeout
            )


def _journal(
    session: Session, ctx: BackupContext, site: SiteInfo, result: RestoreResult, kind: str
) -> None:
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


def _journal_failure(
    session: Session, ctx: BackupContext, site: SiteInfo, snapshot: str, error: str
) -> None:
    row = session.get(Site, site.id)
    if row is not None:
        data = {"snapshot": snapshot, "error": error[:1000]}
        queries.record_event(session, BackupEventKind.RESTORE_FAILED, row, data, ctx.clock())

"""The steps of one rollback (``updates.rollback``), each recorded as a ``Check``.

Every step reuses the backup machinery: ``restic restore`` of only the scope's paths,
the dump scanned (``backup.dumpscan``) and the tree made safe (``backup.treefiles``)
as an in-place restore does, ``backup.mirror.push`` as the site's owner, and the dump
engine's import with the site's own credentials.
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import time
from pathlib import Path
from typing import Any

from sitekeeper.backup import dumpscan, treefiles
from sitekeeper.backup.dumpscan import UnsafeDump
from sitekeeper.backup.errors import BackupError
from sitekeeper.backup.mirror import SshTransport, push
from sitekeeper.backup.registry import DUMP_ENGINES
from sitekeeper.backup.restore import find_snapshot
from sitekeeper.backup.runner import (
    DUMP,
    FILES,
    BackupContext,
    SiteInfo,
    read_credentials,
    site_cms,
)
from sitekeeper.cms.health_markers import HealthMarkers
from sitekeeper.domain.checks import CheckOptions
from sitekeeper.domain.updates import Check
from sitekeeper.errors import SitekeeperError
from sitekeeper.remote.ssh import SshConnection
from sitekeeper.updates.health_fetch import PageFetcher
from sitekeeper.updates.health_opcache import reset_web_opcache


class Restorer:
    """One rollback's steps on one site, appending what each did to ``steps``."""

    def __init__(
        self, ctx: BackupContext, site: SiteInfo, scratch: Path, steps: list[Check]
    ) -> None:
        self.ctx, self.site, self.scratch, self.steps = ctx, site, scratch, steps
        self.snapshot = ""  # short id, for people
        self.snapshot_full = ""

    def _step(self, name: str, ok: bool, detail: str, since: float) -> None:
        self.steps.append(Check(name, ok, detail, time.monotonic() - since))

    async def fetch(self, snapshot_id: str, paths: tuple[str, ...], *, database: bool) -> bool:
        """Restore the scope's part of the snapshot on this host and vet it; False (with
        the step saying why) if it cannot be had."""
        since = time.monotonic()
        restic = self.ctx.restic(self.site.repository)
        include = [f"/{FILES}/{p}" for p in paths] + ([f"/{DUMP}"] if database else [])
        if not paths and not database:
            include = [f"/{FILES}"]
        try:
            snap = await find_snapshot(restic, self.site, snapshot_id)
            self.snapshot, self.snapshot_full = snap.short_id, snap.id
            await restic.restore(snap.id, self.scratch, include=include if paths else ())
            await asyncio.to_thread(_vet, self.scratch, database=database)
        except SitekeeperError as exc:
            self._step("snapshot", False, f"cannot use snapshot {snapshot_id[:8]}: {exc}", since)
            return False
        self._step("snapshot", True, f"snapshot {self.snapshot} restored and checked", since)
        return True

    async def put_back(
        self, conn: SshConnection, transport: SshTransport, paths: tuple[str, ...], database: bool
    ) -> str | None:
        """Files, then the database; None when both are back, else the site's state."""
        since = time.monotonic()
        done: list[str] = []
        for rel in paths or ("",):
            try:
                await self._files(conn, transport, rel)
            except SitekeeperError as exc:
                where = rel or "the docroot"
                self._step("files", False, f"{where}: {exc}", since)
                back = f" ({', '.join(done)} restored)" if done else ""
                return (
                    f"rollback failed while restoring the files of {where}: they may mix "
                    f"the snapshot's and the update's files{back}; the database is still "
                    f"the updated one ({exc})"
                )
            done.append(rel or "the docroot")
        self._step("files", True, f"{', '.join(done)} as in snapshot {self.snapshot}", since)
        if database:
            return await self._database(conn, transport, ", ".join(done))
        return None

    async def _files(self, conn: SshConnection, transport: SshTransport, rel: str) -> None:
        local = self.scratch / FILES / rel if rel else self.scratch / FILES
        remote = posixpath.join(self.site.docroot, rel) if rel else self.site.docroot
        if local.is_dir() and not local.is_symlink():
            excludes = self.ctx.settings.excludes if not rel else []
            await push(
                transport, local, remote, excludes=excludes, binary=self.ctx.settings.rsync_binary
            )
        elif rel and not local.exists() and not local.is_symlink() and await self._added(rel):
            await conn.run(["rm", "-rf", "--", remote])  # the update added it
        else:
            raise BackupError(f"{rel or FILES} in the snapshot is not a folder", permanent=True)

    async def _added(self, rel: str) -> bool:
        """Whether the snapshot positively lacks ``rel``: its parent folder is in it and
        ``rel`` is not among the parent's entries. Anything less (a parent missing too, a
        listing that failed) is no proof, and nothing is deleted on the site."""
        parent = posixpath.dirname(rel)
        wanted = {f"/{FILES}/{parent}": False, f"/{FILES}/{rel}": False}

        def seen(node: dict[str, Any]) -> None:
            if node.get("struct_type") == "node" and node.get("path") in wanted:
                wanted[str(node["path"])] = True

        restic = self.ctx.restic(self.site.repository)
        await restic.run(["ls", "--json", self.snapshot_full, f"/{FILES}/{parent}"], on_json=seen)
        parent_seen, rel_seen = wanted.values()
        if not parent_seen:
            raise BackupError(f"{rel}: snapshot has neither it nor {parent}", permanent=True)
        return not rel_seen

    async def _database(
        self, conn: SshConnection, transport: SshTransport, files: str
    ) -> str | None:
        since = time.monotonic()
        try:
            cms = await site_cms(self.ctx, conn, self.site)
            creds = await read_credentials(conn, self.site.docroot, cms) if cms else None
            if creds is None:
                raise BackupError("no CMS config file with the database settings", permanent=True)
            await DUMP_ENGINES.get(creds.engine).load(
                transport, conn, creds, self.scratch / DUMP, timeout=self.ctx.settings.dump_timeout
            )
        except SitekeeperError as exc:
            self._step("database", False, str(exc), since)
            return (
                f"rollback failed at the database: the files ({files}) are as in snapshot "
                f"{self.snapshot}, but the database import failed ({exc}), so its tables may be "
                f"partly the snapshot's, partly the update's, or missing; restore the database "
                f"from snapshot {self.snapshot}"
            )
        self._step("database", True, f"database as in snapshot {self.snapshot}", since)
        return None

    async def clear_flags(self, conn: SshConnection, markers: HealthMarkers) -> None:
        """Remove the CMS's maintenance flag files the update may have left."""
        self.steps.append(await clear_flags(conn, self.site.docroot, markers))

    async def reset_cache(
        self, conn: SshConnection, fetcher: PageFetcher, url: str, trust: CheckOptions | None
    ) -> None:
        """Reset the web server's opcode cache, so the health check runs the restored code."""
        since = time.monotonic()
        check = await reset_web_opcache(conn, self.site.docroot, url, fetcher, trust=trust)
        self._step(check.name, check.ok, check.detail, since)


def _vet(scratch: Path, *, database: bool) -> None:
    """Refuse a dump with anything but data in it; drop what a site's tree never holds
    (devices, fifos, set-id bits), as an in-place restore does."""
    if database:
        with treefiles.opened_dir(scratch) as root:
            fd = treefiles.open_file(root, DUMP)
        with os.fdopen(fd, "rb") as dump:
            try:
                dumpscan.check(dump)
            except UnsafeDump as exc:
                raise BackupError(str(exc), permanent=True) from None
    files = scratch / FILES
    if files.is_dir() and not files.is_symlink():
        treefiles.hand_over(files, None, None)


async def clear_flags(conn: SshConnection, docroot: str, markers: HealthMarkers) -> Check:
    """Remove the CMS's maintenance flag files (``.maintenance``) under ``docroot``."""
    since = time.monotonic()
    removed = []
    try:
        for name in markers.maintenance_files:
            path = posixpath.join(docroot, name)
            if await conn.lstat(path) is not None:
                await conn.remove(path)
                removed.append(name)
    except SitekeeperError as exc:
        detail = f"cannot clear maintenance flags: {exc}"
        return Check("flags", False, detail, time.monotonic() - since)
    detail = f"removed {', '.join(removed)}" if removed else "none left"
    return Check("flags", True, detail, time.monotonic() - since)

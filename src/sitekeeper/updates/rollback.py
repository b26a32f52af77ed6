"""Rolling an update back from its safety snapshot, at file and database level.

Never through the CMS: a site that fatals cannot run its own rollback (WPMgr's went
through the broken site's REST API and failed, mosamlife/wpmgr#210). The affected scope
comes back from the snapshot — one extension's folder, or the whole docroot for core —
with ``rsync --delete`` as the site's owner (``backup.mirror.push``: modes and times as
snapshotted, files the update added removed), then the database from the snapshot's dump
(``backup.dumps``: the dump is scanned first, as an in-place restore's is). Then the
CMS's maintenance flags are removed, the web server's opcode cache is reset, and the
same health check as after the update proves the site is back.

A rollback never raises for what happens on the site: the result says, in words, what
state the site is left in (``RollbackResult.state``), which a failed rollback's critical
alert quotes.
"""

from __future__ import annotations

import asyncio
import posixpath
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sitekeeper.backup.runner import BackupContext
from sitekeeper.cms.health_markers import HealthMarkers
from sitekeeper.cms.updater import LoadCheck
from sitekeeper.domain.checks import CheckOptions
from sitekeeper.domain.updates import Check, HealthReport, UpdateItem
from sitekeeper.errors import SitekeeperError
from sitekeeper.updates.health import Baseline, Inside, check_after
from sitekeeper.updates.health_fetch import PageFetcher
from sitekeeper.updates.rollback_steps import Restorer

# A folder name a scope may hold: no "..", no hidden files, nothing restic's include
# patterns or a shell would read as a pattern (extension slugs are plainer still).
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,199}")


@dataclass(frozen=True, slots=True)
class Scope:
    """What a rollback puts back: folders under the docroot (none: all of it), the database."""

    paths: tuple[str, ...] = ()
    database: bool = True

    def __post_init__(self) -> None:
        for path in self.paths:
            if not all(_NAME.fullmatch(part) for part in path.split("/")):
                raise ValueError(f"not a plain folder under the docroot: {path!r}")

    @property
    def label(self) -> str:
        """In words: "wp-content/plugins/akismet and the database"."""
        files = ", ".join(self.paths) if self.paths else "the whole docroot"
        return files + (" and the database" if self.database else "")


def scope_for(item: UpdateItem, markers: HealthMarkers) -> Scope:
    """An extension that lives in one folder rolls back that folder; core, and anything
    the CMS keeps in several places, the whole docroot. The database always."""
    folders = dict(markers.extension_dirs)
    slug = item.package
    if item.type in folders and _NAME.fullmatch(slug):
        return Scope((posixpath.join(folders[item.type], slug),))
    return Scope()


@dataclass(frozen=True, slots=True)
class RollbackResult:
    """What a rollback did and the state it left the site in."""

    ok: bool  # restored and healthy again
    state: str  # the site's state in words, for the journal and a critical alert
    snapshot_id: str
    scope: Scope
    steps: tuple[Check, ...]
    health: HealthReport | None
    seconds: float


async def roll_back(
    ctx: BackupContext,
    site: str,
    snapshot_id: str,
    scope: Scope,
    *,
    markers: HealthMarkers,
    fetcher: PageFetcher,
    baseline: Baseline,
    trust: CheckOptions | None = None,
    loader: LoadCheck | None = None,
) -> RollbackResult:
    """Put ``scope`` of ``site`` back as in ``snapshot_id``, clear flags and caches, and
    check the site's health against ``baseline`` (with the CMS's ``loader``, if any)."""
    started = time.monotonic()
    info = await ctx.site_info(site)
    steps: list[Check] = []

    def result(ok: bool, state: str, health: HealthReport | None = None) -> RollbackResult:
        seconds = time.monotonic() - started
        return RollbackResult(ok, state, snapshot_id, scope, tuple(steps), health, seconds)

    work = ctx.settings.site_dir(info.id)
    await asyncio.to_thread(work.mkdir, parents=True, exist_ok=True, mode=0o700)
    scratch = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="rollback-", dir=work))
    try:
        restorer = Restorer(ctx, info, scratch, steps)
        if not await restorer.fetch(snapshot_id, scope.paths, database=scope.database):
            return result(False, f"not rolled back, the site was not touched: {steps[-1].detail}")
        try:
            conn, transport = await ctx.open_site(info)
        except SitekeeperError as exc:
            steps.append(Check("connect", False, str(exc)))
            return result(False, f"not rolled back, the site was not touched: {exc}")
        async with conn, transport:
            state = await restorer.put_back(conn, transport, scope.paths, scope.database)
            if state is not None:
                return result(False, state)
            await restorer.clear_flags(conn, markers)
            await restorer.reset_cache(conn, fetcher, baseline.url, trust)
            health = await check_after(
                fetcher, baseline, markers, trust=trust, inside=Inside(conn, info.docroot, loader)
            )
    finally:
        await asyncio.to_thread(shutil.rmtree, scratch, ignore_errors=True)
    restored = f"{scope.label} restored from snapshot {snapshot_id[:8]}"
    if health.ok:
        return result(True, f"{restored}; the site passes the health check again", health)
    failed = "; ".join(f"{c.name}: {c.detail}" for c in health.failed)
    return result(False, f"{restored}, but the site still fails its health check: {failed}", health)

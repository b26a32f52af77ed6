"""The safety snapshot: a restic snapshot of one site's files and database, taken right
before an update changes anything, so a rollback has a known-good state to return to.

It is an ordinary backup of the site (``backup.runner.backup_site``: rsync of the
docroot into the site's mirror, the database dump beside it, ``restic backup`` of both),
recorded as a backup run with the reason ``safety`` and tagged ``run:<update run>``:
retention keeps it the days a person's own snapshots are kept, and the plan's daily
policy never thins it. The mirror
makes it incremental: on a site backed up before, only what changed since crosses the
network. No snapshot, no update: a failure raises, and the caller touches nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sitekeeper.backup.errors import BackupError
from sitekeeper.backup.runner import BackupContext, Progress, backup_site
from sitekeeper.store.backup_tables import SAFETY


@dataclass(frozen=True, slots=True)
class SafetySnapshot:
    """The snapshot an update run took of one site before changing it."""

    site: str
    snapshot_id: str  # restic's full id
    backup_run: int  # the backup run row that recorded it
    update_run: str  # the update run it was taken for
    files: int
    database_bytes: int
    seconds: float


class SnapshotFailed(BackupError):
    """The safety snapshot could not be taken: the update must not start."""

    permanent = False


async def take_safety_snapshot(
    ctx: BackupContext, site: str, update_run: str, *, progress: Progress | None = None
) -> SafetySnapshot:
    """Snapshot ``site`` (a name, id or URL) for ``update_run``; SnapshotFailed if none
    was stored (the reason is the backup's, already journaled and alerted as a failed
    backup)."""
    started = time.monotonic()
    outcome = await backup_site(
        ctx,
        site,
        reason=SAFETY,
        apply_retention=False,
        progress=progress,
        tags=(f"run:{update_run}",),
    )
    if not outcome.ok or outcome.figures is None:
        raise SnapshotFailed(
            f"{outcome.site}: no safety snapshot, so no update: {outcome.error}",
            permanent=False,
        )
    figures = outcome.figures
    return SafetySnapshot(
        site=outcome.site,
        snapshot_id=figures.snapshot_id,
        backup_run=outcome.run_id,
        update_run=update_run,
        files=figures.files,
        database_bytes=figures.database_bytes,
        seconds=time.monotonic() - started,
    )

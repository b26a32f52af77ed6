"""The ``backup``, ``drill`` and ``restore`` tasks: the backup commands, queued."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import UTC, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sitekeeper.backup.drill import drill
from sitekeeper.backup.recovery import task_holder
from sitekeeper.backup.restore import restore_in_place, restore_to
from sitekeeper.backup.runner import BACKUP_LEASE, backup_site
from sitekeeper.domain.humanize import plural, seconds, short_id, size
from sitekeeper.engine.results import backup_outcome_json, drill_json, restore_json
from sitekeeper.engine.tasks import TASKS, Done, TaskContext
from sitekeeper.errors import UsageError
from sitekeeper.store.backup_tables import MANUAL, SCHEDULED
from sitekeeper.store.leases import Leases

SNAPSHOT = r"^[0-9a-f]{4,64}$"
RESTORES = "restores"  # under the data directory: restores to a directory land only here


def _site_lease(ctx: TaskContext, kind: str, site_id: int) -> AbstractAsyncContextManager[bool]:
    """The lease the scheduled loops take for the site's ``kind`` of work, held by this
    process's task runner (its own holder name, so a scheduled run in this very process
    counts as busy too): "back up now" never overlaps a backup running anywhere.

    Under the job engine (PostgreSQL) the job's own lock already keeps site-changing work
    one at a time, and dies with its worker: no lease is taken (a lease would outlive a
    killed worker and refuse the re-run for hours).
    """
    if ctx.engine_locks:
        return nullcontext(True)
    leases = Leases(ctx.dbthread.db, task_holder(ctx.settings.worker_name))
    return leases.hold(f"{kind}:{site_id}", BACKUP_LEASE)


def _busy(what: str) -> UsageError:
    return UsageError(f"a {what} of this site is running already; try again when it is done")


class BackupParams(BaseModel):
    """Whether the plan's schedule asked for it (its snapshot is then kept by the plan's
    retention, not as a person's)."""

    model_config = ConfigDict(extra="forbid")

    scheduled: bool = Field(default=False, description="Taken on the plan's schedule")


@TASKS.register("backup")
class BackupTask:
    """Back the site up now (``sitekeeper backup SITE``); retention applies as usual."""

    Params: ClassVar[type[BaseModel]] = BackupParams
    needs_site: ClassVar[bool] = True
    queue: ClassVar[str] = "backups"  # hours of transfer: apart from quick work
    changes_site: ClassVar[bool] = True  # one at a time per site and a few per server
    rerun_after_crash: ClassVar[bool] = True  # restic resumes where it stopped

    async def run(self, ctx: TaskContext, site_id: int | None, params: BackupParams) -> Done:
        """Take a snapshot; a failed run is journaled and alerted by the backup code."""
        assert site_id is not None
        async with _site_lease(ctx, "backup", site_id) as free:
            if not free:
                raise _busy("backup")
            outcome = await backup_site(
                ctx.backups,
                str(site_id),
                reason=SCHEDULED if params.scheduled else MANUAL,
                locked=ctx.engine_locks,
            )
        f = outcome.figures
        said = (
            f"snapshot {short_id(f.snapshot_id)} · {plural(f.files, 'file')} · "
            f"{size(f.bytes_added)} new · {seconds(f.duration)}"
            if f is not None
            else None
        )
        return Done(backup_outcome_json(outcome), outcome.error, summary=said)


class DrillParams(BaseModel):
    """Which snapshot to drill (default: the latest) and the title to expect."""

    model_config = ConfigDict(extra="forbid")

    snapshot: str | None = Field(default=None, pattern=SNAPSHOT, description="Snapshot id")
    title: str | None = Field(
        default=None, min_length=1, max_length=500, description="Expected home-page title"
    )


@TASKS.register("drill")
class DrillTask:
    """Restore drill (``sitekeeper drill SITE``): restore into a sandbox, serve, check."""

    Params: ClassVar[type[BaseModel]] = DrillParams
    needs_site: ClassVar[bool] = True
    queue: ClassVar[str] = "backups"
    changes_site: ClassVar[bool] = True  # reads the repository a backup writes

    async def run(self, ctx: TaskContext, site_id: int | None, params: DrillParams) -> Done:
        """Run the drill; a failed verdict fails the task (the verdict is journaled)."""
        assert site_id is not None
        async with _site_lease(ctx, "drill", site_id) as free:
            if not free:
                raise _busy("restore drill")
            result = await drill(
                ctx.backups, str(site_id), params.snapshot, expected_title=params.title
            )
        return Done(drill_json(result), None if result.ok else result.detail, summary=result.detail)


class RestoreParams(BaseModel):
    """A snapshot (default: the latest) to a new directory under the data directory,
    or back onto the site (``in_place``, administrators only)."""

    model_config = ConfigDict(extra="forbid")

    snapshot: str | None = Field(default=None, pattern=SNAPSHOT, description="Snapshot id")
    in_place: bool = Field(default=False, description="Put files and database back on the site")
    to: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
        description="Directory name under DATA_DIR/restores (default: site-ID-TIME)",
    )

    @model_validator(mode="after")
    def _one_target(self) -> RestoreParams:
        if self.in_place and self.to is not None:
            raise ValueError("give a directory or in_place, not both")
        return self


@TASKS.register("restore")
class RestoreTask:
    """Restore a snapshot (``sitekeeper restore SITE --to DIR`` or ``--in-place``)."""

    Params: ClassVar[type[BaseModel]] = RestoreParams
    needs_site: ClassVar[bool] = True
    queue: ClassVar[str] = "backups"
    changes_site: ClassVar[bool] = True

    async def run(self, ctx: TaskContext, site_id: int | None, params: RestoreParams) -> Done:
        """Restore; in place, a safety snapshot is taken first (or nothing is touched)."""
        assert site_id is not None
        ref = str(site_id)
        if params.in_place:
            # Putting files back while a backup reads them would save a half-restored site.
            async with _site_lease(ctx, "backup", site_id) as free:
                if not free:
                    raise _busy("backup")
                result = await restore_in_place(ctx.backups, ref, params.snapshot)
        else:
            name = params.to or f"site-{site_id}-{datetime.now(UTC):%Y%m%dT%H%M%S}"
            target = ctx.settings.home / RESTORES / name
            result = await restore_to(ctx.backups, ref, target, params.snapshot)
        where = "in place" if params.in_place else f"to {result.target}"
        return Done(
            restore_json(result),
            summary=f"snapshot {short_id(result.snapshot)} restored {where}",
        )

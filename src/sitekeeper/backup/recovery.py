"""What a killed backup process of this worker left behind, cleared when ``serve`` starts.

After ``kill -9`` (or a crash, or a power cut) during a backup, three things
stay: the run is still marked ``running``; restic's lock stays in the
repository, where it blocks the next prune or check; and the site's lease
(``backup:<id>``) stays held for its 12 hours, so no other ``serve`` process
backs the site up meanwhile. :func:`recover` runs at the start of ``serve``,
before any loop or task starts:

- every run still ``running`` whose run lease (``run:<id>``, taken with the
  run) is this worker's or has lapsed, and whose site's staging lock no
  process on this host holds (a ``sitekeeper backup`` from the CLI may be
  running), becomes ``interrupted``, with a ``backup.interrupted`` event;
- ``restic unlock`` runs on the repositories those runs wrote to. restic
  removes only stale locks: those of a process that no longer exists on this
  host, and those not refreshed for 30 minutes; a live restic's lock stays;
- this worker's per-site leases (``backup:*``, ``drill:*``, its own and its
  task runner's) and the interrupted runs' leases are released.

Before its first backup of a repository, every process also unlocks it once
(``runner._prepare_repository``), and a site's next backup marks its own
stale runs, so a killed CLI backup is cleared without a ``serve``.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from sitekeeper.backup.errors import BackupError
from sitekeeper.backup.repository import OpenRepository, open_stored
from sitekeeper.backup.runner import INTERRUPTED, BackupContext
from sitekeeper.store import backups as queries
from sitekeeper.store.backup_tables import BackupRepository

log = logging.getLogger(__name__)
UNLOCK_TIMEOUT = 120.0  # seconds for one repository's unlock (remote storage may be slow)


@dataclass
class Recovered:
    """What a start-up recovery found and cleared."""

    runs: list[int] = field(default_factory=list)
    unlocked: list[str] = field(default_factory=list)
    leases: int = 0
    problems: list[str] = field(default_factory=list)


def task_holder(worker: str) -> str:
    """The lease holder name of this worker's task runner (``engine.actions.backups``)."""
    return f"{worker}/tasks"


async def recover(ctx: BackupContext) -> Recovered:
    """Clear what a killed process of ``ctx.worker`` left (see the module doc)."""
    done = Recovered()
    try:
        repositories = await ctx.dbthread.session_aside(_interrupt_runs, ctx, done)
    except (SQLAlchemyError, OSError) as exc:  # serve starts anyway; the next start retries
        log.error("recovering interrupted backups failed: %s", exc)
        done.problems.append(str(exc))
        return done
    for repository_id in repositories:
        repo = await ctx.dbthread.session_aside(_open_repository, ctx, repository_id)
        if repo is None:
            continue
        try:
            async with asyncio.timeout(UNLOCK_TIMEOUT):
                await ctx.restic(repo).unlock()
            done.unlocked.append(repo.location)
        except (BackupError, TimeoutError) as exc:
            done.problems.append(f"{repo.location}: {exc or 'unlock timed out'}")
    if done.runs:
        log.warning(
            "%d backup run(s) of this worker were interrupted before this start (%s); "
            "stale restic locks removed in %s",
            len(done.runs),
            ", ".join(map(str, done.runs)),
            ", ".join(done.unlocked) or "no repository",
        )
    for problem in done.problems:
        log.warning("after an interrupted backup, restic unlock failed: %s", problem)
    return done


def _interrupt_runs(session: Session, ctx: BackupContext, done: Recovered) -> list[int]:
    """Mark the dead runs, release the leases; the repositories the dead runs wrote to."""
    holders = [ctx.worker, task_holder(ctx.worker)]
    repositories: list[int] = []
    now = ctx.clock()
    running = queries.running(session)
    elsewhere = queries.leases_held_by_others(
        session, [queries.run_lease(r.id) for r in running], [ctx.worker], now
    )
    for run in running:
        if queries.run_lease(run.id) in elsewhere:
            continue  # another worker's, still alive as far as its lease says
        if not _staging_free(ctx.settings.site_dir(run.site_id)):
            continue  # a process on this host is still backing the site up
        queries.interrupt_run(session, run.id, INTERRUPTED, now)
        done.runs.append(run.id)
        if run.repository_id is not None and run.repository_id not in repositories:
            repositories.append(run.repository_id)
    done.leases = queries.release_site_leases(
        session, holders, [queries.run_lease(i) for i in done.runs]
    )
    return repositories


def _staging_free(directory: Path) -> bool:
    """Whether no process holds the site's staging lock (``runner.site_lock``) right now."""
    try:
        fd = os.open(directory / "lock", os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing releases the lock if we took it
    return True


def _open_repository(
    session: Session, ctx: BackupContext, repository_id: int
) -> OpenRepository | None:
    row = session.get(BackupRepository, repository_id)
    return open_stored(row, ctx.vault) if row is not None else None

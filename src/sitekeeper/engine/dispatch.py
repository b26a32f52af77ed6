"""The dispatcher seam: how a queued task reaches a worker, chosen by the database.

The ``tasks`` row is always the record the API and the UI read. What carries it to a
worker differs: on SQLite the in-process runner (``engine.tasks.TaskRunner``) claims the
rows itself; on PostgreSQL every task is also a procrastinate job
(``engine.job_queue``), deferred in the transaction that writes the row, and claiming,
re-running after a crash and locking are procrastinate's.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from sitekeeper.config import Settings
from sitekeeper.engine.tasks import TaskRunner
from sitekeeper.store.database import Database
from sitekeeper.store.task_tables import Task

# Kinds that change a site's files or database: at most one of them runs per site.
SITE_CHANGING = frozenset({"backup", "drill", "restore", "update"})
# Long work in its own queues, so a queue of backups never delays a manual check.
QUEUES = {"backup": "backups", "drill": "backups", "restore": "backups", "update": "updates"}
INTERACTIVE = frozenset({"check"})  # someone waits for it on the site page


@dataclass(frozen=True, slots=True)
class JobSpec:
    """How one task is queued: the engine's queue, priority and lock keys."""

    queue: str
    priority: int
    lock: str | None  # jobs with one lock run one at a time
    queueing_lock: str | None  # at most one job with it waits in the queue


def job_spec(kind: str, site_id: int | None) -> JobSpec:
    """The queue, priority and locks of a task of ``kind`` for ``site_id``."""
    return JobSpec(
        queue=QUEUES.get(kind, "tasks"),
        priority=10 if kind in INTERACTIVE else 0,
        lock=f"site:{site_id}" if site_id is not None and kind in SITE_CHANGING else None,
        queueing_lock=f"{kind}:{site_id}" if site_id is not None else None,
    )


class Dispatcher(Protocol):
    """One way of moving queued tasks to workers (in-process, or a job queue)."""

    def defer(self, session: Session, task: Task) -> None:
        """Hand a just-written task row over, in the caller's transaction."""
        ...

    async def work(self, stop: asyncio.Event) -> None:
        """Run queued tasks in this process until ``stop``."""
        ...

    def wake(self) -> None:
        """Look for queued work now (a task was queued in this process)."""
        ...


class InProcess:
    """SQLite's (and the embedded default's) dispatcher: the runner claims the rows."""

    def __init__(self, runner: TaskRunner) -> None:
        self.runner = runner

    def defer(self, session: Session, task: Task) -> None:
        """Nothing to do: the row is the queue."""

    async def work(self, stop: asyncio.Event) -> None:
        """The runner's claim loop."""
        await self.runner.run(stop)

    def wake(self) -> None:
        """Claim now instead of at the next poll."""
        self.runner.wake()


def for_database(
    db: Database, runner: TaskRunner, settings: Settings, queues: tuple[str, ...] = ()
) -> Dispatcher:
    """procrastinate on PostgreSQL (taking jobs from ``queues``, or all), the in-process
    runner otherwise (one process runs everything: ``queues`` must be empty)."""
    if db.dialect != "postgresql":
        return InProcess(runner)
    from sitekeeper.engine.job_queue import JobQueue  # noqa: PLC0415 - PostgreSQL only

    return JobQueue(runner.ctx, settings, db.url, queues)


def defer(session: Session, task: Task) -> None:
    """Queue a just-written task on the engine of the session's database.

    The web process may run no worker at all, so this needs no dispatcher object: on
    PostgreSQL the job is written through the session's own connection (one commit for
    the row and its job), on SQLite nothing is to be done.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    from sitekeeper.engine.job_queue import defer_job  # noqa: PLC0415 - PostgreSQL only

    defer_job(session, task)

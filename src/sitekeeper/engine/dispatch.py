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
from sitekeeper.domain.workers import ALL_QUEUES, SCHEDULE, Role
from sitekeeper.engine.periodic import Periodic
from sitekeeper.engine.tasks import TaskRunner, job_traits
from sitekeeper.store.database import Database
from sitekeeper.store.task_tables import Task

ASKED = 10  # the priority of work a person asked for: ahead of anything scheduled
INTERACTIVE = frozenset({"check"})  # someone waits for it on the site page


@dataclass(frozen=True, slots=True)
class JobSpec:
    """How one task is queued: the engine's queue, priority and lock keys."""

    queue: str
    priority: int
    lock: str | None  # jobs with one lock run one at a time
    queueing_lock: str | None  # at most one job with it waits in the queue


def job_spec(
    kind: str,
    site_id: int | None,
    *,
    server: str | None = None,
    server_parallel: int = 1,
    priority: int = 0,
) -> JobSpec:
    """The queue, priority and locks of a task of ``kind`` for ``site_id``.

    Site-changing work on a known ``server`` takes one of the server's
    ``server_parallel`` lock slots, chosen by the site id: every job of one site has the
    same slot (one at a time per site, as the engine runs one job per lock), and no more
    than ``server_parallel`` jobs run on the server, with no polling and no counter to
    leak when a worker dies. A scheduled job's ``priority`` (0 or below,
    ``engine.planner``: fairness between clients) gives way to work a person asked for.
    """
    queue, changes_site = job_traits(kind)
    lock = None
    if site_id is not None and changes_site:
        lock = f"server:{server}:{site_id % server_parallel}" if server else f"site:{site_id}"
    return JobSpec(
        queue=queue,
        priority=ASKED + 1 if kind in INTERACTIVE else priority,
        lock=lock,
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


def runs_job_engine(db: Database) -> bool:
    """Whether the job engine (procrastinate) carries the work: on PostgreSQL, where
    processes share it; SQLite's one process runs everything in-process."""
    return db.dialect == "postgresql"


def for_database(
    db: Database,
    runner: TaskRunner,
    settings: Settings,
    *,
    role: Role = Role.ALL,
    queues: tuple[str, ...] = (),
    periodics: tuple[Periodic, ...] = (),
) -> Dispatcher:
    """procrastinate on PostgreSQL, the in-process runner otherwise (one process runs
    everything: ``queues`` must be empty, and ``periodics`` are the service's own loops).

    On PostgreSQL a worker takes ``queues`` (default: all but the scheduler's), a
    scheduler takes the ``schedule`` queue and defers the ``periodics``; ``all`` both.
    """
    if not runs_job_engine(db):
        return InProcess(runner)
    from sitekeeper.engine.job_queue import JobQueue  # noqa: PLC0415 - PostgreSQL only

    taken = (queues or tuple(q for q in ALL_QUEUES if q != SCHEDULE)) if role.works else ()
    if role.schedules and SCHEDULE not in taken:
        taken = (*taken, SCHEDULE)
    return JobQueue(runner.ctx, settings, db.url, taken, periodics, schedules=role.schedules)


def defer(session: Session, task: Task, *, server_parallel: int, priority: int = ASKED) -> None:
    """Queue a just-written task on the engine of the session's database.

    The web process may run no worker at all, so this needs no dispatcher object: on
    PostgreSQL the job is written through the session's own connection (one commit for
    the row and its job), on SQLite nothing is to be done. ``server_parallel``: the
    per-server limit (``settings.server_parallel``); ``priority``: see :func:`job_spec`.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    from sitekeeper.engine.job_queue import defer_job  # noqa: PLC0415 - PostgreSQL only

    defer_job(session, task, server_parallel=server_parallel, priority=priority)

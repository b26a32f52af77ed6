"""PostgreSQL's dispatcher: every task is carried by a procrastinate job.

Deferring writes the job through the caller's own connection, so the task row and
its job commit (or roll back) together. A worker (``JobQueue.work``, in ``serve``)
runs procrastinate's: LISTEN/NOTIFY wake-ups, ``SKIP LOCKED`` fetches, one job per
``lock`` at a time, one waiting job per ``queueing_lock``, worker heartbeats. The job
takes its task row with a compare-and-set (``store.tasks.take``) and runs it through
``engine.tasks.execute``, as the in-process runner does.

A worker that dies (kill -9, a lost host) stops sending heartbeats; the periodic sweep,
deferred once per period across all workers, finds its jobs stalled and either runs
them again (kinds with ``rerun_after_crash``) or fails the task as interrupted (a
restore, an update: their own recovery, or a person, decides).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from procrastinate import App, JobContext, PsycopgConnector, SyncPsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Job, Status
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from sitekeeper.config import Settings
from sitekeeper.domain.workers import ALL_QUEUES, SCHEDULE
from sitekeeper.engine.dispatch import ASKED, job_spec
from sitekeeper.engine.periodic import Periodic, cron_of
from sitekeeper.engine.tasks import (
    STOPPED,
    Done,
    TaskContext,
    execute,
    record_outcome,
    reruns_after_crash,
)
from sitekeeper.errors import SitekeeperError, UsageError
from sitekeeper.store import tasks as queue
from sitekeeper.store.database import libpq_url
from sitekeeper.store.job_routes import Route, routes
from sitekeeper.store.task_tables import Task

log = logging.getLogger(__name__)

TASK_JOB = "sitekeeper.task"  # the one procrastinate task: run the tasks row it names
SWEEP_JOB = "sitekeeper.sweep"
PERIODIC_PREFIX = "sitekeeper.every."  # the scheduler's periodic jobs (engine.periodic)
# Queues whose jobs someone waits for, woken by NOTIFY (a connection held each); the long
# work's queues look every ``job_poll_seconds`` instead, which costs no connection between.
LISTENING = frozenset({"tasks", SCHEDULE})
NOTIFIED_POLL = 5.0  # procrastinate's own fallback for a missed notification
CRASHED = "interrupted: the worker running it stopped (killed or lost); not run again by itself"

_deferrer: App | None = None


def _defer_app() -> App:
    """An app that only writes jobs through its callers' connections (never opened)."""
    global _deferrer  # noqa: PLW0603 - one per process, made on first use
    if _deferrer is None:
        _deferrer = App(connector=SyncPsycopgConnector())
    return _deferrer


def defer_job(
    session: Session,
    task: Task,
    *,
    server_parallel: int = 1,
    priority: int = ASKED,
    route: Route | None = None,
) -> None:
    """Write the job that carries ``task`` in the session's transaction; sets its job id.

    ``route``: the site's, when the caller read it already (a planning round reads all of
    its sites' at once). A job of the site and kind still waiting for a task that is over
    (finished some other way: by hand, or by the in-process runner) is cancelled first.
    UsageError if the one waiting carries a live task (the tasks table's unique index
    normally answers first).
    """
    if route is None and task.site_id is not None:
        route = routes(session, [task.site_id]).get(task.site_id)
    spec = job_spec(
        task.kind,
        task.site_id,
        server=route.server if route else None,
        server_parallel=server_parallel,
        priority=priority,
    )
    raw: Any = session.connection().connection.driver_connection  # the psycopg connection
    deferrer = _defer_app().configure_task(
        TASK_JOB,
        queue=spec.queue,
        priority=spec.priority,
        lock=spec.lock,
        queueing_lock=spec.queueing_lock,
        connection=raw,
    )
    for attempt in range(2):
        try:
            # A savepoint on the connection itself (the session's would be emitted lazily,
            # so not at all here): a refused job must not end the caller's transaction.
            with raw.transaction():
                task.job_id = deferrer.defer(task_id=task.id, kind=task.kind)
            return
        except AlreadyEnqueued:
            if attempt or not _cancel_stale(session, raw, task):
                break
    raise UsageError(f"a {task.kind} of this site is already waiting in the job queue")


def defer_jobs(
    session: Session,
    kind: str,
    tasks: dict[int, int],
    *,
    server_parallel: int,
    priority: dict[int, int],
    route: dict[int, Route],
) -> dict[int, int]:
    """Write the jobs of many just-written tasks of ``kind`` (task id -> site id) in one
    statement, in the caller's transaction; returns task id -> job id.

    AlreadyEnqueued if a job of one of the sites is still waiting (of a task that ended
    some other way, or a race): then nothing is written, and the caller rolls back and
    defers one by one (``defer_job`` cancels such a stale job first).
    """
    jobs = []
    for task_id, site_id in tasks.items():
        site_route = route.get(site_id)
        spec = job_spec(
            kind,
            site_id,
            server=site_route.server if site_route else None,
            server_parallel=server_parallel,
            priority=priority.get(site_id, 0),
        )
        jobs.append(
            Job(
                queue=spec.queue,
                priority=spec.priority,
                lock=spec.lock,
                queueing_lock=spec.queueing_lock,
                task_name=TASK_JOB,
                task_kwargs={"task_id": task_id, "kind": kind},
            )
        )
    raw: Any = session.connection().connection.driver_connection  # the psycopg connection
    deferred = _defer_app().job_manager.batch_defer_jobs(jobs, connection=raw)
    ids = {task_id: job.id for task_id, job in zip(tasks, deferred, strict=True)}
    return {task_id: job_id for task_id, job_id in ids.items() if job_id is not None}


def _cancel_stale(session: Session, raw: Any, task: Task) -> bool:
    """Cancel the waiting jobs of finished tasks of the site and kind; whether any was."""
    if task.site_id is None:
        return False
    manager = _defer_app().job_manager
    stale = queue.finished_job_ids(session, task.kind, task.site_id)
    return any([manager.cancel_job_by_id(i, delete_job=True, connection=raw) for i in stale])


def _now() -> datetime:
    return datetime.now(UTC)


def _periodic_job(periodic: Periodic) -> Callable[[int], Awaitable[None]]:
    """The job function of a periodic: its action; a failure is logged, the next period
    runs it again (the job itself is not retried: the schedule is)."""

    async def run(timestamp: int) -> None:
        try:
            await periodic.action()
        except (SitekeeperError, SQLAlchemyError, OSError):
            log.exception("periodic job %s failed; it runs again next period", periodic.name)

    run.__name__ = run.__qualname__ = periodic.name.replace("-", "_")
    return run


def queue_concurrency(settings: Settings, queue_name: str, periodics: int) -> int:
    """How many jobs of ``queue_name`` one process runs at once.

    Each queue has its own worker and limit, so a long queue of backups never takes
    the slots of a manual check, a scan or the scheduler's own jobs.
    """
    return {
        "backups": settings.backup_concurrency,
        "updates": settings.update_concurrency,
        "reports": 2,  # each report prints in the printer pool, sized to the cores
        "feeds": 1,
        "schedule": max(1, periodics),
    }.get(queue_name, settings.task_concurrency)


class JobQueue:
    """procrastinate workers in this process, one per queue taken, running the tasks and
    the periodic jobs their jobs carry."""

    def __init__(
        self,
        ctx: TaskContext,
        settings: Settings,
        url: str,
        queues: tuple[str, ...] = ALL_QUEUES,
        periodics: tuple[Periodic, ...] = (),
        *,
        schedules: bool = False,
    ) -> None:
        """``queues``: the queues this process takes jobs from; ``periodics``: the periodic
        jobs (registered everywhere, so any worker of their queue runs them), deferred on
        their schedule by this process only if it ``schedules`` (the scheduler role)."""
        # The job's lock keeps site-changing work one at a time: handlers take no lease.
        self.ctx = replace(ctx, engine_locks=True)
        self.settings = settings
        self.queues = queues
        self.periodics = periodics
        # Unique per process, so a late outcome of a dead process's run never counts.
        self.worker = f"{settings.worker_name}/{os.getpid()}"
        listening = sum(q in LISTENING for q in queues)
        self.app = App(
            connector=PsycopgConnector(
                # A connection held per listening queue, a few for the engine's own round
                # trips (fetch, finish, heartbeat; the jobs' work uses the store's pool):
                # PostgreSQL's 100 connections are shared by every process of a fleet.
                conninfo=libpq_url(url),
                min_size=1,
                max_size=listening + 3,
            )
        )
        self._register(schedules)

    def _register(self, schedules: bool) -> None:
        @self.app.task(name=TASK_JOB, pass_context=True)
        async def run_task(context: JobContext, task_id: int, kind: str) -> None:
            await self._run(context, task_id)

        seconds = self.settings.job_sweep_seconds

        # Six cron columns: the last is seconds. Deferred once per period by all workers.
        @self.app.periodic(cron=f"* * * * * */{seconds}", periodic_id="sweep")
        @self.app.task(name=SWEEP_JOB, queue="tasks", queueing_lock=SWEEP_JOB)
        async def sweep(timestamp: int) -> None:
            await self.sweep()

        for periodic in self.periodics:
            name = f"{PERIODIC_PREFIX}{periodic.name}"
            task = self.app.task(
                name=name,
                queue=periodic.queue,
                # Never piling up behind a slow one. A lock only for the exclusive ones: a
                # lock held by a killed worker's job stops the next runs until the sweep
                # (30 s); the frequent ones tolerate two at once (idempotent rounds, the
                # outbox's claim).
                queueing_lock=name,
                lock=name if periodic.exclusive else None,
            )(_periodic_job(periodic))
            if schedules:
                self.app.periodic(cron=cron_of(periodic.period), periodic_id=periodic.name)(task)

    def defer(self, session: Session, task: Task) -> None:
        """Write the task's job in the caller's transaction."""
        defer_job(session, task, server_parallel=self.settings.server_parallel)

    def wake(self) -> None:
        """Nothing to do: the job's insert notifies every listening worker."""

    async def work(self, stop: asyncio.Event) -> None:
        """Run jobs until ``stop``; running jobs then get ``stop_timeout`` seconds, as in the
        embedded mode, and are cancelled after that (their tasks failed as stopped). An
        alert delivery cut off between the send and its stored outcome would be sent again
        after its claim lapses."""
        # Every procrastinate worker defers the periodic jobs of its app: one per process
        # is enough, the others run theirs with an app that shares the tasks only.
        quiet = App(connector=self.app.connector)
        quiet.tasks = self.app.tasks
        async with self.app.open_async():
            workers = [
                asyncio.create_task(
                    (quiet if n else self.app).run_worker_async(
                        name=f"{self.worker}/{queue_name}",
                        queues=[queue_name],
                        concurrency=queue_concurrency(
                            self.settings, queue_name, len(self.periodics)
                        ),
                        install_signal_handlers=False,
                        listen_notify=queue_name in LISTENING,
                        fetch_job_polling_interval=(
                            NOTIFIED_POLL
                            if queue_name in LISTENING
                            else self.settings.job_poll_seconds
                        ),
                        update_heartbeat_interval=self.settings.job_heartbeat_seconds,
                        stalled_worker_timeout=self.settings.job_stalled_seconds,
                        shutdown_graceful_timeout=self.settings.stop_timeout,
                        delete_jobs="successful",
                    ),
                    name=f"job-worker-{queue_name}",
                )
                for n, queue_name in enumerate(self.queues)
            ]
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait([*workers, stopping], return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            for worker in workers:
                if not worker.done():
                    worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def _run(self, context: JobContext, task_id: int) -> None:
        job = context.job
        assert job.id is not None
        rerun = job.attempts > 0
        try:
            task = await self.ctx.dbthread.call(
                queue.take, task_id, job.id, self.worker, _now(), rerun=rerun
            )
        except SQLAlchemyError:
            log.exception("task %d: taking it failed; its job ends", task_id)
            raise
        if task is None:
            log.info("task %d: no longer waiting for job %d; nothing to run", task_id, job.id)
            return
        log.info(
            "task %d: %s of site %s started (job %d)", task.id, task.kind, task.site_id, job.id
        )
        try:
            done = await execute(self.ctx, task)
        except asyncio.CancelledError:
            await record_outcome(self.ctx, task, self.worker, Done({}, STOPPED))
            raise
        await record_outcome(self.ctx, task, self.worker, done)

    async def sweep(self) -> None:
        """Run again, or fail as interrupted, the jobs of workers that stopped beating."""
        manager = self.app.job_manager
        stalled = await manager.get_stalled_jobs(
            seconds_since_heartbeat=self.settings.job_stalled_seconds
        )
        for job in stalled:
            if job.task_name == TASK_JOB:
                await self._settle(job)
            elif job.task_name.startswith(PERIODIC_PREFIX):
                # Its next period runs it again; failed, it no longer counts as running.
                log.warning("periodic job %s: its worker died", job.task_name)
                await manager.finish_job(job, status=Status.FAILED, delete_job=True)

    async def _settle(self, job: Job) -> None:
        assert job.id is not None
        task_id, kind = int(str(job.task_kwargs["task_id"])), str(job.task_kwargs["kind"])
        if reruns_after_crash(kind):
            log.warning("task %d (%s): its worker died; running it again", task_id, kind)
            await self.app.job_manager.retry_job(job)
            return
        log.warning("task %d (%s): its worker died; failed as interrupted", task_id, kind)
        # The row first: if this process dies in between, the next sweep finds the job again.
        await self.ctx.dbthread.call(queue.fail_carried, task_id, job.id, CRASHED, _now())
        await self.app.job_manager.finish_job(job, status=Status.FAILED, delete_job=False)

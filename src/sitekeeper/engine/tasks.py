"""The task runner: claims queued tasks and runs each with its kind's handler.

A task is an action a person asked for from the API or the UI ("check this
site now", "back it up"). The web layer only writes a row
(``store.tasks.enqueue``); a runner in ``serve`` claims rows with a
compare-and-set and runs them, at most ``task_concurrency`` at once. The
handlers are plugins (``@register("task", kind)``, modules of
``engine.actions``) that call the same functions the CLI commands call, so a
task does exactly what the command does.

Scaling out is the same seam: a worker on another machine runs this runner
against the shared PostgreSQL store (SKIP LOCKED keeps workers apart), or a
distributed queue carries task ids and each of its workers calls
:func:`execute` for the ids it receives.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.exc import SQLAlchemyError

from sitekeeper.backup.options import BackupSettings
from sitekeeper.backup.runner import BackupContext
from sitekeeper.config import Settings
from sitekeeper.domain.untrusted import visible
from sitekeeper.engine.check_runner import CheckRunner
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.engine.recorder import Recorder
from sitekeeper.engine.waiting import wait_event
from sitekeeper.errors import SitekeeperError, UsageError
from sitekeeper.plugins import Registry
from sitekeeper.store import tasks as queue
from sitekeeper.store.dbthread import DbThread
from sitekeeper.store.tasks import ClaimedTask
from sitekeeper.vault import Vault

log = logging.getLogger(__name__)

STOPPED = "interrupted: sitekeeper stopped while the task ran"
MAX_ERROR = 2000  # characters of a task's error kept


class NoParams(BaseModel):
    """A task kind that takes no parameters."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Done:
    """What a handler produced: a JSON result, and an error if the action failed.

    A failed backup still has a result (its run id, what it got to); the
    task is failed and keeps both. ``summary`` is the one line people read
    (the UI's "Outcome"); it is stored in the result as ``summary``.
    """

    result: dict[str, Any]
    error: str | None = None
    summary: str | None = None

    def stored(self) -> dict[str, Any]:
        """The result as the task row keeps it."""
        if self.summary is None:
            return self.result
        return {**self.result, "summary": self.summary}


@dataclass
class TaskContext:
    """The engine's parts a handler may use; built once per process by the service."""

    settings: Settings
    dbthread: DbThread
    vault: Vault
    checks: CheckRunner
    recorder: Recorder
    intel_jobs: IntelJobs | None = None
    backup_context: BackupContext | None = None
    # Run by the job engine (PostgreSQL), whose job locks keep site-changing work one at a
    # time per site: the handlers then take no lease of their own (engine.dispatch).
    engine_locks: bool = False

    @property
    def intel(self) -> IntelJobs:
        """Software-intelligence jobs (the service's, else made on first use)."""
        if self.intel_jobs is None:
            self.intel_jobs = IntelJobs(self.dbthread.db, self.settings, vault=self.vault)
        return self.intel_jobs

    @property
    def backups(self) -> BackupContext:
        """The backup context (the service's, else made on first use)."""
        if self.backup_context is None:
            self.backup_context = BackupContext(
                db=self.dbthread.db,
                vault=self.vault,
                settings=BackupSettings.from_settings(self.settings),
                alert_urls=self.settings.alert_urls,
                worker=self.settings.worker_name,
            )
        return self.backup_context


class TaskHandler(Protocol):
    """One kind of task: its parameters and the one async method that does it."""

    Params: ClassVar[type[BaseModel]]
    needs_site: ClassVar[bool]
    # Optional: ``rerun_after_crash``, ``queue``, ``changes_site`` (see the functions below).

    async def run(self, ctx: TaskContext, site_id: int | None, params: Any) -> Done:
        """Do the action; raise a SitekeeperError (message for the user) if it cannot."""
        ...


# Task kinds: handler classes in engine/actions (and plugins), looked up by the runner.
TASKS: Registry[type[TaskHandler]] = Registry("task", builtins=["sitekeeper.engine.actions"])


def handler_kinds() -> list[str]:
    """Every task kind this process can run."""
    return TASKS.kinds()


def handler_class(kind: str) -> type[TaskHandler]:
    """The handler class of ``kind``; UsageError for an unknown kind."""
    if kind not in handler_kinds():
        raise UsageError(f"unknown task kind {kind!r}")
    return TASKS.get(kind)


def reruns_after_crash(kind: str) -> bool:
    """Whether a task of ``kind`` whose worker died mid-way may simply run again.

    A handler says so with ``rerun_after_crash = True`` (a check, an inventory: running
    twice is harmless). Unknown kinds and every other kind are failed as interrupted
    instead: a half-done restore or update needs a person (or its own recovery) to decide.
    """
    if kind not in handler_kinds():
        return False
    return bool(getattr(TASKS.get(kind), "rerun_after_crash", False))


def job_traits(kind: str) -> tuple[str, bool]:
    """The job queue a task of ``kind`` waits in and whether it changes the site.

    A handler may say ``queue = "backups"`` (a queue per kind of work, so hours of
    backups never hold up a scan or a manual check) and ``changes_site = True`` (one such
    job per site at a time, and a few per client server: ``engine.dispatch``). Unknown
    kinds and handlers that say nothing: the ``tasks`` queue, read-only.
    """
    if kind not in handler_kinds():
        return "tasks", False
    handler = TASKS.get(kind)
    return str(getattr(handler, "queue", "tasks")), bool(getattr(handler, "changes_site", False))


def validate_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` checked against the kind's model, as stored (JSON); UsageError if bad."""
    model = handler_class(kind).Params
    try:
        return model.model_validate(params).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'params'}: {e['msg']}" for e in exc.errors()
        )
        raise UsageError(f"invalid parameters for {kind}: {problems}") from None


async def execute(ctx: TaskContext, task: ClaimedTask) -> Done:
    """Run one claimed task with its handler; the one place a task's errors are caught."""
    try:
        cls = handler_class(task.kind)
        if cls.needs_site and task.site_id is None:
            raise UsageError(f"a {task.kind} task needs a site")
        params = cls.Params.model_validate(task.params)
        return await cls().run(ctx, task.site_id, params)
    except ValidationError as exc:
        return Done({}, f"invalid parameters: {exc.errors()[0]['msg']}")
    except SitekeeperError as exc:
        return Done({}, str(exc))
    except Exception as exc:
        # A bug or an unexpected system error: logged with its traceback, and the
        # task is failed rather than left running until the next restart.
        log.exception("task %d (%s) crashed", task.id, task.kind)
        return Done({}, f"internal error: {type(exc).__name__}: {exc}")


def _now() -> datetime:
    return datetime.now(UTC)


class TaskRunner:
    """Claims queued tasks and runs them, at most ``concurrency`` at once, until stopped.

    It claims only as many tasks as it has free slots, so queued work stays
    available to other workers; it wakes when told (:meth:`wake`, from the
    web layer of the same process), when a slot frees, and every
    ``poll_interval`` seconds (another process may have queued work).
    """

    def __init__(
        self,
        ctx: TaskContext,
        *,
        concurrency: int,
        worker: str,
        poll_interval: float = 3.0,
    ) -> None:
        self.ctx = ctx
        self.concurrency = concurrency
        self.worker = worker
        self.poll_interval = poll_interval
        self._running: dict[int, asyncio.Task[None]] = {}
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed = asyncio.Condition()
        self.finished = 0  # tasks whose outcome this runner recorded
        self.polls = 0  # claim passes so far

    @property
    def running(self) -> int:
        """Tasks being run now."""
        return len(self._running)

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate`` holds, re-testing it after every claim and every outcome.

        For whoever must act once a task is done (tests, a live view) without
        polling the store on a timer.
        """
        async with self._changed:
            await self._changed.wait_for(predicate)

    def wake(self) -> None:
        """Claim now instead of at the next poll; safe to call from any thread."""
        loop, event = self._loop, self._wake
        if loop is not None and event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)

    async def run(self, stop: asyncio.Event) -> None:
        """Fail what this worker left running, then claim and run tasks until ``stop``.

        On stop (or cancellation) the tasks still running are cancelled and
        recorded as interrupted: a backup or restore can take many minutes.
        """
        self._loop = asyncio.get_running_loop()
        wake = self._wake = asyncio.Event()
        stopper = asyncio.ensure_future(stop.wait())
        stopper.add_done_callback(lambda _: wake.set())
        kinds = handler_kinds()
        try:
            await self._fail_leftovers()
            while not stop.is_set():
                wake.clear()
                await self._claim(kinds)
                self.polls += 1
                await self._notify()
                await wait_event(wake, self.poll_interval)
        finally:
            stopper.cancel()
            running = list(self._running.values())
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _fail_leftovers(self) -> None:
        try:
            left = await self.ctx.dbthread.call(queue.mark_interrupted, self.worker, _now())
        except SQLAlchemyError:
            log.exception("marking interrupted tasks failed; they stay running until next start")
            return
        if left:
            log.warning("%d task(s) of worker %s were interrupted by a restart", left, self.worker)

    async def _claim(self, kinds: list[str]) -> None:
        free = self.concurrency - len(self._running)
        if free <= 0:
            return
        try:
            claimed = await self.ctx.dbthread.call(queue.claim, self.worker, _now(), free, kinds)
        except SQLAlchemyError:
            log.exception("claiming tasks failed; retrying at the next poll")
            return
        for task in claimed:
            runner = asyncio.create_task(self._run_one(task), name=f"task-{task.id}-{task.kind}")
            self._running[task.id] = runner
            runner.add_done_callback(functools.partial(self._done, task.id))

    def _done(self, task_id: int, _: asyncio.Task[None]) -> None:
        self._running.pop(task_id, None)
        if self._wake is not None:
            self._wake.set()  # a slot is free: claim again

    async def _run_one(self, task: ClaimedTask) -> None:
        log.info("task %d: %s of site %s started", task.id, task.kind, task.site_id)
        try:
            done = await execute(self.ctx, task)
        except asyncio.CancelledError:
            await self._record(task, Done({}, STOPPED))
            raise
        await self._record(task, done)

    async def _record(self, task: ClaimedTask, done: Done) -> None:
        if not await record_outcome(self.ctx, task, self.worker, done):
            return
        self.finished += 1
        await self._notify()


async def record_outcome(ctx: TaskContext, task: ClaimedTask, worker: str, done: Done) -> bool:
    """Write a task's outcome as ``worker`` (guarded: only while it still owns the task);
    False if the database could not be written."""
    # An error may quote a client's server (stderr, a file name): one line, controls
    # shown as escapes, in the stored task, the API and the log alike.
    error = None if done.error is None else visible(done.error, MAX_ERROR)
    try:
        if error is None:
            await ctx.dbthread.call(queue.finish, task.id, worker, done.stored(), _now())
        else:
            await ctx.dbthread.call(
                queue.fail, task.id, worker, error, _now(), result=done.stored() or None
            )
    except SQLAlchemyError:
        # The task stays "running" under this worker's name; the next start fails it.
        log.exception("recording the outcome of task %d failed", task.id)
        return False
    log.info("task %d: %s", task.id, "ok" if error is None else f"failed: {error}")
    return True

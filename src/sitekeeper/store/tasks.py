"""Named queries of the task queue: enqueue, claim, finish or fail, list.

Claiming is the compare-and-set ``store.jobs.claim_due`` uses, in one
statement: ``WITH picked AS MATERIALIZED (SELECT … ORDER BY id LIMIT n)
UPDATE … WHERE id IN (picked) AND status = 'queued' RETURNING …``. The outer
status test is re-checked against the row version that wins, so two workers
never run the same task; on PostgreSQL ``FOR UPDATE SKIP LOCKED`` keeps them
from waiting on each other, on SQLite the statement holds the write lock.
Finishing is guarded the same way (``status = 'running' AND worker = me``), so
a task another process gave up on is not overwritten by a late worker.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sitekeeper.errors import UsageError
from sitekeeper.store.dialect import upsert_insert
from sitekeeper.store.tables import Site
from sitekeeper.store.task_tables import ACTIVE, FAILED, OK, QUEUED, RUNNING, Task

INTERRUPTED = "interrupted by restart"
MAX_ERROR = 4000  # characters of an error kept on the task


@dataclass(frozen=True, slots=True)
class ClaimedTask:
    """A task this worker now owns: what to run, for whom."""

    id: int
    kind: str
    site_id: int | None
    params: dict[str, Any]
    requested_by: int | None


def active_task(session: Session, kind: str, site_id: int) -> Task | None:
    """The queued or running task of ``kind`` for the site, if there is one."""
    return session.scalar(
        select(Task).where(Task.kind == kind, Task.site_id == site_id, Task.status.in_(ACTIVE))
    )


class TaskConflict(UsageError):
    """The site already has an active task of this kind, asked for with other parameters.

    Only an identical request is answered with the task already there: a technician's
    restore into a directory must not silently become an administrator's in-place one.
    """

    def __init__(self, task: Task) -> None:
        super().__init__(
            f"a {task.kind} of this site with other parameters is already {task.status} "
            f"(task {task.id}); wait until it is done, then ask again"
        )
        self.task = task


def enqueue(
    session: Session,
    kind: str,
    *,
    site_id: int | None,
    params: dict[str, Any],
    requested_by: int | None,
    now: datetime,
) -> tuple[Task, bool]:
    """Queue a task; ``(task, True)``, or ``(existing, False)`` if the site has the same
    request (kind and parameters) queued or running; TaskConflict if it has one of the
    kind with other parameters.

    The unique index on active (kind, site) tasks makes this hold between concurrent
    requests too: the loser of the race gets the winner's task, or the conflict.
    """
    if site_id is not None and (existing := active_task(session, kind, site_id)) is not None:
        return _same_request(existing, params), False
    task = Task(
        kind=kind,
        site_id=site_id,
        params=params,
        status=QUEUED,
        requested_by=requested_by,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(task)
            session.flush()
    except IntegrityError:
        existing = active_task(session, kind, site_id) if site_id is not None else None
        if existing is None:
            raise
        return _same_request(existing, params), False
    return task, True


def enqueue_many(
    session: Session, kind: str, params: dict[int, dict[str, Any]], now: datetime
) -> dict[int, int]:
    """Queue a task of ``kind`` for each site of ``params`` (site id -> its parameters),
    1,000 a statement (six parameters each: PostgreSQL takes 65,535 a statement), the
    planning round's way; returns site id -> new task id. A site that has an active task
    of the kind already (another scheduler's, a person's: the unique index) is left out,
    not an error."""
    rows = [
        {
            "kind": kind,
            "site_id": site_id,
            "params": p,
            "status": QUEUED,
            "requested_by": None,
            "created_at": now,
        }
        for site_id, p in params.items()
    ]
    insert = upsert_insert(session.connection())
    made: dict[int, int] = {}
    for start in range(0, len(rows), 1000):
        stmt = insert(Task).values(rows[start : start + 1000]).on_conflict_do_nothing()
        for site_id, task_id in session.execute(stmt.returning(Task.site_id, Task.id)):
            made[int(site_id)] = int(task_id)
    return made


def set_job_ids(session: Session, job_ids: dict[int, int]) -> None:
    """Record each task's job (task id -> job id), in one executemany."""
    if job_ids:
        session.execute(update(Task), [{"id": t, "job_id": j} for t, j in job_ids.items()])


def _same_request(existing: Task, params: dict[str, Any]) -> Task:
    """``existing`` if it was asked for with ``params``; TaskConflict otherwise."""
    if (existing.params or {}) != params:
        raise TaskConflict(existing)
    return existing


def claim(
    conn: Connection, worker: str, now: datetime, limit: int, kinds: Collection[str]
) -> list[ClaimedTask]:
    """Claim up to ``limit`` of the oldest queued tasks of ``kinds`` for ``worker``."""
    if limit <= 0 or not kinds:
        return []
    queued = (
        select(Task.id)
        .where(Task.status == QUEUED, Task.kind.in_(list(kinds)))
        .order_by(Task.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        queued = queued.with_for_update(skip_locked=True)
    # Materialised, so the pick runs once: as a plain IN subquery PostgreSQL may re-run it
    # per row, and each re-run skips the rows this statement just updated and picks more.
    picked = queued.cte("picked").prefix_with("MATERIALIZED")
    stmt = (
        update(Task)
        .where(Task.id.in_(select(picked.c.id)), Task.status == QUEUED)
        .values(status=RUNNING, started_at=now, worker=worker)
        .returning(Task.id, Task.kind, Task.site_id, Task.params, Task.requested_by)
        .execution_options(synchronize_session=False)
    )
    claimed = [ClaimedTask(r[0], r[1], r[2], dict(r[3] or {}), r[4]) for r in conn.execute(stmt)]
    return sorted(claimed, key=lambda t: t.id)


def take(
    conn: Connection, task_id: int, job_id: int, worker: str, now: datetime, *, rerun: bool
) -> ClaimedTask | None:
    """Claim the task a job queue's job carries (``engine.dispatch``); None if not to run.

    Only the job recorded with the task may take it, and only while it is queued, or, for
    a job run again after its worker died (``rerun``), while that dead worker still holds
    it: a late duplicate of a job cannot run the task a second time.
    """
    allowed = [QUEUED, RUNNING] if rerun else [QUEUED]
    stmt = (
        update(Task)
        .where(Task.id == task_id, Task.job_id == job_id, Task.status.in_(allowed))
        .values(status=RUNNING, started_at=now, worker=worker)
        .returning(Task.id, Task.kind, Task.site_id, Task.params, Task.requested_by)
        .execution_options(synchronize_session=False)
    )
    row = conn.execute(stmt).first()
    return None if row is None else ClaimedTask(row[0], row[1], row[2], dict(row[3] or {}), row[4])


def fail_carried(conn: Connection, task_id: int, job_id: int, error: str, now: datetime) -> bool:
    """Fail a still active task whose job will not run it again (its worker died)."""
    stmt = (
        update(Task)
        .where(Task.id == task_id, Task.job_id == job_id, Task.status.in_([QUEUED, RUNNING]))
        .values(status=FAILED, error=error[:MAX_ERROR], finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return conn.execute(stmt).rowcount == 1


def sites_with_active(session: Session, kind: str, site_ids: Collection[int]) -> set[int]:
    """Those of ``site_ids`` with a task of ``kind`` queued or running (one query per
    thousand sites, where a planning round would ask per site)."""
    ordered = sorted(set(site_ids))
    found: set[int | None] = set()
    for start in range(0, len(ordered), 1000):
        found.update(
            session.scalars(
                select(Task.site_id).where(
                    Task.kind == kind,
                    Task.status.in_(ACTIVE),
                    Task.site_id.in_(ordered[start : start + 1000]),
                )
            )
        )
    return {i for i in found if i is not None}


def active_by_client(session: Session, kind: str) -> dict[int | None, int]:
    """How many tasks of ``kind`` each client has queued or running (by its sites)."""
    rows = session.execute(
        select(Site.client_id, func.count())
        .join(Task, Task.site_id == Site.id)
        .where(Task.kind == kind, Task.status.in_(ACTIVE))
        .group_by(Site.client_id)
    )
    return {client_id: int(n) for client_id, n in rows}


def finished_job_ids(session: Session, kind: str, site_id: int) -> list[int]:
    """Job ids of the site's finished tasks of ``kind`` (their jobs may still be waiting)."""
    return list(
        session.scalars(
            select(Task.job_id).where(
                Task.kind == kind,
                Task.site_id == site_id,
                Task.status.in_([OK, FAILED]),
                Task.job_id.is_not(None),
            )
        )
    )


def _close(conn: Connection, task_id: int, worker: str, **values: Any) -> bool:
    stmt = (
        update(Task)
        .where(Task.id == task_id, Task.status == RUNNING, Task.worker == worker)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return conn.execute(stmt).rowcount == 1


def finish(
    conn: Connection, task_id: int, worker: str, result: dict[str, Any], now: datetime
) -> bool:
    """Record a task's result; False if this worker no longer owns it."""
    return _close(conn, task_id, worker, status=OK, result=result, finished_at=now)


def fail(
    conn: Connection,
    task_id: int,
    worker: str,
    error: str,
    now: datetime,
    *,
    result: dict[str, Any] | None = None,
) -> bool:
    """Record a task's failure (with what it produced, if anything); False if not ours."""
    return _close(
        conn,
        task_id,
        worker,
        status=FAILED,
        error=error[:MAX_ERROR],
        result=result,
        finished_at=now,
    )


def mark_interrupted(conn: Connection, worker: str, now: datetime, error: str = INTERRUPTED) -> int:
    """Fail the tasks ``worker`` was running when it stopped; at start, before claiming.

    Not re-queued: an interrupted restore or backup may have half-happened,
    so a person decides whether to run it again.
    """
    stmt = (
        update(Task)
        .where(Task.status == RUNNING, Task.worker == worker)
        .values(status=FAILED, error=error, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return conn.execute(stmt).rowcount


def prune_finished(conn: Connection, before: datetime) -> int:
    """Delete tasks that finished before ``before``; what they did is in the journal."""
    stmt = delete(Task).where(Task.status.in_((OK, FAILED)), Task.finished_at < before)
    return conn.execute(stmt).rowcount


def get_task(session: Session, task_id: int) -> Task | None:
    """One task by id."""
    return session.get(Task, task_id)


@dataclass(frozen=True, slots=True)
class TaskFilter:
    """What a task listing narrows to (all None: every task)."""

    site_id: int | None = None
    status: str | None = None
    kind: str | None = None


def list_tasks(
    session: Session, flt: TaskFilter, *, offset: int = 0, limit: int = 50
) -> tuple[list[tuple[Task, str | None]], int]:
    """Tasks newest first with their site's name, and how many match in all."""
    conditions = []
    if flt.site_id is not None:
        conditions.append(Task.site_id == flt.site_id)
    if flt.status is not None:
        conditions.append(Task.status == flt.status)
    if flt.kind is not None:
        conditions.append(Task.kind == flt.kind)
    total = session.scalar(select(func.count()).select_from(Task).where(*conditions)) or 0
    rows = session.execute(
        select(Task, Site.name)
        .outerjoin(Site, Site.id == Task.site_id)
        .where(*conditions)
        .order_by(Task.id.desc())
        .offset(offset)
        .limit(limit)
    ).tuples()
    return list(rows), total

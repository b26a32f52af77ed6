"""The workers registry: serve processes register, heartbeat and say goodbye.

``sitekeeper workers`` and the dashboard read it. A process killed with -9 says no
goodbye: its row stays, and its silence (``domain.workers.liveness``) marks it gone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from sitekeeper.domain.workers import Liveness, liveness
from sitekeeper.store.task_tables import RUNNING, Task
from sitekeeper.store.worker_tables import WorkerProcess

# Rows of processes stopped or gone this long ago are dropped (the list stays short).
FORGET_AFTER = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Registration:
    """What a starting process says about itself."""

    host: str
    pid: int
    name: str
    role: str
    location: str
    queues: tuple[str, ...]
    version: str
    heartbeat_seconds: float


@dataclass(frozen=True, slots=True)
class WorkerView:
    """One process as ``sitekeeper workers`` shows it."""

    row: WorkerProcess
    liveness: Liveness
    jobs_running: int


def register(session: Session, who: Registration, now: datetime) -> int:
    """Record a starting process; its id, for the heartbeats."""
    row = WorkerProcess(
        host=who.host,
        pid=who.pid,
        name=who.name,
        role=who.role,
        location=who.location,
        queues=list(who.queues),
        version=who.version,
        schema_revision=",".join(sorted(schema_revisions(session))),
        started_at=now,
        heartbeat_at=now,
        heartbeat_seconds=who.heartbeat_seconds,
    )
    session.add(row)
    session.flush()
    session.execute(delete(WorkerProcess).where(WorkerProcess.heartbeat_at < now - FORGET_AFTER))
    return row.id


def heartbeat(session: Session, worker_id: int, now: datetime) -> set[str]:
    """This process is alive; the database's schema revisions, read in the same beat."""
    session.execute(
        update(WorkerProcess).where(WorkerProcess.id == worker_id).values(heartbeat_at=now)
    )
    return schema_revisions(session)


def schema_revisions(session: Session) -> set[str]:
    """The Alembic revisions the database is at."""
    return {str(r) for r in session.scalars(text("SELECT version_num FROM alembic_version"))}


def stopped(session: Session, worker_id: int, now: datetime) -> None:
    """This process stopped cleanly (it is then listed as stopped, not gone)."""
    session.execute(
        update(WorkerProcess)
        .where(WorkerProcess.id == worker_id)
        .values(heartbeat_at=now, stopped_at=now)
    )


def list_workers(
    session: Session, now: datetime, *, include_stopped: bool = False
) -> list[WorkerView]:
    """Every registered process, newest first, with how many jobs each runs now."""
    query = select(WorkerProcess).order_by(WorkerProcess.started_at.desc(), WorkerProcess.id.desc())
    if not include_stopped:
        query = query.where(WorkerProcess.stopped_at.is_(None))
    rows = list(session.scalars(query))
    running = _jobs_running(session)
    return [
        WorkerView(
            row,
            liveness(row.heartbeat_at, row.heartbeat_seconds, row.stopped_at, now),
            running.get(row.name, 0) or running.get(row.name.rsplit("/", 1)[0], 0),
        )
        for row in rows
    ]


def _jobs_running(session: Session) -> Counter[str]:
    """Jobs under way per worker name: procrastinate's ``doing`` jobs on PostgreSQL (the
    task row names the process that took it), the running task rows on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            text(
                "SELECT t.worker, count(*) FROM procrastinate_jobs j "
                "JOIN tasks t ON t.job_id = j.id "
                "WHERE j.status = 'doing' AND t.worker IS NOT NULL GROUP BY t.worker"
            )
        ).all()
    else:
        rows = session.execute(
            select(Task.worker, func.count())
            .where(Task.status == RUNNING, Task.worker.is_not(None))
            .group_by(Task.worker)
        ).all()
    return Counter({str(worker): int(count) for worker, count in rows})


def as_json(view: WorkerView) -> dict[str, object]:
    """The documented JSON shape of one process (``sitekeeper workers --json``)."""
    row = view.row
    return {
        "id": row.id,
        "name": row.name,
        "host": row.host,
        "pid": row.pid,
        "role": row.role,
        "location": row.location,
        "queues": list(row.queues),
        "version": row.version,
        "schema_revision": row.schema_revision,
        "started_at": row.started_at.isoformat(),
        "last_heartbeat": row.heartbeat_at.isoformat(),
        "silent_seconds": round(view.liveness.silent_for.total_seconds(), 1),
        "state": view.liveness.state,
        "jobs_running": view.jobs_running,
    }

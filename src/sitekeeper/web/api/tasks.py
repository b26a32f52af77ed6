"""/api/tasks: queued actions and their outcome; :func:`accept` queues one (202 + Location).

Actions (a check, a backup, an import) run in a worker, not in the request:
the API answers ``202 Accepted`` with the task, and the client polls
``GET /api/tasks/{id}`` until its status is ``ok`` or ``failed``. Staff only.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from sitekeeper.engine.tasks import validate_params
from sitekeeper.store import tasks as task_store
from sitekeeper.store.tables import Site
from sitekeeper.store.task_tables import Task
from sitekeeper.web.api.common import ERRORS, Db, Id, IdQuery, Page, PageNo, PerPage, meta
from sitekeeper.web.api.task_schemas import TaskOut
from sitekeeper.web.auth import Staff, Viewer, now

router = APIRouter(prefix="/api", tags=["tasks"], responses=ERRORS)

ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {
        "model": TaskOut,
        "description": "Queued (or already queued or running for this site): poll Location",
        "headers": {"Location": {"description": "/api/tasks/{id}", "schema": {"type": "string"}}},
    }
}


def task_out(task: Task, site: str | None) -> TaskOut:
    """The API shape of a task."""
    return TaskOut(
        id=task.id,
        kind=task.kind,
        site_id=task.site_id,
        site=site,
        params=task.params or {},
        status=task.status,
        result=task.result,
        error=task.error,
        requested_by=task.requested_by,
        created_at=task.created_at,
        started_at=task.started_at,
        finished_at=task.finished_at,
        worker=task.worker,
    )


def wake_worker(request: Request) -> None:
    """Tell this process's task runner (if it runs here) to claim now, not at its next poll."""
    wake = getattr(request.app.state, "wake_tasks", None)
    if callable(wake):
        wake()


def queue_task(
    request: Request,
    session: Session,
    who: Viewer,
    kind: str,
    *,
    site: Site | None,
    params: dict[str, Any],
) -> Task:
    """Validate the parameters, queue the task (or find the site's active one), wake a worker."""
    clean = validate_params(kind, params)
    task, _created = task_store.enqueue(
        session,
        kind,
        site_id=site.id if site is not None else None,
        params=clean,
        requested_by=who.user_id,
        now=now(),
    )
    session.commit()  # before the wake-up: the worker must see the row
    wake_worker(request)
    return task


def accepted(task: Task, site: Site | None) -> JSONResponse:
    """``202 Accepted`` with the task and where to follow it."""
    body = task_out(task, site.name if site is not None else None).model_dump(mode="json")
    return JSONResponse(body, status_code=202, headers={"Location": f"/api/tasks/{task.id}"})


def accept(
    request: Request,
    session: Session,
    who: Viewer,
    kind: str,
    *,
    site: Site | None,
    params: dict[str, Any] | None = None,
) -> JSONResponse:
    """Queue a task and answer 202 (the route handlers' one line)."""
    task = queue_task(request, session, who, kind, site=site, params=params or {})
    return accepted(task, site)


@router.get("/tasks", response_model=Page[TaskOut])
def list_tasks(
    *,
    session: Db,
    who: Staff,
    page: PageNo = 1,
    per_page: PerPage = 50,
    site_id: IdQuery = None,
    status: Annotated[str | None, Query(pattern="^(queued|running|ok|failed)$")] = None,
    kind: Annotated[str | None, Query(pattern="^[a-z][a-z0-9-]{0,31}$")] = None,
) -> Page[TaskOut]:
    """Tasks, newest first, optionally of one site, status or kind."""
    flt = task_store.TaskFilter(site_id=site_id, status=status, kind=kind)
    rows, total = task_store.list_tasks(session, flt, offset=(page - 1) * per_page, limit=per_page)
    return Page[TaskOut](
        items=[task_out(task, name) for task, name in rows], meta=meta(total, page, per_page)
    )


@router.get("/tasks/{task_id}", response_model=TaskOut)
def get_task(task_id: Id, session: Db, who: Staff) -> TaskOut:
    """One task: poll it until ``status`` is ``ok`` or ``failed``."""
    task = task_store.get_task(session, task_id)
    if task is None:
        raise HTTPException(404, f"no task {task_id}")
    site = session.get(Site, task.site_id) if task.site_id is not None else None
    return task_out(task, site.name if site is not None else None)

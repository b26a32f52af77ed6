"""/api/tasks: queued actions and their outcome; :func:`accept` queues one (202 + Location).

Actions (a check, a backup, an import) run in a worker, not in the request:
the API answers ``202 Accepted`` with the task, and the client polls
``GET /api/tasks/{id}`` until its status is ``ok`` or ``failed``. Staff only.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from sitekeeper.store import tasks as task_store
from sitekeeper.store.tables import Site
from sitekeeper.store.task_tables import Task
from sitekeeper.store.web_tables import User
from sitekeeper.web.api.common import ERRORS, Page, PageNo, PerPage, meta
from sitekeeper.web.api.task_schemas import TaskOut
from sitekeeper.web.auth import Staff, Viewer
from sitekeeper.web.common import Db, Id, IdQuery, queue_task

router = APIRouter(prefix="/api", tags=["tasks"], responses=ERRORS)


class TaskConflictDetail(BaseModel):
    """Why the action was refused, and the task of the same kind the site already has."""

    code: str
    message: str
    task: TaskOut
    requested_by_email: str | None = Field(description="Who asked for the task already there")


class TaskConflictBody(BaseModel):
    """409: the site has an active task of this kind with other parameters."""

    error: TaskConflictDetail


ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {
        "model": TaskOut,
        "description": "Queued (or the same request already queued or running): poll Location",
        "headers": {"Location": {"description": "/api/tasks/{id}", "schema": {"type": "string"}}},
    },
    409: {
        "model": TaskConflictBody,
        "description": "A task of this kind with other parameters is queued or running",
    },
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
    """Queue a task and answer 202 (the route handlers' one line), or 409 with the site's
    active task of the kind if that one was asked for with other parameters."""
    try:
        task = queue_task(request, session, who, kind, site=site, params=params or {})
    except task_store.TaskConflict as exc:
        return conflict(session, exc, site)
    return accepted(task, site)


def conflict(session: Session, exc: task_store.TaskConflict, site: Site | None) -> JSONResponse:
    """``409 Conflict`` with the task already there and who asked for it."""
    asker = session.get(User, exc.task.requested_by) if exc.task.requested_by else None
    detail = TaskConflictDetail(
        code="conflict",
        message=str(exc),
        task=task_out(exc.task, site.name if site is not None else None),
        requested_by_email=asker.email if asker is not None else None,
    )
    return JSONResponse(
        TaskConflictBody(error=detail).model_dump(mode="json"),
        status_code=409,
        headers={"Location": f"/api/tasks/{exc.task.id}"},
    )


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

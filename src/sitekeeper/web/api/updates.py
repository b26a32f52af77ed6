"""Safe updates over HTTP: start one (``sitekeeper update SITE …``, a queued task) and
follow a site's update runs step by step (the steps are stored as each one ends, so a
running run shows how far it got)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sitekeeper.engine.actions.updates import UpdateParams
from sitekeeper.store import updates as update_store
from sitekeeper.web.api.common import ERRORS
from sitekeeper.web.api.tasks import ACCEPTED, accept
from sitekeeper.web.auth import AnyUser, Staff
from sitekeeper.web.common import Db, Id, visible_site

router = APIRouter(prefix="/api", tags=["updates"], responses=ERRORS)


class UpdateStepOut(BaseModel):
    """One step of a run: what it checked or did, whether it passed, what was seen."""

    name: str
    ok: bool
    detail: str
    seconds: float


class UpdateRunOut(BaseModel):
    """One update run of a site (``update --json`` has the same steps)."""

    run_id: int
    status: str = Field(description="running, applied, rolled_back, failed, refused or interrupted")
    trigger: str = Field(description="manual or policy")
    requested_by: str | None
    items: list[dict[str, Any]] = Field(
        description="type, package, installed, target, security; sha256, url and "
        "checksum_source once the package was verified"
    )
    snapshot: str | None = Field(description="the safety snapshot's restic id")
    started_at: datetime
    finished_at: datetime | None
    error: str | None = Field(description="why it did not apply")
    steps: list[UpdateStepOut]


@router.post("/sites/{site_id}/updates", status_code=202, response_model=None, responses=ACCEPTED)
def start_update(
    *,
    site_id: Id,
    request: Request,
    session: Db,
    who: Staff,
    body: Annotated[UpdateParams, Body()],
) -> JSONResponse:
    """Update the site's core, plugins or themes now (``sitekeeper update SITE …``): a
    safety snapshot, the verified package, the CMS's own upgrader, the health check and
    the rollback if it fails. Follow it at ``/api/tasks/{id}`` and ``update-runs``."""
    site = visible_site(session, who, site_id)
    return accept(request, session, who, "update", site=site, params=body.model_dump())


@router.get("/sites/{site_id}/update-runs", response_model=list[UpdateRunOut])
def update_runs(
    *,
    site_id: Id,
    session: Db,
    who: AnyUser,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[UpdateRunOut]:
    """The site's latest update runs, newest first, with every step so far."""
    site = visible_site(session, who, site_id)
    return [
        UpdateRunOut(
            run_id=run.id,
            status=run.status,
            trigger=run.trigger,
            requested_by=run.requested_by,
            items=run.items,
            snapshot=run.snapshot_id,
            started_at=run.started_at,
            finished_at=run.finished_at,
            error=run.error,
            steps=[UpdateStepOut.model_validate(step) for step in run.steps],
        )
        for run in update_store.site_runs(session, site.id, limit)
    ]

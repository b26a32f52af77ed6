"""Safe updates over HTTP: start one (``sitekeeper update SITE …``, a queued task) and
follow a site's update runs step by step (the steps are stored as each one ends, so a
running run shows how far it got)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sitekeeper.engine.actions.updates import UpdateParams
from sitekeeper.store import update_approvals as queue
from sitekeeper.store import updates as update_store
from sitekeeper.store.sites import list_sites
from sitekeeper.updates.policy import schedule
from sitekeeper.web.api.common import ERRORS
from sitekeeper.web.api.tasks import ACCEPTED, accept
from sitekeeper.web.approvals import Seen, decide, open_approvals
from sitekeeper.web.auth import AnyUser, Staff, now
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
    status: str = Field(
        description="running, applied, needs_review (applied; the home page looks different), "
        "rolled_back, failed, refused or interrupted"
    )
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


class ApprovalOut(BaseModel):
    """An update waiting for a person (``sitekeeper approvals --json``)."""

    id: int
    site: str | None
    site_id: int
    type: str
    package: str
    installed: str = Field(serialization_alias="from")
    target: str = Field(serialization_alias="to")
    security: bool
    status: str = Field(description="pending or approved (applied by the next policy run)")
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    may_decide: bool = Field(description="whether the asking user may approve or reject it")


class HoldIn(BaseModel):
    """Keep the plan's policy away from one extension of the site."""

    type: str = Field(pattern=r"^(core|plugin|theme|component|module|template|library|package)$")
    package: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
    reason: str = Field(min_length=1, max_length=2000)


class HoldOut(HoldIn):
    """A hold, with who set it and when."""

    site_id: int
    held_by: str | None
    since: datetime


def _out(seen: Seen) -> ApprovalOut:
    approval = seen.approval
    return ApprovalOut(
        id=approval.id,
        site=seen.site.name,
        site_id=approval.site_id,
        type=approval.type,
        package=approval.package,
        installed=approval.installed,
        target=approval.target,
        security=approval.security,
        status=approval.status,
        requested_at=approval.requested_at,
        decided_by=approval.decided_by,
        decided_at=approval.decided_at,
        may_decide=seen.may_decide,
    )


class ScheduledOut(BaseModel):
    """An update a plan's policy (or an approval) will apply by itself."""

    site_id: int
    site: str
    type: str
    package: str
    installed: str = Field(serialization_alias="from")
    target: str = Field(serialization_alias="to")
    security: bool
    at: datetime = Field(description="when: now (the next policy run) or the window's opening")
    approval_id: int | None = Field(description="the approval behind it, if a person said yes")


@router.get("/scheduled-updates", response_model=list[ScheduledOut], response_model_by_alias=True)
def scheduled_updates(session: Db, who: AnyUser) -> list[ScheduledOut]:
    """What the policies will apply and when (a client's users see its own sites')."""
    scope = who.client_scope
    names = {s.id: s.name for s in list_sites(session, client_id=scope)}
    return [
        ScheduledOut(
            site_id=e.site_id,
            site=names[e.site_id],
            type=e.item.type,
            package=e.item.package,
            installed=e.item.installed,
            target=e.item.target,
            security=e.item.security,
            at=e.at,
            approval_id=e.approval,
        )
        for e in schedule(session, now(), client_id=scope).scheduled
    ]


@router.get("/approvals", response_model=list[ApprovalOut], response_model_by_alias=True)
def list_approvals(session: Db, who: AnyUser) -> list[ApprovalOut]:
    """Updates waiting for a person's yes or no (a client's users see its own sites')."""
    return [_out(seen) for seen in open_approvals(session, who)]


@router.post(
    "/approvals/{approval_id}/approve", response_model=ApprovalOut, response_model_by_alias=True
)
def approve(approval_id: Id, session: Db, who: AnyUser) -> ApprovalOut:
    """Approve: the next policy run applies exactly this version (safely, as ever)."""
    return _out(decide(session, who, approval_id, approve=True))


@router.post(
    "/approvals/{approval_id}/reject", response_model=ApprovalOut, response_model_by_alias=True
)
def reject(approval_id: Id, session: Db, who: AnyUser) -> ApprovalOut:
    """Reject: this version is not asked again (a newer release is)."""
    return _out(decide(session, who, approval_id, approve=False))


@router.get("/sites/{site_id}/holds", response_model=list[HoldOut])
def site_holds(site_id: Id, session: Db, who: Staff) -> list[HoldOut]:
    """The extensions of the site the plan's policy keeps away from."""
    site = visible_site(session, who, site_id)
    return [
        HoldOut(
            site_id=h.site_id,
            type=h.type,
            package=h.package,
            reason=h.reason,
            held_by=h.held_by,
            since=h.created_at,
        )
        for h in queue.holds(session, [site.id])
    ]


@router.put("/sites/{site_id}/holds", response_model=HoldOut)
def put_hold(site_id: Id, session: Db, who: Staff, body: Annotated[HoldIn, Body()]) -> HoldOut:
    """Hold one extension back from the plan's policy (the reason replaced if held)."""
    site = visible_site(session, who, site_id)
    held = queue.hold(
        session,
        site.id,
        (body.type, body.package),
        reason=body.reason,
        who=f"user:{who.user_id}",
        now=now(),
    )
    return HoldOut(
        site_id=held.site_id,
        type=held.type,
        package=held.package,
        reason=held.reason,
        held_by=held.held_by,
        since=held.created_at,
    )


@router.delete("/sites/{site_id}/holds/{type_}/{package}", status_code=204)
def delete_hold(site_id: Id, type_: str, package: str, session: Db, who: Staff) -> Response:
    """Lift a hold (404 if there is none)."""
    site = visible_site(session, who, site_id)
    if not queue.release(session, site.id, (type_, package)):
        raise HTTPException(404, "no such hold")
    return Response(status_code=204)

"""The fleet's updates page: what waits for approval (with Approve and Reject where the
viewer may decide: staff; a client's users if its plan allows), what the policies will
apply and when, the latest update runs across the sites, and the holds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sitekeeper.store import update_approvals as queue
from sitekeeper.store import updates as update_store
from sitekeeper.store.sites import list_sites
from sitekeeper.updates.policy import schedule
from sitekeeper.web.approvals import decide, open_approvals, visible_approval
from sitekeeper.web.auth import AnyUser, now
from sitekeeper.web.common import Db, Id
from sitekeeper.web.ui.render import page

router = APIRouter(include_in_schema=False)


@router.get("/updates")
def updates_page(request: Request, session: Db, who: AnyUser) -> HTMLResponse:
    """Waiting approvals, the latest runs and the holds of the sites the viewer may see."""
    scope = who.client_scope
    sites = {s.id: s.name for s in list_sites(session, client_id=scope)}
    return page(
        request,
        "updates.html",
        who,
        approvals=open_approvals(session, who),
        runs=update_store.recent_runs(session, scope),
        holds=[(h, sites[h.site_id]) for h in queue.holds(session, list(sites))],
        scheduled=[
            (entry, sites[entry.site_id])
            for entry in schedule(session, now(), client_id=scope).scheduled
        ],
        moment=now(),
    )


@router.post("/approvals/{approval_id}")
def decide_approval(
    *,
    approval_id: Id,
    session: Db,
    who: AnyUser,
    decision: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Approve or reject from the page; back to the list."""
    visible_approval(session, who, approval_id)  # someone else's: it does not exist
    if decision not in ("approve", "reject"):
        raise HTTPException(400, "decide approve or reject")
    decide(session, who, approval_id, approve=decision == "approve")
    return RedirectResponse("/updates#approvals", status_code=303)

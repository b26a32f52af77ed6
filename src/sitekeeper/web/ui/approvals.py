"""The approvals page: updates the plans' policies leave to a person, with Approve and
Reject where the viewer may decide (staff; a client's users if its plan allows)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sitekeeper.web.approvals import decide, open_approvals, visible_approval
from sitekeeper.web.auth import AnyUser, now
from sitekeeper.web.common import Db, Id
from sitekeeper.web.ui.render import page

router = APIRouter(include_in_schema=False)


@router.get("/approvals")
def approvals_page(request: Request, session: Db, who: AnyUser) -> HTMLResponse:
    """Every open approval the viewer may see, oldest first."""
    return page(
        request, "approvals.html", who, approvals=open_approvals(session, who), moment=now()
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
    return RedirectResponse("/approvals", status_code=303)

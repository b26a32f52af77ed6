"""Update approvals as the pages and the API both show and decide them: which a viewer
sees (a client's users: their own sites'), and who may decide (staff always; a client's
users when the site's plan lets clients approve updates)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException
from sqlalchemy.orm import Session

from sitekeeper.store import update_approvals as queue
from sitekeeper.store.backups import plan_options
from sitekeeper.store.tables import Site
from sitekeeper.store.update_tables import UpdateApproval
from sitekeeper.web.auth import Viewer, now
from sitekeeper.web.common import visible_site


@dataclass(frozen=True, slots=True)
class Seen:
    """One approval as a viewer sees it."""

    approval: UpdateApproval
    site: Site
    may_decide: bool


def may_decide(who: Viewer, site: Site) -> bool:
    """Staff always; a client's own user when the site's plan lets clients approve."""
    if who.is_staff:
        return True
    options = plan_options(site)
    return bool(options and options.client_approves_updates and site.client_id == who.client_id)


def open_approvals(session: Session, who: Viewer) -> list[Seen]:
    """The open approvals of the sites this viewer may see, oldest first."""
    seen = []
    for approval in queue.approvals(session):
        site = session.get(Site, approval.site_id)
        if site is not None and who.client_scope in (None, site.client_id):
            seen.append(Seen(approval, site, may_decide(who, site)))
    return seen


def visible_approval(session: Session, who: Viewer, approval_id: int) -> Seen:
    """The approval if the viewer may see its site; 404 otherwise (whether or not it exists)."""
    approval = session.get(UpdateApproval, approval_id)
    if approval is None:
        raise HTTPException(404, "no such approval")
    site = visible_site(session, who, approval.site_id)
    return Seen(approval, site, may_decide(who, site))


def decide(session: Session, who: Viewer, approval_id: int, *, approve: bool) -> Seen:
    """Approve or reject; 404 if the viewer may not see it, 403 if it may not decide."""
    seen = visible_approval(session, who, approval_id)
    approval, site = seen.approval, seen.site
    if not seen.may_decide:
        raise HTTPException(403, "the site's plan leaves update approvals to the agency")
    queue.decide(session, approval_id, approve=approve, who=f"user:{who.user_id}", now=now())
    return Seen(approval, site, True)

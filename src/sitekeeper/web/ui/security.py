"""The site page's Security panel: open hack-detection and exposure findings, and
acknowledging a false positive ("this file is ours") or undoing that.

Only staff acknowledge: a client user sees the panel and who acknowledged what and why,
but has no button (and the routes answer 404 to it, as every staff route does). The store
(``store.finding_acks``) journals both with who; the reason is required.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from sitekeeper.domain.compromise import SECURITY_KINDS
from sitekeeper.engine.tasks import handler_kinds
from sitekeeper.store import finding_acks
from sitekeeper.store.intel_tables import Finding
from sitekeeper.store.site_findings import site_findings
from sitekeeper.web.auth import Staff, Viewer, now
from sitekeeper.web.common import Db, Id, visible_finding, visible_site

router = APIRouter(include_in_schema=False)
SHOWN = 200  # findings on the page; a mass-hacked site's rest are in the API and the CLI
# The panel's buttons, shown when this sitekeeper has the task kind (the scans are plugins).
SCANS = {"scan": "Scan now", "probe-content": "Check content now"}


def available_scans() -> dict[str, str]:
    """The scans this sitekeeper can run (task kind -> button label)."""
    known = set(handler_kinds())
    return {kind: label for kind, label in SCANS.items() if kind in known}


def security_context(session: Session, site_id: int) -> dict[str, Any]:
    """What the Security panel shows: open findings worst first, the acknowledgements, and
    which scans can be started from here."""
    shown, total = site_findings(session, site_id, SECURITY_KINDS, per_page=SHOWN)
    return {
        "security": shown,
        "security_total": total,
        "acknowledged": finding_acks.acknowledgements(session, site_id),
        "scans": available_scans(),
    }


def _finding_of(session: Session, who: Viewer, site_id: int, finding_id: int) -> Finding:
    site = visible_site(session, who, site_id)
    finding = visible_finding(session, who, finding_id)
    if finding.site_id != site.id:
        raise HTTPException(404, f"no finding {finding_id} on this site")
    return finding


@router.post("/sites/{site_id}/findings/{finding_id}/acknowledge")
def acknowledge(
    *,
    site_id: Id,
    finding_id: Id,
    session: Db,
    who: Staff,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """ "Acknowledge" on a finding's row: quiet until its evidence changes, who and why
    journaled."""
    finding = _finding_of(session, who, site_id, finding_id)
    try:
        finding_acks.acknowledge(session, finding, reason, who.email, now())
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return RedirectResponse(f"/sites/{site_id}#security", status_code=303)


@router.post("/sites/{site_id}/findings/{finding_id}/undo")
def undo(*, site_id: Id, finding_id: Id, session: Db, who: Staff) -> Response:
    """ "Undo" on an acknowledgement: it is deleted (journaled) and the finding counts again."""
    finding = _finding_of(session, who, site_id, finding_id)
    if not finding_acks.undo(session, finding, who.email, now()):
        raise HTTPException(404, "this finding is not acknowledged")
    return RedirectResponse(f"/sites/{site_id}#security", status_code=303)

"""/api/findings/{id}/acknowledge: a false positive acknowledged ("this file is ours") or
the acknowledgement undone, and a site's acknowledgements listed.

Staff only for the changes (a client user gets 404, as for every staff route); both are
journaled with who (and why: the reason is required). The finding stays quiet until its
evidence digest changes (``store.finding_acks``).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, Field

from sitekeeper.store import finding_acks
from sitekeeper.web.api.common import ERRORS
from sitekeeper.web.auth import AnyUser, Staff, now
from sitekeeper.web.common import Db, Id, visible_finding, visible_site

router = APIRouter(prefix="/api", tags=["findings"], responses=ERRORS)


class AcknowledgeIn(BaseModel):
    """Why the finding is not a problem (journaled with who said so)."""

    reason: str = Field(min_length=1, max_length=500)


class AcknowledgementOut(BaseModel):
    """One acknowledgement (``sitekeeper findings SITE --acknowledged --json`` has these)."""

    id: int
    finding_id: int | None = Field(description="The newest finding of its key (undo names it)")
    kind: str | None
    package: str | None
    title: str | None
    digest: str = Field(description="The evidence it holds for: a change reopens the finding")
    reason: str
    by: str
    at: datetime
    open_again: bool = Field(description="The evidence changed since: the finding is open")


def acknowledgement_out(a: finding_acks.Acknowledged) -> AcknowledgementOut:
    """The API shape of one acknowledgement."""
    return AcknowledgementOut(**a.to_json())


@router.post(
    "/findings/{finding_id}/acknowledge", response_model=AcknowledgementOut, status_code=201
)
def acknowledge(finding_id: Id, body: AcknowledgeIn, session: Db, who: Staff) -> AcknowledgementOut:
    """Acknowledge an open finding as a false positive: it resolves and stays quiet while
    its evidence keeps the same digest (400: it has no digest, or no reason was given)."""
    finding = visible_finding(session, who, finding_id)
    try:
        finding_acks.acknowledge(session, finding, body.reason, who.email, now())
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    shown = finding_acks.acknowledgements(session, finding.site_id)
    return acknowledgement_out(next(a for a in shown if a.finding_id == finding.id))


@router.delete("/findings/{finding_id}/acknowledge", status_code=204)
def undo(finding_id: Id, session: Db, who: Staff) -> Response:
    """Undo an acknowledgement: deleted (journaled), the finding counts again (404: it was
    not acknowledged)."""
    finding = visible_finding(session, who, finding_id)
    if not finding_acks.undo(session, finding, who.email, now()):
        raise HTTPException(404, f"finding {finding_id} is not acknowledged")
    return Response(status_code=204)


@router.get("/sites/{site_id}/acknowledgements", response_model=list[AcknowledgementOut])
def acknowledgements(site_id: Id, session: Db, who: AnyUser) -> list[AcknowledgementOut]:
    """The site's acknowledged findings, newest first: what, by whom, why, when."""
    site = visible_site(session, who, site_id)
    return [acknowledgement_out(a) for a in finding_acks.acknowledgements(session, site.id)]

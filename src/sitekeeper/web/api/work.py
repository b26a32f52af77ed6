"""/api/work: the work log (``sitekeeper work``). Staff log and remove entries; a client
user reads its own client's."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, Field

from sitekeeper.domain.work import MAX_MINUTES, MAX_NOTE
from sitekeeper.reports.period import month
from sitekeeper.store import work_log
from sitekeeper.store.work_tables import WorkEntry
from sitekeeper.timezones import zone
from sitekeeper.web.api.common import ERRORS
from sitekeeper.web.auth import AnyUser, Staff, now
from sitekeeper.web.common import Db, Id, IdQuery, visible_client, visible_site

router = APIRouter(prefix="/api", tags=["work"], responses=ERRORS)


class WorkIn(BaseModel):
    """One entry: on a site (its client is implied) or for a client as a whole."""

    site_id: int | None = Field(default=None, ge=1, description="the site worked on")
    client_id: int | None = Field(default=None, ge=1, description="the client, without a site")
    minutes: int = Field(ge=1, le=MAX_MINUTES)
    note: str = Field(min_length=1, max_length=MAX_NOTE, description="what was done")
    date: dt.date | None = Field(default=None, description="default: today, the client's zone")
    by: str | None = Field(default=None, max_length=200, description="default: you")


class WorkOut(BaseModel):
    """One entry (``sitekeeper work list --json`` has the same fields)."""

    id: int
    client_id: int
    client: str | None
    site_id: int | None
    site: str | None
    date: dt.date
    minutes: int
    note: str
    by: str
    created_at: dt.datetime


def _out(entry: WorkEntry, clients: dict[int, str], sites: dict[int, str]) -> WorkOut:
    return WorkOut(
        id=entry.id,
        client_id=entry.client_id,
        client=clients.get(entry.client_id),
        site_id=entry.site_id,
        site=sites.get(entry.site_id) if entry.site_id is not None else None,
        date=entry.day,
        minutes=entry.minutes,
        note=entry.note,
        by=entry.by,
        created_at=entry.created_at,
    )


@router.get("/work", response_model=list[WorkOut])
def list_work(
    *,
    session: Db,
    who: AnyUser,
    client_id: IdQuery = None,
    site_id: IdQuery = None,
    period: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")] = None,
) -> list[WorkOut]:
    """Logged work by date (of a client, a site, a month); a client user sees its own."""
    scope = who.client_scope
    if client_id is not None:
        visible_client(session, who, client_id)
    clients = [client_id] if client_id is not None else ([scope] if scope is not None else None)
    sites = [visible_site(session, who, site_id).id] if site_id is not None else None
    dates = month(period, "UTC") if period else None  # entries carry the client's dates
    found = work_log.entries(
        session,
        client_ids=clients,
        site_ids=sites,
        first=dates.first if dates else None,
        last=dates.last if dates else None,
    )
    client_names, site_names = work_log.names(session, found)
    return [_out(e, client_names, site_names) for e in found]


@router.post("/work", response_model=WorkOut, status_code=201)
def add_work(body: WorkIn, session: Db, who: Staff) -> WorkOut:
    """Log work done by hand for a client, on one of its sites or on the whole."""
    site = visible_site(session, who, body.site_id) if body.site_id is not None else None
    if site is not None:
        if site.client is None or body.client_id not in (None, site.client_id):
            raise HTTPException(422, "the site is not that client's")
        client = site.client
    elif body.client_id is not None:
        client = visible_client(session, who, body.client_id)
    else:
        raise HTTPException(422, "give site_id or client_id")
    moment = now()
    entry = work_log.add_entry(
        session,
        client=client,
        site=site,
        day=body.date or moment.astimezone(zone(client.timezone)).date(),
        minutes=body.minutes,
        note=body.note,
        by=body.by or who.email,
        now=moment,
    )
    return _out(entry, *work_log.names(session, [entry]))


@router.delete("/work/{entry_id}", status_code=204)
def delete_work(entry_id: Id, session: Db, who: Staff) -> Response:
    """Remove an entry logged by mistake."""
    work_log.remove_entry(session, work_log.get_entry(session, entry_id))
    return Response(status_code=204)

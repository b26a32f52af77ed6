"""Named queries for the work log: add, list and remove entries of work done by hand."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sitekeeper.domain.work import checked
from sitekeeper.errors import NotFound, UsageError
from sitekeeper.store.tables import Client, Site
from sitekeeper.store.work_tables import WorkEntry


def add_entry(
    session: Session,
    *,
    client: Client,
    site: Site | None,
    day: date,
    minutes: int,
    note: str,
    by: str,
    now: datetime,
) -> WorkEntry:
    """One entry for the client (on one of its sites, or on the whole); flushed."""
    if site is not None and site.client_id != client.id:
        raise UsageError(f"site {site.name!r} is not {client.name!r}'s")
    fields = checked(day=day, minutes=minutes, note=note, by=by)
    entry = WorkEntry(
        client_id=client.id,
        site_id=site.id if site is not None else None,
        day=fields.day,
        minutes=fields.minutes,
        note=fields.note,
        by=fields.by,
        created_at=now,
    )
    session.add(entry)
    session.flush()
    return entry


def entries(
    session: Session,
    *,
    client_ids: Collection[int] | None = None,
    site_ids: Collection[int] | None = None,
    first: date | None = None,
    last: date | None = None,
) -> list[WorkEntry]:
    """Entries (of these clients, on these sites, from ``first`` to ``last`` inclusive), by
    day then id."""
    query = select(WorkEntry).order_by(WorkEntry.day, WorkEntry.id)
    if client_ids is not None:
        query = query.where(WorkEntry.client_id.in_(list(client_ids)))
    if site_ids is not None:
        query = query.where(WorkEntry.site_id.in_(list(site_ids)))
    if first is not None:
        query = query.where(WorkEntry.day >= first)
    if last is not None:
        query = query.where(WorkEntry.day <= last)
    return list(session.scalars(query))


def get_entry(session: Session, entry_id: int) -> WorkEntry:
    """One entry; NotFound if there is none."""
    entry = session.get(WorkEntry, entry_id)
    if entry is None:
        raise NotFound(f"no work entry {entry_id}")
    return entry


def remove_entry(session: Session, entry: WorkEntry) -> None:
    """Delete an entry (a mistake; the log is the agency's, not an audit trail)."""
    session.delete(entry)
    session.flush()


def names(session: Session, found: Collection[WorkEntry]) -> tuple[dict[int, str], dict[int, str]]:
    """The client and site names the entries refer to, by id (two queries for a list)."""
    client_ids = {e.client_id for e in found}
    site_ids = {e.site_id for e in found if e.site_id is not None}
    clients = session.execute(select(Client.id, Client.name).where(Client.id.in_(client_ids)))
    sites = session.execute(select(Site.id, Site.name).where(Site.id.in_(site_ids)))
    return dict(clients.tuples().all()), dict(sites.tuples().all())

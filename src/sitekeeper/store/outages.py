"""Sites' confirmed outages as stored: their "down" incidents, for counting down time
(``domain.outages``) in the daily roll-up, the days read from raw results and the charts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Connection, Select, or_, select

from sitekeeper.domain.incidents import IncidentKind
from sitekeeper.domain.outages import Outages, Span
from sitekeeper.store.tables import Incident, Site


def _ms(at: datetime) -> int:
    """Epoch ms as raw check rows carry them (``store.monitoring.store_raw``)."""
    return int(at.timestamp() * 1000)


def outages_between(
    conn: Connection, site_ids: Iterable[int] | Select[tuple[int]], start_ms: int, end_ms: int
) -> dict[int, Outages]:
    """The "down" incidents of these sites open at some moment in ``[start_ms, end_ms)``,
    per site (sites without one are absent), each site's own: opened since its creation
    (as ``store.history.incidents`` reads them)."""
    start = datetime.fromtimestamp(start_ms / 1000, UTC)
    end = datetime.fromtimestamp(end_ms / 1000, UTC)
    ids = site_ids if isinstance(site_ids, Select) else sorted(set(site_ids))
    rows = conn.execute(
        select(Incident.site_id, Incident.opened_at, Incident.closed_at)
        .join(Site, Site.id == Incident.site_id)
        .where(
            Incident.kind == IncidentKind.DOWN.value,
            Incident.site_id.in_(ids),
            Incident.opened_at >= Site.created_at,
            Incident.opened_at < end,
            or_(Incident.closed_at.is_(None), Incident.closed_at > start),
        )
    ).tuples()
    spans: dict[int, list[Span]] = {}
    for site_id, opened, closed in rows:
        spans.setdefault(site_id, []).append(
            (_ms(opened), _ms(closed) if closed is not None else None)
        )
    return {site_id: Outages(found) for site_id, found in spans.items()}

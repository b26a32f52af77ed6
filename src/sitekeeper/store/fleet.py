"""The fleet view: every site's latest state and open incidents, one page at a time.

One query per page (LIMIT/OFFSET, the total by a window function) plus one for
that page's tags, whatever the fleet's size: the dashboard polls it every few
seconds for thousands of sites.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session

from sitekeeper.domain.incidents import IncidentKind
from sitekeeper.store.tables import CheckRaw, Client, Incident, Site, SiteState, SiteTag

State = Literal["down", "tls", "unknown", "up", "paused"]
STATES: tuple[State, ...] = ("down", "tls", "unknown", "up", "paused")
SORTS = ("problems", "name", "client", "response", "tls", "cms", "checked")
TLS_SOON_DAYS = 14


@dataclass(frozen=True, slots=True)
class FleetFilter:
    """What the user narrowed the fleet to; ``client_id`` is forced for client users."""

    client_id: int | None = None
    tag: str | None = None
    state: str | None = None  # one of STATES or "problems"
    text: str | None = None
    site_id: int | None = None


@dataclass(slots=True)
class FleetRow:
    """One site as the fleet table shows it."""

    site_id: int
    name: str
    url: str
    client_id: int | None
    client_name: str | None
    cms: str | None
    cms_version: str | None
    paused: bool
    up: bool | None
    checked_at: datetime | None
    status: int | None
    error: str | None
    detail: str | None
    response_ms: int | None
    tls_expires: datetime | None
    down_since: datetime | None
    open_incidents: int
    state: State
    tags: list[str] = field(default_factory=list)

    def tls_days_left(self, now: datetime) -> int | None:
        """Whole days until the certificate expires (negative once expired)."""
        if self.tls_expires is None:
            return None
        return (self.tls_expires - now).days


@dataclass(frozen=True, slots=True)
class FleetPage:
    """A page of rows and the total matching the filter."""

    rows: list[FleetRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the filter has (at least one)."""
        return max(1, -(-self.total // self.per_page))


def _open_incidents() -> Any:
    """Per site: when the open down incident started, whether a TLS one is open, how many."""
    return (
        select(
            Incident.site_id.label("site_id"),
            func.min(case((Incident.kind == str(IncidentKind.DOWN), Incident.opened_at))).label(
                "down_since"
            ),
            func.max(case((Incident.kind == str(IncidentKind.TLS_EXPIRING), 1), else_=0)).label(
                "tls_open"
            ),
            func.count().label("open_count"),
        )
        .where(Incident.closed_at.is_(None))
        .group_by(Incident.site_id)
        .subquery("open_inc")
    )


def _rank(inc: Any, soon: datetime) -> ColumnElement[int]:
    """0 down, 1 certificate problem, 2 never checked, 3 up, 4 paused: problems sort first."""
    return case(
        (Site.paused.is_(True), 4),
        (or_(SiteState.up.is_(False), inc.c.down_since.is_not(None)), 0),
        (or_(inc.c.tls_open == 1, SiteState.tls_expires <= soon), 1),
        (SiteState.up.is_(None), 2),
        else_=3,
    )


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filters(flt: FleetFilter, rank: ColumnElement[int]) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if flt.site_id is not None:
        conditions.append(Site.id == flt.site_id)
    if flt.client_id is not None:
        conditions.append(Site.client_id == flt.client_id)
    if flt.tag:
        conditions.append(
            exists().where(and_(SiteTag.site_id == Site.id, SiteTag.tag == flt.tag.strip()))
        )
    if flt.state in STATES:
        conditions.append(rank == STATES.index(flt.state))
    elif flt.state == "problems":
        conditions.append(rank < 3)
    if flt.text and flt.text.strip():
        pattern = _like(flt.text.strip())
        conditions.append(
            or_(
                func.lower(Site.name).like(pattern, escape="\\"),
                func.lower(Site.url).like(pattern, escape="\\"),
                func.lower(Client.name).like(pattern, escape="\\"),
            )
        )
    return conditions


def _order(sort: str, descending: bool, rank: ColumnElement[int], inc: Any) -> list[Any]:
    def d(col: Any) -> Any:
        return col.desc() if descending else col.asc()

    # NULLs always last, spelled portably (SQLite and PostgreSQL disagree on the default).
    def nulls_last(col: Any) -> list[Any]:
        return [col.is_(None), d(col)]

    by = {
        "name": [d(Site.name)],
        "client": [*nulls_last(Client.name), Site.name],
        "response": [*nulls_last(SiteState.response_ms), Site.name],
        "tls": [*nulls_last(SiteState.tls_expires), Site.name],
        "cms": [*nulls_last(Site.cms), *nulls_last(Site.cms_version), Site.name],
        "checked": [*nulls_last(SiteState.checked_at), Site.name],
    }
    if sort in by:
        return by[sort]
    return [d(rank), inc.c.down_since.is_(None), inc.c.down_since.asc(), Site.name]


def fleet_page(
    session: Session,
    flt: FleetFilter,
    now: datetime,
    *,
    sort: str = "problems",
    descending: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> FleetPage:
    """One page of the fleet, problems first by default; total by ``count(*) over ()``."""
    per_page = max(1, min(per_page, 500))
    page = max(1, page)
    inc = _open_incidents()
    rank = _rank(inc, now + timedelta(days=TLS_SOON_DAYS))
    stmt = (
        select(
            Site.id,
            Site.name,
            Site.url,
            Site.client_id,
            Client.name,
            Site.cms,
            Site.cms_version,
            Site.paused,
            SiteState.up,
            SiteState.checked_at,
            SiteState.status,
            SiteState.error,
            SiteState.detail,
            SiteState.response_ms,
            SiteState.tls_expires,
            inc.c.down_since,
            func.coalesce(inc.c.open_count, literal(0, Integer)),
            rank.label("rank"),
            func.count().over().label("total"),
        )
        .outerjoin(SiteState, SiteState.site_id == Site.id)
        .outerjoin(Client, Client.id == Site.client_id)
        .outerjoin(inc, inc.c.site_id == Site.id)
        .where(*_filters(flt, rank))
        .order_by(*_order(sort, descending, rank, inc), Site.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    rows: list[FleetRow] = []
    total = 0
    for r in session.execute(stmt):
        total = int(r[18])
        rows.append(
            FleetRow(
                site_id=r[0],
                name=r[1],
                url=r[2],
                client_id=r[3],
                client_name=r[4],
                cms=r[5],
                cms_version=r[6],
                paused=bool(r[7]),
                up=r[8],
                checked_at=r[9],
                status=r[10],
                error=r[11],
                detail=r[12],
                response_ms=r[13],
                tls_expires=r[14],
                down_since=_aware(r[15]),
                open_incidents=int(r[16]),
                state=STATES[int(r[17])],
            )
        )
    if not rows and page > 1:
        total = count_sites(session, flt, now)
    _attach_tags(session, rows)
    return FleetPage(rows, total, page, per_page)


def _aware(value: datetime | str | None) -> datetime | None:
    """An aggregate (min) loses the column type on SQLite; give it back its UTC zone."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def count_sites(session: Session, flt: FleetFilter, now: datetime) -> int:
    """How many sites match (for a page past the end, where the window count is absent)."""
    inc = _open_incidents()
    rank = _rank(inc, now + timedelta(days=TLS_SOON_DAYS))
    stmt = (
        select(func.count())
        .select_from(Site)
        .outerjoin(SiteState, SiteState.site_id == Site.id)
        .outerjoin(Client, Client.id == Site.client_id)
        .outerjoin(inc, inc.c.site_id == Site.id)
        .where(*_filters(flt, rank))
    )
    return int(session.scalar(stmt) or 0)


def _attach_tags(session: Session, rows: Sequence[FleetRow]) -> None:
    if not rows:
        return
    by_id = {r.site_id: r for r in rows}
    for site_id, tag in session.execute(
        select(SiteTag.site_id, SiteTag.tag)
        .where(SiteTag.site_id.in_(list(by_id)))
        .order_by(SiteTag.tag)
    ):
        by_id[site_id].tags.append(tag)


def state_counts(session: Session, client_id: int | None, now: datetime) -> dict[str, int]:
    """Sites per state (for the summary tiles), optionally of one client."""
    inc = _open_incidents()
    rank = _rank(inc, now + timedelta(days=TLS_SOON_DAYS)).label("rank")
    stmt = (
        select(rank, func.count())
        .select_from(Site)
        .outerjoin(SiteState, SiteState.site_id == Site.id)
        .outerjoin(inc, inc.c.site_id == Site.id)
        .group_by(rank)
    )
    if client_id is not None:
        stmt = stmt.where(Site.client_id == client_id)
    counts: dict[str, int] = dict.fromkeys(STATES, 0)
    for value, count in session.execute(stmt):
        counts[STATES[int(value)]] = int(count)
    return counts


def all_tags(session: Session, client_id: int | None) -> list[str]:
    """Every tag in use (of one client's sites), for the filter's choices."""
    stmt = select(SiteTag.tag).distinct().order_by(SiteTag.tag)
    if client_id is not None:
        stmt = stmt.join(Site, Site.id == SiteTag.site_id).where(Site.client_id == client_id)
    return list(session.scalars(stmt))


def recent_checks(
    session: Session, site_id: int, since: datetime
) -> list[tuple[datetime, bool, int | None]]:
    """Raw results of one site since ``since``, oldest first (for the 24-hour chart)."""

    rows = session.execute(
        select(CheckRaw.ts_ms, CheckRaw.up, CheckRaw.response_ms)
        .where(CheckRaw.site_id == site_id, CheckRaw.ts_ms >= int(since.timestamp() * 1000))
        .order_by(CheckRaw.ts_ms)
    )
    return [(datetime.fromtimestamp(ts / 1000, UTC), bool(up), ms) for ts, up, ms in rows]

"""The fleet view: every site's latest state and open incidents, one page at a time.

One query per page (LIMIT/OFFSET, the total by a window function) plus one for
that page's tags, whatever the fleet's size: the dashboard polls it every few
seconds for thousands of sites. Open findings and backup runs arrive as
per-site aggregates joined into that one query, so sorting and "problems
first" see every site, not just the page.

Over 400 lines because the page query is built from every sort and filter option, and
its parts only make sense together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple

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

from sitekeeper.domain.outages import DAY_MS, NONE, counted_up
from sitekeeper.store.locations import shown
from sitekeeper.store.outages import outages_between
from sitekeeper.store.tables import (
    CheckRaw,
    Client,
    Contract,
    Plan,
    Site,
    SiteState,
    SiteSummary,
    SiteTag,
)

State = Literal["compromised", "down", "tls", "unknown", "up", "paused"]
# In rank order. "compromised" (open signs of a hack, ``domain.compromise``) comes first:
# a hacked site that answers is worse than one that is down.
STATES: tuple[State, ...] = ("compromised", "down", "tls", "unknown", "up", "paused")
_PAUSED = STATES.index("paused")
SORTS = (
    "problems",
    "name",
    "client",
    "response",
    "tls",
    "cms",
    "checked",
    "updates",
    "vulns",
    "backup",
)
# What a site needs attention for, besides its state (the fleet's "Issue" filter).
ISSUES = ("updates", "security", "vulns", "backup")
TLS_SOON_DAYS = 14


@dataclass(frozen=True, slots=True)
class FleetFilter:
    """What the user narrowed the fleet to; ``client_id`` is forced for client users."""

    client_id: int | None = None
    tag: str | None = None
    state: str | None = None  # one of STATES or "problems"
    text: str | None = None
    site_id: int | None = None
    issue: str | None = None  # one of ISSUES
    cms: str | None = None


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
    compromised: int = 0  # open findings that are signs of a hack
    updates: int = 0
    security_updates: int = 0
    vulns: int = 0
    last_backup_at: datetime | None = None
    backup_failed: bool = False
    backup_expected: bool = False
    contract_id: int | None = None
    tags: list[str] = field(default_factory=list)

    @property
    def backup_problem(self) -> bool:
        """The last backup failed, or the plan wants backups and there is no good one."""
        return self.backup_failed or (self.backup_expected and self.last_backup_at is None)

    @property
    def at_risk(self) -> bool:
        """Up, but with a known vulnerability or no usable backup: a problem after down."""
        return self.vulns > 0 or self.backup_problem

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
    # Sites per issue among all that match the filter (not just this page).
    issues: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ISSUES, 0))

    @property
    def pages(self) -> int:
        """How many pages the filter has (at least one)."""
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True, slots=True)
class _Parts:
    """The summary's columns (zero for a site without a row) and the expressions built on them."""

    down_since: Any
    tls_incident: Any
    open_incidents: ColumnElement[int]
    updates: ColumnElement[int]
    security: ColumnElement[int]
    vulns: ColumnElement[int]
    compromised: ColumnElement[int]
    last_ok: Any
    backup_failed: ColumnElement[bool]
    backup_expected: ColumnElement[bool]
    rank: ColumnElement[int]
    priority: ColumnElement[int]


def _zero(column: Any) -> ColumnElement[Any]:
    return func.coalesce(column, literal(0, Integer))


def _parts(now: datetime) -> _Parts:
    s = SiteSummary
    failed = func.coalesce(s.backup_failed, False)
    # The plan's backup schedule lives in its options (JSON); "none" or absent = not wanted.
    schedule = Plan.options["backup"].as_string()
    expected = and_(schedule.is_not(None), schedule != "none")
    vulns = _zero(s.vulns)
    compromised = _zero(s.compromised)
    soon = now + timedelta(days=TLS_SOON_DAYS)
    rank = _rank(s.down_since, s.tls_incident, soon, compromised)
    at_risk = or_(vulns > 0, failed, and_(expected, s.last_backup_at.is_(None)))
    # Compromised, down, then vulnerable or without a usable backup, then certificate,
    # pending, up, paused.
    priority = case(
        (rank == _PAUSED, _PAUSED + 1),
        (rank <= 1, rank),
        (at_risk, 2),
        else_=rank + 1,
    )
    return _Parts(
        down_since=s.down_since,
        tls_incident=s.tls_incident,
        open_incidents=_zero(s.open_incidents),
        updates=_zero(s.updates),
        security=_zero(s.security_updates),
        vulns=vulns,
        compromised=compromised,
        last_ok=s.last_backup_at,
        backup_failed=failed,
        backup_expected=expected,
        rank=rank,
        priority=priority,
    )


def _sites_with(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _issue_conditions(p: _Parts) -> list[ColumnElement[bool]]:
    """What each of ISSUES means, in ISSUES' order."""
    return [p.updates > 0, p.security > 0, p.vulns > 0, _backup_problem(p)]


def _backup_problem(p: _Parts) -> ColumnElement[bool]:
    return and_(
        Site.paused.is_(False),
        or_(p.backup_failed, and_(p.backup_expected, p.last_ok.is_(None))),
    )


def _joined(stmt: Any) -> Any:
    """``stmt`` with the state, summary, client and plan joined to sites."""
    return (
        stmt.outerjoin(SiteState, SiteState.site_id == Site.id)
        .outerjoin(SiteSummary, SiteSummary.site_id == Site.id)
        .outerjoin(Client, Client.id == Site.client_id)
        .outerjoin(Contract, Contract.id == Site.contract_id)
        .outerjoin(Plan, Plan.id == Contract.plan_id)
    )


def _rank(
    down_since: Any, tls_incident: Any, soon: datetime, compromised: Any = None
) -> ColumnElement[int]:
    """An index into STATES: 0 compromised, 1 down, 2 certificate problem, 3 never checked,
    4 up, 5 paused; problems sort first. Without ``compromised`` (a public status page)
    no site ranks as compromised."""
    hacked = [(compromised > 0, 0)] if compromised is not None else []
    return case(
        (Site.paused.is_(True), _PAUSED),
        *hacked,
        (or_(SiteState.up.is_(False), down_since.is_not(None)), 1),
        (or_(tls_incident.is_(True), SiteState.tls_expires <= soon), 2),
        (SiteState.up.is_(None), 3),
        else_=4,
    )


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filters(flt: FleetFilter, p: _Parts) -> list[ColumnElement[bool]]:
    rank = p.rank
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
        conditions.append(p.priority < STATES.index("up") + 1)
    if flt.cms:
        conditions.append(Site.cms == flt.cms)
    if flt.issue in ISSUES:
        conditions.append(_issue_conditions(p)[ISSUES.index(flt.issue)])
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


def _order(sort: str, descending: bool, p: _Parts) -> list[Any]:
    def d(col: Any) -> Any:
        return col.desc() if descending else col.asc()

    # Counts list the most first; the toggle reverses.
    def most(col: Any) -> Any:
        value = func.coalesce(col, 0)
        return value.asc() if descending else value.desc()

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
        "updates": [most(p.security), most(p.updates), Site.name],
        "vulns": [most(p.vulns), Site.name],
        # Oldest good backup first, sites without one before them: the likeliest to need care.
        "backup": [d(p.last_ok.is_not(None)), d(p.last_ok), Site.name],
    }
    if sort in by:
        return by[sort]
    return [d(p.priority), p.down_since.is_(None), p.down_since.asc(), Site.name]


def _row(r: Any) -> FleetRow:
    """A fleet row from the columns fleet_page selects, in their order."""
    return FleetRow(
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
        down_since=r[15],
        open_incidents=int(r[16]),
        state=STATES[int(r[17])],
        updates=int(r[18]),
        security_updates=int(r[19]),
        vulns=int(r[20]),
        last_backup_at=r[21],
        backup_failed=bool(r[22]),
        backup_expected=bool(r[23]),
        contract_id=r[24],
        compromised=int(r[25]),
    )


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
    """One page of the fleet, problems first by default, with the filter's total and issues.

    Three statements: the page's ids (sorted narrow), their rows, and the totals
    (one pass, no sort); together far cheaper than one query carrying window
    counts and every column through a sort of the whole fleet.
    """
    per_page = max(1, min(per_page, 500))
    page = max(1, page)
    p = _parts(now)
    conditions = _filters(flt, p)
    columns = select(
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
        p.down_since,
        p.open_incidents,
        p.rank,
        p.updates,
        p.security,
        p.vulns,
        p.last_ok,
        p.backup_failed,
        p.backup_expected,
        Site.contract_id,
        p.compromised,
    ).select_from(Site)
    # The sort sees every matching site, so it runs on ids alone: sorting 10,000 narrow
    # rows is several times cheaper than sorting them with every column the table shows.
    ids = list(
        session.scalars(
            _joined(select(Site.id).select_from(Site))
            .where(*conditions)
            .order_by(*_order(sort, descending, p), Site.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    found = session.execute(_joined(columns).where(Site.id.in_(ids))).all() if ids else []
    by_id = {row.site_id: row for row in map(_row, found)}
    rows = [by_id[i] for i in ids]
    totals = session.execute(
        _joined(
            select(func.count(), *(_sites_with(c) for c in _issue_conditions(p))).select_from(Site)
        ).where(*conditions)
    ).one()
    _attach_tags(session, rows)
    issues = {name: int(totals[1 + i] or 0) for i, name in enumerate(ISSUES)}
    return FleetPage(rows, int(totals[0]), page, per_page, issues)


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
    rank = _rank(
        SiteSummary.down_since,
        SiteSummary.tls_incident,
        now + timedelta(days=TLS_SOON_DAYS),
        _zero(SiteSummary.compromised),
    ).label("rank")
    stmt = (
        select(rank, func.count())
        .select_from(Site)
        .outerjoin(SiteState, SiteState.site_id == Site.id)
        .outerjoin(SiteSummary, SiteSummary.site_id == Site.id)
        .group_by(rank)
    )
    if client_id is not None:
        stmt = stmt.where(Site.client_id == client_id)
    counts: dict[str, int] = dict.fromkeys(STATES, 0)
    for value, count in session.execute(stmt):
        counts[STATES[int(value)]] = int(count)
    return counts


@dataclass(frozen=True, slots=True)
class SiteStateRow:
    """One site's state as the fleet ranks it, with only the facts a public page may show."""

    site_id: int
    name: str
    created_at: datetime
    state: State
    down_since: datetime | None
    error: str | None  # a domain.checks.ErrorCategory value, never a text
    status: int | None


def site_states(session: Session, client_id: int, now: datetime) -> list[SiteStateRow]:
    """Every site of one client with its state (the fleet's rank, but never "compromised":
    a public page does not announce a hack), by name: one query."""
    rank = _rank(
        SiteSummary.down_since, SiteSummary.tls_incident, now + timedelta(days=TLS_SOON_DAYS)
    )
    rows = session.execute(
        select(
            Site.id,
            Site.name,
            Site.created_at,
            rank,
            SiteSummary.down_since,
            SiteState.error,
            SiteState.status,
        )
        .select_from(Site)
        .outerjoin(SiteState, SiteState.site_id == Site.id)
        .outerjoin(SiteSummary, SiteSummary.site_id == Site.id)
        .where(Site.client_id == client_id)
        .order_by(Site.name, Site.id)
    ).tuples()
    return [
        SiteStateRow(sid, name, created, STATES[int(r)], since, error, status)
        for sid, name, created, r, since, error, status in rows
    ]


def all_tags(session: Session, client_id: int | None) -> list[str]:
    """Every tag in use (of one client's sites), for the filter's choices."""
    stmt = select(SiteTag.tag).distinct().order_by(SiteTag.tag)
    if client_id is not None:
        stmt = stmt.join(Site, Site.id == SiteTag.site_id).where(Site.client_id == client_id)
    return list(session.scalars(stmt))


class RecentCheck(NamedTuple):
    """One raw result for the 24-hour charts: what its location found (``up``, the
    response time) and whether it counts as up time (``domain.outages``: on a day
    checked from several locations, down only inside a confirmed outage)."""

    at: datetime
    up: bool
    response_ms: int | None
    location: str  # its name ("default", "us-east")
    counts_up: bool


def recent_checks(session: Session, site_id: int, since: datetime) -> list[RecentCheck]:
    """Raw results of one site since ``since`` (and its creation), oldest first."""
    created = session.scalar(select(Site.created_at).where(Site.id == site_id))
    since = max(since, created) if created is not None else since
    since_ms = int(since.timestamp() * 1000)
    created_ms = int(created.timestamp() * 1000) if created is not None else 0
    rows = session.execute(
        select(CheckRaw.ts_ms, CheckRaw.up, CheckRaw.response_ms, CheckRaw.location)
        .where(CheckRaw.site_id == site_id, CheckRaw.ts_ms >= since_ms)
        .order_by(CheckRaw.ts_ms)
    ).all()
    if not rows:
        return []
    # Whether a day was checked from several locations is the whole UTC day's (from
    # the site's creation), as the roll-up decides it.
    day_start = max(since_ms - since_ms % DAY_MS, created_ms)
    checks = [(ts, location, bool(up)) for ts, up, _, location in rows]
    if since_ms > day_start:
        checks = _earlier(session, site_id, day_start, since_ms) + checks
    found = outages_between(session.connection(), [site_id], day_start, rows[-1][0] + 1)
    counted = counted_up(checks, found.get(site_id, NONE))[len(checks) - len(rows) :]
    return [
        RecentCheck(datetime.fromtimestamp(ts / 1000, UTC), bool(up), ms, shown(location), ok)
        for (ts, up, ms, location), ok in zip(rows, counted, strict=True)
    ]


def _earlier(
    session: Session, site_id: int, start_ms: int, end_ms: int
) -> list[tuple[int, str, bool]]:
    """Where the first day's results before the charts' window were taken from: one row
    per location (all ``counted_up`` needs of them)."""
    rows = session.execute(
        select(func.min(CheckRaw.ts_ms), CheckRaw.location)
        .where(CheckRaw.site_id == site_id, CheckRaw.ts_ms >= start_ms, CheckRaw.ts_ms < end_ms)
        .group_by(CheckRaw.location)
    )
    return [(ts, location, True) for ts, location in rows]


def all_cms(session: Session, client_id: int | None) -> list[str]:
    """Every CMS the fleet (or one client's sites) runs, for the filter's choices."""
    stmt = select(Site.cms).where(Site.cms.is_not(None)).distinct().order_by(Site.cms)
    if client_id is not None:
        stmt = stmt.where(Site.client_id == client_id)
    return [cms for cms in session.scalars(stmt) if cms]

"""The fleet view: every site's latest state and open incidents, one page at a time.

One query per page (LIMIT/OFFSET, the total by a window function) plus one for
that page's tags, whatever the fleet's size: the dashboard polls it every few
seconds for thousands of sites. Open findings and backup runs arrive as
per-site aggregates joined into that one query, so sorting and "problems
first" see every site, not just the page.
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
from sitekeeper.intel.matching import UPDATE, VULNERABILITY
from sitekeeper.store.backup_tables import BackupRun
from sitekeeper.store.backups import FAILED, OK, RUNNING
from sitekeeper.store.intel_tables import Finding
from sitekeeper.store.tables import (
    CheckRaw,
    Client,
    Contract,
    Incident,
    Plan,
    Site,
    SiteState,
    SiteTag,
)

State = Literal["down", "tls", "unknown", "up", "paused"]
STATES: tuple[State, ...] = ("down", "tls", "unknown", "up", "paused")
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
    updates: int = 0
    security_updates: int = 0
    vulns: int = 0
    last_backup_at: datetime | None = None
    backup_failed: bool = False
    backup_expected: bool = False
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


def _open_findings() -> Any:
    """Per site: open pending updates, security updates among them, vulnerabilities."""

    def count(condition: ColumnElement[bool]) -> Any:
        return func.sum(case((condition, 1), else_=0))

    return (
        select(
            Finding.site_id.label("site_id"),
            count(Finding.kind == UPDATE).label("updates"),
            count(and_(Finding.kind == UPDATE, Finding.security.is_(True))).label("security"),
            count(Finding.kind == VULNERABILITY).label("vulns"),
        )
        .where(Finding.resolved_at.is_(None))
        .group_by(Finding.site_id)
        .subquery("open_find")
    )


def _backup_runs() -> Any:
    """Per site: when the last good scheduled/manual run started, and the last run's status.

    Correlated lookups, not an aggregate over every run: with the (site, started)
    index each site costs a seek or two, however long its backup history.
    """
    mine = and_(BackupRun.site_id == Site.id, BackupRun.reason != "safety")
    last_ok = (
        select(func.max(BackupRun.started_at))
        .where(mine, BackupRun.status == OK)
        .correlate(Site)
        .scalar_subquery()
    )
    last_status = (
        select(BackupRun.status)
        .where(mine, BackupRun.status != RUNNING)
        .order_by(BackupRun.started_at.desc(), BackupRun.id.desc())
        .limit(1)
        .correlate(Site)
        .scalar_subquery()
    )
    return select(
        Site.id.label("site_id"), last_ok.label("last_ok"), last_status.label("last_status")
    ).subquery("backup_runs")


@dataclass(frozen=True, slots=True)
class _Parts:
    """The per-site aggregates and the expressions built on them, shared by every query."""

    inc: Any
    find: Any
    bak: Any
    rank: ColumnElement[int]
    priority: ColumnElement[int]
    backup_failed: ColumnElement[bool]
    backup_expected: ColumnElement[bool]


def _parts(now: datetime) -> _Parts:
    inc, find, bak = _open_incidents(), _open_findings(), _backup_runs()
    rank = _rank(inc, now + timedelta(days=TLS_SOON_DAYS))
    failed = func.coalesce(bak.c.last_status == FAILED, False)
    # The plan's backup schedule lives in its options (JSON); "none" or absent = not wanted.
    schedule = Plan.options["backup"].as_string()
    expected = and_(schedule.is_not(None), schedule != "none")
    at_risk = or_(
        func.coalesce(find.c.vulns, 0) > 0,
        failed,
        and_(expected, bak.c.last_ok.is_(None)),
    )
    # Down, then vulnerable or without a usable backup, then certificate, pending, up, paused.
    priority = case(
        (rank == 4, 5),
        (rank == 0, 0),
        (at_risk, 1),
        else_=rank + 1,
    )
    return _Parts(inc, find, bak, rank, priority, failed, expected)


def _sites_with(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _issue_conditions(p: _Parts) -> list[ColumnElement[bool]]:
    """What each of ISSUES means, in ISSUES' order."""
    return [
        p.find.c.updates > 0,
        p.find.c.security > 0,
        p.find.c.vulns > 0,
        _backup_problem(p),
    ]


def _backup_problem(p: _Parts) -> ColumnElement[bool]:
    return and_(
        Site.paused.is_(False),
        or_(p.backup_failed, and_(p.backup_expected, p.bak.c.last_ok.is_(None))),
    )


def _joined(stmt: Any, p: _Parts) -> Any:
    """``stmt`` with the state, client, plan and every per-site aggregate joined to sites."""
    return (
        stmt.outerjoin(SiteState, SiteState.site_id == Site.id)
        .outerjoin(Client, Client.id == Site.client_id)
        .outerjoin(Contract, Contract.id == Site.contract_id)
        .outerjoin(Plan, Plan.id == Contract.plan_id)
        .outerjoin(p.inc, p.inc.c.site_id == Site.id)
        .outerjoin(p.find, p.find.c.site_id == Site.id)
        .outerjoin(p.bak, p.bak.c.site_id == Site.id)
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
        conditions.append(p.priority < 4)
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
        "updates": [most(p.find.c.security), most(p.find.c.updates), Site.name],
        "vulns": [most(p.find.c.vulns), Site.name],
        # Oldest good backup first, sites without one before them: the likeliest to need care.
        "backup": [d(p.bak.c.last_ok.is_not(None)), d(p.bak.c.last_ok), Site.name],
    }
    if sort in by:
        return by[sort]
    inc = p.inc
    return [d(p.priority), inc.c.down_since.is_(None), inc.c.down_since.asc(), Site.name]


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
    p = _parts(now)
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
        p.inc.c.down_since,
        func.coalesce(p.inc.c.open_count, literal(0, Integer)),
        p.rank.label("rank"),
        func.count().over().label("total"),
        func.coalesce(p.find.c.updates, literal(0, Integer)),
        func.coalesce(p.find.c.security, literal(0, Integer)),
        func.coalesce(p.find.c.vulns, literal(0, Integer)),
        p.bak.c.last_ok,
        p.backup_failed,
        p.backup_expected,
        *(_sites_with(condition).over() for condition in _issue_conditions(p)),
    ).select_from(Site)
    stmt = (
        _joined(columns, p)
        .where(*_filters(flt, p))
        .order_by(*_order(sort, descending, p), Site.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    rows: list[FleetRow] = []
    total = 0
    issues = dict.fromkeys(ISSUES, 0)
    for r in session.execute(stmt):
        total = int(r[18])
        issues = {name: int(r[25 + i] or 0) for i, name in enumerate(ISSUES)}
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
                updates=int(r[19]),
                security_updates=int(r[20]),
                vulns=int(r[21]),
                last_backup_at=_aware(r[22]),
                backup_failed=bool(r[23]),
                backup_expected=bool(r[24]),
            )
        )
    if not rows and page > 1:
        total = count_sites(session, flt, now)
    _attach_tags(session, rows)
    return FleetPage(rows, total, page, per_page, issues)


def _aware(value: datetime | str | None) -> datetime | None:
    """An aggregate (min) loses the column type on SQLite; give it back its UTC zone."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def count_sites(session: Session, flt: FleetFilter, now: datetime) -> int:
    """How many sites match (for a page past the end, where the window count is absent)."""
    p = _parts(now)
    stmt = _joined(select(func.count()).select_from(Site), p).where(*_filters(flt, p))
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


def all_cms(session: Session, client_id: int | None) -> list[str]:
    """Every CMS the fleet (or one client's sites) runs, for the filter's choices."""
    stmt = select(Site.cms).where(Site.cms.is_not(None)).distinct().order_by(Site.cms)
    if client_id is not None:
        stmt = stmt.where(Site.client_id == client_id)
    return [cms for cms in session.scalars(stmt) if cms]

"""The fleet at a glance (/) and its table partial (/fleet/rows), polled by htmx."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from sitekeeper.domain.humanize import plural
from sitekeeper.store import fleet
from sitekeeper.store.clients import list_clients
from sitekeeper.web.auth import AnyUser, Viewer, now
from sitekeeper.web.common import Db, parse_id
from sitekeeper.web.ui.render import page

router = APIRouter(include_in_schema=False)
PER_PAGE = 50


@dataclass(frozen=True, slots=True)
class FleetQuery:
    """The fleet view's query string, parsed and re-encodable for links."""

    q: str
    client: int | None
    tag: str
    state: str
    issue: str
    cms: str
    sort: str
    desc: bool
    page: int

    def link(self, **changes: object) -> str:
        """The query string with ``changes`` applied (page resets unless given)."""
        values: dict[str, object] = {
            "q": self.q,
            "client": self.client or "",
            "tag": self.tag,
            "state": self.state,
            "issue": self.issue,
            "cms": self.cms,
            "sort": self.sort,
            "desc": "1" if self.desc else "",
            "page": 1,
        }
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v not in ("", None, 1, "problems")})

    def sort_link(self, column: str) -> str:
        """Link that sorts by ``column``, toggling the direction if it is the current one."""
        return self.link(sort=column, desc="" if self.sort != column or self.desc else "1")


@dataclass(frozen=True, slots=True)
class Params:
    """The raw query string of the fleet view and its table partial."""

    q: str = ""
    client: str = ""
    tag: str = ""
    state: str = ""
    issue: str = ""
    cms: str = ""
    sort: str = "problems"
    desc: str = ""
    page_no: int = 1


def _query(raw: Params) -> FleetQuery:
    return FleetQuery(
        q=raw.q.strip()[:200],
        client=parse_id(raw.client),
        tag=raw.tag.strip()[:64],
        state=raw.state if raw.state in (*fleet.STATES, "problems") else "",
        issue=raw.issue if raw.issue in fleet.ISSUES else "",
        cms=raw.cms.strip()[:32],
        sort=raw.sort if raw.sort in fleet.SORTS else "problems",
        desc=raw.desc in ("1", "true", "on"),
        page=max(1, raw.page_no),
    )


Text = Annotated[str, Query(max_length=200)]


def _params(
    *,
    q: Text = "",
    client: Text = "",
    tag: Text = "",
    state: Text = "",
    issue: Text = "",
    cms: Text = "",
    sort: Text = "problems",
    desc: Text = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Params:
    return Params(
        q=q,
        client=client,
        tag=tag,
        state=state,
        issue=issue,
        cms=cms,
        sort=sort,
        desc=desc,
        page_no=page_no,
    )


Raw = Annotated[Params, Depends(_params)]


def _context(request: Request, session: Db, who: Viewer, fq: FleetQuery) -> dict[str, Any]:
    scope = who.client_scope
    flt = fleet.FleetFilter(
        client_id=scope if scope is not None else fq.client,
        tag=fq.tag or None,
        state=fq.state or None,
        text=fq.q or None,
        issue=fq.issue or None,
        cms=fq.cms or None,
    )
    moment = now()
    result = fleet.fleet_page(
        session, flt, moment, sort=fq.sort, descending=fq.desc, page=fq.page, per_page=PER_PAGE
    )
    counts = fleet.state_counts(session, scope, moment)
    return {
        "fleet": result,
        "fq": fq,
        "moment": moment,
        "counts": counts,
        "fleet_status": _status(counts, result.total),
    }


def _status(counts: dict[str, int], shown: int) -> str:
    """The fleet in one short line for the live region: ``4 sites · 2 down``, and
    ``· 1 compromised`` while any is."""
    total = sum(counts.values())
    sites = plural(total, "site") if shown == total else f"Showing {shown} of {total} sites"
    hacked = f" · {counts['compromised']} compromised" if counts.get("compromised") else ""
    return f"{sites} · {counts['down'] or 'none'} down{hacked}"


@router.get("/")
def fleet_view(*, request: Request, session: Db, who: AnyUser, raw: Raw) -> HTMLResponse:
    """Every site, problems first, with filters and live updates."""
    fq = _query(raw)
    context = _context(request, session, who, fq)
    scope = who.client_scope
    return page(
        request,
        "fleet.html",
        who,
        clients=list_clients(session) if scope is None else [],
        tags=fleet.all_tags(session, scope),
        cms_choices=fleet.all_cms(session, scope),
        **context,
    )


@router.get("/fleet/rows")
def fleet_rows(
    *,
    request: Request,
    session: Db,
    who: AnyUser,
    raw: Raw,
    said: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """The table alone: what htmx polls and swaps in place.

    The status line outside the table is the live region; it changes (out of band) only
    when its text does, so a poll that finds nothing new makes a screen reader say nothing.
    """
    fq = _query(raw)
    context = _context(request, session, who, fq)
    response = page(
        request, "fleet_rows.html", who, announce=context["fleet_status"] != said, **context
    )
    if request.headers.get("hx-trigger") == "filters":
        # A filter change (not a poll): the address bar follows, so the view can be bookmarked.
        query = fq.link(page=fq.page)
        response.headers["HX-Push-Url"] = f"/?{query}" if query else "/"
    return response

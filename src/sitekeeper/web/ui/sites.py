"""Site pages: detail (charts, incidents, journal), add, edit, remove."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Annotated, Any, get_args

import anyio.from_thread
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from sitekeeper.backup import removal
from sitekeeper.backup.options import BackupSettings
from sitekeeper.domain.findings import UNKNOWN_SOURCE, UPDATE, VULNERABILITY
from sitekeeper.domain.inventory import ExtensionType
from sitekeeper.domain.key_pages import stored_key_pages
from sitekeeper.domain.sites import SiteDeclaration
from sitekeeper.errors import UsageError
from sitekeeper.reports.charts import Line, Point, response_line, response_lines, uptime_bars
from sitekeeper.store import backups, findings, fleet, history, location_history, releases
from sitekeeper.store import sites as site_store
from sitekeeper.store import update_approvals as queue
from sitekeeper.store import updates as update_store
from sitekeeper.store.clients import list_clients
from sitekeeper.store.contracts import list_contracts
from sitekeeper.store.domain_watch import domain_views
from sitekeeper.store.inventories import latest_inventory
from sitekeeper.store.tables import Site
from sitekeeper.store.tasks import TaskConflict, TaskFilter, list_tasks
from sitekeeper.updates.policy import schedule
from sitekeeper.updates.target import cms_of
from sitekeeper.web.auth import AnyUser, Staff, Viewer, now
from sitekeeper.web.common import Db, Id, default_interval, queue_task, visible_site
from sitekeeper.web.ui.forms import Sent, form_fields, form_values
from sitekeeper.web.ui.render import page
from sitekeeper.web.ui.security import SCANS, available_scans, security_context
from sitekeeper.web.ui.site_ssh import ssh_panel

router = APIRouter(include_in_schema=False)
# The site page's action buttons: task kind -> label. Those needing SSH are disabled without it.
ACTIONS = {
    "check": "Check now",
    "inventory": "Run inventory",
    "fingerprint": "Fingerprint",
    "probe-security": "Check security",
    "backup": "Back up now",
    "drill": "Restore drill",
}
NEEDS_SSH = frozenset({"inventory", "backup", "drill", "scan"})
# Every task kind the panel lists, by label: the buttons, "update" (started per package) and
# the Security panel's scans.
LABELS = {**ACTIONS, **SCANS, "update": "Update"}
UPDATE_KINDS = {"plugin": "plugins", "theme": "themes"}  # -> UpdateParams field
EXTENSION_TYPES = frozenset(get_args(ExtensionType))  # the others: UpdateParams.extensions


def _day_charts(session: Session, site: Site, today: date) -> dict[str, Any]:
    """30 days and 12 months from the daily roll-ups (days before the site existed are
    skipped); response times one line per check location where more than one checked it."""
    existed = max(1, (today - site.created_at.date()).days + 1)
    figures = history.uptime_by_day(session, [site.id], min(366, existed), today)
    by_day = {f.day: f.summary for f in figures}
    days = [today - timedelta(days=i) for i in range(29, -1, -1)]
    d30 = [
        Point(
            d.isoformat(),
            (by_day[d].uptime or 0) * 100 if d in by_day and by_day[d].checks else None,
            f"({by_day[d].checks} checks)" if d in by_day else "",
        )
        for d in days
    ]
    r30 = [Point(d.isoformat(), by_day[d].p50_ms if d in by_day else None) for d in days]
    located = location_history.daily_by_location(session, site.id, len(days), today)
    lines = [
        Line(name, [seen[d].p50_ms if d in seen else None for d in days])
        for name, seen in located.items()
    ]
    title = "Median response time per day"
    months: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for d, s in by_day.items():
        months[d.strftime("%Y-%m")][0] += s.checks
        months[d.strftime("%Y-%m")][1] += s.up_checks
    labels = []
    y, m = today.year, today.month
    for _ in range(12):
        labels.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    m12 = [
        Point(label, months[label][1] / months[label][0] * 100 if months[label][0] else None)
        for label in reversed(labels)
    ]
    checks30 = sum(s.checks for d, s in by_day.items() if d >= days[0])
    up30 = sum(s.up_checks for d, s in by_day.items() if d >= days[0])
    return {
        "chart_30d": uptime_bars(d30, title="Uptime per day, last 30 days"),
        "chart_30d_ms": response_lines([d.isoformat() for d in days], lines, title=title)
        if lines
        else response_line(r30, title=title),
        "locations_30d": list(located),
        "chart_12m": uptime_bars(m12, title="Uptime per month, last 12 months"),
        "uptime_30d": up30 / checks30 * 100 if checks30 else None,
    }


def _hour_charts(session: Session, site: Site, moment: datetime) -> dict[str, Any]:
    """The last 24 hours from raw results, in 15-minute buckets: uptime as the daily rows
    count it (``fleet.RecentCheck.counts_up``); response times one line per check
    location where more than one checked the site."""
    start = moment - timedelta(hours=24)
    buckets: list[list[fleet.RecentCheck]] = [[] for _ in range(96)]
    located: dict[str, list[list[int]]] = {}
    for check in fleet.recent_checks(session, site.id, start):
        index = min(95, int((check.at - start).total_seconds() // 900))
        buckets[index].append(check)
        times = located.setdefault(check.location, [[] for _ in range(96)])[index]
        if check.up and check.response_ms is not None:
            times.append(check.response_ms)
    labels = [(start + timedelta(minutes=15 * i)).strftime("%H:%M") for i in range(96)]
    up_points, ms_points = [], []
    for label, bucket in zip(labels, buckets, strict=True):
        ups = [c.response_ms for c in bucket if c.up and c.response_ms is not None]
        counted = sum(1 for c in bucket if c.counts_up)
        up_points.append(Point(label, counted / len(bucket) * 100 if bucket else None))
        ms_points.append(Point(label, sum(ups) / len(ups) if ups else None))
    title = "Response time, last 24 hours"
    lines = [
        Line(name, [sum(times) / len(times) if times else None for times in by_bucket])
        for name, by_bucket in sorted(located.items())
    ]
    return {
        "chart_24h": uptime_bars(up_points, title="Uptime, last 24 hours"),
        "chart_24h_ms": response_lines(labels, lines, title=title)
        if len(lines) > 1
        else response_line(ms_points, title=title),
        "locations_24h": [line.name for line in lines] if len(lines) > 1 else [],
    }


def _software(session: Session, site: Site, moment: datetime) -> dict[str, Any]:
    """The latest inventory, open findings and backups: the sections later capabilities add."""
    found = findings.open_findings(
        session, site_ids=[site.id], kinds=(UPDATE, UNKNOWN_SOURCE, VULNERABILITY)
    )
    runs = backups.runs_of(session, site.id, limit=30)
    drills = [r for r in runs if r.verified_at is not None]
    return {
        "inventory": latest_inventory(session, site.id),
        "vulns": [f for f in found if f.kind == VULNERABILITY],
        "updates": [f for f in found if f.kind != VULNERABILITY],
        # Counted as the fleet's column counts (store.site_summary): an unknown update
        # source is listed with the updates but is no pending update.
        "pending": sum(1 for f in found if f.kind == UPDATE),
        "pending_security": sum(1 for f in found if f.kind == UPDATE and f.security),
        "untracked": sum(1 for f in found if f.kind == UNKNOWN_SOURCE),
        "unreachable": releases.untracked(session, [site.id]),
        "runs": runs[:15],
        "update_runs": update_store.site_runs(session, site.id, limit=10),
        # Update/Hold buttons only where sitekeeper can apply the site's updates
        "updatable": bool(site.ssh) and _updatable(site.cms),
        "held": {(h.type, h.package): h for h in queue.holds(session, [site.id])},
        "scheduled": {
            (e.item.type, e.item.package): e for e in schedule(session, moment, site=site).scheduled
        },
        "drill": max(drills, key=lambda r: r.verified_at or r.started_at) if drills else None,
    }


def _updatable(kind: str | None) -> bool:
    """Whether the site's CMS has an updater (``cms.updater``): no button promises more."""
    cms = cms_of(kind)
    return cms is not None and cms.updater is not None


@router.get("/sites/new")
def new_site(request: Request, session: Db, who: Staff, client: str = "") -> HTMLResponse:
    """The add-a-site form."""
    return _form(request, session=session, who=who, site=None, client=client)


@router.get("/sites/{site_id}")
def site_detail(request: Request, site_id: Id, session: Db, who: AnyUser) -> HTMLResponse:
    """Charts, incidents, software, findings, backups and the journal of one site."""
    site = visible_site(session, who, site_id)
    moment = now()
    row = fleet.fleet_page(session, fleet.FleetFilter(site_id=site.id), moment).rows[0]
    return page(
        request,
        "site.html",
        who,
        site=site,
        row=row,
        moment=moment,
        incidents=history.incidents(session, [site.id], limit=50),
        events=history.journal_events(session, site_ids=[site.id], limit=100),
        **_hour_charts(session, site, moment),
        **_day_charts(session, site, moment.date()),
        **_software(session, site, moment),
        domain_view=domain_views(session, [site.id]).get(site.id),
        **security_context(session, site.id),
        **(_tasks(session, site) if who.is_staff else {}),
    )


def _tasks(session: Session, site: Site) -> dict[str, Any]:
    """The site's latest actions; the panel polls itself while any is queued or running."""
    rows, _ = list_tasks(session, TaskFilter(site_id=site.id), limit=5)
    recent = [task for task, _name in rows]
    return {
        "actions": ACTIONS,
        "labels": LABELS,
        "needs_ssh": NEEDS_SSH,
        "tasks": recent,
        "tasks_active": any(t.status in ("queued", "running") for t in recent),
    }


def _task_panel(request: Request, session: Session, who: Viewer, site: Site) -> HTMLResponse:
    return page(request, "site_tasks.html", who, site=site, moment=now(), **_tasks(session, site))


@router.get("/sites/{site_id}/tasks")
def site_tasks(request: Request, site_id: Id, session: Db, who: Staff) -> HTMLResponse:
    """The actions panel alone (htmx polls it until the site's tasks are done)."""
    return _task_panel(request, session, who, visible_site(session, who, site_id))


@router.post("/sites/{site_id}/tasks")
def start_task(
    *,
    request: Request,
    site_id: Id,
    session: Db,
    who: Staff,
    kind: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Queue one of the page's actions; htmx gets the panel back, a plain form a redirect."""
    site = visible_site(session, who, site_id)
    if kind not in ACTIONS and kind not in available_scans():
        raise HTTPException(400, "unknown action")
    queue_task(request, session, who, kind, site=site, params={})
    if request.headers.get("hx-request") == "true":
        return _task_panel(request, session, who, site)
    return RedirectResponse(f"/sites/{site.id}#tasks", status_code=303)


@router.post("/sites/{site_id}/update")
def start_update(
    *,
    request: Request,
    site_id: Id,
    session: Db,
    who: Staff,
    package_type: Annotated[str, Form(max_length=16)] = "",
    package: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """ "Update" on a pending update's row: one package, to its newest release (the task
    runs ``sitekeeper update SITE --plugin SLUG``)."""
    site = visible_site(session, who, site_id)
    if package_type == "core":
        params: dict[str, Any] = {"core": True}
    elif package_type in UPDATE_KINDS:
        params = {UPDATE_KINDS[package_type]: [package]}
    elif package_type in EXTENSION_TYPES:
        params = {"extensions": [f"{package_type}:{package}"]}
    else:
        raise HTTPException(400, "unknown package type")
    try:
        queue_task(request, session, who, "update", site=site, params=params)
    except UsageError as exc:
        raise HTTPException(400, str(exc)) from None
    except TaskConflict as exc:  # another update of this site is queued or running
        raise HTTPException(409, str(exc)) from None
    return RedirectResponse(f"/sites/{site.id}#tasks", status_code=303)


@router.post("/sites/{site_id}/hold")
def hold_update(
    *,
    site_id: Id,
    session: Db,
    who: Staff,
    package_type: Annotated[str, Form(max_length=16)] = "",
    package: Annotated[str, Form(max_length=200)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """ "Hold" on a pending update's row: the plan's policy leaves this extension alone."""
    site = visible_site(session, who, site_id)
    if package_type != "core" and package_type not in EXTENSION_TYPES:
        raise HTTPException(400, "unknown package type")
    try:
        queue.hold(
            session,
            site.id,
            (package_type, package),
            reason=reason,
            who=f"user:{who.user_id}",
            now=now(),
        )
    except UsageError as exc:
        raise HTTPException(400, str(exc)) from None
    return RedirectResponse(f"/sites/{site.id}#findings", status_code=303)


def _form(
    request: Request,
    *,
    session: Session,
    who: Viewer,
    site: Site | None,
    sent: Mapping[str, str] | None = None,
    error: str | None = None,
    client: str = "",
    ssh_sent: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The add or edit form, from the site declaration (what was sent, when refused); an
    admin also gets the SSH access form (``site_ssh``)."""
    stored: dict[str, Any] = {"client_id": client}
    if site is not None:
        stored = {
            "url": site.url,
            "name": site.name,
            "client_id": site.client_id,
            "contract_id": site.contract_id,
            "tags": [t.tag for t in site.tags],
            "key_pages": stored_key_pages(site.check_options),
            "paused": site.paused,
        }
    choices = {
        "client_id": [(str(c.id), c.name) for c in list_clients(session)],
        "contract_id": [
            (str(c.id), f"#{c.id} {c.client.name} — {c.plan.name}") for c in list_contracts(session)
        ],
    }
    inputs = form_fields(
        SiteDeclaration, stored, sent=sent, choices=choices, editing=site is not None
    )
    return page(
        request,
        "site_form.html",
        who,
        status=400 if error else 200,
        site=site,
        fields=inputs,
        error=error,
        ssh=ssh_panel(session, site, ssh_sent) if site is not None and who.is_admin else None,
    )


def site_form(
    request: Request,
    session: Session,
    who: Viewer,
    site: Site,
    *,
    ssh_sent: Mapping[str, str] | None = None,
    error: str | None = None,
) -> HTMLResponse:
    """The edit page again, with the SSH form as it was sent and why it was refused."""
    return _form(request, session=session, who=who, site=site, ssh_sent=ssh_sent, error=error)


@router.post("/sites")
def create_site(request: Request, session: Db, who: Staff, sent: Sent) -> Response:
    """Add a site; on bad input, the form again with the reason."""
    interval = default_interval(request)
    try:
        with session.begin_nested():
            fields = site_store.site_change(session, form_values(SiteDeclaration, sent))
            site = site_store.add_site(session, fields, now(), default_interval=interval)
    except UsageError as exc:
        return _form(request, session=session, who=who, site=None, sent=sent, error=str(exc))
    return RedirectResponse(f"/sites/{site.id}", status_code=303)


@router.get("/sites/{site_id}/edit")
def edit_site(request: Request, site_id: Id, session: Db, who: Staff) -> HTMLResponse:
    """The edit form, filled in."""
    return _form(request, session=session, who=who, site=visible_site(session, who, site_id))


@router.post("/sites/{site_id}/edit")
def update_site(request: Request, site_id: Id, session: Db, who: Staff, sent: Sent) -> Response:
    """Save the edit form (an emptied contract leaves it)."""
    site = visible_site(session, who, site_id)
    interval = default_interval(request)
    try:
        with session.begin_nested():
            values = form_values(SiteDeclaration, sent, editing=True)
            fields = site_store.site_change(session, values)
            site_store.update_site(session, site, fields, now(), default_interval=interval)
    except UsageError as exc:
        session.refresh(site)
        return _form(request, session=session, who=who, site=site, sent=sent, error=str(exc))
    return RedirectResponse(f"/sites/{site.id}", status_code=303)


@router.post("/sites/{site_id}/delete")
def delete_site(site_id: Id, request: Request, session: Db, who: Staff) -> Response:
    """Remove a site (the journal keeps its history); its snapshots are kept under the
    site's own restic host, and the journal says where (``backup.kept``)."""
    site = visible_site(session, who, site_id)
    if site is None:  # pragma: no cover - visible_site raises
        raise HTTPException(404)
    removal.remove_site(
        session,
        request.app.state.vault,
        BackupSettings.from_settings(request.app.state.settings),
        site,
        purge=False,
        run=anyio.from_thread.run,  # a sync endpoint runs on a worker thread
        now=now(),
    )
    return RedirectResponse("/", status_code=303)

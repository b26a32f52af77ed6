"""A client's reports in the dashboard, and its work log on the client page.

``/clients/{id}/reports``: the archive (period, when rendered, sent to whom and when, what
went wrong), downloads (the API's PDF and HTML), and for staff: generate and store a
period's report, preview it (rendered now, not stored), regenerate, resend. A client user
reads its own client's archive here (its portal's "Reports"). The client page shows this
month's work log with a form to add to it and remove entries (staff).
"""

from __future__ import annotations

import re
from contextlib import suppress
from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from sitekeeper.domain.work import MAX_MINUTES
from sitekeeper.errors import UsageError
from sitekeeper.reports.archive import listing_json
from sitekeeper.reports.document import render_report
from sitekeeper.reports.period import Period, month, previous_month
from sitekeeper.store import report_archive as archive
from sitekeeper.store import work_log
from sitekeeper.store.contracts import list_contracts
from sitekeeper.store.report_tables import ClientReport
from sitekeeper.store.tables import Client, Site
from sitekeeper.timezones import zone
from sitekeeper.web.auth import AnyUser, Staff, Viewer, now
from sitekeeper.web.common import REPORT_SANDBOX, Db, Id, parse_id, queue_task, visible_client
from sitekeeper.web.ui.forms import Sent
from sitekeeper.web.ui.render import page

router = APIRouter(include_in_schema=False)

MONTH = r"^\d{4}-\d{2}$"


def _today(client: Client) -> date:
    """Today's date where the client is."""
    return now().astimezone(zone(client.timezone)).date()


def _this_month(client: Client) -> Period:
    return month(_today(client).strftime("%Y-%m"), client.timezone)


def work_context(session: Session, client: Client, wanted: str | None = None) -> dict[str, Any]:
    """The client's work log of the month ``wanted`` (``YYYY-MM``: a report's work entry
    links there), else of this month (in its time zone), for the client page."""
    dates = _this_month(client)
    if wanted is not None and re.fullmatch(r"\d{4}-\d{2}", wanted):
        with suppress(UsageError):  # 2026-13: this month's, as without it
            dates = month(wanted, client.timezone)
    entries = work_log.entries(session, client_ids=[client.id], first=dates.first, last=dates.last)
    _clients, sites = work_log.names(session, entries)
    return {
        "work": entries,
        "work_sites": sites,
        "work_minutes": sum(e.minutes for e in entries),
        "work_month": dates.label,
        "work_past": dates != _this_month(client),
        "work_today": _today(client),
        "work_max": MAX_MINUTES,
    }


def _archive_page(
    request: Request, session: Session, who: Viewer, client: Client, **extra: Any
) -> HTMLResponse:
    found = archive.listed(session, [client.id])
    sends = archive.sends(session, [r.id for r in found])
    rows = [listing_json(r, client.name, sends.get(r.id, [])) for r in found]
    return page(
        request,
        "reports.html",
        who,
        status=400 if extra.get("error") else 200,
        client=client,
        reports=rows,
        contracts=list_contracts(session, client_id=client.id) if who.is_staff else [],
        last_month=previous_month(now(), client.timezone).label,
        recipients=list(client.report_recipients or []),
        **extra,
    )


@router.get("/clients/{client_id}/reports")
def reports_page(
    request: Request, client_id: Id, session: Db, who: AnyUser, queued: int | None = None
) -> HTMLResponse:
    """The client's archived reports; for staff also generate, preview, resend."""
    client = visible_client(session, who, client_id)
    return _archive_page(request, session, who, client, queued=queued if who.is_staff else None)


def _period(client: Client, text: str) -> Period:
    return month(text.strip(), client.timezone)


def _contract(session: Session, client: Client, text: str) -> int | None:
    if not text.strip():
        return None
    contract_id = parse_id(text)
    if contract_id is None or contract_id not in {
        c.id for c in list_contracts(session, client_id=client.id)
    }:
        raise UsageError("choose one of the client's contracts")
    return contract_id


@router.post("/clients/{client_id}/reports")
def generate(request: Request, client_id: Id, session: Db, who: Staff, sent: Sent) -> Response:
    """Queue rendering and storing a period's report (and mailing it, if ticked)."""
    client = visible_client(session, who, client_id)
    try:
        dates = _period(client, sent.get("period", ""))
        contract_id = _contract(session, client, sent.get("contract", ""))
    except UsageError as exc:
        return _archive_page(request, session, who, client, error=str(exc))
    params = {
        "client_id": client.id,
        "first": dates.first.isoformat(),
        "last": dates.last.isoformat(),
        "contract_id": contract_id,
        "regenerate": False,
        "send": sent.get("send") == "on",
        "by": who.email,
    }
    task = queue_task(request, session, who, "report-generate", site=None, params=params)
    return RedirectResponse(f"/clients/{client.id}/reports?queued={task.id}", status_code=303)


def _stored(session: Session, who: Viewer, client_id: int, report_id: int) -> Client:
    client = visible_client(session, who, client_id)
    report = session.get(ClientReport, report_id)
    if report is None or report.client_id != client.id:
        raise HTTPException(404, f"no report {report_id}")
    return client


@router.post("/clients/{client_id}/reports/{report_id}/resend")
def resend(
    request: Request, *, client_id: Id, report_id: Id, session: Db, who: Staff, sent: Sent
) -> Response:
    """Queue mailing the stored report again (to the recipients, or to the address given)."""
    client = _stored(session, who, client_id, report_id)
    to = [a.strip() for a in sent.get("to", "").replace(",", "\n").splitlines() if a.strip()]
    params = {"report_id": report_id, "to": to, "by": who.email}
    try:
        task = queue_task(request, session, who, "report-resend", site=None, params=params)
    except UsageError as exc:
        return _archive_page(request, session, who, client, error=str(exc))
    return RedirectResponse(f"/clients/{client.id}/reports?queued={task.id}", status_code=303)


@router.post("/clients/{client_id}/reports/{report_id}/regenerate")
def regenerate(request: Request, client_id: Id, report_id: Id, session: Db, who: Staff) -> Response:
    """Queue rendering the stored report's period again, replacing it (journaled)."""
    client = _stored(session, who, client_id, report_id)
    report = archive.get(session, report_id)
    params = {
        "client_id": client.id,
        "first": report.first.isoformat(),
        "last": report.last.isoformat(),
        "contract_id": archive.contract_of(report.scope),
        "regenerate": True,
        "send": False,
        "by": who.email,
    }
    task = queue_task(request, session, who, "report-generate", site=None, params=params)
    return RedirectResponse(f"/clients/{client.id}/reports?queued={task.id}", status_code=303)


@router.get("/clients/{client_id}/reports/preview")
def preview_report(
    client_id: Id,
    session: Db,
    who: Staff,
    period: str = Query(pattern=MONTH),
    contract: str = "",
) -> Response:
    """The period's report rendered now, as HTML; nothing is stored."""
    client = visible_client(session, who, client_id)
    try:
        dates = _period(client, period)
        contract_id = _contract(session, client, contract)
        document = render_report(session, client, dates, now(), contract_id=contract_id)
    except UsageError as exc:
        raise HTTPException(422, str(exc)) from None
    return Response(
        document.html,
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": REPORT_SANDBOX, "Cache-Control": "no-store"},
    )


# --- the work log on the client page ------------------------------------------------------


@router.post("/clients/{client_id}/work")
def add_work(request: Request, client_id: Id, session: Db, who: Staff, sent: Sent) -> Response:
    """Log work done by hand for the client (on one of its sites, or on the whole)."""
    client = visible_client(session, who, client_id)
    try:
        site_text = sent.get("site", "").strip()
        site_id = parse_id(site_text) if site_text else None
        site = session.get(Site, site_id) if site_id is not None else None
        if site_text and (site is None or site.client_id != client.id):
            raise UsageError("choose one of the client's sites, or the whole client")
        text = sent.get("minutes", "").strip()
        if not text.isdigit() or len(text) > 6:
            raise UsageError("minutes must be a whole number")
        day_text = sent.get("date", "").strip()
        try:
            day = date.fromisoformat(day_text) if day_text else _today(client)
        except ValueError:
            raise UsageError(f"invalid date {day_text!r}: YYYY-MM-DD") from None
        with session.begin_nested():
            work_log.add_entry(
                session,
                client=client,
                site=site,
                day=day,
                minutes=int(text),
                note=sent.get("note", ""),
                by=who.email,
                now=now(),
            )
    except UsageError as exc:
        from sitekeeper.web.ui.business import CLIENTS  # noqa: PLC0415 - the page it is on

        return CLIENTS.detail_page(request, session, who, client, error=str(exc))
    return RedirectResponse(f"/clients/{client.id}#work", status_code=303)


@router.post("/clients/{client_id}/work/{entry_id}/delete")
def remove_work(client_id: Id, entry_id: Id, session: Db, who: Staff) -> Response:
    """Remove an entry logged by mistake."""
    client = visible_client(session, who, client_id)
    entry = work_log.get_entry(session, entry_id)
    if entry.client_id != client.id:
        raise HTTPException(404, f"no work entry {entry_id}")
    work_log.remove_entry(session, entry)
    return RedirectResponse(f"/clients/{client.id}#work", status_code=303)

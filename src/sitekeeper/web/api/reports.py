"""/api/reports: the client report archive. Everyone reads their own client's reports (the
list, and each one's PDF, HTML and figures); staff generate, regenerate and resend them,
as tasks (rendering and mail take seconds)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, model_validator
from sqlalchemy.orm import Session

from sitekeeper.reports.archive import listing_json
from sitekeeper.reports.message import attachment_name
from sitekeeper.reports.period import month
from sitekeeper.store import report_archive as archive
from sitekeeper.store.report_tables import ClientReport
from sitekeeper.store.tables import Client
from sitekeeper.web.api.common import ERRORS, Page, PageNo, PerPage, meta
from sitekeeper.web.api.tasks import ACCEPTED, accept
from sitekeeper.web.auth import AnyUser, Staff, Viewer
from sitekeeper.web.common import (
    REPORT_SANDBOX,
    Db,
    Id,
    IdQuery,
    visible_client,
    visible_contract,
)

router = APIRouter(prefix="/api", tags=["reports"], responses=ERRORS)


class SendOut(BaseModel):
    """One delivery: when, to whom, by whom; ``error`` null when the server accepted it."""

    id: int
    at: dt.datetime
    recipients: list[str]
    by: str
    error: str | None


class ReportOut(BaseModel):
    """An archived report (``reports list --json`` has the same fields)."""

    id: int
    client_id: int
    client: str | None
    scope: str
    contract_id: int | None
    period: str
    first: dt.date
    last: dt.date
    language: str
    generated_at: dt.datetime
    pdf_sha256: str
    sends: list[SendOut]


class GenerateIn(BaseModel):
    """A client's period (a month, or dates), one contract or all; replace, mail."""

    client_id: int = Field(ge=1, le=2_147_483_647)
    period: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")
    first: dt.date | None = None
    last: dt.date | None = None
    contract_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    regenerate: bool = Field(default=False, description="Replace the stored report")
    send: bool = Field(default=False, description="Mail it to the client's recipients")

    @model_validator(mode="after")
    def _one_period(self) -> GenerateIn:
        if (self.period is None) == (self.first is None or self.last is None):
            raise ValueError("give period, or first and last")
        return self


class ResendIn(BaseModel):
    """Whom to send to instead of the client's report recipients."""

    to: list[str] = Field(default_factory=list, max_length=20)


def _visible(session: Session, who: Viewer, report_id: int) -> ClientReport:
    """The report if the viewer may see its client; 404 otherwise, whether or not it exists."""
    report = session.get(ClientReport, report_id)
    scope = who.client_scope
    if report is None or (scope is not None and report.client_id != scope):
        raise HTTPException(404, f"no report {report_id}")
    return report


def _out(session: Session, reports: list[ClientReport]) -> list[ReportOut]:
    sends = archive.sends(session, [r.id for r in reports])
    names = {r.client_id: n for r in reports if (n := _name(session, r.client_id))}
    return [
        ReportOut.model_validate(listing_json(r, names.get(r.client_id), sends.get(r.id, [])))
        for r in reports
    ]


def _name(session: Session, client_id: int) -> str | None:
    client = session.get(Client, client_id)
    return client.name if client is not None else None


@router.get("/reports", response_model=Page[ReportOut])
def list_reports(
    *,
    session: Db,
    who: AnyUser,
    client_id: IdQuery = None,
    page: PageNo = 1,
    per_page: PerPage = 50,
) -> Page[ReportOut]:
    """Archived reports, newest period first (of one client); a client user sees its own."""
    if client_id is not None:
        visible_client(session, who, client_id)
    scope = who.client_scope
    ids = [client_id] if client_id is not None else ([scope] if scope is not None else None)
    shown = archive.listed(session, ids, offset=(page - 1) * per_page, limit=per_page)
    return Page[ReportOut](
        items=_out(session, shown), meta=meta(archive.count_listed(session, ids), page, per_page)
    )


@router.get("/reports/{report_id}", response_model=ReportOut)
def get_report(report_id: Id, session: Db, who: AnyUser) -> ReportOut:
    """One archived report and its sends."""
    return _out(session, [_visible(session, who, report_id)])[0]


def _filename(session: Session, report: ClientReport, suffix: str) -> str:
    name = attachment_name(_name(session, report.client_id) or "client", archive.label(report))
    return name.removesuffix(".pdf") + suffix


@router.get("/reports/{report_id}/pdf", response_class=Response)
def report_pdf(report_id: Id, session: Db, who: AnyUser) -> Response:
    """The archived PDF, as it was sent."""
    report = _visible(session, who, report_id)
    disposition = f'attachment; filename="{_filename(session, report, ".pdf")}"'
    return Response(
        report.pdf, media_type="application/pdf", headers={"Content-Disposition": disposition}
    )


@router.get("/reports/{report_id}/html", response_class=Response)
def report_html(report_id: Id, session: Db, who: AnyUser, download: bool = False) -> Response:
    """The archived HTML (sandboxed: it is a document, not a page of the dashboard)."""
    report = _visible(session, who, report_id)
    headers = {"Content-Security-Policy": REPORT_SANDBOX}
    if download:
        headers["Content-Disposition"] = (
            f'attachment; filename="{_filename(session, report, ".html")}"'
        )
    return Response(report.html, media_type="text/html; charset=utf-8", headers=headers)


@router.get("/reports/{report_id}/json")
def report_figures(report_id: Id, session: Db, who: AnyUser) -> dict[str, Any]:
    """The archived figures: the ``report --json`` document plus ``summary_text``."""
    figures: dict[str, Any] = dict(_visible(session, who, report_id).figures or {})
    return figures


@router.post("/reports", status_code=202, responses=ACCEPTED)
def generate_report(body: GenerateIn, request: Request, session: Db, who: Staff) -> JSONResponse:
    """Render and archive a client's report for a period (the stored one stays unless
    ``regenerate``), and mail it with ``send``: a task to poll."""
    client = visible_client(session, who, body.client_id)
    if (
        body.contract_id is not None
        and visible_contract(session, who, body.contract_id).client_id != client.id
    ):
        raise HTTPException(422, "the contract is not that client's")
    if body.period is not None:
        dates = month(body.period, client.timezone)
        first, last = dates.first, dates.last
    else:
        first, last = body.first or dt.date.min, body.last or dt.date.min  # both given
    params: dict[str, Any] = {
        "client_id": client.id,
        "first": first.isoformat(),
        "last": last.isoformat(),
        "contract_id": body.contract_id,
        "regenerate": body.regenerate,
        "send": body.send,
        "by": who.email,
    }
    return accept(request, session, who, "report-generate", site=None, params=params)


@router.post("/reports/{report_id}/resend", status_code=202, responses=ACCEPTED)
def resend_report(
    report_id: Id, body: ResendIn, request: Request, session: Db, who: Staff
) -> JSONResponse:
    """Mail the archived report again, as it was stored (to ``to``, or its client's
    recipients): a task to poll."""
    _visible(session, who, report_id)
    params = {"report_id": report_id, "to": body.to, "by": who.email}
    return accept(request, session, who, "report-resend", site=None, params=params)

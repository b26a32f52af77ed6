"""The report archive: a period's report is rendered once and kept as it was sent.

Asking for a stored period returns the stored report, never a silent re-rendering (the
client may hold that very PDF); only an explicit ``regenerate`` by staff replaces it, and
the journal names both versions. (A preview is ``render_report`` itself: nothing stored.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sitekeeper.reports.document import render_report, summary_text
from sitekeeper.reports.pdf import html_to_pdf
from sitekeeper.reports.period import Period, between
from sitekeeper.reports.public_links import links_warning
from sitekeeper.store import report_archive as archive
from sitekeeper.store.report_archive import Rendered
from sitekeeper.store.report_tables import ClientReport, ReportSend
from sitekeeper.store.tables import Client

SUMMARY_KEY = "summary_text"  # the first page's sentences as mailed, kept beside the figures


def stored_or_new(
    session: Session,
    client: Client,
    period: Period,
    now: datetime,
    *,
    contract_id: int | None = None,
    by: str = archive.SCHEDULE,
) -> tuple[ClientReport, bool]:
    """The stored report of the period, or a new one rendered and stored; and whether it is
    new. Two processes rendering the same period at once store one (the unique row): the
    second gets the first's."""
    found = stored(session, client.id, period, contract_id)
    if found is not None:
        return found, False
    made = draft(session, client, period, now, contract_id)
    return keep(session, client.id, period, made, pdf=made.print(), now=now, by=by)


def stored(
    session: Session, client_id: int, period: Period, contract_id: int | None = None
) -> ClientReport | None:
    """The period's stored report, if there is one."""
    return archive.find(
        session, client_id, archive.scope_of(contract_id), period.first, period.last
    )


@dataclass(frozen=True, slots=True)
class Draft:
    """A new report's figures and HTML, before its PDF is printed (where: the caller's
    choice, e.g. ``reports.printer``'s processes)."""

    language: str
    figures: dict[str, Any]
    html: str
    contract_id: int | None
    links_warning: str | None = None  # why its links lead nowhere (no public URL)

    def print(self) -> bytes:
        """The PDF, printed in this process."""
        return html_to_pdf(self.html)


def draft(
    session: Session, client: Client, period: Period, now: datetime, contract_id: int | None
) -> Draft:
    """The period's report rendered (figures and HTML), not stored."""
    document = render_report(session, client, period, now, contract_id=contract_id)
    figures = document.figures.to_json()
    figures[SUMMARY_KEY] = summary_text(document.figures, client.language)
    return Draft(client.language, figures, document.html, contract_id, links_warning(session))


def keep(
    session: Session,
    client_id: int,
    period: Period,
    made: Draft,
    *,
    pdf: bytes,
    now: datetime,
    by: str,
) -> tuple[ClientReport, bool]:
    """Store the drafted report with its PDF, and whether it is new: another process that
    stored the period first wins (its report is returned)."""
    scope = archive.scope_of(made.contract_id)
    rendered = Rendered(language=made.language, figures=made.figures, html=made.html, pdf=pdf)
    try:
        with session.begin_nested():
            report = archive.store(
                session,
                client_id=client_id,
                scope=scope,
                first=period.first,
                last=period.last,
                rendered=rendered,
                now=now,
                by=by,
            )
    except IntegrityError:
        found = archive.find(session, client_id, scope, period.first, period.last)
        if found is None:
            raise
        return found, False
    return report, True


def regenerate(
    session: Session, report: ClientReport, client: Client, now: datetime, *, by: str
) -> ClientReport:
    """Render the stored report's period again and put it in the old one's place."""
    rendered = _render(
        session, client, period_of(report, client), now, archive.contract_of(report.scope)
    )
    return archive.replace(session, report, rendered, now=now, by=by)


def period_of(report: ClientReport, client: Client) -> Period:
    """The stored report's period, in the zone it was rendered in (the client's now, if the
    stored figures do not say)."""
    stated = report.figures.get("period") if isinstance(report.figures, dict) else None
    timezone = stated.get("timezone") if isinstance(stated, dict) else None
    return between(report.first, report.last, str(timezone or client.timezone))


def summary_of(report: ClientReport) -> str:
    """The first page's sentences as they were when the report was stored."""
    text = report.figures.get(SUMMARY_KEY) if isinstance(report.figures, dict) else None
    return text if isinstance(text, str) else ""


def _render(
    session: Session, client: Client, period: Period, now: datetime, contract_id: int | None
) -> Rendered:
    made = draft(session, client, period, now, contract_id)
    return Rendered(language=made.language, figures=made.figures, html=made.html, pdf=made.print())


def listing_json(
    report: ClientReport, client: str | None, sends: Sequence[ReportSend]
) -> dict[str, Any]:
    """The documented JSON shape of an archived report (``reports list --json``, the API):
    what it covers and each time it was sent, without its documents."""
    return {
        "id": report.id,
        "client_id": report.client_id,
        "client": client,
        "scope": report.scope,
        "contract_id": archive.contract_of(report.scope),
        "period": archive.label(report),
        "first": report.first.isoformat(),
        "last": report.last.isoformat(),
        "language": report.language,
        "generated_at": report.generated_at.isoformat(),
        "pdf_sha256": report.pdf_sha256,
        "sends": [
            {
                "id": send.id,
                "at": send.at.isoformat(),
                "recipients": list(send.recipients),
                "by": send.by,
                "error": send.error,
            }
            for send in sends
        ],
    }

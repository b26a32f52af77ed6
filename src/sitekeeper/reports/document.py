"""A client's report as a document: its figures, the HTML made of them, and the PDF made
of that HTML. What the CLI writes, the archive stores and the e-mail attaches.

A stored report is never re-rendered: ``RenderedReport`` keeps the HTML it was made
with, and its PDF is made from that HTML only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from sitekeeper.errors import UsageError
from sitekeeper.reports import branding as brand
from sitekeeper.reports.figures import ClientReport, client_report
from sitekeeper.reports.html import render_html
from sitekeeper.reports.period import Period
from sitekeeper.reports.summary import summarize
from sitekeeper.reports.wording import summary_text
from sitekeeper.store.tables import Client

__all__ = ["RenderedReport", "render_report", "report_figures", "summary_text"]


@dataclass(frozen=True, slots=True)
class RenderedReport:
    """A report made once: its figures and its HTML; ``pdf()`` prints that HTML."""

    figures: ClientReport
    html: str

    def pdf(self) -> bytes:
        """The HTML as an A4 PDF (page numbers, vectors, embedded fonts)."""
        from sitekeeper.reports.pdf import html_to_pdf  # noqa: PLC0415 - only when printing

        return html_to_pdf(self.html)


def render_report(
    session: Session,
    client: Client,
    period: Period,
    now: datetime,
    *,
    contract_id: int | None = None,
) -> RenderedReport:
    """The client's report for ``period`` in its language, with the agency's branding;
    ``contract_id``: only that contract, its sites and its work (UsageError if the client
    has no such contract in the period)."""
    figures = report_figures(session, client, period, now, contract_id=contract_id)
    html = render_html(figures, brand.load(session), client.language)
    return RenderedReport(figures=figures, html=html)


def report_figures(
    session: Session,
    client: Client,
    period: Period,
    now: datetime,
    *,
    contract_id: int | None = None,
) -> ClientReport:
    """The figures ``render_report`` renders, without rendering them (``--json``)."""
    figures = client_report(session, client, period, now)
    return only_contract(figures, contract_id) if contract_id is not None else figures


def only_contract(figures: ClientReport, contract_id: int) -> ClientReport:
    """The report narrowed to one contract: its sites and work, and a summary of them."""
    chosen = [c for c in figures.contracts if c.id == contract_id]
    if not chosen:
        period = figures.period.label
        name = figures.client.name
        raise UsageError(f"client {name!r} has no contract {contract_id} in {period}")
    [contract] = chosen
    return replace(
        figures,
        contracts=chosen,
        other_sites=[],
        other_work=replace(figures.other_work, entries=[], minutes=0),
        summary=summarize(contract.sites, contract.work.minutes),
    )

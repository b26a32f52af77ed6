"""Named queries for the report archive: stored reports, and each time one was sent.

A report is stored once per client, scope and period (a unique row); the schedule's memory
is these rows: a report is due for sending until its client's recipients have been sent it.
Storing, replacing and sending are journaled here, in the same transaction as the row.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from sitekeeper.domain.periods import label as period_label
from sitekeeper.domain.report_events import ReportEventKind
from sitekeeper.errors import NotFound
from sitekeeper.store import journal
from sitekeeper.store.report_tables import ClientReport, ReportSend
from sitekeeper.store.tables import Client, Contract

SCHEDULE = "schedule"  # a send's ``by`` when the schedule made it
CLIENT_SCOPE = "client"


@dataclass(frozen=True, slots=True)
class Rendered:
    """What a rendering produced, as the archive keeps it."""

    language: str
    figures: dict[str, Any]
    html: str
    pdf: bytes


def scope_of(contract_id: int | None) -> str:
    """``client`` for the whole client, ``contract:ID`` for one of its contracts."""
    return CLIENT_SCOPE if contract_id is None else f"contract:{contract_id}"


def contract_of(scope: str) -> int | None:
    """The contract id of a ``contract:ID`` scope (None for the client's)."""
    kind, _, ident = scope.partition(":")
    return int(ident) if kind == "contract" and ident.isdigit() else None


def label(report: ClientReport) -> str:
    """The report's period as ``Period.label`` says it: ``2026-11``, ``2026-10-01..2026-12-31``."""
    return period_label(report.first, report.last)


def find(
    session: Session, client_id: int, scope: str, first: date, last: date
) -> ClientReport | None:
    """The stored report of this client, scope and period, if there is one."""
    return session.scalars(
        select(ClientReport).where(
            ClientReport.client_id == client_id,
            ClientReport.scope == scope,
            ClientReport.first == first,
            ClientReport.last == last,
        )
    ).one_or_none()


def get(session: Session, report_id: int) -> ClientReport:
    """One stored report; NotFound otherwise."""
    found = session.get(ClientReport, report_id)
    if found is None:
        raise NotFound(f"no report {report_id}")
    return found


def listed(
    session: Session,
    client_ids: Collection[int] | None = None,
    *,
    offset: int = 0,
    limit: int | None = None,
) -> list[ClientReport]:
    """Stored reports (of these clients), newest period first (documents load when read);
    ``offset``/``limit``: one page of them."""
    query = select(ClientReport).order_by(
        ClientReport.first.desc(), ClientReport.client_id, ClientReport.id
    )
    if client_ids is not None:
        query = query.where(ClientReport.client_id.in_(list(client_ids)))
    return list(session.scalars(query.offset(offset).limit(limit)))


def count_listed(session: Session, client_ids: Collection[int] | None = None) -> int:
    """How many reports ``listed`` has in all."""
    query = select(func.count()).select_from(ClientReport)
    if client_ids is not None:
        query = query.where(ClientReport.client_id.in_(list(client_ids)))
    return int(session.scalar(query) or 0)


def store(
    session: Session,
    *,
    client_id: int,
    scope: str,
    first: date,
    last: date,
    rendered: Rendered,
    now: datetime,
    by: str,
) -> ClientReport:
    """Archive a new report (IntegrityError if the period is stored already), journaled."""
    report = ClientReport(
        client_id=client_id,
        scope=scope,
        first=first,
        last=last,
        language=rendered.language,
        generated_at=now,
        figures=rendered.figures,
        html=rendered.html,
        pdf=rendered.pdf,
        pdf_sha256=hashlib.sha256(rendered.pdf).hexdigest(),
    )
    session.add(report)
    session.flush()
    _journal(session, ReportEventKind.GENERATED, report, now, by=by)
    return report


def replace(
    session: Session, report: ClientReport, rendered: Rendered, *, now: datetime, by: str
) -> ClientReport:
    """Put a new rendering in place of the stored one (staff asked), journaled with both
    digests: what the client may have received before is still named."""
    before = report.pdf_sha256
    report.language = rendered.language
    report.generated_at = now
    report.figures = rendered.figures
    report.html = rendered.html
    report.pdf = rendered.pdf
    report.pdf_sha256 = hashlib.sha256(rendered.pdf).hexdigest()
    session.flush()
    _journal(session, ReportEventKind.REGENERATED, report, now, by=by, replaced=before)
    return report


def record_send(
    session: Session,
    report: ClientReport,
    *,
    at: datetime,
    recipients: list[str],
    by: str,
    error: str | None,
    permanent: bool = False,
) -> ReportSend:
    """One delivery attempt and its outcome (None: the server accepted it), journaled;
    ``permanent``: the error will come again (the schedule does not retry it)."""
    send = ReportSend(report_id=report.id, at=at, recipients=recipients, by=by, error=error)
    session.add(send)
    session.flush()
    kind = ReportEventKind.SENT if error is None else ReportEventKind.SEND_FAILED
    _journal(
        session,
        kind,
        report,
        at,
        by=by,
        recipients=recipients,
        error=error,
        permanent=permanent or None,
    )
    return send


def sends(session: Session, report_ids: Collection[int]) -> dict[int, list[ReportSend]]:
    """Each report's sends, oldest first (one query for a list)."""
    found: dict[int, list[ReportSend]] = defaultdict(list)
    if not report_ids:
        return found
    rows = session.scalars(
        select(ReportSend)
        .where(ReportSend.report_id.in_(list(report_ids)))
        .order_by(ReportSend.at, ReportSend.id)
    )
    for row in rows:
        found[row.report_id].append(row)
    return found


ScheduleState = tuple[int, int, datetime | None]  # accepted sends, failed sends, last try


def schedule_states(
    session: Session, recipients: Mapping[int, Collection[str]], since: date
) -> dict[tuple[int, date, date], ScheduleState]:
    """How far the clients' stored reports (client scope, from ``since`` on) got, by
    (client id, first, last), in one query: the accepted sends to any of the client's
    ``recipients`` (the schedule's, ``report --send``, a resend; not one to other
    addresses only), the schedule's failed sends, and when it last tried."""
    rows = session.execute(
        select(
            ClientReport.client_id,
            ClientReport.first,
            ClientReport.last,
            ReportSend.by,
            ReportSend.recipients,
            ReportSend.error,
            ReportSend.at,
        )
        .outerjoin(ReportSend, ReportSend.report_id == ClientReport.id)
        .where(
            ClientReport.client_id.in_(list(recipients)),
            ClientReport.scope == CLIENT_SCOPE,
            ClientReport.first >= since,
        )
    ).tuples()
    own = {c: {str(a).casefold() for a in addresses} for c, addresses in recipients.items()}
    found: dict[tuple[int, date, date], ScheduleState] = {}
    for client_id, first, last, by, sent_to, error, at in rows:
        accepted, failed, last_try = found.get((client_id, first, last), (0, 0, None))
        if at is None:
            pass  # never sent
        elif error is None:
            to_own = any(str(a).casefold() in own[client_id] for a in sent_to or [])
            accepted += 1 if by == SCHEDULE or to_own else 0
        elif by == SCHEDULE:
            failed += 1
            last_try = at if last_try is None else max(last_try, at)
        found[(client_id, first, last)] = (accepted, failed, last_try)
    return found


def clients_with_recipients(session: Session) -> list[Client]:
    """The clients that have report recipients, by id."""
    return [c for c in session.scalars(select(Client).order_by(Client.id)) if c.report_recipients]


def contracts_by_client(session: Session, client_ids: Collection[int]) -> dict[int, list[Contract]]:
    """The clients' contracts (with their plans), by client id, in one query."""
    found: dict[int, list[Contract]] = defaultdict(list)
    query = (
        select(Contract)
        .options(joinedload(Contract.plan))
        .where(Contract.client_id.in_(list(client_ids)))
        .order_by(Contract.id)
    )
    for contract in session.scalars(query):
        found[contract.client_id].append(contract)
    return found


def _journal(
    session: Session,
    kind: ReportEventKind,
    report: ClientReport,
    ts: datetime,
    **data: Any,
) -> None:
    facts = {
        "report_id": report.id,
        "scope": report.scope,
        "period": label(report),
        "sha256": report.pdf_sha256,
        **{k: v for k, v in data.items() if v is not None},
    }
    journal.record(session, kind, client_id=report.client_id, data=facts, ts=ts)

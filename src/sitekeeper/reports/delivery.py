"""Sending an archived report by e-mail, and recording the outcome either way.

The message is built from the stored report (its PDF, its summary as stored), never from
a new rendering. Every attempt becomes a ``report_sends`` row and a journal event, in a
short transaction after the SMTP conversation (nothing is held open while it runs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy.orm import Session

from sitekeeper.config import Settings
from sitekeeper.domain.untrusted import visible
from sitekeeper.errors import DeliveryError, UsageError
from sitekeeper.reports.archive import summary_of
from sitekeeper.reports.message import compose
from sitekeeper.reports.smtp import SmtpSettings, send
from sitekeeper.store import report_archive as archive
from sitekeeper.store.dbthread import DbThread
from sitekeeper.store.tables import Client

MAX_ERROR = 2000  # characters of the server's answer kept


def smtp_of(settings: Settings) -> SmtpSettings:
    """The SMTP server to send through; UsageError saying what to set when there is none."""
    smtp = SmtpSettings.from_settings(settings)
    if smtp is None:
        raise UsageError(
            "reports cannot be mailed: set SITEKEEPER_SMTP_HOST and SITEKEEPER_SMTP_SENDER"
        )
    return smtp


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What one delivery did: the addresses the server took, and why it took no others."""

    report_id: int
    accepted: list[str]
    error: str | None = None  # nobody got it (the whole send failed)
    refused: dict[str, str] = field(default_factory=dict)  # some got it, these did not
    permanent: bool = False  # the error will come again (a 5xx answer, a failed login)

    @property
    def ok(self) -> bool:
        """Whether the server took the message for at least one recipient."""
        return self.error is None


@dataclass(frozen=True, slots=True)
class _Outgoing:
    recipients: list[str]
    message: EmailMessage


def recipients_of(session: Session, report_id: int, to: Sequence[str] | None) -> list[str]:
    """``to`` if given, else the client's report recipients; UsageError when there are none."""
    report = archive.get(session, report_id)
    if to:
        return list(dict.fromkeys(to))
    client = session.get(Client, report.client_id)
    found = list(client.report_recipients or []) if client is not None else []
    if not found:
        raise UsageError(
            "the client has no report recipients: add them (client edit --report-to) or give --to"
        )
    return [str(address) for address in found]


def _outgoing(
    session: Session, smtp: SmtpSettings, report_id: int, to: Sequence[str] | None
) -> _Outgoing:
    report = archive.get(session, report_id)
    recipients = recipients_of(session, report_id, to)
    client = session.get(Client, report.client_id)
    message = compose(
        sender=smtp.sender,
        recipients=recipients,
        client=client.name if client is not None else f"client {report.client_id}",
        period=archive.label(report),
        language=report.language,
        summary=summary_of(report),
        pdf=report.pdf,
    )
    return _Outgoing(recipients, message)


async def deliver(
    dbthread: DbThread,
    smtp: SmtpSettings,
    report_id: int,
    *,
    by: str,
    now: datetime,
    to: Sequence[str] | None = None,
) -> SendOutcome:
    """Mail the stored report to ``to`` (default: the client's recipients) and record it.

    A refused or unreachable server is an outcome (recorded, returned), not an exception;
    UsageError only when there is nobody to send to or no such report.
    """
    outgoing = await dbthread.session_aside(_outgoing, smtp, report_id, to)
    try:
        refused = await send(smtp, outgoing.message)
    except DeliveryError as exc:
        outcome = SendOutcome(report_id, [], visible(str(exc), MAX_ERROR), permanent=exc.permanent)
        failed = outgoing.recipients
    else:
        accepted = [r for r in outgoing.recipients if r not in refused]
        clipped = {a: visible(why, 400) for a, why in refused.items()}
        outcome = SendOutcome(report_id, accepted, None, clipped)
        failed = []
    await dbthread.session_aside(_record_all, outcome, failed, by, now)
    return outcome


def _record_all(
    session: Session, outcome: SendOutcome, failed: list[str], by: str, at: datetime
) -> None:
    report = archive.get(session, outcome.report_id)
    if outcome.accepted:
        archive.record_send(session, report, at=at, recipients=outcome.accepted, by=by, error=None)
    if outcome.error is not None:
        archive.record_send(
            session,
            report,
            at=at,
            recipients=failed,
            by=by,
            error=outcome.error,
            permanent=outcome.permanent,
        )
    elif outcome.refused:
        said = "; ".join(f"{a}: {why}" for a, why in outcome.refused.items())
        archive.record_send(
            session, report, at=at, recipients=list(outcome.refused), by=by, error=said
        )

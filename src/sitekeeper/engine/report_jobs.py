"""Scheduled report delivery in ``serve``: due reports are rendered, archived and mailed.

Which reports are due is ``reports.schedule``'s to say (the archive is its memory, so a
restart sends nothing twice). Several ``serve`` processes on one database each look, and
a lease per client (``report:<client id>``) lets exactly one of them make and send that
client's report; the others find it delivered when they look again.

Many reports are due at once on the first working day: each one's figures and HTML are
made in the database thread, its PDF printed in ``reports.printer``'s processes (one per
core, bounded in memory), as many reports at a time as there are printers; the printers
end when the batch is done.

A report that cannot be rendered (no Pango, a template error) is tried again after the
same backoff as a failed send, up to ``report_max_attempts``; a send the server refuses
for good (a 5xx answer, a failed login) is not retried: a person resends it once the
cause is fixed. Both are this process's memory (a restart tries once more); a failed
send is also the archive's, so the attempts stay capped across restarts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from sitekeeper.config import Settings
from sitekeeper.errors import SitekeeperError
from sitekeeper.reports.archive import Draft, draft, keep, stored
from sitekeeper.reports.delivery import SendOutcome, deliver
from sitekeeper.reports.period import Period
from sitekeeper.reports.printer import Printer
from sitekeeper.reports.schedule import Due, due_reports, may_try
from sitekeeper.reports.smtp import SmtpSettings
from sitekeeper.store.dbthread import DbThread
from sitekeeper.store.leases import Leases
from sitekeeper.store.report_archive import SCHEDULE
from sitekeeper.store.tables import Client

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=30)  # longer than rendering and sending one client's report

_Key = tuple[int, date, date]  # client id, the period's first and last date


def _key(client_id: int, period: Period) -> _Key:
    return (client_id, period.first, period.last)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ReportJobs:
    """Makes and sends the reports the plans make due; one instance per process."""

    def __init__(
        self,
        dbthread: DbThread,
        settings: Settings,
        leases: Leases,
        *,
        smtp: SmtpSettings | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.dbthread = dbthread
        self.settings = settings
        self.leases = leases
        self.smtp = smtp if smtp is not None else SmtpSettings.from_settings(settings)
        self.clock = clock
        self._warned = False
        self._warned_links = False  # no public URL: said once per process
        self._unrendered: dict[_Key, tuple[int, datetime]] = {}  # failed renders, last one
        self._refused: set[_Key] = set()  # the server refused the send for good
        self.printer = Printer(
            settings.report_print_workers or None, memory_mb=settings.report_print_memory_mb
        )

    async def send_due(self) -> list[SendOutcome]:
        """Make and send every report due now (those this process got the lease for)."""
        if self.smtp is None:
            if not self._warned:
                log.info(
                    "reports are not mailed: set SITEKEEPER_SMTP_HOST and SITEKEEPER_SMTP_SENDER"
                )
                self._warned = True
            return []
        now = self.clock()
        periods: dict[int, Period] = {}

        def due(session: Session) -> list[int]:
            found: list[Due] = due_reports(
                session,
                now,
                hour=self.settings.report_hour,
                max_attempts=self.settings.report_max_attempts,
            )
            found = [d for d in found if self._may_try(d, now)]
            periods.clear()
            periods.update({d.client_id: d.period for d in found})
            return list(periods)

        smtp = self.smtp
        at_once = asyncio.Semaphore(self.printer.workers)

        async def one(client_id: int) -> SendOutcome | None:
            async with at_once:
                return await self._one(smtp, client_id, periods[client_id], now)

        async with self.leases.claim("report", LEASE, due) as mine:
            try:
                made = await asyncio.gather(*(one(c) for c in mine))
            finally:
                if mine:  # the printers' memory back until the next batch
                    await asyncio.to_thread(self.printer.close)
        return [outcome for outcome in made if outcome is not None]

    async def _archived(self, client_id: int, period: Period, now: datetime) -> int:
        """The period's stored report, or a new one: its figures and HTML made in the
        database thread, its PDF printed in a printer process, then stored."""
        found = await self.dbthread.session_aside(_stored, client_id, period)
        if found is not None:
            return found
        made = await self.dbthread.session_aside(_draft, client_id, period, now)
        if made.links_warning is not None and not self._warned_links:
            log.warning("reports are made now, but %s", made.links_warning)
            self._warned_links = True
        pdf = await self.printer.print(made.html)
        return await self.dbthread.session_aside(_keep, client_id, period, made, pdf=pdf, now=now)

    def _may_try(self, due: Due, now: datetime) -> bool:
        key = _key(due.client_id, due.period)
        if key in self._refused:
            return False
        failed, last_try = self._unrendered.get(key, (0, None))
        return may_try(failed, last_try, now, self.settings.report_max_attempts)

    async def _one(
        self, smtp: SmtpSettings, client_id: int, period: Period, now: datetime
    ) -> SendOutcome | None:
        key = _key(client_id, period)
        try:
            report_id = await self._archived(client_id, period, now)
        except Exception:
            # A report that cannot be rendered must not stop the others (nor the loop);
            # it is tried again after the backoff, and the log says why.
            failed = self._unrendered.get(key, (0, now))[0] + 1
            self._unrendered[key] = (failed, now)
            log.exception(
                "the report of client %d for %s could not be made (try %d of %d)",
                client_id,
                period.label,
                failed,
                self.settings.report_max_attempts,
            )
            return None
        self._unrendered.pop(key, None)
        outcome = await deliver(self.dbthread, smtp, report_id, by=SCHEDULE, now=self.clock())
        if outcome.ok:
            log.info("report %d sent to %s", report_id, ", ".join(outcome.accepted))
        elif outcome.permanent:
            self._refused.add(key)
            log.warning(
                "report %d not sent, and not retried (resend it once that is fixed): %s",
                report_id,
                outcome.error,
            )
        else:
            log.warning("report %d not sent (retried later): %s", report_id, outcome.error)
        return outcome


def _stored(session: Session, client_id: int, period: Period) -> int | None:
    found = stored(session, client_id, period)
    return found.id if found is not None else None


def _draft(session: Session, client_id: int, period: Period, now: datetime) -> Draft:
    client = session.get(Client, client_id)
    if client is None:
        raise SitekeeperError(f"client {client_id} is gone")
    return draft(session, client, period, now, None)


def _keep(
    session: Session, client_id: int, period: Period, made: Draft, *, pdf: bytes, now: datetime
) -> int:
    report, _new = keep(session, client_id, period, made, pdf=pdf, now=now, by=SCHEDULE)
    return report.id

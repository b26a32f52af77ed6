"""Persists check outcomes in batches: raw results, site state, incidents, journal, alerts.

Batching is what makes 170 checks/s cheap on SQLite: one transaction per
flush instead of one per check. Incident transitions, journal events and
their alerts' facts go into the same transaction, so an alert is never lost
between "incident opened" and "notification queued"; the alert is worded and
its channels decrypted later, by the outbox, outside this transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from sitekeeper.domain.checks import CheckResult
from sitekeeper.domain.events import EventKind
from sitekeeper.domain.incidents import Transition
from sitekeeper.engine.alerts import Alerter
from sitekeeper.engine.waiting import wait_event
from sitekeeper.store import journal
from sitekeeper.store.dbthread import DbThread
from sitekeeper.store.monitoring import CheckTarget, close_incident, open_incident, store_results

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Outcome:
    """A confirmed check result and the incident transitions it implies."""

    target: CheckTarget
    result: CheckResult
    transitions: list[Transition]


def apply_transitions(session: Session, outcome: Outcome, alerter: Alerter | None) -> None:
    """Open/close incidents, journal them and queue their alerts, in ``session``."""
    target, result = outcome.target, outcome.result
    at = result.checked_at
    for transition in outcome.transitions:
        if transition.action == "open":
            try:
                with session.begin_nested():
                    incident = open_incident(
                        session, target.site_id, transition.kind, transition.cause, at
                    )
            except IntegrityError:
                continue  # another worker opened it first: one incident, one alert
            kind = EventKind.INCIDENT_OPENED
        else:
            closed = close_incident(session, target.site_id, transition.kind, at)
            if closed is None:
                continue
            incident = closed
            kind = EventKind.INCIDENT_CLOSED
        data: dict[str, Any] = {
            "kind": str(transition.kind),
            "cause": transition.cause,
            "url": target.url,
        }
        if transition.action == "close":
            data["duration_s"] = int((at - incident.opened_at).total_seconds())
        event = journal.record(
            session,
            kind,
            site_id=target.site_id,
            client_id=target.client_id,
            incident_id=incident.id,
            data=data,
            ts=at,
        )
        if alerter is not None:
            alerter.incident_changed(session, event, incident, target, result)


def persist(session: Session, outcomes: list[Outcome], alerter: Alerter | None) -> int:
    """Write a batch of outcomes in one transaction; returns how many results."""
    count = store_results(session.connection(), ((o.target.site_id, o.result) for o in outcomes))
    for outcome in outcomes:
        if outcome.transitions:
            apply_transitions(session, outcome, alerter)
    return count


class Recorder:
    """Buffers outcomes and flushes them on a short period or when the buffer fills."""

    def __init__(
        self,
        dbthread: DbThread,
        alerter: Alerter | None,
        *,
        period: float = 0.5,
        max_batch: int = 2000,
    ) -> None:
        self._db = dbthread
        self._alerter = alerter
        self._period = period
        self._max_batch = max_batch
        self._buffer: list[Outcome] = []
        self._wake = asyncio.Event()
        self._flushed = asyncio.Condition()
        self.stored = 0

    def add(self, outcome: Outcome) -> None:
        """Queue one outcome for the next flush."""
        self._buffer.append(outcome)
        if len(self._buffer) >= self._max_batch or outcome.transitions:
            self._wake.set()

    async def flush(self) -> bool:
        """Write everything buffered now; False (results kept for the next try) on failure."""
        batch, self._buffer = self._buffer, []
        if not batch:
            return True
        try:
            written = await self._db.session(persist, batch, self._alerter)
        except SQLAlchemyError:
            # Keep the results for the next flush rather than lose them (a locked
            # or unreachable database is usually transient); logged every time.
            log.exception("storing %d check results failed; will retry", len(batch))
            self._buffer[:0] = batch
            return False
        self.stored += written
        async with self._flushed:
            self._flushed.notify_all()
        return True

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate`` holds, re-testing it after every flush.

        For whoever needs to act once results are stored (tests, the web UI's
        live view) without polling the database on a timer.
        """
        async with self._flushed:
            await self._flushed.wait_for(predicate)

    async def run(self, stop: asyncio.Event) -> None:
        """Flush periodically until ``stop`` is set, then flush what is left."""
        while not stop.is_set():
            await wait_event(self._wake, self._period)
            self._wake.clear()
            await self.flush()
        await self.flush()

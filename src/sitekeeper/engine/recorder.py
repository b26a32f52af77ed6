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
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from sitekeeper.domain import quorum
from sitekeeper.domain.checks import CheckResult
from sitekeeper.domain.events import EventKind
from sitekeeper.domain.incidents import Transition, describe_failure
from sitekeeper.domain.quorum import LocationView
from sitekeeper.engine.alerts import Alerter
from sitekeeper.engine.waiting import wait_event
from sitekeeper.store import journal
from sitekeeper.store.dbthread import DbThread
from sitekeeper.store.locations import DEFAULT, heard_from, latest_views
from sitekeeper.store.monitoring import (
    CheckTarget,
    close_incident,
    open_incident,
    open_outages,
    store_raw,
    store_state,
)

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Outcome:
    """A confirmed check result and the incident transitions it implies."""

    target: CheckTarget
    result: CheckResult
    transitions: list[Transition]
    # Checked from several locations: up/down is decided with the others' results
    # once this one is stored (domain.quorum); ``transitions`` then holds only TLS ones.
    quorum: bool = False


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


def persist(
    session: Session,
    outcomes: list[Outcome],
    alerter: Alerter | None,
    location: str = DEFAULT,
) -> int:
    """Write a batch of outcomes taken from ``location`` in one transaction; returns how
    many results."""
    conn = session.connection()
    results = [(o.target.site_id, o.result) for o in outcomes]
    count = store_raw(conn, results, location)
    decided, judged = quorum_decisions(conn, [o for o in outcomes if o.quorum], location)
    store_state(conn, results, judged)
    if outcomes:
        heard_from(conn, location, max(o.result.checked_at for o in outcomes))
    for outcome in outcomes:
        moves = decided.get(id(outcome), []) + outcome.transitions
        if moves:
            apply_transitions(session, replace(outcome, transitions=moves), alerter)
    return count


_JUDGED_UP = {"down": False, "up": True, "unreachable": True}  # pending: as it was


def quorum_decisions(
    conn: Connection, outcomes: list[Outcome], location: str
) -> tuple[dict[int, list[Transition]], dict[int, bool]]:
    """Up/down transitions of sites checked from several locations (keyed by ``id`` of
    the outcome) and their judged state (by site), from every location's latest stored
    result, this batch's included.

    Open outages are read afresh, since another location may have opened or closed
    one since the targets were loaded; a success on a site with none changes nothing,
    so only failures and open outages have the recent results read. (A failure seen
    elsewhere meanwhile is judged at that location's next failure.)
    """
    if not outcomes:
        return {}, {}
    open_now = open_outages(conn, [o.target.site_id for o in outcomes])
    by_interval: dict[int, list[Outcome]] = {}
    for outcome in outcomes:
        if not outcome.result.up or outcome.target.site_id in open_now:
            by_interval.setdefault(outcome.target.interval, []).append(outcome)
    decided: dict[int, list[Transition]] = {}
    judged: dict[int, bool] = {}
    for interval, group in by_interval.items():
        at = max(o.result.checked_at for o in group)
        views = latest_views(conn, [o.target.site_id for o in group], at, interval)
        for outcome in group:
            result, target = outcome.result, outcome.target
            cause = None if result.up else describe_failure(result)
            mine = LocationView(location, result.up, result.checked_at, cause=cause)
            seen = [
                replace(v, cause=cause) if v.location == location else v
                for v in views.get(target.site_id, [mine])
            ]
            said = quorum.verdict(seen, result.checked_at, interval)
            decided[id(outcome)] = quorum.transitions(
                said, open_now.get(target.site_id, frozenset())
            )
            up = _JUDGED_UP.get(said.state, target.previously_up)
            if up is not None:
                judged[target.site_id] = up
    return decided, judged


class Recorder:
    """Buffers outcomes and flushes them on a short period or when the buffer fills."""

    def __init__(
        self,
        dbthread: DbThread,
        alerter: Alerter | None,
        *,
        period: float = 0.5,
        max_batch: int = 2000,
        location: str = DEFAULT,
    ) -> None:
        self._db = dbthread
        self._location = location
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
        prompt = outcome.transitions or (outcome.quorum and not outcome.result.up)
        if len(self._buffer) >= self._max_batch or prompt:
            self._wake.set()

    async def flush(self) -> bool:
        """Write everything buffered now; False (results kept for the next try) on failure."""
        batch, self._buffer = self._buffer, []
        if not batch:
            return True
        try:
            written = await self._db.session(persist, batch, self._alerter, self._location)
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

"""The notification outbox: alerts are stored first, then worded, delivered and retried.

An incident's alert is queued as facts (``queue``) in the transaction that
records the incident and its journal event, so neither exists without the
other; ``word_queued`` later turns each into one row per channel URL (the
message in the client's language, the URL decrypted from the client's and the
global settings and stored encrypted again), in one short transaction per
alert, outside the check results' transaction. Alerts worded where they arise
(backups, software intel) are queued per URL at once (``enqueue``).

``deliver_due`` words what is queued, then sends the due rows and
records every outcome: ``sent`` with a ``notification.sent`` journal event, a
retry with exponential backoff, or — after ``max_attempts`` or a permanent
error — ``failed`` with a ``notification.failed`` event and an ERROR log, so
no alert is ever lost silently.

Claiming is a compare-and-set on (status, attempts, next_attempt_at): the
claim bumps ``attempts`` and pushes ``next_attempt_at`` out by a short lease,
which the deliverer renews while its sends run, so any number of deliverers
(processes, machines; SQLite or PostgreSQL) send each row once. The claim and
the outcome are separate short transactions; nothing is held open while a
message is on the network. A deliverer that dies (kill -9, a lost host) stops
renewing: its rows are taken over once the lease runs out, within
``CLAIM_LEASE``, and that attempt counts, so a message that crashes its sender
cannot loop for ever. A deliverer that dies after the channel accepted a
message but before its outcome was stored makes the message arrive twice:
delivery is at-least-once (docs/architecture.md, "Outbox").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal

from sqlalchemy.orm import Session

from sitekeeper.domain.events import EventKind
from sitekeeper.errors import DeliveryError, SitekeeperError
from sitekeeper.notify import severity
from sitekeeper.notify.inflight import CLAIM_LEASE, Claims, Outcomes
from sitekeeper.notify.messages import Message
from sitekeeper.notify.registry import Notifier, Notifiers, channel_kind
from sitekeeper.notify.severity import Severity
from sitekeeper.notify.wording import AlertFacts, word
from sitekeeper.store import journal
from sitekeeper.store import outbox as queries
from sitekeeper.store.channels import channel_urls
from sitekeeper.store.database import Database
from sitekeeper.store.dbthread import DbThread
from sitekeeper.store.outbox import FAILED, PENDING, SENT
from sitekeeper.store.tables import Event, Notification, Site
from sitekeeper.vault import Vault

log = logging.getLogger(__name__)

BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
_ERROR_MAX = 2000


Outcome = Literal["sent", "retrying", "failed", "lost"]


@dataclass(slots=True)
class DeliveryReport:
    """Notification ids by what happened to them in one ``deliver_due`` run."""

    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    # Sent, but our claim had expired and another deliverer owns the row now.
    lost: list[int] = field(default_factory=list)

    def add(self, outcome: Outcome, row_id: int) -> None:
        """File ``row_id`` under ``outcome``."""
        {"sent": self.sent, "retrying": self.retrying, "failed": self.failed, "lost": self.lost}[
            outcome
        ].append(row_id)


@dataclass(frozen=True, slots=True)
class _Claim:
    id: int
    attempts: int  # including this one
    target: str
    title: str
    body: str
    severity: Severity


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after ``attempts`` failures: 30 s, 1 min, 2 min, … ≤ 1 h."""
    if attempts < 1:
        return timedelta(0)
    return min(BACKOFF_FIRST * (1 << min(attempts - 1, 16)), BACKOFF_MAX)


def enqueue(
    session: Session,
    *,
    urls: Sequence[str],
    title: str,
    body: str,
    event_id: int | None,
    vault: Vault,
    now: datetime,
) -> list[Notification]:
    """Queue one worded alert for each distinct URL, in the caller's transaction.

    Queuing with the event that caused the alert means that either both are
    stored or neither is: an event can never be recorded without its alert.
    """
    targets = [vault.encrypt(url) for url in dict.fromkeys(u.strip() for u in urls if u.strip())]
    return queries.add_pending(
        session, targets=targets, title=title, body=body, event_id=event_id, now=now
    )


def client_of(site: Site) -> tuple[str | None, str, Sequence[str]]:
    """The site's client as an alert needs it: name, language, encrypted alert URLs."""
    client = site.client
    return (client.name, client.language, client.alert_urls) if client else (None, "en", [])


def enqueue_for_client(
    session: Session,
    client: tuple[str | None, str, Sequence[str]],
    word_for: Callable[[str | None, str], Message],
    *,
    vault: Vault,
    global_urls: Sequence[str],
    event_id: int | None,
    now: datetime,
) -> None:
    """Queue one alert to the global channels and those of ``client`` (name, language,
    its encrypted alert URLs), worded only when it goes somewhere."""
    name, language, stored = client
    urls = channel_urls(session, vault, global_urls, stored, name)
    if urls:
        message = word_for(name, language)
        enqueue(
            session,
            urls=urls,
            title=message.title,
            body=message.body,
            event_id=event_id,
            vault=vault,
            now=now,
        )


def queue(session: Session, facts: AlertFacts, *, event_id: int, now: datetime) -> None:
    """Queue an alert's facts with the event that caused it, in the caller's transaction:
    no wording, no decryption, one row (``word_queued`` does the rest later)."""
    queries.add_queued(session, facts=facts.to_json(), event_id=event_id, now=now)


async def word_queued(
    db: Database, vault: Vault, global_urls: Sequence[str], *, now: datetime, batch: int = 200
) -> int:
    """Word every queued alert into one pending row per channel; returns how many alerts.

    Each alert in its own transaction: the queued row is deleted in the same one
    that adds its channel rows, so an alert is worded once whoever runs this, and a
    crash leaves it queued. An alert with no channel left simply goes away.
    """
    dbthread = DbThread(db)  # beside any writer thread: delivery must not wait behind results
    waiting = await dbthread.session_aside(queries.queued, batch)
    worded = 0
    for row_id, event_id, facts in waiting:
        if await dbthread.session_aside(
            _word_one, row_id, event_id, facts, vault=vault, global_urls=global_urls, now=now
        ):
            worded += 1
    return worded


def _word_one(
    session: Session,
    row_id: int,
    event_id: int | None,
    facts_json: str,
    *,
    vault: Vault,
    global_urls: Sequence[str],
    now: datetime,
) -> bool:
    """Word one queued alert; False if another deliverer already did."""
    if not queries.take_queued(session, row_id):
        return False
    facts = AlertFacts.from_json(facts_json)
    name, language, stored = queries.alert_client(session, facts.client_id)
    enqueue_for_client(
        session,
        (name, language, stored),
        lambda client, lang: word(facts, client=client, language=lang),
        vault=vault,
        global_urls=global_urls,
        event_id=event_id,
        now=now,
    )
    return True


async def deliver_due(
    db: Database,
    vault: Vault,
    *,
    now: datetime,
    sender: Notifier | None = None,
    global_urls: Sequence[str] = (),
    max_attempts: int = 8,
    batch: int = 200,
    concurrency: int = 20,
) -> DeliveryReport:
    """Send every pending notification due at ``now`` and record each outcome.

    Queued alerts are worded first (``global_urls``: the channels from the
    environment, which every alert goes to). Safe to run from several deliverers
    at once. Call it again (e.g. every few seconds) until nothing is due; rows
    not yet due are left alone. Each claim and each outcome is its own short
    transaction, beside the database thread; none is open while a message is sent.
    """
    await word_queued(db, vault, global_urls, now=now, batch=batch)
    if sender is None:
        sender = Notifiers()  # each channel's kind of notifier, public addresses only
    dbthread = DbThread(db)  # its own thread: outcomes and renewals never wait behind sends
    held = Claims(dbthread, now)
    outcomes: Outcomes[tuple[_Claim, DeliveryError | None], Outcome] = Outcomes(
        dbthread, partial(_finish_all, vault=vault, now=now, max_attempts=max_attempts)
    )
    report = DeliveryReport()
    try:
        claims: list[_Claim] = []
        for row_id, attempts in await dbthread.session_aside(queries.due, now, batch):
            taken = await dbthread.session_aside(
                _claim_one, row_id, attempts, vault=vault, now=now, max_attempts=max_attempts
            )
            if taken is not None:
                held.hold(taken.id, taken.attempts)
                claims.append(taken)
        limit = asyncio.Semaphore(concurrency)

        async def one(claim: _Claim) -> None:
            # The slot is freed once the outcome is stored, not when the send returns: sends
            # never run ahead of their outcomes, so at most ``concurrency`` messages are
            # out without an outcome at any moment (what a kill -9 would send twice).
            async with limit:
                error = await _attempt(sender, vault, claim)
                await held.release(claim.id)
                report.add(await outcomes.store((claim, error)), claim.id)

        await asyncio.gather(*(one(c) for c in claims))
    finally:
        await held.close()
        await outcomes.close()
        dbthread.close()
    return report


def _claim_one(
    session: Session, row_id: int, attempts: int, *, vault: Vault, now: datetime, max_attempts: int
) -> _Claim | None:
    """Claim one due row by compare-and-set; None if another deliverer won it (or it is
    given up here: a deliverer died mid-send on its last attempt)."""
    if not claim(session, row_id, seen_attempts=attempts, now=now):
        return None
    row = queries.get(session, row_id)
    assert row is not None  # we hold the claim
    if attempts >= max_attempts:
        source, _ = queries.source_event(session, row.event_id)
        _mark_failed(
            session, vault, row, now, "no outcome recorded for the last attempt", source=source
        )
        return None
    severity = _severity(session, row.event_id)
    return _Claim(row.id, row.attempts, row.target, row.title, row.body, severity)


def _severity(session: Session, event_id: int | None) -> Severity:
    """The alert's severity, from the journal event (and incident) that caused it."""
    event, incident = queries.source_event(session, event_id)
    if event is None:
        return severity.of_event(None)
    return severity.of_event(event.kind, incident.kind if incident else None)


def claim(session: Session, row_id: int, *, seen_attempts: int, now: datetime) -> bool:
    """Compare-and-set: take a due row if nobody else took it since we read it (for
    ``CLAIM_LEASE``, which ``deliver_due`` renews while the send runs)."""
    return queries.claim(session, row_id, seen_attempts=seen_attempts, now=now, lease=CLAIM_LEASE)


async def _attempt(sender: Notifier, vault: Vault, claim: _Claim) -> DeliveryError | None:
    """Try one send; the error (if any) instead of an exception, for ``_finish``."""
    try:
        url = vault.decrypt(claim.target)
    except SitekeeperError as exc:
        return DeliveryError(str(exc), permanent=True)
    try:
        await sender.send(url, title=claim.title, body=claim.body, severity=claim.severity)
    except DeliveryError as exc:
        return exc
    except Exception as exc:  # the outbox is the one loop that catches; record, never drop
        log.exception("notification %d: the %s sender crashed", claim.id, channel_kind(url))
        return DeliveryError(f"{type(exc).__name__}: {exc}")
    return None


def _finish_all(
    session: Session,
    items: list[tuple[_Claim, DeliveryError | None]],
    *,
    vault: Vault,
    now: datetime,
    max_attempts: int,
) -> list[Outcome]:
    """Record the outcomes of several claimed sends in one transaction, with a few
    statements whatever their number: the rows locked and their journal events read in
    bulk, the writes sent together at commit (so a message the channel has is marked
    sent quickly: the at-least-once window)."""
    rows = queries.lock_many(session, [claim.id for claim, _ in items])
    sources = queries.events(session, [r.event_id for r in rows.values() if r.event_id])
    outcomes: list[Outcome] = []
    for claim, error in items:
        row = rows.get(claim.id)
        source = sources.get(row.event_id) if row is not None and row.event_id else None
        outcomes.append(
            _finish(
                session, vault, row, source, claim, error=error, now=now, max_attempts=max_attempts
            )
        )
    return outcomes


def _finish(
    session: Session,
    vault: Vault,
    row: Notification | None,
    source: Event | None,
    claim: _Claim,
    *,
    error: DeliveryError | None,
    now: datetime,
    max_attempts: int,
) -> Outcome:
    """Record the outcome of one claimed send (``row``: its row, locked, None if gone;
    ``source``: the journal event the alert came from)."""
    if row is None or row.status != PENDING or row.attempts != claim.attempts:
        # Our lease ran out and another deliverer took over: its outcome counts.
        log.warning("notification %d: claim lost before the outcome was stored", claim.id)
        return "lost"
    if error is None:
        _mark_sent(session, vault, row, now, source)
        return "sent"
    if error.permanent or row.attempts >= max_attempts:
        _mark_failed(session, vault, row, now, str(error), source=source)
        return "failed"
    row.last_error = str(error)[:_ERROR_MAX]
    row.next_attempt_at = now + backoff(row.attempts)
    log.warning(
        "notification %d via %s failed (attempt %d of %d), retrying at %s: %s",
        row.id,
        _channel_of(vault, row),
        row.attempts,
        max_attempts,
        row.next_attempt_at.isoformat(),
        row.last_error,
    )
    return "retrying"


def _channel_of(vault: Vault, row: Notification) -> str:
    """The row's channel scheme (not secret), or ``unknown`` if the URL cannot be decrypted."""
    try:
        return channel_kind(vault.decrypt(row.target))
    except SitekeeperError:
        return "unknown"


def _journal(
    session: Session,
    kind: EventKind,
    row: Notification,
    now: datetime,
    source: Event | None,
    **data: Any,
) -> None:
    """A journal event tied to the alert's originating event ``source`` (site, client,
    incident)."""
    journal.record(
        session,
        kind,
        site_id=source.site_id if source else None,
        client_id=source.client_id if source else None,
        incident_id=source.incident_id if source else None,
        data={"notification_id": row.id, "event_id": row.event_id, "attempts": row.attempts} | data,
        ts=now,
        flush=False,  # written with the outcomes' batch at commit
    )


def _mark_sent(
    session: Session, vault: Vault, row: Notification, now: datetime, source: Event | None
) -> None:
    row.status = SENT
    row.sent_at = now
    row.last_error = None
    channel = _channel_of(vault, row)
    _journal(session, EventKind.NOTIFICATION_SENT, row, now, source, channel=channel)


def _mark_failed(
    session: Session,
    vault: Vault,
    row: Notification,
    now: datetime,
    error: str,
    *,
    source: Event | None,
) -> None:
    row.status = FAILED
    row.last_error = error[:_ERROR_MAX]
    _journal(
        session,
        EventKind.NOTIFICATION_FAILED,
        row,
        now,
        source,
        channel=_channel_of(vault, row),
        error=row.last_error,
    )
    log.error(
        "notification %d (event %s) via %s FAILED after %d attempts, giving up: %s",
        row.id,
        row.event_id,
        _channel_of(vault, row),
        row.attempts,
        row.last_error,
    )

"""Named queries of the notification outbox (``notify.outbox`` holds the delivery logic).

A row is ``queued`` (an alert's facts, not yet worded: its body is their JSON,
its target empty), then one ``pending`` row per channel (encrypted URL, title,
body) until it is ``sent`` or ``failed``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, tuple_, update
from sqlalchemy.orm import Session

from sitekeeper.store.tables import Client, Event, Incident, Notification

QUEUED, PENDING, SENT, FAILED = "queued", "pending", "sent", "failed"
TITLE_MAX = 500


def add_pending(
    session: Session,
    *,
    targets: Sequence[str],
    title: str,
    body: str,
    event_id: int | None,
    now: datetime,
) -> list[Notification]:
    """One pending row per (already encrypted) target, in the caller's transaction."""
    rows = [
        Notification(
            event_id=event_id,
            target=target,
            title=title[:TITLE_MAX],
            body=body,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for target in targets
    ]
    session.add_all(rows)
    session.flush()
    return rows


def add_queued(session: Session, *, facts: str, event_id: int, now: datetime) -> Notification:
    """A queued alert (its facts as JSON), in the caller's transaction."""
    row = Notification(
        event_id=event_id,
        target="",
        title="",
        body=facts,
        status=QUEUED,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def queued(session: Session, limit: int) -> list[tuple[int, int | None, str]]:
    """(id, event id, facts) of the oldest queued alerts."""
    rows = session.execute(
        select(Notification.id, Notification.event_id, Notification.body)
        .where(Notification.status == QUEUED)
        .order_by(Notification.id)
        .limit(limit)
    )
    return [(r[0], r[1], r[2]) for r in rows]


def take_queued(session: Session, row_id: int) -> bool:
    """Delete a queued row if it is still there: whoever deletes it words it (once)."""
    result = session.execute(
        delete(Notification)
        .where(Notification.id == row_id, Notification.status == QUEUED)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount == 1


def alert_client(session: Session, client_id: int | None) -> tuple[str | None, str, list[str]]:
    """(name, language, stored alert URLs) of an alert's client; none for a site without."""
    client = session.get(Client, client_id) if client_id is not None else None
    if client is None:
        return None, "en", []
    return client.name, client.language or "en", list(client.alert_urls or [])


def due(session: Session, now: datetime, limit: int) -> list[tuple[int, int]]:
    """(id, attempts) of pending rows due at ``now``, oldest first."""
    rows = session.execute(
        select(Notification.id, Notification.attempts)
        .where(Notification.status == PENDING, Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
    )
    return [(r[0], r[1]) for r in rows]


def claim(
    session: Session, row_id: int, *, seen_attempts: int, now: datetime, lease: timedelta
) -> bool:
    """Compare-and-set: take a due row if nobody else took it since we read it.

    The update only matches while the row is still pending, due, and at the
    attempt count we read; the winner bumps the count and moves the row out of
    the due window, so every other deliverer's update matches nothing.
    """
    result = session.execute(
        update(Notification)
        .where(
            Notification.id == row_id,
            Notification.status == PENDING,
            Notification.attempts == seen_attempts,
            Notification.next_attempt_at <= now,
        )
        .values(attempts=seen_attempts + 1, next_attempt_at=now + lease)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount == 1


def renew_claims(session: Session, claims: Mapping[int, int], *, until: datetime) -> int:
    """Extend the claims (row id -> attempts at the claim) a deliverer still sends to
    ``until``; a row finished or taken over since (attempts moved on) is left alone."""
    if not claims:
        return 0
    result = session.execute(
        update(Notification)
        .where(
            Notification.status == PENDING,
            tuple_(Notification.id, Notification.attempts).in_(list(claims.items())),
        )
        .values(next_attempt_at=until)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount


def get(session: Session, row_id: int, *, for_update: bool = False) -> Notification | None:
    """One outbox row (locked for the outcome's update when asked)."""
    return session.get(Notification, row_id, with_for_update=for_update)


def lock_many(session: Session, row_ids: Sequence[int]) -> dict[int, Notification]:
    """Outbox rows by id, locked for their outcomes' update (in id order: no deadlock)."""
    rows = session.scalars(
        select(Notification)
        .where(Notification.id.in_(row_ids))
        .order_by(Notification.id)
        .with_for_update()
    )
    return {row.id: row for row in rows}


def events(session: Session, event_ids: Sequence[int]) -> dict[int, Event]:
    """The journal events alerts came from, by id, in one query."""
    return {e.id: e for e in session.scalars(select(Event).where(Event.id.in_(set(event_ids))))}


def source_event(session: Session, event_id: int | None) -> tuple[Event | None, Incident | None]:
    """The journal event an alert came from, and its incident (for severity and journaling)."""
    event = session.get(Event, event_id) if event_id is not None else None
    if event is None or event.incident_id is None:
        return event, None
    return event, session.get(Incident, event.incident_id)

"""The append-only journal: the one way events are written."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from sitekeeper.store.tables import Event


def record(
    session: Session,
    kind: str,
    *,
    site_id: int | None = None,
    client_id: int | None = None,
    incident_id: int | None = None,
    data: dict[str, Any] | None = None,
    ts: datetime | None = None,
    flush: bool = True,
) -> Event:
    """Append one event, committed with the session; flushed at once (so its id is known)
    unless ``flush`` is False (many events written together at the next flush)."""
    event = Event(
        ts=ts or datetime.now(UTC),
        kind=str(kind),
        site_id=site_id,
        client_id=client_id,
        incident_id=incident_id,
        data=data or {},
    )
    session.add(event)
    if flush:
        session.flush()
    return event

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
) -> Event:
    """Append one event (flushed, so its id is known); committed with the session."""
    event = Event(
        ts=ts or datetime.now(UTC),
        kind=str(kind),
        site_id=site_id,
        client_id=client_id,
        incident_id=incident_id,
        data=data or {},
    )
    session.add(event)
    session.flush()
    return event

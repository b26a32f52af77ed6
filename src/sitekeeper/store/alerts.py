"""Named queries of incident alerting: which open incidents are due a reminder."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sitekeeper.domain.incidents import IncidentKind
from sitekeeper.store.tables import Incident


def reminders_due(session: Session, now: datetime, every: timedelta) -> list[Incident]:
    """Open down incidents whose last alert is at least ``every`` old."""
    return list(
        session.scalars(
            select(Incident).where(
                Incident.closed_at.is_(None),
                Incident.kind == str(IncidentKind.DOWN),
                Incident.last_alert_at.is_not(None),
                Incident.last_alert_at <= now - every,
            )
        )
    )

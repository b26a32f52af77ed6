"""Journal event kinds: a stable vocabulary that reports and timelines are built from."""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    """What happened. Add new kinds; never rename one that has been stored."""

    INCIDENT_OPENED = "incident.opened"
    INCIDENT_CLOSED = "incident.closed"
    INCIDENT_REMINDER = "incident.reminder"
    NOTIFICATION_SENT = "notification.sent"
    NOTIFICATION_FAILED = "notification.failed"
    SITE_ADDED = "site.added"
    SITE_REMOVED = "site.removed"
    CHECKS_ROLLED_UP = "checks.rolled_up"
    LOCATION_SILENT = "location.silent"  # a check location's results stopped (domain.quorum)
    LOCATION_BACK = "location.back"

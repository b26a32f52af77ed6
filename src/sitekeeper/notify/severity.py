"""How bad an alert is, as Apprise's notification type: failure, warning, success or info.

Receivers use the type: Slack and Teams colour the message, a JSON webhook gets
it as ``type``, and a team may route ``failure`` to its pager. It follows from the
journal event that caused the alert, so it needs no column of its own and an
alert queued before this existed is typed right when it is sent.
"""

from __future__ import annotations

from enum import StrEnum

from sitekeeper.domain.backup_events import BackupEventKind
from sitekeeper.domain.events import EventKind
from sitekeeper.domain.incidents import IncidentKind
from sitekeeper.domain.intel_events import IntelEventKind
from sitekeeper.domain.update_events import UpdateEventKind


class Severity(StrEnum):
    """Apprise's ``NotifyType`` values."""

    FAILURE = "failure"
    WARNING = "warning"
    SUCCESS = "success"
    INFO = "info"


_BY_EVENT: dict[str, Severity] = {
    EventKind.INCIDENT_CLOSED: Severity.SUCCESS,
    EventKind.INCIDENT_REMINDER: Severity.FAILURE,
    BackupEventKind.BACKUP_FAILED: Severity.FAILURE,
    BackupEventKind.RESTORE_FAILED: Severity.FAILURE,
    BackupEventKind.BACKUP_VERIFICATION_FAILED: Severity.FAILURE,
    IntelEventKind.SOFTWARE_ALERT: Severity.WARNING,  # act before attackers do; nothing is down
    UpdateEventKind.FAILED: Severity.FAILURE,  # broken and not put back: a human is needed now
    UpdateEventKind.INTERRUPTED: Severity.FAILURE,
    UpdateEventKind.ROLLED_BACK: Severity.WARNING,  # the site works; the update still waits
    UpdateEventKind.REFUSED: Severity.WARNING,
    UpdateEventKind.NEEDS_REVIEW: Severity.WARNING,  # applied and working; it looks different
    UpdateEventKind.APPLIED: Severity.SUCCESS,
}


def of_event(event_kind: str | None, incident_kind: str | None = None) -> Severity:
    """The severity of an alert caused by an event (and its incident's kind, if any)."""
    if event_kind == EventKind.INCIDENT_OPENED:
        # An expiring certificate still works; a site down or an invalid certificate does not.
        return Severity.WARNING if incident_kind == IncidentKind.TLS_EXPIRING else Severity.FAILURE
    if event_kind is None:
        return Severity.INFO  # e.g. the "send test" button
    return _BY_EVENT.get(event_kind, Severity.INFO)

"""Journal event kinds of client reports: archived, re-rendered, sent, not delivered.

Their own vocabulary beside ``domain.events``; never rename a stored kind.
"""

from __future__ import annotations

from enum import StrEnum


class ReportEventKind(StrEnum):
    """What became of one client report (events carry the client, not a site)."""

    GENERATED = "report.generated"  # rendered and archived for the first time
    REGENERATED = "report.regenerated"  # staff replaced the archived one on purpose
    SENT = "report.sent"  # the SMTP server accepted it for its recipients
    SEND_FAILED = "report.send_failed"  # not delivered; the schedule retries it

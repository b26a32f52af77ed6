"""Journal event kinds of safe updates: their own vocabulary, kept beside ``domain.events``.

Reports count applied, rolled-back and refused updates from these; never rename a stored kind.
"""

from __future__ import annotations

from enum import StrEnum


class UpdateEventKind(StrEnum):
    """What became of one update run of one site."""

    APPLIED = "update.applied"
    NEEDS_REVIEW = "update.needs_review"  # applied and healthy, but the home page changed
    ROLLED_BACK = "update.rolled_back"  # applied, found broken, put back from the snapshot
    REFUSED = "update.refused"  # preflight said no: nothing on the site changed
    FAILED = "update.failed"  # broken and not put back: the site needs a human
    INTERRUPTED = "update.interrupted"  # its process died; found at the next start

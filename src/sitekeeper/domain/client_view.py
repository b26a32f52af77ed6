"""What of the journal a client's own users may see: the worded facts, not the internals.

A journal event's data holds what the agency needs to act: raw error texts (SSH
``user@host``, paths on the sitekeeper host, lines of a dump), restore targets, the
detail of a failed drill. A client user gets the event's title and summary built from
the facts kept here (figures, versions, snapshots, durations), and an incident's cause
only as its category ("refused", "HTTP 503"), never the text behind it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sitekeeper.domain.checks import ErrorCategory
from sitekeeper.domain.journal_text import SPECS

# Keys whose values are internal texts, whatever the event.
INTERNAL = frozenset({"error", "detail", "to", "cause", "path", "problem"})
_CATEGORIES = frozenset(ErrorCategory)


def cause_category(cause: object) -> str | None:
    """``refused: cannot connect to 10.0.0.5`` -> ``refused``; ``http_status: 503`` kept
    whole (the status is what the visitor saw); anything unrecognised -> None."""
    if not isinstance(cause, str):
        return None
    category, _, rest = cause.partition(": ")
    if category == ErrorCategory.HTTP_STATUS and rest.isdigit():
        return cause
    return category if category in _CATEGORIES else None


def client_facts(kind: str, data: Mapping[str, Any] | None) -> dict[str, Any]:
    """The event's data a client user may see: the keys its wording uses, minus internals
    (an unknown kind shows none)."""
    spec = SPECS.get(kind)
    if spec is None or not data:
        return {}
    facts = {k: v for k, v in data.items() if k in spec.keys and k not in INTERNAL}
    category = cause_category(data.get("cause"))
    if category is not None:
        facts["cause"] = category
    return facts

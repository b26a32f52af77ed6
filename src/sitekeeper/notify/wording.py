"""What an incident alert will say, kept as facts until delivery words it.

Recording a check result must stay a short transaction, so it queues only the
facts of an alert (:class:`AlertFacts`, stored as JSON on the queued outbox
row, with the journal event that caused it). The outbox words them — the
client's language, its current name — and decrypts the channel URLs later,
outside that transaction (``notify.outbox.word_queued``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sitekeeper.notify import messages
from sitekeeper.notify.messages import Message


class Alert(StrEnum):
    """Which text the facts are worded with."""

    SITE_DOWN = "site_down"
    SITE_RECOVERED = "site_recovered"
    CERT_EXPIRING = "cert_expiring"
    CERT_INVALID = "cert_invalid"
    REMINDER = "reminder"  # a site still down: its down alert, marked as a reminder


# Values that are times (stored as ISO text).
_TIMES = frozenset({"since", "down_since", "recovered_at", "expires"})


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """One alert's subject and values; the client (name, language, channels) is read at
    wording time by ``client_id``, so the queue holds no secret and no rendered text."""

    alert: Alert
    site: str
    url: str
    client_id: int | None
    values: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """The stored form (the queued row's body)."""
        values = {k: v.isoformat() if k in _TIMES else v for k, v in self.values.items()}
        return json.dumps(
            {
                "alert": str(self.alert),
                "site": self.site,
                "url": self.url,
                "client_id": self.client_id,
                "values": values,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> AlertFacts:
        """Back from :meth:`to_json`."""
        data = json.loads(text)
        values = {
            k: datetime.fromisoformat(v) if k in _TIMES and v is not None else v
            for k, v in data["values"].items()
        }
        return cls(Alert(data["alert"]), data["site"], data["url"], data["client_id"], values)


def word(facts: AlertFacts, *, client: str | None, language: str) -> Message:
    """The alert text for ``facts`` in ``language``."""
    who: dict[str, Any] = {
        "site": facts.site,
        "url": facts.url,
        "client": client,
        "language": language,
    }
    v = facts.values
    if facts.alert is Alert.SITE_DOWN:
        return messages.site_down(
            category=v["category"], detail=v.get("detail"), since=v["since"], **who
        )
    if facts.alert is Alert.SITE_RECOVERED:
        return messages.site_recovered(
            down_since=v["down_since"], recovered_at=v["recovered_at"], **who
        )
    if facts.alert is Alert.CERT_INVALID:
        return messages.certificate_invalid(reason=v["reason"], **who)
    if facts.alert is Alert.CERT_EXPIRING:
        return messages.certificate_expiring(
            expires=v["expires"], days_left=v["days_left"], issuer=v.get("issuer"), **who
        )
    down = messages.site_down(
        category="still down", detail=v.get("detail"), since=v["since"], **who
    )
    return messages.reminder(down, language)

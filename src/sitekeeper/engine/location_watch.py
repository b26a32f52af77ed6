"""Silent check locations: one journal event and one alert for the agency per silence.

A location whose workers all stopped stores no results; its sites' quorum then
leaves it out (domain.quorum), so the loss is said once here, not as a storm of
site incidents. Run periodically by whichever process does housekeeping; the
row lock in ``store.locations.watch`` makes several of them say it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sitekeeper.domain.events import EventKind
from sitekeeper.notify import messages
from sitekeeper.notify.messages import Message
from sitekeeper.notify.outbox import enqueue_for_client
from sitekeeper.store import journal
from sitekeeper.store.locations import fastest_interval, watch
from sitekeeper.vault import Vault

_AGENCY: tuple[str | None, str, Sequence[str]] = (None, "en", [])  # global channels only


def watch_locations(
    session: Session,
    now: datetime,
    *,
    vault: Vault,
    global_urls: Sequence[str],
    default_interval: int,
) -> tuple[list[str], list[str]]:
    """Journal and alert locations that fell silent or came back; returns their names."""
    interval = fastest_interval(session.connection(), default_interval)
    fell, back = watch(session, now, interval)

    def tell(kind: EventKind, data: dict[str, Any], message: Message) -> None:
        event = journal.record(session, kind, data=data, ts=now)
        enqueue_for_client(
            session,
            _AGENCY,
            lambda _client, _language: message,  # the agency's alert, in English
            vault=vault,
            global_urls=global_urls,
            event_id=event.id,
            now=now,
        )

    for c in fell:
        tell(
            EventKind.LOCATION_SILENT,
            {"location": c.location, "last_result_at": c.last_result_at.isoformat()},
            messages.location_silent(location=c.location, last_result_at=c.last_result_at),
        )
    for c in back:
        tell(
            EventKind.LOCATION_BACK,
            {"location": c.location, "silent_s": int((now - c.silent_since).total_seconds())},
            messages.location_back(location=c.location, since=c.silent_since),
        )
    return [c.location for c in fell], [c.location for c in back]

"""Turns incident changes into queued alerts for the site's channels (the outbox)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session

from sitekeeper.domain.checks import CheckResult
from sitekeeper.domain.events import EventKind
from sitekeeper.domain.incidents import IncidentKind, is_tls_failure
from sitekeeper.notify import messages, outbox
from sitekeeper.notify.messages import Message
from sitekeeper.store import journal
from sitekeeper.store.channels import channel_urls
from sitekeeper.store.monitoring import CheckTarget, load_targets
from sitekeeper.store.tables import Event, Incident
from sitekeeper.vault import Vault


class _Who(TypedDict):
    site: str
    url: str
    client: str | None
    language: str


class Alerter:
    """Queues one alert per incident change to the global and the client's channels."""

    def __init__(self, global_urls: list[str], vault: Vault) -> None:
        self.global_urls = list(global_urls)
        self.vault = vault

    def urls_for(self, session: Session, target: CheckTarget) -> list[str]:
        """Global channels (environment and web UI) plus the client's own."""
        return channel_urls(
            session, self.vault, self.global_urls, target.client_alert_urls, target.client_name
        )

    def incident_changed(
        self,
        session: Session,
        event: Event,
        incident: Incident,
        target: CheckTarget,
        result: CheckResult,
    ) -> None:
        """Queue the alert for an opened or closed incident, in the caller's transaction."""
        message = self.message(incident, target, result)
        urls = self.urls_for(session, target)
        if message is None or not urls:
            return
        outbox.enqueue(
            session,
            urls=urls,
            title=message.title,
            body=message.body,
            event_id=event.id,
            vault=self.vault,
            now=event.ts,
        )
        incident.last_alert_at = event.ts
        incident.alerts_sent += 1

    @staticmethod
    def message(incident: Incident, target: CheckTarget, result: CheckResult) -> Message | None:
        """The alert text for this change (None when the change needs no alert)."""
        common: _Who = {
            "site": target.name,
            "url": target.url,
            "client": target.client_name,
            "language": target.client_language,
        }
        closed: datetime | None = incident.closed_at
        if incident.kind == IncidentKind.DOWN:
            if closed is not None:
                return messages.site_recovered(
                    down_since=incident.opened_at, recovered_at=closed, **common
                )
            if is_tls_failure(result):
                reason = (result.tls.error if result.tls else None) or result.detail or "invalid"
                return messages.certificate_invalid(reason=reason, **common)
            return messages.site_down(
                category=str(result.error),
                detail=result.detail,
                since=incident.opened_at,
                **common,
            )
        if incident.kind == IncidentKind.TLS_EXPIRING and closed is None and result.tls:
            tls = result.tls
            if tls.expires is None or tls.days_left is None:
                return None
            return messages.certificate_expiring(
                expires=tls.expires, days_left=tls.days_left, issuer=tls.issuer, **common
            )
        return None  # a renewed certificate closes its warning silently


def queue_reminders(session: Session, alerter: Alerter, now: datetime, every: timedelta) -> int:
    """Re-alert incidents still open ``every`` after their last alert; returns how many."""
    due = list(
        session.scalars(
            select(Incident).where(
                Incident.closed_at.is_(None),
                Incident.kind == str(IncidentKind.DOWN),
                Incident.last_alert_at.is_not(None),
                Incident.last_alert_at <= now - every,
            )
        )
    )
    if not due:
        return 0
    targets = load_targets(session.connection(), [i.site_id for i in due])
    for incident in due:
        target = targets.get(incident.site_id)
        if target is None:
            continue  # paused or removed: nobody wants reminders about it
        event = journal.record(
            session,
            EventKind.INCIDENT_REMINDER,
            site_id=incident.site_id,
            client_id=target.client_id,
            incident_id=incident.id,
            data={"open_for_s": int((now - incident.opened_at).total_seconds())},
            ts=now,
        )
        down = messages.site_down(
            site=target.name,
            url=target.url,
            category="still down",
            detail=incident.cause,
            since=incident.opened_at,
            client=target.client_name,
            language=target.client_language,
        )
        message = messages.reminder(down, target.client_language)
        urls = alerter.urls_for(session, target)
        if urls:
            outbox.enqueue(
                session,
                urls=urls,
                title=message.title,
                body=message.body,
                event_id=event.id,
                vault=alerter.vault,
                now=now,
            )
        incident.last_alert_at = now
        incident.alerts_sent += 1
    return len(due)

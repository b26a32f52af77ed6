"""Turns incident changes into queued alerts (the outbox) for the site's channels.

Only the alert's facts are queued here, in the transaction that records the
incident and its journal event; the text (in the client's language) and the
channel URLs (decrypted) are worked out at delivery, by ``notify.outbox``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from sitekeeper.domain.checks import CheckResult
from sitekeeper.domain.events import EventKind
from sitekeeper.domain.incidents import IncidentKind, is_tls_failure
from sitekeeper.notify import outbox
from sitekeeper.notify.wording import Alert, AlertFacts
from sitekeeper.store import journal
from sitekeeper.store.alerts import reminders_due
from sitekeeper.store.channels import has_channels
from sitekeeper.store.monitoring import CheckTarget, load_targets
from sitekeeper.store.tables import Event, Incident


class Alerter:
    """Queues one alert per incident change for the global and the client's channels."""

    def __init__(self, global_urls: Sequence[str]) -> None:
        """``global_urls``: the channels from the environment (every alert goes to them)."""
        self.global_urls = list(global_urls)

    def reaches_anyone(self, session: Session, target: CheckTarget) -> bool:
        """Whether an alert about ``target`` has any channel to go to."""
        return has_channels(session, self.global_urls, target.client_alert_urls)

    def incident_changed(
        self,
        session: Session,
        event: Event,
        incident: Incident,
        target: CheckTarget,
        result: CheckResult,
    ) -> None:
        """Queue the alert for an opened or closed incident, in the caller's transaction."""
        facts = self.facts(incident, target, result)
        if facts is None or not self.reaches_anyone(session, target):
            return
        outbox.queue(session, facts, event_id=event.id, now=event.ts)
        incident.last_alert_at = event.ts
        incident.alerts_sent += 1

    @staticmethod
    def facts(incident: Incident, target: CheckTarget, result: CheckResult) -> AlertFacts | None:
        """What the alert for this change will say (None when the change needs no alert)."""
        closed: datetime | None = incident.closed_at

        def about(alert: Alert, **values: object) -> AlertFacts:
            return AlertFacts(alert, target.name, target.url, target.client_id, dict(values))

        if incident.kind == IncidentKind.DOWN:
            if closed is not None:
                return about(
                    Alert.SITE_RECOVERED, down_since=incident.opened_at, recovered_at=closed
                )
            if is_tls_failure(result):
                reason = (result.tls.error if result.tls else None) or result.detail or "invalid"
                return about(Alert.CERT_INVALID, reason=reason)
            return about(
                Alert.SITE_DOWN,
                category=str(result.error),
                detail=result.detail,
                since=incident.opened_at,
            )
        if incident.kind == IncidentKind.TLS_EXPIRING and closed is None and result.tls:
            tls = result.tls
            if tls.expires is None or tls.days_left is None:
                return None
            return about(
                Alert.CERT_EXPIRING, expires=tls.expires, days_left=tls.days_left, issuer=tls.issuer
            )
        return None  # a renewed certificate closes its warning silently


def queue_reminders(session: Session, alerter: Alerter, now: datetime, every: timedelta) -> int:
    """Re-alert incidents still open ``every`` after their last alert; returns how many."""
    due = reminders_due(session, now, every)
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
        if alerter.reaches_anyone(session, target):
            facts = AlertFacts(
                Alert.REMINDER,
                target.name,
                target.url,
                target.client_id,
                {"detail": incident.cause, "since": incident.opened_at},
            )
            outbox.queue(session, facts, event_id=event.id, now=now)
        incident.last_alert_at = now
        incident.alerts_sent += 1
    return len(due)

"""Reminders: an incident still open after the reminder period is alerted again, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet
from sqlalchemy import func, select

from sitekeeper.engine.alerts import Alerter, queue_reminders
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Client, Event, Incident, Notification, Site
from sitekeeper.vault import Vault

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_reminder_is_queued_after_the_period_and_not_before(db: Database) -> None:
    alerter = Alerter(["json://127.0.0.1:9/hook"], Vault(Fernet.generate_key()))
    with db.session() as s:
        client = Client(name="c", alert_urls=[], created_at=NOW)
        site = Site(name="s", url="http://127.0.0.1/", client=client, created_at=NOW)
        s.add(site)
        s.flush()
        s.add(
            Incident(
                site_id=site.id,
                kind="down",
                opened_at=NOW - timedelta(hours=5),
                cause="timeout",
                last_alert_at=NOW - timedelta(hours=5),
                alerts_sent=1,
            )
        )
    every = timedelta(hours=4)
    with db.session() as s:
        assert queue_reminders(s, alerter, NOW, every) == 1
    with db.session() as s:
        assert queue_reminders(s, alerter, NOW + timedelta(hours=1), every) == 0
        incident = s.scalars(select(Incident)).one()
        assert incident.alerts_sent == 2
        assert s.scalar(select(func.count()).select_from(Notification)) == 1
        title = s.scalars(select(Notification.title)).one()
        assert title.startswith("Reminder:")
        assert s.scalars(select(Event.kind)).all() == ["incident.reminder"]

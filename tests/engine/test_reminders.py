"""Reminders: an incident still open after the reminder period is alerted again, once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet
from sqlalchemy import func, select

from sitekeeper.engine.alerts import Alerter, queue_reminders
from sitekeeper.notify.outbox import word_queued
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Client, Event, Incident, Notification, Site
from sitekeeper.vault import Vault

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_reminder_is_queued_after_the_period_and_not_before(db: Database) -> None:
    hook = "json://127.0.0.1:9/hook"
    alerter = Alerter([hook])
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
        assert s.scalars(select(Event.kind)).all() == ["incident.reminder"]
    # Worded at delivery, outside the transaction that queued it: one row for the channel.
    assert asyncio.run(word_queued(db, Vault(Fernet.generate_key()), [hook], now=NOW)) == 1
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Notification)) == 1
        row = s.scalars(select(Notification)).one()
        assert (row.status, row.event_id) == ("pending", s.scalars(select(Event.id)).one())
        assert row.title.startswith("Reminder:")

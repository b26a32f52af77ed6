"""An outage's alert is queued with the check results as facts, and worded at delivery.

The results' transaction writes no alert text and decrypts no channel URL; the
outbox words the alert later in the client's language of that moment and sends
it to the channels the client has then (a real loopback webhook receives it).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from sitekeeper.domain.checks import CheckResult, ErrorCategory
from sitekeeper.domain.incidents import evaluate
from sitekeeper.engine.alerts import Alerter
from sitekeeper.engine.recorder import Outcome, persist
from sitekeeper.notify import outbox
from sitekeeper.store.database import Database
from sitekeeper.store.monitoring import load_targets
from sitekeeper.store.tables import Client, Event, Notification, Site
from sitekeeper.vault import Vault
from tests.notify.conftest import Webhook, loopback_sender

T0 = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)


def _site_down(db: Database, vault: Vault, hook_url: str) -> None:
    """A client's site recorded down, the way the recorder stores a confirmed outage."""
    with db.session() as s:
        client = Client(name="Bäckerei", alert_urls=[vault.encrypt(hook_url)], created_at=T0)
        site = Site(
            name="baeckerei", url="https://baeckerei.example/", client=client, created_at=T0
        )
        s.add(site)
        s.flush()
        site_id = site.id
    result = CheckResult(
        url="https://baeckerei.example/",
        up=False,
        status=503,
        error=ErrorCategory.HTTP_STATUS,
        response_ms=12,
        checked_at=T0,
        detail="status 503 not accepted",
    )
    with db.session() as s:
        target = load_targets(s.connection(), [site_id])[site_id]
        outcome = Outcome(target, result, evaluate(target.open_kinds, result, 14))
        persist(s, [outcome], Alerter([]))


async def test_the_alert_is_worded_at_delivery_in_the_clients_language_then(
    db: Database, vault: Vault, webhook: Webhook
) -> None:
    _site_down(db, vault, webhook.url())
    with db.session() as s:
        (queued,) = s.scalars(sa.select(Notification)).all()
        opened = s.scalars(sa.select(Event.id).where(Event.kind == "incident.opened")).one()
        # Only the facts, tied to the journal event: no channel, no text yet.
        assert (queued.status, queued.event_id, queued.target, queued.title) == (
            "queued",
            opened,
            "",
            "",
        )
        assert "hooks" not in queued.body
        # The client switches to German before the alert goes out.
        s.scalars(sa.select(Client)).one().language = "de"

    report = await outbox.deliver_due(db, vault, now=T0, sender=loopback_sender(timeout=10))

    assert len(report.sent) == 1
    assert list(webhook.titles()) == ["AUSGEFALLEN: baeckerei"]
    (post,) = webhook.posts
    assert "Kunde: Bäckerei" in post["message"]
    with db.session() as s:
        (sent,) = s.scalars(sa.select(Notification)).all()
        assert (sent.status, sent.event_id) == ("sent", opened)


async def test_a_queued_alert_is_worded_once_and_goes_away_without_channels(
    db: Database, vault: Vault
) -> None:
    _site_down(db, vault, "json://127.0.0.1:9/hooks/x")
    assert await outbox.word_queued(db, vault, [], now=T0) == 1
    assert await outbox.word_queued(db, vault, [], now=T0) == 0  # a second deliverer: none
    with db.session() as s:
        assert s.scalars(sa.select(Notification.status)).all() == ["pending"]
        # The client drops its channel: a new outage's alert is not queued for nobody.
        s.scalars(sa.select(Client)).one().alert_urls = []
        s.execute(sa.delete(Notification))
    with db.session() as s:
        site_id = s.scalars(sa.select(Site.id)).one()
        target = load_targets(s.connection(), [site_id])[site_id]
        assert not Alerter([]).reaches_anyone(s, target)
        assert Alerter(["json://127.0.0.1:9/hooks/env"]).reaches_anyone(s, target)

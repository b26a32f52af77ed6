"""The outbox end to end on SQLite and PostgreSQL, with real SMTP and webhook servers."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from sitekeeper.domain.events import EventKind
from sitekeeper.errors import DeliveryError
from sitekeeper.notify import inflight, messages, outbox
from sitekeeper.store import journal
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Event, Notification
from sitekeeper.vault import Vault
from tests.notify.conftest import Mailbox, Webhook, loopback_sender

T0 = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)


def _incident_event(db: Database) -> int:
    """The journal event an alert belongs to, as the engine would write it."""
    with db.session() as s:
        return journal.record(
            s, EventKind.INCIDENT_OPENED, site_id=11, client_id=3, incident_id=5, ts=T0
        ).id


def _queue(
    db: Database, vault: Vault, urls: list[str], *, title: str = "t", event_id: int | None = None
) -> list[int]:
    with db.session() as s:
        rows = outbox.enqueue(
            s, urls=urls, title=title, body="body", event_id=event_id, vault=vault, now=T0
        )
        return [r.id for r in rows]


def _rows(db: Database) -> list[Notification]:
    with db.session() as s:
        return list(s.scalars(sa.select(Notification).order_by(Notification.id)))


def _events(db: Database, kind: str) -> list[Event]:
    with db.session() as s:
        return list(s.scalars(sa.select(Event).where(Event.kind == kind).order_by(Event.id)))


def test_target_urls_are_stored_encrypted(db: Database, vault: Vault) -> None:
    secret = "mailto://alerts:hunter2-pw@mail.agency.example?to=ops@agency.example"
    hook = "json://hooks.example/T0KEN-abcdef"
    _queue(db, vault, [secret, hook, secret, "  "])  # duplicates and blanks dropped

    with db.engine.connect() as conn:
        raw = [tuple(map(str, r)) for r in conn.execute(sa.text("SELECT * FROM notifications"))]
    assert len(raw) == 2
    dump = repr(raw)
    for plain in ("hunter2-pw", "T0KEN-abcdef", "mail.agency.example", "mailto:", "json:"):
        assert plain not in dump
    assert [vault.decrypt(r.target) for r in _rows(db)] == [secret, hook]
    assert all(r.status == "pending" and r.next_attempt_at == T0 for r in _rows(db))


async def test_down_alert_arrives_by_email(
    db: Database, vault: Vault, smtp_server: Mailbox
) -> None:
    msg = messages.site_down(
        site="Bakery shop",
        url="https://shop.bakery.example",
        category="http_status",
        detail="HTTP 503 Service Unavailable",
        since=T0,
        client="Bakery Ltd",
    )
    event_id = _incident_event(db)
    with db.session() as s:
        outbox.enqueue(
            s,
            urls=[smtp_server.url()],
            title=msg.title,
            body=msg.body,
            event_id=event_id,
            vault=vault,
            now=T0,
        )

    started = time.perf_counter()
    report = await outbox.deliver_due(db, vault, now=T0, sender=loopback_sender(timeout=10))
    elapsed = time.perf_counter() - started

    assert len(report.sent) == 1
    assert not report.retrying
    assert not report.failed
    [mail] = smtp_server.messages
    assert mail["Subject"] == "DOWN: Bakery shop"
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None
    content = text.get_content()
    for part in ("https://shop.bakery.example", "http_status", "HTTP 503", "2026-11-26 07:00 UTC"):
        assert part in content
    [row] = _rows(db)
    assert (row.status, row.sent_at, row.attempts, row.last_error) == ("sent", T0, 1, None)
    [sent] = _events(db, EventKind.NOTIFICATION_SENT)
    assert sent.data == {
        "notification_id": row.id,
        "event_id": event_id,
        "attempts": 1,
        "channel": "mailto",
    }
    assert (sent.site_id, sent.client_id, sent.incident_id) == (11, 3, 5)
    assert elapsed < 5, f"one alert took {elapsed:.2f}s"

    # Sent rows are never sent again.
    again = await outbox.deliver_due(
        db, vault, now=T0 + timedelta(days=1), sender=loopback_sender()
    )
    assert again == outbox.DeliveryReport()
    assert len(smtp_server.messages) == 1


async def test_webhook_receives_the_json(db: Database, vault: Vault, webhook: Webhook) -> None:
    _queue(db, vault, [webhook.url("tok-1")], title="RECOVERED: shop")

    report = await outbox.deliver_due(db, vault, now=T0, sender=loopback_sender())

    assert len(report.sent) == 1
    assert webhook.paths == ["/hooks/tok-1"]
    assert webhook.posts[0]["title"] == "RECOVERED: shop"
    assert webhook.posts[0]["message"] == "body"
    [sent] = _events(db, EventKind.NOTIFICATION_SENT)
    assert sent.data["channel"] == "json"
    assert "tok-1" not in repr(sent.data)


async def test_refused_target_backs_off_then_fails_loudly(
    db: Database, vault: Vault, refused_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"json://127.0.0.1:{refused_port}/hooks/secret-token-99"
    event_id = _incident_event(db)
    [row_id] = _queue(db, vault, [url], event_id=event_id)
    sender = loopback_sender(timeout=5)

    now = T0
    for attempt, wait in enumerate([30, 60, 120], start=1):
        report = await outbox.deliver_due(db, vault, now=now, sender=sender, max_attempts=4)
        assert report.retrying == [row_id], attempt
        [row] = _rows(db)
        assert (row.status, row.attempts) == ("pending", attempt)
        assert row.next_attempt_at == now + timedelta(seconds=wait)
        assert row.last_error is not None
        assert "refused" in row.last_error
        assert "secret-token-99" not in row.last_error
        # Not due a second early.
        early = await outbox.deliver_due(
            db, vault, now=row.next_attempt_at - timedelta(seconds=1), sender=sender, max_attempts=4
        )
        assert early == outbox.DeliveryReport()
        now = row.next_attempt_at
    assert not _events(db, EventKind.NOTIFICATION_FAILED)

    with caplog.at_level(logging.ERROR, logger="sitekeeper.notify.outbox"):
        report = await outbox.deliver_due(db, vault, now=now, sender=sender, max_attempts=4)

    assert report.failed == [row_id]
    [row] = _rows(db)
    assert (row.status, row.attempts, row.sent_at) == ("failed", 4, None)
    [failed] = _events(db, EventKind.NOTIFICATION_FAILED)
    assert failed.data["event_id"] == event_id
    assert failed.data["channel"] == "json"
    assert failed.data["attempts"] == 4
    assert "refused" in failed.data["error"]
    assert (failed.site_id, failed.incident_id, failed.ts) == (11, 5, now)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert f"notification {row_id}" in errors[0].getMessage()
    assert "secret-token-99" not in caplog.text
    # Failed rows are not retried.
    assert await outbox.deliver_due(db, vault, now=now + timedelta(days=1), sender=sender) == (
        outbox.DeliveryReport()
    )


async def test_unusable_url_fails_at_once(db: Database, vault: Vault) -> None:
    [row_id] = _queue(db, vault, ["nosuchscheme://whatever"])

    report = await outbox.deliver_due(db, vault, now=T0, sender=loopback_sender())

    assert report.failed == [row_id]
    [failed] = _events(db, EventKind.NOTIFICATION_FAILED)
    assert failed.data["attempts"] == 1


async def test_url_under_another_key_fails_instead_of_vanishing(db: Database, vault: Vault) -> None:
    _queue(db, Vault(Fernet.generate_key()), ["json://127.0.0.1:9/x"])

    report = await outbox.deliver_due(db, vault, now=T0, sender=loopback_sender())

    assert len(report.failed) == 1
    [failed] = _events(db, EventKind.NOTIFICATION_FAILED)
    assert "secret key" in failed.data["error"]


class _Exploding:
    """A sender with a bug: the outbox must record it, not lose the row."""

    async def send(self, url: str, *, title: str, body: str, severity: str = "info") -> None:
        raise KeyError("bug")


async def test_a_crashing_sender_is_recorded_and_retried(db: Database, vault: Vault) -> None:
    [row_id] = _queue(db, vault, ["json://127.0.0.1:9/x"])

    report = await outbox.deliver_due(db, vault, now=T0, sender=_Exploding())

    assert report.retrying == [row_id]
    [row] = _rows(db)
    assert row.last_error == "KeyError: 'bug'"
    assert row.next_attempt_at == T0 + timedelta(seconds=30)


def test_claim_is_a_compare_and_set(db: Database, vault: Vault) -> None:
    [row_id] = _queue(db, vault, ["json://127.0.0.1:9/x"])
    # Both deliverers read the same snapshot (attempts 0, due), then both try to claim.
    with db.session() as first:
        assert outbox.claim(first, row_id, seen_attempts=0, now=T0)
    with db.session() as second:
        assert not outbox.claim(second, row_id, seen_attempts=0, now=T0)
    [row] = _rows(db)
    assert row.attempts == 1
    assert row.next_attempt_at == T0 + outbox.CLAIM_LEASE


async def test_a_deliverer_that_died_is_taken_over_after_its_lease(
    db: Database, vault: Vault, webhook: Webhook
) -> None:
    [row_id] = _queue(db, vault, [webhook.url()])
    with db.session() as s:  # claimed, then the process died before sending
        assert outbox.claim(s, row_id, seen_attempts=0, now=T0)

    still_held = T0 + outbox.CLAIM_LEASE - timedelta(seconds=1)
    assert await outbox.deliver_due(db, vault, now=still_held, sender=loopback_sender()) == (
        outbox.DeliveryReport()
    )
    report = await outbox.deliver_due(
        db, vault, now=T0 + outbox.CLAIM_LEASE, sender=loopback_sender()
    )

    assert report.sent == [row_id]
    assert len(webhook.posts) == 1
    assert _rows(db)[0].attempts == 2


class _Slow:
    """Sends only once its deliverer has renewed the claim past the first lease; meanwhile
    a rival deliverer looks for due rows at the moment that first lease ends."""

    def __init__(self, db: Database, vault: Vault) -> None:
        self.db, self.vault = db, vault
        self.rival: outbox.DeliveryReport | None = None

    async def send(self, url: str, *, title: str, body: str, severity: str = "info") -> None:
        first_lease = T0 + outbox.CLAIM_LEASE
        deadline = time.monotonic() + 10
        while _rows(self.db)[0].next_attempt_at <= first_lease:
            assert time.monotonic() < deadline, "the claim was never renewed"
            await asyncio.sleep(0.01)
        self.rival = await outbox.deliver_due(
            self.db, self.vault, now=first_lease, sender=loopback_sender()
        )
        await loopback_sender().send(url, title=title, body=body)


async def test_a_slow_send_keeps_its_claim_by_renewing_it(
    db: Database, vault: Vault, webhook: Webhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inflight, "CLAIM_RENEW", timedelta(milliseconds=20))
    [row_id] = _queue(db, vault, [webhook.url()])
    slow = _Slow(db, vault)

    report = await outbox.deliver_due(db, vault, now=T0, sender=slow)

    assert report.sent == [row_id]
    assert slow.rival == outbox.DeliveryReport()  # nothing to take over: the claim is live
    assert len(webhook.posts) == 1
    [row] = _rows(db)
    assert (row.status, row.attempts) == ("sent", 1)


class _Counting:
    """Before each send, notes how many messages the channel has whose outcome is not
    stored yet: what a kill -9 of the deliverer at that moment would send twice."""

    def __init__(self, db: Database, webhook: Webhook) -> None:
        self.db, self.webhook = db, webhook
        self.unrecorded: list[int] = []

    async def send(self, url: str, *, title: str, body: str, severity: str = "info") -> None:
        stored = sum(r.status == "sent" for r in _rows(self.db))
        self.unrecorded.append(len(self.webhook.posts) - stored)
        await loopback_sender().send(url, title=title, body=body)


async def test_sends_never_run_ahead_of_their_stored_outcomes(
    db: Database, vault: Vault, webhook: Webhook
) -> None:
    _queue(db, vault, [webhook.url(f"t{i}") for i in range(30)])
    counting = _Counting(db, webhook)

    report = await outbox.deliver_due(db, vault, now=T0, sender=counting, concurrency=4)

    assert len(report.sent) == 30 and len(webhook.posts) == 30
    # Besides the one about to go, at most the other three slots' messages are out
    # without an outcome: a deliverer killed now would send those (and only those) again.
    assert max(counting.unrecorded) <= 3


class _Stalling:
    """Sends so slowly that its lease runs out and a second deliverer takes the row over."""

    def __init__(self, db: Database, vault: Vault) -> None:
        self.db, self.vault = db, vault
        self.takeover: outbox.DeliveryReport | None = None

    async def send(self, url: str, *, title: str, body: str, severity: str = "info") -> None:
        later = T0 + outbox.CLAIM_LEASE
        self.takeover = await outbox.deliver_due(
            self.db, self.vault, now=later, sender=loopback_sender()
        )
        await loopback_sender().send(url, title=title, body=body)


async def test_an_expired_claim_does_not_overwrite_the_new_owner(
    db: Database, vault: Vault, webhook: Webhook
) -> None:
    [row_id] = _queue(db, vault, [webhook.url()])
    stalling = _Stalling(db, vault)

    report = await outbox.deliver_due(db, vault, now=T0, sender=stalling)

    assert report.lost == [row_id]
    assert stalling.takeover is not None
    assert stalling.takeover.sent == [row_id]
    assert len(webhook.posts) == 2  # at-least-once: the price of a lease that ran out
    [row] = _rows(db)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 2, T0 + outbox.CLAIM_LEASE)
    assert len(_events(db, EventKind.NOTIFICATION_SENT)) == 1


async def test_last_attempt_lost_in_a_crash_is_failed_not_retried_forever(
    db: Database, vault: Vault, webhook: Webhook
) -> None:
    [row_id] = _queue(db, vault, [webhook.url()])
    with db.session() as s:
        assert outbox.claim(s, row_id, seen_attempts=0, now=T0)

    report = await outbox.deliver_due(
        db, vault, now=T0 + outbox.CLAIM_LEASE, max_attempts=1, sender=loopback_sender()
    )

    assert report == outbox.DeliveryReport()  # given up during the claim, before any send
    assert not webhook.posts
    [row] = _rows(db)
    assert row.status == "failed"
    assert len(_events(db, EventKind.NOTIFICATION_FAILED)) == 1


async def test_racing_deliverers_send_each_message_once(
    db: Database, vault: Vault, webhook: Webhook
) -> None:
    count = 40
    with db.session() as s:
        for i in range(count):
            outbox.enqueue(
                s,
                urls=[webhook.url(f"t{i % 3}")],
                title=f"alert {i}",
                body="b",
                event_id=None,
                vault=vault,
                now=T0,
            )
    other = Database(db.url, migrate=False)  # a second process: its own engine and pool
    try:
        reports = await asyncio.gather(
            outbox.deliver_due(db, vault, now=T0, concurrency=8, sender=loopback_sender()),
            outbox.deliver_due(other, vault, now=T0, concurrency=8, sender=loopback_sender()),
            outbox.deliver_due(db, vault, now=T0, concurrency=8, sender=loopback_sender()),
        )
    finally:
        other.dispose()

    assert webhook.titles() == {f"alert {i}": 1 for i in range(count)}
    sent = [i for r in reports for i in r.sent]
    assert sorted(sent) == sorted(set(sent))
    assert len(sent) == count
    assert all(r.attempts == 1 and r.status == "sent" for r in _rows(db))
    assert len(_events(db, EventKind.NOTIFICATION_SENT)) == count


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [(0, 0), (1, 30), (2, 60), (3, 120), (4, 240), (7, 1920), (8, 3600), (50, 3600)],
)
def test_backoff(attempts: int, seconds: int) -> None:
    assert outbox.backoff(attempts) == timedelta(seconds=seconds)


def test_delivery_error_is_transient_by_default() -> None:
    assert not DeliveryError("x").permanent

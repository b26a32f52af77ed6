"""Alerts in the client's language and with Apprise's type by severity, as real receivers
get them: a loopback SMTP server and a loopback JSON webhook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sitekeeper.domain.backup_events import BackupEventKind
from sitekeeper.domain.events import EventKind
from sitekeeper.domain.intel_events import IntelEventKind
from sitekeeper.engine.alerts import Alerter, queue_reminders
from sitekeeper.locale import languages
from sitekeeper.notify import messages, outbox
from sitekeeper.store import journal
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Client, Incident, Site
from sitekeeper.vault import Vault
from tests.notify.conftest import Mailbox, Webhook, loopback_sender

T0 = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)


def _german_client_down_since_t0(db: Database, vault: Vault, url: str) -> None:
    """A German client's site with a down incident whose alert went out a day ago."""
    with db.session() as s:
        client = Client(
            name="Bäckerei Müller", language="de", alert_urls=[vault.encrypt(url)], created_at=T0
        )
        site = Site(
            name="baeckerei", url="https://baeckerei.example/", client=client, created_at=T0
        )
        s.add_all([client, site])
        s.flush()
        s.add(
            Incident(
                site_id=site.id,
                kind="down",
                opened_at=T0,
                cause="http_status: HTTP 503",
                last_alert_at=T0,
                alerts_sent=1,
            )
        )


async def test_a_german_client_gets_its_alert_in_german_by_mail(
    db: Database, vault: Vault, smtp_server: Mailbox
) -> None:
    _german_client_down_since_t0(db, vault, smtp_server.url())
    with db.session() as s:
        queued = queue_reminders(s, Alerter([]), T0 + timedelta(days=1), timedelta(hours=4))
    assert queued == 1

    report = await outbox.deliver_due(
        db, vault, now=T0 + timedelta(days=1), sender=loopback_sender(timeout=10)
    )

    assert len(report.sent) == 1
    (mail,) = smtp_server.messages
    assert mail["Subject"] == "Erinnerung: AUSGEFALLEN: baeckerei"
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None
    body = text.get_content()
    assert "baeckerei (https://baeckerei.example/) ist seit 26.11.2026 07:00 UTC" in body
    assert "Fehler: still down" in body
    assert "Kunde: Bäckerei Müller" in body
    assert "is down since" not in body


def test_other_languages_get_english_and_german_is_complete() -> None:
    assert languages() == ["de"]
    msg = messages.backup_failed(site="s", url="u", error="restic: exit 1", language="fr")
    assert msg.title == "Backup of s failed"
    german = messages.backup_failed(site="s", url="u", error="restic: exit 1", language="de_AT")
    assert german.title == "Sicherung von s fehlgeschlagen"
    assert "Frühere Sicherungen sind unversehrt" in german.body


def test_every_text_of_the_template_has_its_german_translation() -> None:
    """A text marked for translation but missing from de's catalogue would reach a German
    client in English: the catalogue is complete, and the template is current."""
    from babel.messages.pofile import read_po

    locale = Path(messages.__file__).parents[1] / "locale"
    with (locale / "sitekeeper.pot").open("rb") as f:
        template = read_po(f)
    with (locale / "de" / "LC_MESSAGES" / "sitekeeper.po").open("rb") as f:
        german = read_po(f, locale="de")
    wanted = {m.id for m in template if m.id}
    assert wanted >= {t for pair in messages._TEXTS.values() for t in pair}
    for msgid in wanted:
        entry = german.get(msgid)
        assert entry is not None and not entry.fuzzy, msgid
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        assert all(strings), msgid


def test_a_german_client_gets_its_software_alert_in_german() -> None:
    lines = [
        messages.SoftwareLine(
            site="baeckerei",
            url="https://b.example/",
            package="akismet",
            installed="5.0.2",
            advisory_id="WF-1",
            severity="high",
            fixed_in="5.0.3",
        ),
        messages.SoftwareLine(
            site="baeckerei",
            url="https://b.example/",
            package="wordpress",
            installed="6.1.9",
            latest="6.1.10",
        ),
    ]
    de = messages.software_alert(
        lines=lines,
        site_count=1,
        advisories=["WF-1"],
        client="Bäckerei Müller",
        language="de",
        more=2,
    )
    assert de.title == "Sicherheit: 1 Website von Bäckerei Müller betroffen von WF-1"
    assert "akismet 5.0.2 verwundbar: WF-1 (high), behoben in 5.0.3" in de.body
    assert "wordpress 6.1.9: Sicherheitsupdate auf 6.1.10" in de.body
    assert "… und 2 weitere Websites" in de.body
    en = messages.software_alert(lines=lines[:1], site_count=3, advisories=["WF-1"])
    assert en.title == "Security: 3 sites affected by WF-1"


@pytest.mark.parametrize(
    ("event_kind", "incident_kind", "expected"),
    [
        (EventKind.INCIDENT_OPENED, "down", "failure"),
        (EventKind.INCIDENT_OPENED, "tls_expiring", "warning"),
        (EventKind.INCIDENT_CLOSED, "down", "success"),
        (EventKind.INCIDENT_REMINDER, "down", "failure"),
        (BackupEventKind.BACKUP_FAILED, None, "failure"),
        (IntelEventKind.SOFTWARE_ALERT, None, "warning"),
        (None, None, "info"),
    ],
)
async def test_the_receiver_gets_the_type_of_the_alerts_severity(
    db: Database,
    vault: Vault,
    webhook: Webhook,
    event_kind: str | None,
    incident_kind: str | None,
    expected: str,
) -> None:
    with db.session() as s:
        event_id = None
        if event_kind is not None:
            incident_id = None
            if incident_kind is not None:
                site = Site(name="shop", url="https://shop.example/", created_at=T0)
                s.add(site)
                s.flush()
                incident = Incident(site_id=site.id, kind=incident_kind, opened_at=T0)
                s.add(incident)
                s.flush()
                incident_id = incident.id
            event_id = journal.record(s, event_kind, incident_id=incident_id, ts=T0).id
        outbox.enqueue(
            s, urls=[webhook.url()], title="t", body="b", event_id=event_id, vault=vault, now=T0
        )

    report = await outbox.deliver_due(db, vault, now=T0, sender=loopback_sender(timeout=10))

    assert len(report.sent) == 1
    assert [post["type"] for post in webhook.posts] == [expected]

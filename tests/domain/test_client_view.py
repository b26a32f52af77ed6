"""The client's view of the journal keeps the figures and drops internal texts."""

from __future__ import annotations

from sitekeeper.domain.backup_events import BackupEventKind
from sitekeeper.domain.client_view import cause_category, client_facts
from sitekeeper.domain.events import EventKind
from sitekeeper.domain.journal_text import describe
from sitekeeper.domain.ssh_events import SshEventKind

FAILED = {
    "run": 7,
    "reason": "scheduled",
    "error": "ssh deploy@10.0.0.5: rsync: /srv/www/acme/.env: Permission denied",
    "duration": 12.5,
}


def test_a_failed_backup_reads_as_failed_without_its_error() -> None:
    facts = client_facts(BackupEventKind.BACKUP_FAILED, FAILED)
    assert facts == {"run": 7, "reason": "scheduled", "duration": 12.5}
    text = describe(BackupEventKind.BACKUP_FAILED, facts)
    assert text.title == "Backup failed" and "10.0.0.5" not in text.detail


def test_an_incident_cause_is_its_category() -> None:
    assert cause_category("refused: cannot connect to 10.0.0.5:443") == "refused"
    assert cause_category("http_status: 503") == "http_status: 503"
    assert cause_category("whatever the server said") is None
    facts = client_facts(EventKind.INCIDENT_OPENED, {"kind": "down", "cause": "dns: no such"})
    assert facts == {"kind": "down", "cause": "dns"}


def test_unknown_kinds_and_keys_show_nothing() -> None:
    assert client_facts("something.new", {"secret": "x"}) == {}
    assert "secret" not in client_facts(BackupEventKind.BACKUP_FAILED, {"secret": "x"})


def test_a_key_file_on_the_sitekeeper_host_is_not_shown_to_the_client() -> None:
    data = {"path": "/root/keys/acme", "key_id": 4, "problem": "/root/keys/acme: not readable"}
    facts = client_facts(SshEventKind.KEY_PATH_MIGRATED, data)
    assert facts == {"key_id": 4}
    assert "/root" not in describe(SshEventKind.KEY_PATH_MIGRATED, facts).detail

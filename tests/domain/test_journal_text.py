"""Journal events in words: every kind has a spec, each reads as a sentence, odd data never
breaks it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sitekeeper.domain.backup_events import BackupEventKind
from sitekeeper.domain.domain_events import DomainEventKind
from sitekeeper.domain.events import EventKind
from sitekeeper.domain.intel_events import IntelEventKind
from sitekeeper.domain.inventory import Extension, Inventory, diff
from sitekeeper.domain.journal_text import DETAIL_MAX, SPECS, EventText, describe
from sitekeeper.domain.report_events import ReportEventKind
from sitekeeper.domain.seo import SeoEventKind
from sitekeeper.domain.ssh_events import SshEventKind
from sitekeeper.domain.update_events import UpdateEventKind
from sitekeeper.store.backups import RunFigures

SNAPSHOT = "59510d91a04a7c2e" * 4
_AKISMET = {"type": "plugin", "package": "akismet", "installed": "5.0.2", "target": "5.5"}
KINDS = [
    *EventKind,
    *IntelEventKind,
    *BackupEventKind,
    *SshEventKind,
    *UpdateEventKind,
    *ReportEventKind,
    *DomainEventKind,
    *SeoEventKind,
]
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _wp(version: str, *extensions: tuple[str, str | None, bool]) -> Inventory:
    return Inventory(
        cms="wordpress",
        version=version,
        collected_at=T0,
        extensions=[
            Extension(
                type="plugin",
                slug=slug,
                name=slug.title(),
                version=v,
                active=active,
                update_source="wordpress.org",
            )
            for slug, v, active in extensions
        ],
    )


def _inventory_event(old: Inventory | None, new: Inventory) -> dict[str, Any]:
    """What store.inventories journals (the diff against nothing for a first inventory)."""
    empty = Inventory(cms=new.cms, collected_at=new.collected_at)
    return {"first": old is None, **diff(old or empty, new).model_dump(mode="json")}


BEFORE = _wp("6.7.1", ("woocommerce", "9.4.2", True), ("akismet", "5.3.5", False))
AFTER = _wp("6.7.2", ("woocommerce", "9.5.0", True), ("hello-dolly", "1.7.2", True))
FIGURES = RunFigures(
    snapshot_id=SNAPSHOT,
    files=18_040,
    files_new=12,
    files_changed=30,
    bytes_total=1_900_000_000,
    bytes_added=2_550_000,
    bytes_transferred=2_000_000,
    database_bytes=48_000_000,
    duration=32.5,
)
FINDING = {
    "finding_id": 3,
    "kind": "vulnerability",
    "ecosystem": "wordpress",
    "type": "plugin",
    "package": "contact-form-pro",
    "installed": "5.8.1",
    "latest": None,
    "advisory_id": "WF-2026-0142",
    "security": False,
    "certainty": "certain",
    "basis": "inventory",
}
UPDATE = FINDING | {"kind": "update", "latest": "5.8.2", "advisory_id": None, "security": True}
DELIVERY = {"notification_id": 4, "event_id": 9, "attempts": 1, "channel": "tgram"}

# kind -> (data as its producer records it, title, detail, tone)
EXAMPLES: dict[str, tuple[dict[str, Any], str, str, str]] = {
    EventKind.INCIDENT_OPENED: (
        {"kind": "down", "cause": "http_status: 503", "url": "https://acme.example/"},
        "Site went down",
        "HTTP 503",
        "bad",
    ),
    EventKind.INCIDENT_CLOSED: (
        {"kind": "down", "cause": None, "url": "https://acme.example/", "duration_s": 5430},
        "Site back up",
        "down for 1 h 30 min",
        "good",
    ),
    EventKind.INCIDENT_REMINDER: ({"open_for_s": 7500}, "Still down", "down for 2 h 5 min", "bad"),
    EventKind.NOTIFICATION_SENT: (DELIVERY, "Alert sent", "via tgram", "info"),
    EventKind.NOTIFICATION_FAILED: (
        DELIVERY | {"attempts": 5, "error": "HTTP 401 from the API"},
        "Alert not delivered",
        "via tgram after 5 attempts · HTTP 401 from the API",
        "bad",
    ),
    EventKind.SITE_ADDED: (
        {"name": "acme-shop", "url": "https://acme-shop.example/", "source": "import"},
        "Site added",
        "acme-shop (https://acme-shop.example/) · imported",
        "info",
    ),
    EventKind.SITE_REMOVED: (
        {"name": "acme-shop", "url": "https://acme-shop.example/"},
        "Site removed",
        "acme-shop (https://acme-shop.example/)",
        "info",
    ),
    EventKind.CHECKS_ROLLED_UP: (
        {"days": ["2026-02-27", "2026-02-28"], "raw_pruned": 123_456},
        "Check history summarised",
        "2 days summarised (2026-02-27 to 2026-02-28) · 123,456 raw results pruned",
        "info",
    ),
    EventKind.LOCATION_SILENT: (
        {"location": "us-east", "last_result_at": "2026-03-01T11:57:00.250000+00:00"},
        "Check location silent",
        "us-east · no results since 2026-03-01 11:57 UTC",
        "bad",
    ),
    EventKind.LOCATION_BACK: (
        {"location": "us-east", "silent_s": 3_600},
        "Check location back",
        "us-east · silent for 1 h",
        "good",
    ),
    IntelEventKind.INVENTORY_CHANGED: (
        _inventory_event(BEFORE, AFTER),
        "Software changed",
        "wordpress 6.7.1 → 6.7.2, woocommerce 9.4.2 → 9.5.0, hello-dolly 1.7.2 installed,"
        " akismet removed",
        "info",
    ),
    IntelEventKind.FINGERPRINT_CHANGED: (
        {"cms": "wordpress", "version": None, "candidates": ["6.7.0", "6.7.1", "6.7.2", "6.7.3"]},
        "CMS detected",
        "wordpress, version one of 6.7.0, 6.7.1, 6.7.2 and 1 more",
        "info",
    ),
    IntelEventKind.FINDING_OPENED: (
        FINDING,
        "Vulnerability found",
        "contact-form-pro 5.8.1 · WF-2026-0142",
        "bad",
    ),
    IntelEventKind.FINDING_RESOLVED: (
        UPDATE,
        "Security update resolved",
        "contact-form-pro 5.8.1 → 5.8.2",
        "good",
    ),
    IntelEventKind.FINDING_ACKNOWLEDGED: (
        {
            "finding_id": 9,
            "key": "integrity:wordpress:added:wp-content/uploads/cache.php",
            "kind": "integrity",
            "package": "wp-content/uploads/cache.php",
            "title": "PHP file in uploads",
            "digest": "ab" * 32,
            "reason": "our image cache, reviewed",
            "actor": "tom@agency.example",
        },
        "File integrity issue acknowledged as not a problem",
        "PHP file in uploads · by tom@agency.example · our image cache, reviewed",
        "info",
    ),
    IntelEventKind.FINDING_UNACKNOWLEDGED: (
        {"finding_id": 9, "kind": "malware", "package": "shell.php", "actor": "ada"},
        "Malware: acknowledgement undone",
        "shell.php · by ada",
        "bad",
    ),
    IntelEventKind.ADVISORIES_IMPORTED: (
        {"advisories": ["WF-1", "WF-2", "WF-3", "WF-4"], "count": 4, "opened": 1},
        "Advisories imported",
        "4 advisories new or changed: WF-1, WF-2, WF-3 and 1 more · 1 finding opened",
        "info",
    ),
    IntelEventKind.SOFTWARE_ALERT: (
        {"sites": [1, 2], "site_count": 2, "advisories": ["WF-2026-0142"]},
        "Software alert",
        "2 sites affected · WF-2026-0142",
        "bad",
    ),
    IntelEventKind.SECURITY_ALERT: (
        {"sites": [1], "site_count": 1, "issues": ["/.env", "/.git/HEAD"]},
        "Security alert",
        "1 site affected · /.env, /.git/HEAD",
        "bad",
    ),
    IntelEventKind.INTEGRITY_ALERT: (
        {"sites": [4], "site_count": 1, "issues": ["wp-content/uploads/2026/11/x.php"]},
        "Integrity alert",
        "1 site affected · wp-content/uploads/2026/11/x.php",
        "bad",
    ),
    SeoEventKind.SEO_ALERT: (
        {"sites": [1], "site_count": 1, "issues": ["cheap-pills.test"]},
        "SEO alert",
        "1 site affected · cheap-pills.test",
        "bad",
    ),
    SeoEventKind.BASELINE_ACCEPTED: (
        {"by": "anna", "pages": ["https://shop.test/", "https://shop.test/about/"]},
        "Page baselines accepted",
        "by anna · https://shop.test/, https://shop.test/about/",
        "info",
    ),
    DomainEventKind.DNS_CHANGED: (
        {
            "host": "www.example.test",
            "domain": "example.test",
            "changes": {"A": {"added": ["192.0.2.11"], "removed": ["192.0.2.10"]}},
        },
        "DNS records changed",
        "www.example.test · A +192.0.2.11 -192.0.2.10",
        "info",
    ),
    DomainEventKind.DNS_ACCEPTED: (
        {"by": "anna", "why": "new DNS host", "ns": ["ns1.new.example"]},
        "DNS change accepted",
        "by anna · new DNS host · name servers ns1.new.example",
        "info",
    ),
    DomainEventKind.DOMAIN_ALERT: (
        {"sites": [1], "site_count": 1, "issues": ["expiry: example.test"]},
        "Domain alert",
        "1 site affected · expiry: example.test",
        "bad",
    ),
    BackupEventKind.BACKUP_TAKEN: (
        {"run": 7, "reason": "scheduled", **FIGURES.as_event()},
        "Backup taken",
        "18,040 files, 2.4 MiB new (1.8 GiB in all), 32.5 s · snapshot 59510d91",
        "good",
    ),
    BackupEventKind.BACKUP_FAILED: (
        {"run": 8, "reason": "manual", "error": "ssh: connection refused", "duration": 3.25},
        "Backup failed",
        "ssh: connection refused · after 3.2 s · manual",
        "bad",
    ),
    BackupEventKind.BACKUP_INTERRUPTED: (
        {"run": 9, "reason": "scheduled", "error": "interrupted: sitekeeper stopped"},
        "Backup interrupted",
        "interrupted: sitekeeper stopped",
        "bad",
    ),
    BackupEventKind.BACKUP_PRUNED: (
        {"snapshots": [SNAPSHOT, "ab" * 32]},
        "Old backups pruned",
        "2 snapshots removed: 59510d91, abababab",
        "info",
    ),
    BackupEventKind.BACKUP_RESTORED: (
        {"snapshot": SNAPSHOT, "to": "in-place", "duration": 185.0, "safety_snapshot": "f" * 64},
        "Backup restored",
        "snapshot 59510d91 in place, 3 min 5 s · safety snapshot ffffffff",
        "good",
    ),
    BackupEventKind.RESTORE_FAILED: (
        {"snapshot": SNAPSHOT, "error": "rsync: disk full"},
        "Restore failed",
        "snapshot 59510d91 · rsync: disk full",
        "bad",
    ),
    BackupEventKind.BACKUP_VERIFIED: (
        {
            "snapshot": SNAPSHOT,
            "detail": "home page answered 200 with title 'Acme'",
            "restore_seconds": 12.0,
            "home_status": 200,
            "home_ms": 84,
            "duration": 61.0,
        },
        "Restore drill passed",
        "home page answered 200 with title 'Acme' · snapshot 59510d91 · 1 min 1 s",
        "good",
    ),
    BackupEventKind.BACKUP_VERIFICATION_FAILED: (
        {"snapshot": SNAPSHOT, "detail": "home page answered 500, expected 200"},
        "Restore drill failed",
        "home page answered 500, expected 200 · snapshot 59510d91",
        "bad",
    ),
    BackupEventKind.BACKUPS_KEPT: (
        {"host": "sitekeeper-site-7", "repository": "/data/repo", "snapshots": [SNAPSHOT, "ab"]},
        "Backups kept after the site was removed",
        "2 snapshots · restic host sitekeeper-site-7 · in /data/repo",
        "info",
    ),
    BackupEventKind.BACKUPS_PURGED: (
        {"host": "sitekeeper-site-7", "repository": "/data/repo", "snapshots": [SNAPSHOT]},
        "Backups deleted with the site",
        "1 snapshot · restic host sitekeeper-site-7 · in /data/repo",
        "info",
    ),
    UpdateEventKind.APPLIED: (
        {
            "run": 4,
            "trigger": "manual",
            "items": [_AKISMET],
            "snapshot": SNAPSHOT,
            "steps": [{"name": "health", "ok": True, "detail": "home 200", "seconds": 0.4}],
            "duration": 42.0,
        },
        "Updated",
        "plugin akismet 5.0.2 → 5.5 · snapshot 59510d91 · 42 s",
        "good",
    ),
    UpdateEventKind.NEEDS_REVIEW: (
        {
            "items": [_AKISMET],
            "snapshot": SNAPSHOT,
            "steps": [
                {"name": "visual", "ok": False, "detail": "41 % changed", "seconds": 4.0},
            ],
        },
        "Updated, home page looks different: needs review",
        "plugin akismet 5.0.2 → 5.5 · visual: 41 % changed · snapshot 59510d91",
        "bad",
    ),
    UpdateEventKind.ROLLED_BACK: (
        {
            "items": [_AKISMET],
            "snapshot": SNAPSHOT,
            "steps": [
                {"name": "apply", "ok": True, "detail": "", "seconds": 3.0},
                {"name": "health", "ok": False, "detail": "home answered 500", "seconds": 0.4},
            ],
        },
        "Update rolled back",
        "plugin akismet 5.0.2 → 5.5 · health: home answered 500 · snapshot 59510d91",
        "bad",
    ),
    UpdateEventKind.REFUSED: (
        {"items": [_AKISMET], "steps": [{"name": "package", "ok": False, "detail": "bad md5"}]},
        "Update refused",
        "plugin akismet 5.0.2 → 5.5 · package: bad md5",
        "bad",
    ),
    UpdateEventKind.FAILED: (
        {"items": [_AKISMET], "error": "rollback: restic unreachable", "snapshot": SNAPSHOT},
        "Update failed, site not restored",
        "plugin akismet 5.0.2 → 5.5 · rollback: restic unreachable · snapshot 59510d91",
        "bad",
    ),
    UpdateEventKind.INTERRUPTED: (
        {"items": "not a list", "error": "sitekeeper stopped during the update"},
        "Update interrupted",
        "sitekeeper stopped during the update",
        "bad",
    ),
    SshEventKind.KEY_IMPORTED: (
        {"key_id": 3, "name": "deploy", "fingerprint": "SHA256:abc"},
        "SSH key kept",
        "deploy · SHA256:abc",
        "info",
    ),
    SshEventKind.KEY_PATH_MIGRATED: (
        {"path": "/home/ops/.ssh/shop", "key_id": None, "problem": "not readable"},
        "SSH key file not imported",
        "/home/ops/.ssh/shop · not readable",
        "bad",
    ),
    SshEventKind.ACCESS_CHANGED: (
        {
            "before": {"host": "shop.example", "port": 22, "user": "deploy", "docroot": "/srv"},
            "after": {
                "host": "shop.example",
                "port": 2222,
                "user": "deploy",
                "docroot": "/srv",
                "sudo_user": "shop",
            },
        },
        "SSH access changed",
        "deploy@shop.example:22 → deploy@shop.example:2222 as shop",
        "info",
    ),
    SshEventKind.HOST_KEY_TRUSTED: (
        {"site": "shop", "host": "203.0.113.5", "port": 22, "fingerprint": "SHA256:xyz"},
        "Host key pinned",
        "203.0.113.5:22 · SHA256:xyz",
        "info",
    ),
    SshEventKind.HOST_KEY_FORGOTTEN: (
        {"site": "shop", "host": "203.0.113.5", "port": 2222, "forgotten": False},
        "Host key pin dropped",
        "203.0.113.5:2222 · none set",
        "info",
    ),
    ReportEventKind.GENERATED: (
        {"report_id": 4, "scope": "client", "period": "2026-11", "by": "schedule"},
        "Report archived",
        "2026-11",
        "info",
    ),
    ReportEventKind.REGENERATED: (
        {"report_id": 4, "scope": "contract:7", "period": "2026-11", "by": "ada@agency.example"},
        "Report rendered again",
        "2026-11 · contract 7 · by ada@agency.example",
        "info",
    ),
    ReportEventKind.SENT: (
        {"report_id": 4, "period": "2026-11", "recipients": ["a@x.example", "b@x.example"]},
        "Report sent",
        "2026-11 · to a@x.example, b@x.example",
        "good",
    ),
    ReportEventKind.SEND_FAILED: (
        {"report_id": 4, "period": "2026-11", "recipients": ["a@x.example"], "error": "550 no"},
        "Report not delivered",
        "2026-11 · to a@x.example · 550 no",
        "bad",
    ),
}


def test_every_kind_has_a_spec_and_an_example() -> None:
    # A new kind in any of the vocabularies fails here until it is worded.
    assert set(SPECS) == set(KINDS)
    assert set(EXAMPLES) == set(KINDS)


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_each_kind_reads_as_a_sentence(kind: str) -> None:
    data, title, detail, tone = EXAMPLES[kind]
    assert describe(kind, data) == EventText(title, detail, tone)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "data", "title", "detail", "tone"),
    [
        (EventKind.INCIDENT_OPENED, {"kind": "tls_expiring", "cause": "certificate expires soon"},
         "Certificate expiring", "certificate expires soon", "bad"),
        (EventKind.INCIDENT_OPENED, {"kind": "down", "cause": "too_many_redirects"},
         "Site went down", "too many redirects", "bad"),
        (EventKind.INCIDENT_OPENED, {"kind": "down", "cause": "timeout: no answer in 10 s"},
         "Site went down", "timeout: no answer in 10 s", "bad"),
        (EventKind.INCIDENT_CLOSED, {"kind": "tls_expiring", "duration_s": 86400 * 3},
         "Certificate renewed", "expiring for 3 d", "good"),
        (EventKind.INCIDENT_OPENED,
         {"kind": "unreachable", "cause": "refused (unreachable from us-east)"},
         "Site unreachable", "refused (unreachable from us-east)", "bad"),
        (EventKind.INCIDENT_CLOSED, {"kind": "unreachable", "duration_s": 600},
         "Site reachable again", "unreachable for 10 min", "good"),
        (IntelEventKind.INVENTORY_CHANGED, _inventory_event(None, BEFORE), "Software inventoried",
         "wordpress 6.7.1 · 2 extensions: akismet 5.3.5, woocommerce 9.4.2", "info"),
        (IntelEventKind.INVENTORY_CHANGED,
         _inventory_event(BEFORE, _wp("6.7.1", ("woocommerce", "9.4.2", False),
                                     ("akismet", "5.3.5", True))),
         "Software changed", "akismet activated, woocommerce deactivated", "info"),
        (IntelEventKind.INVENTORY_CHANGED,
         _inventory_event(BEFORE, _wp("6.7.0", *[(f"p{i}", "1", True) for i in range(9)])),
         "Software changed", "wordpress 6.7.1 → 6.7.0 (downgrade), p0 1 installed, "
         "p1 1 installed, p2 1 installed, p3 1 installed and 7 more", "info"),
        (IntelEventKind.FINGERPRINT_CHANGED, {"cms": "drupal", "version": "10.3.1"},
         "CMS detected", "drupal 10.3.1", "info"),
        (IntelEventKind.FINGERPRINT_CHANGED, {"cms": None, "version": None, "candidates": []},
         "CMS no longer recognised", "", "info"),
        (IntelEventKind.FINDING_OPENED, UPDATE | {"security": False, "package": "woocommerce"},
         "Update available", "woocommerce 5.8.1 → 5.8.2", "info"),
        (IntelEventKind.FINDING_OPENED, UPDATE | {"certainty": "possible", "basis": "fingerprint"},
         "Security update available",
         "contact-form-pro 5.8.1 → 5.8.2 · possibly affected: the version is only estimated",
         "bad"),
        (IntelEventKind.FINDING_OPENED, FINDING | {"kind": "unknown-source", "advisory_id": None},
         "Updates not tracked",
         "contact-form-pro 5.8.1 · updates come from a source that is not polled", "info"),
        (IntelEventKind.FINDING_RESOLVED, FINDING, "Vulnerability resolved",
         "contact-form-pro 5.8.1 · WF-2026-0142", "good"),
        (BackupEventKind.BACKUP_TAKEN, {"reason": "safety", "bytes_total": 5 * 1024**4},
         "Backup taken", "5.0 TiB in all · safety copy before a restore", "good"),
        (BackupEventKind.BACKUP_FAILED, {"reason": "scheduled", "error": "x", "duration": 0.0},
         "Backup failed", "x", "bad"),
    ],
)  # fmt: skip
def test_variants(kind: str, data: dict[str, Any], title: str, detail: str, tone: str) -> None:
    assert describe(kind, data) == EventText(title, detail, tone)  # type: ignore[arg-type]


def test_keys_no_spec_knows_are_still_shown() -> None:
    text = describe(BackupEventKind.BACKUP_PRUNED, {"snapshots": [], "repository": "s3:bucket"})
    assert text.detail == "repository: s3:bucket"


def test_an_unknown_kind_reads_by_its_keys() -> None:
    data = {
        "package": "woocommerce",
        "bytes_saved": 123_456_789,
        "elapsed_s": 200,
        "wait_ms": 1500,
        "snapshot_id": SNAPSHOT,
        "ok": True,
        "nothing": None,
        "nested": {"a": {"deep": 1}, "b": "x", "c": None},
        "hosts": ["a", "b", "c", "d"],
    }
    text = describe("plugin.tuned", data)
    assert text == EventText(
        "Plugin tuned",
        "package: woocommerce · bytes saved: 117.7 MiB · elapsed s: 3 min 20 s · wait ms: "
        "1,500 ms · snapshot id: 59510d91 · ok: yes · nested: a: …, b: x · hosts: a, b, c "
        "and 1 more",
        "info",
    )
    assert describe("update.failed", {}).tone == "bad"
    assert describe("", None) == EventText("Event", "", "info")


@pytest.mark.parametrize(
    "data",
    [
        None,
        {},
        {"files": "many", "bytes_added": None, "duration": float("nan"), "snapshot": 12},
        {"files": True, "bytes_total": float("inf"), "duration": -3},
        {"installed": "not a list", "upgraded": [None, 5, {"slug": None}], "first": "yes"},
        {"kind": {"nested": ["x"]}, "cause": ["a"], "duration_s": "long"},
    ],
)
@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_odd_data_never_breaks_a_kind(kind: str, data: dict[str, Any] | None) -> None:
    text = describe(kind, data)
    assert text.title and text.tone in ("bad", "good", "info")


def test_huge_values_are_clipped() -> None:
    text = describe(BackupEventKind.BACKUP_FAILED, {"error": "e" * 100_000, "x": "y" * 100_000})
    assert len(text.detail) <= DETAIL_MAX and text.detail.endswith("…")
    many = describe(BackupEventKind.BACKUP_PRUNED, {"snapshots": [SNAPSHOT] * 5000})
    assert many.detail.startswith("5,000 snapshots removed") and "and 4,996 more" in many.detail
    lines = describe(EventKind.SITE_ADDED, {"name": "a\nb\r\n\tc", "url": "https://x/"})
    assert lines.detail == "a b c (https://x/)"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=300),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from([*KINDS, "some.future_kind"]),
    data=st.dictionaries(
        st.sampled_from(sorted({k for s in SPECS.values() for k in s.keys})) | st.text(max_size=12),
        JSON,
        max_size=12,
    ),
)
def test_any_json_reads_as_one_bounded_line(kind: str, data: dict[str, Any]) -> None:
    text = describe(kind, data)
    assert text.title and len(text.detail) <= DETAIL_MAX
    assert "\n" not in text.title + text.detail

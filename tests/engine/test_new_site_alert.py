"""A site added after an advisory was imported gets the vulnerability alert too.

Alerts used to be queued only by advisory imports and feed polls; a site whose first
fingerprint (or inventory) matched a known vulnerability got a finding and no alert.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from sitekeeper.config import Settings
from sitekeeper.domain.fingerprint import Fingerprint
from sitekeeper.domain.intel_events import IntelEventKind
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.probes.fingerprint import FingerprintOptions
from sitekeeper.store import clients, findings, sites
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Event, Notification
from tests.store.factories import VAULT

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CRITICAL = {
    "WF-9": {
        "id": "WF-9", "title": "WordPress core RCE", "cve": "CVE-2099-9",
        "software": [{"type": "core", "name": "WordPress", "slug": "wordpress",
                      "affected_versions": {"6.1 - 6.1.3": {
                          "from_version": "6.1", "from_inclusive": True,
                          "to_version": "6.1.3", "to_inclusive": True}},
                      "patched": True, "patched_versions": ["6.1.4"]}],
        "cvss": {"score": 9.8, "rating": "Critical"},
    }
}  # fmt: skip


def _notifications(db: Database) -> list[Notification]:
    with db.session() as session:
        return list(session.scalars(select(Notification).order_by(Notification.id)))


async def test_a_site_added_after_the_advisory_gets_its_alert_once(
    db: Database, tmp_path: Path
) -> None:
    advisory = tmp_path / "wf.json"
    advisory.write_text(json.dumps(CRITICAL))
    settings = Settings(home=tmp_path / "home", alert_urls=["json://127.0.0.1:9/global"])
    jobs = IntelJobs(db, settings, vault=VAULT)

    async def fingerprint(url: str, options: FingerprintOptions) -> Fingerprint:
        return Fingerprint(url=url, cms="wordpress", version="6.1.2", evidence=["meta generator"])

    jobs.fingerprint_fn = fingerprint
    report = await jobs.import_advisories(str(advisory))
    assert (report.opened, report.alerts) == (0, 0)  # no site runs WordPress yet

    with db.session() as session:
        owner = clients.add_client(session, VAULT, name="Neukunde", now=NOW)
        fields = sites.SiteFields(url="https://late.example", client=owner, name="late")
        site_id = sites.add_site(session, fields, NOW, default_interval=300).id
    await jobs.fingerprint_site(site_id)
    await jobs.fingerprint_site(site_id)  # the same finding again: no second alert

    with db.session() as session:
        [vuln] = findings.open_findings(session, ["vulnerability"])
        assert (vuln.site, vuln.advisory_id) == ("late", "WF-9")
        alerts = session.scalars(
            select(Event).where(Event.kind == str(IntelEventKind.SOFTWARE_ALERT))
        ).all()
        assert [(a.client_id, a.data["advisories"]) for a in alerts] == [(owner.id, ["WF-9"])]
    [note] = _notifications(db)
    assert "WF-9" in note.title
    assert "late (https://late.example" in note.body

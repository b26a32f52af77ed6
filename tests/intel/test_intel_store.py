"""Inventories, advisories, catalogue and findings in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sitekeeper.cms.drupal.versions import DRUPAL
from sitekeeper.cms.wordpress.ecosystem import WORDPRESS
from sitekeeper.cms.wordpress.wordfence import parse_wordfence
from sitekeeper.config import Settings
from sitekeeper.domain.catalogue import PackageInfo, ReleaseInfo
from sitekeeper.domain.fingerprint import Fingerprint
from sitekeeper.domain.inventory import Extension, Inventory
from sitekeeper.engine.intel_ingest import ingest_advisories, rematch
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.engine.software_alerts import SoftwareAlerts
from sitekeeper.errors import InvalidFeed
from sitekeeper.store import clients, findings, inventories, releases
from sitekeeper.store.database import Database
from sitekeeper.store.intel_tables import AdvisoryRecord, Finding, InventoryRecord
from sitekeeper.store.tables import Event, Notification, Site
from tests.intel.samples import sample
from tests.store.factories import VAULT, site

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GLOBAL_URL = "json://127.0.0.1:9/global"
WORDFENCE = sample("advisories/wordfence_v2_record_shape.json")


def _inventory(plugins: dict[str, str], *, themes: dict[str, str] | None = None, at: datetime = NOW,
               core: str = "6.1.9") -> Inventory:  # fmt: skip
    extensions = [
        Extension(type="plugin", slug=s, name=s, version=v, update_source="wordpress.org")
        for s, v in plugins.items()
    ]
    extensions += [
        Extension(type="theme", slug=s, name=s, version=v, update_source="wordpress.org")
        for s, v in (themes or {}).items()
    ]
    return Inventory(cms="wordpress", version=core, extensions=extensions, collected_at=at)


@dataclass
class Fleet:
    """Two clients: Acme (two sites on foo-bar 3.x) and Bolt (one safe, one on wpbaz 4.9.2)."""

    ids: dict[str, int]


@pytest.fixture
def fleet(db: Database) -> Fleet:
    with db.session() as session:
        acme = clients.add_client(
            session, VAULT, name="Acme", alert_urls=["json://127.0.0.1:9/acme"], now=NOW
        )
        bolt = clients.add_client(session, VAULT, name="Bolt", now=NOW)
        made = {
            "a1": (acme, _inventory({"foo-bar": "3.0"})),
            "a2": (acme, _inventory({"foo-bar": "3.4", "akismet": "5.0"})),
            "b1": (bolt, _inventory({"foo-bar": "4.0"})),
            "b2": (bolt, _inventory({}, themes={"wpbaz": "4.9.2"})),
        }
        ids = {}
        for name, (owner, inventory) in made.items():
            row = site(session, owner, url=f"https://{name}.example", name=name)
            inventories.store_inventory(session, row, inventory)
            ids[name] = row.id
        rematch(session, NOW, site_ids=list(ids.values()))
    return Fleet(ids)


def _alerts() -> SoftwareAlerts:
    return SoftwareAlerts([GLOBAL_URL], VAULT)


def _count(session: Session, model: type, *where: Any) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_new_advisory_opens_findings_and_one_alert_per_client(db: Database, fleet: Fleet) -> None:
    with db.session() as session:
        report = ingest_advisories(session, parse_wordfence(WORDFENCE), _alerts(), NOW)
    assert report.opened == 3 and report.alerts == 2
    with db.session() as session:
        vulns = findings.open_findings(session, ["vulnerability"])
        assert {(v.site, v.package) for v in vulns} == {
            ("a1", "foo-bar"), ("a2", "foo-bar"), ("b2", "wpbaz")
        }  # fmt: skip
        notes = list(session.scalars(select(Notification).order_by(Notification.id)))
        targets = sorted(VAULT.decrypt(n.target) for n in notes)
        # Acme's message goes to the global and Acme's channel; Bolt has only the global one
        assert targets == sorted([GLOBAL_URL, "json://127.0.0.1:9/acme", GLOBAL_URL])
        acme = next(n for n in notes if "Acme" in n.title)
        assert "2 sites of Acme" in acme.title
        assert "a1 (" in acme.body and "a2 (" in acme.body and "b2 (" not in acme.body
        opened = session.scalars(select(Event).where(Event.kind == "finding.opened")).all()
        kinds = sorted(e.data["kind"] for e in opened if e.data["kind"] == "vulnerability")
        assert kinds == ["vulnerability"] * 3
    with db.session() as session:  # the same feed again changes nothing and alerts nobody
        again = ingest_advisories(session, parse_wordfence(WORDFENCE), _alerts(), NOW)
    assert (again.changed, again.opened, again.alerts) == ([], 0, 0)


def test_upgrade_resolves_the_finding_and_journals_the_change(db: Database, fleet: Fleet) -> None:
    with db.session() as session:
        ingest_advisories(session, parse_wordfence(WORDFENCE), _alerts(), NOW)
    later = NOW + timedelta(hours=1)
    with db.session() as session:
        a1 = session.get(Site, fleet.ids["a1"])
        assert a1 is not None
        changes = inventories.store_inventory(session, a1, _inventory({"foo-bar": "3.6"}, at=later))
        assert [(c.slug, c.from_version, c.to_version) for c in changes.upgraded] == [
            ("foo-bar", "3.0", "3.6")
        ]
        result = rematch(session, later, site_ids=[a1.id])
        expected = "vulnerability:wordpress:plugin:foo-bar:59ea7390-3587-4fce-b267-bf525dbe3e27"
        assert [f.key for f in result.resolved] == [expected]
    with db.session() as session:
        resolved = session.scalars(
            select(Event).where(Event.kind == "finding.resolved", Event.site_id == fleet.ids["a1"])
        ).all()
        assert len(resolved) == 1 and resolved[0].data["package"] == "foo-bar"
        changed = session.scalars(
            select(Event)
            .where(Event.kind == "inventory.changed", Event.site_id == fleet.ids["a1"])
            .order_by(Event.id)
        ).all()
        assert [e.data["first"] for e in changed] == [True, False]
        assert changed[1].data["upgraded"][0]["to_version"] == "3.6"
        assert _count(session, InventoryRecord, InventoryRecord.site_id == fleet.ids["a1"]) == 2


def _akismet(*released: ReleaseInfo) -> PackageInfo:
    return PackageInfo(WORDPRESS, "plugin", "akismet", "5.1", "wordpress.org", releases=released)


def test_security_release_escalates_and_alerts(db: Database, fleet: Fleet) -> None:
    from sitekeeper.engine.intel_ingest import ingest_releases

    plain = _akismet(ReleaseInfo("5.0"), ReleaseInfo("5.1"))
    with db.session() as session:
        first = ingest_releases(session, [plain], _alerts(), NOW)
    assert (first.packages, first.alerts) == (1, 0)  # an ordinary update alerts nobody
    flagged = _akismet(ReleaseInfo("5.0", insecure=True), ReleaseInfo("5.1"))
    with db.session() as session:
        second = ingest_releases(session, [flagged], _alerts(), NOW)
        assert second.alerts == 1
        [update] = findings.open_findings(session, ["update"])
        assert (update.site, update.latest, update.security) == ("a2", "5.1", True)
    with db.session() as session:
        assert ingest_releases(session, [flagged], _alerts(), NOW).packages == 0


def test_fingerprint_stands_in_only_without_inventory(db: Database, fleet: Fleet) -> None:
    with db.session() as session:
        client = clients.add_client(session, VAULT, name="Cato", now=NOW)
        bare = site(session, client, url="https://bare.example", name="bare")
        print_ = Fingerprint(url=bare.url, cms="wordpress", candidates=[">=6.4 <6.5"])
        assert inventories.store_fingerprint(session, bare, print_, NOW)
        [core] = inventories.software(session, site_ids=[bare.id])
        assert (core.version, core.candidates, core.basis) == (None, (">=6.4 <6.5",), "fingerprint")
        a1 = session.get(Site, fleet.ids["a1"])
        assert a1 is not None
        inventories.store_fingerprint(session, a1, Fingerprint(a1.url, "wordpress", "6.0"), NOW)
        kept = {s.basis for s in inventories.software(session, site_ids=[a1.id])}
        assert kept == {"inventory"}
        assert not inventories.store_fingerprint(session, bare, print_, NOW)  # unchanged


def test_hostile_source_changes_nothing(db: Database, fleet: Fleet, tmp_path: Path) -> None:
    good = tmp_path / "feed"
    good.mkdir()
    (good / "a.json").write_bytes(WORDFENCE)
    (good / "b.json").write_text('{"id": "X", "modified": "not a date"}')
    jobs = IntelJobs(db, Settings(home=tmp_path / "home", alert_urls=[GLOBAL_URL]), vault=VAULT)
    import asyncio

    with pytest.raises(InvalidFeed, match="modified"):
        asyncio.run(jobs.import_advisories(str(good)))
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ok.json", WORDFENCE)
        archive.writestr("zeros.json", b"0" * (40 * 1024 * 1024))
    with pytest.raises(InvalidFeed, match=r"zip bomb|too large"):
        asyncio.run(jobs.import_advisories(str(bomb)))
    with db.session() as session:
        assert _count(session, AdvisoryRecord) == 0
        assert _count(session, Finding, Finding.kind == "vulnerability") == 0
        assert _count(session, Notification) == 0


def test_catalogue_round_trip(db: Database) -> None:
    info = PackageInfo(
        DRUPAL, "module", "token", latest="8.x-1.15", source="drupal.org",
        status="published", details={"branch_latest": {"8.x-1.x": "8.x-1.15"},
                                     "supported_branches": ["8.x-1."]},
        releases=(ReleaseInfo("8.x-1.14", security_update=True), ReleaseInfo("8.x-1.15")),
    )  # fmt: skip
    with db.session() as session:
        assert releases.store_packages(session, [info], NOW) == [info]
    with db.session() as session:
        [(key, entry)] = releases.catalogue(session).items()
        assert key == ("drupal", "module", "token")
        assert entry.security_releases == ("8.x-1.14",)
        assert entry.branch_latest == {"8.x-1.x": "8.x-1.15"}
        assert releases.store_packages(session, [info], NOW) == []

"""The intelligence jobs end to end: feed polls and advisory refreshes against a loopback
feed server, inventories over SSH against the real WordPress site wp2 (never wp1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from sitekeeper.cli import intel as intel_cli
from sitekeeper.cli.main import _Root, root
from sitekeeper.config import Settings
from sitekeeper.domain.fingerprint import Fingerprint
from sitekeeper.domain.inventory import Extension, Inventory
from sitekeeper.engine.intel_ingest import rematch
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.intel.fetch import FeedSettings
from sitekeeper.probes.fingerprint import FingerprintOptions
from sitekeeper.store import clients, findings, inventories, sites
from sitekeeper.store.database import Database
from sitekeeper.store.intel_tables import FeedState, InventoryRecord, SiteSoftware
from sitekeeper.store.tables import Event, Notification
from sitekeeper.vault import Vault
from tests.intel.feedserver import FeedServer, feed_server
from tests.intel.samples import sample
from tests.intel.test_feeds import AKISMET_INFO, STABLE_CHECK
from tests.realsites import real_wp_sites, stored_ssh
from tests.store.factories import VAULT

__all__ = ["real_wp_sites"]

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
VERSION_CHECK = "/wp/core/version-check/1.7/"
AKISMET = "/wp/plugins/info/1.2/?action=plugin_information&slug=akismet"


def _serve_wordpress(server: FeedServer) -> None:
    server.bodies[VERSION_CHECK] = sample("wordpress/version-check-1.7_latest_6.7.1_en_CA.json")
    server.bodies["/wp/core/stable-check/1.0/"] = STABLE_CHECK
    server.bodies[AKISMET] = AKISMET_INFO


def _jobs(db: Database, tmp_path: Path, server: FeedServer, **feeds: Any) -> IntelJobs:
    settings = Settings(home=tmp_path / "home", alert_urls=["json://127.0.0.1:9/global"])
    feed = FeedSettings(
        vendor={"wordpress_api_url": server.url("/wp"), "drupal_updates_url": server.url("/d")},
        **feeds,
    )
    return IntelJobs(db, settings, feeds=feed, vault=VAULT)


def _fleet(db: Database) -> None:
    with db.session() as session:
        owner = clients.add_client(session, VAULT, name="Acme", now=NOW)
        for name, core, akismet in (("old", "6.1.8", "5.3.4"), ("new", "6.7.1", "5.3.5")):
            site = sites.add_site(
                session, sites.SiteFields(url=f"https://{name}.example", client=owner, name=name),
                NOW, default_interval=300,
            )  # fmt: skip
            inventory = Inventory(
                cms="wordpress", version=core, collected_at=NOW,
                extensions=[Extension(type="plugin", slug="akismet", name="Akismet",
                                      version=akismet, update_source="wordpress.org"),
                            Extension(type="plugin", slug="premium", name="Premium", version="1",
                                      update_source="https://premium.example/updates")],
            )  # fmt: skip
            inventories.store_inventory(session, site, inventory)
            rematch(session, NOW, site_ids=[site.id])


async def test_feed_poll_finds_updates_and_security(db: Database, tmp_path: Path) -> None:
    _fleet(db)
    async with feed_server() as server:
        _serve_wordpress(server)
        jobs = _jobs(db, tmp_path, server)
        report = await jobs.poll_feeds()
        assert report.errors == []
        again = await jobs.poll_feeds()
        assert server.hits(VERSION_CHECK)[-1].status == 304
    assert (report.packages, again.packages) == (2, 0)
    assert report.alerts == 1  # old's core is flagged insecure by the vendor: one client message
    assert not [h for h in server.log if "premium" in h.path]  # never asked wordpress.org
    with db.session() as session:
        rows = {
            (v.site, v.package): v for v in findings.open_findings(session, findings.UPDATE_KINDS)
        }
        assert (rows["old", "wordpress"].latest, rows["old", "wordpress"].security) == (
            "6.7.1",
            True,
        )
        assert (rows["old", "akismet"].latest, rows["old", "akismet"].security) == ("5.3.5", False)
        assert ("new", "wordpress") not in rows and ("new", "akismet") not in rows
        assert rows["new", "premium"].kind == "unknown-source"
        state = session.get(FeedState, server.url(VERSION_CHECK))
        assert state is not None and state.etag and state.failures == 0


async def test_failing_feed_backs_off_and_keeps_the_catalogue(db: Database, tmp_path: Path) -> None:
    _fleet(db)
    async with feed_server() as server:
        _serve_wordpress(server)
        jobs = _jobs(db, tmp_path, server)
        await jobs.poll_feeds()
        server.failing[AKISMET] = 500
        server.bodies[VERSION_CHECK] = b"<html>oops</html>"
        report = await jobs.poll_feeds()
        calls = len(server.hits(AKISMET))
        await jobs.poll_feeds()
        assert len(server.hits(AKISMET)) == calls  # backing off: not asked again yet
    assert any("HTTP 500" in e for e in report.errors)
    assert any("not valid JSON" in e for e in report.errors)
    with db.session() as session:
        failing = session.get(FeedState, server.url(AKISMET))
        assert failing is not None and failing.failures == 1 and failing.next_attempt_at > 0
        updates = findings.open_findings(session, ["update"])
        assert {(u.site, u.package, u.latest) for u in updates} >= {("old", "akismet", "5.3.5")}


async def test_scheduled_advisory_refresh_alerts(db: Database, tmp_path: Path) -> None:
    _fleet(db)
    record = {
        "WF-1": {
            "id": "WF-1", "title": "Akismet < 5.3.5 XSS", "cve": "CVE-2099-1",
            "software": [{"type": "plugin", "name": "Akismet", "slug": "akismet",
                          "affected_versions": {"* - 5.3.5": {
                              "from_version": "*", "from_inclusive": True,
                              "to_version": "5.3.5", "to_inclusive": False}},
                          "patched": True, "patched_versions": ["5.3.5"]}],
            "cvss": {"score": 8.1, "rating": "High"},
        }
    }  # fmt: skip
    async with feed_server() as server:
        server.bodies["/wordfence.json"] = json.dumps(record).encode()
        jobs = _jobs(db, tmp_path, server, advisory_sources=[server.url("/wordfence.json")])
        report = await jobs.refresh_advisories()
        again = await jobs.refresh_advisories()
    assert (report.changed, report.opened, report.alerts) == (["WF-1"], 1, 1)
    assert (again.changed, again.alerts) == ([], 0)
    with db.session() as session:
        [vuln] = findings.open_findings(session, ["vulnerability"])
        assert (vuln.site, vuln.advisory_id, vuln.data["fixed_in"]) == ("old", "WF-1", "5.3.5")
        [note] = session.scalars(select(Notification)).all()
        assert "WF-1" in note.title and "old (" in note.body


# ------------------------------------------------------------------ real WordPress over SSH


def _wp2(db: Database, real: list[dict[str, Any]], vault: Vault = VAULT) -> str:
    wp2 = real[1]
    assert wp2["name"] == "wp2"
    with db.session() as session:
        owner = clients.add_client(session, VAULT, name="Real", now=NOW)
        site = sites.add_site(
            session,
            sites.SiteFields(url=wp2["url"], client=owner, name="wp2",
                             ssh=stored_ssh(session, vault, owner, wp2)),
            NOW, default_interval=300,
        )  # fmt: skip
        return site.name


@pytest.mark.realsites
async def test_inventory_of_a_real_site(
    db: Database, tmp_path: Path, real_wp_sites: list[dict[str, Any]]
) -> None:
    name = _wp2(db, real_wp_sites)
    async with feed_server() as server:
        jobs = _jobs(db, tmp_path, server)
        site_id, inventory, changes = await jobs.inventory_site(name)
        again_id, _, second = await jobs.inventory_site(name)
        due = await jobs.inventories_due()
    assert site_id == again_id and due == 0  # just inventoried: nothing due
    assert (inventory.cms, inventory.version) == ("wordpress", "6.1.9")
    assert inventory.php and inventory.database
    assert changes.installed and second.empty
    with db.session() as session:
        assert len(session.scalars(select(InventoryRecord)).all()) == 2
        events = session.scalars(select(Event).where(Event.kind == "inventory.changed")).all()
        assert len(events) == 1 and events[0].data["first"] is True
        software = session.scalars(select(SiteSoftware)).all()
        assert {s.type for s in software} >= {"core", "plugin", "theme"}
        assert {s.basis for s in software} == {"inventory"}


def _cli() -> typer.Typer:
    app = typer.Typer(cls=_Root)
    app.callback()(root)
    app.command("inventory")(intel_cli.inventory)
    app.command("updates")(intel_cli.updates)
    app.command("vulns")(intel_cli.vulns)
    app.add_typer(intel_cli.advisories_app, name="advisories")
    return app


@pytest.mark.realsites
def test_cli_inventory_json_and_fleet_views(
    tmp_path: Path, real_wp_sites: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("SITEKEEPER_HOME", str(home))
    monkeypatch.delenv("SITEKEEPER_DATABASE_URL", raising=False)
    db = Database(f"sqlite:///{home / 'sitekeeper.db'}")
    _wp2(db, real_wp_sites, Vault.from_home(home))  # the CLI decrypts the key with the home's
    db.dispose()
    runner = CliRunner()
    result = runner.invoke(_cli(), ["inventory", "wp2", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"cms", "version", "php", "database", "extensions"} <= set(data)
    assert set(data["extensions"][0]) == {
        "type",
        "slug",
        "name",
        "version",
        "active",
        "update_source",
    }
    advisory = tmp_path / "core.json"
    advisory.write_text(json.dumps({"WF-CORE": {
        "id": "WF-CORE", "title": "WordPress core < 6.1.10", "software": [
            {"type": "core", "name": "WordPress", "slug": "wordpress", "affected_versions": {
                "* - 6.1.10": {"from_version": "*", "from_inclusive": True,
                               "to_version": "6.1.10", "to_inclusive": False}}}]}}))  # fmt: skip
    imported = runner.invoke(_cli(), ["advisories", "import", str(advisory), "--json"])
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.stdout)["findings_opened"] == 1
    vulns = json.loads(runner.invoke(_cli(), ["vulns", "--json"]).stdout)
    assert [(v["site"], v["package"], v["certainty"], v["basis"]) for v in vulns] == [
        ("wp2", "wordpress", "certain", "inventory")
    ]
    updates = json.loads(runner.invoke(_cli(), ["updates", "--json"]).stdout)
    # feeds not polled yet: nothing is known about updates, so no row says anything (not
    # "unknown source", which is for sources we never poll); the vulnerability is in vulns
    assert [u for u in updates if u["package"] == "wordpress"] == []
    listed = json.loads(runner.invoke(_cli(), ["advisories", "list", "--json"]).stdout)
    assert [(a["id"], a["packages"]) for a in listed] == [("WF-CORE", ["wordpress/wordpress"])]
    bad = tmp_path / "bad.json"
    bad.write_text('{"WF-X": {"id": "WF-X", "title": 3, "software": []}}')
    rejected = runner.invoke(_cli(), ["advisories", "import", str(bad)])
    assert rejected.exit_code == 1 and "error:" in rejected.stderr


async def test_fingerprinted_site_gets_possible_findings(db: Database, tmp_path: Path) -> None:
    """Without SSH, the fingerprint's candidate range decides: "possible", basis fingerprint."""
    seen: list[str] = []

    async def fingerprint(url: str, options: FingerprintOptions) -> Fingerprint:
        seen.append(url)
        assert options.verify_tls  # the site's check options: verification on (the default)
        return Fingerprint(url=url, cms="wordpress", candidates=[">=6.1 <6.2"], evidence=["x"])

    with db.session() as session:
        owner = clients.add_client(session, VAULT, name="Out", now=NOW)
        fields = sites.SiteFields(url="https://out.example", client=owner, name="out")
        sites.add_site(session, fields, NOW, default_interval=300)
    advisory = tmp_path / "core.json"
    advisory.write_text(json.dumps({"WF-C": {
        "id": "WF-C", "title": "core", "software": [
            {"type": "core", "name": "WordPress", "slug": "wordpress", "affected_versions": {
                "6.1 - 6.1.3": {"from_version": "6.1", "from_inclusive": True,
                                "to_version": "6.1.3", "to_inclusive": True}}}]}}))  # fmt: skip
    async with feed_server() as server:
        jobs = _jobs(db, tmp_path, server)
        jobs.fingerprint_fn = fingerprint
        assert await jobs.fingerprints_due() == 1
        assert await jobs.fingerprints_due() == 0  # fingerprinted just now: not due
        report = await jobs.import_advisories(str(advisory))
    assert seen == ["https://out.example/"]
    assert report.opened == 1
    with db.session() as session:
        [vuln] = findings.open_findings(session, ["vulnerability"])
        assert (vuln.site, vuln.certainty, vuln.basis) == ("out", "possible", "fingerprint")


async def test_schedules_keep_running_after_a_failure(db: Database, tmp_path: Path) -> None:
    async with feed_server() as server:
        jobs = _jobs(db, tmp_path, server, advisory_sources=[str(tmp_path / "missing")])
        plan = {s.name: s for s in jobs.schedules(due_check=120)}
        assert plan["intel-feeds"].period == jobs.feeds.poll_interval == 300
        assert plan["intel-inventories"].period == 120
        (tmp_path / "bad.json").write_text("{")
        bad = IntelJobs(db, jobs.settings, feeds=FeedSettings(
            advisory_sources=[]), vault=VAULT)  # fmt: skip

        async def explode() -> None:
            await bad.import_advisories(str(tmp_path / "bad.json"))

        from sitekeeper.engine.intel_base import Schedule

        await jobs.run_safely(Schedule("boom", 1.0, explode))  # logged, not raised
        report = await jobs.refresh_advisories()
    assert report.errors and "missing" in report.errors[0]

"""`fingerprint`, `vulns`, `updates` and `feeds poll` as a new user runs them, in-process
against a scratch home and loopback sites and vendors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from sitekeeper.cli.context import AppContext
from sitekeeper.cms.wordpress.ecosystem import WORDPRESS
from sitekeeper.domain.catalogue import PackageInfo, ReleaseInfo
from sitekeeper.domain.inventory import Inventory
from sitekeeper.engine.intel_ingest import rematch
from sitekeeper.store import inventories, releases
from sitekeeper.store.intel_tables import FingerprintRecord, SiteSoftware
from sitekeeper.store.tables import Site
from tests.cli.conftest import Run, as_json
from tests.intel.threaded import serve_in_thread
from tests.probes.test_fingerprint_cms import SITES, site_app

DRUPAL_HEADERS = {"X-Generator": "Drupal 10 (https://www.drupal.org)"}


def _osv(tmp_path: Path) -> Path:
    """An OSV advisory for Drupal core that the drupal10 fixture's 10.2.3 is affected by."""
    record = {
        "schema_version": "1.6.0",
        "id": "SA-TEST-2026-001",
        "modified": "2026-02-01T00:00:00Z",
        "published": "2026-02-01T00:00:00Z",
        "summary": "Drupal core - Critical - Access bypass",
        "affected": [
            {
                "package": {"ecosystem": "Packagist", "name": "drupal/core"},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [{"introduced": "10.0.0"}, {"fixed": "10.2.4"}],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "SA-TEST-2026-001.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def test_fingerprint_of_a_registered_site_is_stored_and_matched(
    agency: Run, home: Path, tmp_path: Path
) -> None:
    agency("advisories", "import", str(_osv(tmp_path)))
    with serve_in_thread(site_app(SITES / "drupal10", headers=DRUPAL_HEADERS)) as url:
        agency("site", "add", url, "--name", "shop", "--client", "Bäckerei Müller")
        assert as_json(agency("vulns", "--json")) == []
        printed = as_json(agency("fingerprint", "shop", "--json"))
    assert [(p["site"], p["cms"], p["version"]) for p in printed] == [("shop", "drupal", "10.2.3")]
    # stored like the scheduled fingerprint: history, software, findings
    ctx = AppContext()
    with ctx.session() as session:
        records = session.scalars(select(FingerprintRecord)).all()
        software = session.scalars(select(SiteSoftware)).all()
    assert [(r.cms, r.version) for r in records] == [("drupal", "10.2.3")]
    assert [(s.package, s.version, s.basis) for s in software] == [
        ("drupal", "10.2.3", "fingerprint")
    ]
    vulns = as_json(agency("vulns", "--json"))
    assert [(v["site"], v["advisory_id"], v["certainty"]) for v in vulns] == [
        ("shop", "SA-TEST-2026-001", "certain")
    ]
    assert as_json(agency("site", "show", "shop", "--json"))["cms"] == "drupal"


def test_fingerprint_of_a_bare_url_stores_nothing(run: Run, home: Path) -> None:
    with serve_in_thread(site_app(SITES / "drupal10", headers=DRUPAL_HEADERS)) as url:
        printed = as_json(run("fingerprint", url, "--json"))
    assert [(p["site"], p["version"]) for p in printed] == [(None, "10.2.3")]
    assert not (home / "sitekeeper.db").exists()


def test_updates_lists_the_branch_update_and_the_major_one(agency: Run, home: Path) -> None:
    """5.3.18 gets 5.3.23 (its branch's security release, applied without approval) and 7.1
    (the newest, waits for approval) — not only 7.1."""
    agency("site", "add", "https://old.example", "--name", "old", "--client", "Bäckerei Müller")
    now = datetime(2026, 3, 1, tzinfo=UTC)
    core = PackageInfo(
        WORDPRESS, "core", "wordpress", latest="7.1", source="wordpress.org",
        details={"branch_latest": {"5.3": "5.3.23", "7.1": "7.1"}},
        releases=(ReleaseInfo("5.3.18", insecure=True), ReleaseInfo("5.3.23"), ReleaseInfo("7.1")),
    )  # fmt: skip
    with AppContext().session() as session:
        site = session.scalars(select(Site)).one()
        inventory = Inventory(cms="wordpress", version="5.3.18", collected_at=now)
        inventories.store_inventory(session, site, inventory)
        releases.store_packages(session, [core], now)
        rematch(session, now, site_ids=[site.id])
    [row] = as_json(agency("updates", "--json"))
    assert {
        k: row[k] for k in ("installed", "branch_update", "branch_security", "major_update")
    } == {
        "installed": "5.3.18",
        "branch_update": "5.3.23",
        "branch_security": True,
        "major_update": "7.1",
    }
    assert (row["latest"], row["security"], row["status"]) == ("7.1", True, "update")
    table = agency("updates").stdout
    assert "5.3.23 (security)" in table and "7.1" in table

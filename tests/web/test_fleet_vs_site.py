"""The fleet (list) and a site's own page (detail) tell the same figures for the same site."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from sitekeeper.cms.wordpress.ecosystem import WORDPRESS
from sitekeeper.domain.findings import UNKNOWN_SOURCE, UPDATE, FindingSpec
from sitekeeper.store import findings
from sitekeeper.store.database import Database
from tests.web.conftest import Live, World, login
from tests.web.test_actions_api import api

WP = str(WORDPRESS)
# The fleet's Updates cell, and the count line of a site page's findings.
FLEET_UPDATES = re.compile(
    r'<a id="site-(\d+)".*?data-label="Updates">(?:<span title="[^"]*">(\d+)</span>)?', re.S
)
SITE_COUNTS = re.compile(r'id="findings-counts">([^<]*)<')


def _premium_plugin(db: Database, site_id: int) -> None:
    """A plugin updated from its vendor's own server: listed, but no pending update."""
    with db.session() as s:
        specs = [
            FindingSpec(site_id, UNKNOWN_SOURCE, WP, "plugin", "premium-forms", "3.1", "inventory",
                        note="updates come from https://premium.example/updates"),
            FindingSpec(site_id, UPDATE, WP, "plugin", "akismet", "5.3.5", "inventory",
                        latest="5.3.6"),
        ]  # fmt: skip
        # The seed's findings of this site, plus these two.
        current = findings.open_findings(s, [UPDATE, "vulnerability"], site_ids=[site_id])
        kept = [
            FindingSpec(site_id, f.kind, f.ecosystem, f.type, f.package, f.installed, f.basis,
                        latest=f.latest, advisory_id=f.advisory_id, security=f.security)
            for f in current
        ]  # fmt: skip
        findings.reconcile(s, kept + specs, datetime.now(UTC), site_ids=[site_id])


def test_the_api_list_and_detail_agree_for_every_site(
    live: Live, world: World, db: Database
) -> None:
    _premium_plugin(db, world.acme_sites[0])
    client = api(live, world)
    listed = client.get("/api/sites", params={"per_page": 500}).json()["items"]
    assert len(listed) == 4
    for item in listed:
        detail = client.get(f"/api/sites/{item['id']}").json()
        # key_pages is a detail-only field (documented: lists leave it null)
        assert item.pop("key_pages") is None and isinstance(detail.pop("key_pages"), list)
        assert item == detail
        found = client.get(f"/api/sites/{item['id']}/findings").json()["items"]
        updates = [f for f in found if f["kind"] == "update"]
        assert item["updates"] == len(updates)
        assert item["security_updates"] == sum(f["security"] for f in updates)
        assert item["vulns"] == sum(f["kind"] == "vulnerability" for f in found)
        assert item["compromised"] == sum(f["hack_sign"] for f in found)
    contracts = {item["id"]: item["contract_id"] for item in listed}
    assert contracts == {
        **dict.fromkeys(world.acme_sites, world.acme_contract),
        **dict.fromkeys(world.globex_sites, world.globex_contract),
    }


def test_the_fleet_column_and_the_site_page_count_the_same_updates(
    live: Live, world: World, db: Database
) -> None:
    shop = world.acme_sites[0]
    _premium_plugin(db, shop)
    ada = login(live.base, "ada@agency.example")
    fleet = ada.get("/", params={"per_page": 100}).text
    column = {int(site): int(n or 0) for site, n in FLEET_UPDATES.findall(fleet)}
    assert set(column) == {*world.acme_sites, *world.globex_sites}
    assert column[shop] == 3  # the seed's two, akismet; not the premium plugin
    for site_id, count in column.items():
        page = ada.get(f"/sites/{site_id}").text
        [line] = SITE_COUNTS.findall(page)
        line = html.unescape(line)
        assert f"· {count} update" in line, (site_id, line)
    [shop_line] = SITE_COUNTS.findall(ada.get(f"/sites/{shop}").text)
    assert "1 not tracked" in html.unescape(shop_line)

"""Joomla core updates through the generic update run on the fixture site jm1: the
pending release comes from the site's inventory over SSH and a loopback core update XML,
the Update_Package (synthetic "5.3.3" made from jm1's own files:
``tests.updates.joomla_core_builds``) is verified against the sha256/384/512 the XML
lists, the safety snapshot is taken, the files are copied over the site as its owner,
``finaliseUpgrade()`` runs from sitekeeper's uploaded program and
``update:joomla:remove-old-files`` from the console -- against jm1's stand-ins of Joomla's
framework and console (tests/fixtures/sites/realcms/README.md), not Joomla's own code.
A release that breaks the front page is rolled back to identical files and database.
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sitekeeper.backup.runner import BackupContext
from sitekeeper.cms.registry import CMSES
from sitekeeper.engine.intel_ingest import rematch
from sitekeeper.intel.fetch import FeedSettings, Fetcher
from sitekeeper.remote.hostkeys import StoreHostKeyPins
from sitekeeper.remote.ssh import connect
from sitekeeper.store import findings, inventories, releases
from sitekeeper.store.tables import Event, Site
from sitekeeper.updates.context import UpdateContext
from sitekeeper.updates.packages import PackageCache
from sitekeeper.updates.plan import Selection
from sitekeeper.updates.run import RunOutcome, update_site
from tests.backup.conftest import add_wp_site
from tests.realsites import private_key, ssh_access
from tests.updates import joomla_core_builds as core
from tests.updates.breakage import root_sql
from tests.updates.cms_builds import Built
from tests.updates.cms_sites import db_state, jm1, joomla_offline, real_cms_sites
from tests.updates.state import differences, tree_state
from tests.updates.vendor import Vendor

__all__ = ["jm1", "real_cms_sites"]

pytestmark = pytest.mark.realsites
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ONLINE = "public $offline = false;"
CORE = Selection(core=True)
# the release's schema update: what Joomla's finalisation runs from com_admin's sql/updates
RETITLE = "UPDATE `#__content` SET `title` = CONCAT(`title`, ' (5.3.3)');\n"


@pytest.fixture
async def uctx(bctx: BackupContext, server: Vendor, tmp_path: Path) -> AsyncIterator[UpdateContext]:
    settings = {
        "joomla_update_url": f"{server.url}{core.COLLECTION}",
        "joomla_core_details_url": f"{server.url}{core.DETAILS}",
    }
    made = UpdateContext(
        backup=bctx,
        vendor=settings,
        feeds=FeedSettings(vendor=settings),
        cache=PackageCache(tmp_path / "packages"),
    )
    async with made:
        yield made


async def core_pending(
    uctx: UpdateContext, site: dict[str, Any], server: Vendor, release: Built, **xml: Any
) -> int:
    """jm1 in sitekeeper with its real inventory, ``release`` published in the loopback
    core feeds and pending; the site's id."""
    server.add(release.path, release.data)
    server.add(core.DETAILS, core.details_xml(server.url, release, **xml))
    server.add(core.COLLECTION, core.collection_xml(server.url, release.version))
    bctx = uctx.backup
    site_id = add_wp_site(bctx.db, bctx.vault, site)
    cms = CMSES.get("joomla")
    conn = await connect(ssh_access(site), StoreHostKeyPins(bctx.db), private_key=private_key(site))
    async with conn:
        found = await cms.inventory(conn, site["docroot"])
    assert found.version == "5.3.2"
    async with Fetcher(uctx.feeds) as fetcher:
        polled = await cms.poll(fetcher, [("core", "joomla", None)], bctx.settings.home)
    assert not polled.errors, polled.errors
    with bctx.db.session() as session:
        stored = session.get(Site, site_id)
        assert stored is not None
        inventories.store_inventory(session, stored, found)
        releases.store_packages(session, polled.packages, NOW)
        rematch(session, NOW, site_ids=[site_id])
        rows = [r for r in findings.update_rows(session, site_ids=[site_id]) if r.type == "core"]
        assert [(r.status, r.latest) for r in rows] == [("update", release.version)], rows
    return site_id


def plant_dropped_file(site: dict[str, Any]) -> Path:
    """A file of 5.3.2 that 5.3.3's script.php removes, owned by the site's user."""
    path = Path(site["docroot"]) / core.DROPPED
    path.write_text("/* dropped in 5.3.3 */\n")
    subprocess.run(["chown", f"{site['name']}:{site['name']}", str(path)], check=True)
    return path


def owners(docroot: Path) -> dict[str, tuple[int, int]]:
    """Each path's owner and mode (what copying a release over the site must keep)."""
    return {
        str(p): (p.lstat().st_uid, p.lstat().st_mode)
        for p in docroot.rglob("*")
        if str(p.relative_to(docroot)) != core.DROPPED
    }


def version_on_disk(site: dict[str, Any]) -> str:
    text = (Path(site["docroot"]) / "libraries/src/Version.php").read_text()
    return text.split("PATCH_VERSION = ", 1)[1].split(";", 1)[0]


def core_manifest_cache(site: dict[str, Any]) -> str:
    table = f"{site['db']['prefix']}extensions"
    return root_sql(site, f"SELECT manifest_cache FROM `{table}` "
                          "WHERE type = 'file' AND element = 'joomla'")  # fmt: skip


def titles(site: dict[str, Any]) -> str:
    return root_sql(site, f"SELECT title FROM `{site['db']['prefix']}content` ORDER BY id")


def journal(uctx: UpdateContext, site_id: int) -> list[Event]:
    with uctx.backup.db.session() as session:
        query = select(Event).where(Event.site_id == site_id, Event.kind.like("update.%"))
        return list(session.scalars(query))


def failed(outcome: RunOutcome) -> list[str]:
    return [f"{s.name}: {s.detail}" for s in outcome.steps if not s.ok]


async def test_a_joomla_core_update_is_copied_over_the_site_and_finalised(
    uctx: UpdateContext, jm1: dict[str, Any], server: Vendor
) -> None:
    dropped = plant_dropped_file(jm1)
    release = core.update_package(Path(jm1["docroot"]), sql=RETITLE)
    site_id = await core_pending(uctx, jm1, server, release)
    owners_before = owners(Path(jm1["docroot"]))
    outcome = await update_site(uctx, str(site_id), CORE)
    assert outcome.status == "applied", failed(outcome)
    assert version_on_disk(jm1) == "3"
    assert '"version":"5.3.3"' in core_manifest_cache(jm1)  # finaliseUpgrade() ran
    assert "(5.3.3)" in titles(jm1)  # and the release's schema update with it
    assert not dropped.exists()  # update:joomla:remove-old-files ran
    assert joomla_offline(jm1) == ONLINE
    after = owners(Path(jm1["docroot"]))
    assert {p: u for p, u in after.items() if p in owners_before} == owners_before
    names = [s.name for s in outcome.steps]
    order = ["snapshot", "joomla: offline", "joomla: files", "joomla: finalise",
             "joomla: old files", "joomla: online"]  # fmt: skip
    assert [n for n in names if n in order] == order, names
    package = next(s for s in outcome.steps if s.name == "package joomla")
    assert "sha256/sha384/sha512" in package.detail and "Update_Package" in package.detail
    (event,) = journal(uctx, site_id)
    assert event.kind == "update.applied"
    assert event.data["items"][0]["target"] == "5.3.3"


async def test_a_joomla_core_release_that_breaks_the_front_page_is_rolled_back_exactly(
    uctx: UpdateContext, jm1: dict[str, Any], server: Vendor
) -> None:
    release = core.update_package(Path(jm1["docroot"]), sql=RETITLE, break_front_page=True)
    site_id = await core_pending(uctx, jm1, server, release)
    files_before, db_before = tree_state(Path(jm1["docroot"])), db_state(jm1)
    outcome = await update_site(uctx, str(site_id), CORE)
    assert outcome.status == "rolled_back", failed(outcome)
    assert any(s.name.startswith("health after: home") and not s.ok for s in outcome.steps)
    assert "passes the health check again" in (outcome.state or ""), outcome.state
    assert differences(files_before, tree_state(Path(jm1["docroot"]))) == {}
    assert differences(db_before, db_state(jm1)) == {}
    assert joomla_offline(jm1) == ONLINE
    (event,) = journal(uctx, site_id)
    assert event.kind == "update.rolled_back"


async def test_a_joomla_core_package_whose_sha256_differs_from_the_update_xml_is_refused(
    uctx: UpdateContext, jm1: dict[str, Any], server: Vendor
) -> None:
    release = core.update_package(Path(jm1["docroot"]))
    site_id = await core_pending(uctx, jm1, server, release, sha256="ab" * 32)
    files_before, db_before = tree_state(Path(jm1["docroot"])), db_state(jm1)
    outcome = await update_site(uctx, str(site_id), CORE)
    assert outcome.status == "refused", failed(outcome)
    package = next(s for s in outcome.steps if s.name == "package joomla")
    assert not package.ok and "sha256" in package.detail
    assert "snapshot" not in [s.name for s in outcome.steps]
    assert differences(files_before, tree_state(Path(jm1["docroot"]))) == {}
    assert differences(db_before, db_state(jm1)) == {}

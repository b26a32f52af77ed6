"""Drupal core updates through the generic update run on the fixture site dr1: the pending
release comes from the site's inventory over SSH and a loopback core release history;
the build (synthetic "10.1.7" made from dr1's own tree: ``tests.updates.drupal_core_builds``)
comes from the prebuilt-archive source, verified against the sha256 published beside it
and by its own ``Drupal.php`` and ``composer.lock``; the safety snapshot is taken;
``core/``, ``vendor/`` and the lock are swapped in as the site's user with the site in
maintenance mode, and the build's drush runs ``updatedb -y`` and ``cache:rebuild`` --
the fixture's drush stand-in (tests/fixtures/sites/realcms/README.md), not drush's code.
A build whose database update breaks the front page, or whose updatedb fails as drush
reports it (exit 1, ``[error]``), is rolled back to identical files and database.
"""

from __future__ import annotations

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
from tests.updates import drupal_core_builds as core
from tests.updates.cms_builds import Built
from tests.updates.cms_sites import db_state, dr1, drupal_state, real_cms_sites
from tests.updates.state import differences, tree_state
from tests.updates.vendor import Vendor

__all__ = ["dr1", "real_cms_sites"]

pytestmark = pytest.mark.realsites
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CORE = Selection(core=True)
OFF = ("", "i:0;")


@pytest.fixture
async def uctx(bctx: BackupContext, server: Vendor, tmp_path: Path) -> AsyncIterator[UpdateContext]:
    settings = {
        "drupal_updates_url": f"{server.url}/release-history",
        "drupal_core_build_url": f"{server.url}{core.BUILD_URL}",
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
    uctx: UpdateContext, site: dict[str, Any], server: Vendor, build: Built, sha256: str = ""
) -> int:
    """dr1 in sitekeeper with its real inventory, 10.1.7 in the loopback release history
    and pending, ``build`` published with its sha256 (or ``sha256``); the site's id."""
    server.add(build.path, build.data)
    server.add(f"{build.path}.sha256", f"{sha256 or build.digest('sha256')}  x.zip\n".encode())
    server.add("/release-history/drupal/current", core.history(server.url))
    server.add("/release-history/drupal/7.x", core.NO_HISTORY)
    bctx = uctx.backup
    site_id = add_wp_site(bctx.db, bctx.vault, site)
    cms = CMSES.get("drupal")
    conn = await connect(ssh_access(site), StoreHostKeyPins(bctx.db), private_key=private_key(site))
    async with conn:
        found = await cms.inventory(conn, site["docroot"])
    assert found.version == "10.1.6"
    async with Fetcher(uctx.feeds) as fetcher:
        polled = await cms.poll(fetcher, [("core", "drupal", None)], bctx.settings.home)
    assert not polled.errors, polled.errors
    with bctx.db.session() as session:
        stored = session.get(Site, site_id)
        assert stored is not None
        inventories.store_inventory(session, stored, found)
        releases.store_packages(session, polled.packages, NOW)
        rematch(session, NOW, site_ids=[site_id])
        rows = [r for r in findings.update_rows(session, site_ids=[site_id]) if r.type == "core"]
        assert [(r.status, r.latest) for r in rows] == [("update", core.TARGET)], rows
    return site_id


def version_on_disk(site: dict[str, Any]) -> str:
    text = (Path(site["docroot"]) / "core/lib/Drupal.php").read_text()
    return text.split("const VERSION = '", 1)[1].split("'", 1)[0]


def owners_and_leftovers(docroot: Path) -> tuple[set[str], list[Path]]:
    return {p.owner() for p in docroot.rglob("*")}, list(docroot.glob("*.sk-*"))


def journal(uctx: UpdateContext, site_id: int) -> list[Event]:
    with uctx.backup.db.session() as session:
        query = select(Event).where(Event.site_id == site_id, Event.kind.like("update.%"))
        return list(session.scalars(query))


def failed(outcome: RunOutcome) -> list[str]:
    return [f"{s.name}: {s.detail}" for s in outcome.steps if not s.ok]


async def test_a_drupal_core_build_is_swapped_in_and_drush_updates_the_database(
    uctx: UpdateContext, dr1: dict[str, Any], server: Vendor
) -> None:
    site_id = await core_pending(uctx, dr1, server, core.core_build(Path(dr1["docroot"])))
    outcome = await update_site(uctx, str(site_id), CORE)
    assert outcome.status == "applied", failed(outcome)
    docroot = Path(dr1["docroot"])
    assert version_on_disk(dr1) == core.TARGET
    assert b"Drupal 10.1.7" in (docroot / "core/misc/drupal.js").read_bytes()
    assert '"drupal/core"' in (docroot / "composer.lock").read_text()
    assert drupal_state(dr1, "system.schema", "system") == f"i:{core.UPDATE_N};"  # updatedb ran
    assert drupal_state(dr1, "state", "system.maintenance_mode") in OFF
    drush = docroot / "vendor/bin/drush"
    assert drush.owner() == "dr1" and drush.stat().st_mode & 0o777 == 0o755
    assert owners_and_leftovers(docroot) == ({"dr1"}, [])  # no half-swapped tree left
    names = [s.name for s in outcome.steps]
    order = ["snapshot", "drupal: maintenance on", "drupal: files", "drupal: updatedb",
             "drupal: cache", "drupal: maintenance off", "drupal: database",
             "drupal: version"]  # fmt: skip
    assert [n for n in names if n in order] == order, names
    package = next(s for s in outcome.steps if s.name == "package drupal")
    assert "published sha256" in package.detail and "composer.lock" in package.detail
    (event,) = journal(uctx, site_id)
    assert event.kind == "update.applied"
    assert event.data["items"][0]["target"] == core.TARGET


async def test_a_drupal_core_build_whose_database_update_breaks_the_front_page_is_rolled_back(
    uctx: UpdateContext, dr1: dict[str, Any], server: Vendor
) -> None:
    build = core.core_build(Path(dr1["docroot"]), update=core.BREAKS_FRONT_PAGE)
    site_id = await core_pending(uctx, dr1, server, build)
    files_before, db_before = tree_state(Path(dr1["docroot"])), db_state(dr1)
    outcome = await update_site(uctx, str(site_id), CORE)
    assert outcome.status == "rolled_back", failed(outcome)
    assert any(s.name.startswith("health after: home") and not s.ok for s in outcome.steps)
    assert "passes the health check again" in (outcome.state or ""), outcome.state
    assert differences(files_before, tree_state(Path(dr1["docroot"]))) == {}
    assert differences(db_before, db_state(dr1)) == {}
    assert drupal_state(dr1, "state", "system.maintenance_mode") in OFF
    (event,) = journal(uctx, site_id)
    assert event.kind == "update.rolled_back"


async def test_a_failing_drush_updatedb_rolls_the_core_build_back(
    uctx: UpdateContext, dr1: dict[str, Any], server: Vendor
) -> None:
    build = core.core_build(Path(dr1["docroot"]), update=core.FAILS)
    site_id = await core_pending(uctx, dr1, server, build)
    files_before, db_before = tree_state(Path(dr1["docroot"])), db_state(dr1)
    outcome = await update_site(uctx, str(site_id), CORE)
    assert outcome.status == "rolled_back", failed(outcome)
    (updatedb,) = [s for s in outcome.steps if s.name == "drupal: updatedb"]
    assert not updatedb.ok
    assert "drush updatedb failed (exit 1)" in updatedb.detail
    assert "Update failed: system_update_10107" in updatedb.detail
    assert "drupal: cache" not in [s.name for s in outcome.steps]  # stopped at the failure
    off = next(s for s in outcome.steps if s.name == "drupal: maintenance off")
    assert off.ok  # lifted in the finally all the same
    assert "did not apply" in (outcome.reason or "")
    assert differences(files_before, tree_state(Path(dr1["docroot"]))) == {}
    assert differences(db_before, db_state(dr1)) == {}
    assert drupal_state(dr1, "state", "system.maintenance_mode") in OFF


async def test_a_drupal_core_build_whose_sha256_differs_from_the_published_one_is_refused(
    uctx: UpdateContext, dr1: dict[str, Any], server: Vendor
) -> None:
    build = core.core_build(Path(dr1["docroot"]))
    site_id = await core_pending(uctx, dr1, server, build, sha256="ab" * 32)
    files_before, db_before = tree_state(Path(dr1["docroot"])), db_state(dr1)
    outcome = await update_site(uctx, str(site_id), CORE)
    assert outcome.status == "refused", failed(outcome)
    package = next(s for s in outcome.steps if s.name == "package drupal")
    assert not package.ok and "sha256" in package.detail and "refused" in package.detail
    assert outcome.snapshot_id is None
    assert differences(files_before, tree_state(Path(dr1["docroot"]))) == {}
    assert differences(db_before, db_state(dr1)) == {}


async def test_a_drupal_core_build_of_another_version_is_refused_before_the_snapshot(
    uctx: UpdateContext, dr1: dict[str, Any], server: Vendor
) -> None:
    """The build host built 10.1.8 and published it under 10.1.7's name."""
    wrong = core.core_build(Path(dr1["docroot"]), version="10.1.8")
    build = Built(core.TARGET, core.BUILD_URL.replace("{version}", core.TARGET), wrong.data)
    site_id = await core_pending(uctx, dr1, server, build)
    files_before = tree_state(Path(dr1["docroot"]))
    outcome = await update_site(uctx, str(site_id), CORE)
    assert outcome.status == "refused", failed(outcome)
    assert "not Drupal 10.1.7" in (outcome.reason or ""), outcome.reason
    assert outcome.snapshot_id is None
    assert differences(files_before, tree_state(Path(dr1["docroot"]))) == {}

"""Joomla and Drupal extension updates through the generic update run, on the fixture
sites jm1 and dr1 (``realcms.sh``): the pending update comes from the site's real
inventory over SSH and the vendor's own document on a loopback server (Joomla: the
extension's update server XML; Drupal: the release history), the package is verified
against the digests that document gives, the safety snapshot is taken, and the site's
own tools install it as the file owner — the fixture's stand-ins of
``cli/joomla.php extension:install`` and ``vendor/bin/drush`` (see
tests/fixtures/sites/realcms/README.md). A release that breaks the front page is rolled
back to identical files and database; the maintenance flag is never left set.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sitekeeper.backup.runner import BackupContext
from sitekeeper.cms.registry import CMSES
from sitekeeper.config import Settings
from sitekeeper.engine.intel_ingest import rematch
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.intel.fetch import FeedSettings, Fetcher
from sitekeeper.remote.hostkeys import StoreHostKeyPins
from sitekeeper.remote.ssh import connect
from sitekeeper.store import findings, inventories, releases
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Event, Site
from sitekeeper.updates.context import UpdateContext
from sitekeeper.updates.packages import PackageCache
from sitekeeper.updates.plan import Selection
from sitekeeper.updates.recover import recover_interrupted
from sitekeeper.updates.run import RunOutcome, update_site
from tests.backup.conftest import add_wp_site
from tests.realsites import private_key, ssh_access
from tests.updates import breakage
from tests.updates import cms_builds as builds
from tests.updates.breakage import root_sql
from tests.updates.cms_sites import (
    db_state,
    dr1,
    drupal_state,
    install_drupal_module,
    install_joomla_plugin,
    jm1,
    joomla_offline,
    real_cms_sites,
)
from tests.updates.state import differences, tree_state
from tests.updates.vendor import Vendor

__all__ = ["dr1", "jm1", "real_cms_sites"]

pytestmark = pytest.mark.realsites
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
UPDATE_XML = "/joomla/updates/skupdater.xml"
ONLINE = "public $offline = false;"


def vendor_settings(server: Vendor) -> dict[str, str]:
    return {"drupal_updates_url": f"{server.url}/release-history"}


@pytest.fixture
async def uctx(bctx: BackupContext, server: Vendor, tmp_path: Path) -> AsyncIterator[UpdateContext]:
    settings = vendor_settings(server)
    made = UpdateContext(
        backup=bctx,
        vendor=settings,
        feeds=FeedSettings(vendor=settings),
        cache=PackageCache(tmp_path / "packages"),
    )
    jobs = IntelJobs(bctx.db, Settings(home=tmp_path / "intel"), vault=bctx.vault)
    made.reinventory = lambda i: jobs.inventory_site(str(i))
    async with made:
        yield made


async def with_pending(uctx: UpdateContext, site: dict[str, Any], slug: str) -> int:
    """The site in sitekeeper with its real inventory (over SSH) and the catalogue its
    CMS's own poll reads from the loopback vendor; the site's id."""
    bctx = uctx.backup
    site_id = add_wp_site(bctx.db, bctx.vault, site)
    cms = CMSES.get(site["cms"])
    conn = await connect(ssh_access(site), StoreHostKeyPins(bctx.db), private_key=private_key(site))
    async with conn:
        found = await cms.inventory(conn, site["docroot"])
    (ext,) = [e for e in found.extensions if e.slug == slug]
    async with Fetcher(uctx.feeds) as fetcher:
        polled = await cms.poll(
            fetcher, [(ext.type, ext.slug, ext.update_source)], bctx.settings.home
        )
    assert not polled.errors, polled.errors
    with bctx.db.session() as session:
        stored = session.get(Site, site_id)
        assert stored is not None
        inventories.store_inventory(session, stored, found)
        releases.store_packages(session, polled.packages, NOW)
        rematch(session, NOW, site_ids=[site_id])
        pending = [
            r for r in findings.update_rows(session, site_ids=[site_id]) if r.package == slug
        ]
        assert [r.status for r in pending] == ["update"], pending
    return site_id


def journal(db: Database, site_id: int) -> list[Event]:
    with db.session() as session:
        query = select(Event).where(Event.site_id == site_id, Event.kind.like("update.%"))
        return list(session.scalars(query))


def failed(outcome: RunOutcome) -> list[str]:
    return [f"{s.name}: {s.detail}" for s in outcome.steps if not s.ok]


# --- Joomla -------------------------------------------------------------------------------


def joomla_manifest_version(site: dict[str, Any]) -> str:
    text = (
        Path(site["docroot"]) / f"plugins/system/{builds.JOOMLA_PLUGIN}/{builds.JOOMLA_PLUGIN}.xml"
    ).read_text()
    return text.split("<version>", 1)[1].split("</version>", 1)[0]


async def joomla_ready(
    uctx: UpdateContext, jm1: dict[str, Any], server: Vendor, target: builds.Built, **xml: Any
) -> int:
    """v1.0.0 installed and enabled on jm1, ``target`` offered by its update server."""
    feed = f"{server.url}{UPDATE_XML}"
    install_joomla_plugin(jm1, builds.joomla_plugin("1.0.0", feed))
    server.add(target.path, target.data)
    server.add(UPDATE_XML, builds.joomla_update_xml(server.url, [target], **xml))
    return await with_pending(uctx, jm1, builds.JOOMLA_SLUG)


JOOMLA = Selection(plugins=(builds.JOOMLA_SLUG,))


async def test_a_joomla_plugin_update_is_installed_by_joomlas_installer(
    uctx: UpdateContext, jm1: dict[str, Any], server: Vendor
) -> None:
    target = builds.joomla_plugin("1.1.0", f"{server.url}{UPDATE_XML}")
    site_id = await joomla_ready(uctx, jm1, server, target)
    outcome = await update_site(uctx, str(site_id), JOOMLA)
    assert outcome.status == "applied", failed(outcome)
    assert joomla_manifest_version(jm1) == "1.1.0"
    cache = root_sql(jm1, f"SELECT manifest_cache FROM {jm1['db']['prefix']}extensions "
                     f"WHERE element = '{builds.JOOMLA_PLUGIN}'")  # fmt: skip
    assert '"version":"1.1.0"' in cache
    names = [s.name for s in outcome.steps]
    for step in (f"owner {builds.JOOMLA_SLUG}", f"package {builds.JOOMLA_SLUG}", "snapshot"):
        assert step in names
    assert names.index("snapshot") < names.index(f"{builds.JOOMLA_SLUG}: install")
    assert f"{builds.JOOMLA_SLUG}: offline" in names and f"{builds.JOOMLA_SLUG}: online" in names
    package = next(s for s in outcome.steps if s.name == f"package {builds.JOOMLA_SLUG}")
    assert "sha256/sha512" in package.detail and "manifest" in package.detail
    assert joomla_offline(jm1) == ONLINE
    (event,) = journal(uctx.backup.db, site_id)
    assert event.kind == "update.applied"
    assert event.data["items"][0]["target"] == "1.1.0"
    with uctx.backup.db.session() as session:
        assert not [r for r in findings.update_rows(session, site_ids=[site_id])
                    if r.package == builds.JOOMLA_SLUG]  # fmt: skip
        latest = inventories.latest_inventory(session, site_id)
        assert latest is not None
        (ext,) = [e for e in latest.extensions if e.slug == builds.JOOMLA_SLUG]
        assert ext.version == "1.1.0"


async def test_a_joomla_plugin_that_breaks_the_front_page_is_rolled_back_exactly(
    uctx: UpdateContext, jm1: dict[str, Any], server: Vendor
) -> None:
    broken = builds.joomla_plugin("9.0.0", f"{server.url}{UPDATE_XML}", builds.FRONT_PAGE_FATAL)
    site_id = await joomla_ready(uctx, jm1, server, broken)
    files_before, db_before = tree_state(Path(jm1["docroot"])), db_state(jm1)
    outcome = await update_site(uctx, str(site_id), JOOMLA)
    assert outcome.status == "rolled_back", failed(outcome)
    assert any(s.name.startswith("health after: home") and not s.ok for s in outcome.steps)
    assert "passes the health check again" in (outcome.state or ""), outcome.state
    assert differences(files_before, tree_state(Path(jm1["docroot"]))) == {}
    assert differences(db_before, db_state(jm1)) == {}
    assert joomla_offline(jm1) == ONLINE
    (event,) = journal(uctx.backup.db, site_id)
    assert event.kind == "update.rolled_back"


async def test_a_joomla_package_whose_sha256_differs_from_the_update_xml_is_refused(
    uctx: UpdateContext, jm1: dict[str, Any], server: Vendor
) -> None:
    target = builds.joomla_plugin("1.1.0", f"{server.url}{UPDATE_XML}")
    site_id = await joomla_ready(uctx, jm1, server, target, sha256={"1.1.0": "ab" * 32})
    files_before = tree_state(Path(jm1["docroot"]))
    outcome = await update_site(uctx, str(site_id), JOOMLA)
    assert outcome.status == "refused"
    assert "sha256" in (outcome.reason or "") and "refused" in (outcome.reason or "")
    assert outcome.snapshot_id is None
    assert differences(files_before, tree_state(Path(jm1["docroot"]))) == {}


async def test_a_joomla_release_for_another_joomla_version_is_refused_before_the_snapshot(
    uctx: UpdateContext, jm1: dict[str, Any], server: Vendor
) -> None:
    """jm1 runs Joomla 5.3.2; the update server offers 1.1.0 for Joomla 4.0-4.4 only, as
    its <targetplatform> says: Joomla itself would not offer it, sitekeeper refuses it."""
    target = builds.joomla_plugin("1.1.0", f"{server.url}{UPDATE_XML}")
    site_id = await joomla_ready(uctx, jm1, server, target, targetplatform=r"4\.[0-4]")
    files_before = tree_state(Path(jm1["docroot"]))
    outcome = await update_site(uctx, str(site_id), JOOMLA)
    assert outcome.status == "refused", failed(outcome)
    assert [s.name for s in outcome.steps if not s.ok] == [f"package {builds.JOOMLA_SLUG}"]
    assert (outcome.reason or "").endswith(
        'skupdater 1.1.0 is for Joomla "4\\.[0-4]" (its <targetplatform>), not for the '
        "site's Joomla 5.3.2: refused"
    )
    assert target.path not in server.requests  # not even downloaded
    assert outcome.snapshot_id is None
    assert differences(files_before, tree_state(Path(jm1["docroot"]))) == {}
    assert joomla_manifest_version(jm1) == "1.0.0"


async def test_a_joomla_package_whose_manifest_is_another_extension_is_refused(
    uctx: UpdateContext, jm1: dict[str, Any], server: Vendor
) -> None:
    other = builds.joomla_plugin("1.1.0", f"{server.url}{UPDATE_XML}", element="skother")
    target = builds.Built("1.1.0", "/joomla/plg_system_skupdater-1.1.0.zip", other.data)
    site_id = await joomla_ready(uctx, jm1, server, target)
    files_before = tree_state(Path(jm1["docroot"]))
    outcome = await update_site(uctx, str(site_id), JOOMLA)
    assert outcome.status == "refused"
    assert "plg_system_skother, not plugin plg_system_skupdater" in (outcome.reason or "")
    assert outcome.snapshot_id is None
    assert differences(files_before, tree_state(Path(jm1["docroot"]))) == {}


# --- Drupal -------------------------------------------------------------------------------


def drupal_version(site: dict[str, Any]) -> str:
    info = (
        Path(site["docroot"])
        / f"modules/contrib/{builds.DRUPAL_MODULE}/{builds.DRUPAL_MODULE}.info.yml"
    )
    line = next(x for x in info.read_text().splitlines() if x.startswith("version:"))
    return line.split(":", 1)[1].strip().strip("'")


async def drupal_ready(
    uctx: UpdateContext,
    dr1: dict[str, Any],
    server: Vendor,
    target: tuple[builds.Built, builds.Built],
    **history: Any,
) -> int:
    """1.0.0 installed and enabled on dr1, ``target`` in the release history."""
    install_drupal_module(dr1, "1.0.0")
    first = builds.drupal_module("1.0.0")
    for built in (*target, *first):
        server.add(built.path, built.data)
    body = builds.drupal_history(server.url, [first, target], **history)
    server.add(f"/release-history/{builds.DRUPAL_MODULE}/current", body)
    return await with_pending(uctx, dr1, builds.DRUPAL_MODULE)


def drupal_selection(version: str) -> Selection:
    return Selection(exact=(("module", builds.DRUPAL_MODULE, version),))


async def test_a_drupal_module_update_is_put_in_place_and_drush_updates_the_database(
    uctx: UpdateContext, dr1: dict[str, Any], server: Vendor
) -> None:
    site_id = await drupal_ready(uctx, dr1, server, builds.drupal_module("1.1.0", update_n=9001))
    outcome = await update_site(uctx, str(site_id), drupal_selection("1.1.0"))
    assert outcome.status == "applied", failed(outcome)
    assert drupal_version(dr1) == "1.1.0"
    assert drupal_state(dr1, "system.schema", builds.DRUPAL_MODULE) == "i:9001;"
    assert drupal_state(dr1, "state", "system.maintenance_mode") in ("", "i:0;")
    names = [s.name for s in outcome.steps]
    for step in ("maintenance on", "files", "updatedb", "cache", "maintenance off", "database"):
        assert f"{builds.DRUPAL_MODULE}: {step}" in names
    package = next(s for s in outcome.steps if s.name == f"package {builds.DRUPAL_MODULE}")
    assert "md5" in package.detail and "release history" in package.detail
    (event,) = journal(uctx.backup.db, site_id)
    assert event.kind == "update.applied"
    with uctx.backup.db.session() as session:
        latest = inventories.latest_inventory(session, site_id)
        assert latest is not None
        (ext,) = [e for e in latest.extensions if e.slug == builds.DRUPAL_MODULE]
        assert ext.version == "1.1.0"


async def test_a_drupal_module_that_breaks_the_front_page_is_rolled_back_exactly(
    uctx: UpdateContext, dr1: dict[str, Any], server: Vendor
) -> None:
    broken = builds.drupal_module("2.0.0", builds.FRONT_PAGE_FATAL, update_n=9002)
    site_id = await drupal_ready(uctx, dr1, server, broken)
    files_before, db_before = tree_state(Path(dr1["docroot"])), db_state(dr1)
    outcome = await update_site(uctx, str(site_id), drupal_selection("2.0.0"))
    assert outcome.status == "rolled_back", failed(outcome)
    assert any(s.name.startswith("health after: home") and not s.ok for s in outcome.steps)
    assert "passes the health check again" in (outcome.state or ""), outcome.state
    assert differences(files_before, tree_state(Path(dr1["docroot"]))) == {}
    assert differences(db_before, db_state(dr1)) == {}
    assert drupal_state(dr1, "state", "system.maintenance_mode") in ("", "i:0;")


async def test_a_drupal_zip_whose_md5_differs_from_the_release_history_is_refused(
    uctx: UpdateContext, dr1: dict[str, Any], server: Vendor
) -> None:
    target = builds.drupal_module("1.1.0")
    site_id = await drupal_ready(uctx, dr1, server, target, md5={"1.1.0": "0" * 32})
    files_before = tree_state(Path(dr1["docroot"]))
    outcome = await update_site(uctx, str(site_id), drupal_selection("1.1.0"))
    assert outcome.status == "refused"
    assert "md5" in (outcome.reason or "") and "refused" in (outcome.reason or "")
    assert outcome.snapshot_id is None
    assert differences(files_before, tree_state(Path(dr1["docroot"]))) == {}


async def test_a_drupal_zip_whose_top_folder_is_not_the_module_is_refused(
    uctx: UpdateContext, dr1: dict[str, Any], server: Vendor
) -> None:
    target = builds.drupal_module("1.1.0", top="skmod-main")
    site_id = await drupal_ready(uctx, dr1, server, target)
    files_before = tree_state(Path(dr1["docroot"]))
    outcome = await update_site(uctx, str(site_id), drupal_selection("1.1.0"))
    assert outcome.status == "refused"
    assert "top folder must be 'skmod'" in (outcome.reason or ""), outcome.reason
    assert outcome.snapshot_id is None
    assert differences(files_before, tree_state(Path(dr1["docroot"]))) == {}


# --- faults around the CMS's own tools ----------------------------------------------------

SITE_UP_BROKEN = b"""    case 'site:up':
        exit(3);  // test: a console that cannot bring the site back
"""


async def test_a_joomla_console_that_cannot_lift_offline_is_overruled_by_sitekeeper(
    uctx: UpdateContext, jm1: dict[str, Any], server: Vendor
) -> None:
    target = builds.joomla_plugin("1.1.0", f"{server.url}{UPDATE_XML}")
    site_id = await joomla_ready(uctx, jm1, server, target)
    console = Path(jm1["docroot"]) / "cli/joomla.php"
    code = console.read_bytes().replace(
        b"switch ($command) {\n", b"switch ($command) {\n" + SITE_UP_BROKEN, 1
    )
    console.write_bytes(code)
    config = Path(jm1["docroot"]) / "configuration.php"
    mode = config.stat().st_mode & 0o777
    outcome = await update_site(uctx, str(site_id), JOOMLA)
    assert outcome.status == "applied", failed(outcome)
    online = next(s for s in outcome.steps if s.name == f"{builds.JOOMLA_SLUG}: online")
    assert "set to false in configuration.php by sitekeeper" in online.detail
    assert joomla_offline(jm1) == ONLINE
    assert config.stat().st_mode & 0o777 == mode and config.owner() == "jm1"


async def test_joomla_files_of_another_owner_are_refused_in_preflight(
    uctx: UpdateContext, jm1: dict[str, Any], server: Vendor
) -> None:
    target = builds.joomla_plugin("1.1.0", f"{server.url}{UPDATE_XML}")
    site_id = await joomla_ready(uctx, jm1, server, target)
    breakage.own_as_root(Path(jm1["docroot"]) / "media")
    outcome = await update_site(uctx, str(site_id), JOOMLA)
    assert outcome.status == "refused"
    assert (outcome.reason or "").startswith("refused: media is owned by root, not by jm1")
    assert [s.name for s in outcome.steps if not s.ok] == [f"owner {builds.JOOMLA_SLUG}"]
    assert joomla_manifest_version(jm1) == "1.0.0"


async def test_a_drupal_site_without_drush_is_refused_before_the_snapshot(
    uctx: UpdateContext, dr1: dict[str, Any], server: Vendor
) -> None:
    site_id = await drupal_ready(uctx, dr1, server, builds.drupal_module("1.1.0", update_n=9001))
    (Path(dr1["docroot"]) / "vendor/bin/drush").unlink()
    files_before = tree_state(Path(dr1["docroot"]))
    outcome = await update_site(uctx, str(site_id), drupal_selection("1.1.0"))
    assert outcome.status == "refused", failed(outcome)
    assert "no drush in ../vendor/bin/drush or vendor/bin/drush" in (outcome.reason or "")
    assert outcome.snapshot_id is None
    assert differences(files_before, tree_state(Path(dr1["docroot"]))) == {}


async def test_a_drupal_run_cut_off_after_a_breaking_apply_is_rolled_back_at_the_restart(
    uctx: UpdateContext, dr1: dict[str, Any], server: Vendor
) -> None:
    broken = builds.drupal_module("2.0.0", builds.FRONT_PAGE_FATAL, update_n=9002)
    site_id = await drupal_ready(uctx, dr1, server, broken)
    files_before, db_before = tree_state(Path(dr1["docroot"])), db_state(dr1)

    await cut_off_before_the_health_check(uctx, site_id, drupal_selection("2.0.0"))
    assert drupal_version(dr1) == "2.0.0"  # the site is broken now
    (found,) = await recover_interrupted(uctx)
    assert "passes the health check again" in found.state, found.state
    assert differences(files_before, tree_state(Path(dr1["docroot"]))) == {}
    assert differences(db_before, db_state(dr1)) == {}
    (event,) = journal(uctx.backup.db, site_id)
    assert event.kind == "update.interrupted"


async def cut_off_before_the_health_check(
    uctx: UpdateContext, site_id: int, selection: Selection
) -> None:
    """The run's process "dies" once the package is applied, before it is judged."""

    async def run() -> RunOutcome:
        me = asyncio.current_task()
        assert me is not None

        def progress(_site: str, what: str) -> None:
            if what == "health check":
                me.cancel()

        return await update_site(uctx, str(site_id), selection, progress=progress)

    with pytest.raises(asyncio.CancelledError):
        await asyncio.create_task(run())


async def test_a_joomla_site_left_offline_by_a_dead_run_is_brought_back_not_rolled_back(
    uctx: UpdateContext, jm1: dict[str, Any], server: Vendor
) -> None:
    target = builds.joomla_plugin("1.1.0", f"{server.url}{UPDATE_XML}")
    site_id = await joomla_ready(uctx, jm1, server, target)
    await cut_off_before_the_health_check(uctx, site_id, JOOMLA)
    config = Path(jm1["docroot"]) / "configuration.php"  # as a run killed mid-install leaves it
    config.write_text(config.read_text().replace(ONLINE, "public $offline = true;"))
    (found,) = await recover_interrupted(uctx)
    assert found.state.startswith("healthy when checked after the restart"), found.state
    assert joomla_offline(jm1) == ONLINE and joomla_manifest_version(jm1) == "1.1.0"
    (event,) = journal(uctx.backup.db, site_id)
    steps = {s["name"]: s for s in event.data["steps"]}
    assert steps["recovery: offline"]["ok"], steps["recovery: offline"]


async def test_a_drupal_site_left_in_maintenance_by_a_dead_run_is_brought_back(
    uctx: UpdateContext, dr1: dict[str, Any], server: Vendor
) -> None:
    site_id = await drupal_ready(uctx, dr1, server, builds.drupal_module("1.1.0", update_n=9001))
    await cut_off_before_the_health_check(uctx, site_id, drupal_selection("1.1.0"))
    root_sql(dr1, "REPLACE INTO key_value VALUES ('state', 'system.maintenance_mode', 'i:1;')")
    (Path(dr1["docroot"]) / "vendor/bin/drush").unlink()  # and drush cannot run: by hand
    (found,) = await recover_interrupted(uctx)
    assert found.state.startswith("healthy when checked after the restart"), found.state
    assert drupal_state(dr1, "state", "system.maintenance_mode") == "i:0;"
    assert drupal_version(dr1) == "1.1.0"
    (event,) = journal(uctx.backup.db, site_id)
    steps = {s["name"]: s for s in event.data["steps"]}
    assert "set in the database by sitekeeper" in steps["recovery: maintenance"]["detail"]


# --- a maintenance state that cannot be read ----------------------------------------------


async def test_a_joomla_offline_flag_that_cannot_be_read_stops_the_install_before_any_change(
    uctx: UpdateContext, jm1: dict[str, Any], server: Vendor
) -> None:
    """configuration.php turns unreadable once the run reaches the installer: taking the
    site down and up again could end an offline someone set, so nothing is installed,
    the site is never taken down, and the run puts back the snapshot."""
    target = builds.joomla_plugin("1.1.0", f"{server.url}{UPDATE_XML}")
    site_id = await joomla_ready(uctx, jm1, server, target)
    config = Path(jm1["docroot"]) / "configuration.php"
    files_before, db_before = tree_state(Path(jm1["docroot"])), db_state(jm1)

    def unreadable_at_apply(_site: str, what: str) -> None:
        if what.startswith("apply "):
            config.chmod(0)

    outcome = await update_site(uctx, str(site_id), JOOMLA, progress=unreadable_at_apply)
    assert outcome.status == "rolled_back", failed(outcome)
    slug = builds.JOOMLA_SLUG
    steps = {s.name: s for s in outcome.steps}
    offline = steps[f"{slug}: offline"]
    assert not offline.ok and offline.detail == "configuration.php cannot be read; nothing changed"
    applied = [n for n in steps if n.startswith(f"{slug}: ")]
    assert applied == [f"{slug}: owner", f"{slug}: offline"], applied  # no upload, no site:down
    assert joomla_manifest_version(jm1) == "1.0.0"
    assert differences(files_before, tree_state(Path(jm1["docroot"]))) == {}
    assert differences(db_before, db_state(jm1)) == {}
    assert joomla_offline(jm1) == ONLINE


STATE_GET_BROKEN = b"""  case 'state:get':
    exit(1);  // test: drush cannot read the state
"""


async def test_a_drupal_maintenance_state_that_cannot_be_read_stops_the_install_before_any_change(
    uctx: UpdateContext, dr1: dict[str, Any], server: Vendor
) -> None:
    """drush cannot say whether the site is in maintenance mode: turning it on and off
    could end maintenance someone set, so nothing is uploaded, the module is not replaced
    and maintenance mode is never switched; the run puts back the snapshot."""
    site_id = await drupal_ready(uctx, dr1, server, builds.drupal_module("1.1.0", update_n=9001))
    drush = Path(dr1["docroot"]) / "vendor/bin/drush"
    code = drush.read_bytes()
    assert code.count(b"  case 'state:get':\n") == 1
    drush.write_bytes(code.replace(b"  case 'state:get':\n", STATE_GET_BROKEN, 1))
    files_before, db_before = tree_state(Path(dr1["docroot"])), db_state(dr1)
    outcome = await update_site(uctx, str(site_id), drupal_selection("1.1.0"))
    assert outcome.status == "rolled_back", failed(outcome)
    module = builds.DRUPAL_MODULE
    steps = {s.name: s for s in outcome.steps}
    maintenance = steps[f"{module}: maintenance"]
    assert not maintenance.ok
    assert maintenance.detail == (
        "drush cannot say whether the site is in maintenance mode; nothing changed"
    )
    applied = [n for n in steps if n.startswith(f"{module}: ")]
    assert applied == [f"{module}: owner", f"{module}: maintenance"], applied  # no upload
    assert drupal_version(dr1) == "1.0.0"
    assert differences(files_before, tree_state(Path(dr1["docroot"]))) == {}
    assert differences(db_before, db_state(dr1)) == {}
    assert drupal_state(dr1, "state", "system.maintenance_mode") in ("", "i:0;")

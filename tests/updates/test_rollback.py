"""Safety snapshot and rollback on the real site wp5: the site broken as a bad update
breaks it, rolled back from the snapshot to the same files (path, mode, owner, sha256)
and the same database (every table, but transients and cron), and healthy again."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sitekeeper.backup.runner import BackupContext
from sitekeeper.cms.wordpress.health import HEALTH
from sitekeeper.domain.updates import UpdateItem
from sitekeeper.remote.ssh import connect
from sitekeeper.updates.health import Baseline, Inside, check_after, check_before
from sitekeeper.updates.health_fetch import PageFetcher
from sitekeeper.updates.health_opcache import reset_web_opcache
from sitekeeper.updates.rollback import RollbackResult, Scope, roll_back, scope_for
from sitekeeper.updates.snapshot import SafetySnapshot, take_safety_snapshot
from tests.backup.conftest import add_wp_site
from tests.realsites import private_key, ssh_access
from tests.updates import breakage
from tests.updates.sites import update_sites_up, wp5
from tests.updates.state import db_state, differences, tree_state

__all__ = ["update_sites_up", "wp5"]

PLUGIN = "xrds-simple"  # active on wp5
FIGURES: dict[str, float] = {}


@pytest.fixture
async def fetcher() -> AsyncIterator[PageFetcher]:
    async with PageFetcher() as made:
        yield made


@pytest.fixture
async def before(
    wp5: dict[str, Any], bctx: BackupContext, fetcher: PageFetcher
) -> tuple[Baseline, SafetySnapshot]:
    """wp5 stored in sitekeeper, healthy, and snapshotted for update run "run-1"."""
    add_wp_site(bctx.db, bctx.vault, wp5)
    report, baseline = await check_before(fetcher, wp5["url"], HEALTH)
    assert report.ok, report.failed
    assert baseline is not None
    snapshot = await take_safety_snapshot(bctx, "wp5", "run-1")
    FIGURES["snapshot_s"] = snapshot.seconds
    return baseline, snapshot


def _break_plugin_and_database(site: dict[str, Any]) -> None:
    """A plugin update gone wrong: the folder replaced by a version that fatals (one file
    more), a post and an option changed, the maintenance flag left."""
    breakage.plugin(site, PLUGIN, breakage.FATAL_ON_LOAD, version="2.0")
    breakage.write_as_site(site, f"wp-content/plugins/{PLUGIN}/added-by-update.php", "<?php\n")
    breakage.root_sql(site, "UPDATE wp_posts SET post_title = 'BROKEN BY UPDATE' WHERE ID = 1")
    breakage.root_sql(
        site, "UPDATE wp_options SET option_value = 'broken' WHERE option_name = 'blogdescription'"
    )
    breakage.leave_maintenance(site)


async def _health_now(
    site: dict[str, Any], bctx: BackupContext, fetcher: PageFetcher, baseline: Baseline
) -> set[str]:
    """The names of the checks the site fails now (opcode cache reset first)."""
    conn = await connect(ssh_access(site), bctx.pins, private_key=private_key(site))
    async with conn:
        reset = await reset_web_opcache(conn, site["docroot"], site["url"], fetcher)
        assert reset.ok, reset.detail
        report = await check_after(fetcher, baseline, HEALTH, inside=Inside(conn, site["docroot"]))
    return {c.name for c in report.failed}


async def _rolled_back(
    bctx: BackupContext,
    fetcher: PageFetcher,
    baseline: Baseline,
    snapshot: SafetySnapshot,
    scope: Scope,
) -> RollbackResult:
    started = time.monotonic()
    result = await roll_back(
        bctx, "wp5", snapshot.snapshot_id, scope, markers=HEALTH, fetcher=fetcher, baseline=baseline
    )
    FIGURES[f"rollback_{'scope' if scope.paths else 'docroot'}_s"] = time.monotonic() - started
    print(f"\nwp5 figures: {FIGURES}")
    return result


async def test_a_plugin_rollback_restores_its_folder_and_the_database(
    wp5: dict[str, Any],
    bctx: BackupContext,
    fetcher: PageFetcher,
    before: tuple[Baseline, SafetySnapshot],
) -> None:
    baseline, snapshot = before
    docroot = Path(wp5["docroot"])
    files, database = tree_state(docroot), db_state(wp5)
    _break_plugin_and_database(wp5)
    # An editor's upload after the snapshot is outside the plugin's scope: it stays.
    upload = breakage.write_as_site(wp5, "wp-content/uploads/after-snapshot.txt", "kept\n")
    assert differences(files, tree_state(docroot))
    assert differences(database, db_state(wp5))
    broken = await _health_now(wp5, bctx, fetcher, baseline)
    assert {"home.status", "login.status", "inside.maintenance"} <= broken

    item = UpdateItem("plugin", PLUGIN, "1.0", "2.0", "wordpress")
    scope = scope_for(item, HEALTH)
    assert scope == Scope((f"wp-content/plugins/{PLUGIN}",))
    result = await _rolled_back(bctx, fetcher, baseline, snapshot, scope)

    assert result.ok, (result.state, result.steps)
    assert upload.read_text() == "kept\n"
    upload.unlink()
    assert differences(files, tree_state(docroot)) == {}
    assert differences(database, db_state(wp5)) == {}
    assert result.health is not None and result.health.ok
    steps = {c.name: c for c in result.steps}
    assert steps["flags"].detail == "removed .maintenance"
    assert steps["opcache"].detail == "the web server's opcode cache was reset"
    assert result.state == (
        f"wp-content/plugins/{PLUGIN} and the database restored from snapshot "
        f"{snapshot.snapshot_id[:8]}; the site passes the health check again"
    )


async def test_a_core_rollback_restores_the_whole_docroot(
    wp5: dict[str, Any],
    bctx: BackupContext,
    fetcher: PageFetcher,
    before: tuple[Baseline, SafetySnapshot],
) -> None:
    baseline, snapshot = before
    docroot = Path(wp5["docroot"])
    files, database = tree_state(docroot), db_state(wp5)
    # A core update that died half-way: a core file fatals, a new file, a file gone.
    settings = docroot / "wp-settings.php"
    settings.write_text(settings.read_text() + "\nsk_core_half_updated();\n")
    breakage.write_as_site(wp5, "wp-includes/added-by-update.php", "<?php\n")
    (docroot / "readme.html").unlink()
    breakage.root_sql(
        wp5, "UPDATE wp_options SET option_value = '1' WHERE option_name = 'db_version'"
    )
    breakage.leave_maintenance(wp5)

    item = UpdateItem("core", "wordpress", "6.1.9", "6.1.12", "wordpress")
    assert scope_for(item, HEALTH) == Scope()
    result = await _rolled_back(bctx, fetcher, baseline, snapshot, Scope())

    assert result.ok, (result.state, result.steps)
    assert differences(files, tree_state(docroot)) == {}
    assert differences(database, db_state(wp5)) == {}
    assert result.health is not None
    assert {c.name for c in result.health.checks} >= {"database", "inside.maintenance"}


async def test_a_failed_rollback_says_what_state_the_site_is_in(
    wp5: dict[str, Any],
    bctx: BackupContext,
    fetcher: PageFetcher,
    before: tuple[Baseline, SafetySnapshot],
) -> None:
    """An update run as root left the plugin's folder root-owned: the site's user cannot
    put the old files back, and the result says the files may be mixed and the database
    is still the updated one."""
    baseline, snapshot = before
    _break_plugin_and_database(wp5)
    folder = Path(wp5["docroot"]) / "wp-content/plugins" / PLUGIN
    breakage.own_as_root(folder)
    scope = Scope((f"wp-content/plugins/{PLUGIN}",))
    result = await _rolled_back(bctx, fetcher, baseline, snapshot, scope)

    assert not result.ok
    assert result.state.startswith(
        f"rollback failed while restoring the files of wp-content/plugins/{PLUGIN}: they may "
        "mix the snapshot's and the update's files; the database is still the updated one"
    ), result.state
    assert [c.name for c in result.steps] == ["snapshot", "files"]
    assert not result.steps[-1].ok
    assert result.health is None
    # Nothing claimed was done: the post is still the update's.
    assert "BROKEN BY UPDATE" in breakage.root_sql(
        wp5, "SELECT post_title FROM wp_posts WHERE ID=1"
    )


async def test_a_snapshot_of_another_site_is_never_used(
    wp5: dict[str, Any],
    bctx: BackupContext,
    fetcher: PageFetcher,
    before: tuple[Baseline, SafetySnapshot],
) -> None:
    baseline, _ = before
    result = await roll_back(
        bctx, "wp5", "0123abcd", Scope(), markers=HEALTH, fetcher=fetcher, baseline=baseline
    )
    assert not result.ok
    assert result.state.startswith("not rolled back, the site was not touched: cannot use snapshot")
    assert [c.name for c in result.steps] == ["snapshot"]


async def test_a_plugin_the_update_installed_is_removed(
    wp5: dict[str, Any],
    bctx: BackupContext,
    fetcher: PageFetcher,
    before: tuple[Baseline, SafetySnapshot],
) -> None:
    """Not in the snapshot (its parent folder is, without it): the rollback removes it."""
    baseline, snapshot = before
    docroot = Path(wp5["docroot"])
    files = tree_state(docroot)
    breakage.activate(wp5, breakage.plugin(wp5, "sk-new", breakage.FATAL_ON_LOAD))
    item = UpdateItem("plugin", "sk-new", "", "1.0", "wordpress")
    result = await _rolled_back(bctx, fetcher, baseline, snapshot, scope_for(item, HEALTH))
    assert result.ok, (result.state, result.steps)
    assert not (docroot / "wp-content/plugins/sk-new").exists()
    assert differences(files, tree_state(docroot)) == {}


def test_scope_refuses_paths_out_of_the_docroot() -> None:
    for bad in ("../x", "/etc", "a/../../b", "", "a//b", "wp-content/plugins/*", ".git"):
        with pytest.raises(ValueError, match="not a plain folder"):
            Scope((bad,))
    sneaky = UpdateItem("plugin", "../../wp-config.php", "1", "2", "wordpress")
    assert scope_for(sneaky, HEALTH) == Scope()  # the whole docroot, never a path out of it

"""The whole update run on the real site wp4, as `sitekeeper update` drives it: pending
updates from a stored inventory and catalogue, preflight, the package from a loopback
vendor, the safety snapshot, WordPress's own upgrader, the health check, the rollback,
and the journal and alert that say what happened; a run cut off half-way is found and
settled after the "restart"."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sitekeeper.backup.runner import BackupContext
from sitekeeper.cms.registry import CMSES
from sitekeeper.cms.wordpress.ecosystem import WORDPRESS
from sitekeeper.config import Settings
from sitekeeper.domain.catalogue import PackageInfo, ReleaseInfo
from sitekeeper.engine.intel_ingest import rematch
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.intel.fetch import FeedSettings
from sitekeeper.remote.hostkeys import StoreHostKeyPins
from sitekeeper.remote.ssh import connect
from sitekeeper.store import findings, inventories, releases
from sitekeeper.store.database import Database
from sitekeeper.store.tables import Event, Notification, Site
from sitekeeper.store.update_tables import UpdateRun
from sitekeeper.updates.context import UpdateContext
from sitekeeper.updates.packages import PackageCache
from sitekeeper.updates.plan import Selection
from sitekeeper.updates.policy import run_due_updates
from sitekeeper.updates.recover import recover_interrupted
from sitekeeper.updates.run import RunOutcome, update_site
from tests.backup.conftest import add_wp_site
from tests.realsites import private_key, ssh_access
from tests.updates import breakage
from tests.updates.package_zips import small_zip
from tests.updates.sites import update_sites_up, wp4
from tests.updates.state import db_state, differences, tree_state
from tests.updates.vendor import PACKAGES, Vendor, sha256_of, vendor, versions

__all__ = ["update_sites_up", "vendor", "wp4"]

pytestmark = pytest.mark.realsites
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PLUGIN = "akismet"  # bundled with 6.1.9 (5.0.2), inactive on wp4


@pytest.fixture
async def uctx(bctx: BackupContext, vendor: Vendor, tmp_path: Path) -> AsyncIterator[UpdateContext]:
    made = UpdateContext(
        backup=bctx,
        vendor=vendor.settings,
        feeds=FeedSettings(vendor=vendor.settings),
        cache=PackageCache(tmp_path / "packages"),
    )
    async with made:
        yield made


async def stored_with_pending(
    bctx: BackupContext,
    wp4: dict[str, Any],
    target: str,
    policy: str | None = None,
    requires_php: str | None = None,
    package: tuple[str, str] = ("plugin", PLUGIN),
    plan: dict[str, Any] | None = None,
) -> int:
    """wp4 in sitekeeper with its real inventory (over SSH) and a catalogue that offers
    ``target`` of the plugin as a security fix (on a plan with ``policy`` and the options
    ``plan``); the site's id."""
    options = ({"update_policy": policy} if policy else {}) | (plan or {})
    site_id = add_wp_site(bctx.db, bctx.vault, wp4, plan_options=options or None)
    conn = await connect(ssh_access(wp4), StoreHostKeyPins(bctx.db), private_key=private_key(wp4))
    async with conn:
        found = await CMSES.get("wordpress").inventory(conn, wp4["docroot"])
    type_, slug = package
    installed = next(e.version for e in found.extensions if e.slug == slug)
    info = PackageInfo(
        WORDPRESS, type_, slug, latest=target, source="wordpress.org",
        releases=(ReleaseInfo(str(installed), insecure=True), ReleaseInfo(target)),
        details={"requires_php": {target: requires_php}} if requires_php else {},
    )  # fmt: skip
    with bctx.db.session() as session:
        site = session.get(Site, site_id)
        assert site is not None
        site.cms = "wordpress"
        inventories.store_inventory(session, site, found)
        releases.store_packages(session, [info], NOW)
        rematch(session, NOW, site_ids=[site_id])
    return site_id


def plugin_version(wp4: dict[str, Any]) -> str:
    text = (Path(wp4["docroot"]) / "wp-content/plugins/akismet/akismet.php").read_text()
    line = next(x for x in text.splitlines() if "Version:" in x)
    return line.split("Version:", 1)[1].strip()


def fatal_release(version: str, body: str = breakage.FATAL_ON_LOAD) -> tuple[bytes, bytes]:
    """An Akismet ``version`` that fatals on load, and its plugin-checksums answer."""
    code = breakage.PLUGIN_HEADER.format(name="Akismet", version=version) + body
    data = code.encode()
    digests = {"md5": hashlib.md5(data).hexdigest(), "sha256": hashlib.sha256(data).hexdigest()}
    listed = {"plugin": PLUGIN, "version": version, "files": {"akismet.php": digests}}
    return small_zip({"akismet/akismet.php": data}), json.dumps(listed).encode()


def journal(db: Database, site_id: int) -> list[Event]:
    with db.session() as session:
        query = select(Event).where(Event.site_id == site_id, Event.kind.like("update.%"))
        return list(session.scalars(query))


def alerts(db: Database) -> list[Notification]:
    with db.session() as session:
        return list(session.scalars(select(Notification)))


async def test_a_plugin_update_is_applied_and_journaled_step_by_step(
    uctx: UpdateContext, wp4: dict[str, Any], vendor: Vendor
) -> None:
    target = versions()["akismet"]
    site_id = await stored_with_pending(uctx.backup, wp4, target)
    outcome = await update_site(uctx, str(site_id), Selection(plugins=(PLUGIN,)))
    assert outcome.status == "applied", outcome
    assert plugin_version(wp4) == target
    names = [s.name for s in outcome.steps]
    for step in ("ssh", "owner akismet", "package akismet", "disk", "snapshot"):
        assert step in names
    assert names.index("snapshot") < names.index("akismet: upgrade")
    assert any(n.startswith("health after:") for n in names)
    assert all(s.ok for s in outcome.steps), [s for s in outcome.steps if not s.ok]
    assert f"/plugin/akismet.{target}.zip" in vendor.requests
    (event,) = journal(uctx.backup.db, site_id)
    assert event.kind == "update.applied"
    assert event.data["items"][0]["target"] == target
    assert len(event.data["items"][0]["sha256"]) == 64
    assert event.data["snapshot"] == outcome.snapshot_id
    assert not alerts(uctx.backup.db)  # success wakes nobody


async def test_a_plugin_that_fatals_is_rolled_back_to_the_snapshot_byte_for_byte(
    uctx: UpdateContext, wp4: dict[str, Any], vendor: Vendor
) -> None:
    breakage.activate(wp4, "akismet/akismet.php")  # loaded on every page once updated
    breakage.naive_get(wp4["url"])  # its first page load stores its widget's option
    zipped, checksums = fatal_release("99.0")
    vendor.add("/plugin/akismet.99.0.zip", zipped)
    vendor.add("/plugin-checksums/akismet/99.0.json", checksums)
    site_id = await stored_with_pending(uctx.backup, wp4, "99.0")
    files_before = tree_state(Path(wp4["docroot"]))
    db_before = db_state(wp4)
    outcome = await update_site(uctx, str(site_id), Selection(plugins=(PLUGIN,)))
    assert outcome.status == "rolled_back", outcome
    failed = [s for s in outcome.steps if s.name.startswith("health after:") and not s.ok]
    assert failed, "the health check after the update saw nothing wrong"
    assert "passes the health check again" in (outcome.state or "")
    assert differences(files_before, tree_state(Path(wp4["docroot"]))) == {}
    assert differences(db_before, db_state(wp4)) == {}
    (event,) = journal(uctx.backup.db, site_id)
    assert event.kind == "update.rolled_back"
    (alert,) = alerts(uctx.backup.db)
    assert alert.title == f"Update rolled back: {wp4['name']}"
    assert "akismet" in alert.body and outcome.snapshot_id[:8] in alert.body  # type: ignore[index]


async def test_a_plugin_that_fatals_only_in_wp_admin_is_caught_from_inside_and_rolled_back(
    uctx: UpdateContext, wp4: dict[str, Any], vendor: Vendor
) -> None:
    breakage.activate(wp4, "akismet/akismet.php")
    breakage.naive_get(wp4["url"])
    zipped, checksums = fatal_release("99.1", breakage.FATAL_IN_ADMIN)
    vendor.add("/plugin/akismet.99.1.zip", zipped)
    vendor.add("/plugin-checksums/akismet/99.1.json", checksums)
    site_id = await stored_with_pending(uctx.backup, wp4, "99.1")
    files_before = tree_state(Path(wp4["docroot"]))
    outcome = await update_site(uctx, str(site_id), Selection(plugins=(PLUGIN,)))
    assert outcome.status == "rolled_back", outcome
    failed = [s for s in outcome.steps if s.name.startswith("health after:") and not s.ok]
    assert [s.name for s in failed] == ["health after: inside.load"]  # the pages looked fine
    (scrape,) = failed
    assert scrape.detail.startswith("plugin akismet fatals when WordPress loads as wp-admin: ")
    assert "sk_undefined_function_in_wp_admin()" in scrape.detail
    assert "wp-content/plugins/akismet/akismet.php:6" in scrape.detail
    assert "passes the health check again" in (outcome.state or "")
    loaded = [s for s in outcome.steps if s.name == "health after rollback: inside.load"]
    assert [s.ok for s in loaded] == [True]
    assert differences(files_before, tree_state(Path(wp4["docroot"]))) == {}


async def test_a_site_broken_before_is_refused_untouched_unless_forced(
    uctx: UpdateContext, wp4: dict[str, Any]
) -> None:
    site_id = await stored_with_pending(uctx.backup, wp4, versions()["akismet"])
    breakage.plugin(wp4, "sk-broken", breakage.FATAL_ON_LOAD)
    breakage.activate(wp4, "sk-broken/sk-broken.php")
    files_before = tree_state(Path(wp4["docroot"]))
    outcome = await update_site(uctx, str(site_id), Selection(plugins=(PLUGIN,)))
    assert outcome.status == "refused"
    assert "not healthy before the update" in (outcome.reason or "")
    assert outcome.snapshot_id is None
    assert differences(files_before, tree_state(Path(wp4["docroot"]))) == {}
    (event,) = journal(uctx.backup.db, site_id)
    assert event.kind == "update.refused"
    (alert,) = alerts(uctx.backup.db)
    assert alert.title == f"Update refused: {wp4['name']}"


async def test_files_of_another_owner_are_refused_in_preflight(
    uctx: UpdateContext, wp4: dict[str, Any]
) -> None:
    site_id = await stored_with_pending(uctx.backup, wp4, versions()["akismet"])
    breakage.own_as_root(Path(wp4["docroot"]) / "wp-content/plugins/akismet")
    outcome = await update_site(uctx, str(site_id), Selection(plugins=(PLUGIN,)))
    assert outcome.status == "refused"
    assert "owned by 0" in (outcome.reason or "") or "owned by root" in (outcome.reason or "")
    assert [s.name for s in outcome.steps if not s.ok] == ["owner akismet"]
    assert plugin_version(wp4) != versions()["akismet"]


async def test_a_site_without_room_for_the_package_is_refused_before_the_snapshot(
    uctx: UpdateContext, wp4: dict[str, Any]
) -> None:
    site_id = await stored_with_pending(uctx.backup, wp4, versions()["akismet"])
    uctx.limits = replace(uctx.limits, disk_margin=1 << 60)  # more than any disk has free
    outcome = await update_site(uctx, str(site_id), Selection(plugins=(PLUGIN,)))
    assert outcome.status == "refused"
    assert (outcome.reason or "").startswith("refused: only "), outcome.reason
    assert "MiB free on the site" in (outcome.reason or "")
    assert outcome.snapshot_id is None and plugin_version(wp4) != versions()["akismet"]


async def test_a_release_needing_a_newer_php_than_the_site_runs_is_refused(
    uctx: UpdateContext, wp4: dict[str, Any]
) -> None:
    target = versions()["akismet"]
    site_id = await stored_with_pending(uctx.backup, wp4, target, requires_php="99.0")
    outcome = await update_site(uctx, str(site_id), Selection(plugins=(PLUGIN,)))
    assert outcome.status == "refused"
    assert f"{PLUGIN} 5.0.2 → {target} needs PHP 99.0, the site runs 8." in (outcome.reason or "")
    assert outcome.snapshot_id is None and plugin_version(wp4) == "5.0.2"


async def test_a_theme_is_updated_with_its_archive_digest_pinned(
    uctx: UpdateContext, wp4: dict[str, Any]
) -> None:
    theme = "twentytwentythree"
    target = versions()[theme]
    site_id = await stored_with_pending(uctx.backup, wp4, target, package=("theme", theme))
    unpinned = await update_site(uctx, str(site_id), Selection(themes=(theme,)))
    assert unpinned.status == "refused" and "sha256 must be pinned" in (unpinned.reason or "")
    digest = sha256_of(PACKAGES / f"{theme}.{target}.zip")
    pinned = Selection(themes=(theme,), pins=((theme, digest),))
    outcome = await update_site(uctx, str(site_id), pinned)
    assert outcome.status == "applied", outcome
    style = (Path(wp4["docroot"]) / f"wp-content/themes/{theme}/style.css").read_text()
    assert f"Version: {target}" in style


async def test_a_run_cut_off_after_a_breaking_apply_is_rolled_back_at_the_restart(
    uctx: UpdateContext, wp4: dict[str, Any], vendor: Vendor
) -> None:
    breakage.activate(wp4, "akismet/akismet.php")
    zipped, checksums = fatal_release("99.0")
    vendor.add("/plugin/akismet.99.0.zip", zipped)
    vendor.add("/plugin-checksums/akismet/99.0.json", checksums)
    site_id = await stored_with_pending(uctx.backup, wp4, "99.0")
    files_before = tree_state(Path(wp4["docroot"]))

    async def cut_off() -> RunOutcome:
        me = asyncio.current_task()
        assert me is not None

        def progress(_site: str, what: str) -> None:
            if what == "health check":  # applied, not yet judged: the process "dies"
                me.cancel()

        return await update_site(
            uctx, str(site_id), Selection(plugins=(PLUGIN,)), progress=progress
        )

    with pytest.raises(asyncio.CancelledError):
        await asyncio.create_task(cut_off())
    with uctx.backup.db.session() as session:
        (run,) = session.scalars(select(UpdateRun))
        assert run.status == "running"
    assert plugin_version(wp4) == "99.0"  # the site is broken now

    (found,) = await recover_interrupted(uctx)
    assert "rolled back" in found.state or "restored" in found.state, found.state
    assert differences(files_before, tree_state(Path(wp4["docroot"]))) == {}
    (event,) = journal(uctx.backup.db, site_id)
    assert event.kind == "update.interrupted"
    steps = [s["name"] for s in event.data["steps"]]
    assert "recovery: flags" in steps
    assert any(s.startswith("recovery: rollback: ") for s in steps)
    assert await recover_interrupted(uctx) == []  # settled once


async def test_a_plans_security_policy_applies_the_fix_once_and_reads_the_site_again(
    uctx: UpdateContext, wp4: dict[str, Any], tmp_path: Path
) -> None:
    target = versions()["akismet"]
    site_id = await stored_with_pending(uctx.backup, wp4, target, policy="security")
    settings = Settings(home=tmp_path / "intel")
    jobs = IntelJobs(uctx.backup.db, settings, vault=uctx.backup.vault)
    uctx.reinventory = lambda i: jobs.inventory_site(str(i))
    (outcome,) = await run_due_updates(uctx, concurrency=4)
    assert (outcome.site_id, outcome.status) == (site_id, "applied"), outcome
    assert plugin_version(wp4) == target
    assert [s.ok for s in outcome.steps if s.name == "inventory"] == [True]
    with uctx.backup.db.session() as session:
        (run,) = session.scalars(select(UpdateRun))
        assert (run.trigger, run.requested_by) == ("policy", "policy")
        assert not findings.update_rows(session, site_ids=[site_id])  # nothing pending now
    assert await run_due_updates(uctx, concurrency=4) == []

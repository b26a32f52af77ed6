"""Updates through a deploy account that is not the files' owner but may run commands as
it (``sudo -n -u OWNER``), on the real site wp4: the update is applied as the owner
(every file still the owner's, modes unchanged, nothing of the deploy account's left on
the site), a breaking update rolls back to identical files and database, and without
the sudoers rule the run is refused in preflight with nothing changed.

wp4, not wp1: wp1..wp3 are read by the other real-site tests, wp4 and wp5 are the update
tests' own and are put back after each test (``tests.updates.sites``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sitekeeper.backup.runner import BackupContext
from sitekeeper.cms.registry import CMSES
from sitekeeper.cms.wordpress.ecosystem import WORDPRESS
from sitekeeper.domain.catalogue import PackageInfo, ReleaseInfo
from sitekeeper.engine.intel_ingest import rematch
from sitekeeper.remote.hostkeys import StoreHostKeyPins
from sitekeeper.remote.ssh import connect
from sitekeeper.store import inventories, releases
from sitekeeper.store.sites import build_ssh
from sitekeeper.store.tables import Site
from sitekeeper.updates.context import UpdateContext
from sitekeeper.updates.plan import Selection
from sitekeeper.updates.run import update_site
from tests.backup.conftest import NOW, add_wp_site
from tests.realsites import private_key, ssh_access
from tests.updates import breakage
from tests.updates.deploy import Deploy, allow_sudo, deploy_account
from tests.updates.sites import update_sites_up, wp4
from tests.updates.state import db_state, differences, tree_state
from tests.updates.test_update_run import fatal_release, plugin_version, uctx
from tests.updates.vendor import Vendor, vendor, versions

__all__ = ["uctx", "update_sites_up", "vendor", "wp4"]

pytestmark = pytest.mark.realsites
PLUGIN = "akismet"  # bundled with 6.1.9, inactive on wp4


@pytest.fixture
def deploy(tmp_path: Path, wp4: dict[str, Any]) -> Iterator[Deploy]:
    """The deploy account, without a sudoers rule until the test allows it."""
    with deploy_account(tmp_path) as made:
        yield made


async def stored_as_deploy(
    bctx: BackupContext, wp4: dict[str, Any], deploy: Deploy, target: str
) -> int:
    """wp4 in sitekeeper reached as the deploy account working as wp4 through sudo, with
    its real inventory and a catalogue offering ``target`` of Akismet; the site's id."""
    record = {**wp4, "ssh": {**wp4["ssh"], "user": deploy.user, "key": str(deploy.key_file)}}
    site_id = add_wp_site(bctx.db, bctx.vault, record)
    conn = await connect(ssh_access(wp4), StoreHostKeyPins(bctx.db), private_key=private_key(wp4))
    async with conn:
        found = await CMSES.get("wordpress").inventory(conn, wp4["docroot"])
    installed = next(e.version for e in found.extensions if e.slug == PLUGIN)
    info = PackageInfo(
        WORDPRESS, "plugin", PLUGIN, latest=target, source="wordpress.org",
        releases=(ReleaseInfo(str(installed), insecure=True), ReleaseInfo(target)),
    )  # fmt: skip
    with bctx.db.session() as session:
        site = session.get(Site, site_id)
        assert site is not None and site.ssh is not None
        target_ssh = f"{deploy.user}@{site.ssh['host']}:{site.ssh['port']}"
        site.ssh = build_ssh(target_ssh, site.ssh["key_id"], wp4["docroot"], wp4["name"])
        site.cms = "wordpress"
        inventories.store_inventory(session, site, found)
        releases.store_packages(session, [info], NOW)
        rematch(session, NOW, site_ids=[site_id])
    return site_id


def owners_and_modes(tree: dict[str, tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
    return {path: entry[:4] for path, entry in tree.items()}


def deploy_leftovers(deploy: Deploy) -> list[str]:
    """Anything of the deploy account's in /tmp (a workspace the owner could not read)."""
    return [p.name for p in Path("/tmp").iterdir() if p.lstat().st_uid == deploy.uid]


async def test_an_update_through_sudo_is_applied_as_the_owner(
    uctx: UpdateContext, wp4: dict[str, Any], deploy: Deploy
) -> None:
    allow_sudo(wp4["name"])
    target = versions()["akismet"]
    site_id = await stored_as_deploy(uctx.backup, wp4, deploy, target)
    docroot = Path(wp4["docroot"])
    before = tree_state(docroot)
    outcome = await update_site(uctx, str(site_id), Selection(plugins=(PLUGIN,)))
    assert outcome.status == "applied", (outcome.reason, [s for s in outcome.steps if not s.ok])
    assert plugin_version(wp4) == target
    steps = {s.name: s for s in outcome.steps}
    assert steps["sudo"].ok and steps["sudo"].detail == "skdeploy works as wp4 through sudo"
    assert steps["owner akismet"].detail == "the files are wp4's, the user sitekeeper works as"
    after = tree_state(docroot)
    owner = os.stat(docroot).st_uid
    assert {entry[2] for entry in after.values()} == {owner}  # every file still wp4's
    now, then = owners_and_modes(after), owners_and_modes(before)
    kept = {p: now[p] for p in then if p in now}
    assert kept == {p: then[p] for p in kept}  # modes unchanged
    assert not deploy_leftovers(deploy)


async def test_a_breaking_update_through_sudo_rolls_back_to_identical_files(
    uctx: UpdateContext, wp4: dict[str, Any], deploy: Deploy, vendor: Vendor
) -> None:
    allow_sudo(wp4["name"])
    breakage.activate(wp4, "akismet/akismet.php")  # loaded on every page once updated
    breakage.naive_get(wp4["url"])  # its first page load stores its widget's option
    zipped, checksums = fatal_release("99.0")
    vendor.add("/plugin/akismet.99.0.zip", zipped)
    vendor.add("/plugin-checksums/akismet/99.0.json", checksums)
    site_id = await stored_as_deploy(uctx.backup, wp4, deploy, "99.0")
    files_before, db_before = tree_state(Path(wp4["docroot"])), db_state(wp4)
    outcome = await update_site(uctx, str(site_id), Selection(plugins=(PLUGIN,)))
    assert outcome.status == "rolled_back", outcome
    assert "passes the health check again" in (outcome.state or "")
    assert differences(files_before, tree_state(Path(wp4["docroot"]))) == {}
    assert differences(db_before, db_state(wp4)) == {}
    assert not deploy_leftovers(deploy)


async def test_without_the_sudoers_rule_the_update_is_refused_untouched(
    uctx: UpdateContext, wp4: dict[str, Any], deploy: Deploy
) -> None:
    site_id = await stored_as_deploy(uctx.backup, wp4, deploy, versions()["akismet"])
    files_before = tree_state(Path(wp4["docroot"]))
    outcome = await update_site(uctx, str(site_id), Selection(plugins=(PLUGIN,)))
    assert outcome.status == "refused", outcome
    assert [s.name for s in outcome.steps] == ["ssh", "sudo"]
    reason = outcome.reason or ""
    assert reason.startswith("refused: skdeploy cannot run commands as wp4 through sudo")
    assert "never written as skdeploy instead" in reason
    assert outcome.snapshot_id is None
    assert differences(files_before, tree_state(Path(wp4["docroot"]))) == {}
    assert not deploy_leftovers(deploy)

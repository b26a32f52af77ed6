"""Apply a verified Drupal core build over SSH: the built ``core/``, ``vendor/`` and
``composer.lock`` (``drupal.core_build``) put in place as the file owner, then the site's
drush -- now the build's own ``vendor/bin/drush`` -- updates the database and rebuilds
its caches (updates-notes §3).

The build goes to a private folder in the site's /tmp as a tar and is unpacked there; the
site is put in maintenance mode (unless someone already had it there); ``core`` and
``vendor`` are copied next to the old ones and swapped in by two renames each, so a copy
that fails half-way (a full disk) leaves the old tree in place; the lock file is
copied over. Then ``drush updatedb -y`` and ``drush cache:rebuild`` (a stale container
gives class-not-found errors until then, drush#4264). Maintenance mode is always turned
off again in a ``finally`` and read back; the working folder is removed, PHP-FPM's
opcode cache reset, ``updatedb:status`` must have nothing pending, and the version is
``core/lib/Drupal.php``'s.
"""

from __future__ import annotations

import asyncio
import posixpath
import time

from sitekeeper.cms import site_files
from sitekeeper.cms.apply_steps import ApplySteps, said
from sitekeeper.cms.archive_tar import as_tar
from sitekeeper.cms.drupal import drush
from sitekeeper.cms.drupal.core_build import DRUPAL_PHP, DRUPAL_PHP_BYTES
from sitekeeper.cms.drupal.install import DrushSteps
from sitekeeper.cms.drupal.inventory import core_version
from sitekeeper.cms.updater import ResetOpcache
from sitekeeper.domain.updates import ApplyResult, Check, UpdateItem, VerifiedPackage
from sitekeeper.errors import SitekeeperError
from sitekeeper.remote.ssh import SshConnection

TREES = ("core", "vendor")
# the staged build swapped in: each tree copied beside the old one, then two renames;
# paths are arguments, never spliced into the script (they come from a site)
_SWAP = """set -e
stage=$1; root=$2
for d in core vendor; do
  rm -rf -- "$root/$d.sk-new" "$root/$d.sk-old"
  cp -R -- "$stage/$d" "$root/$d.sk-new"
done
for d in core vendor; do
  mv -- "$root/$d" "$root/$d.sk-old"
  mv -- "$root/$d.sk-new" "$root/$d"
done
cp -- "$stage/composer.lock" "$root/composer.lock"
if [ -f "$stage/composer.json" ]; then cp -- "$stage/composer.json" "$root/composer.json"; fi
rm -rf -- "$root/core.sk-old" "$root/vendor.sk-old"
"""


async def owner_check(
    conn: SshConnection, docroot: str, item: UpdateItem | None = None, name: str = "owner"
) -> Check:
    """The docroot itself (new folders are made in it) and all of ``core/`` and
    ``vendor/`` are the SSH user's."""
    del item
    return await site_files.owner_check(conn, docroot, ("",), TREES, cms="Drupal", name=name)


async def apply_core(
    conn: SshConnection,
    docroot: str,
    package: VerifiedPackage,
    *,
    reset_opcache: ResetOpcache | None = None,
    php: str = "php",
    time_limit: float = 900.0,
) -> ApplyResult:
    """Put the build in place and run drush; never raises for the site's failures (a
    failed step comes back as ``ok=False`` with why)."""
    docroot = docroot.rstrip("/") or "/"
    steps = ApplySteps()
    since = time.monotonic()
    path = posixpath.join(docroot, "vendor/bin/drush")
    try:
        found = await drush.find(conn, docroot)
    except SitekeeperError as exc:
        steps.add("drush", False, f"cannot look for drush: {exc}", since)
        return steps.result(None)
    if found != path:
        steps.add("drush", False, "no vendor/bin/drush in the docroot: not applied", since)
        return steps.result(None)
    if not steps.append(await owner_check(conn, docroot), since):
        return steps.result(None)
    run = DrushSteps(steps, conn, php, path, docroot, time_limit)
    was_on = await run.maintenance_state()
    if was_on is None:  # turning it on and off could end maintenance someone set
        why = "drush cannot say whether the site is in maintenance mode; nothing changed"
        steps.add("maintenance", False, why, since)
        return steps.result(None)
    workspace = ""
    turned_on = stopped = False  # stopped: before any file of the site changed
    try:
        since = time.monotonic()
        workspace = await site_files.make_workspace(conn)
        stage = await _stage(conn, workspace, package)
        steps.add("upload", True, f"core build staged in {workspace}", since)
        if not was_on:
            turned_on = True
            stopped = not await run.set_maintenance(True)
        if (
            not stopped
            and await _swap(steps, conn, stage, docroot)
            and await run.step("updatedb", "updatedb", "-y")
        ):
            await run.step("cache", "cache:rebuild")
    except SitekeeperError as exc:
        steps.add("install", False, str(exc), since)
    finally:  # recorded in the result whatever happened above
        if turned_on:
            await run.set_maintenance(False)
        await steps.remove_workspace(conn, workspace)
    if stopped:
        return steps.result(None)
    await steps.reset(reset_opcache)
    if all(c.ok for c in steps.checks):
        await run.pending()
    return await _finish(steps, conn, docroot, package.item.target)


async def _stage(conn: SshConnection, workspace: str, package: VerifiedPackage) -> str:
    """The build unpacked in the working folder; the folder it is in."""
    archive = await asyncio.to_thread(site_files.verified_bytes, package)
    data = await asyncio.to_thread(as_tar, archive, keep_exec=True)
    tar_path, stage = posixpath.join(workspace, "build.tar"), posixpath.join(workspace, "stage")
    await conn.write_file(tar_path, data)
    await conn.run(["mkdir", "-m", "0700", "--", stage])
    await conn.run(["tar", "-x", "-f", tar_path, "-C", stage, "--no-same-owner"])
    await conn.run(["rm", "-f", "--", tar_path])
    return stage


async def _swap(steps: ApplySteps, conn: SshConnection, stage: str, docroot: str) -> bool:
    since = time.monotonic()
    result = await conn.run(["sh", "-c", _SWAP, "sh", stage, docroot], check=False)
    ok = result.exit_status == 0
    detail = (
        "core/, vendor/ and composer.lock replaced by the build"
        if ok
        else f"the build could not be put in place: {said(result)}"
    )
    return steps.add("files", ok, detail, since)


async def _finish(steps: ApplySteps, conn: SshConnection, docroot: str, target: str) -> ApplyResult:
    """The version ``Drupal.php`` says now, and the files' owner."""
    since = time.monotonic()
    try:
        source = await conn.read_file(posixpath.join(docroot, DRUPAL_PHP), DRUPAL_PHP_BYTES)
        version = core_version(source, None)
    except SitekeeperError:
        version = None
    return await steps.finish(version, target, since, owner_check(conn, docroot, name="ownership"))

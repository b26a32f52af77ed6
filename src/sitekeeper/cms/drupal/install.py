"""Install a verified module or theme release on a Drupal site, then let Drupal's own
drush update the database and rebuild its caches.

Drupal has no installer for a contributed project's code: Composer or a person replaces
its folder. sitekeeper replaces ``modules/contrib/<name>`` (``themes/contrib``: the
folder a rollback restores, ``drupal.health``) with the verified release, sent as a tar
(``tar`` is on every server, ``unzip`` is not) into a private folder in the site's /tmp
and copied into place as the file owner, with the site in maintenance mode. Then
``drush updatedb -y`` and ``drush cache:rebuild`` (a stale container gives
class-not-found errors until then, drush#4264). Maintenance mode is always turned off
again in a ``finally`` and read back; the working folder is removed and PHP-FPM's opcode
cache reset. The version reported is the one the new ``<name>.info.yml`` says.
"""

from __future__ import annotations

import asyncio
import posixpath
import time

from sitekeeper.cms import site_files
from sitekeeper.cms.apply_steps import ApplySteps, said
from sitekeeper.cms.archive_tar import as_tar
from sitekeeper.cms.drupal import drush
from sitekeeper.cms.drupal.health import HEALTH
from sitekeeper.cms.drupal.inventory import INFO_BYTES, parse_info
from sitekeeper.cms.updater import ResetOpcache
from sitekeeper.domain.updates import ApplyResult, Check, UpdateItem, VerifiedPackage
from sitekeeper.errors import SitekeeperError
from sitekeeper.remote.ssh import SshConnection

# cp -R of the staged release over the old folder, with the paths as arguments, never
# spliced into the script: they come from a site
_REPLACE = 'set -e; rm -rf -- "$1"; cp -R -- "$2" "$1"'


def folder_of(type_: str, name: str) -> str:
    """The folder of a contributed module or theme, relative to the web root."""
    return posixpath.join(dict(HEALTH.extension_dirs)[type_], name)


async def owner_check(
    conn: SshConnection, docroot: str, item: UpdateItem, name: str = "owner"
) -> Check:
    """The project's folder, all it holds and the folder it sits in are the SSH user's."""
    folder = folder_of(item.type, item.package)
    return await site_files.owner_check(
        conn, docroot, (posixpath.dirname(folder),), (folder,), cms="Drupal", name=name
    )


async def no_drush(conn: SshConnection, docroot: str, name: str = "owner") -> Check | None:
    """A refusal when the site has no drush of its own (None: it has one)."""
    since = time.monotonic()
    if await drush.find(conn, docroot) is not None:
        return None
    where = " or ".join(drush.CANDIDATES)
    why = f"refused: no drush in {where}: sitekeeper finishes a Drupal update with the site's own"
    return Check(name, False, why, time.monotonic() - since)


async def apply_package(
    conn: SshConnection,
    docroot: str,
    package: VerifiedPackage,
    *,
    reset_opcache: ResetOpcache | None = None,
    php: str = "php",
    time_limit: float = 900.0,
) -> ApplyResult:
    """Replace the project's folder with ``package`` and run drush; never raises for the
    site's failures (a failed step comes back as ``ok=False`` with why)."""
    item = package.item
    docroot = docroot.rstrip("/") or "/"
    steps = ApplySteps()
    since = time.monotonic()
    try:
        found = await drush.find(conn, docroot)
    except SitekeeperError as exc:
        steps.add("drush", False, f"cannot look for drush: {exc}", since)
        return steps.result(None)
    if found is None:
        where = " or ".join(drush.CANDIDATES)
        steps.add("drush", False, f"no drush in {where}: the site has no drush to run", since)
        return steps.result(None)
    run = DrushSteps(steps, conn, php, found, docroot, time_limit)
    if not steps.append(await owner_check(conn, docroot, item), since):
        return steps.result(None)
    workspace = ""
    was_on = await run.maintenance_state()
    if was_on is None:  # turning it on and off could end maintenance someone set
        why = "drush cannot say whether the site is in maintenance mode; nothing changed"
        steps.add("maintenance", False, why, since)
        return steps.result(None)
    turned_on = stopped = False  # stopped: before the folder was touched
    try:
        since = time.monotonic()
        workspace = await site_files.make_workspace(conn)
        staged = await _stage(conn, workspace, package)
        steps.add("upload", True, f"release staged in {workspace}", since)
        if not was_on:
            turned_on = True
            stopped = not await run.set_maintenance(True)
        if (
            not stopped
            and await _replace(steps, conn, docroot, item, staged)
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
    return await _finish(steps, conn, docroot, item)


async def _stage(conn: SshConnection, workspace: str, package: VerifiedPackage) -> str:
    """The release unpacked in the working folder; the path of its top folder there."""
    archive = await asyncio.to_thread(site_files.verified_bytes, package)
    data = await asyncio.to_thread(as_tar, archive, package.top_folder)
    tar_path = posixpath.join(workspace, "package.tar")
    stage = posixpath.join(workspace, "stage")
    await conn.write_file(tar_path, data)
    await conn.run(["mkdir", "-m", "0700", "--", stage])
    await conn.run(["tar", "-x", "-f", tar_path, "-C", stage, "--no-same-owner"])
    return posixpath.join(stage, package.top_folder)


async def _replace(
    steps: ApplySteps, conn: SshConnection, docroot: str, item: UpdateItem, staged: str
) -> bool:
    since = time.monotonic()
    target = posixpath.join(docroot, folder_of(item.type, item.package))
    result = await conn.run(["sh", "-c", _REPLACE, "sh", target, staged], check=False)
    ok = result.exit_status == 0
    where = folder_of(item.type, item.package)
    detail = f"{where} replaced by the release" if ok else f"{where}: {said(result)}"
    return steps.add("files", ok, detail, since)


class DrushSteps:
    """The site's drush, each call a recorded step (module and core installs)."""

    def __init__(  # noqa: PLR0917 - one call site, all needed
        self,
        steps: ApplySteps,
        conn: SshConnection,
        php: str,
        path: str,
        docroot: str,
        time_limit: float,
    ) -> None:
        self.steps, self.conn, self.php, self.path = steps, conn, php, path
        self.docroot, self.time_limit = docroot, time_limit

    def argv(self, *command: str) -> list[str]:
        return drush.argv(self.php, self.path, self.docroot, *command)

    async def step(self, name: str, *command: str) -> bool:
        """One drush command; it must exit 0."""
        since = time.monotonic()
        result = await self.steps.command(
            self.conn, name, self.argv(*command), time_limit=self.time_limit
        )
        if result is None:
            return False
        ok = result.exit_status == 0
        detail = (
            f"drush {command[0]}: done"
            if ok
            else (f"drush {command[0]} failed (exit {result.exit_status}): {said(result)}")
        )
        return self.steps.add(name, ok, detail, since)

    async def maintenance_state(self) -> bool | None:
        """Whether the site is in maintenance mode now (None: drush could not say)."""
        return await drush.maintenance_state(self.conn, self.php, self.path, self.docroot)

    async def set_maintenance(self, value: bool) -> bool:
        """Turn maintenance mode on or off, and read it back."""
        name = "maintenance on" if value else "maintenance off"
        since = time.monotonic()
        result = await self.steps.command(
            self.conn, name, self.argv(*drush.maintenance(value)), time_limit=120
        )
        now = await self.maintenance_state()
        ok = result is not None and result.exit_status == 0 and now is value
        state = "in maintenance mode" if value else "out of maintenance mode"
        wanted = "on" if value else "off"
        found = "unknown" if now is None else ("on" if now else "off")
        why = said(result) if result is not None else "drush did not run"
        detail = (
            f"the site is {state}"
            if ok
            else f"could not turn maintenance mode {wanted} ({why}); it is {found} now"
        )
        return self.steps.add(name, ok, detail, since)

    async def pending(self) -> None:
        """``updatedb:status``: no database update left pending."""
        since = time.monotonic()
        result = await self.steps.command(
            self.conn, "database", self.argv("updatedb:status"), time_limit=120
        )
        if result is None:
            return
        ok = (
            result.exit_status == 0
            and drush.NOTHING_PENDING.encode() in result.stdout + result.stderr
        )
        detail = "no database update pending" if ok else f"drush updatedb:status: {said(result)}"
        self.steps.add("database", ok, detail, since)


async def _finish(
    steps: ApplySteps, conn: SshConnection, docroot: str, item: UpdateItem
) -> ApplyResult:
    """The version the project's info file says now, and the files' owner."""
    since = time.monotonic()
    folder = folder_of(item.type, item.package)
    path = posixpath.join(docroot, folder, f"{item.package}.info.yml")
    try:
        version = parse_info(await conn.read_file(path, INFO_BYTES)).get("version")
    except SitekeeperError:
        version = None
    return await steps.finish(
        version, item.target, since, owner_check(conn, docroot, item, "ownership")
    )

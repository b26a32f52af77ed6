"""Install a verified extension package on a Joomla site with Joomla's own installer.

``php cli/joomla.php extension:install --path=<zip>`` (Joomla 4+, ExtensionInstallCommand:
exit 0 and "Extension installed successfully.", exit 1 and "Unable to install
extension") upgrades an installed extension in place when its manifest says
``method="upgrade"`` (checked in the package step). The archive goes to a private
folder in the site's /tmp, the site is taken offline with ``site:down`` for the install
and always brought back with ``site:up`` (``joomla.offline``), the working folder is
removed, and PHP-FPM's opcode cache is reset (Joomla's ``opcache_invalidate`` only
reaches the CLI's, joomla-cms#32963). The version reported is the one the extension's
manifest on disk says afterwards, read by the inventory.
"""

from __future__ import annotations

import asyncio
import posixpath
import time

from sitekeeper.cms import site_files
from sitekeeper.cms.apply_steps import ApplySteps, said
from sitekeeper.cms.joomla import offline
from sitekeeper.cms.joomla.inventory import inventory
from sitekeeper.cms.updater import ResetOpcache
from sitekeeper.domain.updates import ApplyResult, Check, UpdateItem, VerifiedPackage
from sitekeeper.errors import SitekeeperError
from sitekeeper.remote.ssh import SshConnection

CONSOLE = "cli/joomla.php"
INSTALLED = "Extension installed successfully"


async def owner_check(conn: SshConnection, docroot: str, name: str = "owner") -> Check:
    """An extension writes where its manifest says (components, media, language, plugins,
    the manifests' cache) and ``site:down`` rewrites configuration.php: the whole docroot
    must be the SSH user's."""
    return await site_files.owner_check(conn, docroot, (), ("",), cms="Joomla", name=name)


async def no_console(conn: SshConnection, docroot: str, name: str = "owner") -> Check | None:
    """A refusal when the site has no ``cli/joomla.php`` (Joomla 3; None: it has one)."""
    since = time.monotonic()
    if await conn.lstat(posixpath.join(docroot, CONSOLE)) is not None:
        return None
    why = f"refused: no {CONSOLE}: sitekeeper installs with Joomla 4+'s own console"
    return Check(name, False, why, time.monotonic() - since)


async def console_of(
    steps: ApplySteps, conn: SshConnection, docroot: str, php: str, since: float
) -> list[str] | None:
    """The command that runs the site's console; None (a failed "console" check
    recorded) when it is not there, as on Joomla 3, or cannot be looked for."""
    console = [php, posixpath.join(docroot, CONSOLE)]
    try:
        there = await conn.lstat(console[1]) is not None
    except SitekeeperError as exc:
        steps.add("console", False, f"cannot look for {CONSOLE}: {exc}", since)
        return None
    if not there:
        steps.add("console", False, f"no {CONSOLE}: not a Joomla 4+ site", since)
        return None
    return console


async def apply_package(
    conn: SshConnection,
    docroot: str,
    package: VerifiedPackage,
    *,
    reset_opcache: ResetOpcache | None = None,
    php: str = "php",
    time_limit: float = 900.0,
) -> ApplyResult:
    """Install ``package`` on the Joomla at ``docroot``; never raises for the site's
    failures (a failed step comes back as ``ok=False`` with the check that says why)."""
    item = package.item
    docroot = docroot.rstrip("/") or "/"
    steps = ApplySteps()
    since = time.monotonic()
    console = await console_of(steps, conn, docroot, php, since)
    if console is None:
        return steps.result(None)
    if not steps.append(await owner_check(conn, docroot), since):
        return steps.result(None)
    workspace = ""
    was_offline = await offline.read_offline(conn, docroot)
    if was_offline is None:  # taking it down and up could end an offline someone set
        steps.add("offline", False, f"{offline.CONFIG} cannot be read; nothing changed", since)
        return steps.result(None)
    took_down = stopped = False  # stopped: before the installer ran
    try:
        since = time.monotonic()
        data = await asyncio.to_thread(site_files.verified_bytes, package)
        workspace = await site_files.make_workspace(conn)
        archive = posixpath.join(workspace, "package.zip")
        await conn.write_file(archive, data)
        steps.add("upload", True, f"{len(data)} bytes to {workspace}", since)
        if not was_offline:
            took_down = True
            stopped = not await offline.site_down(steps, conn, console, docroot)
        if not stopped:
            await _install(steps, conn, console, archive, time_limit)
    except SitekeeperError as exc:
        steps.add("install", False, str(exc), since)
    finally:  # recorded in the result whatever happened above
        if took_down:
            await offline.site_up(steps, conn, console, docroot)
        await steps.remove_workspace(conn, workspace)
    if stopped:
        return steps.result(None)
    await steps.reset(reset_opcache)
    return await _finish(steps, conn, docroot, item)


async def _install(
    steps: ApplySteps, conn: SshConnection, console: list[str], archive: str, time_limit: float
) -> None:
    since = time.monotonic()
    argv = [*console, "extension:install", f"--path={archive}"]
    result = await steps.command(conn, "install", argv, time_limit=time_limit)
    if result is None:
        return
    ok = result.exit_status == 0 and INSTALLED.encode() in result.stdout
    detail = (
        "Joomla's installer: extension installed"
        if ok
        else f"Joomla's installer failed (exit {result.exit_status}): {said(result)}"
    )
    steps.add("install", ok, detail, since)


async def _finish(
    steps: ApplySteps, conn: SshConnection, docroot: str, item: UpdateItem
) -> ApplyResult:
    """The version the extension's manifest on disk says, and the files' owner."""
    since = time.monotonic()
    found = None
    try:
        now = await inventory(conn, docroot)
        found = next(
            (e.version for e in now.extensions if (e.type, e.slug) == (item.type, item.package)),
            None,
        )
    except SitekeeperError as exc:
        steps.add("version", False, f"cannot read the site's extensions: {exc}", since)
        return steps.result(None)
    return await steps.finish(found, item.target, since, owner_check(conn, docroot, "ownership"))

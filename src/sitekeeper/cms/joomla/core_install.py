"""Apply a verified Joomla core Update_Package over SSH, as Joomla's ``core:update``
would but with the package sitekeeper verified (``joomla.core_package``).

``core:update`` downloads its own package without a hash check, so it is not run. The
steps are the ones the notes give for a local package (updates-notes §2): the archive
goes to a private folder in the site's /tmp as a tar and is unpacked there; the site is
taken offline (``site:down``); the files are copied over the docroot as the file owner,
overwriting and deleting nothing (as ``Folder::copy`` does: existing files keep their
mode and owner); a small program sitekeeper uploads (``finalise.php``) boots Joomla as its
console does and runs the update model's ``finaliseUpgrade()`` (schema updates, manifest
cache), then ``cli/joomla.php update:joomla:remove-old-files`` deletes what the release
dropped. ``site:up`` always runs in a ``finally`` and is read back; the working folder is
removed and PHP-FPM's opcode cache reset. The version reported is ``Version.php``'s.
"""

from __future__ import annotations

import asyncio
import json
import posixpath
import secrets
import time
from importlib.resources import files

from sitekeeper.cms import site_files
from sitekeeper.cms.apply_steps import ApplySteps, said
from sitekeeper.cms.archive_tar import as_tar
from sitekeeper.cms.joomla import offline
from sitekeeper.cms.joomla.install import console_of, owner_check
from sitekeeper.cms.joomla.inventory import VERSION_FILES, core_version
from sitekeeper.cms.updater import ResetOpcache
from sitekeeper.domain.untrusted import shown
from sitekeeper.domain.updates import ApplyResult, VerifiedPackage
from sitekeeper.errors import SitekeeperError
from sitekeeper.remote.ssh import SshConnection

PROGRAM = "finalise.php"
REMOVE_OLD = "update:joomla:remove-old-files"
# the staged release's content copied over the docroot: paths as arguments, never spliced
_COPY = 'set -e; cp -R -- "$1"/. "$2"/'
_VERSION_BYTES = 64 * 1024


def program() -> bytes:
    """The finalisation program shipped with this package."""
    return files("sitekeeper.cms.joomla").joinpath(PROGRAM).read_bytes()


async def apply_core(
    conn: SshConnection,
    docroot: str,
    package: VerifiedPackage,
    *,
    reset_opcache: ResetOpcache | None = None,
    php: str = "php",
    time_limit: float = 900.0,
) -> ApplyResult:
    """Install the Update_Package on the Joomla at ``docroot``; never raises for the
    site's failures (a failed step comes back as ``ok=False`` with why)."""
    docroot = docroot.rstrip("/") or "/"
    steps = ApplySteps()
    since = time.monotonic()
    console = await console_of(steps, conn, docroot, php, since)
    if console is None:
        return steps.result(None)
    if not steps.append(await owner_check(conn, docroot), since):
        return steps.result(None)
    was_offline = await offline.read_offline(conn, docroot)
    if was_offline is None:  # taking it down and up could end an offline someone set
        steps.add("offline", False, f"{offline.CONFIG} cannot be read; nothing changed", since)
        return steps.result(None)
    workspace = ""
    took_down = stopped = False  # stopped: before any file of the site changed
    try:
        since = time.monotonic()
        workspace = await site_files.make_workspace(conn)
        stage = await _stage(conn, workspace, package)
        steps.add("upload", True, f"Update_Package staged in {workspace}", since)
        if not was_offline:
            took_down = True
            stopped = not await offline.site_down(steps, conn, console, docroot)
        if (
            not stopped
            and await _copy(steps, conn, stage, docroot)
            and await _finalise(steps, conn, php, workspace, docroot, time_limit)
        ):
            await _remove_old(steps, conn, console, time_limit)
    except SitekeeperError as exc:
        steps.add("install", False, str(exc), since)
    finally:  # recorded in the result whatever happened above
        if took_down:
            await offline.site_up(steps, conn, console, docroot)
        await steps.remove_workspace(conn, workspace)
    if stopped:
        return steps.result(None)
    await steps.reset(reset_opcache)
    return await _finish(steps, conn, docroot, package.item.target)


async def _stage(conn: SshConnection, workspace: str, package: VerifiedPackage) -> str:
    """The package unpacked and the program uploaded into the working folder; the
    folder the package's files are in."""
    archive = await asyncio.to_thread(site_files.verified_bytes, package)
    data = await asyncio.to_thread(as_tar, archive)
    tar_path, stage = posixpath.join(workspace, "package.tar"), posixpath.join(workspace, "stage")
    await conn.write_file(tar_path, data)
    await conn.write_file(posixpath.join(workspace, PROGRAM), program())
    await conn.run(["mkdir", "-m", "0700", "--", stage])
    await conn.run(["tar", "-x", "-f", tar_path, "-C", stage, "--no-same-owner"])
    await conn.run(["rm", "-f", "--", tar_path])
    return stage


async def _copy(steps: ApplySteps, conn: SshConnection, stage: str, docroot: str) -> bool:
    since = time.monotonic()
    result = await conn.run(["sh", "-c", _COPY, "sh", stage, docroot], check=False)
    ok = result.exit_status == 0
    detail = "the release's files copied over the site" if ok else f"copy failed: {said(result)}"
    return steps.add("files", ok, detail, since)


async def _finalise(  # noqa: PLR0917 - one call site, all needed
    steps: ApplySteps,
    conn: SshConnection,
    php: str,
    workspace: str,
    docroot: str,
    time_limit: float,
) -> bool:
    """``finaliseUpgrade()`` run by the uploaded program; its verdict is its marker line
    and its exit status (0 done, 2 failed or with errors, 3 Joomla did not boot)."""
    since = time.monotonic()
    marker = f"SITEKEEPER-{secrets.token_hex(8)}"
    argv = [php, posixpath.join(workspace, PROGRAM), docroot, marker]
    result = await steps.command(conn, "finalise", argv, time_limit=time_limit)
    if result is None:
        return False
    verdict = finalise_verdict(result.stdout, marker)
    if result.exit_status == 0 and verdict.get("ok") is True:
        return steps.add("finalise", True, "Joomla's finaliseUpgrade(): done", since)
    errors = verdict.get("errors")
    why = "; ".join(str(e) for e in errors) if isinstance(errors, list) and errors else said(result)
    stage = "booting Joomla" if result.exit_status == 3 else "finaliseUpgrade()"
    detail = f"{stage} failed (exit {result.exit_status}): {shown(why, 300)}"
    return steps.add("finalise", False, detail, since)


def finalise_verdict(stdout: bytes, marker: str) -> dict[str, object]:
    """The program's JSON after its marker ({} when it printed none: it died first)."""
    for line in reversed(stdout[-65536:].decode("utf-8", "replace").splitlines()):
        if line.startswith(marker + " "):
            try:
                found = json.loads(line[len(marker) + 1 :])
            except ValueError:
                return {}
            return found if isinstance(found, dict) else {}
    return {}


async def _remove_old(
    steps: ApplySteps, conn: SshConnection, console: list[str], time_limit: float
) -> bool:
    since = time.monotonic()
    result = await steps.command(conn, "old files", [*console, REMOVE_OLD], time_limit=time_limit)
    if result is None:
        return False
    ok = result.exit_status == 0
    detail = (
        "files the release dropped removed"
        if ok
        else f"{REMOVE_OLD} failed (exit {result.exit_status}): {said(result)}"
    )
    return steps.add("old files", ok, detail, since)


async def _finish(steps: ApplySteps, conn: SshConnection, docroot: str, target: str) -> ApplyResult:
    """The version ``Version.php`` says now, and the files' owner."""
    since = time.monotonic()
    try:
        source = await conn.read_file(posixpath.join(docroot, VERSION_FILES[0]), _VERSION_BYTES)
        version = core_version(source)
    except SitekeeperError:
        version = None
    return await steps.finish(version, target, since, owner_check(conn, docroot, "ownership"))

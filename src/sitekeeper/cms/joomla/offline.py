"""Joomla's offline switch during an update: ``$offline`` in ``configuration.php``.

Joomla has no maintenance file: ``php cli/joomla.php site:down`` / ``site:up`` rewrite
``$offline`` in ``configuration.php`` (SiteDownCommand), and the site answers 503 while
it is set. The flag survives a crash (updates-notes §6), so it is lifted in a ``finally``
and then read back from the file; if the console cannot lift it (an extension that
fatals may take the console down with the site), sitekeeper edits the one line itself,
keeping the file's mode.
"""

from __future__ import annotations

import posixpath
import re
import time

from sitekeeper.cms.apply_steps import ApplySteps, said
from sitekeeper.cms.collector import CONFIG_BYTES
from sitekeeper.cms.php_edit import set_members
from sitekeeper.domain.updates import Check
from sitekeeper.errors import SitekeeperError
from sitekeeper.remote.ssh import SshConnection

CONFIG = "configuration.php"
_OFFLINE = re.compile(r"\b(?:public|var)\s+\$offline\s*=\s*([^;]{1,20});", re.IGNORECASE)


def is_offline(source: bytes) -> bool:
    """Whether ``configuration.php`` sets the site offline (``true``, ``1``, ``'1'``)."""
    found = _OFFLINE.search(source.decode("utf-8", "replace"))
    return found is not None and found.group(1).strip().strip("'\"").lower() in ("true", "1")


async def read_offline(conn: SshConnection, docroot: str) -> bool | None:
    """The flag as the file says now (None: the file cannot be read)."""
    try:
        return is_offline(await conn.read_file(posixpath.join(docroot, CONFIG), CONFIG_BYTES))
    except SitekeeperError:
        return None


async def site_down(
    steps: ApplySteps, conn: SshConnection, console: list[str], docroot: str
) -> bool:
    """``site:down``; whether the site is offline now (recorded as the step "offline")."""
    since = time.monotonic()
    result = await steps.command(conn, "offline", [*console, "site:down"], time_limit=120)
    if result is None:
        return False
    now = await read_offline(conn, docroot)
    ok = result.exit_status == 0 and now is True
    detail = (
        "site:down: the site is offline while the installer runs"
        if ok
        else (f"site:down failed (exit {result.exit_status}, offline now: {now}): {said(result)}")
    )
    return steps.add("offline", ok, detail, since)


async def site_up(steps: ApplySteps, conn: SshConnection, console: list[str], docroot: str) -> None:
    """``site:up``, then the file read back; edited by hand if the console failed."""
    since = time.monotonic()
    result = await steps.command(conn, "online", [*console, "site:up"], time_limit=120)
    if await read_offline(conn, docroot) is False:
        steps.add("online", True, "site:up: $offline is false again", since)
        return
    console_said = said(result) if result is not None else "could not run"
    edited = await _edit_online(conn, docroot)
    ok = edited and await read_offline(conn, docroot) is False
    detail = (
        f"site:up did not lift the flag ({console_said}); $offline set to false in "
        f"{CONFIG} by sitekeeper"
        if ok
        else f"the site is still offline: site:up failed ({console_said}) and {CONFIG} "
        "could not be edited"
    )
    steps.add("online", ok, detail, since)


async def _edit_online(conn: SshConnection, docroot: str) -> bool:
    path = posixpath.join(docroot, CONFIG)
    try:
        entry = await conn.lstat(path)
        if entry is None or entry.kind != "file":
            return False
        shown_mode = (await conn.run(["stat", "-c", "%a", "--", path])).text.strip()
        mode = int(shown_mode, 8) & 0o777 if shown_mode.isdigit() else 0o640
        source = await conn.read_file(path, CONFIG_BYTES)
        if len(source) >= CONFIG_BYTES:  # perhaps cut short: writing it back would cut it
            return False
        text = set_members(source.decode("utf-8"), "JConfig", {"offline": False})
        if mode & 0o200 == 0:  # Joomla may leave it read-only: writable for the edit only
            await conn.run(["chmod", "u+w", "--", path])
        try:
            await conn.write_file(path, text.encode("utf-8"), mode=mode)
        finally:  # its mode as it was, whether or not the edit went through
            await conn.run(["chmod", f"{mode:o}", "--", path], check=False)
    except (SitekeeperError, UnicodeDecodeError, ValueError):
        return False
    return True


async def lift(conn: SshConnection, docroot: str, php: str = "php") -> Check:
    """Recovery after a crash: ``$offline`` false again, whatever left it set."""
    since = time.monotonic()
    now = await read_offline(conn, docroot)
    if now is False:
        return Check("offline", True, "not offline", time.monotonic() - since)
    steps = ApplySteps()
    await site_up(steps, conn, [php, posixpath.join(docroot, "cli/joomla.php")], docroot)
    last = steps.checks[-1]
    return Check("offline", last.ok, last.detail, time.monotonic() - since)

"""What the WordPress upgrade needs to know and leave on the site, read over SSH.

Who owns the files (the upgrade writes as the SSH user and refuses otherwise), a private
working folder outside the docroot (the site user's home may be the docroot: a zip there
would be served), what the upgrader may leave behind, and the versions on disk afterwards
(read from the files, never taken from what the program printed).
"""

from __future__ import annotations

import posixpath
import re

from sitekeeper.cms.php_config import parse_php_config
from sitekeeper.cms.wordpress.inventory import HEADER_BYTES, parse_core_version, parse_file_header
from sitekeeper.domain.untrusted import clean
from sitekeeper.domain.updates import CORE
from sitekeeper.errors import RemoteError, SitekeeperError
from sitekeeper.remote.ssh import SshConnection

WORKSPACE = re.compile(r"/tmp/sk-update\.[A-Za-z0-9]{10}")  # noqa: S108 (on the site)
# what WordPress's upgrader creates under wp-content and may leave after a fatal
LEFTOVERS = ("wp-content/upgrade", "wp-content/upgrade-temp-backup")
MAX_PLUGIN_FILES = 50


def scope(docroot: str, type_: str, slug: str) -> str:
    """The folder an update of ``type_`` rewrites (all of it for core)."""
    if type_ == CORE:
        return docroot
    return posixpath.join(docroot, "wp-content", f"{type_}s", slug)


async def login_user(conn: SshConnection) -> tuple[str, str]:
    """The uid and the name of the user sitekeeper logs in as."""
    uid = (await conn.run(["id", "-u"])).text.strip()
    name = clean((await conn.run(["id", "-un"])).text, 64)
    if not uid.isdigit():
        raise RemoteError(f"cannot tell the SSH user's uid ({uid[:20]!r})", permanent=True)
    return uid, name


async def not_owned(conn: SshConnection, docroot: str, type_: str, slug: str, uid: str) -> str:
    """The first path the upgrade would write that ``uid`` does not own, with its owner
    (''), or what made the question unanswerable."""
    top = scope(docroot, type_, slug)
    parents = [docroot, posixpath.join(docroot, "wp-content")]
    if type_ != CORE:
        parents.append(posixpath.dirname(top))
    fmt = "%u\t%p\n"
    shallow = await conn.run(
        ["find", *parents, "-maxdepth", "0", "!", "-uid", uid, "-printf", fmt], check=False
    )
    deep = await conn.run(
        ["find", top, "-xdev", "!", "-uid", uid, "-printf", fmt, "-quit"], check=False
    )
    for result in (shallow, deep):
        if result.exit_status != 0:
            return f"cannot check who owns {_relative(top, docroot)}: it is missing or unreadable"
        line = result.text.split("\n", 1)[0]
        if line:
            owner, _, path = line.partition("\t")
            return f"{_relative(path, docroot)} is owned by {clean(owner, 64)}"
    return ""


async def make_workspace(conn: SshConnection) -> str:
    """A private (0700) folder in /tmp; its name is checked, since the server says it."""
    template = "/tmp/sk-update.XXXXXXXXXX"  # noqa: S108 (mktemp -d: private, on the site)
    made = (await conn.run(["mktemp", "-d", template])).text.strip()
    if not WORKSPACE.fullmatch(made):
        raise RemoteError(f"mktemp answered an unexpected path: {clean(made, 80)!r}")
    return made


async def remove_workspace(conn: SshConnection, workspace: str) -> bool:
    """Remove the working folder (only a name ``make_workspace`` could have made)."""
    if not WORKSPACE.fullmatch(workspace):
        return False
    result = await conn.run(["rm", "-rf", "--", workspace], check=False)
    return result.exit_status == 0


async def existing(conn: SshConnection, docroot: str, names: tuple[str, ...]) -> set[str]:
    """Which of ``names`` (relative to the docroot) exist now."""
    found = set()
    for name in names:
        if await conn.lstat(posixpath.join(docroot, name)) is not None:
            found.add(name)
    return found


async def remove_new(conn: SshConnection, docroot: str, before: set[str]) -> list[str]:
    """Remove what the upgrader left that was not there before; what could not be removed."""
    left = []
    for name in sorted(await existing(conn, docroot, LEFTOVERS) - before):
        path = posixpath.join(docroot, name)
        result = await conn.run(["rm", "-rf", "--", path], check=False)
        if result.exit_status != 0:
            left.append(name)
    return left


async def maintenance_off(conn: SshConnection, docroot: str) -> str:
    """Remove ``.maintenance`` if it is there: "absent", "removed" or why it stays."""
    path = posixpath.join(docroot, ".maintenance")
    try:
        if await conn.lstat(path) is None:
            return "absent"
        await conn.remove(path)
        return "removed" if await conn.lstat(path) is None else "still there"
    except SitekeeperError as exc:
        return str(exc)


async def version_on_disk(conn: SshConnection, docroot: str, type_: str, slug: str) -> str | None:
    """The version the files say: version.php, the plugin's main file, the theme's style.css."""
    try:
        if type_ == CORE:
            source = await conn.read_file(
                posixpath.join(docroot, "wp-includes", "version.php"), 64 * 1024
            )
            return parse_core_version(source)
        folder = scope(docroot, type_, slug)
        if type_ == "theme":
            data = await conn.read_file(posixpath.join(folder, "style.css"), HEADER_BYTES)
            return parse_file_header(data, ["Version"]).get("Version")
        return await _plugin_version(conn, folder, slug)
    except SitekeeperError:
        return None


async def db_version_on_disk(conn: SshConnection, docroot: str) -> int | None:
    """``$wp_db_version`` of the release on disk: what the database must be upgraded to."""
    try:
        source = await conn.read_file(
            posixpath.join(docroot, "wp-includes", "version.php"), 64 * 1024
        )
    except SitekeeperError:
        return None
    value = parse_php_config(source).variable("wp_db_version")
    return int(value) if value is not None and value.isdigit() else None


async def _plugin_version(conn: SshConnection, folder: str, slug: str) -> str | None:
    listing = await conn.scan_dir(folder, limit=2000, keep=2000)
    names = sorted(
        (e.name for e in listing.entries if e.kind == "file" and e.name.endswith(".php")),
        key=lambda n: (n != f"{slug}.php", n),  # WordPress's usual main file first
    )
    for name in names[:MAX_PLUGIN_FILES]:
        data = await conn.read_file(posixpath.join(folder, name), HEADER_BYTES)
        header = parse_file_header(data, ["Plugin Name", "Version"])
        if "Plugin Name" in header:
            return header.get("Version")
    return None


def _relative(path: str, docroot: str) -> str:
    rel = posixpath.relpath(path, docroot) if path.startswith(docroot) else path
    return clean(rel, 200) or "."

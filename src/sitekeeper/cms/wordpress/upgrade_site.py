"""What the WordPress upgrade needs to know and leave on the site, read over SSH.

The folder an update rewrites, what the upgrader may leave behind, and the versions on
disk afterwards (read from the files, never taken from what the program printed). Who
owns the files and the private working folder are any CMS's (``cms.site_files``).
"""

from __future__ import annotations

import posixpath

from sitekeeper.cms.php_config import parse_php_config
from sitekeeper.cms.wordpress.inventory import HEADER_BYTES, parse_core_version, parse_file_header
from sitekeeper.domain.updates import CORE
from sitekeeper.errors import SitekeeperError
from sitekeeper.remote.ssh import SshConnection

# what WordPress's upgrader creates under wp-content and may leave after a fatal
LEFTOVERS = ("wp-content/upgrade", "wp-content/upgrade-temp-backup")
MAX_PLUGIN_FILES = 50


def scope(docroot: str, type_: str, slug: str) -> str:
    """The folder an update of ``type_`` rewrites (all of it for core)."""
    if type_ == CORE:
        return docroot
    return posixpath.join(docroot, "wp-content", f"{type_}s", slug)


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

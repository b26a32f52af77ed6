"""The site's own drush, run over SSH as the file owner.

Drush travels with a Composer-built site in ``vendor/bin`` (beside the web root, or
inside it on older layouts), so sitekeeper runs that one, with ``--root`` at the web
root: never a global drush of another version. ``updatedb`` exits 0 or 1,
``updatedb:status`` prints "No database updates required" when nothing is pending, and
the maintenance flag is the state ``system.maintenance_mode`` (``state:set`` works on
every Drush; ``maint:set`` only from Drush 13).
"""

from __future__ import annotations

import posixpath

from sitekeeper.errors import SitekeeperError
from sitekeeper.remote.ssh import SshConnection

CANDIDATES = ("../vendor/bin/drush", "vendor/bin/drush")
NOTHING_PENDING = "No database updates required"
MAINTENANCE = "system.maintenance_mode"


async def find(conn: SshConnection, docroot: str) -> str | None:
    """The site's drush, or None if it has none."""
    for relative in CANDIDATES:
        path = posixpath.normpath(posixpath.join(docroot, relative))
        entry = await conn.lstat(path)
        if entry is not None and entry.kind in ("file", "symlink"):
            return path
    return None


def argv(php: str, drush: str, docroot: str, *command: str) -> list[str]:
    """``php <drush> --root=<docroot> --no-interaction <command>``: through ``php`` so no
    exec bit or shebang on the server matters."""
    return [php, drush, f"--root={docroot}", "--no-interaction", *command]


def maintenance(value: bool) -> list[str]:
    """The state:set command that turns maintenance mode on or off."""
    return ["state:set", MAINTENANCE, "1" if value else "0", "--input-format=integer"]


def maintenance_on(output: str) -> bool | None:
    """``state:get system.maintenance_mode``'s answer: on, off, or unknown."""
    value = output.strip().strip("'\"").lower()
    if value in ("1", "true"):
        return True
    if value in ("", "0", "false", "null"):
        return False
    return None


async def maintenance_state(conn: SshConnection, php: str, drush: str, docroot: str) -> bool | None:
    """Whether the site is in maintenance mode now (None: drush could not say), as the
    apply step and the recovery both read it before they switch it."""
    command = argv(php, drush, docroot, "state:get", MAINTENANCE)
    try:
        result = await conn.run(command, time_limit=120, check=False)
    except SitekeeperError:
        return None
    return maintenance_on(result.text) if result.exit_status == 0 else None

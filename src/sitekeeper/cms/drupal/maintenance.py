"""Taking a Drupal site out of maintenance mode after a crash.

The flag is the state ``system.maintenance_mode`` (a ``key_value`` row), so it survives
the process that set it. The site's drush lifts it; when drush cannot run (a module
that fatals takes drush down with the site), sitekeeper sets the row itself with the
site's own database credentials from ``settings.php`` (password on stdin).
"""

from __future__ import annotations

import posixpath
import time

from sitekeeper.cms.collector import CONFIG_BYTES
from sitekeeper.cms.drupal import drush
from sitekeeper.cms.drupal.settings import db_credentials
from sitekeeper.domain.untrusted import server_said
from sitekeeper.domain.updates import Check
from sitekeeper.errors import SitekeeperError
from sitekeeper.remote.ssh import SshConnection

SETTINGS = "sites/default/settings.php"


async def lift(conn: SshConnection, docroot: str, php: str = "php") -> Check:
    """Maintenance mode off, read back; by hand in the database if drush fails."""
    since = time.monotonic()
    said = "the site has no drush"
    try:
        found = await drush.find(conn, docroot)
    except SitekeeperError as exc:  # never raises: recovery goes on to the health check
        found, said = None, f"cannot look for drush: {exc}"
    if found is not None:
        if await drush.maintenance_state(conn, php, found, docroot) is False:
            return Check("maintenance", True, "not in maintenance mode", _since(since))
        try:
            result = await conn.run(
                drush.argv(php, found, docroot, *drush.maintenance(False)),
                time_limit=120,
                check=False,
            )
            said = f"drush exited {result.exit_status}: {server_said(result.stderr, 200)}"
        except SitekeeperError as exc:
            said = str(exc)
        if await drush.maintenance_state(conn, php, found, docroot) is False:
            return Check("maintenance", True, "drush: maintenance mode off", _since(since))
    problem = await _by_hand(conn, docroot)
    if problem:
        return Check("maintenance", False, f"still in maintenance mode: {said}; {problem}")
    detail = f"maintenance mode off, set in the database by sitekeeper ({said})"
    return Check("maintenance", True, detail, _since(since))


async def _by_hand(conn: SshConnection, docroot: str) -> str:
    """The state row set to 0 with the site's credentials; '' or what went wrong."""
    try:
        creds, driver = db_credentials(
            await conn.read_file(posixpath.join(docroot, SETTINGS), CONFIG_BYTES)
        )
        if driver != "mysql":
            return f"cannot set it in a {driver[:20]} database"
        table = f"`{creds.table_prefix}key_value`"  # the prefix is checked: [A-Za-z0-9_]
        sql = (
            f"UPDATE {table} SET value = 'i:0;' WHERE collection = 'state' "  # noqa: S608
            f"AND name = '{drush.MAINTENANCE}'"
        )
        result = await conn.run(creds.mysql_argv(sql), stdin=creds.option_file(), check=False)
    except SitekeeperError as exc:
        return f"the database could not be reached ({exc})"
    if result.exit_status != 0:
        return f"the database refused ({server_said(result.stderr, 200)})"
    return ""


def _since(started: float) -> float:
    return time.monotonic() - started

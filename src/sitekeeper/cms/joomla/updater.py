"""Joomla's updater (``cms.tool_updater.ToolUpdater``): extension packages from each
extension's own update server, installed by Joomla's console installer over SSH
(``joomla.install``), the offline flag lifted after a crash (``joomla.offline``).

Core updates are not applied yet: ``core:update`` downloads from Joomla's servers itself
(no local package, no hash check on that path, updates-notes §2), so a verified package
could not be the one installed.
"""

from __future__ import annotations

from sitekeeper.cms.joomla import install, offline, packages
from sitekeeper.cms.tool_updater import ToolUpdater
from sitekeeper.domain.updates import Check, UpdateItem
from sitekeeper.remote.ssh import SshConnection


async def _owner(conn: SshConnection, docroot: str, item: UpdateItem) -> Check:
    """The whole docroot, whatever the extension: it writes all over it."""
    del item
    return await install.owner_check(conn, docroot)


UPDATER = ToolUpdater(
    types=packages.EXTENSION_TYPES,
    source=packages.package_source,
    missing_tool=install.no_console,
    owner=_owner,
    install=install.apply_package,
    lift=offline.lift,
)

"""Joomla's updater (``cms.tool_updater.ToolUpdater``): extension packages from each
extension's own update server, installed by Joomla's console installer over SSH
(``joomla.install``); core from the core update XML's Update_Package, copied over the
site and finalised by Joomla's own update model (``joomla.core_install``: ``core:update``
downloads its own package unchecked, so it is not used); the offline flag lifted after a
crash (``joomla.offline``).
"""

from __future__ import annotations

from sitekeeper.cms.joomla import core_install, core_package, install, offline, packages
from sitekeeper.cms.tool_updater import ToolUpdater, core_or_package_install, core_or_package_source
from sitekeeper.domain.updates import CORE, Check, UpdateItem
from sitekeeper.remote.ssh import SshConnection


async def _owner(conn: SshConnection, docroot: str, item: UpdateItem) -> Check:
    """The whole docroot, whatever the item: an extension writes all over it, core too."""
    del item
    return await install.owner_check(conn, docroot)


UPDATER = ToolUpdater(
    types=(CORE, *packages.EXTENSION_TYPES),
    source=core_or_package_source(core_package.package_source, packages.package_source),
    missing_tool=install.no_console,
    owner=_owner,
    install=core_or_package_install(core_install.apply_core, install.apply_package),
    lift=offline.lift,
)

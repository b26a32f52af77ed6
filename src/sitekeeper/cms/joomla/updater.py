"""Joomla's updater (``cms.tool_updater.ToolUpdater``): extension packages from each
extension's own update server, installed by Joomla's console installer over SSH
(``joomla.install``); core from the core update XML's Update_Package, copied over the
site and finalised by Joomla's own update model (``joomla.core_install``: ``core:update``
downloads its own package unchecked, so it is not used); the offline flag lifted after a
crash (``joomla.offline``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sitekeeper.cms.joomla import core_install, core_package, install, offline, packages
from sitekeeper.cms.package_source import PackageSource
from sitekeeper.cms.tool_updater import ToolUpdater
from sitekeeper.cms.updater import ResetOpcache
from sitekeeper.domain.updates import CORE, ApplyResult, Check, UpdateItem, VerifiedPackage
from sitekeeper.remote.ssh import SshConnection


async def _owner(conn: SshConnection, docroot: str, item: UpdateItem) -> Check:
    """The whole docroot, whatever the item: an extension writes all over it, core too."""
    del item
    return await install.owner_check(conn, docroot)


def _source(
    item: UpdateItem, vendor: Mapping[str, Any], *, sha256: str | None = None
) -> PackageSource:
    if item.type == CORE:
        return core_package.package_source(item, vendor, sha256=sha256)
    return packages.package_source(item, vendor, sha256=sha256)


async def _install(
    conn: SshConnection,
    docroot: str,
    package: VerifiedPackage,
    *,
    reset_opcache: ResetOpcache | None = None,
) -> ApplyResult:
    if package.item.type == CORE:
        return await core_install.apply_core(conn, docroot, package, reset_opcache=reset_opcache)
    return await install.apply_package(conn, docroot, package, reset_opcache=reset_opcache)


UPDATER = ToolUpdater(
    types=(CORE, *packages.EXTENSION_TYPES),
    source=_source,
    missing_tool=install.no_console,
    owner=_owner,
    install=_install,
    lift=offline.lift,
)
